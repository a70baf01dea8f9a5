//! Envoy's own HTTP Wasm filter tests, mirrored: one harness test per `TEST_P` of
//! `test/extensions/filters/http/wasm/wasm_filter_test.cc` (the Envoy line Istio 1.30's proxy
//! builds: see the README's "Envoy conformance"), named after it. Envoy's test-data filters
//! (`test_data/*_rust.rs`, `test_cpp.cc`) are replaced by scripts for the `conformance-probe` guest doing the same
//! hostcalls (our own code); each assertion is the one Envoy's test makes on the host side
//! (statuses, headers and bodies forwarded, local replies, resets, callbacks seen).
//! Cases that cannot apply to the harness are listed in the README's conformance matrix.

use std::time::Duration;

use crate::conformance_support::{
    assert_logged, assert_not_logged, callback_names, probe, probe_builder, result, results,
};
use wasme_harness::{
    FailurePolicy, FilterStatus, GrpcResponse, Host, HttpCallResponse, Module, PropertyValue,
};

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

fn probe_host_with(script: &str) -> Host {
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

/// What Envoy's `body` test filter does (`test_data/body_rust.rs`) for the operation in
/// `x-test-operation`, as a probe script on the request body (and, where Envoy's test also
/// encodes, the response body).
fn body_host(script: &str) -> Host {
    probe_host_with(script)
}

fn request_with_body(host: &mut Host, chunks: &[(&[u8], bool)]) -> (Vec<FilterStatus>, Vec<u8>) {
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    let statuses = chunks
        .iter()
        .map(|(c, eos)| s.request_body(c, *eos).unwrap())
        .collect();
    let body = s.upstream_request().map(|m| m.body).unwrap_or_default();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    (statuses, body)
}

/// `BodyRequestReadBody`: the last chunk is read whole.
#[test]
fn body_request_read_body() {
    let mut host = body_host("request_body get_buffer req_body 0 -1");
    let (st, body) = request_with_body(&mut host, &[(b"hello", true)]);
    assert_eq!(st, vec![FilterStatus::Continue]);
    assert_eq!(body, b"hello");
    assert_eq!(
        result(&host, "request_body.get_buffer req_body 0 -1"),
        "0 \"hello\""
    );
}

/// `BodyRequestPrependAndAppendToBody`: (0, 0) prepends, (len, 0) appends (`Buffer::copyFrom`),
/// in both directions; the second body callback sees the bytes the first one added.
#[test]
fn body_request_prepend_and_append_to_body() {
    let script = "
request_body set_buffer req_body 0 0 prepend.
request_body set_buffer req_body 4294967295 0 .append
request_body get_buffer req_body 0 -1
response_body set_buffer resp_body 0 0 prepend.
response_body set_buffer resp_body 4294967295 0 .append
response_body get_buffer resp_body 0 -1
";
    let mut host = body_host(script);
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    assert_eq!(
        s.request_body(b"hello", true).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(s.upstream_request().unwrap().body, b"prepend.hello.append");
    s.response_headers(&[(":status", "200")], false).unwrap();
    s.response_body(b"prepend.hello.append", true).unwrap();
    assert_eq!(
        s.client_response().unwrap().body,
        b"prepend.prepend.hello.append.append"
    );
    s.finish().unwrap();
    assert_eq!(
        result(&host, "request_body.get_buffer req_body 0 -1"),
        "0 \"prepend.hello.append\""
    );
    assert_eq!(
        result(&host, "response_body.get_buffer resp_body 0 -1"),
        "0 \"prepend.prepend.hello.append.append\""
    );
}

/// `BodyRequestReplaceBody`: (0, ≥ len) replaces everything, in both directions.
#[test]
fn body_request_replace_body() {
    let script = "
request_body set_buffer req_body 0 4294967295 replace
request_body get_buffer req_body 0 -1
response_body set_buffer resp_body 0 4294967295 replace
response_body get_buffer resp_body 0 -1
";
    let mut host = body_host(script);
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    s.request_body(b"hello", true).unwrap();
    assert_eq!(s.upstream_request().unwrap().body, b"replace");
    s.response_headers(&[(":status", "200")], false).unwrap();
    s.response_body(b"hello", true).unwrap();
    assert_eq!(s.client_response().unwrap().body, b"replace");
    s.finish().unwrap();
    assert_eq!(
        results(&host, "request_body.get_buffer req_body 0 -1"),
        vec!["0 \"replace\""]
    );
}

/// `BodyRequestPartialReplaceBody`: (0, 1) drains one byte and prepends
/// (`Buffer::copyFrom`: `drain(length)` then `prepend`) — "partial.replace.ello", and on the
/// response "partial.replace.artial.replace.ello".
#[test]
fn body_request_partial_replace_body() {
    let script = "
request_body set_buffer req_body 0 1 partial.replace.
request_body get_buffer req_body 0 -1
response_body set_buffer resp_body 0 1 partial.replace.
response_body get_buffer resp_body 0 -1
";
    let mut host = body_host(script);
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    s.request_body(b"hello", true).unwrap();
    let up = s.upstream_request().unwrap().body;
    assert_eq!(up, b"partial.replace.ello");
    s.response_headers(&[(":status", "200")], false).unwrap();
    s.response_body(&up, true).unwrap();
    assert_eq!(
        s.client_response().unwrap().body,
        b"partial.replace.artial.replace.ello"
    );
    s.finish().unwrap();
    assert_eq!(
        result(
            &host,
            "request_body.set_buffer req_body 0 1 partial.replace."
        ),
        "0"
    );
}

/// `BodyRequestRemoveBody`: (0, ≥ len, "") empties the body.
#[test]
fn body_request_remove_body() {
    let mut host = body_host(
        "request_body set_buffer req_body 0 4294967295 -\nrequest_body get_buffer req_body 0 -1",
    );
    let (_, body) = request_with_body(&mut host, &[(b"hello", true)]);
    assert_eq!(body, b"");
    assert_eq!(
        result(&host, "request_body.get_buffer req_body 0 -1"),
        "0 \"\""
    );
}

/// `BodyRequestPartialRemoveBody`: (0, 1, "") drops the first byte.
#[test]
fn body_request_partial_remove_body() {
    let mut host =
        body_host("request_body set_buffer req_body 0 1 -\nrequest_body get_buffer req_body 0 -1");
    let (_, body) = request_with_body(&mut host, &[(b"hello", true)]);
    assert_eq!(body, b"ello");
    assert_eq!(
        result(&host, "request_body.get_buffer req_body 0 -1"),
        "0 \"ello\""
    );
}

/// `BodyRequestBufferBody`: StopIterationAndBuffer until the end; each callback sees the
/// whole buffered body; the response is not buffered afterwards.
#[test]
fn body_request_buffer_body() {
    let script = "
request_body get_buffer req_body 0 -1
request_body#1 return 1
request_body#2 return 1
response_body get_buffer resp_body 0 -1
";
    let mut host = body_host(script);
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    assert_eq!(
        s.request_body(b"hello", false).unwrap(),
        FilterStatus::Pause
    );
    assert_eq!(
        s.request_body(b" again ", false).unwrap(),
        FilterStatus::Pause
    );
    assert_eq!(
        s.request_body(b"hello", true).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(s.upstream_request().unwrap().body, b"hello again hello");
    s.response_headers(&[(":status", "200")], false).unwrap();
    assert_eq!(
        s.response_body(b"hello", false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.response_body(b"hello", true).unwrap(),
        FilterStatus::Continue
    );
    s.finish().unwrap();
    assert_eq!(
        results(&host, "request_body.get_buffer req_body 0 -1"),
        vec![
            "0 \"hello\"",
            "0 \"hello again \"",
            "0 \"hello again hello\""
        ]
    );
    assert_eq!(
        results(&host, "response_body.get_buffer resp_body 0 -1"),
        vec!["0 \"hello\"", "0 \"hello\""]
    );
}

/// The `…BufferedBody` cases: the filter buffers the first chunk, then edits the buffered
/// body in the last callback; `edit` is the set_buffer step.
fn buffered_edit(edit: &str) -> (Vec<u8>, Vec<String>) {
    let script = format!(
        "request_body#1 return 1\nrequest_body#2 {edit}\nrequest_body#2 get_buffer req_body 0 -1"
    );
    let mut host = body_host(&script);
    let (st, body) = request_with_body(&mut host, &[(b"hel", false), (b"lo", true)]);
    assert_eq!(st, vec![FilterStatus::Pause, FilterStatus::Continue]);
    let got = results(&host, "request_body.get_buffer req_body 0 -1");
    (body, got)
}

/// `BodyRequestPrependAndAppendToBufferedBody`.
#[test]
fn body_request_prepend_and_append_to_buffered_body() {
    let script = "
request_body#1 return 1
request_body#2 set_buffer req_body 0 0 prepend.
request_body#2 set_buffer req_body 4294967295 0 .append
request_body#2 get_buffer req_body 0 -1
";
    let mut host = body_host(script);
    let (_, body) = request_with_body(&mut host, &[(b"hel", false), (b"lo", true)]);
    assert_eq!(body, b"prepend.hello.append");
    assert_eq!(
        result(&host, "request_body.get_buffer req_body 0 -1"),
        "0 \"prepend.hello.append\""
    );
}

/// `BodyRequestReplaceBufferedBody`.
#[test]
fn body_request_replace_buffered_body() {
    let (body, got) = buffered_edit("set_buffer req_body 0 4294967295 replace");
    assert_eq!(body, b"replace");
    assert_eq!(got, vec!["0 \"replace\""]);
}

/// `BodyRequestPartialReplaceBufferedBody`.
#[test]
fn body_request_partial_replace_buffered_body() {
    let (body, got) = buffered_edit("set_buffer req_body 0 1 partial.replace.");
    assert_eq!(body, b"partial.replace.ello");
    assert_eq!(got, vec!["0 \"partial.replace.ello\""]);
}

/// `BodyRequestRemoveBufferedBody`.
#[test]
fn body_request_remove_buffered_body() {
    let (body, got) = buffered_edit("set_buffer req_body 0 4294967295 -");
    assert_eq!(body, b"");
    assert_eq!(got, vec!["0 \"\""]);
}

/// `BodyRequestPartialRemoveBufferedBody`.
#[test]
fn body_request_partial_remove_buffered_body() {
    let (body, got) = buffered_edit("set_buffer req_body 0 1 -");
    assert_eq!(body, b"ello");
    assert_eq!(got, vec!["0 \"ello\""]);
}

/// The `Body…BufferThenStreamBody` cases: buffer twice (StopIterationAndBuffer), continue
/// with the whole buffer, then see each later chunk alone.
fn buffer_then_stream(response: bool) {
    let (cb, buf) = if response {
        ("response_body", "resp_body")
    } else {
        ("request_body", "req_body")
    };
    let script = format!("{cb} get_buffer {buf} 0 -1\n{cb}#1 return 1\n{cb}#2 return 1\n");
    let mut host = body_host(&script);
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], response).unwrap();
    if response {
        s.response_headers(&[(":status", "200")], false).unwrap();
    }
    let mut feed = |chunk: &[u8], eos: bool| {
        if response {
            s.response_body(chunk, eos).unwrap()
        } else {
            s.request_body(chunk, eos).unwrap()
        }
    };
    assert_eq!(feed(b"hello", false), FilterStatus::Pause);
    assert_eq!(feed(b", there, ", false), FilterStatus::Pause);
    assert_eq!(feed(b"world!", false), FilterStatus::Continue);
    assert_eq!(feed(b"So it's ", false), FilterStatus::Continue);
    assert_eq!(feed(b"goodbye, then!", true), FilterStatus::Continue);
    let got = if response {
        s.client_response().unwrap().body
    } else {
        s.upstream_request().unwrap().body
    };
    assert_eq!(got, b"hello, there, world!So it's goodbye, then!");
    if !response {
        s.response_headers(&[(":status", "200")], true).unwrap();
    }
    s.finish().unwrap();
    assert_eq!(
        results(&host, &format!("{cb}.get_buffer {buf} 0 -1")),
        vec![
            "0 \"hello\"",
            "0 \"hello, there, \"",
            "0 \"hello, there, world!\"",
            "0 \"So it's \"",
            "0 \"goodbye, then!\""
        ]
    );
}

/// `BodyRequestBufferThenStreamBody`.
#[test]
fn body_request_buffer_then_stream_body() {
    buffer_then_stream(false);
}

/// `BodyResponseBufferThenStreamBody`.
#[test]
fn body_response_buffer_then_stream_body() {
    buffer_then_stream(true);
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

/// `AsyncCall`: the callout carries exactly the filter's headers plus `content-length`, the
/// request stops, and the response reaches on_http_call_response with its headers and body.
#[test]
fn async_call() {
    let script = "
request_headers http_call cluster 5000 :method=POST :path=/ :authority=foo body=hello%20world
request_headers return 1
http_call_response get_buffer call_body 0 -1
http_call_response get_header call_headers :status
";
    let mut host = probe_host_with(script);
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], false).unwrap(),
        FilterStatus::Pause
    );
    let calls = s.host().pending_http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, "cluster");
    assert_eq!(
        call.headers,
        vec![
            (":method".into(), "POST".into()),
            (":path".into(), "/".into()),
            (":authority".into(), "foo".into()),
            ("content-length".into(), "11".into())
        ]
    );
    let token = call.token;
    s.host()
        .respond_http_call(token, HttpCallResponse::new(200).body("response"))
        .unwrap();
    s.finish().unwrap();
    assert_eq!(
        result(&host, "http_call_response.get_buffer call_body 0 -1"),
        "0 \"response\""
    );
    assert_eq!(
        result(&host, "http_call_response.get_header call_headers :status"),
        "0 \"200\""
    );
}

