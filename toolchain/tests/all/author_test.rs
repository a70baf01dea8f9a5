//! `cargo wasme test`: the real binary runs real scenario files against real filters in the
//! harness.

use crate::author_support;

use author_support::{add_header_wasm, text, wasme, wasme_in, workspace};

#[test]
fn add_header_scenarios_pass_and_write_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let out = wasme(&[
        "test",
        "filters/add-header/scenarios",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("test result: ok. 3 of 3 scenario(s) passed"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.contains("<testcase name=\"startup\""), "{xml}");
}

#[test]
fn default_discovery_runs_the_crate_scenarios() {
    // No arguments: the scenarios/ of the crate around the current directory (src/ here).
    let out = wasme_in(&workspace().join("filters/add-header/src"), &["test"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("3 of 3 scenario(s) passed"), "{stdout}");
}

#[test]
fn a_failing_expectation_prints_a_diff_and_fails() {
    let wasm = add_header_wasm();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wrong.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
module: {wasm:?}
config: {{name: x-demo, value: "1"}}
steps:
  - name: wrong value
    request: {{path: /}}
    response: {{body: "line one\nline two\n"}}
    expect:
      client:
        headers: {{x-demo: "2"}}
        body: "line one\nline 2\n"
      metrics: {{never_defined: 1}}
  - name: right value
    request: {{path: /}}
    expect:
      client: {{headers: {{x-demo: "1"}}}}
"#
        ),
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let out = wasme(&[
        "test",
        file.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("step 1: wrong value ... FAILED"),
        "{stdout}"
    );
    assert!(stdout.contains("step 2: right value ... ok"), "{stdout}");
    assert!(stdout.contains("client.headers[\"x-demo\"]"), "{stdout}");
    assert!(stdout.contains("expected: \"2\""), "{stdout}");
    assert!(stdout.contains("actual:   \"1\""), "{stdout}");
    // The whole header list is shown, and the multi-line body as a diff.
    assert!(stdout.contains("x-demo: 1"), "{stdout}");
    assert!(
        stdout.contains("-line 2") && stdout.contains("+line two"),
        "{stdout}"
    );
    assert!(stdout.contains("metrics[\"never_defined\"]"), "{stdout}");
    assert!(stdout.contains("test result: FAILED. 0 of 1"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"3 expectation(s) failed\">"),
        "{xml}"
    );
}

#[test]
fn malformed_scenarios_point_at_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "module: x.wasm\nsteps:\n  - request:\n      path: /\n      metod: POST\n",
    )
    .unwrap();
    let out = wasme(&["test", file.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let at = format!(
        "{}:5:7: invalid scenario: steps[0].request: unknown field `metod`",
        file.display()
    );
    assert!(stderr.contains(&at), "{stderr}");
    assert!(stdout.contains("1 file(s) could not be read"), "{stdout}");
}

#[test]
fn a_refused_configuration_points_at_the_config_line() {
    let wasm = add_header_wasm();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cfg.yaml");
    std::fs::write(
        &file,
        format!(
            "module: {wasm:?}\n\nconfig: {{name: \"a b\", value: v}}\nsteps:\n  - request: {{}}\n"
        ),
    )
    .unwrap();
    let out = wasme(&["test", file.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("`config` at {}:3", file.display())),
        "{stdout}"
    );
    assert!(stdout.contains("not a valid header name"), "{stdout}");
}

#[test]
fn a_missing_module_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.yaml");
    std::fs::write(&file, "module: nowhere.wasm\nsteps: [{request: {}}]\n").unwrap();
    let out = wasme(&["test", file.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("nowhere.wasm"), "{stdout}");
}

#[test]
fn no_scenarios_found_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = wasme_in(dir.path(), &["test"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("no scenario files found"), "{stderr}");
}

#[test]
fn every_library_filter_scenario_passes() {
    // The scenario files shipped with filters/*: this is how `.ci/run` runs them.
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(workspace().join("filters")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("scenarios").is_dir() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    assert!(dirs.len() >= 5, "scenario directories: {dirs:?}");
    let args: Vec<String> = std::iter::once("test".to_string())
        .chain(dirs.iter().map(|d| d.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wasme(&args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("test result: ok."), "{stdout}");
}
