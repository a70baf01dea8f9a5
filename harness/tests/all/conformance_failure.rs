//! Conformance: failures — traps, failure policies, deadlines, memory limits, bad pointers
//! (reference §7).

use crate::conformance_support;

use std::time::Duration;

use conformance_support::wat::{self, LIFECYCLE, Wat};
use conformance_support::{assert_logged, callbacks, header, messages, probe, probe_builder};
use wasme_harness::{
    FailurePolicy, HarnessError, Host, HttpRequest, HttpResponse, LogLevel, Module,
};

fn creates(host: &Host) -> usize {
    callbacks(host)
        .iter()
        .filter(|e| e.starts_with("> create ctx="))
        .count()
}

#[test]
fn a_trap_fails_the_stream_closed_with_503_and_the_vm_for_good() {
    let mut host = probe_host_with(
        "request_headers panic boom
         configure tick_period 100",
        FailurePolicy::FailClosed,
    );
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("upstream"))
        .unwrap();
    // 503, empty body, details wasm_fail_stream.
    let reply = ex.local_reply.as_ref().expect("a local reply");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.details, "wasm_fail_stream");
    assert!(ex.upstream_request.is_none());
    assert_eq!(ex.client_response.status(), Some(503));
    assert!(ex.client_response.body.is_empty());
    // The SDK's panic hook logged the message at critical before the trap.
    assert!(
        host.logs_at(LogLevel::Critical)
            .iter()
            .any(|l| l.message.contains("probe panic: boom")),
        "{:?}",
        messages(&host)
    );
    // The VM keeps the failure: the callback and the panic message, with a backtrace.
    let failure = host.failure().expect("the VM is failed");
    assert!(
        failure.callback.contains("proxy_on_request_headers"),
        "{failure:?}"
    );
    assert!(
        failure
            .message
            .starts_with("Function: proxy_on_request_headers failed"),
        "{failure:?}"
    );
    assert!(
        failure
            .panic_message
            .as_deref()
            .is_some_and(|m| m.contains("probe panic: boom")),
        "{failure:?}"
    );
    assert!(failure.backtrace.is_some(), "{failure:?}");
    // For good: the next stream gets 503 without the filter being asked.
    let before = creates(&host);
    let ex = host
        .http_exchange(&HttpRequest::get("/again"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(503));
    assert_eq!(
        ex.local_reply.map(|r| r.details),
        Some("wasm_fail_stream".to_string())
    );
    assert_eq!(creates(&host), before);
    // Root callbacks of a failed VM are no-ops.
    host.advance_clock(Duration::from_secs(1)).unwrap();
    assert!(!callbacks(&host).iter().any(|e| e.starts_with("> tick")));
}

fn probe_host_with(script: &str, policy: FailurePolicy) -> Host {
    let module = probe();
    probe_builder(&module, script)
        .failure_policy(policy)
        .build()
        .unwrap()
}

#[test]
fn a_trap_in_a_network_filter_closes_the_connection() {
    let mut host = probe_host_with(
        "mode tcp\ndownstream_data panic tcp-boom",
        FailurePolicy::FailClosed,
    );
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    let _ = c.downstream_data(b"x", false);
    assert_eq!(
        c.closed_details().as_deref(),
        Some("wasm_fail_stream"),
        "a failed network filter closes the connection"
    );
    drop(c);
    assert!(host.failure().is_some());
}

/// Envoy's `PluginConfigTest.FailOpenPolicy` (test/extensions/common/wasm/wasm_test.cc): under
/// `failure_policy: FAIL_OPEN` the stream whose callback failed the VM still gets the 503
/// (`CHECK_FAIL` continues only for the legacy `fail_open` field); later streams skip the plugin.
#[test]
fn fail_open_fails_the_failing_stream_and_skips_the_plugin_afterwards() {
    let mut host = probe_host_with(
        "request_headers panic_if req x-crash
         response_headers add_header resp x-probe seen",
        FailurePolicy::FailOpen,
    );
    let ex = host
        .http_exchange(
            &HttpRequest::get("/").header("x-crash", "1"),
            &HttpResponse::ok().body("up"),
        )
        .unwrap();
    assert!(host.failure().is_some());
    assert!(
        ex.upstream_request.is_none(),
        "the failing stream is failed"
    );
    assert_eq!(
        ex.local_reply.map(|r| (r.status, r.details)),
        Some((503, "wasm_fail_stream".to_string()))
    );
    let before = creates(&host);
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("up"))
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(ex.client_response.body.to_vec(), b"up");
    assert_eq!(
        header(&ex.client_response.headers, "x-probe"),
        None,
        "the plugin is skipped"
    );
    assert_eq!(creates(&host), before);
}

