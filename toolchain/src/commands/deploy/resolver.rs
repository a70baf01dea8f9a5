//! The CLI's [`ImageResolver`]: the I/O side of `deploy` and `render`. It looks references up in
//! the local image store (and, for tags it lacks, the registry), pinning a reference to the
//! manifest digest of the image stored under it, with the module's sha256, root ids and ABI
//! versions. The deploy library itself stays pure; it only sees the trait.

use cargo_wasme::deploy::resolve::{ImageResolver, PullOptions, ResolveError, ResolvedImage};
use cargo_wasme::reference::Reference;
use cargo_wasme::registry::{RegistryOptions, resolve_digest_blocking};
use cargo_wasme::store::{Store, StoreError, StoredImage};
use std::path::{Path, PathBuf};

/// Resolves references from the local store, then (when enabled) asks the registry for the
/// manifest digest of tags the store does not have.
#[derive(Debug)]
pub struct StoreResolver {
    store: Store,
    registry: bool,
}

impl StoreResolver {
    /// A resolver over `store` only.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            registry: false,
        }
    }

    /// Also ask the registry for tags missing from the store (only the digest is learnt: no
    /// module hash, no root ids).
    pub fn with_registry(mut self, enabled: bool) -> Self {
        self.registry = enabled;
        self
    }

    /// A resolver over the default store (`$WASME_HOME/store`).
    pub fn open_default() -> Result<Self, StoreError> {
        Ok(Self::new(Store::open_default()?))
    }

    /// Loads an image (module included) from the store.
    pub fn load(&self, reference: &str) -> Result<StoredImage, StoreError> {
        self.store.resolve(reference)
    }
}

/// What the resolver reports for a stored image.
fn resolved_from_store(reference: Reference, image: &StoredImage) -> ResolvedImage {
    ResolvedImage {
        reference,
        manifest_digest: image.manifest_digest.clone(),
        wasm_sha256: Some(image.wasm_sha256.clone()),
        root_ids: image.root_ids.clone(),
        abi_versions: image.abi_versions.clone(),
        wasm_path: None,
    }
}

impl ImageResolver for StoreResolver {
    fn resolve(
        &self,
        reference: &Reference,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ResolveError> {
        let not_found = match self.store.resolve(&reference.whole()) {
            Ok(image) => return Ok(resolved_from_store(reference.clone(), &image)),
            Err(e @ StoreError::NotFound { .. }) => e.to_string(),
            Err(e) => return Err(ResolveError::Failed(e.to_string())),
        };
        // A digest reference is already pinned: no registry round trip for it.
        if !self.registry || reference.digest().is_some() {
            return Err(ResolveError::NotFound(not_found));
        }
        let registry_options = RegistryOptions {
            plain_http: options.plain_http,
            insecure: options.insecure_skip_verify,
            ..Default::default()
        };
        match resolve_digest_blocking(&reference.whole(), &registry_options) {
            Ok(digest) => Ok(ResolvedImage::pinned(reference.clone(), digest)),
            Err(e) => Err(ResolveError::NotFound(format!(
                "{not_found}; asking the registry failed too: {e}"
            ))),
        }
    }
}

/// Writes a stored image's module to `path` (default: `<WASME_HOME>/modules/<sha256>.wasm`,
/// beside the store) and returns its absolute path. An existing file with the right content is
/// left alone; the write is atomic (temporary file, then rename).
pub fn export_module(
    resolver: &StoreResolver,
    image: &StoredImage,
    path: Option<&Path>,
) -> Result<PathBuf, std::io::Error> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => {
            let home = resolver
                .store
                .root()
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| resolver.store.root().to_path_buf());
            home.join("modules")
                .join(format!("{}.wasm", image.wasm_sha256))
        }
    };
    let path = std::path::absolute(&path)?;
    if std::fs::read(&path).is_ok_and(|existing| existing == image.wasm()) {
        return Ok(path);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, image.wasm())?;
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(path)
}
