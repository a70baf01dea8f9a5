//! Hostile guests (issue 13): modules that try to make the host hold unbounded memory, flood the
//! log, loop or trap in every callback, or that Envoy would refuse to load. Each case asserts a
//! clear error, that the host stopped at a cap (a `HostLimit` failure naming the limit, not an
//! out-of-memory host), and that the host then behaves as Envoy does (fail closed: a 503 with
//! `wasm_fail_stream`, and it keeps answering).
//!
//! The modules are WAT, written here: a skeleton with memory, a bump allocator and every
//! callback, where one callback's body is replaced by the hostile code.

use std::time::Duration;
use wasme_harness::{
    FailureKind, HarnessError, Host, HostLimits, HttpRequest, HttpResponse, Module,
};

/// The imports the hostile bodies use (all are hostcalls Envoy provides).
const IMPORTS: &str = r#"
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_register_shared_queue" (func $register_queue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_record_metric" (func $record_metric (param i32 i64) (result i32)))
  (import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
"#;

/// Where things live in the test modules' memory.
pub(crate) const STATIC: u32 = 1024; // strings and the callout's header pairs
pub(crate) const SLOT: u32 = 4096; // return slots and the loop counter's bytes
const PAYLOAD: u32 = 65536; // 64 KiB of payload (zeros)
const HEAP: u32 = 1 << 21; // the bump allocator starts at 2 MiB (memory: 4 MiB)

/// The callbacks, their signatures and what they answer when they behave.
const CALLBACKS: &[(&str, &str, &str)] = &[
    ("proxy_on_context_create", "(param i32 i32)", ""),
    (
        "proxy_on_vm_start",
        "(param i32 i32) (result i32)",
        "(i32.const 1)",
    ),
    (
        "proxy_on_request_headers",
        "(param i32 i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_request_body",
        "(param i32 i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_request_trailers",
        "(param i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_response_headers",
        "(param i32 i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_response_body",
        "(param i32 i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_response_trailers",
        "(param i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    ("proxy_on_log", "(param i32)", ""),
    ("proxy_on_done", "(param i32) (result i32)", "(i32.const 1)"),
    ("proxy_on_delete", "(param i32)", ""),
    ("proxy_on_tick", "(param i32)", ""),
    ("proxy_on_queue_ready", "(param i32 i32)", ""),
    (
        "proxy_on_http_call_response",
        "(param i32 i32 i32 i32 i32)",
        "",
    ),
    (
        "proxy_on_new_connection",
        "(param i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_downstream_data",
        "(param i32 i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_upstream_data",
        "(param i32 i32 i32) (result i32)",
        "(i32.const 0)",
    ),
    (
        "proxy_on_downstream_connection_close",
        "(param i32 i32)",
        "",
    ),
    ("proxy_on_upstream_connection_close", "(param i32 i32)", ""),
];

/// `proxy_on_configure` of every module: a tick every 10 ms and a queue named "q" (so
/// on_tick and on_queue_ready can be reached), then `extra`.
fn configure(extra: &str) -> String {
    format!(
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 10)))
    (drop (call $register_queue (i32.const {q}) (i32.const 1) (i32.const {SLOT})))
    {extra}
    (i32.const 1))"#,
        q = STATIC + 16,
    )
}

