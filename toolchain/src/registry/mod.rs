//! Talking to OCI distribution registries with `oci-client`: push, pull, digest lookup and
//! login checks, with retries on transient failures and progress output.
//!
//! Plain HTTP is used for `localhost`/`127.0.0.1` automatically and for any registry with
//! [`RegistryOptions::plain_http`]. Credentials come from [`credentials::lookup`].
//!
//! ```no_run
//! use cargo_wasme::{registry::{Registry, RegistryOptions}, store::Store};
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open_default()?;
//! let registry = Registry::new(RegistryOptions::default());
//! let pushed = registry.push(&store, "add-header:0.1.0", Some("127.0.0.1:5000/add-header:0.1.0")).await?;
//! println!("{}", pushed.digest);
//! # Ok(()) }
//! ```

mod auth;
pub mod credentials;
mod error;
pub mod progress;
pub mod pull;
mod push;
pub mod retry;

use error::Ctx;
pub use error::{CredentialSource, RegistryError};

use crate::image;
use crate::reference::Digest;
use crate::reference::{self, Reference};
use crate::store::{Store, StoredImage};
use credentials::Credential;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use progress::Progress;
use std::future::Future;
use std::time::Duration;

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Speak plain HTTP to every registry (always done for localhost and 127.0.0.1).
    pub plain_http: bool,
    /// Accept invalid TLS certificates (and fall back to plain HTTP when asked).
    pub insecure: bool,
    /// Report blob transfers on stderr.
    pub progress: bool,
    /// Attempts per request on 5xx, 429 and broken connections (at least 1); see [`retry`].
    pub attempts: u32,
    /// First backoff delay; doubles per retry (a `Retry-After` replaces it).
    pub backoff: Duration,
    /// Use these credentials instead of looking them up.
    pub credential: Option<Credential>,
    /// How long a transfer may go without receiving a byte before it fails (default
    /// [`pull::DEFAULT_READ_TIMEOUT`], or `WASME_READ_TIMEOUT` seconds).
    pub read_timeout: Duration,
    /// The slowest average a download may run at, in bytes per second, after the first read
    /// timeout's grace (default [`pull::DEFAULT_MIN_TRANSFER_RATE`], or
    /// `WASME_MIN_TRANSFER_RATE`): what stops a registry that trickles one byte before every
    /// read timeout.
    pub min_transfer_rate: u64,
    /// The largest layer `pull` accepts, whatever its manifest declares (default
    /// [`pull::DEFAULT_MAX_LAYER_SIZE`], or `WASME_MAX_LAYER_BYTES`).
    pub max_layer_size: u64,
    /// Bytes per `PATCH` of a chunked blob upload (raised to the registry's
    /// `OCI-Chunk-Min-Length` when it asks for more).
    pub chunk_size: usize,
}

/// A positive number from the environment variable `name`, if set.
fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: false,
            insecure: false,
            progress: false,
            attempts: 4,
            backoff: Duration::from_millis(250),
            credential: None,
            read_timeout: env_number("WASME_READ_TIMEOUT")
                .map_or(pull::DEFAULT_READ_TIMEOUT, Duration::from_secs),
            min_transfer_rate: env_number("WASME_MIN_TRANSFER_RATE")
                .unwrap_or(pull::DEFAULT_MIN_TRANSFER_RATE),
            max_layer_size: env_number("WASME_MAX_LAYER_BYTES")
                .unwrap_or(pull::DEFAULT_MAX_LAYER_SIZE),
            chunk_size: push::DEFAULT_CHUNK_SIZE,
        }
    }
}

/// What `push` did.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// The remote reference pushed (normalised).
    pub reference: String,
    /// The manifest digest: pin this (`repo@sha256:…`, WasmPlugin `sha256`).
    pub digest: Digest,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs the registry already had.
    pub skipped: usize,
    /// Bytes uploaded.
    pub bytes: u64,
}

/// A registry client.
pub struct Registry {
    options: RegistryOptions,
}

