//! CLI glue: `build` (the library's [`build_image`]: cargo → check → wasm-opt → image → store)
//! and `package` (an existing module → check → image → store), plus the cargo flags `test` and
//! `run` share with `build`.
use anyhow::Context as _;
use cargo_wasme::build::{
    BuildOptions, BuiltImage, ImageRequest, OptOutcome, build_image, package_module,
};
use cargo_wasme::image::Format;
use cargo_wasme::shell;
use cargo_wasme::store::StoredImage;
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

/// How a filter crate is compiled: the cargo flags `build`, `test` and `run` share.
#[derive(Debug, Clone, clap::Args)]
pub struct CargoFlags {
    /// The cargo profile. `release` (the default) gets the size settings (opt-level "z", LTO,
    /// one codegen unit, panic=abort, stripped); any other profile is used as written.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The release profile (the default; accepted for cargo's habit).
    #[arg(long, conflicts_with = "profile")]
    pub release: bool,
    /// Skip wasm-opt.
    #[arg(long)]
    pub no_opt: bool,
    /// Keep the `name` section (function names in traps and profilers).
    #[arg(long)]
    pub debug_names: bool,
    /// Cargo's target directory [default: cargo's, which honours CARGO_TARGET_DIR].
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Passed to cargo.
    #[arg(long)]
    pub locked: bool,
    /// Passed to cargo.
    #[arg(long)]
    pub offline: bool,
    /// Passed to cargo.
    #[arg(long)]
    pub frozen: bool,
    /// Passed to cargo (space or comma separated).
    #[arg(short = 'F', long)]
    pub features: Vec<String>,
    /// Passed to cargo.
    #[arg(long)]
    pub all_features: bool,
    /// Passed to cargo.
    #[arg(long)]
    pub no_default_features: bool,
}

impl CargoFlags {
    /// The pipeline options for the crate at `path` (package `package`).
    pub fn options(&self, path: Option<PathBuf>, package: Option<String>) -> BuildOptions {
        BuildOptions {
            path,
            package,
            profile: self.profile.clone(),
            target_dir: self.target_dir.clone(),
            features: self.features.clone(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            locked: self.locked,
            offline: self.offline,
            frozen: self.frozen,
            optimize: !self.no_opt,
            debug_names: self.debug_names,
            cargo_args: cargo_output_flags(),
            ..BuildOptions::default()
        }
    }
}

/// `-q` and `--color` as cargo takes them, so cargo's own `Compiling`/`Finished` lines follow
/// the same settings as ours.
fn cargo_output_flags() -> Vec<String> {
    let settings = shell::get();
    let mut flags = Vec::new();
    if settings.verbosity == shell::Verbosity::Quiet {
        flags.push("--quiet".to_string());
    }
    match settings.color {
        shell::ColorWhen::Always => flags.extend(["--color".into(), "always".into()]),
        shell::ColorWhen::Never => flags.extend(["--color".into(), "never".into()]),
        shell::ColorWhen::Auto => {}
    }
    flags
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

/// Reports what the module stage did, in cargo's style on stderr: the optimiser, the module's
/// facts, the times.
pub fn report_module(built: &BuiltImage) {
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
    shell::status(
        "Checked",
        format_args!(
            "{} ({} bytes, ABI {}, features: {})",
            m.path.display(),
            m.bytes.len(),
            m.info.abi_versions.join(", "),
            features(&m.info.features)
        ),
    );
    shell::status(
        "Finished",
        format_args!(
            "`{}` profile in {:.2}s (cargo {:.2}s, checks and wasm-opt {:.2}s, image {:.2}s), {}",
            m.record.profile,
            (m.cargo_time + m.optimize_time + built.image_time).as_secs_f64(),
            m.cargo_time.as_secs_f64(),
            m.optimize_time.as_secs_f64(),
            built.image_time.as_secs_f64(),
            m.record.rustc,
        ),
    );
}

fn features(list: &[&str]) -> String {
    if list.is_empty() {
        "none beyond MVP".to_string()
    } else {
        list.join(", ")
    }
}

/// The `image-built` JSON message (`--message-format json`) and the human status line for an
/// image added to the store.
fn report_stored(stored: &StoredImage, module_path: &Path) {
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
            "rootIds": stored.root_ids,
            "abiVersions": stored.abi_versions,
            "wasmSha256": stored.wasm_sha256,
            "modulePath": module_path,
            "moduleSize": stored.wasm().len(),
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
        Some(stored) => report_stored(stored, &built.module.path),
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
    let module = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let info = cargo_wasme::module_info::ModuleInfo::parse(&module)
        .with_context(|| format!("{} is not a valid module", args.file.display()))?;
    info.check_filter().with_context(|| {
        format!(
            "{} cannot be used as a proxy-wasm filter",
            args.file.display()
        )
    })?;
    shell::status(
        "Checked",
        format_args!(
            "{} ({} bytes, ABI {}, features: {})",
            args.file.display(),
            info.size,
            info.abi_versions.join(", "),
            features(&info.features)
        ),
    );
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
    let stored = package_module(&module, args.image.format, root_ids, &tag)?;
    report_stored(&stored, &args.file);
    Ok(ExitCode::SUCCESS)
}
