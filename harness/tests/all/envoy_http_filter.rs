//! Envoy's own HTTP Wasm filter tests, mirrored: one harness test per `TEST_P` of
//! `test/extensions/filters/http/wasm/wasm_filter_test.cc` (the Envoy line Istio 1.30's proxy
//! builds: see the README's "Envoy conformance"), named after it. Envoy's test-data filters
//! (`test_data/*_rust.rs`, `test_cpp.cc`) are replaced by scripts for the `conformance-probe` guest doing the same
//! hostcalls (our own code); each assertion is the one Envoy's test makes on the host side
//! (statuses, headers and bodies forwarded, local replies, resets, callbacks seen).
//! Cases that cannot apply to the harness are listed in the README's conformance matrix.

use std::time::Duration;

use crate::conformance_support::{
    assert_logged, callback_names, probe, probe_builder, result, results,
};
use wasme_harness::{FilterStatus, Host, Module, PropertyValue};

/// What Envoy's `headers` test filter does (`test_data/headers_rust.rs`, `test_cpp.cc`
/// `onRequestHeaders`…): logs, adds `newheader`, replaces `server`, reads the body, adds
/// trailers at the end of each body, marks the response, stops on response trailers, and
/// reads `:path`/`:status` in on_log.
const HEADERS: &str = "
request_headers log 1 onRequestHeaders
request_headers get_header req :path
request_headers add_header req newheader newheadervalue
request_headers replace_header req server envoy-wasm
request_body get_buffer req_body 0 -1
request_body add_header req_trailers newtrailer request
response_headers add_header resp test-status OK
response_body get_buffer resp_body 0 -1
response_body add_header resp_trailers newtrailer response
response_trailers return 1
log get_header req :path
log get_header resp :status
done log 3 onDone
";

fn headers_host() -> Host {
    probe_host_with(HEADERS)
}

pub(crate) fn probe_host_with(script: &str) -> Host {
    let module = probe();
    probe_builder(&module, script)
        .cluster("cluster")
        .build()
        .unwrap_or_else(|e| panic!("the probe starts: {e}"))
}

/// `BadCode`: a module that is not Wasm does not load (`wasm_ == nullptr`).
#[test]
fn bad_code() {
    assert!(Module::from_bytes(b"bad code").is_err());
}

/// `HeadersOnlyRequestHeadersOnlyWithEnvVars`: env vars reach the guest, the filter's add and
/// replace reach the upstream, each request-header change clears the route cache
/// (`Context::onHeadersModified`), and `continueStream`/`closeStream` with an unknown stream
/// type (9999) answer BAD_ARGUMENT (`context.cc` `continueStream`/`closeStream` default case).
#[test]
fn headers_only_request_headers_only_with_env_vars() {
    let module = probe();
    let script = format!(
        "{HEADERS}
request_headers env ENVOY_HTTP_WASM_TEST_HEADERS_KEY_VALUE_ENV
request_headers continue 9999
request_headers close 9999"
    );
    let mut host = probe_builder(&module, &script)
        .env("ENVOY_HTTP_WASM_TEST_HEADERS_KEY_VALUE_ENV", "bar")
        .build()
        .unwrap();
    let mut s = host.http_stream().unwrap();
    let st = s
        .request_headers(&[(":path", "/"), ("server", "envoy")], true)
        .unwrap();
    assert_eq!(st, FilterStatus::Continue);
    let up = s.upstream_request().unwrap();
    assert_eq!(up.header("newheader"), Some("newheadervalue"));
    assert_eq!(up.header_all("server"), vec!["envoy-wasm"]);
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        result(
            &host,
            "request_headers.env ENVOY_HTTP_WASM_TEST_HEADERS_KEY_VALUE_ENV"
        ),
        "0 \"bar\""
    );
    assert_eq!(
        result(&host, "request_headers.get_header req :path"),
        "0 \"/\""
    );
    assert_eq!(result(&host, "request_headers.continue 9999"), "2");
    assert_eq!(result(&host, "request_headers.close 9999"), "2");
    assert_eq!(host.route_cache_clears(), 2);
    assert_logged(&host, "done.log 3 onDone = 0");
}

