//! The whole build pipeline as a library function: [`build_image`] runs the module
//! stage ([`wasme_build::build_module`]: cargo → module checks → optimisation), then
//! packages the final bytes as an OCI image and (optionally) adds it to the local store.
//! `cargo wasme build`, `test` and `run` call it; `package` calls [`package_module`] for a
//! module built elsewhere.
//!
//! ```no_run
//! use cargo_wasme::build::{BuildOptions, ImageRequest, build_image};
//! let built = build_image(
//!     &BuildOptions { path: Some("filters/add-header".into()), ..BuildOptions::default() },
//!     &ImageRequest { store: true, ..ImageRequest::default() },
//! )?;
//! println!("{} -> {}", built.tag, built.image.digest);
//! # Ok::<(), cargo_wasme::build::BuildImageError>(())
//! ```

use crate::config_schema::{self, ConfigSchema, SchemaError};
use crate::image::{self, Format, ImageError, ImageSpec, runtime_config::BuildInfo};
use crate::module_info::ModuleInfo;
use crate::reference::ReferenceError;
use crate::store::{Store, StoreError, StoredImage};
use std::time::{Duration, Instant};

pub use wasme_build::{
    BuildError, BuildOptions, BuildRecord, BuiltModule, OptOutcome, WASM_TARGET,
};

/// Why an image could not be built or stored.
#[derive(Debug, thiserror::Error)]
pub enum BuildImageError {
    /// The module stage failed.
    #[error(transparent)]
    Module(#[from] BuildError),
    /// The module is not a proxy-wasm filter.
    #[error("the module cannot be used as a proxy-wasm filter: {0}")]
    Check(#[from] crate::module_info::ModuleError),
    /// The module carries a configuration schema that cannot be read or is not a JSON Schema.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The tag is not a valid image reference.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// Packaging failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The local store refused the image.
    #[error("cannot store {tag}: {source}")]
    Store {
        /// The tag.
        tag: String,
        /// Why.
        source: StoreError,
    },
}

/// How the image is made from the module.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    /// The tag [default: `[package.metadata.wasme] tag`, else `<crate-name>:<version>`].
    pub tag: Option<String>,
    /// The layout.
    pub format: Format,
    /// Root ids [default: `[package.metadata.wasme] root-ids`, else the crate name in snake
    /// case].
    pub root_ids: Vec<String>,
    /// Add the image to the local store (`$WASME_HOME`); `false` only computes it.
    pub store: bool,
}

impl Default for ImageRequest {
    /// The defaults of `cargo wasme build`: compat format, tag and root ids from the crate, not
    /// stored.
    fn default() -> Self {
        ImageRequest {
            tag: None,
            format: Format::Compat,
            root_ids: Vec::new(),
            store: false,
        }
    }
}

/// A module built from source and packaged.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// The module stage's result: the final bytes and what ran.
    pub module: BuiltModule,
    /// The tag it was stored (or would be stored) under.
    pub tag: String,
    /// Its root ids.
    pub root_ids: Vec<String>,
    /// The image.
    pub image: image::BuiltImage,
    /// The configuration schema the module carried, recorded in the image.
    pub config_schema: Option<ConfigSchema>,
    /// The stored image, when [`ImageRequest::store`] was set.
    pub stored: Option<StoredImage>,
    /// Time spent packaging and storing.
    pub image_time: Duration,
}

/// Builds the filter crate `options` names, packages its final module and stores the image
/// when `request.store` is set. One module build per process and options (memoised).
pub fn build_image(
    options: &BuildOptions,
    request: &ImageRequest,
) -> Result<BuiltImage, BuildImageError> {
    crate::registry::progress::show_wasm_opt();
    let module = wasme_build::build_module(options)?;
    let started = Instant::now();
    let root_ids = if request.root_ids.is_empty() {
        module.filter.root_ids.clone()
    } else {
        request.root_ids.clone()
    };
    let tag = request
        .tag
        .clone()
        .or_else(|| module.filter.tag.clone())
        .unwrap_or_else(|| format!("{}:{}", module.filter.name, module.filter.version));
    // Validate the tag before doing anything with the store.
    crate::reference::parse(&tag)?;
    let mut spec = ImageSpec::new(
        request.format,
        module.info.abi_versions.clone(),
        root_ids.clone(),
    )
    .with_source_date_epoch();
    spec.build = Some(BuildInfo::from(&module.record));
    let config_schema = schema_of(&module, options)?;
    spec.config_schema = config_schema.as_ref().map(|s| s.value().clone());
    let packaging = packaging(&tag, module.bytes.len());
    let image = image::build(&module.bytes, &spec)?;
    let stored = if request.store {
        Some(store(&tag, &image)?)
    } else {
        None
    };
    drop(packaging);
    Ok(BuiltImage {
        module,
        tag,
        root_ids,
        image,
        config_schema,
        stored,
        image_time: started.elapsed(),
    })
}

