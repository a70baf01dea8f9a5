//! Conformance: local replies, and deferred continue/close (reference §4).

use crate::conformance_support;

use conformance_support::{assert_logged, assert_not_logged, callback_names, header, probe_host};
use wasme_harness::{HttpRequest, HttpResponse};

#[test]
fn a_local_reply_is_deferred_forces_stop_and_runs_through_the_response_path() {
    let mut host = probe_host(
        "request_headers local_reply 403 denied-by-probe nope X-Reason=Probe
         request_headers get_header req :path
         request_headers return 0
         response_headers get_header resp :status
         response_headers get_header resp x-reason",
    );
    let ex = host
        .http_exchange(&HttpRequest::post("/secret", "data"), &HttpResponse::ok())
        .unwrap();
    // Deferred: the same callback still sees its request after asking for the reply.
    assert_logged(
        &host,
        "request_headers.local_reply 403 denied-by-probe nope X-Reason=Probe = 0",
    );
    assert_logged(
        &host,
        "request_headers.get_header req :path = 0 \"/secret\"",
    );
    // Forced stop: returning Continue does not let the request through.
    assert!(ex.upstream_request.is_none(), "{:?}", ex.upstream_request);
    assert_not_logged(&host, "> request_body");
    // Through the response path: the same filter's on_response_headers sees it.
    assert_logged(
        &host,
        "response_headers.get_header resp :status = 0 \"403\"",
    );
    assert_logged(
        &host,
        "response_headers.get_header resp x-reason = 0 \"Probe\"",
    );
    let reply = ex.local_reply.as_ref().expect("a local reply");
    assert_eq!(reply.status, 403);
    assert_eq!(reply.details, "denied-by-probe");
    let resp = &ex.client_response;
    assert_eq!(resp.status(), Some(403));
    assert_eq!(resp.body.to_vec(), b"nope");
    // Keys lower-cased; Envoy adds content-length and content-type.
    assert!(
        resp.headers
            .iter()
            .any(|(k, v)| k == "x-reason" && v == "Probe"),
        "{resp:?}"
    );
    assert_eq!(header(&resp.headers, "content-length"), Some("4"));
    assert_eq!(header(&resp.headers, "content-type"), Some("text/plain"));
    // And the stream still ends in Envoy's order.
    let names = callback_names(&host, 2);
    assert_eq!(&names[names.len() - 3..], ["log", "done", "delete"]);
}

#[test]
fn a_local_reply_from_response_headers_replaces_the_upstream_response() {
    let mut host = probe_host("response_headers#1 local_reply 502 upstream-rejected bad");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("upstream"))
        .unwrap();
    // The upstream answered, then the filter replaced its response.
    assert_logged(
        &host,
        "response_headers.local_reply 502 upstream-rejected bad = 0",
    );
    assert_eq!(ex.client_response.status(), Some(502));
    assert_eq!(ex.client_response.body.to_vec(), b"bad");
}

#[test]
fn close_on_http_resets_the_stream_after_the_call_returns() {
    let mut host = probe_host(
        "request_headers close request
         request_headers get_header req :path",
    );
    let ex = host
        .http_exchange(&HttpRequest::get("/closing"), &HttpResponse::ok())
        .unwrap();
    assert_logged(&host, "request_headers.close request = 0");
    // Deferred: the callback goes on with its stream intact.
    assert_logged(
        &host,
        "request_headers.get_header req :path = 0 \"/closing\"",
    );
    assert!(ex.upstream_request.is_none(), "a reset stream goes nowhere");
    assert_eq!(ex.reset.as_deref(), Some("wasm_close_stream"), "{ex:?}");
}

#[test]
fn continue_on_upstream_is_unimplemented() {
    let mut host = probe_host("request_headers continue upstream");
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_logged(&host, "request_headers.continue upstream = 12");
}