/// A module whose callback `name` runs `hostile` (a statement list) before answering as usual;
/// `malloc` and `_initialize` are callbacks too. With `call_out`, on_request_headers starts an
/// HTTP callout to cluster "c" (to reach on_http_call_response).
pub(crate) fn module(name: &str, hostile: &str, call_out: bool) -> Vec<u8> {
    let mut funcs = String::new();
    for (cb, sig, answer) in CALLBACKS {
        let mut body = String::new();
        if *cb == name {
            body.push_str(hostile);
        }
        if *cb == "proxy_on_request_headers" {
            // Every stream reads a header: the host calls the allocator.
            body.push_str(&format!(
                "(drop (call $get_header (i32.const 0) (i32.const {p}) (i32.const 5) (i32.const {SLOT}) (i32.const {r})))",
                p = STATIC + 20,
                r = SLOT + 4
            ));
            if call_out {
                body.push_str(&format!(
                    "(drop (call $http_call (i32.const {c}) (i32.const 1) (i32.const {h}) (i32.const {hl}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const {SLOT})))",
                    c = STATIC + 32,
                    h = STATIC + 64,
                    hl = CALLOUT_HEADERS_LEN,
                ));
            }
        }
        funcs.push_str(&format!(
            "  (func (export \"{cb}\") {sig}\n    {body}\n    {answer})\n"
        ));
    }
    let configure = configure(if name == "proxy_on_configure" {
        hostile
    } else {
        ""
    });
    let malloc_hostile = if name == "malloc" { hostile } else { "" };
    let init_hostile = if name == "_initialize" { hostile } else { "" };
    let text = format!(
        r#"(module
{IMPORTS}
  (memory (export "memory") 64)
  (table $t 1 funcref)
  (global $heap (mut i32) (i32.const {HEAP}))
  (global $i (mut i32) (i32.const 0))
  (data (i32.const {STATIC}) "hostile filter\00\00")
  (data (i32.const {q}) "q")
  (data (i32.const {path}) ":path")
  (data (i32.const {c}) "c")
  (data (i32.const {h}) "{CALLOUT_HEADERS}")
  (func $malloc (export "malloc") (param $n i32) (result i32) (local $p i32)
    {malloc_hostile}
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "_initialize") {init_hostile})
  (func (export "proxy_abi_version_0_2_1"))
  {configure}
{funcs})"#,
        q = STATIC + 16,
        path = STATIC + 20,
        c = STATIC + 32,
        h = STATIC + 64,
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{text}"))
}

/// The callout's headers in the pairs format: `:method GET`, `:path /`, `:authority c`.
const CALLOUT_HEADERS: &str = "\\03\\00\\00\\00\
\\07\\00\\00\\00\\03\\00\\00\\00\
\\05\\00\\00\\00\\01\\00\\00\\00\
\\0a\\00\\00\\00\\01\\00\\00\\00\
:method\\00GET\\00:path\\00/\\00:authority\\00c\\00";
const CALLOUT_HEADERS_LEN: u32 = 4 + 24 + 8 + 4 + 6 + 2 + 11 + 2;

/// `body` repeated `times` times, with the counter `$i` (also stored at `SLOT + 8`, so it can
/// serve as a fresh 4-byte key every round).
pub(crate) fn repeat(times: u32, body: &str) -> String {
    format!(
        r#"(global.set $i (i32.const 0))
    (block $out (loop $again
      (i32.store (i32.const {k}) (global.get $i))
      {body}
      (global.set $i (i32.add (global.get $i) (i32.const 1)))
      (br_if $out (i32.ge_u (global.get $i) (i32.const {times})))
      (br $again)))"#,
        k = SLOT + 8
    )
}

const KEY: u32 = SLOT + 8;

pub(crate) fn load(bytes: &[u8]) -> Module {
    Module::from_bytes(bytes).expect("the test module loads")
}

/// A host for floods: default limits (or `limits`), a deadline long enough that only a cap
/// can stop the flood, cluster "c" registered.
fn flood_host(module: &Module, limits: HostLimits) -> Host {
    Host::builder(module)
        .limits(limits)
        .deadline(Duration::from_secs(60))
        .cluster("c")
        .build()
        .expect("the host starts")
}

pub(crate) fn request() -> HttpRequest {
    HttpRequest::post("/", vec![b'x'; 16]).trailer("t", "1")
}

pub(crate) fn response() -> HttpResponse {
    HttpResponse::ok().body("ok").trailer("t", "1")
}