/// `StopAndResumeViaAsyncCall`: the callout's answer continues the request, after the VM
/// call returns (`continueStream` defers `continueDecoding`).
#[test]
fn stop_and_resume_via_async_call() {
    let script = "
request_headers http_call cluster 5000 :method=POST :path=/ :authority=foo body=resume
request_headers return 1
http_call_response continue request
";
    let mut host = probe_host_with(script);
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], false).unwrap(),
        FilterStatus::Pause
    );
    let token = s.host().pending_http_calls()[0].token;
    assert_eq!(
        s.host().pending_http_calls()[0].header("content-length"),
        Some("6")
    );
    s.host()
        .respond_http_call(token, HttpCallResponse::new(200))
        .unwrap();
    assert!(s.upstream_request().is_some());
    s.request_body(b"", true).unwrap();
    assert!(s.request_complete());
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_logged(&host, "http_call_response.continue request = 0");
}

/// A stream of Envoy's `async_call` test filter whose callout goes to `cluster`, a cluster
/// without a healthy host: Envoy's async client fails the request inline (the router's 503
/// "no healthy upstream" before `AsyncClientImpl::send` returns, which then returns no
/// request), `Context::httpCall` answers INTERNAL_FAILURE (10) and the filter logs
/// "async_call rejected"; the inline answer, deferred until the VM call returns, finds no
/// request for its token (`Context::onHttpCallSuccess`) and never reaches the filter. The
/// headers callback still stops (StopAllIterationAndWatermark).
fn async_call_rejected_inline(path: &str) {
    let script = "
request_headers http_call cluster 5000 :method=POST :path=/ :authority=foo body=hello%20world
request_headers return 1
http_call_response get_header call_headers :status
";
    let mut host = probe_host_with(script);
    host.script_http_no_healthy_upstream("cluster");
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", path)], false).unwrap(),
        FilterStatus::Pause
    );
    assert!(s.host().pending_http_calls().is_empty());
    s.host().advance_clock(Duration::from_secs(10)).unwrap();
    assert!(s.upstream_request().is_none(), "the request stays stopped");
    s.finish().unwrap();
    assert_eq!(
        result(
            &host,
            "request_headers.http_call cluster 5000 :method=POST :path=/ :authority=foo body=hello%20world"
        ),
        "10"
    );
    assert_not_logged(&host, "> http_call_response");
}

