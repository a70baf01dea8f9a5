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

pub mod actions;
mod auth;
pub mod credentials;
mod error;
mod options;
pub mod progress;
pub mod pull;
mod push;
pub mod referrers;
pub mod retry;

pub use auth::AuthError;
pub use error::{CredentialSource, RegistryError};
pub use options::{RegistryOptions, parse_seconds};

use crate::image;
use crate::reference::{self, Digest};
use crate::store::{ImageSummary, Store};
use auth::{Operation, Session};
use credentials::Credential;
use progress::Progress;
use std::future::Future;

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
    /// Referrers (signatures, attestations) the store keeps for the image that were new on
    /// the registry (`referrers`).
    pub referrers: usize,
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

    /// Pushes the local image `local` to `remote` (default: `local` itself) and returns the
    /// manifest digest. Blobs the registry already has are not uploaded again. A digest
    /// `remote` must match the image's manifest digest; it is pushed by digest, untagged.
    pub async fn push(
        &self,
        store: &Store,
        local: &str,
        remote: Option<&str>,
    ) -> Result<PushReport, RegistryError> {
        // The manifest only: each blob is streamed from its file below.
        let image = store.manifest_of(local)?;
        let digest = image.summary.manifest_digest.clone();
        let target_text = remote.unwrap_or(local);
        let target = reference::parse(target_text)?;
        if let Some(d) = reference::digest_of(&target)
            && d != digest
        {
            return Err(RegistryError::DigestRefMismatch {
                reference: target.whole(),
                actual: digest,
            });
        }
        let session = Session::open(&self.options, target, Operation::Push).await?;
        let uploader = push::Uploader::new(&session)?;
        let progress = Progress::new(self.options.progress);
        let mut report = PushReport {
            reference: session.whole().to_string(),
            digest: digest.clone(),
            uploaded: 0,
            skipped: 0,
            bytes: 0,
            referrers: 0,
        };
        for blob in image.manifest.blobs() {
            let transfer = progress.start("push", &blob.digest, blob.size);
            let ctx = session.ctx(format!("checking blob {}", blob.digest), "push");
            if uploader.has_blob(&ctx, &blob.digest).await? {
                report.skipped += 1;
                transfer.finish(blob.size, "Exists");
                continue;
            }
            // Streamed from the store's file a chunk at a time (and hashed on the way).
            let path = crate::store::layout::blob_path(store.root(), &blob.digest);
            let mut source = push::BlobSource::open(path, blob.size)?;
            let ctx = session.ctx(format!("uploading blob {}", blob.digest), "push");
            uploader
                .upload(&ctx, &progress, &transfer, &blob.digest, &mut source)
                .await?;
            report.uploaded += 1;
            report.bytes += blob.size;
            transfer.finish(blob.size, "Uploaded");
        }
        let manifest = bytes::Bytes::from(image.bytes);
        let ctx = session.ctx("uploading the manifest".into(), "push");
        let target = session.target();
        let name = match (target.digest(), target.tag()) {
            (Some(digest), _) => digest,
            (None, Some(tag)) => tag,
            (None, None) => "latest",
        };
        uploader
            .put_manifest(&ctx, name, &image.summary.manifest_media_type, manifest)
            .await?;
        // Signatures and attestations go with the image.
        report.referrers = self
            .push_store_referrers(store, &digest, &report.reference)
            .await?;
        Ok(report)
    }

    /// Pulls `reference` (any Wasm image format), verifies every digest and the `\0asm` magic,
    /// and stores it locally under the same (normalised) reference. Blobs are streamed into
    /// the store and the image is decoded as its layer arrives, on a second thread fed the
    /// same chunks (read back from the store only if that decode cannot be used): memory does
    /// not grow with the layer's size.
    pub async fn pull(
        &self,
        store: &Store,
        reference_text: &str,
    ) -> Result<ImageSummary, RegistryError> {
        let fetched = self.fetch(Some(store), reference_text).await?;
        let whole = fetched.whole;
        store
            .add_pulled(
                &whole,
                &fetched.manifest_bytes,
                &fetched.added,
                fetched.beside,
            )
            .map_err(|e| match e {
                crate::store::StoreError::Image(source) => RegistryError::Image {
                    reference: whole.clone(),
                    source,
                },
                other => other.into(),
            })
    }

    /// The manifest and verified blobs of `reference_text` (streamed into `store` if given).
    async fn fetch(
        &self,
        store: Option<&Store>,
        reference_text: &str,
    ) -> Result<pull::Fetched, RegistryError> {
        let target = reference::parse(reference_text)?;
        let session = Session::open(&self.options, target, Operation::Pull).await?;
        pull::fetch(&session, store).await
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
        let session = Session::open(&self.options, target, Operation::Pull).await?;
        pull::resolve_digest(&session).await
    }

    /// Checks that `credential` is accepted by `registry` (a host): the token service must
    /// issue a token, or an authenticated request must not be refused.
    pub async fn verify_login(
        &self,
        registry: &str,
        credential: &Credential,
    ) -> Result<(), RegistryError> {
        auth::verify_login(&self.options, registry, credential).await
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
