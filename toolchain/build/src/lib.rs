//! The module stage of the one build pipeline: a filter crate → cargo (through
//! `cargo_metadata`'s message stream) → module checks → optimisation → the final module bytes.
//!
//! Everything that builds a filter calls [`build_module`]: `cargo wasme build`, `package`,
//! `test` and `run` (through the toolchain's `build::build_image`, which adds the image and
//! store stages), and the test helpers [`build_filter`] / [`build_filter_for`] that filter
//! authors call from `#[test]`. So a test loads exactly the bytes `cargo wasme build` stores.
//!
//! What makes the module small is applied here, not in the user's `Cargo.toml`: for the
//! `release` profile the build passes `--config` overrides (`opt-level = "z"`, LTO, one codegen
//! unit, `panic = "abort"`, symbols stripped), then runs binaryen's `wasm-opt -Oz` when it is
//! installed, then drops the custom sections Envoy never reads (keeping `name` only with
//! [`BuildOptions::debug_names`]). Another `--profile` is used exactly as the user wrote it.
//! What ran (rustc and wasm-opt versions, profile) is in [`BuiltModule::record`], which the
//! toolchain writes into the image.
//!
//! Test helpers build into a target directory of their own (`<workspace>/target/wasm`, see
//! [`BuildOptions::isolated`]): running cargo from a test against the outer build's target
//! directory would deadlock on cargo's lock. Builds are memoised per process, so parallel
//! tests build a crate once; cargo's own lock serialises separate processes.

#![deny(missing_docs)]

pub mod cargo;
mod lang;
pub mod module_info;
pub mod optimize;
pub mod project;
pub mod schema;

pub use cargo::FilterCrate;
pub use lang::{C_PACKAGES, CPP_PACKAGES};
pub use optimize::OptOutcome;
pub use project::{Language, PROJECT_FILE, Project};
pub use schema::SchemaSource;

use module_info::ModuleInfo;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The Rust target filters are built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";

/// Why a filter could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// `cargo metadata` failed (no Cargo.toml there, or a broken one).
    #[error("cannot read the crate at {path}: {message}")]
    Metadata {
        /// The manifest that was read.
        path: PathBuf,
        /// What cargo said.
        message: String,
    },
    /// No package of the workspace matched; the message names the members.
    #[error("{0}")]
    NoPackage(String),
    /// The crate is not a cdylib, so it builds no module.
    #[error(
        "{package} is not a cdylib, so it builds no .wasm module: add\n\n    [lib]\n    crate-type = [\"cdylib\"]\n\nto {manifest}"
    )]
    NotCdylib {
        /// The package.
        package: String,
        /// Its Cargo.toml.
        manifest: PathBuf,
    },
    /// `[package.metadata.wasme]` is malformed.
    #[error("[package.metadata.wasme] in {manifest} is invalid: {message}")]
    BadMetadata {
        /// The Cargo.toml.
        manifest: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The Rust target is missing and cannot be installed.
    #[error("the {target} target is not installed: {why}")]
    Target {
        /// The target.
        target: String,
        /// Why it could not be installed.
        why: String,
    },
    /// cargo could not be started.
    #[error("cannot run cargo ({0}); is Rust installed and `cargo` on PATH?")]
    Spawn(String),
    /// The build failed; cargo's diagnostics were printed to stderr.
    #[error(
        "the cargo build of {package} for {target} failed (see the compiler output above; \
         if the target is missing run `rustup target add {target}`)"
    )]
    Failed {
        /// The package that failed.
        package: String,
        /// The Rust target it was built for.
        target: String,
    },
    /// The build succeeded but produced no `.wasm` (the crate is not a `cdylib`).
    #[error(
        "{package} built no .wasm file: add `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml"
    )]
    NoModule {
        /// The package that was built.
        package: String,
    },
    /// The module is not a valid proxy-wasm filter.
    #[error("{path} cannot be used as a proxy-wasm filter: {message}")]
    Module {
        /// The module file.
        path: PathBuf,
        /// What the check found.
        message: String,
    },
    /// A directory of another toolchain has no `wasme.toml` saying how to build it.
    #[error(
        "{dir} has a {marker} but no wasme.toml, so wasme does not know how to build it: \
         create {dir}/wasme.toml, for example\n\n{example}\n(or run `cargo wasme init DIR \
         --language c|cpp|assemblyscript` for a complete project)",
        dir = dir.display()
    )]
    NoProjectFile {
        /// The project directory.
        dir: PathBuf,
        /// The file that marks it as another toolchain's.
        marker: String,
        /// A `wasme.toml` to start from.
        example: String,
    },
    /// `wasme.toml` is malformed.
    #[error("{path}: {message}")]
    BadProjectFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line and column.
        message: String,
    },
    /// A tool the project's language needs is not installed.
    #[error("`{tool}` is needed to build this {language} filter but is not installed: {install}")]
    MissingTool {
        /// The program or library.
        tool: String,
        /// The project's language.
        language: String,
        /// How to install it (the Debian or npm package).
        install: String,
    },
    /// The compiler (or npm) of a non-Rust project failed; its output was printed to stderr.
    #[error("{what} failed for the project at {project} (see its output above)")]
    ToolFailed {
        /// The command.
        what: String,
        /// The project directory.
        project: PathBuf,
    },
    /// A request the project's toolchain cannot honour.
    #[error("{0}")]
    Unsupported(String),
    /// Reading or writing a module file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
}

