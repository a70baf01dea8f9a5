//! `cargo wasme test` never passes what it did not check. Each scenario here tries to make the
//! runner pass wrongly — an expectation on a step that never ran, on a request that was never
//! sent, on a response that never came, on a connection that was never opened — one per
//! expectation kind, and must fail with a message saying why. A control scenario checking the
//! same things honestly passes in the same run, so the failures are not an accident of setup.

use crate::author_support::{add_header_wasm, text, wasme_in};
use std::collections::BTreeMap;
use std::path::Path;

/// A filter that holds every request (its on_request_headers answers Pause and nothing
/// continues it), as a real module the harness compiles and runs.
fn holding_module(dir: &Path) -> std::path::PathBuf {
    let wasm = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (global $next (mut i32) (i32.const 1024))
            (func (export "proxy_abi_version_0_2_1"))
            (func (export "malloc") (param $n i32) (result i32)
              (local $p i32)
              (local.set $p (global.get $next))
              (global.set $next (i32.add (global.get $next) (local.get $n)))
              (local.get $p))
            (func (export "proxy_on_context_create") (param i32 i32))
            (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
            (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
              (i32.const 1)))"#,
    )
    .unwrap();
    let path = dir.join("hold.wasm");
    std::fs::write(&path, wasm).unwrap();
    path
}

/// Runs `cargo wasme test` on `scenarios` (file name → YAML) written into a temporary
/// directory; returns each scenario's block of the report by scenario name, and the output.
fn run_scenarios(scenarios: &[(&str, String)]) -> (BTreeMap<String, String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["test".to_string()];
    for (name, yaml) in scenarios {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, format!("name: {name}\n{yaml}")).unwrap();
        args.push(file.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wasme_in(dir.path(), &args);
    let (stdout, stderr) = text(&out);
    let all = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        !out.status.success(),
        "wrong scenarios are in the run, so it must fail:\n{all}"
    );
    let mut blocks = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("scenario ") {
            if let Some((name, block)) = current.take() {
                blocks.insert(name, block);
            }
            let name = rest.split(' ').next().unwrap_or_default().to_string();
            current = Some((name, format!("{line}\n")));
        } else if line.starts_with("test result:") {
            break;
        } else if let Some((_, block)) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    if let Some((name, block)) = current {
        blocks.insert(name, block);
    }
    (blocks, all)
}

/// The scenario failed, and its report contains every one of `needles`.
fn assert_fails_saying(blocks: &BTreeMap<String, String>, all: &str, name: &str, needles: &[&str]) {
    let block = blocks
        .get(name)
        .unwrap_or_else(|| panic!("no report for scenario {name}:\n{all}"));
    assert!(
        block.lines().next().is_some_and(|l| l.contains("FAILED")),
        "scenario {name} must fail:\n{block}"
    );
    for n in needles {
        assert!(
            block.contains(n),
            "scenario {name} must say {n:?}:\n{block}"
        );
    }
}

fn assert_passes(blocks: &BTreeMap<String, String>, all: &str, name: &str) {
    let block = blocks
        .get(name)
        .unwrap_or_else(|| panic!("no report for scenario {name}:\n{all}"));
    assert!(
        block.lines().next().is_some_and(|l| l.contains("... ok")),
        "the control scenario {name} must pass:\n{block}"
    );
}

#[test]
fn steps_that_cannot_run_are_never_passed() {
    let wasm = add_header_wasm();
    let module = format!("module: {wasm:?}\nroot_id: add_header\n");
    let good = format!("{module}config: {{name: x-demo, value: \"1\"}}\n");
    let bad = format!("{module}config: {{name: \"bad name\", value: v}}\n");
    let impossible_step = "steps:\n  - request: {path: /}\n    expect: {client: {status: 999}}\n";
    let (blocks, all) = run_scenarios(&[
        // The issue's case: start-up fails as expected, then a step that can never run.
        (
            "startup_failed_as_expected",
            format!("{bad}startup: {{fails: true}}\n{impossible_step}"),
        ),
        // Start-up fails without being expected to: the steps did not run either.
        (
            "startup_failed_unexpectedly",
            format!("{bad}{impossible_step}"),
        ),
        // Start-up was expected to fail but did not: the steps would test the wrong thing.
        (
            "startup_did_not_fail",
            format!("{good}startup: {{fails: true}}\n{impossible_step}"),
        ),
        // Nothing to check at all.
        ("checks_nothing", good.clone()),
        // The module does not exist: its steps were not run.
        (
            "module_missing",
            format!("module: /nonexistent/f.wasm\n{impossible_step}"),
        ),
        // Control: an expected start-up failure alone passes.
        (
            "control_startup",
            format!("{bad}startup: {{fails: true, logs: [\"not a valid header name\"]}}\n"),
        ),
    ]);
    assert_fails_saying(
        &blocks,
        &all,
        "startup_failed_as_expected",
        &[
            "NOT RUN",
            "start-up failed as expected",
            "can never be checked",
        ],
    );
    assert_fails_saying(
        &blocks,
        &all,
        "startup_failed_unexpectedly",
        &[
            "NOT RUN",
            "add `startup: {fails: true}` if that is expected",
        ],
    );
    assert_fails_saying(
        &blocks,
        &all,
        "startup_did_not_fail",
        &["startup.fails", "NOT RUN", "but the plugin started"],
    );
    assert_fails_saying(&blocks, &all, "checks_nothing", &["checks nothing"]);
    assert_fails_saying(
        &blocks,
        &all,
        "module_missing",
        &["NOT RUN", "the module could not be loaded"],
    );
    assert_passes(&blocks, &all, "control_startup");
}

