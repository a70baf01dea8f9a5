//! The host's own guarantees, checked with tiny hand-written modules: ABI detection, unknown
//! imports, deadlines, the memory cap, bad guest pointers, fail-closed.

use wasme_harness::{
    AbiVersion, FailureKind, FailurePolicy, HarnessError, Host, HttpRequest, HttpResponse,
    LogLevel, Module,
};

fn module(wat: &str) -> Module {
    Module::from_bytes(wat::parse_str(wat).expect("valid WAT")).expect("module loads")
}

/// A 0.2.1 module whose on_request_headers body is `body` (locals: none; must leave an i32).
fn filter(imports: &str, body: &str) -> String {
    format!(
        r#"(module
            {imports}
            (memory (export "memory") 1)
            (global $heap (mut i32) (i32.const 4096))
            (func (export "proxy_abi_version_0_2_1"))
            (func (export "malloc") (param $n i32) (result i32)
                (local $p i32)
                global.get $heap
                local.set $p
                global.get $heap
                local.get $n
                i32.add
                global.set $heap
                local.get $p)
            (func (export "proxy_on_context_create") (param i32 i32))
            (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
                {body}))"#
    )
}

#[test]
fn refuses_a_module_without_an_abi_marker() {
    let bytes = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let err = Module::from_bytes(bytes).unwrap_err();
    assert!(matches!(err, HarnessError::UnknownAbi), "{err}");
    assert!(
        err.to_string()
            .contains("missing or unknown Proxy-Wasm ABI version")
    );
    let vnext = wat::parse_str(r#"(module (func (export "proxy_abi_version_0_x_x")))"#).unwrap();
    assert!(matches!(
        Module::from_bytes(vnext),
        Err(HarnessError::UnknownAbi)
    ));
}

#[test]
fn detects_abi_0_1_0() {
    let m = module(r#"(module (func (export "proxy_abi_version_0_1_0")))"#);
    assert_eq!(m.abi(), AbiVersion::V0_1_0);
}

#[test]
fn an_unknown_import_is_refused_at_load_as_envoy_does() {
    let bytes = wat::parse_str(filter(
        r#"(import "env" "proxy_does_not_exist" (func $x (result i32)))"#,
        "call $x",
    ))
    .unwrap();
    let err = Module::from_bytes(bytes).expect_err("Envoy refuses the module");
    assert!(matches!(err, HarnessError::Load(_)), "{err}");
    assert!(
        err.to_string().contains(
            "Failed to load Wasm module due to a missing import: env.proxy_does_not_exist"
        ),
        "{err}"
    );
}

#[test]
fn legacy_fail_open_skips_the_plugin_even_for_the_failing_stream() {
    let m = module(&filter("", "unreachable"));
    let mut host = Host::builder(&m)
        .failure_policy(FailurePolicy::LegacyFailOpen)
        .build()
        .unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/a"), &HttpResponse::ok().body("x"))
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(ex.upstream_request.unwrap().header(":path"), Some("/a"));
    assert!(host.failure().is_some());
}

#[test]
fn fail_reload_builds_a_fresh_vm() {
    // Every VM traps; each later stream gets a fresh one first.
    let m = module(&filter("", "unreachable"));
    let mut host = Host::builder(&m)
        .failure_policy(FailurePolicy::FailReload)
        .build()
        .unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(503));
    assert_eq!(host.reloads(), 0);
    host.advance_clock(std::time::Duration::from_secs(2))
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(host.reloads(), 1);
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline() {
    let m = module(&filter("", "(loop br 0) i32.const 0"));
    let mut host = Host::builder(&m)
        .deadline(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(503));
    let failure = host.failure().unwrap();
    assert_eq!(failure.kind, FailureKind::Deadline);
    assert!(failure.message.contains("deadline"), "{}", failure.message);
}

#[test]
fn linear_memory_is_capped() {
    // Grows by 100 pages (6.4 MiB) against a 1 MiB cap: memory.grow fails (-1), then traps.
    let m = module(&filter(
        "",
        "i32.const 100 memory.grow i32.const -1 i32.eq (if (then unreachable)) i32.const 0",
    ));
    let mut host = Host::builder(&m).memory_limit(1 << 20).build().unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(host.failure().unwrap().kind, FailureKind::MemoryLimit);
}

#[test]
fn out_of_bounds_pointers_are_invalid_memory_access() {
    // proxy_log with a pointer past the end of memory; the status is returned as the action
    // so the test can see it: 6 → Pause (non-zero).
    let m = module(&filter(
        r#"(import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
           (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))"#,
        "i32.const 2 i32.const 65530 i32.const 100 call $log
         i32.const 6 i32.ne (if (then unreachable))
         i32.const 2 i32.const -1 i32.const 0xffff call $log
         i32.const 6 i32.ne (if (then unreachable))
         ;; return pointers out of bounds too
         i32.const 0 i32.const 70000 i32.const 8 call $pairs
         i32.const 6 i32.ne (if (then unreachable))
         i32.const 0",
    ));
    let mut host = Host::builder(&m).build().unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert!(host.failure().is_none(), "{:?}", host.failure());
    assert_eq!(ex.client_response.status(), Some(200));
}

#[test]
fn an_allocator_returning_zero_is_invalid_memory_access() {
    let wat = r#"(module
        (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "malloc") (param i32) (result i32) i32.const 0)
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
            i32.const 0 i32.const 100 i32.const 104 call $pairs
            i32.const 6 i32.ne (if (then unreachable))
            i32.const 0))"#;
    let mut host = Host::builder(&module(wat)).build().unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert!(host.failure().is_none(), "{:?}", host.failure());
}

#[test]
fn wasi_stdout_goes_to_the_log() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_unstable" "fd_write" (func $w2 (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "hello\n")
        (data (i32.const 0) "\64\00\00\00\06\00\00\00")
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "malloc") (param i32) (result i32) (i32.const 1024))
        (func (export "_initialize")
            i32.const 1 i32.const 0 i32.const 1 i32.const 16 call $w drop
            i32.const 2 i32.const 0 i32.const 1 i32.const 16 call $w2 drop
            i32.const 3 i32.const 0 i32.const 0 i32.const 0 i32.const 0 i64.const 0 i64.const 0 i32.const 0 i32.const 0
            call $open i32.const 8 i32.ne (if (then unreachable))))"#;
    let host = Host::builder(&module(wat)).build().unwrap();
    assert_eq!(host.logs_at(LogLevel::Info)[0].message, "hello");
    assert_eq!(host.logs_at(LogLevel::Error)[0].message, "hello");
}
