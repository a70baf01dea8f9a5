//! Issue 15's Envoy behaviours reached from `cargo wasme run` flags and scenario files: the
//! real binary runs the harness's conformance probe (whose configuration is a script of
//! hostcalls; every check reads what the guest logged).

use crate::author_support;

use author_support::{text, wasme, workspace};
use std::path::PathBuf;
use std::sync::OnceLock;

fn probe_wasm() -> PathBuf {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            wasme_harness::build::build_filter(
                workspace().join("harness/tests/filters/probe"),
                None,
            )
            .expect("the conformance probe builds")
        })
        .clone()
}

fn run(args: &[&str]) -> (bool, String, String) {
    let wasm = probe_wasm();
    let mut all = vec!["run", wasm.to_str().unwrap(), "--root-id", "probe"];
    all.extend_from_slice(args);
    let out = wasme(&all);
    let (stdout, stderr) = text(&out);
    (out.status.success(), stdout, stderr)
}

#[test]
fn run_joins_repeated_headers_and_takes_bracketed_and_connection_properties() {
    let (ok, stdout, stderr) = run(&[
        "--config",
        "request_headers get_property request.headers.x-a
         request_headers get_property metadata%00filter_metadata%00envoy.lua%00k
         request_headers get_property source.address",
        "-H",
        "x-a: 1",
        "-H",
        "x-a: 2",
        "--property",
        "metadata.filter_metadata[envoy.lua].k=v",
        "--property",
        "source.port=4000",
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    for line in [
        "request_headers.get_property request.headers.x-a = 0 \"1,2\"",
        "request_headers.get_property metadata%00filter_metadata%00envoy.lua%00k = 0 \"v\"",
        "request_headers.get_property source.address = 0 \"127.0.0.1:4000\"",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[test]
fn run_clusters_time_out_with_504_and_fail_with_503() {
    let script = "request_headers http_call auth 1000 :method=GET :path=/ :authority=auth
         request_headers return 1
         http_call_response get_header call_headers :status
         http_call_response continue request";
    let (ok, stdout, stderr) = run(&["--config", script, "--cluster", "auth"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("http_call_response.get_header call_headers :status = 0 \"504\""),
        "{stdout}"
    );
    assert!(
        !stdout.contains("nothing: the request did not reach the upstream"),
        "the filter went on after the timeout:\n{stdout}"
    );
    let (ok, stdout, stderr) = run(&["--config", script, "--cluster", "auth=fail"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("http_call_response.get_header call_headers :status = 0 \"503\""),
        "{stdout}"
    );
}

#[test]
fn run_worker_config_refused_fails_the_request_closed() {
    let (ok, stdout, _) = run(&["--config", "", "--worker-config", "configure return 0"]);
    assert!(!ok, "a failed VM is a failed run:\n{stdout}");
    assert!(stdout.contains(":status: 503"), "{stdout}");
    assert!(stdout.contains("VM FAILED"), "{stdout}");
}

#[test]
fn scenarios_take_worker_config_and_per_request_properties() {
    let wasm = probe_wasm();
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("props.yaml");
    std::fs::write(
        &props,
        format!(
            r#"
module: {wasm:?}
root_id: probe
config: "request_headers get_property metadata%00filter_metadata%00envoy.lua%00k"
steps:
  - name: with metadata
    request:
      path: /
      properties: {{"metadata.filter_metadata[envoy.lua].k": "yes"}}
    expect:
      logs: ["get_property metadata%00filter_metadata%00envoy.lua%00k = 0 \"yes\""]
  - name: the next request has none
    request: {{path: /}}
    expect:
      logs: ["get_property metadata%00filter_metadata%00envoy.lua%00k = 1"]
"#
        ),
    )
    .unwrap();
    let out = wasme(&["test", props.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    let worker = dir.path().join("worker.yaml");
    std::fs::write(
        &worker,
        format!(
            r#"
module: {wasm:?}
root_id: probe
config: ""
worker_config: "configure return 0"
steps:
  - request: {{path: /}}
    expect:
      upstream: false
      local_reply: {{status: 503}}
      vm_failed: "proxy_on_configure returned false"
"#
        ),
    )
    .unwrap();
    let out = wasme(&["test", worker.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
}

/// `failure_policy: legacy_fail_open` is the deprecated `fail_open: true`
/// (`FailurePolicy::LegacyFailOpen`): the request whose callback failed the VM goes on without
/// the plugin, where `fail_open` (Envoy's `FAIL_OPEN`) still fails it closed
/// (proxy-wasm-cpp-host `CHECK_FAIL`, Envoy's `PluginConfig::createContext`).
#[test]
fn scenarios_choose_the_legacy_fail_open_policy() {
    let wasm = probe_wasm();
    let dir = tempfile::tempdir().unwrap();
    for (policy, first) in [
        (
            "legacy_fail_open",
            "upstream: {headers: {\":path\": /a}}\n      local_reply: false",
        ),
        (
            "fail_open",
            "upstream: false\n      local_reply: {status: 503}",
        ),
    ] {
        let file = dir.path().join(format!("{policy}.yaml"));
        std::fs::write(
            &file,
            format!(
                r#"
module: {wasm:?}
root_id: probe
config: "request_headers panic boom"
failure_policy: {policy}
steps:
  - request: {{path: /a}}
    expect:
      {first}
      vm_failed: true
  - request: {{path: /b}}
    expect:
      upstream: {{headers: {{":path": /b}}}}
      local_reply: false
"#
            ),
        )
        .unwrap();
        let out = wasme(&["test", file.to_str().unwrap()]);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "{policy}:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
}