/// The schema a built module carries, read once per schema carrier and process (running the
/// export compiles a module: `test` and `run` use one crate more than once in one process).
fn schema_of(
    module: &wasme_build::BuiltModule,
    options: &BuildOptions,
) -> Result<Option<ConfigSchema>, BuildImageError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use wasme_build::SchemaSource;
    type Memo = Mutex<HashMap<String, Option<ConfigSchema>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    // Keyed by what carries the schema (the shipped bytes are the same for two schemas); the
    // SDK's schema build by the build options (the module stage is memoised by them too).
    let key = match &module.config_schema {
        None => return Ok(None),
        Some(SchemaSource::Section(json)) => crate::reference::Digest::of(json).to_string(),
        Some(SchemaSource::Export(m)) => crate::reference::Digest::of(m).to_string(),
        Some(SchemaSource::SdkBuild) => format!("{options:?}"),
    };
    let memo = MEMO.get_or_init(Default::default);
    if let Some(known) = memo.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(known.clone());
    }
    let source = match &module.config_schema {
        // A second cargo build, whose module has the export (and is never shipped).
        Some(SchemaSource::SdkBuild) => {
            crate::shell::status(
                "Building",
                "the configuration schema (profile wasme-schema)",
            );
            SchemaSource::Export(wasme_build::schema::schema_module(options)?.into())
        }
        other => other.clone().unwrap_or(SchemaSource::SdkBuild),
    };
    let found = Some(config_schema::from_source(&source)?);
    memo.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, found.clone());
    Ok(found)
}

fn store(tag: &str, image: &image::BuiltImage) -> Result<StoredImage, BuildImageError> {
    let failed = |source| BuildImageError::Store {
        tag: tag.to_string(),
        source,
    };
    let store = Store::open_default().map_err(failed)?;
    store.add(tag, image).map_err(failed)
}

/// Packages a module built by any toolchain (checked, not optimised: its bytes are kept as
/// given) and adds it to the local store under `tag`. A configuration schema the module carries
/// (custom section `wasme.config_schema`, or the export) is recorded in the image.
pub fn package_module(
    module: &[u8],
    format: Format,
    root_ids: Vec<String>,
    tag: &str,
) -> Result<StoredImage, BuildImageError> {
    let info = ModuleInfo::parse(module)?;
    info.check_filter()?;
    crate::reference::parse(tag)?;
    let mut spec = ImageSpec::new(format, info.abi_versions, root_ids).with_source_date_epoch();
    spec.config_schema = config_schema::of_module(module)?.map(|s| s.value().clone());
    let _packaging = packaging(tag, module.len());
    let image = image::build(module, &spec)?;
    store(tag, &image)
}

/// A spinner while a module is compressed, hashed and stored (a minute for 40 MiB at gzip's
/// level 9), on a terminal only.
fn packaging(tag: &str, bytes: usize) -> crate::registry::progress::Activity {
    crate::registry::progress::Activity::packaging(format!(
        "{tag} ({})",
        indicatif::HumanBytes(bytes as u64)
    ))
}

/// Builds the filter crate `options` names through the one pipeline, without storing it, and
/// says on stderr what the module stage did and which module and image digest the command is
/// about to use: what `run`, `test`, `fuzz` and `bench` do with a crate.
pub fn build_crate(options: &BuildOptions) -> Result<BuiltImage, BuildImageError> {
    let built = build_image(options, &ImageRequest::default())?;
    report_module(&built);
    crate::shell::status(
        "Using",
        format_args!(
            "module {} = image {} as `cargo wasme build` stores it ({}, root ids {})",
            built.module.digest,
            built.image.digest,
            built.tag,
            built.root_ids.join(",")
        ),
    );
    Ok(built)
}