/// `AsyncCallBadCall`: `send` returns no request, so the filter's call is rejected with
/// INTERNAL_FAILURE and nothing calls it back. Envoy's mock fails `send` outright; in a running
/// Envoy `send` returns no request only when the request failed inline, as for a cluster
/// without a healthy host, which is what the harness reproduces (see
/// [`async_call_rejected_inline`]).
#[test]
fn async_call_bad_call() {
    async_call_rejected_inline("/bad");
}

/// `AsyncCallBadCluster`: "no healthy host for HTTP connection pool" — the 503 is given to the
/// callbacks inline and `send` returns no request; the filter logs "async_call rejected"
/// (INTERNAL_FAILURE) and never sees the 503 (see [`async_call_rejected_inline`]).
#[test]
fn async_call_bad_cluster() {
    async_call_rejected_inline("/bad");
}

/// A cluster whose upstream cannot be connected to is not an inline failure: the call is
/// accepted and the router's 503 comes back later through on_http_call_response
/// (`Router::Filter::onUpstreamReset` → local reply → `AsyncRequestImpl::onComplete`).
#[test]
fn async_call_connect_failure_answers_later() {
    let script = "
request_headers http_call bad 5000 :method=POST :path=/bad :authority=foo
request_headers return 1
http_call_response get_header call_headers :status
";
    let mut host = probe_host_with(script);
    host.script_http_connect_failure("bad");
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/bad")], false).unwrap(),
        FilterStatus::Pause
    );
    s.finish().unwrap();
    assert_eq!(
        result(
            &host,
            "request_headers.http_call bad 5000 :method=POST :path=/bad :authority=foo"
        ),
        "0 token=4"
    );
    assert_eq!(
        result(&host, "http_call_response.get_header call_headers :status"),
        "0 \"503\""
    );
}

