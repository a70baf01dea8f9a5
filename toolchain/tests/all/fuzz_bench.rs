//! `cargo wasme fuzz` and `cargo wasme bench` through the real binary on real filters: the
//! planted defects of harness/tests/filters/defect-* are found with a fixed seed, their shrunk
//! scenarios fail under `cargo wasme test` for the same reason (a leak through `repeat` and
//! `guest_memory`, an instruction budget through `instructions_at_most`, a user invariant
//! through the scenario's `invariants`) and pass on a filter without the defect, add-header
//! fuzzes clean, and `bench --baseline` flags the quadratic body handler but not an unchanged
//! filter.

use crate::author_support::{add_header_wasm, text, wasme, wasme_in, workspace};
use std::path::Path;

const DEFECTS: &str = "harness/tests/filters";

/// Fuzzes `crate_dir` (relative to the workspace) with seed 12 and returns the written
/// scenario's text and path; the run must fail.
fn finding(crate_dir: &str, extra: &[&str], out: &Path) -> String {
    finding_within(crate_dir, "2000", extra, out)
}

/// As [`finding`], within `runs` exchanges.
fn finding_within(crate_dir: &str, runs: &str, extra: &[&str], out: &Path) -> String {
    let mut args = vec![
        "fuzz",
        crate_dir,
        "--runs",
        runs,
        "--seed",
        "12",
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = wasme(&args);
    let (stdout, stderr) = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("fuzz result: FAILED"), "{stdout}");
    assert!(
        stderr.contains("reproduce it with `cargo wasme test"),
        "{stderr}"
    );
    std::fs::read_to_string(out).expect("the finding's scenario is written")
}

/// `cargo wasme test FILE` fails, and its report contains `why`.
fn reproduces(file: &Path, why: &str) {
    let o = wasme(&["test", file.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("test result: FAILED"), "{stdout}");
    assert!(stdout.contains(why), "expected {why:?} in:\n{stdout}");
}

/// `cargo wasme test FILE [ARGS]` passes.
fn passes(file: &Path, extra: &[&str]) {
    let mut args = vec!["test", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = wasme(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("test result: ok"), "{stdout}");
}

fn steps(scenario: &str) -> usize {
    scenario.matches("- name: exchange").count()
}

#[test]
fn long_header_panic_is_shrunk_to_a_scenario_that_cargo_wasme_test_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("long-header.yaml");
    let yaml = finding(&format!("{DEFECTS}/defect-long-header"), &[], &out);
    assert!(yaml.contains("fuzz finding: vm-failed"), "{yaml}");
    assert_eq!(steps(&yaml), 1, "{yaml}");
    // One value of exactly 256 bytes (just over the 255-byte buffer) is all that is left: a
    // header's or the path's (the filter copies pseudo-headers too).
    let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    let request = &doc["steps"][0]["request"];
    let headers = request["headers"].as_mapping().cloned().unwrap_or_default();
    assert!(headers.len() <= 1, "{yaml}");
    let long: Vec<usize> = headers
        .values()
        .chain(request.get("path"))
        .filter_map(|v| v.as_str())
        .map(str::len)
        .filter(|n| *n > 255)
        .collect();
    assert_eq!(long, [256], "{yaml}");
    assert!(doc["steps"][0]["request"].get("body").is_none(), "{yaml}");
    assert!(
        yaml.contains("proxy_on_request_headers"),
        "the trace is in the file:\n{yaml}"
    );
    reproduces(&out, "vm");
}

#[test]
fn callout_stall_is_shrunk_to_a_scenario_that_cargo_wasme_test_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stall.yaml");
    let yaml = finding(
        &format!("{DEFECTS}/defect-callout-stall"),
        &["--cluster", "auth"],
        &out,
    );
    assert!(yaml.contains("stream-stalled"), "{yaml}");
    assert_eq!(steps(&yaml), 1, "{yaml}");
    assert!(yaml.contains("auth"), "{yaml}");
    reproduces(&out, "stalled");
}

