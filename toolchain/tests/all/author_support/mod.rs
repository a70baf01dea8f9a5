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

/// `cargo-wasme` with `args`, run in `dir`.
pub fn wasme_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-wasme"))
        .args(args)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
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