/// `AllHeadersAndTrailers`: every callback continues except response trailers
/// (StopIteration); the response gets `test-status: OK`; the route cache is cleared only for
/// request-header changes.
#[test]
fn all_headers_and_trailers() {
    let mut host = headers_host();
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/"), ("server", "envoy")], false)
            .unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.request_trailers(&[("x-t", "1")]).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.response_headers(&[(":status", "200")], false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.client_response().unwrap().header("test-status"),
        Some("OK")
    );
    assert_eq!(
        s.response_trailers(&[("x-r", "1")]).unwrap(),
        FilterStatus::Pause
    );
    s.finish().unwrap();
    assert_eq!(host.route_cache_clears(), 2);
}

/// `AddTrailers`: trailers can be added only in the last body callback of each direction
/// (`Context::getMap` creates them with `addDecodedTrailers`/`addEncodedTrailers` when
/// `end_of_stream_`); earlier the map does not exist (BAD_ARGUMENT).
#[test]
fn add_trailers() {
    let mut host = headers_host();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/"), ("server", "envoy")], false)
        .unwrap();
    assert_eq!(
        s.request_body(b"data", false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.request_body(b"data", true).unwrap(),
        FilterStatus::Continue
    );
    let up = s.upstream_request().unwrap();
    assert_eq!(up.trailers, vec![("newtrailer".into(), "request".into())]);
    s.response_headers(&[(":status", "200")], false).unwrap();
    s.response_body(b"data", false).unwrap();
    s.response_body(b"data", true).unwrap();
    let client = s.client_response().unwrap();
    assert_eq!(
        client.trailers,
        vec![("newtrailer".into(), "response".into())]
    );
    s.finish().unwrap();
    assert_eq!(
        results(
            &host,
            "request_body.add_header req_trailers newtrailer request"
        ),
        vec!["2", "0"]
    );
    assert_eq!(
        results(
            &host,
            "response_body.add_header resp_trailers newtrailer response"
        ),
        vec!["2", "0"]
    );
    assert_eq!(
        results(&host, "request_body.get_buffer req_body 0 -1"),
        vec!["0 \"data\"", "0 \"data\""]
    );
}

/// `AllHeadersAndTrailersNotStarted`: until the filter saw its request headers its VM context
/// does not exist (`in_vm_context_created_` is set by `Context::decodeHeaders`), so request
/// body and trailers, response headers, body and trailers all answer Continue without entering
/// the VM (source/extensions/common/wasm/context.cc `decodeData`, `decodeTrailers`,
/// `encodeHeaders`, `encodeData`, `encodeTrailers`), and pass unchanged: the `headers` filter
/// would add `test-status` and stop on response trailers. In a running Envoy the response half
/// is the local reply to a request rejected before any filter ran
/// (`FilterManager::sendLocalReplyViaFilterChain` creates the filter chain and encodes through
/// every filter). Request and response metadata are not modelled (no proxy-wasm SDK exports
/// their callbacks).
#[test]
fn all_headers_and_trailers_not_started() {
    let mut host = headers_host();
    let mut s = host.http_stream().unwrap();
    let id = s.id();
    assert_eq!(
        s.request_body(b"data", false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.request_trailers(&[("x-t", "1")]).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.response_headers(&[(":status", "400")], false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.response_body(b"data", false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.response_trailers(&[("x-r", "1")]).unwrap(),
        FilterStatus::Continue
    );
    let client = s.client_response().expect("the response went on");
    assert_eq!(client.header("test-status"), None, "no on_response_headers");
    assert_eq!(client.body, b"data");
    assert_eq!(client.trailers, vec![("x-r".into(), "1".into())]);
    s.finish().unwrap();
    let names = callback_names(&host, id);
    for never in [
        "request_body",
        "request_trailers",
        "response_headers",
        "response_body",
        "response_trailers",
    ] {
        assert!(!names.iter().any(|n| n == never), "{never}: {names:?}");
    }
    assert_logged(&host, "done.log 3 onDone = 0");
}

/// `HeadersOnlyRequestHeadersAndBody`: headers then a last body chunk; the body is read and
/// the trailer added at its end reaches the upstream.
#[test]
fn headers_only_request_headers_and_body() {
    let mut host = headers_host();
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.request_body(b"hello", true).unwrap(),
        FilterStatus::Continue
    );
    let up = s.upstream_request().unwrap();
    assert_eq!(up.body, b"hello");
    assert_eq!(up.header("newtrailer"), None);
    assert_eq!(up.trailers, vec![("newtrailer".into(), "request".into())]);
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        result(&host, "request_body.get_buffer req_body 0 -1"),
        "0 \"hello\""
    );
}

/// The `HeadersStop…` cases: on_request_headers stops, the root's tick sets the stream as
/// effective context, replaces `server` and continues the request (`test_cpp.cc` `onTick`).
fn headers_stop_and_continue_via_tick() {
    let script = "
configure tick_period 10
request_headers add_header req newheader newheadervalue
request_headers return 1
tick#1 effective 2
tick#1 replace_header req server envoy-wasm-continue
tick#1 continue request
";
    let mut host = probe_host_with(script);
    let mut s = host.http_stream().unwrap();
    assert_eq!(s.id(), 2);
    assert_eq!(
        s.request_headers(&[(":path", "/"), ("server", "envoy-wasm-pause")], true)
            .unwrap(),
        FilterStatus::Pause
    );
    assert!(s.upstream_request().is_none());
    s.host().advance_clock(Duration::from_millis(10)).unwrap();
    let up = s.upstream_request().unwrap();
    assert_eq!(up.header("newheader"), Some("newheadervalue"));
    assert_eq!(up.header_all("server"), vec!["envoy-wasm-continue"]);
    assert!(s.request_complete());
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_logged(&host, "tick.continue request = 0");
}

/// `HeadersStopAndContinue` (StopIteration, turned into StopAllIterationAndWatermark by
/// proxy-wasm-cpp-host `convertVmCallResultToFilterHeadersStatus`).
#[test]
fn headers_stop_and_continue() {
    headers_stop_and_continue_via_tick();
}

/// A module whose on_request_headers returns `value` and which continues the request from
/// its first tick (the root set as effective context on stream 2).
fn raw_headers_action_module(value: u32) -> Module {
    let imports = r#"
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $eff (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $cont (param i32) (result i32)))"#;
    let body = format!(
        r#"
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 10))) (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $eff (i32.const 2)))
    (call $log_num STR("continue=") (call $cont (i32.const 0))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const {value}))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))