/// Reports what the module stage did, in cargo's style on stderr: the optimiser, the module's
/// facts, the times.
pub fn report_module(built: &BuiltImage) {
    use crate::shell;
    let m = &built.module;
    match &m.optimization {
        OptOutcome::Optimized { before, after } => shell::status(
            "Optimizing",
            format_args!(
                "{before} -> {after} bytes ({})",
                m.record.wasm_opt.as_deref().unwrap_or("wasm-opt")
            ),
        ),
        OptOutcome::Skipped(why) => shell::warn(format_args!("wasm-opt skipped: {why}")),
        OptOutcome::Disabled => shell::status("Skipped", "wasm-opt (--no-opt)"),
    }
    report_checked(&m.path, m.bytes.len() as u64, &m.info);
    if let Some(schema) = &built.config_schema {
        shell::status(
            "Schema",
            format_args!("configuration {} (recorded in the image)", schema.summary()),
        );
    }
    shell::status(
        "Finished",
        format_args!(
            "`{}` profile in {:.2}s (cargo {:.2}s, checks and wasm-opt {:.2}s, image {:.2}s), {}",
            m.record.profile,
            (m.cargo_time + m.optimize_time + built.image_time).as_secs_f64(),
            m.cargo_time.as_secs_f64(),
            m.optimize_time.as_secs_f64(),
            built.image_time.as_secs_f64(),
            m.record.compiler,
        ),
    );
}

/// The `Checked` status line: a module's path, size, ABI and features.
pub fn report_checked(path: &std::path::Path, size: u64, info: &ModuleInfo) {
    crate::shell::status(
        "Checked",
        format_args!(
            "{} ({size} bytes, ABI {}, features: {})",
            path.display(),
            info.abi_versions.join(", "),
            if info.features.is_empty() {
                "none beyond MVP".to_string()
            } else {
                info.features.join(", ")
            }
        ),
    );
}

/// The `image-built` JSON message (`--message-format json`), the status line and the digest on
/// stdout for an image `build` or `package` added to the store from `module_path`.
pub fn report_stored(stored: &StoredImage, module_path: &std::path::Path) {
    crate::shell::status(
        "Packaged",
        format_args!(
            "{} ({}, {} format, {} bytes, root ids {})",
            stored.short_reference(),
            stored.manifest_digest,
            stored.format,
            stored.size,
            stored.root_ids.join(",")
        ),
    );
    crate::shell::json(
        "image-built",
        &serde_json::json!({
            "reference": stored.reference,
            "digest": stored.manifest_digest,
            "size": stored.size,
            "format": stored.format,
            "root_ids": stored.root_ids,
            "abi_versions": stored.abi_versions,
            "wasm_sha256": stored.wasm_sha256,
            "module_path": module_path,
            "module_size": stored.wasm().len(),
        }),
    );
    crate::shell::result(&stored.manifest_digest);
}

/// `package`: the module in `file` (built by any toolchain) checked and stored under `tag`
/// [default: the file name without `.wasm`, lower case with `_` as `-`, tag `latest`], with
/// `root_ids` [default: that name in snake case].
pub fn package_file(
    file: &std::path::Path,
    tag: Option<String>,
    format: Format,
    root_ids: Vec<String>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let module = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let info = ModuleInfo::parse(&module)
        .with_context(|| format!("{} is not a valid module", file.display()))?;
    info.check_filter()
        .with_context(|| format!("{} cannot be used as a proxy-wasm filter", file.display()))?;
    report_checked(file, info.size, &info);
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("filter")
        .to_lowercase()
        .replace('_', "-");
    let tag = tag.unwrap_or_else(|| format!("{stem}:latest"));
    let root_ids = if root_ids.is_empty() {
        vec![stem.replace('-', "_")]
    } else {
        root_ids
    };
    let stored = package_module(&module, format, root_ids, &tag)?;
    report_stored(&stored, file);
    Ok(())
}