/// `AsyncCallFailure`: a reset callout reaches the filter as `(token, 0, 0, 0)` with
/// `proxy_get_status` = (BROKEN_CONNECTION = 11, "reset"), as `Context::onHttpCallFailure`
/// sets them.
#[test]
fn async_call_failure() {
    let script = "
request_headers http_call cluster 5000 :method=POST :path=/ :authority=foo body=hello%20world
request_headers return 1
http_call_response get_status
";
    let mut host = probe_host_with(script);
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    let token = s.host().pending_http_calls()[0].token;
    s.host().fail_http_call(token).unwrap();
    s.finish().unwrap();
    assert_logged(
        &host,
        &format!("> http_call_response ctx=2 token={token} headers=0 body=0 trailers=0"),
    );
    assert_eq!(
        result(&host, "http_call_response.get_status"),
        "0 code=11 msg=\"reset\""
    );
}

/// `AsyncCallAfterDestroyed`: a callout pending when the stream ends is cancelled
/// (`Context::~Context` cancels `http_request_`); no callback reaches the filter.
#[test]
fn async_call_after_destroyed() {
    let script = "
request_headers http_call cluster 5000 :method=POST :path=/ :authority=foo body=hello%20world
request_headers return 1
";
    let mut host = probe_host_with(script);
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    let token = s.host().pending_http_calls()[0].token;
    s.finish().unwrap();
    assert!(host.pending_http_calls().is_empty());
    let _ = host.respond_http_call(token, HttpCallResponse::new(200).body("response"));
    assert_not_logged(&host, "> http_call_response");
}