/// What to build and how: cargo's own flags, plus the optimiser's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BuildOptions {
    /// A crate directory or Cargo.toml (default: the current directory).
    pub path: Option<PathBuf>,
    /// A package of the workspace (`-p`).
    pub package: Option<String>,
    /// The cargo profile (default `release`, which gets the size settings).
    pub profile: Option<String>,
    /// `--target-dir` (default: cargo's, which honours `CARGO_TARGET_DIR`; for an
    /// [`isolated`](Self::isolated) build `<workspace>/target/wasm`).
    pub target_dir: Option<PathBuf>,
    /// `--features` values (space or comma separated, as cargo takes them).
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--locked`.
    pub locked: bool,
    /// `--offline`.
    pub offline: bool,
    /// `--frozen`.
    pub frozen: bool,
    /// More cargo arguments, passed through.
    pub cargo_args: Vec<String>,
    /// The Rust target (default [`WASM_TARGET`]).
    pub target: String,
    /// Run wasm-opt when it is installed (default true).
    pub optimize: bool,
    /// Keep the `name` section (function names in traps and profiles).
    pub debug_names: bool,
    /// A build from inside a test or another cargo build: the outer build's
    /// `CARGO_TARGET_DIR`, `RUSTFLAGS` and target do not leak in, and the default target
    /// directory is `<workspace>/target/wasm`.
    pub isolated: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            path: None,
            package: None,
            profile: None,
            target_dir: None,
            features: Vec::new(),
            all_features: false,
            no_default_features: false,
            locked: false,
            offline: false,
            frozen: false,
            cargo_args: Vec::new(),
            target: WASM_TARGET.to_string(),
            optimize: true,
            debug_names: false,
            isolated: false,
        }
    }
}

impl BuildOptions {
    /// The cargo profile built.
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or("release")
    }

    /// Whether the size settings are passed to cargo (the `release` profile only).
    pub fn size_profile(&self) -> bool {
        self.profile_name() == "release"
    }
}

/// What ran to make a module: recorded in the image so two digests can be explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRecord {
    /// The language of the source.
    pub language: Language,
    /// The compiler's version: the first line of `rustc -vV` (e.g. `rustc 1.95.0 (59807616e
    /// 2026-04-14)`), of `clang --version`, or the installed `assemblyscript` and SDK versions.
    pub compiler: String,
    /// `wasm-opt --version` when wasm-opt ran, `None` when it did not.
    pub wasm_opt: Option<String>,
    /// The cargo profile.
    pub profile: String,
}

/// A built, checked, optimised module.
#[derive(Debug, Clone)]
pub struct BuiltModule {
    /// The crate it was built from.
    pub filter: FilterCrate,
    /// The final module file (`<target>/<triple>/<profile>/wasme/<lib>.wasm`;
    /// `wasme-unoptimized/` when wasm-opt did not run, `-names` with the name section).
    pub path: PathBuf,
    /// The file cargo wrote, before optimisation.
    pub cargo_output: PathBuf,
    /// The final module bytes: what is tested, stored, pushed and deployed.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of [`bytes`](Self::bytes).
    pub digest: String,
    /// What the module is (ABI, features, imports, exports).
    pub info: ModuleInfo,
    /// What the optimiser did.
    pub optimization: OptOutcome,
    /// What ran.
    pub record: BuildRecord,
    /// Where the module's configuration schema is read from, when it carries one (the
    /// [`schema`] export, already removed from [`bytes`](Self::bytes), or custom section).
    pub config_schema: Option<SchemaSource>,
    /// Time spent in the compiler (cargo, clang, npm + asc).
    pub cargo_time: Duration,
    /// Time spent checking and optimising.
    pub optimize_time: Duration,
}

