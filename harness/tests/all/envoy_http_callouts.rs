//! Envoy's HTTP Wasm filter tests for callouts, mirrored: the `AsyncCall…`, `GrpcCall…` and
//! `GrpcStream…` `TEST_P`s of `test/extensions/filters/http/wasm/wasm_filter_test.cc`, split
//! from `envoy_http_filter.rs` (same conventions: one harness test per Envoy test, named after
//! it, driving the `conformance-probe` guest with the hostcalls Envoy's test filter makes).

use std::time::Duration;

use crate::conformance_support::{
    assert_logged, assert_not_logged, callback_names, result, results,
};
use wasme_harness::{FilterStatus, GrpcResponse, Host, HttpCallResponse};

use crate::envoy_http_filter::probe_host_with;

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

/// A pending unary call ended twice by `op` (`grpc_cancel` or `grpc_close`): the first answers
/// OK and forgets the call, the second is NOT_FOUND; no reply reaches the filter.
fn grpc_call_ended_twice(op: &str) {
    let mut host = probe_host_with(&format!(
        "
request_headers grpc_call cluster service method request 1000
request_headers {op} $g
request_headers {op} $g
"
    ));
    let mut s = host.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], true).unwrap();
    assert!(s.host().pending_grpc_calls().is_empty());
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(
        results(&host, &format!("request_headers.{op} 5")),
        vec!["0", "1"]
    );
    assert_not_logged(&host, "> grpc_call_response");
}

/// `GrpcCallCancel`: cancelling the pending call answers OK and forgets it; a second cancel
/// is NOT_FOUND (`Context::grpcCancel`); no reply reaches the filter.
#[test]
fn grpc_call_cancel() {
    grpc_call_ended_twice("grpc_cancel");
}

/// `GrpcCallClose`: closing a pending unary call answers OK, cancels it, and a second close
/// is NOT_FOUND (`Context::grpcClose`).
#[test]
fn grpc_call_close() {
    grpc_call_ended_twice("grpc_close");
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