/// The `GrpcCall…` cases' shared start: a bogus service name is PARSE_FAILURE
/// (`Context::grpcCall`: not a GrpcService and not a cluster), the call to `cluster` is made;
/// `then` runs with the token while the stream is alive. Returns the host and the token.
fn grpc_call_host(extra: &str, then: impl FnOnce(&mut Host, u32)) -> (Host, u32) {
    let script = format!(
        "
request_headers grpc_call bogus%20grpc_service service method request 1000
request_headers grpc_call cluster service method request 1000
request_headers return 1
{extra}"
    );
    let mut host = probe_host_with(&script);
    let token = {
        let mut s = host.http_stream().unwrap();
        assert_eq!(
            s.request_headers(&[(":path", "/")], false).unwrap(),
            FilterStatus::Pause
        );
        let calls = s.host().pending_grpc_calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            (calls[0].service.as_str(), calls[0].method.as_str()),
            ("service", "method")
        );
        assert_eq!(calls[0].messages, vec![b"request".to_vec()]);
        assert_eq!(calls[0].timeout, Some(Duration::from_millis(1000)));
        let token = calls[0].token;
        then(s.host(), token);
        token
    };
    assert_eq!(
        result(
            &host,
            "request_headers.grpc_call bogus%20grpc_service service method request 1000"
        ),
        "4"
    );
    (host, token)
}

/// `GrpcCall`: the reply reaches on_grpc_receive with the message.
#[test]
fn grpc_call() {
    let (host, token) = grpc_call_host("grpc_call_response get_buffer grpc 0 -1", |h, t| {
        h.respond_grpc_call(t, GrpcResponse::ok("response"))
            .unwrap()
    });
    assert_eq!(
        result(&host, "grpc_call_response.get_buffer grpc 0 -1"),
        "0 \"response\""
    );
    assert_logged(
        &host,
        &format!("> grpc_call_response ctx=2 token={token} status=0 size=8"),
    );
}

/// `GrpcCallFailure`: a failed call reaches the filter as a close with the status and message
/// (`onGrpcCloseWrapper`); the token-kind errors of `grpcSend`/`grpcCancel`/`grpcClose`:
/// an HTTP-call token (kind 0) is BAD_ARGUMENT for all three; a gRPC-call token (kind 1) is
/// BAD_ARGUMENT to send and NOT_FOUND to cancel/close when not pending; a stream token
/// (kind 2) not pending is NOT_FOUND for all three.
#[test]
fn grpc_call_failure() {
    let extra = "
request_headers grpc_send 65280 - 0
request_headers grpc_cancel 65280
request_headers grpc_close 65280
request_headers grpc_send 65281 - 0
request_headers grpc_cancel 65281
request_headers grpc_close 65281
request_headers grpc_send 65282 - 0
request_headers grpc_cancel 65282
request_headers grpc_close 65282
grpc_call_response get_status
";
    let (host, token) = grpc_call_host(extra, |h, t| {
        h.respond_grpc_call(t, GrpcResponse::error(1, "bad"))
            .unwrap()
    });
    for (step, want) in [
        ("grpc_send 65280 - 0", "2"),
        ("grpc_cancel 65280", "2"),
        ("grpc_close 65280", "2"),
        ("grpc_send 65281 - 0", "2"),
        ("grpc_cancel 65281", "1"),
        ("grpc_close 65281", "1"),
        ("grpc_send 65282 - 0", "1"),
        ("grpc_cancel 65282", "1"),
        ("grpc_close 65282", "1"),
    ] {
        assert_eq!(
            result(&host, &format!("request_headers.{step}")),
            want,
            "{step}"
        );
    }
    assert_logged(
        &host,
        &format!("> grpc_call_response ctx=2 token={token} status=1 size=0"),
    );
    assert_eq!(
        result(&host, "grpc_call_response.get_status"),
        "0 code=1 msg=\"bad\""
    );
}