/// `sha256` of `bytes`, lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

type Memo = Mutex<HashMap<BuildOptions, Arc<OnceLock<Result<BuiltModule, BuildError>>>>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// Runs the module stage: cargo, module checks, optimisation. Memoised per process by
/// `options`, so one command (or one test binary) builds a module once.
///
/// ```no_run
/// use wasme_build::{BuildOptions, build_module};
/// let built = build_module(&BuildOptions {
///     path: Some("filters/add-header".into()),
///     ..BuildOptions::default()
/// })?;
/// println!("{} {} bytes {}", built.filter.name, built.bytes.len(), built.digest);
/// # Ok::<(), wasme_build::BuildError>(())
/// ```
pub fn build_module(options: &BuildOptions) -> Result<BuiltModule, BuildError> {
    let mut key = options.clone();
    if let Some(p) = &key.path {
        key.path = Some(p.canonicalize().unwrap_or_else(|_| p.clone()));
    }
    let cell = {
        let mut map = memo()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key.clone()).or_default().clone()
    };
    cell.get_or_init(|| build_uncached(&key)).clone()
}

fn check(bytes: &[u8], path: &Path) -> Result<ModuleInfo, BuildError> {
    let bad = |message: String| BuildError::Module {
        path: path.to_path_buf(),
        message,
    };
    let info = ModuleInfo::parse(bytes).map_err(|e| bad(e.to_string()))?;
    info.check_filter().map_err(|e| bad(e.to_string()))?;
    Ok(info)
}

/// The warning printed when wasm-opt is missing: what it changes.
pub const NO_WASM_OPT_WARNING: &str = "warning: wasm-opt (binaryen) is not installed, so the \
module is not optimised: it is larger (add-header: 120 KB instead of 99 KB) and its digest differs from a \
build where wasm-opt ran (the image records `wasmOpt: none`). Install it: apt-get install \
binaryen, or set WASM_OPT=/path/to/wasm-opt";

/// The project's compile stage: cargo for a Rust crate, the language's toolchain for a
/// project with a `wasme.toml`. Returns the project, the compiler's output and version.
fn compile(options: &BuildOptions) -> Result<(FilterCrate, PathBuf, String), BuildError> {
    let path = options.path.as_deref().unwrap_or(Path::new("."));
    let Some(project) = project::detect(path)? else {
        let filter = cargo::locate(options)?;
        let output = cargo::build(&filter, options)?;
        let compiler = cargo::rustc_version(&filter.workspace_root);
        return Ok((filter, output, compiler));
    };
    if let Some(package) = &options.package {
        return Err(BuildError::Unsupported(format!(
            "-p {package}: {} is a {} project (wasme.toml), not a cargo workspace",
            project.dir.display(),
            project.file.language.display_name()
        )));
    }
    let target_dir = options
        .target_dir
        .clone()
        .unwrap_or_else(|| project.dir.join("target"));
    let filter = FilterCrate {
        name: project.file.name.clone(),
        version: project.file.version.clone(),
        manifest_path: project.dir.join(PROJECT_FILE),
        workspace_root: project.dir.clone(),
        root_ids: project.root_ids(),
        tag: project.file.tag.clone(),
        target_dir: target_dir.clone(),
        language: project.file.language,
        only_member: true,
    };
    let compiled = lang::build(&project, options, &target_dir)?;
    Ok((filter, compiled.output, compiled.compiler))
}

