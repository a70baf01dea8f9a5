//! Building a filter crate for `wasm32-wasip1` with cargo: finding the crate
//! (`cargo_metadata`), checking it is a `cdylib`, making sure the target is installed, running
//! cargo with the user's flags, and reading `[package.metadata.wasme]`.
//!
//! ```no_run
//! use cargo_wasme::cargo_build::{BuildRequest, locate, build};
//! let request = BuildRequest { path: Some(".".into()), ..Default::default() };
//! let filter = locate(&request)?;
//! let wasm = build(&filter, &request)?;
//! println!("{} {} -> {}", filter.name, filter.version, wasm.display());
//! # Ok::<(), cargo_wasme::cargo_build::CargoBuildError>(())
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Rust target filters are built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";

/// Why a filter crate could not be found or built.
#[derive(Debug, thiserror::Error)]
pub enum CargoBuildError {
    /// `cargo metadata` failed.
    #[error("cannot read the crate at {path}: {message}")]
    Metadata {
        /// Where we looked.
        path: PathBuf,
        /// What cargo said.
        message: String,
    },
    /// No package matched.
    #[error("{0}")]
    NoPackage(String),
    /// The crate is not a cdylib.
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
    /// The target is missing and cannot be installed.
    #[error("the {WASM_TARGET} target is not installed and {0}")]
    Target(String),
    /// cargo could not be started.
    #[error("cannot run cargo ({0}); is Rust installed and `cargo` on PATH?")]
    Spawn(String),
    /// The compilation failed.
    #[error(
        "`cargo build --target {WASM_TARGET}` failed for {0} (the compiler's messages are above)"
    )]
    Failed(String),
    /// The build produced no module.
    #[error("cargo built no .wasm for {0}; is its [lib] crate-type \"cdylib\"?")]
    NoModule(String),
}

/// What to build and how.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// A crate directory or Cargo.toml (default: the current directory).
    pub path: Option<PathBuf>,
    /// A package of the workspace (`-p`).
    pub package: Option<String>,
    /// The cargo profile (default `release`).
    pub profile: Option<String>,
    /// Extra cargo arguments, passed through (`--locked`, `--offline`, `--features x`, …).
    pub cargo_args: Vec<String>,
    /// `--target-dir`, when given.
    pub target_dir: Option<PathBuf>,
}

/// A filter crate found by [`locate`].
#[derive(Debug, Clone)]
pub struct FilterCrate {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Its Cargo.toml.
    pub manifest_path: PathBuf,
    /// Root ids from `[package.metadata.wasme] root-ids` (default: the crate name in snake case).
    pub root_ids: Vec<String>,
    /// The image reference from `[package.metadata.wasme] tag`, when set.
    pub tag: Option<String>,
    /// The target directory cargo will use.
    pub target_dir: PathBuf,
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn manifest_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("Cargo.toml")
    } else {
        path.to_path_buf()
    }
}

