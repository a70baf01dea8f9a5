//! CLI glue: `build` (the library's [`build_image`]: cargo → check → wasm-opt → image → store)
//! and `package` (an existing module → check → image → store).
use super::args::CargoFlags;
use anyhow::Context as _;
use cargo_wasme::build::{ImageRequest, build_image, package_file, report_module};
use cargo_wasme::image::Format;
use cargo_wasme::shell;
use cargo_wasme::store::ImageSummary;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Image options shared by `build` and `package`.
#[derive(Debug, clap::Args)]
pub struct ImageOptions {
    /// The image layout. compat works with Istio and every registry.
    #[arg(long, value_enum, default_value_t = Format::Compat)]
    pub format: Format,
    /// Root context ids (repeatable) [default: [package.metadata.wasme] root-ids, else the
    /// crate name in snake case].
    #[arg(long = "root-id")]
    pub root_ids: Vec<String>,
}

/// Arguments of `cargo wasme build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The filter crate's directory or Cargo.toml [default: the current directory].
    pub path: Option<PathBuf>,
    /// Path to Cargo.toml (like cargo's flag).
    #[arg(long, conflicts_with = "path")]
    pub manifest_path: Option<PathBuf>,
    /// The workspace package to build.
    #[arg(short, long)]
    pub package: Option<String>,
    /// The image reference to store it under [default: [package.metadata.wasme] tag, else
    /// <crate-name>:<version>].
    #[arg(short, long)]
    pub tag: Option<String>,
    #[command(flatten)]
    pub cargo: CargoFlags,
    #[command(flatten)]
    pub image: ImageOptions,
    /// Sign the image and its provenance and SBOM attestations with this private key.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// More cargo arguments, after `--`.
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

/// The `image-built` JSON message (`--message-format json`) and the human status line for an
/// image added to the store.
fn report_stored(stored: &ImageSummary, module_path: &Path) {
    shell::status(
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
    shell::json(
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
    shell::result(&stored.manifest_digest);
}

/// Runs `cargo wasme build`.
pub fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let mut options = args
        .cargo
        .options(args.manifest_path.or(args.path), args.package);
    options.cargo_args.extend(args.cargo_args);
    let request = ImageRequest {
        tag: args.tag,
        format: args.image.format,
        root_ids: args.image.root_ids,
        store: true,
    };
    let built = build_image(&options, &request)?;
    report_module(&built);
    // Provenance and SBOM attestations (`sign`), signed with --sign.
    super::sign::record_build(&built, &options, args.sign.as_deref())?;
    match &built.stored {
        Some(stored) => report_stored(&stored.summary(), &built.module.path),
        None => shell::result(&built.image.digest),
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme package`.
#[derive(Debug, clap::Args)]
pub struct PackageArgs {
    /// The module, built by any toolchain (C++, AssemblyScript, TinyGo, Rust, …).
    pub file: PathBuf,
    /// The image reference to store it under [default: the file name without `.wasm`, lower
    /// case with `_` as `-`, and the tag `latest`: `my_filter.wasm` → `my-filter:latest`].
    #[arg(short, long)]
    pub tag: Option<String>,
    #[command(flatten)]
    pub image: ImageOptions,
}

/// Runs `cargo wasme package`.
pub fn package(args: PackageArgs) -> anyhow::Result<ExitCode> {
    let module = cargo_wasme::build::ModuleFile::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let info = module
        .info()
        .with_context(|| format!("{} is not a valid module", args.file.display()))?;
    info.check_filter().with_context(|| {
        format!(
            "{} cannot be used as a proxy-wasm filter",
            args.file.display()
        )
    })?;
    cargo_wasme::build::report_checked(&args.file, info.size, &info);
    let stem = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("filter")
        .to_lowercase()
        .replace('_', "-");
    let tag = args.tag.clone().unwrap_or_else(|| format!("{stem}:latest"));
    let root_ids = if args.image.root_ids.is_empty() {
        vec![stem.replace('-', "_")]
    } else {
        args.image.root_ids.clone()
    };
    let stored = package_file(&module, args.image.format, root_ids, &tag)?;
    report_stored(&stored, &args.file);
    Ok(ExitCode::SUCCESS)
}