/// Runs a stream through a host whose VM must fail at a cap: asserts the failure names the
/// limit, the client got Envoy's fail-closed 503, and the host keeps answering.
fn assert_capped(host: &mut Host, option: &str) {
    let ex = host
        .http_exchange(&request(), &response())
        .expect("the exchange runs");
    let failure = host.failure().expect("the flood failed the VM").clone();
    assert_eq!(failure.kind, FailureKind::HostLimit, "{failure}");
    assert!(
        failure.message.contains(&format!("HostLimits::{option}"))
            && failure.message.contains("exceeded a host limit"),
        "the message names the limit: {failure}"
    );
    assert_eq!(ex.client_response.status(), Some(503), "fail closed");
    let reply = ex.local_reply.expect("a local reply");
    assert_eq!(reply.details, "wasm_fail_stream");
    // The host is still usable: later streams fail closed, as in Envoy.
    let again = host
        .http_exchange(&request(), &response())
        .expect("the host still answers");
    assert_eq!(again.client_response.status(), Some(503));
}

// ---- host-memory floods: each stops at its cap ----

#[test]
fn header_value_flood_stops_at_the_header_map_byte_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $add_header (i32.const 0) (i32.const {k}) (i32.const 4) (i32.const {PAYLOAD}) (i32.const 65536)))",
                k = KEY
            ),
        ),
        false,
    ));
    assert_capped(
        &mut flood_host(&m, HostLimits::default()),
        "header_map_bytes",
    );
}

#[test]
fn header_count_flood_stops_at_the_header_count_limit() {
    let m = load(&module(
        "proxy_on_response_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $add_header (i32.const 2) (i32.const {k}) (i32.const 4) (i32.const {PAYLOAD}) (i32.const 1)))",
                k = KEY
            ),
        ),
        false,
    ));
    assert_capped(
        &mut flood_host(&m, HostLimits::default()),
        "header_map_count",
    );
}

#[test]
fn body_flood_stops_at_the_buffer_limit() {
    // Append 64 KiB to the request body until the buffer limit (16 MiB by default) refuses.
    let m = load(&module(
        "proxy_on_request_body",
        &repeat(
            100_000,
            &format!(
                "(drop (call $set_buffer (i32.const 0) (i32.const 0x7fffffff) (i32.const 0) (i32.const {PAYLOAD}) (i32.const 65536)))"
            ),
        ),
        false,
    ));
    assert_capped(&mut flood_host(&m, HostLimits::default()), "buffer_bytes");
}

#[test]
fn shared_data_flood_stops_at_the_shared_data_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $set_shared (i32.const {KEY}) (i32.const 4) (i32.const {PAYLOAD}) (i32.const 65536) (i32.const 0)))"
            ),
        ),
        false,
    ));
    let mut host = flood_host(&m, HostLimits::default());
    assert_capped(&mut host, "shared_data_bytes");
    // The store holds no more than the limit (keys are read as lossy UTF-8, as the host does,
    // so different counters can name the same key: each key is counted once).
    let keys: std::collections::BTreeSet<String> = (0u32..4000)
        .map(|i| String::from_utf8_lossy(&i.to_le_bytes()).into_owned())
        .collect();
    let kept = keys
        .iter()
        .filter_map(|k| host.shared_data(k))
        .map(|(v, _)| v.len())
        .sum::<usize>();
    assert!(
        kept > 0 && kept <= HostLimits::default().shared_data_bytes,
        "{kept}"
    );
}

#[test]
fn queue_flood_stops_at_the_queue_byte_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &format!(
            "(drop (call $register_queue (i32.const {q}) (i32.const 1) (i32.const {SLOT})))\n{}",
            repeat(
                100_000,
                &format!(
                    "(drop (call $enqueue (i32.load (i32.const {SLOT})) (i32.const {PAYLOAD}) (i32.const 65536)))"
                ),
            ),
            q = STATIC + 16
        ),
        false,
    ));
    assert_capped(&mut flood_host(&m, HostLimits::default()), "queue_bytes");
}

#[test]
fn queue_registration_flood_stops_at_the_queue_count_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $register_queue (i32.const {KEY}) (i32.const 4) (i32.const {SLOT})))"
            ),
        ),
        false,
    ));
    assert_capped(&mut flood_host(&m, HostLimits::default()), "queue_count");
}

