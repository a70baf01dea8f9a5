//! `cargo wasme fuzz` and `cargo wasme bench` through the real binary on real filters: the
//! planted defects of harness/tests/filters/defect-* are found with a fixed seed, their shrunk
//! scenarios fail under `cargo wasme test` for the same reason, add-header fuzzes clean, and
//! `bench --baseline` flags the quadratic body handler but not an unchanged filter.

use crate::author_support::{text, wasme, wasme_in, workspace};
use std::path::Path;

const DEFECTS: &str = "harness/tests/filters";

/// Fuzzes `crate_dir` (relative to the workspace) with seed 12 and returns the written
/// scenario's text and path; the run must fail.
fn finding(crate_dir: &str, extra: &[&str], out: &Path) -> String {
    let mut args = vec![
        "fuzz",
        crate_dir,
        "--runs",
        "2000",
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
    let scenario = bench_scenario(dir.path(), 2048);
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