"#
    );
    let w = crate::conformance_support::wat::Wat {
        body: &body,
        imports,
        ..Default::default()
    };
    Module::from_bytes(crate::conformance_support::wat::bytes(&w)).unwrap()
}

/// Runs a request through a module returning `value` from on_request_headers; returns the
/// status after the headers and whether the request went upstream after the tick.
fn run_raw_headers_action(value: u32) -> (FilterStatus, bool) {
    let module = raw_headers_action_module(value);
    let mut host = Host::builder(&module).build().unwrap();
    let mut s = host.http_stream().unwrap();
    let st = s.request_headers(&[(":path", "/")], true).unwrap();
    let before = s.upstream_request().is_some();
    s.host().advance_clock(Duration::from_millis(10)).unwrap();
    let after = s.upstream_request().is_some();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(before, st == FilterStatus::Continue);
    (st, after)
}

/// `HeadersStopAndBuffer`: StopAllIterationAndBuffer (3) holds the request until the tick
/// continues it.
#[test]
fn headers_stop_and_buffer() {
    assert_eq!(run_raw_headers_action(3), (FilterStatus::Pause, true));
}

/// `HeadersStopAndWatermark`: StopAllIterationAndWatermark (4) holds the request until the
/// tick continues it.
#[test]
fn headers_stop_and_watermark() {
    assert_eq!(run_raw_headers_action(4), (FilterStatus::Pause, true));
}

