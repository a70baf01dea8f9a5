//! `cargo wasme run`: the real binary sends one request through a real filter in the harness.

use crate::author_support;

use author_support::{add_header_wasm, text, wasme};

#[test]
fn shows_upstream_client_and_logs() {
    let wasm = add_header_wasm();
    let out = wasme(&[
        "run",
        wasm.to_str().unwrap(),
        "-X",
        "POST",
        "--path",
        "/submit",
        "-H",
        "x-user: alice",
        "--body",
        "payload",
        "--config",
        r#"{"name":"x-demo","value":"42"}"#,
        "--response-status",
        "201",
        "--response-body",
        "created",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let upstream = stdout
        .find("── upstream received ──")
        .expect("upstream section");
    let client = stdout
        .find("── client received ──")
        .expect("client section");
    assert!(upstream < client, "{stdout}");
    let (up, down) = stdout.split_at(client);
    assert!(up[upstream..].contains(":method: POST"), "{stdout}");
    assert!(
        up.contains(":path: /submit") && up.contains("x-user: alice"),
        "{stdout}"
    );
    assert!(up.contains("payload"), "{stdout}");
    assert!(
        !up.contains("x-demo"),
        "the request must not get the header: {stdout}"
    );
    assert!(
        down.contains(":status: 201") && down.contains("x-demo: 42"),
        "{stdout}"
    );
    assert!(down.contains("created"), "{stdout}");
    assert!(stdout.contains("── logs ──"), "{stdout}");
    assert!(
        !stdout.contains("hostcall trace"),
        "no trace without --trace: {stdout}"
    );
}

#[test]
fn trace_shows_hostcalls() {
    let wasm = add_header_wasm();
    let out = wasme(&["run", wasm.to_str().unwrap(), "--trace"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("── hostcall trace ──"), "{stdout}");
    assert!(stdout.contains("proxy_add_header_map_value"), "{stdout}");
    // add-header's default configuration: `hello: world`.
    assert!(stdout.contains("hello: world"), "{stdout}");
}

#[test]
fn a_refused_configuration_fails_with_the_filter_log() {
    let wasm = add_header_wasm();
    let out = wasme(&["run", wasm.to_str().unwrap(), "--config", "{\"name\": 1}"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("on_configure"), "{stderr}");
    assert!(stderr.contains("invalid plugin configuration"), "{stderr}");
}

#[test]
fn bad_modules_and_flags_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let not_proxy = dir.path().join("empty.wasm");
    std::fs::write(&not_proxy, b"\0asm\x01\0\0\0").unwrap();
    let out = wasme(&["run", not_proxy.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("ABI"), "{stderr}");

    let out = wasme(&["run", "no/such/file.wasm"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("no/such/file.wasm"), "{stderr}");

    let wasm = add_header_wasm();
    let out = wasme(&["run", wasm.to_str().unwrap(), "-H", "no-colon"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--header \"no-colon\""), "{stderr}");

    let out = wasme(&["run", wasm.to_str().unwrap(), "--cluster", "auth=abc"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--cluster \"auth=abc\""), "{stderr}");
}

#[test]
fn request_files_use_the_scenario_format() {
    let wasm = add_header_wasm();
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("req.yaml");
    std::fs::write(
        &req,
        "method: PUT\npath: /from-file\nheaders: {x-from: file}\nbody: hi\n",
    )
    .unwrap();
    let out = wasme(&[
        "run",
        wasm.to_str().unwrap(),
        "--request-file",
        req.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(":method: PUT") && stdout.contains(":path: /from-file"),
        "{stdout}"
    );
    assert!(stdout.contains("x-from: file"), "{stdout}");

    std::fs::write(&req, "method: PUT\npaht: /x\n").unwrap();
    let out = wasme(&[
        "run",
        wasm.to_str().unwrap(),
        "--request-file",
        req.to_str().unwrap(),
    ]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("{}:2:1", req.display())),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `paht`"), "{stderr}");
}
