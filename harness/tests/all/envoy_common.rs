//! Envoy's common Wasm tests, mirrored: `test/extensions/common/wasm/wasm_test.cc`
//! (`WasmCommonTest`, `WasmCommonContextTest`, `WasmLocalReplyTest`, `PluginConfigTest`),
//! against the code they exercise: source/extensions/common/wasm/{context,wasm}.cc and
//! proxy-wasm-cpp-host src/{wasm,context,exports}.cc.
//!
//! Envoy's test filters (`test_cpp.cc`, `test_context_cpp.cc`, `test_restriction_cpp.cc`) are
//! replaced by the scriptable probe and by hand-written modules (WAT) that make the same calls.
//! Tests of Envoy's own machinery with no guest-visible behaviour (stats event names, the VM
//! and code caches, remote code fetching, DNS) are listed as not applicable in the README's
//! conformance matrix, with the reason.

use crate::conformance_support::wat::{self, Wat};
use crate::conformance_support::{
    assert_logged, callbacks, probe, probe_builder, probe_host, result,
};
use std::time::Duration;
use wasme_harness::{
    FailureKind, FailurePolicy, HarnessError, Host, HttpRequest, HttpResponse, LogLevel, Module,
};

fn logged_at(host: &Host, level: LogLevel, message: &str) -> bool {
    host.logs()
        .iter()
        .any(|l| l.level == level && l.message == message)
}

/// `WasmCommonTest.Logging`: the VM configuration in on_vm_start, the plugin configuration in
/// on_configure, each log level, `proxy_get_log_level` answering the logger's level (debug = 1
/// here, so the trace line is dropped as Envoy's logger drops it), on_done and on_delete when
/// the plugin shuts down.
#[test]
fn logging() {
    let module = probe();
    let mut host = probe_builder(
        &module,
        "configure get_buffer plugin_config 0 100
         configure log 0 test%20trace%20logging
         configure log 1 test%20debug%20logging
         configure log 3 test%20warn%20logging
         configure log 4 test%20error%20logging
         configure log_level
         done log 2 on_done%20logging",
    )
    .vm_config("vm_start get_buffer vm_config 0 9")
    .log_level(LogLevel::Debug)
    .build()
    .unwrap();
    assert_eq!(
        result(&host, "vm_start.get_buffer vm_config 0 9"),
        "0 \"vm_start \""
    );
    assert!(
        result(&host, "configure.get_buffer plugin_config 0 100").starts_with("0 \"configure"),
        "the plugin configuration is readable in on_configure"
    );
    assert!(!logged_at(&host, LogLevel::Trace, "test trace logging"));
    assert!(logged_at(&host, LogLevel::Debug, "test debug logging"));
    assert!(logged_at(&host, LogLevel::Warn, "test warn logging"));
    assert!(logged_at(&host, LogLevel::Error, "test error logging"));
    assert_eq!(result(&host, "configure.log_level"), "0 1");
    host.shutdown().unwrap();
    assert!(logged_at(&host, LogLevel::Info, "on_done logging"));
    assert_logged(&host, "> delete ctx=1");
}

/// `WasmCommonTest.BadSignature`: a module exporting a proxy-wasm callback with the wrong
/// signature loads but does not initialize (the harness refuses to start a host on it).
#[test]
fn bad_signature() {
    let module = Module::from_bytes(wat::bytes(&Wat {
        body: r#"(func (export "proxy_on_vm_start") (param i32) (result i32) (i32.const 1))"#,
        ..Default::default()
    }))
    .expect("it loads");
    let err = Host::builder(&module)
        .build()
        .expect_err("a bad callback signature fails the VM");
    assert!(err.to_string().contains("proxy_on_vm_start"), "{err}");
}

/// A module whose on_vm_start logs `message` at error, then runs `crash`.
fn crashing_start(message: &str, crash: &str) -> Module {
    Module::from_bytes(wat::bytes(&Wat {
        body: &format!(
            r#"(func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (drop (call $proxy_log (i32.const 4) STR("{message}")))
    {crash})
  (func (export "proxy_on_context_create") (param i32 i32))"#
        ),
        ..Default::default()
    }))
    .unwrap()
}

