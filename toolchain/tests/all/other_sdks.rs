//! Filters written with other toolchains than Rust's, in `cargo wasme run IMAGE`,
//! `cargo wasme test` and the Rust API, each with the root id of its image:
//!
//! * the seed's `demo-add-header`, written with solo.io's AssemblyScript SDK
//!   (`@solo-io/proxy-runtime` 0.1.8 + `assemblyscript` 0.14, from npm): it exports `malloc`,
//!   announces ABI 0.2.0, imports `wasi_unstable.proc_exit`, and serves only the root id
//!   `add_header` ("Missing root context factory for root id: …" otherwise);
//! * a C filter against the raw ABI (Debian's clang + wasi-libc, no SDK) that serves only the
//!   root id `c_filter`.
//!
//! The sources are in `toolchain/tests/fixtures/other-sdks/`; they are built here into
//! `target/other-sdks/` (npm packages installed by `npm ci` from the lock file when missing).
//! Without npm or clang the tests say so and skip — except when `WASME_REQUIRE_OTHER_SDKS=1`
//! (set by `.ci/run`, which installs them), where a missing tool is a failure.

use crate::author_support::workspace;
use crate::support::{TestEnv, digest_in};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn fixtures() -> PathBuf {
    workspace().join("toolchain/tests/fixtures/other-sdks")
}

/// The build cache, under the workspace's target directory (never cargo's own outputs).
fn cache() -> PathBuf {
    workspace().join("target").join("other-sdks")
}

/// Whether `tool --version` runs; when it does not, a skip (or, in CI, a failure).
pub(crate) fn have(tool: &str, what: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    let required = std::env::var("WASME_REQUIRE_OTHER_SDKS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "`{tool}` is not installed but WASME_REQUIRE_OTHER_SDKS=1: the {what} test cannot be \
         skipped here (`.ci/run` installs it)"
    );
    eprintln!(
        "SKIPPED: `{tool}` is not installed, so the {what} filter cannot be built and this test \
         did not run (install it, as `.ci/run` does; set WASME_REQUIRE_OTHER_SDKS=1 to make \
         this a failure)"
    );
    false
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "node_modules" || name == "build" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The AssemblyScript demo-add-header module, built once per test run (`None`: skipped).
fn assemblyscript_wasm() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !have("npm", "AssemblyScript") {
                return None;
            }
            let dir = cache().join("assemblyscript");
            copy_dir(&fixtures().join("assemblyscript"), &dir);
            let installed = ["@solo-io/proxy-runtime", "assemblyscript"]
                .iter()
                .all(|p| {
                    dir.join("node_modules")
                        .join(p)
                        .join("package.json")
                        .is_file()
                });
            if !installed {
                run(
                    Command::new("npm")
                        .args(["ci", "--no-audit", "--no-fund"])
                        .current_dir(&dir),
                    "npm ci (installing @solo-io/proxy-runtime and assemblyscript)",
                );
            }
            run(
                Command::new("npm")
                    .args(["run", "asbuild"])
                    .current_dir(&dir),
                "npm run asbuild",
            );
            Some(dir.join("build").join("filter.wasm"))
        })
        .clone()
}

/// The C filter, built once per test run (`None`: skipped).
fn c_wasm() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !have("clang", "C") {
                return None;
            }
            let dir = cache().join("c");
            std::fs::create_dir_all(&dir).unwrap();
            let out = dir.join("c_filter.wasm");
            run(
                Command::new("clang").args([
                    "--target=wasm32-wasi",
                    "--sysroot=/usr",
                    "-mexec-model=reactor",
                    "-O2",
                    "-Wall",
                    "-Werror",
                    "-Wl,--export=malloc",
                    "-Wl,--export=free",
                    "-o",
                    out.to_str().unwrap(),
                    fixtures().join("c/filter.c").to_str().unwrap(),
                ]),
                "clang (wasm32-wasi, wasi-libc)",
            );
            Some(out)
        })
        .clone()
}

/// Packages `wasm` into `env`'s store as `tag` with `root_id`; returns the manifest digest.
fn package(env: &TestEnv, wasm: &Path, tag: &str, root_id: &str) -> String {
    digest_in(&env.ok(&[
        "package",
        wasm.to_str().unwrap(),
        "--tag",
        tag,
        "--root-id",
        root_id,
    ]))
}