#[test]
fn metric_definition_flood_stops_at_the_metric_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $define_metric (i32.const 0) (i32.const {KEY}) (i32.const 4) (i32.const {SLOT})))"
            ),
        ),
        false,
    ));
    assert_capped(&mut flood_host(&m, HostLimits::default()), "metric_count");
}

#[test]
fn metric_name_flood_stops_at_the_name_byte_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $define_metric (i32.const 0) (i32.const {PAYLOAD}) (i32.const 65536) (i32.const {SLOT})))"
            ),
        ),
        false,
    ));
    assert_capped(
        &mut flood_host(&m, HostLimits::default()),
        "metric_name_bytes",
    );
}

#[test]
fn histogram_flood_stops_at_the_sample_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &format!(
            "(drop (call $define_metric (i32.const 2) (i32.const {q}) (i32.const 1) (i32.const {SLOT})))\n{}",
            repeat(
                1_000_000,
                &format!(
                    "(drop (call $record_metric (i32.load (i32.const {SLOT})) (i64.const 7)))"
                ),
            ),
            q = STATIC + 16
        ),
        false,
    ));
    assert_capped(
        &mut flood_host(&m, HostLimits::default()),
        "histogram_samples",
    );
}

#[test]
fn filter_state_flood_stops_at_the_property_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $set_property (i32.const {KEY}) (i32.const 4) (i32.const {PAYLOAD}) (i32.const 4096)))"
            ),
        ),
        false,
    ));
    assert_capped(&mut flood_host(&m, HostLimits::default()), "property_bytes");
}

#[test]
fn callout_flood_stops_at_the_pending_callout_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            &format!(
                "(drop (call $http_call (i32.const {c}) (i32.const 1) (i32.const {h}) (i32.const {CALLOUT_HEADERS_LEN}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const {SLOT})))",
                c = STATIC + 32,
                h = STATIC + 64
            ),
        ),
        false,
    ));
    assert_capped(
        &mut flood_host(&m, HostLimits::default()),
        "pending_callouts",
    );
}

#[test]
fn deferred_action_flood_stops_at_the_pending_action_limit() {
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(100_000, "(drop (call $continue (i32.const 0)))"),
        false,
    ));
    assert_capped(
        &mut flood_host(&m, HostLimits::default()),
        "pending_actions",
    );
}

#[test]
fn limits_are_configurable() {
    // The same header flood with a limit of 10 headers stops at the 11th.
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            1_000,
            &format!(
                "(drop (call $add_header (i32.const 0) (i32.const {KEY}) (i32.const 4) (i32.const {PAYLOAD}) (i32.const 1)))"
            ),
        ),
        false,
    ));
    let limits = HostLimits {
        header_map_count: 10,
        ..HostLimits::default()
    };
    let mut host = flood_host(&m, limits);
    host.http_exchange(&request(), &response()).unwrap();
    let failure = host.failure().expect("capped");
    assert!(
        failure
            .message
            .contains(" 11 entries in a header map, over the limit of 10"),
        "{failure}"
    );
    // A well-behaved amount passes under the defaults.
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            50,
            &format!(
                "(drop (call $add_header (i32.const 0) (i32.const {KEY}) (i32.const 4) (i32.const {PAYLOAD}) (i32.const 100)))"
            ),
        ),
        false,
    ));
    let mut host = flood_host(&m, HostLimits::default());
    let ex = host.http_exchange(&request(), &response()).unwrap();
    assert!(host.failure().is_none(), "{:?}", host.failure());
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(
        ex.upstream_request.unwrap().headers.len(),
        request().headers.len() + 50
    );
}

// ---- tables ----