impl Registry {
    /// A client with `options`.
    pub fn new(options: RegistryOptions) -> Self {
        // Every HTTP client is built through a `Registry`: give rustls its crypto provider
        // first (reqwest and oci-client are built without one, see toolchain/Cargo.toml).
        // Installing fails only when a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Registry { options }
    }

    fn plain_http(&self, registry: &str) -> bool {
        self.options.plain_http || reference::is_loopback(registry)
    }

    fn client(&self, registry: &str) -> Client {
        let protocol = if self.plain_http(registry) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        Client::new(ClientConfig {
            protocol,
            accept_invalid_certificates: self.options.insecure,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(self.options.read_timeout),
            user_agent: concat!("cargo-wasme/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        })
    }

    /// The context errors are reported in: `what` is the step (`uploading blob …`), to which
    /// the operation and the reference are added.
    fn ctx<'a>(
        &self,
        r: &'a Reference,
        whole: &'a str,
        what: String,
        op: &'static str,
        cred: &Credential,
    ) -> Ctx<'a> {
        let how = if *cred == Credential::Anonymous {
            CredentialSource::Anonymous
        } else if self.options.credential.is_some() {
            CredentialSource::Given
        } else {
            CredentialSource::Stored
        };
        Ctx {
            registry: r.registry(),
            reference: whole,
            what: format!("{what} ({op} {whole})"),
            op,
            how,
            plain_http: self.plain_http(r.registry()),
        }
    }

    fn policy(&self) -> retry::RetryPolicy {
        retry::RetryPolicy {
            attempts: self.options.attempts,
            backoff: self.options.backoff,
        }
    }

    /// Runs the `oci-client` request `f` under the [`retry`] policy.
    async fn retry<T, F, Fut>(&self, ctx: &Ctx<'_>, f: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    {
        self.policy()
            .run(
                ctx.registry,
                &ctx.what,
                retry::classify_oci,
                error::describe_oci,
                f,
            )
            .await
            .map_err(|(e, attempts)| ctx.map(e, attempts))
    }

    /// Pushes the local image `local` to `remote` (default: `local` itself) and returns the
    /// manifest digest. Blobs the registry already has are not uploaded again. A digest
    /// `remote` must match the image's manifest digest; it is pushed by digest, untagged.
    pub async fn push(
        &self,
        store: &Store,
        local: &str,
        remote: Option<&str>,
    ) -> Result<PushReport, RegistryError> {
        let image = store.resolve(local)?;
        let target_text = remote.unwrap_or(local);
        let target = reference::parse(target_text)?;
        if let Some(d) = reference::digest_of(&target)
            && d != image.manifest_digest
        {
            return Err(RegistryError::DigestRefMismatch {
                reference: target.whole(),
                actual: image.manifest_digest,
            });
        }
        let whole = target.whole();
        let cred = self.credential(target.resolve_registry())?;
        let client = self.client(target.registry());
        let token = self
            .authenticate(&client, &target, &whole, &cred, RegistryOperation::Push)
            .await?;
        let uploader = self.push_uploader(&target, token.as_deref(), &cred)?;
        let progress = Progress::new(self.options.progress);
        let mut report = PushReport {
            reference: whole.clone(),
            digest: image.manifest_digest.clone(),
            uploaded: 0,
            skipped: 0,
            bytes: 0,
        };
        for blob in image.manifest.blobs() {
            let transfer = progress.start("push", &blob.digest, blob.size);
            let ctx = self.ctx(
                &target,
                &whole,
                format!("checking blob {}", blob.digest),
                "push",
                &cred,
            );
            if uploader.has_blob(&ctx, &blob.digest).await? {
                report.skipped += 1;
                transfer.finish(blob.size, "Exists");
                continue;
            }
            let data = bytes::Bytes::from(store.read_blob(&blob.digest)?);
            let ctx = self.ctx(
                &target,
                &whole,
                format!("uploading blob {}", blob.digest),
                "push",
                &cred,
            );
            uploader
                .upload(&ctx, &progress, &transfer, &blob.digest, data)
                .await?;
            report.uploaded += 1;
            report.bytes += blob.size;
            transfer.finish(blob.size, "Uploaded");
        }
        let manifest = bytes::Bytes::from(image.manifest_bytes.clone());
        let ctx = self.ctx(
            &target,
            &whole,
            "uploading the manifest".into(),
            "push",
            &cred,
        );
        let name = match (target.digest(), target.tag()) {
            (Some(digest), _) => digest,
            (None, Some(tag)) => tag,
            (None, None) => "latest",
        };
        uploader
            .put_manifest(&ctx, name, &image.manifest_media_type, manifest)
            .await?;
        Ok(report)
    }

    /// Pulls `reference` (any Wasm image format), verifies every digest and the `\0asm` magic,
    /// and stores it locally under the same (normalised) reference.
    pub async fn pull(
        &self,
        store: &Store,
        reference_text: &str,
    ) -> Result<StoredImage, RegistryError> {
        let fetched = self.fetch(Some(store), reference_text).await?;
        let whole = fetched.whole;
        store
            .add_manifest(&whole, &fetched.manifest_bytes, &fetched.blobs)
            .map_err(|e| match e {
                crate::store::StoreError::Image(source) => RegistryError::Image {
                    reference: whole.clone(),
                    source,
                },
                other => other.into(),
            })
    }

    /// Reads `reference` from its registry without storing anything: the manifest digest and
    /// the decoded image (format, module, runtime config), every digest verified. This is what
    /// `deploy` uses to learn what the cluster will pull.
    pub async fn inspect(
        &self,
        reference_text: &str,
    ) -> Result<(Digest, image::DecodedImage), RegistryError> {
        let fetched = self.fetch(None, reference_text).await?;
        let digest = Digest::of(&fetched.manifest_bytes);
        let decoded = image::decode(&fetched.manifest_bytes, |d| {
            fetched.blobs.get(&d.digest).cloned()
        })
        .map_err(|source| RegistryError::Image {
            reference: fetched.whole.clone(),
            source,
        })?;
        Ok((digest, decoded))
    }

    /// The manifest digest `reference` names on its registry, without fetching layers. For a
    /// digest reference the registry is still asked, so a missing image fails.
    pub async fn resolve_digest(&self, reference_text: &str) -> Result<Digest, RegistryError> {
        let target = reference::parse(reference_text)?;
        let whole = target.whole();
        let cred = self.credential(target.resolve_registry())?;
        let client = self.client(target.registry());
        let auth: RegistryAuth = cred.clone().into();
        let ctx = self.ctx(
            &target,
            &whole,
            "resolving the digest".into(),
            "pull",
            &cred,
        );
        let digest = self
            .retry(&ctx, || client.fetch_manifest_digest(&target, &auth))
            .await?;
        digest
            .parse()
            .map_err(|e: crate::reference::DigestError| RegistryError::Other {
                registry: target.registry().to_string(),
                what: "resolving the digest".into(),
                message: format!("the registry answered with an unusable digest: {e}"),
            })
    }
}

/// Runs `future` on a small current-thread runtime (for synchronous callers; do not call from
/// inside an async runtime).
pub fn block_on<T>(
    future: impl Future<Output = Result<T, RegistryError>>,
) -> Result<T, RegistryError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RegistryError::Other {
            registry: String::new(),
            what: "starting the async runtime".into(),
            message: e.to_string(),
        })?;
    runtime.block_on(future)
}

/// [`Registry::resolve_digest`] for synchronous callers (starts a small runtime; do not call
/// from inside an async runtime).
pub fn resolve_digest_blocking(
    reference: &str,
    options: &RegistryOptions,
) -> Result<Digest, RegistryError> {
    block_on(Registry::new(options.clone()).resolve_digest(reference))
}
