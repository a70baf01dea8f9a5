//! Conformance (issue 15, Envoy behaviour 1): a local reply to a gRPC request is a
//! trailers-only gRPC response, as `Http::Utility::sendLocalReply`
//! (`source/common/http/utility.cc`) builds it, with the HTTP status mapped by
//! `Grpc::Utility::httpToGrpcStatus` (`source/common/grpc/status.cc`) when the filter gives no
//! gRPC status.

use crate::conformance_support;

use conformance_support::{assert_logged, header, probe_host};
use wasme_harness::{Exchange, HttpRequest, HttpResponse};

fn grpc_request() -> HttpRequest {
    HttpRequest::post("/pkg.Greeter/SayHello", "\0\0\0\0\0")
        .header("content-type", "application/grpc+proto")
        .header("te", "trailers")
}

fn run(script: &str, request: &HttpRequest) -> (wasme_harness::Host, Exchange) {
    let mut host = probe_host(script);
    let ex = host.http_exchange(request, &HttpResponse::ok()).unwrap();
    (host, ex)
}

#[test]
fn a_grpc_local_reply_has_status_200_grpc_status_and_message_and_no_body() {
    let (host, ex) = run(
        "request_headers local_reply_grpc 403 7 denied-by-probe no%20way%25 x-extra=1
         response_headers get_header resp grpc-status",
        &grpc_request(),
    );
    let resp = &ex.client_response;
    assert_eq!(resp.status(), Some(200), "{resp:?}");
    assert_eq!(
        header(&resp.headers, "content-type"),
        Some("application/grpc")
    );
    assert_eq!(header(&resp.headers, "grpc-status"), Some("7"));
    // The body text, percent-encoded as gRPC wants (`%` itself becomes %25).
    assert_eq!(header(&resp.headers, "grpc-message"), Some("no way%25"));
    assert_eq!(header(&resp.headers, "x-extra"), Some("1"), "{resp:?}");
    assert_eq!(header(&resp.headers, "content-length"), None, "{resp:?}");
    assert!(resp.body.is_empty(), "{resp:?}");
    assert!(resp.trailers.is_empty(), "trailers-only: {resp:?}");
    // It still runs through the filter's response path, in its gRPC form.
    assert_logged(
        &host,
        "response_headers.get_header resp grpc-status = 0 \"7\"",
    );
    let reply = ex.local_reply.expect("the local reply is recorded");
    assert_eq!(
        (reply.status, reply.details.as_str()),
        (403, "denied-by-probe")
    );
}

#[test]
fn without_a_grpc_status_the_http_status_is_mapped_like_envoy() {
    for (http, grpc) in [
        (400, "13"),
        (401, "16"),
        (403, "7"),
        (404, "12"),
        (429, "14"),
        (502, "14"),
        (503, "14"),
        (504, "14"),
        (418, "2"),
        (500, "2"),
    ] {
        let (_, ex) = run(
            &format!("request_headers local_reply {http} mapped -"),
            &grpc_request(),
        );
        let resp = &ex.client_response;
        assert_eq!(resp.status(), Some(200), "{http}: {resp:?}");
        assert_eq!(
            header(&resp.headers, "grpc-status"),
            Some(grpc),
            "{http}: {resp:?}"
        );
        // No body text: no grpc-message.
        assert_eq!(
            header(&resp.headers, "grpc-message"),
            None,
            "{http}: {resp:?}"
        );
    }
}

#[test]
fn a_request_that_is_not_grpc_keeps_the_http_local_reply() {
    let (_, ex) = run(
        "request_headers local_reply 403 denied nope",
        &HttpRequest::post("/x", "{}").header("content-type", "application/json"),
    );
    let resp = &ex.client_response;
    assert_eq!(resp.status(), Some(403));
    assert_eq!(resp.body.to_vec(), b"nope");
    assert_eq!(header(&resp.headers, "content-length"), Some("4"));
    assert_eq!(header(&resp.headers, "grpc-status"), None);
}

#[test]
fn a_grpc_web_request_is_grpc_too() {
    // Envoy's test is `content-type` starting with `application/grpc`.
    let (_, ex) = run(
        "request_headers local_reply 401 unauth who",
        &HttpRequest::post("/s/M", "x").header("content-type", "application/grpc-web+proto"),
    );
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(
        header(&ex.client_response.headers, "grpc-status"),
        Some("16")
    );
    assert_eq!(
        header(&ex.client_response.headers, "grpc-message"),
        Some("who")
    );
}