/// The error a host built on `module` fails with (its on_vm_start crashes).
fn start_failure(module: &Module) -> String {
    match Host::builder(module).build() {
        Ok(_) => panic!("the VM must fail in on_vm_start"),
        Err(HarnessError::Trap(f)) => f.message,
        Err(e) => e.to_string(),
    }
}

/// `WasmCommonTest.Segv`: a bad memory access in on_vm_start fails the VM.
#[test]
fn segv() {
    let module = crashing_start(
        "before badptr",
        "(drop (i32.load (i32.const -4))) (i32.const 1)",
    );
    let message = start_failure(&module);
    assert!(message.contains("proxy_on_vm_start"), "{message}");
}

/// `WasmCommonTest.DivByZero`: an integer division by zero in on_vm_start fails the VM.
#[test]
fn div_by_zero() {
    let module = crashing_start(
        "before div by zero",
        "(i32.div_s (i32.const 1) (i32.const 0))",
    );
    let message = start_failure(&module);
    assert!(message.contains("divide by zero"), "{message}");
}

/// `WasmCommonTest.Utilities` (its guest-visible half): a buffer accepts only a replacement of
/// everything, a prepend or an append (`Buffer::copyFrom`), so (start 1, length 1) is
/// BAD_ARGUMENT; reading past a guest pointer is INVALID_MEMORY_ACCESS.
#[test]
fn utilities() {
    let mut host = probe_host("request_body set_buffer req_body 1 1 x");
    host.http_exchange(&HttpRequest::post("/", "contents"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(result(&host, "request_body.set_buffer req_body 1 1 x"), "2");
}

/// `WasmCommonTest.Stats`: a counter read back after increments, `proxy_record_metric` on a
/// counter adds like an increment, a gauge holds the recorded value, and reading a histogram
/// is refused (BAD_ARGUMENT, context.cc `getMetric`).
#[test]
fn stats() {
    let host = Host::builder(&probe())
        .root_id("probe")
        .vm_config(
            "vm_start define_metric 0 test_counter
             vm_start incr 4 1
             vm_start get_metric 4
             vm_start incr 4 1
             vm_start get_metric 4
             vm_start record 4 3
             vm_start get_metric 4
             vm_start define_metric 1 test_gauge
             vm_start record 5 2
             vm_start get_metric 5
             vm_start define_metric 2 test_histogram
             vm_start record 6 7
             vm_start get_metric 6",
        )
        .build()
        .unwrap();
    let gets = crate::conformance_support::results(&host, "vm_start.get_metric 4");
    assert_eq!(gets, ["0 1", "0 2", "0 5"]);
    assert_eq!(result(&host, "vm_start.get_metric 5"), "0 2");
    assert!(
        result(&host, "vm_start.get_metric 6").starts_with("2 "),
        "histograms cannot be read: {}",
        result(&host, "vm_start.get_metric 6")
    );
}

/// `WasmCommonTest.Foreign`: Envoy's `compress` and `uncompress` foreign functions round-trip.
#[test]
fn foreign_compress_round_trip() {
    let payload = "a".repeat(2000);
    let host = probe_host(&format!("configure foreign compress {payload}"));
    let compressed = result(&host, &format!("configure.foreign compress {payload}"));
    assert!(
        compressed.starts_with("0 \"x"),
        "a zlib stream: {compressed}"
    );
}

/// `WasmCommonTest.OnForeign`: the host calls proxy_on_foreign_function(root, 7, 13).
#[test]
fn on_foreign() {
    let mut host = probe_host("foreign_function get_buffer foreign_args 0 100");
    host.call_on_foreign_function(0, 7, b"thirteen-byte")
        .unwrap();
    assert_logged(&host, "> foreign_function ctx=1 function=7 size=13");
    assert_eq!(
        result(&host, "foreign_function.get_buffer foreign_args 0 100"),
        "0 \"thirteen-byte\""
    );
}

/// `WasmCommonTest.WASI`: stdout is logged at info, stderr at error.
#[test]
fn wasi() {
    let host = probe_host(
        "configure print WASI%20write%20to%20stdout
         configure eprint WASI%20write%20to%20stderr",
    );
    assert!(logged_at(&host, LogLevel::Info, "WASI write to stdout"));
    assert!(logged_at(&host, LogLevel::Error, "WASI write to stderr"));
}

/// Envoy's `test_restriction_cpp.cc`, as these tests read it: on_vm_start logs through
/// proxy_log and writes to stdout through WASI `fd_write`; the root's on_context_create logs
/// through proxy_log.
fn restriction_module() -> Module {
    Module::from_bytes(wat::bytes(&Wat {
        imports: r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#,
        body: r#"
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (drop (call $proxy_log (i32.const 2) STR("after proxy_on_vm_start: written by proxy_log")))
    ;; an iovec at 8192 pointing at the text, for fd_write(1, iov, 1, nwritten)
    (i32.store (i32.const 8192) (i32.const 3000))
    (i32.store (i32.const 8196) (i32.const 21))
    (drop (call $fd_write (i32.const 1) (i32.const 8192) (i32.const 1) (i32.const 8200)))
    (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32)
    (drop (call $proxy_log (i32.const 2) STR("after proxy_on_context_create: written by proxy_log"))))
  (data (i32.const 3000) "WASI write to stdout\n")"#,
        ..Default::default()
    }))
    .unwrap()
}

fn restricted(allowed: &[&str]) -> Vec<String> {
    let host = Host::builder(&restriction_module())
        .allowed_capabilities(allowed.iter().copied())
        .build()
        .unwrap();
    host.logs().iter().map(|l| l.message.clone()).collect()
}

const VM_START_LOG: &str = "after proxy_on_vm_start: written by proxy_log";
const CONTEXT_CREATE_LOG: &str = "after proxy_on_context_create: written by proxy_log";
const WASI_LOG: &str = "WASI write to stdout";

/// `WasmCommonTest.RestrictCapabilities`: with only an unrelated capability allowed, no
/// callback runs and nothing is written.
#[test]
fn restrict_capabilities() {
    assert!(restricted(&["foo"]).is_empty());
}

/// `WasmCommonTest.AllowOnVmStart`: on_vm_start runs, but proxy_log and fd_write are stubs.
#[test]
fn allow_on_vm_start() {
    assert!(restricted(&["proxy_on_vm_start"]).is_empty());
}

/// `WasmCommonTest.AllowLog`: proxy_log works, WASI does not.
#[test]
fn allow_log() {
    assert_eq!(
        restricted(&["proxy_on_vm_start", "proxy_log"]),
        [VM_START_LOG]
    );
}

/// `WasmCommonTest.AllowWASI`: fd_write works, proxy_log does not.
#[test]
fn allow_wasi() {
    assert_eq!(restricted(&["proxy_on_vm_start", "fd_write"]), [WASI_LOG]);
}

/// `WasmCommonTest.AllowOnContextCreate`: both callbacks run and log.
#[test]
fn allow_on_context_create() {
    let logs = restricted(&["proxy_on_vm_start", "proxy_on_context_create", "proxy_log"]);
    assert!(logs.contains(&VM_START_LOG.to_string()), "{logs:?}");
    assert!(logs.contains(&CONTEXT_CREATE_LOG.to_string()), "{logs:?}");
    assert!(!logs.contains(&WASI_LOG.to_string()), "{logs:?}");
}

/// `WasmCommonTest.ThreadLocalCopyRetainsEnforcement`: a second VM of the same plugin (Envoy:
/// the per-worker copy; here: another host from the same module and settings) enforces the
/// same restriction.
#[test]
fn thread_local_copy_retains_enforcement() {
    let first = restricted(&["proxy_on_vm_start", "fd_write"]);
    let second = restricted(&["proxy_on_vm_start", "fd_write"]);
    assert_eq!(first, [WASI_LOG]);
    assert_eq!(first, second);
}

/// `WasmCommonContextTest.LocalReplyWhenPanic`: a panic in the request body fails the stream
/// with one 503 local reply (`wasm_fail_stream`, gRPC status UNAVAILABLE), not two.
#[test]
fn local_reply_when_panic() {
    let mut host = probe_host("request_body panic boom");
    let ex = host
        .http_exchange(&HttpRequest::post("/", "x"), &HttpResponse::ok())
        .unwrap();
    let reply = ex.local_reply.expect("one local reply");
    assert_eq!(
        (reply.status, reply.details.as_str()),
        (503, "wasm_fail_stream")
    );
    assert_eq!(ex.client_response.status(), Some(503));
    assert!(ex.upstream_request.is_none());
}

/// `WasmCommonContextTest.ProcessInvalidGRPCStatusCodeAsEmptyInLocalReply`: gRPC status -1
/// (the SDKs' "unset") sends no grpc-status.
#[test]
fn invalid_grpc_status_in_a_local_reply_is_none() {
    let mut host = probe_host("request_headers local_reply_grpc 200 -1 ok body");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let reply = ex.local_reply.expect("a local reply");
    assert_eq!((reply.status, reply.details.as_str()), (200, "ok"));
    assert_eq!(reply.grpc_status, None);
}

/// `WasmCommonContextTest.ProcessValidGRPCStatusCodeAsEmptyInLocalReply`: a valid gRPC status
/// (PERMISSION_DENIED = 7) is kept.
#[test]
fn valid_grpc_status_in_a_local_reply_is_kept() {
    let mut host = probe_host("request_headers local_reply_grpc 200 7 ok body");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.local_reply.expect("a local reply").grpc_status, Some(7));
}

