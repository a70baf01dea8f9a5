//! Building a filter crate into a `.wasm` module from a test.
//!
//! A filter author's `#[test]` should load the real module, freshly built from the crate it
//! tests. [`build_filter`] runs `cargo build --release --target wasm32-wasip1` for a crate into
//! a target directory of its own (`<workspace>/target/wasm`): running cargo from a test against
//! the outer build's target directory would deadlock on cargo's lock. Builds are memoised per
//! process, so parallel tests build a crate once; cargo's own lock serialises separate
//! processes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

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
    /// cargo could not be started.
    #[error("cannot run cargo ({0}); is Rust installed and `cargo` on PATH?")]
    Spawn(String),
    /// The build failed; cargo's diagnostics were printed to stderr.
    #[error(
        "`cargo build --target {target}` failed for {package} (see the compiler output above; \
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
}

/// Builds by (manifest, package, target).
type Memo =
    Mutex<HashMap<(PathBuf, Option<String>, String), Arc<OnceLock<Result<PathBuf, BuildError>>>>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// Builds the filter crate at `crate_dir` (a directory holding `Cargo.toml`, or the manifest
/// itself) for `wasm32-wasip1` in release mode and returns the path of the `.wasm` file.
///
/// `package` selects one package of a workspace; `None` builds the crate at `crate_dir`.
/// The module lands in `<workspace root>/target/wasm/wasm32-wasip1/release/`.
///
/// ```no_run
/// let wasm = wasme_harness::build::build_filter(env!("CARGO_MANIFEST_DIR"), None)?;
/// assert!(wasm.extension().is_some_and(|e| e == "wasm"));
/// # Ok::<(), wasme_harness::build::BuildError>(())
/// ```
pub fn build_filter(
    crate_dir: impl AsRef<Path>,
    package: Option<&str>,
) -> Result<PathBuf, BuildError> {
    build_filter_for(crate_dir, package, WASM_TARGET)
}

/// [`build_filter`] for another Rust target, e.g. `wasm32-unknown-unknown` to check that a
/// filter without WASI imports loads too. The module lands in
/// `<workspace root>/target/wasm/<target>/release/`.
pub fn build_filter_for(
    crate_dir: impl AsRef<Path>,
    package: Option<&str>,
    target: &str,
) -> Result<PathBuf, BuildError> {
    let manifest = manifest_path(crate_dir.as_ref());
    let key = (
        manifest.clone(),
        package.map(str::to_owned),
        target.to_owned(),
    );
    let cell = {
        let mut map = memo()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key).or_default().clone()
    };
    cell.get_or_init(|| build_uncached(&manifest, package, target))
        .clone()
}

fn manifest_path(path: &Path) -> PathBuf {
    let manifest = if path.is_dir() {
        path.join("Cargo.toml")
    } else {
        path.to_path_buf()
    };
    // cargo reports canonical paths; compare like with like.
    manifest.canonicalize().unwrap_or(manifest)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn build_uncached(
    manifest: &Path,
    package: Option<&str>,
    target: &str,
) -> Result<PathBuf, BuildError> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .map_err(|e| BuildError::Metadata {
            path: manifest.to_path_buf(),
            message: e.to_string(),
        })?;
    let package_name = match package {
        Some(p) => p.to_string(),
        None => metadata
            .packages
            .iter()
            .find(|p| p.manifest_path.as_std_path() == manifest)
            .or_else(|| metadata.root_package())
            .map(|p| p.name.to_string())
            .ok_or_else(|| BuildError::Metadata {
                path: manifest.to_path_buf(),
                message: "it is a virtual workspace manifest: name a package".into(),
            })?,
    };
    let target_dir = metadata
        .workspace_root
        .as_std_path()
        .join("target")
        .join("wasm");

    let mut cmd = Command::new(cargo());
    cmd.args([
        "build",
        "--release",
        "--target",
        target,
        "--message-format=json-render-diagnostics",
    ])
    .arg("--manifest-path")
    .arg(manifest)
    .arg("-p")
    .arg(&package_name)
    .arg("--target-dir")
    .arg(&target_dir)
    // The outer build's settings must not leak into the wasm build.
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET")
    .env_remove("RUSTFLAGS")
    .env_remove("CARGO_ENCODED_RUSTFLAGS")
    .env_remove("CARGO_LLVM_COV")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let output = cmd.output().map_err(|e| BuildError::Spawn(e.to_string()))?;
    if !output.status.success() {
        return Err(BuildError::Failed {
            package: package_name,
            target: target.to_owned(),
        });
    }
    let mut wasm = None;
    for message in cargo_metadata::Message::parse_stream(output.stdout.as_slice()).flatten() {
        if let cargo_metadata::Message::CompilerArtifact(artifact) = message
            && artifact.target.name.replace('-', "_") == package_name.replace('-', "_")
            && let Some(file) = artifact
                .filenames
                .iter()
                .find(|f| f.extension() == Some("wasm"))
        {
            wasm = Some(file.clone().into_std_path_buf());
        }
    }
    wasm.ok_or(BuildError::NoModule {
        package: package_name,
    })
}