fn build_uncached(options: &BuildOptions) -> Result<BuiltModule, BuildError> {
    let started = Instant::now();
    let (filter, cargo_output, compiler) = compile(options)?;
    let cargo_time = started.elapsed();
    let started = Instant::now();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| BuildError::Io {
            path,
            message: e.to_string(),
        }
    };
    let raw = std::fs::read(&cargo_output).map_err(io(&cargo_output))?;
    let info = check(&raw, &cargo_output)?;
    // The schema export is removed before wasm-opt, which then drops what only it reached.
    let (raw, config_schema) = schema::take(raw).map_err(|message| BuildError::Module {
        path: cargo_output.clone(),
        message,
    })?;
    let wasm_opt = options.optimize.then(optimize::find_wasm_opt).flatten();
    let (optimized, optimization, wasm_opt_version) = match (&wasm_opt, options.optimize) {
        (_, false) => (raw.clone(), OptOutcome::Disabled, None),
        (None, true) => {
            eprintln!("{NO_WASM_OPT_WARNING}");
            (
                raw.clone(),
                OptOutcome::Skipped("wasm-opt is not installed".into()),
                None,
            )
        }
        (Some(bin), true) => {
            let cache = filter.target_dir.join(&options.target).join("wasme-opt");
            match optimize::run_wasm_opt(bin, &raw, &info, options.debug_names, &cache) {
                Ok(out) => (
                    out.clone(),
                    OptOutcome::Optimized {
                        before: raw.len() as u64,
                        after: out.len() as u64,
                    },
                    optimize::wasm_opt_version(bin),
                ),
                Err(why) => {
                    eprintln!("warning: {why}; the module is stored unoptimised");
                    (raw.clone(), OptOutcome::Skipped(why), None)
                }
            }
        }
    };
    // One directory per kind of result, so a file's bytes change only with the source or the
    // tools, and concurrent builds of other variants never rewrite what a test is loading.
    let mut variant = String::from("wasme");
    if !matches!(optimization, OptOutcome::Optimized { .. }) {
        variant.push_str("-unoptimized");
    }
    if options.debug_names {
        variant.push_str("-names");
    }
    let out_dir = cargo_output
        .parent()
        .unwrap_or(Path::new("."))
        .join(variant);
    let file_name = cargo_output
        .file_name()
        .map_or_else(|| "module.wasm".into(), |n| n.to_os_string());
    let path = out_dir.join(file_name);
    let bytes = optimize::strip_custom_sections(&optimized, options.debug_names).map_err(|m| {
        BuildError::Module {
            path: path.clone(),
            message: m,
        }
    })?;
    let info = check(&bytes, &path)?;
    if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
        // Write and rename: another process loading the file sees the old or the new module,
        // never half of one.
        std::fs::create_dir_all(&out_dir).map_err(io(&out_dir))?;
        let partial = out_dir.join(format!(".{}.partial", std::process::id()));
        std::fs::write(&partial, &bytes).map_err(io(&partial))?;
        std::fs::rename(&partial, &path).map_err(io(&path))?;
    }
    let record = BuildRecord {
        language: filter.language,
        compiler,
        wasm_opt: wasm_opt_version,
        profile: options.profile_name().to_string(),
    };
    Ok(BuiltModule {
        digest: format!("sha256:{}", sha256_hex(&bytes)),
        filter,
        path,
        cargo_output,
        bytes,
        info,
        optimization,
        record,
        config_schema,
        cargo_time,
        optimize_time: started.elapsed(),
    })
}

/// Builds the filter crate at `crate_dir` (a directory holding `Cargo.toml`, or the manifest
/// itself) for `wasm32-wasip1` through the whole module stage and returns the path of the
/// final module: the bytes `cargo wasme build` stores.
///
/// `package` selects one package of a workspace; `None` builds the crate at `crate_dir`.
/// The build is [isolated](BuildOptions::isolated): it lands in
/// `<workspace root>/target/wasm/wasm32-wasip1/release/wasme/`.
///
/// ```no_run
/// let wasm = wasme_build::build_filter(env!("CARGO_MANIFEST_DIR"), None)?;
/// assert!(wasm.extension().is_some_and(|e| e == "wasm"));
/// # Ok::<(), wasme_build::BuildError>(())
/// ```
pub fn build_filter(
    crate_dir: impl AsRef<Path>,
    package: Option<&str>,
) -> Result<PathBuf, BuildError> {
    build_filter_for(crate_dir, package, WASM_TARGET)
}

/// [`build_filter`] for another Rust target, e.g. `wasm32-unknown-unknown` to check that a
/// filter without WASI imports loads too. The module lands in
/// `<workspace root>/target/wasm/<target>/release/wasme/`.
pub fn build_filter_for(
    crate_dir: impl AsRef<Path>,
    package: Option<&str>,
    target: &str,
) -> Result<PathBuf, BuildError> {
    let built = build_module(&BuildOptions {
        path: Some(crate_dir.as_ref().to_path_buf()),
        package: package.map(str::to_owned),
        target: target.to_owned(),
        isolated: true,
        ..BuildOptions::default()
    })?;
    Ok(built.path)
}

/// The first line of what `command` prints on success, trimmed (a tool's version line); `None`
/// when it cannot run or fails.
fn first_output_line(mut command: std::process::Command) -> Option<String> {
    let out = command.output().ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}