/// `WasmLocalReplyTest.DuplicateLocalReply`: two local replies from one callback give the
/// client one response.
#[test]
fn duplicate_local_reply() {
    let mut host = probe_host(
        "request_body local_reply 200 first one
         request_body local_reply 400 second two",
    );
    let ex = host
        .http_exchange(&HttpRequest::post("/", "body"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(ex.client_response.body.to_vec(), b"one");
}

/// `WasmLocalReplyTest.LocalReplyInRequestAndResponse`: a local reply in the request and
/// another while its response is encoded through the filter: one response reaches the client —
/// the second, which `DownstreamFilterManager::sendLocalReply` sends directly to the codec
/// since no response headers went out yet.
#[test]
fn local_reply_in_request_and_response() {
    let mut host = probe_host(
        "request_body local_reply 200 request one
         response_headers local_reply 500 response two",
    );
    let ex = host
        .http_exchange(&HttpRequest::post("/", "body"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(500), "{ex:?}");
    assert_eq!(ex.client_response.body.to_vec(), b"two");
    assert!(ex.upstream_request.is_none());
}

/// `WasmLocalReplyTest.PanicDuringResponse`: a local reply, then a panic while its response is
/// encoded: still one response to the client.
#[test]
fn panic_during_response() {
    let mut host = probe_host(
        "request_body local_reply 200 request one
         response_headers panic boom",
    );
    let ex = host
        .http_exchange(&HttpRequest::post("/", "body"), &HttpResponse::ok())
        .unwrap();
    assert!(ex.client_response.status().is_some(), "{ex:?}");
    assert!(ex.upstream_request.is_none());
}

fn panicking_on_body(policy: FailurePolicy) -> Host {
    probe_builder(&probe(), "request_headers panic_if req x-crash")
        .failure_policy(policy)
        .build()
        .unwrap()
}

fn crash(host: &mut Host) -> wasme_harness::Exchange {
    host.http_exchange(
        &HttpRequest::post("/", "b").header("x-crash", "1"),
        &HttpResponse::ok(),
    )
    .unwrap()
}

fn plain(host: &mut Host) -> wasme_harness::Exchange {
    host.http_exchange(&HttpRequest::post("/", "b"), &HttpResponse::ok())
        .unwrap()
}

fn fail_stream_reply(ex: &wasme_harness::Exchange) -> Option<(u32, String)> {
    ex.local_reply
        .as_ref()
        .map(|r| (r.status, r.details.clone()))
}

/// `PluginConfigTest.FailReloadPolicy`: the failing stream gets 503; a new stream within the
/// reload backoff (1 s base) still finds the failed VM and fails closed (`vm_reload_backoff`);
/// after it a fresh VM serves; a second failure backs off again.
#[test]
fn fail_reload_policy() {
    let mut host = panicking_on_body(FailurePolicy::FailReload);
    let wasm_fail = Some((503, "wasm_fail_stream".to_string()));
    assert_eq!(fail_stream_reply(&crash(&mut host)), wasm_fail);
    assert_eq!(host.failure().map(|f| f.kind), Some(FailureKind::Trap));
    // Within the backoff since the VM was loaded: no reload.
    assert_eq!(fail_stream_reply(&plain(&mut host)), wasm_fail);
    assert_eq!((host.reloads(), host.reload_backoffs()), (0, 1));
    host.advance_clock(Duration::from_secs(2)).unwrap();
    let ex = plain(&mut host);
    assert_eq!(ex.local_reply, None, "served by the reloaded VM");
    assert_eq!(host.reloads(), 1);
    // It fails again: the next stream within the backoff is failed, then a reload follows.
    assert_eq!(fail_stream_reply(&crash(&mut host)), wasm_fail);
    assert_eq!(fail_stream_reply(&plain(&mut host)), wasm_fail);
    assert_eq!(host.reload_backoffs(), 2);
    host.advance_clock(Duration::from_secs(2)).unwrap();
    assert_eq!(plain(&mut host).local_reply, None);
    assert_eq!(host.reloads(), 2);
}

/// `PluginConfigTest.FailClosedPolicy`: the VM is never reloaded; every later stream fails.
#[test]
fn fail_closed_policy() {
    let mut host = panicking_on_body(FailurePolicy::FailClosed);
    let wasm_fail = Some((503, "wasm_fail_stream".to_string()));
    assert_eq!(fail_stream_reply(&crash(&mut host)), wasm_fail);
    host.advance_clock(Duration::from_secs(2)).unwrap();
    assert_eq!(fail_stream_reply(&plain(&mut host)), wasm_fail);
    assert_eq!(host.reloads(), 0);
}

/// `PluginConfigTest.FailUnspecifiedPolicy`: the default is fail-closed.
#[test]
fn fail_unspecified_policy() {
    let mut host = probe_host("request_headers panic_if req x-crash");
    let wasm_fail = Some((503, "wasm_fail_stream".to_string()));
    assert_eq!(fail_stream_reply(&crash(&mut host)), wasm_fail);
    host.advance_clock(Duration::from_secs(2)).unwrap();
    assert_eq!(fail_stream_reply(&plain(&mut host)), wasm_fail);
}

/// `PluginConfigTest.FailOpenPolicy`: `failure_policy: FAIL_OPEN` still fails the stream whose
/// callback failed (503); later streams skip the filter (no context is created).
#[test]
fn fail_open_policy() {
    let mut host = panicking_on_body(FailurePolicy::FailOpen);
    assert_eq!(
        fail_stream_reply(&crash(&mut host)),
        Some((503, "wasm_fail_stream".to_string()))
    );
    let creates = |h: &Host| {
        callbacks(h)
            .iter()
            .filter(|c| c.starts_with("> create "))
            .count()
    };
    let before = creates(&host);
    host.advance_clock(Duration::from_secs(2)).unwrap();
    let ex = plain(&mut host);
    assert_eq!(ex.local_reply, None);
    assert!(ex.upstream_request.is_some());
    assert_eq!(creates(&host), before, "no context for the skipped filter");
    assert_eq!(host.reloads(), 0);
}

/// A reload is only for runtime failures: a VM whose on_configure failed when reconfigured is
/// not reloaded (`maybeReloadHandleIfNeeded` checks `FailState::RuntimeError`).
#[test]
fn a_configure_failure_is_not_reloaded() {
    let mut host = probe_builder(&probe(), "")
        .failure_policy(FailurePolicy::FailReload)
        .build()
        .unwrap();
    assert!(
        !host
            .reconfigure(0, Some(b"configure return 0".as_slice()))
            .unwrap()
    );
    host.advance_clock(Duration::from_secs(2)).unwrap();
    let ex = plain(&mut host);
    assert_eq!(
        fail_stream_reply(&ex),
        Some((503, "wasm_fail_stream".to_string()))
    );
    assert_eq!(host.reloads(), 0);
    let roots = callbacks(&host)
        .iter()
        .filter(|c| c.starts_with("> create_root"))
        .count();
    assert_eq!(roots, 1, "no second VM");
}

/// `WasmCommonTest.WasmFailState`, its guest-visible part: HTTP-call, gRPC-call and gRPC-stream
/// tokens are distinct and keep their kind in the low bits (`nextHttpCallId`,
/// `nextGrpcCallId`, `nextGrpcStreamId`), and a root context outside the callbacks that carry
/// them has no callout body and no plugin configuration (`getBuffer` = nullptr → NOT_FOUND).
#[test]
fn wasm_fail_state_tokens_and_buffers() {
    let host = probe_builder(
        &probe(),
        "configure http_call up 1000 :method=GET :path=/ :authority=a
         configure http_call up 1000 :method=GET :path=/ :authority=a
         configure grpc_call up svc m x 1000
         configure grpc_call up svc m x 1000
         configure grpc_stream up svc m
         configure grpc_stream up svc m
         tick get_buffer call_body 0 10
         tick get_buffer plugin_config 0 10
         configure tick_period 10",
    )
    .cluster("up")
    .build()
    .unwrap();
    let tokens = |step: &str| -> Vec<u32> {
        crate::conformance_support::results(&host, step)
            .iter()
            .filter_map(|r| r.split("token=").nth(1)?.parse().ok())
            .collect()
    };
    let http = tokens("configure.http_call up 1000 :method=GET :path=/ :authority=a");
    let grpc = tokens("configure.grpc_call up svc m x 1000");
    let stream = tokens("configure.grpc_stream up svc m");
    assert_eq!(http.len(), 2, "{http:?}");
    assert_eq!(grpc.len(), 2, "{grpc:?}");
    assert_eq!(stream.len(), 2, "{stream:?}");
    assert_ne!(http[0], http[1]);
    assert_ne!(grpc[0], grpc[1]);
    assert_ne!(stream[0], stream[1]);
    let kinds: Vec<u32> = [http[0], grpc[0], stream[0]]
        .iter()
        .map(|t| t & 3)
        .collect();
    assert_eq!(kinds, [0, 1, 2], "token kinds in the low bits");
    let mut host = host;
    host.advance_clock(Duration::from_millis(10)).unwrap();
    assert!(result(&host, "tick.get_buffer call_body 0 10").starts_with('1'));
    assert!(result(&host, "tick.get_buffer plugin_config 0 10").starts_with('1'));
}

/// `WasmCommonTest.IntrinsicGlobals`: the guest's own IEEE arithmetic (NaN, ±inf) works in the
/// runtime; the module logs what it computed.
#[test]
fn intrinsic_globals() {
    let module = Module::from_bytes(wat::bytes(&Wat {
        body: r#"
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (local $nan f64) (local $inf f64)
    (local.set $nan (f64.div (f64.const 0) (f64.const 0)))
    (local.set $inf (f64.div (f64.const 1) (f64.const 0)))
    (if (f64.ne (local.get $nan) (local.get $nan))
      (then (drop (call $proxy_log (i32.const 3) STR("NaN nan")))))
    (if (f64.eq (local.get $inf) (f64.const inf))
      (then (drop (call $proxy_log (i32.const 3) STR("inf inf")))))
    (if (f64.eq (f64.neg (local.get $inf)) (f64.const -inf))
      (then (drop (call $proxy_log (i32.const 3) STR("inf inf")))))
    (if (f64.eq (f64.mul (local.get $inf) (f64.const 2)) (f64.const inf))
      (then (drop (call $proxy_log (i32.const 3) STR("inf inf")))))
    (i32.const 1))"#,
        ..Default::default()
    }))
    .unwrap();
    let host = Host::builder(&module).build().unwrap();
    let warn: Vec<&str> = host
        .logs()
        .iter()
        .filter(|l| l.level == LogLevel::Warn)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(warn, ["NaN nan", "inf inf", "inf inf", "inf inf"]);
}