#[test]
fn leak_is_written_as_a_repeated_step_whose_guest_memory_check_fails_only_on_the_leak() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("leak.yaml");
    // The leak check first runs after 2048 exchanges.
    let yaml = finding_within(&format!("{DEFECTS}/defect-leak"), "10000", &[], &out);
    assert!(yaml.contains("fuzz finding: leak"), "{yaml}");
    assert!(!yaml.contains("cannot check"), "{yaml}");
    let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    let step = &doc["steps"][0];
    assert_eq!(doc["steps"].as_sequence().map(Vec::len), Some(1), "{yaml}");
    assert_eq!(step["repeat"].as_u64(), Some(1056), "{yaml}");
    assert_eq!(
        step["expect"]["guest_memory"]["growth_per_repeat_at_most"].as_u64(),
        Some(0),
        "{yaml}"
    );
    // About 1 KiB per request, seen over the repeats the way the fuzzer saw it.
    reproduces(&out, "guest_memory.growth_per_repeat_at_most");
    reproduces(&out, "growing in 4 of 4 quarters (a leak)");
    // The same exchange, as often, through a filter that does not leak: the check passes.
    let add_header = add_header_wasm();
    passes(&out, &["--module", add_header.to_str().unwrap()]);
}

#[test]
fn over_budget_exchange_is_written_with_instructions_at_most_and_fails_only_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("budget.yaml");
    let yaml = finding(
        &format!("{DEFECTS}/defect-quadratic"),
        &["--fuel-budget", "2000000"],
        &out,
    );
    assert!(yaml.contains("fuzz finding: over-budget"), "{yaml}");
    assert!(yaml.contains("instructions_at_most: 2000000"), "{yaml}");
    assert!(!yaml.contains("cannot check"), "{yaml}");
    reproduces(&out, "wasm instructions executed by the filter's callbacks");
    // The same body with a generous budget passes: the count is real, not a fixed verdict.
    let generous = dir.path().join("generous.yaml");
    std::fs::write(
        &generous,
        yaml.replace(
            "instructions_at_most: 2000000",
            "instructions_at_most: 100000000000",
        ),
    )
    .unwrap();
    passes(&generous, &[]);
}

#[test]
fn an_instruction_budget_that_cannot_be_counted_fails_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        format!(
            "module: {}\nsteps:\n  - request: {{path: /}}\n    expect: {{instructions_at_most: 100000000}}\n  - name: nothing runs\n    expect: {{instructions_at_most: 100000000}}\n",
            add_header_wasm().display()
        ),
    )
    .unwrap();
    let o = wasme(&["test", file.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("step 1: GET / ... ok"), "{stdout}");
    assert!(
        stdout.contains("step 2: nothing runs ... FAILED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not counted: this step runs no filter code"),
        "{stdout}"
    );
}

#[test]
fn a_broken_user_invariant_is_written_as_the_scenarios_invariants() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("invariant.yaml");
    let yaml = finding(
        "filters/add-header",
        &["--invariant", "client-has-header=x-trace"],
        &out,
    );
    let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(
        doc["invariants"][0].as_str(),
        Some("client-has-header=x-trace"),
        "{yaml}"
    );
    reproduces(&out, "invariants[client-has-header=x-trace]");
    reproduces(&out, "the client response has no \"x-trace\" header");
    // The header add-header does add: the same file passes.
    let kept = dir.path().join("kept.yaml");
    std::fs::write(
        &kept,
        yaml.replace("client-has-header=x-trace", "client-has-header=hello"),
    )
    .unwrap();
    passes(&kept, &[]);
}

/// A scenario naming the freshly built add-header and declaring `invariants`.
fn invariant_scenario(dir: &Path, rule: &str) -> std::path::PathBuf {
    let file = dir.join(format!("{}.yaml", rule.replace('=', "-")));
    std::fs::write(
        &file,
        format!(
            "module: {}\ninvariants: [{rule}]\nsteps:\n  - request: {{path: /a}}\n",
            add_header_wasm().display()
        ),
    )
    .unwrap();
    file
}