#[test]
fn unbounded_table_growth_traps_at_the_table_limit() {
    // Grow by one element at a time, ignoring failures: the limit traps instead of -1.
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            1_000_000_000,
            "(drop (table.grow $t (ref.null func) (i32.const 1)))",
        ),
        false,
    ));
    let mut host = flood_host(&m, HostLimits::default());
    host.http_exchange(&request(), &response()).unwrap();
    let failure = host.failure().expect("capped");
    assert!(
        failure
            .message
            .contains("over the limit of 10000 (HostLimits::table_elements)"),
        "{failure}"
    );
    // One huge growth (1e9 elements: 7.85 GB before the limit) fails the same way, at once.
    let m = load(&module(
        "proxy_on_request_headers",
        "(drop (table.grow $t (ref.null func) (i32.const 1000000000)))",
        false,
    ));
    let mut host = flood_host(&m, HostLimits::default());
    let ex = host.http_exchange(&request(), &response()).unwrap();
    assert_eq!(ex.client_response.status(), Some(503));
    assert!(host.failure().unwrap().message.contains("table_elements"));
}

#[test]
fn a_module_declaring_a_huge_table_does_not_start() {
    let text = r#"(module
  (memory (export "memory") 1)
  (table 5000000 funcref)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1")))"#;
    let m = load(&wat::parse_str(text).unwrap());
    let err = Host::builder(&m)
        .build()
        .expect_err("the table is over the limit");
    assert!(err.to_string().contains("table_elements"), "{err}");
}

// ---- logs: truncated and capped, never a VM failure ----

#[test]
fn a_huge_log_line_is_truncated_with_a_marker() {
    // One 1 MiB line (the module's memory from PAYLOAD on).
    let m = load(&module(
        "proxy_on_request_headers",
        &format!("(drop (call $log (i32.const 2) (i32.const {PAYLOAD}) (i32.const 1048576)))"),
        false,
    ));
    let mut host = flood_host(&m, HostLimits::default());
    let ex = host.http_exchange(&request(), &response()).unwrap();
    assert!(host.failure().is_none(), "logging never fails the VM");
    assert_eq!(ex.client_response.status(), Some(200));
    let line = host
        .logs()
        .iter()
        .find(|l| l.message.contains("[wasme: line truncated"))
        .expect("the truncated line");
    assert!(line.message.len() < 65536 + 64, "{}", line.message.len());
    assert!(
        line.message
            .ends_with(&format!("{} more bytes]", 1048576 - 65536))
    );
}

#[test]
fn a_log_flood_is_capped_per_vm_and_the_cap_is_reported_once() {
    let limits = HostLimits {
        log_total_bytes: 1 << 20,
        ..HostLimits::default()
    };
    // 64 lines of 64 KiB = 4 MiB, against a 1 MiB cap.
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            64,
            &format!("(drop (call $log (i32.const 2) (i32.const {PAYLOAD}) (i32.const 65536)))"),
        ),
        false,
    ));
    let mut host = flood_host(&m, limits);
    let ex = host.http_exchange(&request(), &response()).unwrap();
    assert!(host.failure().is_none());
    assert_eq!(ex.client_response.status(), Some(200));
    let total: usize = host.logs().iter().map(|l| l.message.len()).sum();
    assert!(total <= 1 << 20, "{total}");
    let markers = host
        .logs()
        .iter()
        .filter(|l| l.message.contains("HostLimits::log_total_bytes"))
        .count();
    assert_eq!(markers, 1);
    // Clearing the log makes room again.
    host.clear_logs();
    host.http_exchange(&request(), &response()).unwrap();
    assert!(host.logs().iter().any(|l| l.message.len() == 65536));
}

#[test]
fn a_flood_of_empty_log_lines_is_capped_too() {
    let limits = HostLimits {
        log_total_bytes: 64 * 1024,
        ..HostLimits::default()
    };
    let m = load(&module(
        "proxy_on_request_headers",
        &repeat(
            100_000,
            "(drop (call $log (i32.const 2) (i32.const 0) (i32.const 0)))",
        ),
        false,
    ));
    let mut host = flood_host(&m, limits);
    host.http_exchange(&request(), &response()).unwrap();
    let lines = host.logs().len();
    assert!(lines < 100_000 && lines > 1000, "{lines}");
}

