//! The store-and-registry [`ImageResolver`]: the I/O side of `deploy` and `render`. The
//! generators stay pure; they only see the trait.
//!
//! What a manifest pins must be what the cluster will pull, so by default every answer is
//! checked against the registry the reference names: an image in the local store must have the
//! same manifest digest there (else: "push it first"), and an image the store lacks is read
//! from the registry itself — manifest, config and module, every digest verified — so root ids,
//! format and module hash are the image's own wherever it came from. `--offline` trusts the
//! store instead, with a warning.
//!
//! A FilterDeployment comes from a Git repository: it is untrusted input. Its
//! `imagePullOptions.plainHttp`/`insecureSkipVerify` describe how the *cluster* pulls; they
//! never make this process send the user's credentials over plain HTTP or to an unverified
//! host. Only loopback registries, and the hosts named on the command line
//! ([`StoreResolver::insecure_registries`], docker's "insecure registries"), are reached
//! without verified TLS. In KRM function mode ([`StoreResolver::krm`]) no registry is asked at
//! all, as kustomize runs functions with the network off.

use super::resolve::{ImageResolver, PullOptions, ResolveError, ResolvedImage};
use crate::image::DecodedImage;
use crate::reference::{self, Digest, Reference};
use crate::registry::{self, Registry, RegistryError, RegistryOptions};
use crate::shell;
use crate::store::{Store, StoreError, StoredImage};
use std::path::{Path, PathBuf};

/// Resolves references from the local store and the registry they name (see the module docs).
#[derive(Debug)]
pub struct StoreResolver {
    /// `None`: there is no local store (deploying never creates one).
    store: Option<Store>,
    offline: bool,
    krm: bool,
    insecure_registries: Vec<String>,
    /// The verification gate's keys (`sign`): with any, an image is resolved only when a
    /// signature of exactly its digest verifies.
    policy: crate::sign::verify::Policy,
}

impl StoreResolver {
    /// Trust the local store without asking any registry (`--offline`).
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// KRM function mode: like [`StoreResolver::offline`] (no network), with errors that say
    /// what a function run without the network needs.
    pub fn krm(mut self, krm: bool) -> Self {
        self.krm = krm;
        self.offline |= krm;
        self
    }