#[test]
fn fuzz_applies_the_scenario_files_invariants_and_test_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    // Kept: `cargo wasme test` passes, and fuzzing with the file finds nothing.
    let kept = invariant_scenario(dir.path(), "client-has-header=hello");
    passes(&kept, &[]);
    let o = wasme(&[
        "fuzz",
        "--scenario",
        kept.to_str().unwrap(),
        "--runs",
        "500",
        "--seed",
        "4",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("checking invariants: client-has-header=hello"),
        "{stderr}"
    );
    // Broken: both fail, for that invariant (given only in the file).
    let broken = invariant_scenario(dir.path(), "upstream-has-header=x-id");
    reproduces(&broken, "invariants[upstream-has-header=x-id]");
    let out = dir.path().join("finding.yaml");
    let o = wasme(&[
        "--message-format",
        "json",
        "fuzz",
        "--scenario",
        broken.to_str().unwrap(),
        "--runs",
        "500",
        "--seed",
        "4",
        "--output",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("\"kind\":\"invariant upstream-has-header=x-id\""),
        "{stdout}"
    );
    reproduces(&out, "invariants[upstream-has-header=x-id]");
}

#[test]
fn add_header_fuzzes_clean_and_reports_its_rate() {
    let o = wasme(&["fuzz", "-p", "add-header", "--runs", "1500", "--seed", "3"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("fuzz result: ok. 1500 exchanges"),
        "{stdout}"
    );
    assert!(stderr.contains("exchanges/s"), "{stderr}");
}

#[test]
fn fuzz_json_reports_the_rate_and_the_finding() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.yaml");
    let o = wasme(&[
        "--message-format",
        "json",
        "fuzz",
        &format!("{DEFECTS}/defect-long-header"),
        "--runs",
        "2000",
        "--seed",
        "12",
        "--output",
        out.to_str().unwrap(),
    ]);
    let (stdout, _) = text(&o);
    let report: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["reason"] == "fuzz-report")
        .unwrap_or_else(|| panic!("a fuzz-report line in:\n{stdout}"));
    assert_eq!(report["finding"]["kind"], "vm-failed", "{report}");
    assert!(report["exchanges_per_second"].as_f64().unwrap() > 0.0);
}

fn bench_scenario(dir: &Path, body_len: usize) -> std::path::PathBuf {
    let file = dir.join(format!("upload-{body_len}.yaml"));
    std::fs::write(
        &file,
        format!(
            "module: unused.wasm\nsteps:\n  - name: upload\n    request: {{method: POST, path: /upload, body: \"{}\"}}\n",
            "ab".repeat(body_len / 2)
        ),
    )
    .unwrap();
    file
}

fn bench_json(crate_dir: &str, scenario: &Path, extra: &[&str]) -> (bool, String, String) {
    let dir = workspace().join(crate_dir);
    let mut args = vec![
        "--message-format",
        "json",
        "bench",
        dir.to_str().unwrap(),
        "--scenario",
        scenario.to_str().unwrap(),
        "--samples",
        "30",
    ];
    args.extend_from_slice(extra);
    let o = wasme_in(&workspace(), &args);
    let (stdout, stderr) = text(&o);
    (o.status.success(), stdout, stderr)
}

#[test]
fn bench_baseline_flags_the_quadratic_body_handler_only() {
    let dir = tempfile::tempdir().unwrap();
    // A 1 KiB upload: the quadratic handler's half a million comparisons per request already
    // dwarf add-header's count (the defect's comment: "fine on a 1 KiB test body"), and its
    // 30 samples run a quarter of the 2 KiB upload's work.
    let scenario = bench_scenario(dir.path(), 1024);
    // The baseline: add-header on the same upload.
    let (ok, stdout, stderr) = bench_json("filters/add-header", &scenario, &[]);
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&baseline, &stdout).unwrap();
    let report: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["reason"] == "bench-report")
        .unwrap_or_else(|| panic!("a bench-report line in:\n{stdout}"));
    let step = &report["steps"][0];
    assert_eq!(step["name"], "upload");
    assert!(
        step["instructions"].as_u64().unwrap() > step["baseline_instructions"].as_u64().unwrap()
    );
    let b = baseline.to_str().unwrap();
    // The same filter again: nothing to flag (instruction counts are deterministic).
    let (ok, stdout, stderr) = bench_json("filters/add-header", &scenario, &["--baseline", b]);
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    // The quadratic one on the same upload: flagged, exit 1.
    let (ok, stdout, stderr) = bench_json(
        &format!("{DEFECTS}/defect-quadratic"),
        &scenario,
        &["--baseline", b],
    );
    assert!(!ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("regression: upload: instructions per request"),
        "{stderr}"
    );
}

#[test]
fn bench_prints_a_table_for_the_default_request() {
    let o = wasme(&["bench", "-p", "add-header", "--samples", "30"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for needle in [
        "GET /",
        "on_request_headers",
        "on_response_headers",
        "instructions per request",
        "guest memory per live stream",
        "cold compile",
    ] {
        assert!(stdout.contains(needle), "{needle:?} in:\n{stdout}");
    }
}