// ---- the deadline covers host-side work ----

#[test]
fn a_guest_looping_over_hostcalls_hits_the_deadline() {
    let m = load(&module(
        "proxy_on_request_headers",
        &format!(
            "(loop $forever (drop (call $get_header (i32.const 0) (i32.const {p}) (i32.const 5) (i32.const {SLOT}) (i32.const {r}))) (br $forever))",
            p = STATIC + 20,
            r = SLOT + 4
        ),
        false,
    ));
    let mut host = Host::builder(&m)
        .deadline(Duration::from_millis(50))
        .build()
        .unwrap();
    let ex = host.http_exchange(&request(), &response()).unwrap();
    assert_eq!(ex.client_response.status(), Some(503));
    let failure = host.failure().unwrap();
    assert_eq!(failure.kind, FailureKind::Deadline, "{failure}");
}

// ---- traps and loops in every callback ----

/// Drives every callback: build, one HTTP exchange with bodies and trailers, a tick, a queue
/// item, a callout answer, a TCP connection, shutdown. Returns the build error, if any.
fn drive(module: &Module, deadline: Duration) -> Result<Host, HarnessError> {
    let mut host = Host::builder(module)
        .deadline(deadline)
        .script_http_response("c", wasme_harness::HttpCallResponse::new(200))
        .build()?;
    // After a failure the host answers as Envoy does (fail closed); the steps' own results
    // do not matter here, only that the failure was recorded.
    let _ = host.http_exchange(&request(), &response());
    let _ = host.advance_clock(Duration::from_millis(20));
    if let Some(q) = host.queue_id("q") {
        let _ = host.enqueue(q, b"item");
        let _ = host.run_pending();
    }
    if let Ok(mut conn) = host.tcp_connection() {
        let _ = conn.new_connection();
        let _ = conn.downstream_data(b"ping", true);
        let _ = conn.upstream_data(b"pong", true);
    }
    let _ = host.shutdown();
    Ok(host)
}

/// What a callback case should report: the callback named in the failure.
fn expected_callback(name: &str) -> &str {
    match name {
        // The allocator runs inside the hostcall that returns data.
        "malloc" => "proxy_on_request_headers",
        other => other,
    }
}

fn fault_cases() -> Vec<&'static str> {
    let mut names: Vec<&str> = CALLBACKS.iter().map(|(n, _, _)| *n).collect();
    names.extend(["proxy_on_configure", "malloc", "_initialize"]);
    names
}

fn check_fault(name: &str, hostile: &str, kind: FailureKind, deadline: Duration) {
    let m = load(&module(
        name,
        hostile,
        name == "proxy_on_http_call_response",
    ));
    match drive(&m, deadline) {
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!("Function: {} failed", expected_callback(name))),
                "{name}: the error names the callback: {text}"
            );
            if kind == FailureKind::Deadline {
                assert!(text.contains("deadline"), "{name}: {text}");
            }
        }
        Ok(host) => {
            let failure = host
                .failure()
                .unwrap_or_else(|| panic!("{name}: the fault was never reached"));
            assert_eq!(failure.kind, kind, "{name}: {failure}");
            assert_eq!(
                failure.callback,
                expected_callback(name),
                "{name}: {failure}"
            );
            assert!(
                failure
                    .message
                    .starts_with(&format!("Function: {} failed", expected_callback(name))),
                "{name}: {failure}"
            );
        }
    }
}

#[test]
fn a_trap_in_every_callback_fails_the_vm_naming_the_callback() {
    let cases = fault_cases();
    assert_eq!(cases.len(), 22);
    for name in cases {
        check_fault(
            name,
            "(unreachable)",
            FailureKind::Trap,
            Duration::from_secs(5),
        );
    }
}

#[test]
fn a_loop_in_every_callback_is_interrupted_at_the_deadline() {
    for name in fault_cases() {
        check_fault(
            name,
            "(loop $forever (br $forever))",
            FailureKind::Deadline,
            Duration::from_millis(30),
        );
    }
}