fn output(env: &TestEnv, args: &[&str]) -> (bool, String, String) {
    let out = env.run_with(args, &[]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The client's part of `cargo wasme run`'s output.
fn client_part(stdout: &str) -> &str {
    let at = stdout
        .find("── client received ──")
        .unwrap_or_else(|| panic!("no client section in:\n{stdout}"));
    let end = stdout[at..]
        .find("── logs ──")
        .map_or(stdout.len(), |e| at + e);
    &stdout[at..end]
}

#[test]
fn assemblyscript_add_header_runs_under_run_image_with_the_image_root_id() {
    let Some(wasm) = assemblyscript_wasm() else {
        return;
    };
    let env = TestEnv::new();
    package(&env, &wasm, "demo-add-header:v0.2", "add_header");
    let (ok, stdout, stderr) = output(
        &env,
        &["run", "demo-add-header:v0.2", "--config", "tomorrow"],
    );
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        client_part(&stdout).contains("hello: tomorrow"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("Root id \"add_header\" (the first root id of image"),
        "run must say which root id it used: {stderr}"
    );
    // The root id matters: with another one the SDK has no root context, as in Envoy.
    let (_, stdout, stderr) = output(&env, &["run", "demo-add-header:v0.2", "--root-id", "other"]);
    assert!(
        !stdout.contains("hello: ") && format!("{stdout}{stderr}").contains("other"),
        "a wrong root id must not serve the filter:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("Root id \"other\" (--root-id)"), "{stderr}");
}

#[test]
fn assemblyscript_add_header_passes_a_scenario_with_the_image_root_id() {
    let Some(wasm) = assemblyscript_wasm() else {
        return;
    };
    let env = TestEnv::new();
    package(&env, &wasm, "demo-add-header:v0.2", "add_header");
    let file = env.dir.path().join("as.yaml");
    std::fs::write(
        &file,
        "module: {image: demo-add-header:v0.2}\n\
         config: tomorrow\n\
         steps:\n\
         \x20 - request: {path: /}\n\
         \x20   response: {body: fine}\n\
         \x20   expect:\n\
         \x20     client: {status: 200, headers: {hello: tomorrow}, body: fine}\n\
         \x20     upstream: {headers_absent: [hello]}\n\
         \x20     logs: [\"adding header hello: tomorrow\"]\n\
         \x20     vm_failed: false\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = output(&env, &["test", file.to_str().unwrap()]);
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("1 of 1 scenario(s) passed (1 step(s))"),
        "{stdout}"
    );
    assert!(stderr.contains("Root id \"add_header\""), "{stderr}");
}

#[test]
fn assemblyscript_add_header_runs_from_the_rust_api_with_the_image_root_id() {
    let Some(wasm) = assemblyscript_wasm() else {
        return;
    };
    let env = TestEnv::new();
    package(&env, &wasm, "demo-add-header:v0.2", "add_header");
    let store = cargo_wasme::store::Store::open(env.store()).unwrap();
    let image = store.resolve("demo-add-header:v0.2").unwrap();
    let root = cargo_wasme::scenario::exec::RootIdChoice::from_image("demo", &image.root_ids);
    assert_eq!(root.root_id.as_deref(), Some("add_header"));
    let module = wasme_harness::Module::from_bytes(image.wasm()).unwrap();
    let mut host = wasme_harness::Host::builder(&module)
        .root_id(root.as_str())
        .plugin_config("tomorrow")
        .build()
        .unwrap();
    let ex = host
        .http_exchange(
            &wasme_harness::HttpRequest::get("/"),
            &wasme_harness::HttpResponse::ok().body("fine"),
        )
        .unwrap();
    assert_eq!(ex.client_response.header("hello"), Some("tomorrow"));
    assert_eq!(ex.client_response.body, b"fine");
    assert!(host.failure().is_none(), "{:?}", host.failure());
    // A second request on the same plugin: the SDK's per-stream contexts are created and
    // deleted as Envoy does it.
    let ex = host
        .http_exchange(
            &wasme_harness::HttpRequest::get("/again"),
            &wasme_harness::HttpResponse::ok(),
        )
        .unwrap();
    assert_eq!(ex.client_response.header("hello"), Some("tomorrow"));
}

#[test]
fn c_filter_runs_under_run_image_with_the_image_root_id() {
    let Some(wasm) = c_wasm() else {
        return;
    };
    let env = TestEnv::new();
    package(&env, &wasm, "c-filter:1", "c_filter");
    let (ok, stdout, stderr) = output(
        &env,
        &[
            "run",
            "c-filter:1",
            "--path",
            "/admin/users",
            "--config",
            "/admin",
        ],
    );
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("Root id \"c_filter\""), "{stderr}");
    let client = client_part(&stdout);
    assert!(
        client.contains(":status: 403") && client.contains("x-c-filter: denied"),
        "{stdout}"
    );
    assert!(client.contains("denied by the C filter"), "{stdout}");
    // The plain file has no image, so no root id: the filter refuses to start, as it would in
    // Envoy without `root_id`.
    let (ok, stdout, stderr) = output(&env, &["run", wasm.to_str().unwrap()]);
    assert!(!ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("no root context for root id"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[test]
fn c_filter_passes_a_scenario_with_the_image_root_id() {
    let Some(wasm) = c_wasm() else {
        return;
    };
    let env = TestEnv::new();
    package(&env, &wasm, "c-filter:1", "c_filter");
    let file = env.dir.path().join("c.yaml");
    std::fs::write(
        &file,
        "module: {image: c-filter:1}\n\
         config: /private\n\
         steps:\n\
         \x20 - name: other paths pass, marked\n\
         \x20   request: {path: /public}\n\
         \x20   expect:\n\
         \x20     upstream: {headers: {x-c-filter: passed}}\n\
         \x20     client: {status: 200, headers: {x-c-filter-root: c_filter}}\n\
         \x20     local_reply: false\n\
         \x20 - name: the configured prefix is denied\n\
         \x20   request: {path: /private/key}\n\
         \x20   expect:\n\
         \x20     upstream: false\n\
         \x20     local_reply: {status: 403, details: c_filter_denied, body: \"denied by the C filter\\n\", headers: {x-c-filter: denied}}\n\
         \x20     metrics: {c_filter.denied: 1}\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = output(&env, &["test", file.to_str().unwrap()]);
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("1 of 1 scenario(s) passed (2 step(s))"),
        "{stdout}"
    );
    assert!(stderr.contains("Root id \"c_filter\""), "{stderr}");
}

#[test]
fn c_filter_runs_from_the_rust_api_with_the_image_root_id() {
    let Some(wasm) = c_wasm() else {
        return;
    };
    let env = TestEnv::new();
    package(&env, &wasm, "c-filter:1", "c_filter");
    let store = cargo_wasme::store::Store::open(env.store()).unwrap();
    let image = store.resolve("c-filter:1").unwrap();
    assert_eq!(image.root_ids, ["c_filter"]);
    let module = wasme_harness::Module::from_bytes(image.wasm()).unwrap();
    let mut host = wasme_harness::Host::builder(&module)
        .root_id(&image.root_ids[0])
        .build()
        .unwrap();
    let ex = host
        .http_exchange(
            &wasme_harness::HttpRequest::get("/admin"),
            &wasme_harness::HttpResponse::ok(),
        )
        .unwrap();
    assert!(ex.upstream_request.is_none());
    assert_eq!(ex.client_response.status(), Some(403));
    let ex = host
        .http_exchange(
            &wasme_harness::HttpRequest::get("/x"),
            &wasme_harness::HttpResponse::ok(),
        )
        .unwrap();
    let up = ex
        .upstream_request
        .expect("the request reached the upstream");
    assert_eq!(up.header("x-c-filter"), Some("passed"));
    assert_eq!(
        ex.client_response.header("x-c-filter-root"),
        Some("c_filter")
    );
    // Without the image's root id the module refuses its configuration, as in Envoy.
    let err = wasme_harness::Host::builder(&module).build().err();
    assert!(
        matches!(
            err,
            Some(wasme_harness::HarnessError::ConfigureFailed { .. })
        ),
        "{err:?}"
    );
}