/// The deprecated `fail_open: true` (what Istio generated before 1.25): proxy-wasm-cpp-host's
/// `CHECK_FAIL` returns Continue, so even the failing stream flows on without the plugin.
#[test]
fn legacy_fail_open_lets_the_failing_stream_through() {
    let mut host = probe_host_with(
        "request_headers panic_if req x-crash",
        FailurePolicy::LegacyFailOpen,
    );
    let ex = host
        .http_exchange(
            &HttpRequest::get("/").header("x-crash", "1"),
            &HttpResponse::ok().body("up"),
        )
        .unwrap();
    assert!(host.failure().is_some());
    assert!(ex.upstream_request.is_some());
    assert_eq!(ex.client_response.status(), Some(200));
}

#[test]
fn fail_reload_serves_later_streams_from_a_fresh_vm() {
    let mut host = probe_host_with(
        "request_headers panic_if req x-crash
         response_headers add_header resp x-probe seen",
        FailurePolicy::FailReload,
    );
    let ex = host
        .http_exchange(
            &HttpRequest::get("/").header("x-crash", "1"),
            &HttpResponse::ok(),
        )
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(503));
    // Past Envoy's reload backoff (1 s base, up to 1.5 s with jitter) since the VM was loaded.
    host.advance_clock(std::time::Duration::from_secs(2))
        .unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(header(&ex.client_response.headers, "x-probe"), Some("seen"));
    // A second root was created, started and configured for the fresh VM.
    let roots = callbacks(&host)
        .iter()
        .filter(|e| e.starts_with("> create_root"))
        .count();
    assert_eq!(roots, 2, "{:?}", callbacks(&host));
}

#[test]
fn start_or_configure_returning_false_is_reported_as_such() {
    let module = probe();
    let err = probe_builder(&module, "")
        .vm_config("vm_start return 0")
        .build()
        .expect_err("on_vm_start returned false");
    assert!(matches!(err, HarnessError::StartFailed { .. }), "{err:?}");
    let err = probe_builder(&module, "configure log 4 bad-config\nconfigure return 0")
        .build()
        .expect_err("on_configure returned false");
    match &err {
        HarnessError::ConfigureFailed { root_id, logs } => {
            assert_eq!(root_id, "probe");
            assert!(logs.iter().any(|l| l.message == "bad-config"), "{logs:?}");
        }
        other => panic!("expected ConfigureFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("bad-config"), "{err}");
}

#[test]
fn an_endless_loop_is_stopped_by_the_deadline() {
    let module = probe();
    let mut host = probe_builder(&module, "request_headers spin")
        .deadline(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the guest was stopped"
    );
    let text = match &outcome {
        Ok(ex) => {
            assert_eq!(ex.client_response.status(), Some(503), "fail closed");
            format!("{:?}", host.failure())
        }
        Err(e) => e.to_string(),
    };
    assert!(
        text.to_lowercase().contains("deadline"),
        "a clear error: {text}"
    );
    assert!(host.failure().is_some(), "the VM is failed");
}

#[test]
fn an_endless_loop_at_start_up_fails_the_build_clearly() {
    let bytes = wat::bytes(&Wat {
        body: r#"
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))"#,
        ..Wat::default()
    });
    let module = Module::from_bytes(&bytes).unwrap();
    let err = Host::builder(&module)
        .deadline(Duration::from_millis(200))
        .build()
        .expect_err("a looping on_vm_start cannot start");
    assert!(err.to_string().to_lowercase().contains("deadline"), "{err}");
}

#[test]
fn linear_memory_is_capped() {
    let module = probe();
    let host = probe_builder(&module, "configure grow 1\nconfigure grow 1000")
        .memory_limit(8 << 20)
        .build()
        .unwrap();
    let small = conformance_support::result(&host, "configure.grow 1");
    assert!(!small.starts_with("-1"), "one page fits: {small}");
    assert_logged(&host, "configure.grow 1000 = -1");
}

