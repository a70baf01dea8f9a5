//! Envoy's HTTP Wasm filter tests for root ids, panics and `proxy_close_stream`, mirrored: the
//! `RootId…`, `PanicOn…` and `Close…` `TEST_P`s of
//! `test/extensions/filters/http/wasm/wasm_filter_test.cc`, split from `envoy_http_filter.rs`
//! (same conventions).

use crate::conformance_support::{
    assert_logged, assert_not_logged, callback_names, probe, probe_builder,
};
use wasme_harness::{FailurePolicy, FilterStatus, Host};

use crate::envoy_http_filter::probe_host_with;

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
