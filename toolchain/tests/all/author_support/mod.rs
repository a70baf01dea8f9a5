//! Shared helpers of the authoring-command tests (`author_*.rs`): run the real binary, find
//! the workspace, build real filters into `target/wasm`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("toolchain/ has a parent")
        .to_path_buf()
}

/// The tests' own cargo target directory: never the outer build's.
pub fn wasm_target_dir() -> PathBuf {
    workspace().join("target").join("wasm")
}

/// The target directory of the standalone crates `cargo wasme init` writes in the tests. Not
/// [`wasm_target_dir`]: a standalone crate's dependencies are built with other rustflags than
/// the workspace's (the remap of its own root is not in them), and cargo gives both builds the
/// same file names, so sharing one directory would make each rebuild the other's
/// dependencies (and a concurrent test that checks "nothing left to compile" fail).
pub fn init_target_dir() -> PathBuf {
    workspace().join("target").join("wasm-init")
}

/// `cargo-wasme` with `args`, run in `dir`. Filter crates it builds go to
/// [`wasm_target_dir`] (through `CARGO_TARGET_DIR`, which the build honours).
pub fn wasme_in(dir: &Path, args: &[&str]) -> Output {
    wasme_in_target(dir, args, &wasm_target_dir())
}

/// [`wasme_in`] building into `target_dir`.
pub fn wasme_in_target(dir: &Path, args: &[&str], target_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-wasme"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("cargo-wasme runs")
}

/// `cargo-wasme` with `args`, run in the workspace root.
pub fn wasme(args: &[&str]) -> Output {
    wasme_in(&workspace(), args)
}

/// stdout and stderr as text, for assertions and failure messages.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The add-header filter, freshly built for wasm32-wasip1 into target/wasm.
pub fn add_header_wasm() -> PathBuf {
    wasme_harness::build::build_filter(workspace().join("filters/add-header"), None)
        .expect("add-header builds")
}
