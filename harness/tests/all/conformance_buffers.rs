//! Conformance: `proxy_set_buffer_bytes` / `proxy_get_buffer_bytes` rules (reference §5).

use crate::conformance_support;

use conformance_support::{assert_logged, assert_not_logged, probe_host};
use wasme_harness::{HttpRequest, HttpResponse};

fn body_after(script: &str, body: &str) -> (wasme_harness::Host, Vec<u8>) {
    let mut host = probe_host(script);
    let ex = host
        .http_exchange(&HttpRequest::post("/", body), &HttpResponse::ok())
        .unwrap();
    let up = ex
        .upstream_request
        .expect("the request reaches the upstream");
    (host, up.body.to_vec())
}

#[test]
fn start_0_size_0_prepends_and_start_past_the_end_appends() {
    let (host, body) = body_after(
        "request_body set_buffer req_body 0 0 %3E%3E
         request_body set_buffer req_body 100 0 %3C%3C",
        "hello",
    );
    assert_logged(&host, "request_body.set_buffer req_body 0 0 %3E%3E = 0");
    assert_logged(&host, "request_body.set_buffer req_body 100 0 %3C%3C = 0");
    assert_eq!(body, b">>hello<<");
}

#[test]
fn replacing_the_whole_buffer_works() {
    let (host, body) = body_after("request_body set_buffer req_body 0 5 replaced", "hello");
    assert_logged(&host, "request_body.set_buffer req_body 0 5 replaced = 0");
    assert_eq!(body, b"replaced");
    let (_, body) = body_after("request_body set_buffer req_body 0 1000 bigger", "hello");
    assert_eq!(body, b"bigger");
}

#[test]
fn replacing_in_the_middle_is_bad_argument_and_changes_nothing() {
    let (host, body) = body_after("request_body set_buffer req_body 1 2 XX", "hello");
    assert_logged(&host, "request_body.set_buffer req_body 1 2 XX = 2");
    assert_eq!(body, b"hello");
}

#[test]
fn get_buffer_clamps_and_computes_in_64_bits() {
    let (host, _) = body_after(
        "request_body get_buffer req_body 0 4294967295
         request_body get_buffer req_body 2 4294967295
         request_body get_buffer req_body 1 3
         request_body buffer_status req_body",
        "hello",
    );
    assert_logged(
        &host,
        "request_body.get_buffer req_body 0 4294967295 = 0 \"hello\"",
    );
    assert_logged(
        &host,
        "request_body.get_buffer req_body 2 4294967295 = 0 \"llo\"",
    );
    assert_logged(&host, "request_body.get_buffer req_body 1 3 = 0 \"ell\"");
    let status = conformance_support::result(&host, "request_body.buffer_status req_body");
    assert!(status.starts_with("0 size=5"), "{status}");
}

#[test]
fn response_body_rules_are_the_same() {
    let mut host = probe_host(
        "response_body set_buffer resp_body 0 0 pre-
         response_body set_buffer resp_body 1 1 X",
    );
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("body"))
        .unwrap();
    assert_logged(&host, "response_body.set_buffer resp_body 0 0 pre- = 0");
    assert_logged(&host, "response_body.set_buffer resp_body 1 1 X = 2");
    assert_eq!(ex.client_response.body.to_vec(), b"pre-body");
}

/// proxy-wasm-cpp-host's `get_buffer_bytes` (`src/exports.cc`) clamps the length to the buffer
/// and copies only `if (length > 0)`: a zero-length read returns OK **without writing** the
/// return slots (unlike properties and header values, which write `(0, 0)`). solo.io's
/// AssemblyScript SDK 0.1.8 depends on it: its `onConfigure` with an empty configuration reads
/// 0 bytes into a reference whose size slot is stale, and traps if the pointer slot is zeroed.
#[test]
fn a_zero_length_get_buffer_leaves_the_return_slots_untouched() {
    use conformance_support::wat::{self, Wat};
    let module = wasme_harness::Module::from_bytes(wat::bytes(&Wat {
        imports: r#"(import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))"#,
        body: r#"
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (i32.store (i32.const 8000) (i32.const 777))
    (i32.store (i32.const 8004) (i32.const 888))
    (call $log_num STR("status=") (call $get (i32.const 7) (i32.const 0) (local.get $size) (i32.const 8000) (i32.const 8004)))
    (call $log_num STR("ptr=") (i32.load (i32.const 8000)))
    (call $log_num STR("size=") (i32.load (i32.const 8004)))
    (i32.const 1))
"#,
        ..Wat::default()
    }))
    .unwrap();
    // Empty configuration: nothing to copy, so the slots keep what the module put there.
    let host = wasme_harness::Host::builder(&module).build().unwrap();
    assert_logged(&host, "status=0");
    assert_logged(&host, "ptr=777");
    assert_logged(&host, "size=888");
    // A non-empty one is copied into a fresh allocation, as before.
    let host = wasme_harness::Host::builder(&module)
        .plugin_config("abc")
        .build()
        .unwrap();
    assert_logged(&host, "status=0");
    assert_logged(&host, "size=3");
    assert_not_logged(&host, "ptr=777");
}