/// `AccessLog`: on_log reads the request path and the response status of a completed stream
/// (`Context::log`, access-log phase maps), then on_done.
#[test]
fn access_log() {
    let mut host = headers_host();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    s.request_body(b"", true).unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(result(&host, "log.get_header req :path"), "0 \"/\"");
    assert_eq!(result(&host, "log.get_header resp :status"), "0 \"200\"");
    let names = callback_names(&host, 2);
    let log_at = names.iter().position(|n| n == "log").unwrap();
    let done_at = names.iter().position(|n| n == "done").unwrap();
    assert!(log_at < done_at, "{names:?}");
}

/// `AccessLogClientDisconnected`: the client went away before a response; on_log still runs,
/// and the absent response headers answer NOT_FOUND (`getHeaderMapValue` in the access-log
/// phase with a null map).
#[test]
fn access_log_client_disconnected() {
    let mut host = headers_host();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    s.finish().unwrap();
    assert_eq!(result(&host, "log.get_header req :path"), "0 \"/\"");
    assert_eq!(result(&host, "log.get_header resp :status"), "1");
    assert_logged(&host, "done.log 3 onDone = 0");
}

/// `AccessLogCreate`: a stream whose filter never saw request headers (a local reply earlier
/// in the chain) still gets on_log, then on_done (`Context::log` calls `onCreate`).
#[test]
fn access_log_create() {
    let module = probe();
    let mut host = probe_builder(&module, "log get_header req :path\ndone log 3 onDone")
        .build()
        .unwrap();
    let s = host.http_stream().unwrap();
    s.finish().unwrap();
    let names = callback_names(&host, 2);
    assert!(names.contains(&"log".to_string()), "{names:?}");
    assert_logged(&host, "done.log 3 onDone = 0");
}

/// `Metadata`: node metadata from the root's tick, request metadata (a struct) and the
/// request duration in on_log, and filter state set by the filter (`wasm.` prefix).
#[test]
fn metadata() {
    let module = probe();
    let script = "
configure tick_period 10
tick get_property node.metadata.wasm_node_get_key
request_headers get_property metadata%00filter_metadata%00envoy.filters.http.wasm%00wasm_request_get_key
request_headers set_property wasm_request_set_key wasm_request_set_value
request_body get_property node.metadata.wasm_node_get_key
log get_property wasm_request_set_key
";
    let mut host = probe_builder(&module, script)
        .property(
            "node.metadata.wasm_node_get_key",
            PropertyValue::from("wasm_node_get_value"),
        )
        .property_segments(
            &[
                "metadata",
                "filter_metadata",
                "envoy.filters.http.wasm",
                "wasm_request_get_key",
            ],
            PropertyValue::from("wasm_request_get_value"),
        )
        .build()
        .unwrap();
    host.advance_clock(Duration::from_millis(10)).unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/"), ("biz", "baz")], false)
        .unwrap();
    s.request_body(b"hello", true).unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        result(&host, "tick.get_property node.metadata.wasm_node_get_key"),
        "0 \"wasm_node_get_value\""
    );
    assert_eq!(
        result(
            &host,
            "request_body.get_property node.metadata.wasm_node_get_key"
        ),
        "0 \"wasm_node_get_value\""
    );
    assert_eq!(
        result(
            &host,
            "request_headers.get_property metadata%00filter_metadata%00envoy.filters.http.wasm%00wasm_request_get_key"
        ),
        "0 \"wasm_request_get_value\""
    );
    assert_eq!(
        result(
            &host,
            "request_headers.set_property wasm_request_set_key wasm_request_set_value"
        ),
        "0"
    );
    assert_eq!(
        result(&host, "log.get_property wasm_request_set_key"),
        "0 \"wasm_request_set_value\""
    );
}