    /// Require a signature verified by one of `policy`'s keys for every image (`sign`).
    pub fn verify(mut self, policy: crate::sign::verify::Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Registry hosts the user named on the command line as reachable over plain HTTP or with
    /// unverified TLS; a document's pull options may ask for that only for these (and for
    /// loopback registries).
    pub fn insecure_registries(mut self, hosts: Vec<String>) -> Self {
        self.insecure_registries = hosts;
        self
    }

    /// The registry options for `reference`: what the document asks, refused when it would
    /// weaken transport security for a host the command line did not name.
    fn registry_options(
        &self,
        reference: &Reference,
        options: &PullOptions,
    ) -> Result<RegistryOptions, ResolveError> {
        let host = reference.registry();
        let allowed =
            reference::is_loopback(host) || self.insecure_registries.iter().any(|h| h == host);
        if (options.plain_http || options.insecure_skip_verify) && !allowed {
            let what = if options.plain_http {
                "plain HTTP (`imagePullOptions.plainHttp`)"
            } else {
                "unverified TLS (`imagePullOptions.insecureSkipVerify`)"
            };
            return Err(ResolveError::Failed(format!(
                "the document asks for {what} to {host}; a document cannot turn that on for a \
                 registry that is not on this machine, since credentials would travel \
                 unprotected: pass `--insecure-registry {host}` on the command line if you trust \
                 the network to it, or `--offline` to use the local store only"
            )));
        }
        Ok(RegistryOptions {
            plain_http: options.plain_http && allowed,
            insecure: options.insecure_skip_verify && allowed,
            ..Default::default()
        })
    }

    /// A resolver over the default store (`$WASME_HOME/store`), which it never creates: with
    /// no store, every image is read from its registry.
    pub fn open_default() -> Result<Self, StoreError> {
        Ok(Self {
            store: Store::open_default_existing()?,
            offline: false,
            krm: false,
            insecure_registries: Vec::new(),
            policy: Default::default(),
        })
    }

    /// Loads an image (module included) from the store.
    pub fn load(&self, reference: &str) -> Result<StoredImage, StoreError> {
        match &self.store {
            Some(store) => store.resolve(reference),
            None => Err(Store::absent(reference)?),
        }
    }
}

/// What the resolver reports for a stored image.
fn resolved_from_store(
    reference: Reference,
    image: &StoredImage,
) -> Result<ResolvedImage, ResolveError> {
    let config_schema = crate::config_schema::of_image(image.format, &image.config_bytes)
        .map_err(|e| ResolveError::Failed(format!("{}: {e}", image.reference)))?;
    Ok(ResolvedImage {
        reference,
        manifest_digest: image.manifest_digest.clone(),
        wasm_sha256: Some(image.wasm_sha256.clone()),
        root_ids: image.root_ids.clone(),
        abi_versions: image.abi_versions.clone(),
        wasm_path: None,
        format: Some(image.format),
        module: Some(image.wasm().into()),
        config_schema,
    })
}

/// What the resolver reports for an image read from its registry: the same fields as
/// [`resolved_from_store`], from the same sources (the manifest and the runtime config).
fn resolved_from_registry(
    reference: Reference,
    digest: Digest,
    image: &DecodedImage,
) -> Result<ResolvedImage, ResolveError> {
    let config_schema = image
        .config_schema
        .clone()
        .map(crate::config_schema::ConfigSchema::new)
        .transpose()
        .map_err(|e| ResolveError::Failed(format!("{}: {e}", reference.whole())))?;
    Ok(ResolvedImage {
        reference,
        manifest_digest: digest,
        wasm_sha256: Some(Digest::of(&image.module).hex().to_owned()),
        root_ids: image.runtime_config.config.root_ids.clone(),
        abi_versions: image.runtime_config.abi_versions.clone(),
        wasm_path: None,
        format: Some(image.format),
        module: Some(image.module.as_slice().into()),
        config_schema,
    })
}

impl ImageResolver for StoreResolver {
    fn resolve(
        &self,
        reference: &Reference,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ResolveError> {
        let resolved = self.resolve_unverified(reference, options)?;
        self.verified(reference, options, resolved)
    }
}

impl StoreResolver {
    /// The verification gate (`sign::verify`): offline against the store's referrers, else
    /// against the registry's (what the cluster pulls); the digest that verified must be the
    /// digest resolved, or nothing is rendered.
    fn verified(
        &self,
        reference: &Reference,
        options: &PullOptions,
        resolved: ResolvedImage,
    ) -> Result<ResolvedImage, ResolveError> {
        use crate::sign::verify;
        // The command line's keys (`--verify-key`, WASME_VERIFY_KEY) and the document's own
        // (`verify.keys`) must each verify: a document from Git can add a requirement, never
        // replace the operator's.
        let mut policies = Vec::new();
        if !self.policy.is_empty() {
            policies.push(self.policy.clone());
        }
        if !options.verify_keys.is_empty() {
            policies.push(
                verify::Policy::from_specs(&options.verify_keys, Path::new("."))
                    .map_err(|e| ResolveError::Failed(format!("verify.keys: {e}")))?,
            );
        }
        let whole = reference.whole();
        for policy in &policies {
            let gate = if self.offline {
                match &self.store {
                    Some(store) => verify::gate_store(store, &whole, policy),
                    None => {
                        return Err(ResolveError::Failed(format!(
                            "a verification key is configured but {whole} is not in the local \
                             store to check its signature offline: pull it (`cargo wasme pull \
                             {whole} --verify-key KEY`)"
                        )));
                    }
                }
            } else {
                verify::gate_blocking(&whole, policy, &self.registry_options(reference, options)?)
            };
            match gate {
                Ok(Some(g)) if g.digest == resolved.manifest_digest => {
                    crate::sign::verify::report_gate(&whole, &Some(g));
                }
                Ok(Some(g)) => {
                    return Err(ResolveError::Failed(format!(
                        "the signature verified {} but {whole} resolved to {}; nothing was \
                         rendered",
                        g.digest, resolved.manifest_digest
                    )));
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(ResolveError::Failed(format!(
                        "{e}{}",
                        e.help().map(|h| format!(" ({h})")).unwrap_or_default()
                    )));
                }
            }
        }
        Ok(resolved)
    }

