//! `cargo wasme build` on real crates with real cargo builds (into `<workspace>/target/wasm`,
//! never the outer build's target directory).

use crate::support;

use std::path::{Path, PathBuf};
use support::{TestEnv, digest_in};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn wasm_target_dir() -> PathBuf {
    workspace().join("target").join("wasm")
}

fn build_cmd(env: &TestEnv, extra: &[&str]) -> std::process::Command {
    let mut cmd = env.cmd();
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(wasm_target_dir())
        .args(extra)
        // The outer build's settings must not leak into the wasm build.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    cmd
}

fn run(mut cmd: std::process::Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn builds_add_header_reproducibly_into_the_store() {
    let env = TestEnv::new();
    let (ok, stdout, stderr) = run(build_cmd(&env, &["-p", "add-header", "--locked"]));
    assert!(ok, "{stderr}");
    let digest = digest_in(&stdout);
    assert!(stderr.contains("ABI v0.2.1"), "{stderr}");
    assert!(stderr.contains("features:"), "{stderr}");
    assert!(
        stderr.contains("wasm-opt"),
        "reports what wasm-opt did: {stderr}"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "add-header:0.1.0", "--json"])).unwrap();
    assert_eq!(inspect["digest"], digest.as_str());
    assert_eq!(
        inspect["root_ids"][0], "add_header",
        "from [package.metadata.wasme]"
    );
    assert_eq!(inspect["format"], "compat");

    // A rebuild (another store, nothing changed) gives the byte-identical image.
    let other = TestEnv::new();
    let (ok, stdout2, stderr2) = run(build_cmd(&other, &["-p", "add-header"]));
    assert!(ok, "{stderr2}");
    assert_eq!(digest_in(&stdout2), digest);
    assert_eq!(
        std::fs::read(env.store().join("blobs/sha256").join(&digest[7..])).unwrap(),
        std::fs::read(other.store().join("blobs/sha256").join(&digest[7..])).unwrap()
    );

    // Options: tag, format, root id, no optimisation.
    let (ok, stdout3, stderr3) = run(build_cmd(
        &env,
        &[
            "-p",
            "add-header",
            "--tag",
            "127.0.0.1:5000/ah:dev",
            "--format",
            "solo",
            "--root-id",
            "custom",
            "--no-opt",
        ],
    ));
    assert!(ok, "{stderr3}");
    assert!(stderr3.contains("Skipped wasm-opt (--no-opt)"), "{stderr3}");
    assert_ne!(digest_in(&stdout3), digest);
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "127.0.0.1:5000/ah:dev", "--json"])).unwrap();
    assert_eq!(inspect["format"], "solo");
    assert_eq!(inspect["root_ids"][0], "custom");
}

#[test]
fn a_crate_that_is_not_a_cdylib_is_refused() {
    let env = TestEnv::new();
    let krate = env.dir.path().join("plain-lib");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"plain-lib\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(krate.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let mut cmd = env.cmd();
    cmd.arg("build")
        .arg(&krate)
        .arg("--target-dir")
        .arg(env.dir.path().join("target"));
    let (ok, _, stderr) = run(cmd);
    assert!(!ok);
    assert!(
        stderr.contains("not a cdylib") && stderr.contains("crate-type = [\"cdylib\"]"),
        "{stderr}"
    );
    assert!(!env.store().join("index.json").exists() || support::snapshot(&env.store()).len() <= 2);

    // An unknown package of a workspace names the members.
    let (ok, _, stderr) = run(build_cmd(&env, &["-p", "no-such-filter"]));
    assert!(!ok);
    assert!(
        stderr.contains("no package `no-such-filter`") && stderr.contains("add-header"),
        "{stderr}"
    );
    // A directory without a crate.
    let mut cmd = env.cmd();
    cmd.arg("build").arg(env.dir.path().join("nothing"));
    let (ok, _, stderr) = run(cmd);
    assert!(!ok);
    assert!(stderr.contains("cannot read the crate"), "{stderr}");
}

#[test]
fn a_module_without_abi_marker_is_refused() {
    // A cdylib that is not a proxy-wasm filter: builds, but fails the module check.
    let env = TestEnv::new();
    let krate = env.dir.path().join("not-a-filter");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"not-a-filter\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        krate.join("src/lib.rs"),
        "#[unsafe(no_mangle)]\npub extern \"C\" fn add(a: i32, b: i32) -> i32 { a + b }\n",
    )
    .unwrap();
    let mut cmd = env.cmd();
    cmd.arg("build")
        .arg(&krate)
        .arg("--target-dir")
        .arg(env.dir.path().join("target"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let (ok, _, stderr) = run(cmd);
    assert!(!ok);
    assert!(stderr.contains("ABI marker"), "{stderr}");
    let images: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert_eq!(images.as_array().unwrap().len(), 0);
}