/// `GrpcCallCancel`: cancelling the pending call answers OK and forgets it; a second cancel
/// is NOT_FOUND (`Context::grpcCancel`); no reply reaches the filter.
#[test]
fn grpc_call_cancel() {
    let module = probe();
    let mut host = probe_builder(
        &module,
        "
request_headers grpc_call cluster service method request 1000
request_headers grpc_cancel $g
request_headers grpc_cancel $g
",
    )
    .cluster("cluster")
    .build()
    .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], true).unwrap();
    assert!(s.host().pending_grpc_calls().is_empty());
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        results(&host, "request_headers.grpc_cancel 5"),
        vec!["0", "1"]
    );
    assert_not_logged(&host, "> grpc_call_response");
}

/// `GrpcCallClose`: closing a pending unary call answers OK, cancels it, and a second close
/// is NOT_FOUND (`Context::grpcClose`).
#[test]
fn grpc_call_close() {
    let module = probe();
    let mut host = probe_builder(
        &module,
        "
request_headers grpc_call cluster service method request 1000
request_headers grpc_close $g
request_headers grpc_close $g
",
    )
    .cluster("cluster")
    .build()
    .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], true).unwrap();
    assert!(s.host().pending_grpc_calls().is_empty());
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        results(&host, "request_headers.grpc_close 5"),
        vec!["0", "1"]
    );
    assert_not_logged(&host, "> grpc_call_response");
}

/// `GrpcCallAfterDestroyed`: the stream (Rust SDK: the context owning the call) is destroyed;
/// the call is cancelled (`Context::~Context`) and no callback runs.
#[test]
fn grpc_call_after_destroyed() {
    let (mut host, token) = grpc_call_host("", |_, _| {});
    assert!(host.pending_grpc_calls().is_empty());
    assert!(
        host.respond_grpc_call(token, GrpcResponse::ok("response"))
            .is_err()
    );
    host.shutdown().unwrap();
    assert_not_logged(&host, "> grpc_call_response");
}

/// The `GrpcStream…` cases: a stream to `cluster` (a bogus service is PARSE_FAILURE) with one
/// message sent; `then` runs with the token while the stream is alive.
fn grpc_stream_host(extra: &str, then: impl FnOnce(&mut Host, u32)) -> (Host, u32) {
    let script = format!(
        "
request_headers grpc_stream bogus%20service service method
request_headers grpc_stream cluster service method
request_headers grpc_send $s request 0
request_headers return 1
{extra}"
    );
    let mut host = probe_host_with(&script);
    let token = {
        let mut s = host.http_stream().unwrap();
        assert_eq!(
            s.request_headers(&[(":path", "/")], false).unwrap(),
            FilterStatus::Pause
        );
        let calls = s.host().pending_grpc_calls();
        assert_eq!(calls.len(), 1);
        assert!(calls[0].is_stream);
        assert_eq!(calls[0].messages, vec![b"request".to_vec()]);
        let token = calls[0].token;
        then(s.host(), token);
        token
    };
    assert_eq!(
        result(
            &host,
            "request_headers.grpc_stream bogus%20service service method"
        ),
        "4"
    );
    (host, token)
}

/// `GrpcStream`: initial metadata, the message, trailing metadata and the remote close reach
/// the filter in that order (`AsyncStreamImpl` → `GrpcStreamClientHandler`).
#[test]
fn grpc_stream() {
    let answer = GrpcResponse {
        messages: vec![b"response".to_vec()],
        status: 0,
        status_message: "done".into(),
        ..Default::default()
    };
    let (host, _) = grpc_stream_host(
        "grpc_message get_buffer grpc 0 -1\ngrpc_stream_close get_status",
        |h, t| h.respond_grpc_call(t, answer).unwrap(),
    );
    let order: Vec<String> = callback_names(&host, 2)
        .into_iter()
        .filter(|n| n.starts_with("grpc_"))
        .collect();
    assert_eq!(
        order,
        vec![
            "grpc_initial_metadata",
            "grpc_message",
            "grpc_trailing_metadata",
            "grpc_stream_close"
        ]
    );
    assert_eq!(
        result(&host, "grpc_message.get_buffer grpc 0 -1"),
        "0 \"response\""
    );
    assert_eq!(
        result(&host, "grpc_stream_close.get_status"),
        "0 code=0 msg=\"done\""
    );
}