    /// The gate for an image used straight from the store (`deploy envoy`): with a key
    /// configured, the store's copy must carry a signature of its digest that verifies.
    pub fn verify_stored(&self, reference: &str) -> Result<(), crate::sign::SignError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let gate = crate::sign::verify::gate_store(store, reference, &self.policy)?;
        crate::sign::verify::report_gate(reference, &gate);
        Ok(())
    }

    fn resolve_unverified(
        &self,
        reference: &Reference,
        options: &PullOptions,
    ) -> Result<ResolvedImage, ResolveError> {
        let whole = reference.whole();
        let stored = match self.load(&whole) {
            Ok(image) => Some(image),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(ResolveError::Failed(e.to_string())),
        };
        if self.offline {
            return offline(reference, stored.as_ref(), self.krm);
        }
        let registry = Registry::new(self.registry_options(reference, options)?);
        let push_hint = format!("push it first: `cargo wasme push {whole}`");
        match stored {
            Some(image) => match registry::block_on(registry.resolve_digest(&whole)) {
                Ok(remote) if remote == image.manifest_digest => {
                    resolved_from_store(reference.clone(), &image)
                }
                Ok(remote) => Err(ResolveError::Failed(format!(
                    "the registry's {whole} is {remote} but the local store's is {}: \
                     {push_hint} (or pull the registry's: `cargo wasme pull {whole}`)",
                    image.manifest_digest
                ))),
                Err(RegistryError::NotFound { .. }) => Err(ResolveError::NotFound(format!(
                    "it is in the local store but {} does not have it, so the cluster could not \
                     pull it; {push_hint} (or pass --offline to trust the local store)",
                    reference.registry()
                ))),
                Err(e) => Err(ResolveError::Failed(format!(
                    "cannot check that the registry has it: {e}; once it is reachable, \
                     {push_hint}, or pass --offline to trust the local store"
                ))),
            },
            None => match registry::block_on(registry.inspect(&whole)) {
                Ok((digest, image)) => resolved_from_registry(reference.clone(), digest, &image),
                Err(RegistryError::NotFound { .. }) => Err(ResolveError::NotFound(format!(
                    "neither the local store nor {} has it: build it and {push_hint}, \
                     or check the name",
                    reference.registry()
                ))),
                Err(e) => Err(ResolveError::Failed(format!(
                    "it is not in the local store and reading it from the registry failed: {e} \
                     (when the registry is reachable: `cargo wasme pull {whole}`)"
                ))),
            },
        }
    }
}

/// `--offline`: the store's answer, trusted with a warning; a digest reference the store lacks
/// is pinned as written, without root ids or format.
/// In KRM mode (`krm`) the messages say why there is no network and what to do instead.
fn offline(
    reference: &Reference,
    stored: Option<&StoredImage>,
    krm: bool,
) -> Result<ResolvedImage, ResolveError> {
    let whole = reference.whole();
    let mode = if krm {
        "KRM function mode (no network)"
    } else {
        "--offline"
    };
    match (stored, reference::digest_of(reference)) {
        (Some(image), _) => {
            shell::warn(format_args!(
                "{mode}: {whole} is pinned from the local store; nothing checked that {} has it \
                 (`cargo wasme push {whole}` if it does not)",
                reference.registry()
            ));
            resolved_from_store(reference.clone(), image)
        }
        (None, Some(digest)) => {
            shell::warn(format_args!(
                "{mode}: {whole} is not in the local store; its digest is used as written, \
                 and its root id and format are unknown (pass --root-id, or pull it)"
            ));
            Ok(ResolvedImage::pinned(reference.clone(), digest))
        }
        (None, None) if krm => Err(ResolveError::NotFound(format!(
            "a KRM function runs without the network (kustomize's default), so the tag cannot be \
             looked up and {whole} is not in the local store: pin the image by digest in the \
             FilterDeployment (`image: {}/{}@sha256:…`, from `cargo wasme push`), or pull it \
             into the store first (`cargo wasme pull {whole}`)",
            reference.registry(),
            reference.repository()
        ))),
        (None, None) => Err(ResolveError::NotFound(format!(
            "--offline: it is not in the local store; pull it (`cargo wasme pull {whole}`) \
             or run without --offline to read it from the registry"
        ))),
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
            let root = match &resolver.store {
                Some(store) => store.root().to_path_buf(),
                None => Store::default_path().map_err(|e| std::io::Error::other(e.to_string()))?,
            };
            let home = root.parent().map(Path::to_path_buf).unwrap_or(root);
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