#[test]
fn a_module_declaring_more_than_1_gib_is_refused_by_default() {
    let bytes = wat::bytes(&Wat {
        pages: 16385,
        body: LIFECYCLE,
        ..Wat::default()
    });
    let module = Module::from_bytes(&bytes).unwrap();
    let err = Host::builder(&module)
        .build()
        .expect_err("1 GiB + 64 KiB of initial memory is over the cap");
    assert!(err.to_string().to_lowercase().contains("memory"), "{err}");
    let ok = wat::bytes(&Wat {
        pages: 16384,
        body: LIFECYCLE,
        ..Wat::default()
    });
    let module = Module::from_bytes(&ok).unwrap();
    Host::builder(&module)
        .build()
        .expect("exactly 1 GiB is allowed");
}

/// Calls with pointers beyond memory, logging each status with `$log_num`.
const OOB: &str = r#"
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ;; message beyond memory
    (call $log_num STR("log_oob=") (call $proxy_log (i32.const 2) (i32.const 0xFFFFFF00) (i32.const 16)))
    ;; ptr + len overflows 32 bits
    (call $log_num STR("log_wrap=") (call $proxy_log (i32.const 2) (i32.const 0xFFFFFFFF) (i32.const 2)))
    ;; return pointers beyond memory
    (call $log_num STR("get_header_ret_oob=")
      (call $get_value (i32.const 0) STR(":path") (i32.const 0xFFFFFFF0) (i32.const 0xFFFFFFF8)))
    ;; key beyond memory
    (call $log_num STR("get_header_key_oob=")
      (call $get_value (i32.const 0) (i32.const 0x7FFFFFF0) (i32.const 8) (i32.const 512) (i32.const 520)))
    (call $log_num STR("still_alive=") (i32.const 1))
    (i32.const 0))
"#;

#[test]
fn out_of_bounds_guest_pointers_are_invalid_memory_access() {
    let bytes = wat::bytes(&Wat {
        imports: r#"(import "env" "proxy_get_header_map_value" (func $get_value (param i32 i32 i32 i32 i32) (result i32)))"#,
        body: &format!("{LIFECYCLE}{OOB}"),
        ..Wat::default()
    });
    let module = Module::from_bytes(&bytes).unwrap();
    let mut host = Host::builder(&module).build().unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    for line in [
        "log_oob=6",
        "log_wrap=6",
        "get_header_ret_oob=6",
        "get_header_key_oob=6",
        "still_alive=1",
    ] {
        conformance_support::assert_logged(&host, line);
    }
    assert!(
        host.failure().is_none(),
        "bad pointers are a status, not a failure"
    );
}

#[test]
fn an_allocator_returning_0_is_invalid_memory_access() {
    let bytes = wat::bytes(&Wat {
        imports: r#"(import "env" "proxy_get_header_map_value" (func $get_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))"#,
        malloc: "(i32.const 0)",
        body: &format!(
            "{LIFECYCLE}{}",
            r#"
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $log_num STR("get_header=")
      (call $get_value (i32.const 0) STR(":path") (i32.const 512) (i32.const 520)))
    (call $log_num STR("get_property=")
      (call $get_property STR("plugin_name") (i32.const 512) (i32.const 520)))
    (i32.const 0))"#
        ),
        ..Wat::default()
    });
    let module = Module::from_bytes(&bytes).unwrap();
    let mut host = Host::builder(&module).plugin_name("p").build().unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    conformance_support::assert_logged(&host, "get_header=6");
    conformance_support::assert_logged(&host, "get_property=6");
}

#[test]
fn an_unknown_import_fails_the_load_naming_it() {
    // Envoy links every import before anything runs: an import it does not provide fails the
    // load (proxy-wasm-cpp-host: "Failed to load Wasm module due to a missing import"), not
    // the call.
    let bytes = wat::bytes(&Wat {
        imports: r#"(import "env" "proxy_frobnicate" (func $frob (param i32) (result i32)))"#,
        body: LIFECYCLE,
        ..Wat::default()
    });
    let err = Module::from_bytes(&bytes).expect_err("refused at load");
    assert!(
        err.to_string()
            .contains("missing import: env.proxy_frobnicate"),
        "the message names the import: {err}"
    );
}
