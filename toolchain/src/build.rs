//! The whole build pipeline as a library function: [`build_image`] runs the module
//! stage ([`wasme_build::build_module`]: cargo → module checks → optimisation), then
//! packages the final bytes as an OCI image and (optionally) adds it to the local store.
//! `cargo wasme build`, `test` and `run` call it; `package` calls [`package_file`] for a
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
use crate::store::{ImageSummary, Store, StoreError, StoredImage};
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
    let found = match &module.config_schema {
        // A second cargo build, whose module has the export (and is never shipped); its
        // schema is remembered beside it, by the module's digest.
        Some(SchemaSource::SdkBuild) => {
            crate::shell::status(
                "Building",
                "the configuration schema (profile wasme-schema)",
            );
            let (path, module) = wasme_build::schema::schema_module(options)?;
            let digest = crate::reference::Digest::of(&module);
            let cache = path.with_extension(format!("{}.schema.json", digest.hex()));
            config_schema::from_export_cached(&module, &cache)?
        }
        other => config_schema::from_source(&other.clone().unwrap_or(SchemaSource::SdkBuild))?,
    };
    let found = Some(found);
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

/// A module file as `package` reads it: everything the module checks need, without holding
/// the module. Its sections are kept, except the payload of custom sections over 64 KiB
/// (debug info, embedded data: nothing validation or the proxy-wasm checks read; their names
/// are kept, so a malformed name is still refused); the whole file is hashed on the way.
/// So a module whose size is mostly custom sections is checked in memory that does not grow
/// with it; the code and data sections are held, as `wasmparser` validates from a slice.
#[derive(Debug)]
pub struct ModuleFile {
    path: std::path::PathBuf,
    checked: Vec<u8>,
    size: u64,
    sha256: crate::reference::Digest,
}

/// Custom sections larger than this are checked by name only (see [`ModuleFile`]).
const KEEP_CUSTOM: u64 = 64 * 1024;

impl ModuleFile {
    /// Reads the module at `path` (one pass, bounded buffers).
    pub fn read(path: &std::path::Path) -> std::io::Result<ModuleFile> {
        use std::io::Read as _;
        let file = std::fs::File::open(path)?;
        let mut input = image::layer::Hashing::new(std::io::sink());
        let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
        let mut checked = Vec::new();
        // A reader that hashes everything it hands out.
        let mut take = |n: u64, out: Option<&mut Vec<u8>>| -> std::io::Result<u64> {
            let mut buf = [0u8; 64 * 1024];
            let mut left = n;
            let mut out = out;
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                let got = reader.read(&mut buf[..want])?;
                if got == 0 {
                    break;
                }
                input.update(&buf[..got]);
                if let Some(out) = out.as_deref_mut() {
                    out.extend_from_slice(&buf[..got]);
                }
                left -= got as u64;
            }
            Ok(n - left)
        };
        // The 8-byte header, then sections: an id byte, a LEB128 size, the payload.
        take(8, Some(&mut checked))?;
        loop {
            let mut head = Vec::new();
            if take(1, Some(&mut head))? == 0 {
                break;
            }
            let mut size: u64 = 0;
            let mut framed = true;
            for i in 0..5 {
                if take(1, Some(&mut head))? == 0 {
                    framed = false;
                    break;
                }
                let byte = head[head.len() - 1];
                size |= u64::from(byte & 0x7f) << (7 * i);
                if byte & 0x80 == 0 {
                    break;
                }
            }
            if !framed || head[0] != 0 || size <= KEEP_CUSTOM {
                checked.extend_from_slice(&head);
                // A size past the end only reads what is there: wasmparser reports it.
                take(size, Some(&mut checked))?;
                continue;
            }
            // A large custom section: its name (LEB128 length, then UTF-8) and no payload.
            let mut name = Vec::new();
            let mut len: u64 = 0;
            for i in 0..5 {
                if take(1, Some(&mut name))? == 0 {
                    break;
                }
                let byte = name[name.len() - 1];
                len |= u64::from(byte & 0x7f) << (7 * i);
                if byte & 0x80 == 0 {
                    break;
                }
            }
            let len = len.min(size.saturating_sub(name.len() as u64));
            take(len, Some(&mut name))?;
            let rest = size.saturating_sub(name.len() as u64);
            if take(rest, None)? < rest {
                // Truncated: keep the section as declared, so the module is refused as it is.
                checked.extend_from_slice(&head);
                checked.extend_from_slice(&name);
                break;
            }
            checked.push(0);
            let mut n = name.len() as u64;
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                checked.push(if n == 0 { byte } else { byte | 0x80 });
                if n == 0 {
                    break;
                }
            }
            checked.extend_from_slice(&name);
        }
        let (_, sha256, size) = input.finish();
        Ok(ModuleFile {
            path: path.to_path_buf(),
            checked,
            size,
            sha256,
        })
    }

    /// The module's facts (validity, ABI versions, imports, exports, features); `size` is the
    /// file's.
    pub fn info(&self) -> Result<ModuleInfo, crate::module_info::ModuleError> {
        let mut info = ModuleInfo::parse(&self.checked)?;
        info.size = self.size;
        Ok(info)
    }
}