#[test]
fn expectations_on_what_never_happened_fail_one_per_kind() {
    let wasm = add_header_wasm();
    let dir = tempfile::tempdir().unwrap();
    let hold = holding_module(dir.path());
    let module =
        format!("module: {wasm:?}\nroot_id: add_header\nconfig: {{name: x-demo, value: \"1\"}}\n");
    let check = |expect: &str| format!("{module}steps:\n  - expect: {expect}\n");
    let request =
        |expect: &str| format!("{module}steps:\n  - request: {{path: /}}\n    expect: {expect}\n");
    let held = |expect: &str| {
        format!("module: {hold:?}\nsteps:\n  - request: {{path: /}}\n    expect: {expect}\n")
    };
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        // Negative forms on a step that sent no request are not true of a request.
        (
            "upstream_without_request",
            check("{upstream: false}"),
            vec!["upstream:", "this step sent no request"],
        ),
        (
            "client_without_request",
            check("{client: {headers_absent: [x-nope]}}"),
            vec!["client:", "this step sent no request"],
        ),
        (
            "local_reply_without_request",
            check("{local_reply: false}"),
            vec!["local_reply:", "this step sent no request"],
        ),
        (
            "stream_reset_without_request",
            format!("{module}steps:\n  - advance_clock: 1s\n    expect: {{stream_reset: false}}\n"),
            vec!["stream_reset:", "this step sent no request"],
        ),
        (
            "stalled_without_request",
            check("{stalled: false}"),
            vec!["stalled:", "this step sent no request"],
        ),
        // A response that never came cannot have (or lack) a header.
        (
            "client_of_held_stream",
            held("{client: {headers_absent: [x-nope]}}"),
            vec!["client:", "the filter still holds the stream"],
        ),
        // A connection expectation on an HTTP step.
        (
            "connection_without_connection",
            request("{connection: {closed_by_filter: false}}"),
            vec!["connection:", "this step opened no connection"],
        ),
        // State that was never produced.
        (
            "logs_never_written",
            request("{logs: [\"never logged\"]}"),
            vec!["logs:", "no such line"],
        ),
        (
            "metric_never_defined",
            request("{metrics: {never_defined: 0}}"),
            vec!["metrics[\"never_defined\"]", "not defined"],
        ),
        (
            "shared_data_never_set",
            request("{shared_data: {never: \"v\"}}"),
            vec!["shared_data[\"never\"]", "not set"],
        ),
        (
            "trace_never_called",
            request("{trace: [proxy_http_call]}"),
            vec!["trace:", "a hostcall matching \"proxy_http_call\""],
        ),
        (
            "callout_never_made",
            request("{pending_http_calls: [{cluster: auth}]}"),
            vec!["pending_http_calls", "0 callout(s)"],
        ),
        (
            "vm_never_failed",
            request("{vm_failed: true}"),
            vec!["vm_failed", "the VM is healthy"],
        ),
        (
            "local_reply_never_sent",
            request("{local_reply: {status: 403}}"),
            vec!["local_reply:", "the filter did not answer locally"],
        ),
        (
            "upstream_never_reached",
            held("{upstream: {headers_absent: [x-nope]}}"),
            vec!["upstream:", "never reached the upstream"],
        ),
    ];
    let mut scenarios: Vec<(&str, String)> = cases
        .iter()
        .map(|(name, yaml, _)| (*name, yaml.clone()))
        .collect();
    // Controls: the same kinds, checked against what did happen, pass.
    scenarios.push((
        "control_request",
        request(
            "{upstream: {headers: {\":path\": /}}, client: {status: 200, headers: {x-demo: \"1\"}}, \
             local_reply: false, stream_reset: false, stalled: false, vm_failed: false, \
             pending_http_calls: [], shared_data: {never: null}}",
        ),
    ));
    scenarios.push((
        "control_held",
        held("{client: false, upstream: false, stalled: true}"),
    ));
    let (blocks, all) = run_scenarios(&scenarios);
    for (name, _, needles) in &cases {
        assert_fails_saying(&blocks, &all, name, needles);
    }
    assert_passes(&blocks, &all, "control_request");
    assert_passes(&blocks, &all, "control_held");
}
