//! Hostile guests, continued (issue 13): modules Envoy refuses to load, and two cases on what
//! the host reports; split from `reliability_guest.rs` (its WAT skeleton is reused here).

use crate::reliability_guest::{SLOT, STATIC, load, module, repeat, request, response};
use std::time::Duration;
use wasme_harness::{Host, HttpRequest, HttpResponse, Module};

// ---- modules Envoy refuses to load ----

fn minimal(imports: &str, exports: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {imports}
  (memory (export "memory") 1)
  {exports}
  (func (export "proxy_abi_version_0_2_1")))"#
    ))
    .unwrap()
}

const MALLOC: &str = r#"(func (export "malloc") (param i32) (result i32) (i32.const 1024))"#;

/// The error building a host from `bytes` (loading, or creating the VM).
fn start_error(bytes: &[u8]) -> String {
    match Module::from_bytes(bytes).and_then(|m| Host::builder(&m).build()) {
        Ok(_) => panic!("the module started"),
        Err(e) => e.to_string(),
    }
}

fn load_error(bytes: &[u8]) -> String {
    match Module::from_bytes(bytes) {
        Ok(_) => panic!("the module loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_module_without_an_allocator_is_refused_before_it_runs() {
    let err = start_error(&minimal("", ""));
    assert!(
        err.contains("Wasm module is missing malloc function."),
        "{err}"
    );
    // proxy_on_memory_allocate is accepted instead, as in Envoy.
    let alt = minimal(
        "",
        r#"(func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))"#,
    );
    let m = Module::from_bytes(alt).unwrap();
    Host::builder(&m)
        .build()
        .expect("proxy_on_memory_allocate is an allocator");
    // An allocator of the wrong type is refused too.
    let bad = minimal(
        "",
        r#"(func (export "malloc") (param i64) (result i32) (i32.const 0))"#,
    );
    assert!(start_error(&bad).contains("(i32) -> i32"));
}

#[test]
fn unknown_imports_are_refused_at_load_with_envoys_message() {
    for (import, name) in [
        (
            r#"(import "env" "proxy_frobnicate" (func (param i32) (result i32)))"#,
            "env.proxy_frobnicate",
        ),
        (
            r#"(import "other_module" "thing" (func))"#,
            "other_module.thing",
        ),
        (
            r#"(import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))"#,
            "wasi_snapshot_preview1.sock_open",
        ),
        // ABI 0.1.0's hostcall is not registered for a 0.2.1 module.
        (
            r#"(import "env" "proxy_get_configuration" (func (param i32 i32) (result i32)))"#,
            "env.proxy_get_configuration",
        ),
        (
            r#"(import "env" "some_global" (global i32))"#,
            "env.some_global",
        ),
    ] {
        let err = load_error(&minimal(import, MALLOC));
        assert!(
            err.contains(&format!(
                "Failed to load Wasm module due to a missing import: {name}"
            )),
            "{err}"
        );
    }
    // What Envoy registers loads, even where the harness only stubs it.
    let ok = minimal(
        r#"(import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))
  (import "env" "emscripten_notify_memory_growth" (func (param i32)))"#,
        MALLOC,
    );
    Module::from_bytes(ok).expect("Envoy provides these imports");
}

#[test]
fn a_non_wasm_binary_is_not_a_webassembly_module() {
    let elf = b"\x7fELF\x02\x01\x01\x00\xff\xfe binary junk";
    let err = load_error(elf);
    assert!(err.contains("not a WebAssembly module"), "{err}");
    assert!(err.contains("7f 45 4c 46"), "{err}");
    assert!(!err.contains("utf-8"), "never parsed as text: {err}");
    assert!(load_error(b"").contains("not a WebAssembly module"));
}

#[test]
fn wasm_files_are_never_parsed_as_wat_but_wat_files_are() {
    let dir = std::env::temp_dir().join(format!("wasme-reliability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        r#"(module (memory (export "memory") 1) {MALLOC} (func (export "proxy_abi_version_0_2_1")))"#
    );
    let as_wasm = dir.join("text.wasm");
    std::fs::write(&as_wasm, &text).unwrap();
    let err = Module::from_file(&as_wasm)
        .expect_err("a .wasm file is binary")
        .to_string();
    assert!(
        err.contains("not a WebAssembly module") && err.contains("text.wasm"),
        "{err}"
    );
    assert!(err.contains(".wat"), "says what to do: {err}");
    let as_wat = dir.join("filter.wat");
    std::fs::write(&as_wat, &text).unwrap();
    Module::from_file(&as_wat).expect("a .wat file is text");
    // Text that looks like WAT is accepted from bytes (after comments).
    Module::from_bytes(format!(";; a filter\n(; block ;)\n{text}")).expect("WAT bytes load");
    // A module over the size limit is refused before it is read (a sparse file).
    let huge = dir.join("huge.wasm");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(wasme_harness::MAX_MODULE_BYTES as u64 + 1)
        .unwrap();
    let err = Module::from_file(&huge).expect_err("too big").to_string();
    assert!(err.contains("over the limit"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- local replies: the status the filter gave is the status the client sees ----

#[test]
fn an_out_of_range_local_reply_status_is_the_same_in_the_reply_and_at_the_client() {
    let text = r#"(module
  (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $reply (i32.const -1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
    (i32.const 0)))"#;
    let m = load(&wat::parse_str(text).unwrap());
    let mut host = Host::builder(&m).build().unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let reply = ex.local_reply.expect("a local reply");
    // Envoy passes the u32 through (`static_cast<Http::Code>`, printed with enumToInt).
    assert_eq!(reply.status, u32::MAX);
    assert_eq!(ex.client_response.header(":status"), Some("4294967295"));
}

#[test]
fn a_hostcall_flood_with_tracing_on_is_capped_with_a_marker() {
    // 150,000 calls are 300,000 trace lines, over the 200,000-line cap.
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            150_000,
            &format!(
                "(drop (call $get_header (i32.const 0) (i32.const {p}) (i32.const 5) (i32.const {SLOT}) (i32.const {r})))",
                p = STATIC + 20,
                r = SLOT + 4
            ),
        ),
        false,
    ));
    let mut host = Host::builder(&m)
        .deadline(Duration::from_secs(60))
        .trace(true)
        .build()
        .unwrap();
    host.http_exchange(&request(), &response()).unwrap();
    assert!(host.failure().is_none());
    let trace = host.trace();
    assert_eq!(trace.len(), 200_001);
    let markers: Vec<&String> = trace
        .iter()
        .filter(|l| l.contains("trace truncated"))
        .collect();
    assert_eq!(markers.len(), 1, "{markers:?}");
    assert_eq!(trace.last(), Some(markers[0]));
}
