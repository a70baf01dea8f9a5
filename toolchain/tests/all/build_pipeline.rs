//! The one build pipeline through the real binary and real cargo builds: `cargo wasme test`
//! runs exactly the module `cargo wasme build` stores and builds it once; `CARGO_TARGET_DIR`
//! is honoured; the image records what ran; without wasm-opt the digest differs, and says so.
//! Every build goes to `<workspace>/target/wasm`, never the outer build's target directory.

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

/// `cargo-wasme` in the workspace root with the outer build's settings removed and
/// `CARGO_TARGET_DIR` pointing at the tests' own target directory.
fn cmd(env: &TestEnv) -> std::process::Command {
    let mut cmd = env.cmd();
    cmd.current_dir(workspace())
        .env("CARGO_TARGET_DIR", wasm_target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("WASM_OPT");
    cmd
}

fn run(mut cmd: std::process::Command, args: &[&str]) -> (String, String) {
    let out = cmd.args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// A `cargo` that logs its arguments to `log`, then runs the real cargo. The pipeline compiles
/// with `cargo rustc`, so compilations are the lines starting with `rustc`.
fn counting_cargo(dir: &Path, log: &Path) -> PathBuf {
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let script = dir.join("cargo");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script
}

fn cargo_builds(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("rustc ") && !l.contains("--profile wasme-schema"))
        .count()
}

/// The configuration-schema builds (`--profile wasme-schema`) cargo was asked for.
fn schema_builds(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("rustc ") && l.contains("--profile wasme-schema"))
        .count()
}

/// The value after `prefix` on the first stderr line holding it, up to the next space.
fn word_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"));
    text[at + prefix.len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
}

#[test]
fn test_runs_the_stored_module_and_builds_it_once() {
    let env = TestEnv::new();
    let log = env.dir.path().join("cargo.log");
    let cargo = counting_cargo(env.dir.path(), &log);

    // Three scenario files, all naming `{crate: ..}`: one cargo build.
    let mut test = cmd(&env);
    test.env("CARGO", &cargo);
    let (stdout, stderr) = run(test, &["test", "filters/add-header/scenarios"]);
    assert!(stdout.contains("3 of 3 scenario(s) passed"), "{stdout}");
    assert!(
        stdout.contains("; build ") && stdout.contains("s, scenarios "),
        "{stdout}"
    );
    assert_eq!(
        cargo_builds(&log),
        1,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    // add-header has a configuration schema: its schema build runs once too.
    assert_eq!(
        schema_builds(&log),
        1,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let module_digest = word_after(&stderr, "Using module ").to_string();
    let image_digest = word_after(&stderr, "= image ").to_string();
    assert!(stderr.contains("root ids add_header"), "{stderr}");
    assert!(module_digest.starts_with("sha256:"), "{stderr}");

    // `cargo wasme build` stores exactly that image, and cargo has nothing left to compile.
    let mut build = cmd(&env);
    build.env("CARGO", &cargo);
    let (stdout, stderr) = run(build, &["build", "filters/add-header"]);
    assert_eq!(digest_in(&stdout), image_digest, "{stderr}");
    assert!(!stderr.contains("Compiling add-header"), "{stderr}");
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "add-header:0.1.0", "--json"])).unwrap();
    assert_eq!(
        format!("sha256:{}", inspect["wasm_sha256"].as_str().unwrap()),
        module_digest
    );
}

#[test]
fn cargo_target_dir_is_honoured_and_the_image_records_what_ran() {
    let env = TestEnv::new();
    let (_, stderr) = run(
        cmd(&env),
        &["build", "filters/add-header", "--format", "solo"],
    );
    let module = PathBuf::from(word_after(&stderr, "Checked "));
    assert!(
        module.starts_with(wasm_target_dir().join("wasm32-wasip1/release")),
        "the module is built under CARGO_TARGET_DIR: {stderr}"
    );
    assert!(module.is_file(), "{}", module.display());
    // No path of this machine in the module: the same source gives the same digest elsewhere.
    let bytes = std::fs::read(&module).unwrap();
    let cargo_home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
    for local in [cargo_home, workspace().display().to_string()] {
        assert!(
            !bytes.windows(local.len()).any(|w| w == local.as_bytes()),
            "the module embeds {local}"
        );
    }
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "add-header:0.1.0", "--json"])).unwrap();
    let build = &inspect["config"]["build"];
    assert_eq!(build["profile"], "release", "{inspect}");
    assert!(
        build["rustc"].as_str().unwrap().starts_with("rustc "),
        "{inspect}"
    );
    assert!(build["wasmOpt"].is_string(), "{inspect}");
}

/// A PATH holding every program of this PATH except `wasm-opt` (links in a directory).
fn path_without_wasm_opt(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name == "wasm-opt" || bin.join(&name).exists() {
                continue;
            }
            #[cfg(unix)]
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    bin
}

#[test]
fn without_wasm_opt_the_digest_differs_and_the_build_says_why() {
    let env = TestEnv::new();
    let (optimised, stderr) = run(
        cmd(&env),
        &[
            "build",
            "filters/add-header",
            "--tag",
            "ah:opt",
            "--format",
            "solo",
        ],
    );
    if !stderr.contains("Optimizing ") || stderr.contains("wasm-opt skipped") {
        panic!("wasm-opt must be installed for this test (apt-get install binaryen): {stderr}");
    }
    let bin = path_without_wasm_opt(env.dir.path());
    let plain = |tag: &str| {
        let mut c = cmd(&env);
        c.env("PATH", &bin);
        run(
            c,
            &[
                "build",
                "filters/add-header",
                "--tag",
                tag,
                "--format",
                "solo",
            ],
        )
    };
    let (unoptimised, stderr) = plain("ah:plain");
    assert!(
        stderr.contains("wasm-opt (binaryen) is not installed")
            && stderr.contains("digest differs"),
        "the build warns and says what it changes: {stderr}"
    );
    // Documented difference: another module, so another digest, and the image says why.
    assert_ne!(digest_in(&optimised), digest_in(&unoptimised));
    let inspect = |tag: &str| -> serde_json::Value {
        serde_json::from_str(&env.ok(&["inspect", tag, "--json"])).unwrap()
    };
    let (opt, plain_image) = (inspect("ah:opt"), inspect("ah:plain"));
    assert_eq!(plain_image["config"]["build"]["wasmOpt"], "none");
    assert!(
        opt["config"]["build"]["wasmOpt"]
            .as_str()
            .unwrap()
            .starts_with("wasm-opt version"),
        "{opt}"
    );
    assert!(
        opt["module_size"].as_u64() < plain_image["module_size"].as_u64(),
        "{opt} {plain_image}"
    );
    // Under the same tools, the build is reproducible: the same digest again.
    let (again, _) = plain("ah:plain2");
    assert_eq!(digest_in(&again), digest_in(&unoptimised));
}