/// `GrpcStreamCloseLocal`: the filter closes its side on a message; the remote close still
/// arrives (`grpcClose` sets `local_closed_`; the stream is forgotten on the remote close).
#[test]
fn grpc_stream_close_local() {
    let answer = GrpcResponse {
        messages: vec![b"close".to_vec()],
        status_message: "ok".into(),
        ..Default::default()
    };
    let (host, token) = grpc_stream_host(
        "grpc_message grpc_close $s\ngrpc_stream_close get_status",
        |h, t| {
            h.respond_grpc_call(t, answer).unwrap();
            assert!(h.pending_grpc_calls().is_empty());
        },
    );
    assert_eq!(
        result(&host, &format!("grpc_message.grpc_close {token}")),
        "0"
    );
    assert_eq!(
        result(&host, "grpc_stream_close.get_status"),
        "0 code=0 msg=\"ok\""
    );
}

/// `GrpcStreamCloseRemote`: the remote closes first; the filter's close afterwards is
/// NOT_FOUND (the stream was forgotten).
#[test]
fn grpc_stream_close_remote() {
    let answer = GrpcResponse {
        messages: vec![b"response".to_vec()],
        status_message: "close".into(),
        ..Default::default()
    };
    let (host, token) = grpc_stream_host(
        "grpc_stream_close get_status\ngrpc_stream_close grpc_close $s",
        |h, t| h.respond_grpc_call(t, answer).unwrap(),
    );
    assert_eq!(
        result(&host, "grpc_stream_close.get_status"),
        "0 code=0 msg=\"close\""
    );
    assert_eq!(
        result(&host, &format!("grpc_stream_close.grpc_close {token}")),
        "1"
    );
}

/// `GrpcStreamCancel`: the filter resets the stream from its initial-metadata callback; no
/// message or close follows.
#[test]
fn grpc_stream_cancel() {
    let answer = GrpcResponse {
        initial_metadata: vec![("test".into(), "reset".into())],
        messages: vec![b"response".to_vec()],
        ..Default::default()
    };
    let (host, token) = grpc_stream_host("grpc_initial_metadata grpc_cancel $s", |h, t| {
        h.respond_grpc_call(t, answer).unwrap()
    });
    assert_eq!(
        result(&host, &format!("grpc_initial_metadata.grpc_cancel {token}")),
        "0"
    );
    assert_logged(
        &host,
        &format!("> grpc_initial_metadata ctx=2 token={token} n=1"),
    );
    assert_not_logged(&host, "> grpc_message");
    assert_not_logged(&host, "> grpc_stream_close");
}

/// `GrpcStreamOpenAtShutdown`: a stream still open when its context and the VM go away is
/// reset (`Context::~Context`) without a callback.
#[test]
fn grpc_stream_open_at_shutdown() {
    let (mut host, token) = grpc_stream_host("", |_, _| {});
    assert!(host.pending_grpc_calls().is_empty());
    host.shutdown().unwrap();
    assert!(
        host.respond_grpc_call(token, GrpcResponse::ok("late"))
            .is_err()
    );
    assert_not_logged(&host, "> grpc_stream_close");
}

/// Not an Envoy `TEST_P` of its own: the root-context side of `Context::~Context`
/// (source/extensions/common/wasm/context.cc). A callout a root made (here on a tick) dies with
/// the root when the plugin shuts down; no callback follows.
#[test]
fn a_roots_callouts_end_with_it_at_shutdown() {
    let script = "
configure tick_period 10
tick http_call cluster 5000 :method=GET :path=/ :authority=foo
http_call_response log 3 late
";
    let mut host = probe_host_with(script);
    host.advance_clock(Duration::from_millis(10)).unwrap();
    let calls = host.pending_http_calls();
    assert!(!calls.is_empty(), "the tick called out");
    let token = calls[0].token;
    host.shutdown().unwrap();
    assert!(host.pending_http_calls().is_empty());
    assert!(
        host.respond_http_call(token, HttpCallResponse::new(200))
            .is_err()
    );
    assert_not_logged(&host, "> http_call_response");
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

/// `RootIdNotRegistered`: a plugin whose root id the module does not know still runs the
/// stream (the Rust SDK answers with its one root).
#[test]
fn root_id_not_registered() {
    let module = probe();
    let mut host = wasme_harness::Host::builder(&module)
        .root_id("not-registered")
        .build()
        .unwrap();
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(Vec::<(&str, &str)>::new().as_slice(), true)
            .unwrap(),
        FilterStatus::Continue
    );
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
}

/// `RootId1`/`RootId2` share this: two plugins with different root ids in one VM each run
/// their own script; `context2` stops.
fn two_roots() -> Host {
    let module = probe();
    wasme_harness::Host::builder(&module)
        .root_id("context1")
        .plugin_config("request_headers log 1 onRequestHeaders1")
        .add_plugin(
            "context2",
            "plugin2",
            "request_headers log 1 onRequestHeaders2\nrequest_headers return 1",
        )
        .build()
        .unwrap()
}