/// `Property`: the request path, node metadata, the response code and filter state read back
/// in on_log.
#[test]
fn property() {
    let module = probe();
    let script = "
request_headers set_property wasm_state wasm_value
log get_property request.path
log get_property node%00metadata%00istio.io/metadata
log get_property_int response.code
log get_property wasm_state
";
    let mut host = probe_builder(&module, script)
        .property_segments(
            &["node", "metadata", "istio.io/metadata"],
            PropertyValue::from("sample_data"),
        )
        .build()
        .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/test_context")], true)
        .unwrap();
    s.response_headers(&[(":status", "403")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        result(&host, "log.get_property request.path"),
        "0 \"/test_context\""
    );
    assert_eq!(
        result(
            &host,
            "log.get_property node%00metadata%00istio.io/metadata"
        ),
        "0 \"sample_data\""
    );
    assert_eq!(result(&host, "log.get_property_int response.code"), "0 403");
    assert_eq!(
        result(&host, "log.get_property wasm_state"),
        "0 \"wasm_value\""
    );
}

/// `ClusterMetadata`: `cluster_metadata.filter_metadata.namespace.key` read in on_log.
#[test]
fn cluster_metadata() {
    let module = probe();
    let mut host = probe_builder(
        &module,
        "log get_property cluster_metadata.filter_metadata.namespace.key",
    )
    .property(
        "cluster_metadata.filter_metadata.namespace.key",
        PropertyValue::from("cluster"),
    )
    .build()
    .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], true).unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        result(
            &host,
            "log.get_property cluster_metadata.filter_metadata.namespace.key"
        ),
        "0 \"cluster\""
    );
}

/// `SharedData`: a set with a stale CAS is CAS_MISMATCH; gets return the values and their
/// CAS; a missing key is NOT_FOUND, twice.
#[test]
fn shared_data() {
    let script = "
configure tick_period 10
tick set_shared shared_data_key1 shared_data_value0 0
tick set_shared shared_data_key1 shared_data_value1 0
tick set_shared shared_data_key2 shared_data_value2 0
tick get_shared shared_data_key1
tick set_shared shared_data_key1 again 99
tick get_shared shared_data_key2
tick get_shared shared_data_key_bad
tick get_shared shared_data_key_bad
";
    let mut host = probe_host_with(script);
    host.advance_clock(Duration::from_millis(10)).unwrap();
    assert_eq!(
        result(&host, "tick.get_shared shared_data_key1"),
        "0 \"shared_data_value1\" cas=2"
    );
    assert_eq!(
        result(&host, "tick.set_shared shared_data_key1 again 99"),
        "8"
    );
    assert_eq!(
        result(&host, "tick.get_shared shared_data_key2"),
        "0 \"shared_data_value2\" cas=3"
    );
    assert_eq!(
        results(&host, "tick.get_shared shared_data_key_bad"),
        vec!["1", "1"]
    );
}

/// `SharedQueue`: resolving queues that do not exist is NOT_FOUND (own VM, other VM ids);
/// the registered queue resolves by VM id; enqueue is OK and wakes the root's
/// on_queue_ready, where a dequeue gets the data and the next one EMPTY (7); a bad token is
/// NOT_FOUND.
#[test]
fn shared_queue() {
    let script = "
configure register_queue my_shared_queue
request_headers resolve_queue probe-vm bad_shared_queue
request_headers resolve_queue bad_vm_id bad_shared_queue
request_headers resolve_queue probe-vm my_shared_queue
request_headers enqueue $q data1
queue_ready dequeue 99
queue_ready dequeue $q
queue_ready dequeue $q
";
    let mut host = probe_host_with(script);
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], true).unwrap(),
        FilterStatus::Continue
    );
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    let q = host.queue_id("my_shared_queue").unwrap();
    assert_eq!(
        result(
            &host,
            "request_headers.resolve_queue probe-vm bad_shared_queue"
        ),
        "1 id=0"
    );
    assert_eq!(
        result(
            &host,
            "request_headers.resolve_queue bad_vm_id bad_shared_queue"
        ),
        "1 id=0"
    );
    assert_eq!(
        result(
            &host,
            "request_headers.resolve_queue probe-vm my_shared_queue"
        ),
        format!("0 id={q}")
    );
    assert_eq!(
        result(&host, &format!("request_headers.enqueue {q} data1")),
        "0"
    );
    assert_eq!(result(&host, "queue_ready.dequeue 99"), "1");
    assert_eq!(
        results(&host, &format!("queue_ready.dequeue {q}")),
        vec!["0 \"data1\"", "7"]
    );
}
