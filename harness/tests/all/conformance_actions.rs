//! Conformance: translation of the filter's Action (reference §4): pause in headers withholds
//! body callbacks; pause in a body callback buffers and the next one sees the whole size.

use crate::conformance_support;

use conformance_support::{assert_not_logged, callbacks, header, probe_host};
use wasme_harness::{HttpCallResponse, HttpRequest, HttpResponse};

const REQ: &[(&str, &str)] = &[(":method", "POST"), (":path", "/"), (":authority", "h")];

#[test]
fn pause_in_body_buffers_and_the_next_callback_sees_the_whole_size() {
    let mut host = probe_host("request_body#1 return 1");
    let mut s = host.http_stream().unwrap();
    s.request_headers(REQ, false).unwrap();
    s.request_body(b"abc", false).unwrap();
    s.request_body(b"def", true).unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    let upstream = s.upstream_request().expect("the request went upstream");
    s.finish().unwrap();
    let entries = callbacks(&host);
    assert!(
        entries.contains(&"> request_body ctx=2 size=3 eos=false".to_string()),
        "{entries:?}"
    );
    assert!(
        entries.contains(&"> request_body ctx=2 size=6 eos=true".to_string()),
        "{entries:?}"
    );
    // The upstream receives the buffered body once.
    assert_eq!(upstream.body.to_vec(), b"abcdef");
}

#[test]
fn pause_in_request_headers_withholds_body_callbacks_until_continue() {
    let module = conformance_support::probe();
    let mut host = conformance_support::probe_builder(
        &module,
        "request_headers http_call auth 5000 :method=GET :path=/check :authority=auth
         request_headers return 1
         http_call_response continue request",
    )
    .cluster("auth")
    .build()
    .unwrap();
    let mut s = host.http_stream().unwrap();
    s.request_headers(REQ, false).unwrap();
    s.request_body(b"abc", false).unwrap();
    s.request_body(b"def", true).unwrap();
    assert_not_logged(s.host(), "> request_body");
    let calls = s.host().pending_http_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    s.host()
        .respond_http_call(calls[0].token, HttpCallResponse::new(200))
        .unwrap();
    let upstream = s.upstream_request().expect("continued upstream");
    s.finish().unwrap();
    assert_eq!(upstream.body, b"abcdef", "the withheld body goes on once");
    let entries = callbacks(&host);
    let body: Vec<&String> = entries
        .iter()
        .filter(|e| e.starts_with("> request_body"))
        .collect();
    assert_eq!(
        body.first().map(|s| s.as_str()),
        Some("> request_body ctx=2 size=6 eos=true"),
        "after continue the body callback sees all the withheld data: {entries:?}"
    );
}

#[test]
fn continue_from_a_callout_lets_the_request_reach_the_upstream_with_changes() {
    let mut host = probe_host(
        "request_headers http_call auth 5000 :method=GET :path=/check :authority=auth
         request_headers return 1
         http_call_response add_header req x-auth ok
         http_call_response continue request",
    );
    host.script_http_response("auth", HttpCallResponse::new(200));
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let up = ex
        .upstream_request
        .expect("the continued request reaches the upstream");
    assert_eq!(header(&up.headers, "x-auth"), Some("ok"), "{up:?}");
    assert_eq!(ex.client_response.status(), Some(200));
}
