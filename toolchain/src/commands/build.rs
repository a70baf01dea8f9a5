//! `build` (the library's [`build_image`]: cargo → check → wasm-opt → image → store, then
//! `sign::actions::record_build`) and `package` (`cargo_wasme::build::package_file`): flags only.
use super::args::CargoFlags;
use cargo_wasme::build::{ImageRequest, build_image, report_module, report_stored};
use cargo_wasme::image::Format;
use cargo_wasme::shell;
use std::path::PathBuf;
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
    cargo_wasme::sign::actions::record_build(&built, &options, args.sign.as_deref())?;
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
    let image = args.image;
    cargo_wasme::build::package_file(&args.file, args.tag, image.format, image.root_ids)?;
    Ok(ExitCode::SUCCESS)
}
