//! Filters in C, C++ and AssemblyScript from `cargo wasme init --language …` to a registry,
//! with the real toolchains (Debian's clang, lld, wasi-libc and libc++ for wasm32-wasi; npm's
//! `assemblyscript` and `@solo-io/proxy-runtime`): `init` → `build` → `test` → `inspect` →
//! `run` → `push` to Debian's `docker-registry` on loopback, and a second project generated in
//! another directory builds the same image digest.
//!
//! Without clang or npm the tests say so and skip, except with `WASME_REQUIRE_OTHER_SDKS=1`
//! (`.ci/run`), where a missing tool fails them (see `other_sdks::have`). npm's downloads are
//! cached under `target/other-sdks/npm-cache`, shared by every AssemblyScript test.

use crate::author_support::workspace;
use crate::other_sdks::have;
use crate::support::{DockerRegistry, TestEnv, digest_in};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;

/// npm's cache for every AssemblyScript project the tests build.
fn npm_cache() -> PathBuf {
    workspace()
        .join("target")
        .join("other-sdks")
        .join("npm-cache")
}

fn vars() -> Vec<(&'static str, OsString)> {
    vec![("npm_config_cache", npm_cache().into_os_string())]
}

/// `cargo-wasme args` in `dir` with `env`'s store.
fn wasme(env: &TestEnv, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = env.cmd();
    cmd.current_dir(dir).args(args);
    for (k, v) in vars() {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(env: &TestEnv, dir: &Path, args: &[&str]) -> (String, String) {
    let out = wasme(env, dir, args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "cargo-wasme {args:?} failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// `init DIR --language language --yes` under `parent`; returns the project directory.
fn init(env: &TestEnv, parent: &Path, name: &str, language: &str) -> PathBuf {
    std::fs::create_dir_all(parent).unwrap();
    let (_, stderr) = ok(
        env,
        parent,
        &["init", name, "--language", language, "--yes"],
    );
    assert!(stderr.contains("Created"), "{stderr}");
    let dir = parent.join(name);
    assert!(dir.join("wasme.toml").is_file(), "{stderr}");
    dir
}

/// The whole loop for one language; `tool` is what must be installed.
fn init_to_push(language: &str, tool: &str, files: &[&str]) {
    if !have(tool, language) {
        return;
    }
    let env = TestEnv::new();
    let name = format!("{language}-demo");
    let header = format!("x-{name}");
    let project = init(&env, &env.dir.path().join("first"), &name, language);
    for f in files {
        assert!(project.join(f).is_file(), "init wrote no {f}");
    }

    // build: the language's toolchain, the checks, wasm-opt, the image in the store.
    let (stdout, stderr) = ok(&env, &project, &["build"]);
    let digest = digest_in(&stdout);
    assert!(stderr.contains("Optimizing"), "wasm-opt ran: {stderr}");
    assert!(stderr.contains(&format!("{name}:0.1.0")), "{stderr}");

    // test: the project's scenarios (a header, and a configuration the filter refuses).
    let (stdout, stderr) = ok(&env, &project, &["test"]);
    assert!(
        stdout.contains("2 of 2 scenario(s) passed"),
        "{stdout}\n{stderr}"
    );

    // inspect: the image records the language and its compiler (in the runtime config, which
    // the solo format keeps as the image config), and the module imports only what Envoy
    // provides (proxy-wasm hostcalls from `env`, WASI): no emscripten runtime.
    let reference = format!("{name}-solo:0.1.0");
    ok(
        &env,
        &project,
        &["build", "--format", "solo", "--tag", &reference],
    );
    let (stdout, _) = ok(&env, &project, &["inspect", &reference, "--json"]);
    let inspect: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let build = &inspect["config"]["build"];
    assert_eq!(build["language"], language, "{inspect}");
    assert_eq!(build["profile"], "release", "{inspect}");
    assert!(build.get("rustc").is_none(), "{inspect}");
    assert!(
        build["wasmOpt"].as_str().is_some_and(|v| v != "none"),
        "{inspect}"
    );
    let compiler = build["compiler"].as_str().unwrap_or_default();
    let expected = if language == "assemblyscript" {
        "assemblyscript 0.14.9, @solo-io/proxy-runtime 0.1.8"
    } else {
        "clang version"
    };
    assert!(compiler.contains(expected), "{inspect}");
    assert_eq!(
        inspect["config"]["config"]["rootIds"][0],
        name.replace('-', "_")
    );
    for import in inspect["imports"].as_array().unwrap() {
        let (module, item) = (import["module"].as_str(), import["name"].as_str());
        let ok = match module {
            Some("env") => item.is_some_and(|n| n.starts_with("proxy_") || n == "abort"),
            Some("wasi_snapshot_preview1" | "wasi_unstable") => true,
            _ => false,
        };
        assert!(ok, "an import Envoy does not provide: {import}\n{inspect}");
    }

    // run: the project directory, built as `build` builds it, with a configuration.
    let (stdout, stderr) = ok(&env, &project, &["run", ".", "--config", "from run"]);
    assert!(
        stdout.contains(&format!("{header}: from run")),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("module {}", "sha256:")),
        "{stderr}"
    );

    // push: the same image to a registry on loopback.
    let registry = DockerRegistry::start();
    let remote = format!("{}/langs/{name}:0.1.0", registry.addr);
    let (stdout, _) = ok(&env, &project, &["build", "--tag", &remote]);
    assert_eq!(
        digest_in(&stdout),
        digest,
        "the tag does not change the image"
    );
    let (stdout, _) = ok(&env, &project, &["push", &remote]);
    assert_eq!(digest_in(&stdout), digest);

    // Reproducible: a second project generated elsewhere builds the same digest.
    let second = init(
        &env,
        &env.dir.path().join("elsewhere/deeper"),
        &name,
        language,
    );
    if language == "assemblyscript" {
        // Share the first project's npm install (the lock files are identical).
        copy_dir(&project.join("node_modules"), &second.join("node_modules"));
    }
    let (stdout, stderr) = ok(&env, &second, &["build"]);
    assert_eq!(
        digest_in(&stdout),
        digest,
        "two copies of the project build different images:\n{stderr}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).unwrap();
            std::os::unix::fs::symlink(link, target).unwrap();
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn c_filter_from_init_to_push() {
    init_to_push(
        "c",
        "clang",
        &[
            "src/filter.c",
            "include/proxy_wasm_abi.h",
            "scenarios/basic.yaml",
        ],
    );
}

#[test]
fn cpp_filter_from_init_to_push() {
    init_to_push(
        "cpp",
        "clang++",
        &[
            "src/filter.cc",
            "src/proxy_wasm.cc",
            "include/proxy_wasm.h",
            "include/proxy_wasm_abi.h",
            "scenarios/bad-config.yaml",
        ],
    );
}

#[test]
fn assemblyscript_filter_from_init_to_push() {
    init_to_push(
        "assemblyscript",
        "npm",
        &[
            "package.json",
            "package-lock.json",
            "asconfig.json",
            "assembly/index.ts",
            "scenarios/scenario.schema.json",
        ],
    );
}

#[test]
fn a_missing_compiler_is_named_with_its_package() {
    let env = TestEnv::new();
    let project = init(&env, &env.dir.path().join("p"), "no-clang", "c");
    // A PATH without clang: only the directory of this test's cargo-wasme.
    let empty = env.dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = env
        .cmd()
        .current_dir(&project)
        .env("PATH", &empty)
        .env_remove("WASI_SDK_PATH")
        .arg("build")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("`clang` is needed to build this C filter")
            && stderr.contains("apt-get install clang lld wasi-libc"),
        "{stderr}"
    );
}

#[test]
fn a_directory_of_another_toolchain_without_wasme_toml_says_what_to_write() {
    let env = TestEnv::new();
    let dir = env.dir.path().join("as-without-project-file");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("package.json"), "{}").unwrap();
    let out = wasme(&env, &dir, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no wasme.toml") && stderr.contains("language = \"assemblyscript\""),
        "{stderr}"
    );
}

#[test]
fn init_refuses_a_network_filter_outside_rust_and_writes_nothing() {
    let env = TestEnv::new();
    let out = wasme(
        &env,
        env.dir.path(),
        &[
            "init",
            "tcp-c",
            "--language",
            "c",
            "--template",
            "network",
            "--yes",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("network filters are generated in Rust only"),
        "{stderr}"
    );
    assert!(!env.dir.path().join("tcp-c").exists());
}
