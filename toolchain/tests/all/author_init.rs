//! `cargo wasme init`: the generated projects build for wasm32-wasip1 and their scenarios pass
//! through `cargo wasme test` — the real binary, a real cargo build, the real harness.

use crate::author_support;

use author_support::{init_target_dir, text, wasme, wasme_in_target};
use std::path::{Path, PathBuf};

/// A fresh project directory. Its builds go to the target directory of the tests' generated
/// projects ([`init_target_dir`], through `CARGO_TARGET_DIR`), shared by both templates, so
/// their dependencies are compiled once.
fn project_dir(tmp: &Path, template: &str) -> PathBuf {
    let dir = tmp.join(format!("demo-{template}"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn init_build_and_test(template: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project_dir(tmp.path(), template);
    let out = wasme(&[
        "init",
        dir.to_str().unwrap(),
        "--template",
        template,
        "--yes",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for f in [
        "Cargo.toml",
        "src/lib.rs",
        "tests/filter.rs",
        "scenarios/basic.yaml",
        "scenarios/bad-config.yaml",
        ".gitignore",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing; stdout:\n{stdout}");
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"demo-"), "{manifest}");
    assert!(manifest.contains("wasme-sdk = { path ="), "{manifest}");
    // Dependencies by version, pointed at this checkout by a [patch] section.
    assert!(
        manifest.contains("wasme-sdk = { version = \"0.1.0\", features = [\"schema\"] }"),
        "{manifest}"
    );
    assert!(manifest.contains("[patch.crates-io]"), "{manifest}");

    // `cargo wasme test` with no arguments: builds the crate for wasm32-wasip1 (release) and
    // runs both scenario files against the module.
    let out = wasme_in_target(&dir, &["test"], &init_target_dir());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("2 of 2 scenario(s) passed"), "{stdout}");
    // Into CARGO_TARGET_DIR, which `cargo wasme` honours.
    let wasm = init_target_dir()
        .join("wasm32-wasip1/release")
        .join(format!("demo_{template}.wasm"));
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    // The module that ships names no path of this machine: the project's root is remapped
    // (on the crate's own command line, so the dependencies are shared with other projects).
    let shipped = wasm
        .parent()
        .unwrap()
        .join("wasme")
        .join(wasm.file_name().unwrap());
    let bytes = std::fs::read(&shipped).unwrap();
    let root = dir.canonicalize().unwrap().display().to_string();
    assert!(
        !bytes.windows(root.len()).any(|w| w == root.as_bytes()),
        "{} embeds {root}",
        shipped.display()
    );

    // A plain `cargo test` runs the unit tests natively without compiling wasmtime (the harness
    // tests are behind `--features harness`), so a newcomer's first `cargo test` takes seconds.
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", init_target_dir())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let unit_tests = if template == "http" {
        "2 passed"
    } else {
        "1 passed"
    };
    assert!(
        stdout.contains(unit_tests),
        "the unit tests must run:\n{stdout}"
    );
    assert!(!stderr.contains("Compiling wasmtime"), "{stderr}");

    // A behaviour change in the filter makes its scenario fail: the scenario really checks it.
    let lib = dir.join("src/lib.rs");
    let code = std::fs::read_to_string(&lib).unwrap();
    let broken = match template {
        "http" => code.replace("headers.set(&self.config.header, &self.config.value);", ""),
        _ => code.replace("cx.close();", ""),
    };
    assert_ne!(broken, code, "the mutation must change the filter");
    std::fs::write(&lib, broken).unwrap();
    let out = wasme_in_target(&dir, &["test", "scenarios/basic.yaml"], &init_target_dir());
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
}

#[test]
fn http_project_builds_and_its_scenarios_pass() {
    init_build_and_test("http");
}

#[test]
fn network_project_builds_and_its_scenarios_pass() {
    init_build_and_test("network");
}

#[test]
fn refuses_a_non_empty_directory_and_bad_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    let out = wasme(&["init", dir.to_str().unwrap(), "--yes"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let out = wasme(&["init", tmp.path().join("9bad").to_str().unwrap(), "--yes"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("invalid crate name \"9bad\""), "{stderr}");
    assert!(!tmp.path().join("9bad").exists());
}

#[test]
fn without_a_terminal_missing_choices_take_defaults() {
    // stdin is not a terminal in tests: no prompt, the http template.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("quiet");
    let out = wasme(&["init", dir.to_str().unwrap(), "--name", "quiet-one"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Created http filter project"), "{stderr}");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("impl HttpFilter for QuietOne"), "{lib}");
}