/// `RootId1`.
#[test]
fn root_id1() {
    let mut host = two_roots();
    let mut s = host.http_stream_for(0).unwrap();
    assert_eq!(
        s.request_headers(Vec::<(&str, &str)>::new().as_slice(), true)
            .unwrap(),
        FilterStatus::Continue
    );
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_logged(&host, "request_headers.log 1 onRequestHeaders1 = 0");
    assert_not_logged(&host, "request_headers.log 1 onRequestHeaders2");
}

/// `RootId2`.
#[test]
fn root_id2() {
    let mut host = two_roots();
    let mut s = host.http_stream_for(1).unwrap();
    assert_eq!(
        s.request_headers(Vec::<(&str, &str)>::new().as_slice(), true)
            .unwrap(),
        FilterStatus::Pause
    );
    s.finish().unwrap();
    assert_logged(&host, "request_headers.log 1 onRequestHeaders2 = 0");
    assert_not_logged(&host, "request_headers.log 1 onRequestHeaders1");
}

/// The `PanicOn…` cases: a trap in `callback` fails the stream with one local reply, 503
/// `wasm_fail_stream` with gRPC UNAVAILABLE, never a second (`Context::failStream`,
/// `failure_local_reply_sent_`); the response callbacks are not called afterwards.
fn panic_on(callback: &str) {
    let module = probe();
    let mut host = probe_builder(&module, &format!("{callback} panic boom"))
        .failure_policy(FailurePolicy::FailClosed)
        .build()
        .unwrap();
    let mut s = host.http_stream().unwrap();
    let mut last = s.request_headers(&[(":path", "/")], false).unwrap();
    if last != FilterStatus::LocalReply {
        last = s.request_body(b"b", false).unwrap();
    }
    if last != FilterStatus::LocalReply {
        last = s.request_trailers(&[("t", "1")]).unwrap();
    }
    if last != FilterStatus::LocalReply {
        last = s.response_headers(&[(":status", "200")], false).unwrap();
    }
    if last != FilterStatus::LocalReply {
        last = s.response_body(b"b", false).unwrap();
    }
    if last != FilterStatus::LocalReply {
        last = s.response_trailers(&[("t", "1")]).unwrap();
    }
    let reply = s.local_reply();
    let reset = s.reset_details();
    s.finish().unwrap();
    assert!(host.failure().is_some());
    match reply {
        Some(r) => {
            assert_eq!(last, FilterStatus::LocalReply);
            assert_eq!((r.status, r.details.as_str()), (503, "wasm_fail_stream"));
            assert_eq!(r.body, b"");
        }
        // After the response headers went out, the failure resets the stream instead.
        None => assert_eq!(reset.as_deref(), Some("wasm_fail_stream")),
    }
    let entered: Vec<String> = callback_names(&host, 2);
    let at = entered.iter().position(|n| n == callback).unwrap();
    assert!(
        entered[at + 1..]
            .iter()
            .all(|n| !n.starts_with("request_") && !n.starts_with("response_")),
        "callbacks after the trap: {entered:?}"
    );
}

/// `PanicOnRequestHeaders`.
#[test]
fn panic_on_request_headers() {
    panic_on("request_headers");
}

/// `PanicOnRequestBody`.
#[test]
fn panic_on_request_body() {
    panic_on("request_body");
}

/// `PanicOnRequestTrailers`.
#[test]
fn panic_on_request_trailers() {
    panic_on("request_trailers");
}

/// `PanicOnResponseHeaders`.
#[test]
fn panic_on_response_headers() {
    panic_on("response_headers");
}

/// `PanicOnResponseBody`.
#[test]
fn panic_on_response_body() {
    panic_on("response_body");
}

/// `PanicOnResponseTrailers`.
#[test]
fn panic_on_response_trailers() {
    panic_on("response_trailers");
}

/// `CloseRequest`: `proxy_close_stream(Request)` in on_request_headers answers OK, records the
/// details `wasm_close_stream` and resets the stream after the call (`Context::closeStream`).
#[test]
fn close_request() {
    let mut host = probe_host_with("request_headers close request");
    let mut s = host.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], false).unwrap(),
        FilterStatus::Reset
    );
    assert_eq!(s.reset_details().as_deref(), Some("wasm_close_stream"));
    s.finish().unwrap();
    assert_logged(&host, "request_headers.close request = 0");
}

/// `CloseResponse`: the same from on_response_headers with the response stream type.
#[test]
fn close_response() {
    let mut host = probe_host_with("response_headers close response");
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], true).unwrap();
    assert_eq!(
        s.response_headers(&[(":status", "200")], false).unwrap(),
        FilterStatus::Reset
    );
    assert_eq!(s.reset_details().as_deref(), Some("wasm_close_stream"));
    s.finish().unwrap();
    assert_logged(&host, "response_headers.close response = 0");
}
