//! CLI glue: `build` (cargo → check → wasm-opt → image → store) and `package` (an existing
//! module → check → image → store).
use anyhow::Context as _;
use cargo_wasme::cargo_build::{self, BuildRequest};
use cargo_wasme::image::{self, Format, ImageSpec};
use cargo_wasme::module_info::ModuleInfo;
use cargo_wasme::store::Store;
use cargo_wasme::wasm_opt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Image options shared by `build` and `package`.
#[derive(Debug, clap::Args)]
pub struct ImageOptions {
    /// The image reference to store it under [default: <crate-name>:<version>].
    #[arg(short, long)]
    pub tag: Option<String>,
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
    /// The cargo profile.
    #[arg(long, default_value = "release")]
    pub profile: String,
    /// Skip wasm-opt.
    #[arg(long)]
    pub no_opt: bool,
    /// Cargo's target directory.
    #[arg(long)]
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
    #[command(flatten)]
    pub image: ImageOptions,
    /// More cargo arguments, after `--`.
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

/// Runs `cargo wasme build`.
pub fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let mut cargo_args = Vec::new();
    for (on, flag) in [
        (args.locked, "--locked"),
        (args.offline, "--offline"),
        (args.frozen, "--frozen"),
        (args.all_features, "--all-features"),
        (args.no_default_features, "--no-default-features"),
    ] {
        if on {
            cargo_args.push(flag.to_string());
        }
    }
    for f in &args.features {
        cargo_args.extend(["--features".to_string(), f.clone()]);
    }
    cargo_args.extend(args.cargo_args.iter().cloned());
    let request = BuildRequest {
        path: args.manifest_path.clone().or(args.path.clone()),
        package: args.package.clone(),
        profile: Some(args.profile.clone()),
        cargo_args,
        target_dir: args.target_dir.clone(),
    };
    let filter = cargo_build::locate(&request)?;
    let wasm_path = cargo_build::build(&filter, &request)?;
    let module = std::fs::read(&wasm_path)
        .with_context(|| format!("cannot read {}", wasm_path.display()))?;
    let info = check(&module, &wasm_path)?;
    let module = if args.no_opt {
        eprintln!("wasm-opt: skipped (--no-opt)");
        module
    } else {
        let cache = filter
            .target_dir
            .join(cargo_build::WASM_TARGET)
            .join("wasme-opt");
        match wasm_opt::optimize(&module, &info.features, &cache) {
            wasm_opt::Outcome::Optimized(out) => {
                let checked = ModuleInfo::parse(&out)?;
                checked
                    .check_filter()
                    .context("wasm-opt's output lost a required export")?;
                eprintln!("wasm-opt: {} -> {} bytes", module.len(), out.len());
                out
            }
            wasm_opt::Outcome::Skipped(why) => {
                eprintln!("wasm-opt: skipped: {why}");
                module
            }
        }
    };
    let root_ids = if args.image.root_ids.is_empty() {
        filter.root_ids.clone()
    } else {
        args.image.root_ids.clone()
    };
    let tag = args
        .image
        .tag
        .clone()
        .or(filter.tag.clone())
        .unwrap_or_else(|| format!("{}:{}", filter.name, filter.version));
    store(
        &module,
        &info.abi_versions,
        root_ids,
        args.image.format,
        &tag,
    )
}

fn check(module: &[u8], path: &Path) -> anyhow::Result<ModuleInfo> {
    let info = ModuleInfo::parse(module)
        .with_context(|| format!("{} is not a valid module", path.display()))?;
    info.check_filter()
        .with_context(|| format!("{} cannot be used as a proxy-wasm filter", path.display()))?;
    eprintln!(
        "module: {} ({} bytes, ABI {}, features: {})",
        path.display(),
        info.size,
        info.abi_versions.join(", "),
        if info.features.is_empty() {
            "none beyond MVP".to_string()
        } else {
            info.features.join(", ")
        }
    );
    Ok(info)
}

fn store(
    module: &[u8],
    abi: &[String],
    root_ids: Vec<String>,
    format: Format,
    tag: &str,
) -> anyhow::Result<ExitCode> {
    // Validate the tag before doing anything with the store.
    cargo_wasme::reference::parse(tag)?;
    let spec = ImageSpec::new(format, abi.to_vec(), root_ids).with_source_date_epoch();
    let built = image::build(module, &spec)?;
    let store = Store::open_default().context("cannot open the local store")?;
    let stored = store
        .add(tag, &built)
        .with_context(|| format!("cannot store {tag}"))?;
    eprintln!(
        "stored {} ({} format, {} bytes, root ids {})",
        stored.short_reference(),
        stored.format,
        stored.size,
        stored.root_ids.join(",")
    );
    println!("{}", stored.manifest_digest);
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme package`.
#[derive(Debug, clap::Args)]
pub struct PackageArgs {
    /// The module, built by any toolchain (C++, AssemblyScript, TinyGo, Rust, …).
    pub file: PathBuf,
    #[command(flatten)]
    pub image: ImageOptions,
}

/// Runs `cargo wasme package`.
pub fn package(args: PackageArgs) -> anyhow::Result<ExitCode> {
    let module = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let info = check(&module, &args.file)?;
    let stem = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("filter")
        .to_lowercase()
        .replace('_', "-");
    let tag = args
        .image
        .tag
        .clone()
        .unwrap_or_else(|| format!("{stem}:latest"));
    let root_ids = if args.image.root_ids.is_empty() {
        vec![stem.replace('-', "_")]
    } else {
        args.image.root_ids.clone()
    };
    store(
        &module,
        &info.abi_versions,
        root_ids,
        args.image.format,
        &tag,
    )
}
