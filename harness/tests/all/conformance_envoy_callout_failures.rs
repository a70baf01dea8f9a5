//! Conformance (issue 15, Envoy behaviour 6): an HTTP callout whose upstream cannot be
//! connected to, or that its timeout overtakes, is a *response* in Envoy: the async client
//! turns both into its router's local replies (`source/common/http/async_client_impl.cc`,
//! `AsyncStreamImpl::sendLocalReply`; `source/common/router/router.cc`), so the filter gets
//! `on_http_call_response` with headers and a body. Only a reset of the callout's own stream
//! (`Context::onHttpCallFailure`) arrives as `(token, 0, 0, 0)`.

use crate::conformance_support;

use conformance_support::{assert_logged, callbacks, probe_host};
use std::time::Duration;
use wasme_harness::{HttpCallResponse, HttpRequest, HttpResponse};

const CALL: &str = "request_headers http_call auth 1000 :method=GET :path=/check :authority=auth
         request_headers return 1
         http_call_response get_status
         http_call_response get_header call_headers :status
         http_call_response get_header call_headers content-length
         http_call_response get_buffer call_body 0 200
         http_call_response continue request";

const CONNECT_FAILURE: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

fn assert_answer(host: &wasme_harness::Host, status: &str, body: &str) {
    assert_logged(
        host,
        &format!("http_call_response.get_header call_headers :status = 0 \"{status}\""),
    );
    assert_logged(
        host,
        &format!(
            "http_call_response.get_header call_headers content-length = 0 \"{}\"",
            body.len()
        ),
    );
    assert_logged(
        host,
        &format!("http_call_response.get_buffer call_body 0 200 = 0 \"{body}\""),
    );
    assert_logged(host, "http_call_response.get_status = 0 code=0 msg=\"\"");
}

#[test]
fn an_unreachable_upstream_answers_503_connection_failure() {
    let mut host = probe_host(CALL);
    host.script_http_connect_failure("auth");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_answer(&host, "503", CONNECT_FAILURE);
    assert_eq!(
        CONNECT_FAILURE.len(),
        91,
        "Envoy's content-length for this body"
    );
    assert!(
        callbacks(&host).contains(&format!(
            "> http_call_response ctx=2 token=4 headers=3 body={} trailers=0",
            CONNECT_FAILURE.len()
        )),
        "{:?}",
        callbacks(&host)
    );
    assert!(ex.upstream_request.is_some(), "the filter went on");
}

#[test]
fn answering_one_pending_callout_with_a_connect_failure() {
    let mut host = conformance_support::probe_builder(&conformance_support::probe(), CALL)
        .cluster("auth")
        .build()
        .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(
        &[(":method", "GET"), (":path", "/"), (":authority", "x")],
        true,
    )
    .unwrap();
    let token = s.host().pending_http_calls()[0].token;
    s.host().connect_failure_http_call(token).unwrap();
    assert!(s.upstream_request().is_some(), "the filter went on");
    s.finish().unwrap();
    assert_answer(&host, "503", CONNECT_FAILURE);
}

#[test]
fn a_timeout_answers_504_upstream_request_timeout() {
    let mut host = conformance_support::probe_builder(&conformance_support::probe(), CALL)
        .cluster("auth")
        .build()
        .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(
        &[(":method", "GET"), (":path", "/"), (":authority", "x")],
        true,
    )
    .unwrap();
    assert!(s.upstream_request().is_none(), "waiting for the callout");
    s.host().advance_clock(Duration::from_millis(999)).unwrap();
    assert!(s.upstream_request().is_none(), "not yet");
    s.host().advance_clock(Duration::from_millis(1)).unwrap();
    assert!(
        s.upstream_request().is_some(),
        "the 504 let the filter go on"
    );
    s.finish().unwrap();
    assert_answer(&host, "504", "upstream request timeout");
    assert_eq!(
        HttpCallResponse::upstream_timeout().body,
        b"upstream request timeout"
    );
}

#[test]
fn only_a_reset_of_the_callout_stream_is_a_failure() {
    let mut host = conformance_support::probe_builder(&conformance_support::probe(), CALL)
        .cluster("auth")
        .build()
        .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(
        &[(":method", "GET"), (":path", "/"), (":authority", "x")],
        true,
    )
    .unwrap();
    let token = s.host().pending_http_calls()[0].token;
    s.host().fail_http_call(token).unwrap();
    s.finish().unwrap();
    assert!(
        callbacks(&host).contains(&format!(
            "> http_call_response ctx=2 token={token} headers=0 body=0 trailers=0"
        )),
        "{:?}",
        callbacks(&host)
    );
    assert_logged(
        &host,
        "http_call_response.get_status = 0 code=11 msg=\"reset\"",
    );
}
