//! Pinning an image reference to its manifest digest.
//!
//! Deployment output must never float on a tag (Istio caches a moved tag for 24 h and the old
//! wasme silently turned digests into `:latest`), so every generator takes a [`ResolvedImage`]
//! whose [`manifest_digest`](ResolvedImage::manifest_digest) is known. Where it comes from — the
//! local store, a registry, or the reference itself when it already carries `@sha256:` — is
//! behind the [`ImageResolver`] trait, which keeps [`super::generate`] and [`super::render`]
//! pure and testable.

use super::DeployError;
use crate::image::Format;
use crate::reference::{self, Digest, Reference};
use std::path::PathBuf;

/// How to reach the registry when a reference has to be resolved remotely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PullOptions {
    /// Talk plain HTTP to the registry (e.g. a loopback test registry).
    pub plain_http: bool,
    /// Accept any TLS certificate.
    pub insecure_skip_verify: bool,
    /// Public keys (PEM text or paths) the image's signature must verify under (a
    /// FilterDeployment's `verify.keys`); the resolver enforces them.
    pub verify_keys: Vec<String>,
}

/// An image reference pinned to its manifest digest, plus what the store knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The reference as the user wrote it, normalised (registry, repository, tag and/or digest).
    pub reference: Reference,
    /// The manifest digest.
    pub manifest_digest: Digest,
    /// The sha256 (hex) of the `.wasm` module itself, when the module is known locally.
    pub wasm_sha256: Option<String>,
    /// The root ids the image declares (its first one is the default root id).
    pub root_ids: Vec<String>,
    /// The proxy-wasm ABI versions the image declares (e.g. `v0.2.1`).
    pub abi_versions: Vec<String>,
    /// A file holding the raw `.wasm` module, when it has been exported from the local store.
    pub wasm_path: Option<PathBuf>,
    /// The image layout, when the image itself was read (store or registry); `None` when only
    /// the digest is known (an `--offline` digest reference).
    pub format: Option<Format>,
    /// The module itself, when the image was read: what the configuration check runs
    /// ([`super::config_check`]).
    pub module: Option<std::sync::Arc<[u8]>>,
    /// The filter's configuration schema the image records, checked before the dry run
    /// ([`crate::config_schema`]).
    pub config_schema: Option<crate::config_schema::ConfigSchema>,
}

impl ResolvedImage {
    /// An image known only by its reference and manifest digest (nothing from the store).
    pub fn pinned(reference: Reference, manifest_digest: Digest) -> Self {
        Self {
            reference,
            manifest_digest,
            wasm_sha256: None,
            root_ids: Vec::new(),
            abi_versions: Vec::new(),
            wasm_path: None,
            format: None,
            module: None,
            config_schema: None,
        }
    }

    /// The digest's hex part, without `sha256:`.
    pub fn digest_hex(&self) -> &str {
        self.manifest_digest.hex()
    }

    /// `registry/repository@sha256:<hex>`: the reference with the tag dropped and the digest
    /// pinned.
    pub fn pinned_reference(&self) -> String {
        format!(
            "{}/{}@{}",
            self.reference.registry(),
            self.reference.repository(),
            self.manifest_digest
        )
    }

    /// `oci://registry/repository@sha256:<hex>`, the URL Istio's agent pulls.
    pub fn oci_url(&self) -> String {
        format!("oci://{}", self.pinned_reference())
    }
}

/// Parses an image reference (`registry/repo:tag`, `repo@sha256:…`, with or without
/// Istio's `oci://` prefix) with [`reference::parse`].
///
/// ```
/// let r = cargo_wasme::deploy::resolve::parse_image("oci://ghcr.io/org/filter:v1").unwrap();
/// assert_eq!(r.whole(), "ghcr.io/org/filter:v1");
/// ```
pub fn parse_image(image: &str) -> Result<Reference, DeployError> {
    Ok(reference::parse(
        image.strip_prefix("oci://").unwrap_or(image),
    )?)
}

/// Why an [`ImageResolver`] could not resolve a reference.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    /// The resolver does not know the image (not in the store, not in the registry).
    #[error("{0}")]
    NotFound(String),
    /// The resolver failed for another reason (I/O, network, a corrupt store).
    #[error("{0}")]
    Failed(String),
}

/// Pins image references to manifest digests.
pub trait ImageResolver {
    /// Resolves `reference` (a tag or digest reference) to its manifest digest and whatever
    /// else is known about the image.
    fn resolve(
        &self,
        reference: &Reference,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ResolveError>;
}

/// A resolver that answers each (reference, pull options) once and repeats the answer
/// (success or failure): `render` of many documents naming one remote image downloads it once.
pub struct Memo<'a> {
    inner: &'a dyn ImageResolver,
    seen: std::cell::RefCell<
        std::collections::HashMap<(String, PullOptions), Result<ResolvedImage, ResolveError>>,
    >,
}

impl<'a> Memo<'a> {
    /// Remembers `inner`'s answers.
    pub fn new(inner: &'a dyn ImageResolver) -> Self {
        Memo {
            inner,
            seen: Default::default(),
        }
    }
}

impl ImageResolver for Memo<'_> {
    fn resolve(
        &self,
        reference: &Reference,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ResolveError> {
        let key = (reference.whole(), options.clone());
        if let Some(answer) = self.seen.borrow().get(&key) {
            return answer.clone();
        }
        let answer = self.inner.resolve(reference, options);
        self.seen.borrow_mut().insert(key, answer.clone());
        answer
    }
}

/// A resolver that knows nothing but what a reference itself says: it accepts only references
/// that already carry `@sha256:`. Useful for fully pinned GitOps input and as the last resort
/// of a resolver chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct DigestOnly;

impl ImageResolver for DigestOnly {
    fn resolve(
        &self,
        reference: &Reference,
        _options: &PullOptions,
    ) -> Result<ResolvedImage, ResolveError> {
        match reference::digest_of(reference) {
            Some(d) => Ok(ResolvedImage::pinned(reference.clone(), d)),
            None => Err(ResolveError::NotFound(
                "the reference has no @sha256: digest and no store or registry was consulted"
                    .into(),
            )),
        }
    }
}

/// Resolves `reference` with `resolver`, checking a digest the reference already carries.
///
/// The resolver is always asked: what the output says (root ids, format, module hash) must come
/// from the image itself, wherever it was found. A resolver that cannot find the image is an
/// error (resolvers that may trust a bare digest, like [`DigestOnly`], answer with
/// [`ResolvedImage::pinned`] themselves), and so is one that contradicts the pinned digest,
/// because the output would describe a different image than the one named.
pub fn resolve_pinned(
    resolver: &dyn ImageResolver,
    reference: &str,
    options: &PullOptions,
) -> Result<ResolvedImage, DeployError> {
    let parsed = parse_image(reference)?;
    let unresolved = |reason: String| DeployError::Unresolved {
        reference: reference.to_owned(),
        reason,
    };
    let found = resolver
        .resolve(&parsed, options)
        .map_err(|e| unresolved(e.to_string()))?;
    if let Some(digest) = reference::digest_of(&parsed)
        && found.manifest_digest != digest
    {
        return Err(unresolved(format!(
            "the reference pins {digest} but the image found has manifest digest {}",
            found.manifest_digest
        )));
    }
    Ok(ResolvedImage {
        reference: parsed,
        ..found
    })
}