/// Packages a module built by any toolchain (checked, not optimised: its bytes are kept as
/// given) and adds it to the local store under `tag`. The module is streamed from its file
/// into the layer: memory does not grow with its size. A configuration schema the module
/// carries (custom section `wasme.config_schema`, or the export) is recorded in the image.
pub fn package_module(
    module: &ModuleFile,
    format: Format,
    root_ids: Vec<String>,
    tag: &str,
) -> Result<ImageSummary, BuildImageError> {
    let info = module.info()?;
    info.check_filter()?;
    crate::reference::parse(tag)?;
    let mut spec = ImageSpec::new(format, info.abi_versions, root_ids).with_source_date_epoch();
    // Custom sections up to 64 KiB and all code are in `checked`: the schema section or export.
    spec.config_schema = config_schema::of_module(&module.checked)?.map(|s| s.value().clone());
    let _packaging = packaging(tag, module.size as usize);
    let failed = |source| BuildImageError::Store {
        tag: tag.to_string(),
        source,
    };
    let store = Store::open_default().map_err(failed)?;
    let io = |e: std::io::Error| {
        failed(StoreError::Io {
            action: "read".into(),
            path: module.path.clone(),
            source: e,
        })
    };
    let mut file = std::io::BufReader::with_capacity(
        256 * 1024,
        std::fs::File::open(&module.path).map_err(io)?,
    );
    // What is packaged must be what was checked (the file could change in between).
    store
        .add_module(tag, &mut file, module.size, Some(&module.sha256), &spec)
        .map_err(failed)
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
pub fn report_stored(stored: &ImageSummary, module_path: &std::path::Path) {
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
            "module_size": stored.module_size,
        }),
    );
    crate::shell::result(&stored.manifest_digest);
}

/// Why `package` could not take a module file in (before [`package_module`]'s own errors).
#[derive(Debug, thiserror::Error)]
pub enum PackageFileError {
    /// The file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The module file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid module.
    #[error("{} is not a valid module", path.display())]
    Invalid {
        /// The module file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: crate::module_info::ModuleError,
    },
    /// The module is not a proxy-wasm filter.
    #[error("{} cannot be used as a proxy-wasm filter", path.display())]
    NotAFilter {
        /// The module file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: crate::module_info::ModuleError,
    },
    /// Packaging or storing failed.
    #[error(transparent)]
    Package(#[from] BuildImageError),
}

/// `package`: the module in `file` (built by any toolchain) checked and stored under `tag`
/// [default: the file name without `.wasm`, lower case with `_` as `-`, tag `latest`], with
/// `root_ids` [default: that name in snake case].
pub fn package_file(
    file: &std::path::Path,
    tag: Option<String>,
    format: Format,
    root_ids: Vec<String>,
) -> Result<(), PackageFileError> {
    let path = || file.to_path_buf();
    let module = ModuleFile::read(file).map_err(|source| PackageFileError::Read {
        path: path(),
        source,
    })?;
    let info = module.info().map_err(|source| PackageFileError::Invalid {
        path: path(),
        source,
    })?;
    info.check_filter()
        .map_err(|source| PackageFileError::NotAFilter {
            path: path(),
            source,
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn custom_section(name: &str, payload: usize) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend((0..payload).map(|i| (i * 7 + i / 251) as u8));
        let mut section = vec![0u8];
        let mut n = body.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            section.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                break;
            }
        }
        section.extend(body);
        section
    }

    #[test]
    fn a_module_file_is_checked_like_the_whole_module_without_its_large_custom_sections() {
        let dir = tempfile::tempdir().unwrap();
        let mut wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                (func (export "proxy_abi_version_0_2_1"))
                (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        wasm.extend(custom_section("small", 100));
        wasm.extend(custom_section("large", 300 * 1024));
        let path = dir.path().join("m.wasm");
        std::fs::write(&path, &wasm).unwrap();
        let file = ModuleFile::read(&path).unwrap();
        assert!(
            file.checked.len() < 2048,
            "{} bytes held",
            file.checked.len()
        );
        assert_eq!(file.sha256, crate::reference::Digest::of(&wasm));
        let whole = ModuleInfo::parse(&wasm).unwrap();
        let info = file.info().unwrap();
        assert_eq!(info.size, wasm.len() as u64);
        assert_eq!(
            (info.abi_versions, info.exports, info.features),
            (whole.abi_versions, whole.exports, whole.features)
        );
        // Cut inside the large section: refused, as the whole file would be.
        std::fs::write(&path, &wasm[..wasm.len() - 10]).unwrap();
        assert!(ModuleInfo::parse(&wasm[..wasm.len() - 10]).is_err());
        assert!(ModuleFile::read(&path).unwrap().info().is_err());
        // A large custom section with a name that is not UTF-8: refused too.
        let mut bad = wasm.clone();
        let at = bad.len() - 300 * 1024 - 5;
        assert_eq!(&bad[at..at + 5], b"large");
        bad[at] = 0xff;
        std::fs::write(&path, &bad).unwrap();
        assert!(ModuleInfo::parse(&bad).is_err());
        assert!(ModuleFile::read(&path).unwrap().info().is_err());
    }
}