/// Finds the filter crate `request` names and checks it is a `cdylib`.
pub fn locate(request: &BuildRequest) -> Result<FilterCrate, CargoBuildError> {
    let manifest = manifest_of(request.path.as_deref().unwrap_or(Path::new(".")));
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let metadata = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .map_err(|e| CargoBuildError::Metadata {
            path: manifest.clone(),
            message: e.to_string().trim().to_string(),
        })?;
    let members: Vec<&cargo_metadata::Package> = metadata.workspace_packages();
    let package = match &request.package {
        Some(name) => members
            .iter()
            .find(|p| p.name.as_str() == name)
            .copied()
            .ok_or_else(|| {
                CargoBuildError::NoPackage(format!(
                    "no package `{name}` in the workspace at {}; members: {}",
                    metadata.workspace_root,
                    members
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        None => members
            .iter()
            .find(|p| p.manifest_path.as_std_path() == manifest)
            .copied()
            .or_else(|| metadata.root_package())
            .ok_or_else(|| {
                CargoBuildError::NoPackage(format!(
                    "{} is a virtual workspace: name the filter with -p (one of: {})",
                    manifest.display(),
                    members
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
    };
    let manifest_path = package.manifest_path.clone().into_std_path_buf();
    let is_cdylib = package
        .targets
        .iter()
        .any(|t| t.crate_types.contains(&cargo_metadata::CrateType::CDyLib));
    if !is_cdylib {
        return Err(CargoBuildError::NotCdylib {
            package: package.name.to_string(),
            manifest: manifest_path,
        });
    }
    let meta = package.metadata.get("wasme");
    let bad = |message: String| CargoBuildError::BadMetadata {
        manifest: manifest_path.clone(),
        message,
    };
    let root_ids = match meta.and_then(|m| m.get("root-ids").or_else(|| m.get("root_ids"))) {
        None => vec![package.name.replace('-', "_")],
        Some(v) => v
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| bad("`root-ids` must be an array of strings".into()))?,
    };
    let tag = match meta.and_then(|m| m.get("tag")) {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| bad("`tag` must be a string".into()))?
                .to_string(),
        ),
    };
    Ok(FilterCrate {
        name: package.name.to_string(),
        version: package.version.to_string(),
        manifest_path,
        root_ids,
        tag,
        target_dir: request
            .target_dir
            .clone()
            .unwrap_or_else(|| metadata.target_directory.clone().into_std_path_buf()),
    })
}

/// True when the toolchain of `$CARGO` (set when we run as `cargo wasme`, and the cargo we
/// build with) ships the target's standard library. This check spawns nothing, so a no-op
/// rebuild does not pay for a `rustup target list` (~50 ms) each time.
fn target_in_cargo_sysroot() -> bool {
    std::env::var_os("CARGO").is_some_and(|cargo| target_in_sysroot_of(Path::new(&cargo)))
}

/// True when the toolchain `cargo` (`<sysroot>/bin/cargo`, symlinks resolved) belongs to has
/// `<sysroot>/lib/rustlib/wasm32-wasip1/lib`.
fn target_in_sysroot_of(cargo: &Path) -> bool {
    cargo
        .canonicalize()
        .ok()
        .and_then(|c| Some(c.parent()?.parent()?.to_path_buf()))
        .is_some_and(|sysroot| {
            sysroot
                .join("lib/rustlib")
                .join(WASM_TARGET)
                .join("lib")
                .is_dir()
        })
}

/// Makes sure the `wasm32-wasip1` target is installed, running `rustup target add` when it is
/// missing.
pub fn ensure_target() -> Result<(), CargoBuildError> {
    if target_in_cargo_sysroot() {
        return Ok(());
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if out.status.success() => {
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET)
            {
                return Ok(());
            }
            eprintln!("installing the {WASM_TARGET} target (rustup target add {WASM_TARGET})");
            let status = Command::new("rustup")
                .args(["target", "add", WASM_TARGET])
                .status()
                .map_err(|e| {
                    CargoBuildError::Target(format!("`rustup target add` could not run: {e}"))
                })?;
            if status.success() {
                Ok(())
            } else {
                Err(CargoBuildError::Target(format!(
                    "`rustup target add {WASM_TARGET}` failed ({status}); run it yourself and look at its output"
                )))
            }
        }
        _ => {
            // No rustup: accept a toolchain that ships the target's standard library.
            let sysroot = Command::new("rustc")
                .args(["--print", "sysroot"])
                .output()
                .ok();
            let has_std = sysroot
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
                .is_some_and(|root| root.join("lib/rustlib").join(WASM_TARGET).is_dir());
            if has_std {
                Ok(())
            } else {
                Err(CargoBuildError::Target(format!(
                    "rustup is not available to install it: install rustup (https://rustup.rs) and run \
                     `rustup target add {WASM_TARGET}`, or install your distribution's {WASM_TARGET} standard library"
                )))
            }
        }
    }
}

/// Builds `filter` and returns the path of its `.wasm`.
pub fn build(filter: &FilterCrate, request: &BuildRequest) -> Result<PathBuf, CargoBuildError> {
    ensure_target()?;
    let profile = request.profile.as_deref().unwrap_or("release");
    let mut cmd = Command::new(cargo());
    cmd.args([
        "build",
        "--target",
        WASM_TARGET,
        "--message-format=json-render-diagnostics",
    ])
    .arg("--profile")
    .arg(profile)
    .arg("--manifest-path")
    .arg(&filter.manifest_path)
    .arg("-p")
    .arg(&filter.name)
    .args(&request.cargo_args)
    .env_remove("CARGO_BUILD_TARGET")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if let Some(dir) = &request.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    let output = cmd
        .output()
        .map_err(|e| CargoBuildError::Spawn(e.to_string()))?;
    if !output.status.success() {
        return Err(CargoBuildError::Failed(filter.name.clone()));
    }
    let lib_name = filter.name.replace('-', "_");
    cargo_metadata::Message::parse_stream(output.stdout.as_slice())
        .flatten()
        .filter_map(|m| match m {
            cargo_metadata::Message::CompilerArtifact(a)
                if a.target.name.replace('-', "_") == lib_name =>
            {
                a.filenames
                    .into_iter()
                    .find(|f| f.extension() == Some("wasm"))
            }
            _ => None,
        })
        .last()
        .map(|f| f.into_std_path_buf())
        .ok_or_else(|| CargoBuildError::NoModule(filter.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_found_in_the_sysroot_of_the_cargo_that_runs_us() {
        let dir = tempfile::tempdir().unwrap();
        let cargo = dir.path().join("bin/cargo");
        std::fs::create_dir_all(cargo.parent().unwrap()).unwrap();
        std::fs::write(&cargo, "").unwrap();
        assert!(!target_in_sysroot_of(&cargo), "no target library yet");
        std::fs::create_dir_all(dir.path().join("lib/rustlib").join(WASM_TARGET).join("lib"))
            .unwrap();
        assert!(target_in_sysroot_of(&cargo));
        // A cargo that does not exist (or a rustup proxy elsewhere) never counts.
        assert!(!target_in_sysroot_of(&dir.path().join("nowhere/bin/cargo")));
    }
}
