//! Conformance: `proxy_http_call` validation, tokens, answers, failures, timeouts, and the
//! effective context the SDK relies on (reference §4, §6).

use crate::conformance_support;

use std::time::Duration;

use conformance_support::{assert_logged, assert_not_logged, callbacks, probe, probe_builder};
use wasme_harness::{Host, HttpCallResponse, HttpRequest, HttpResponse};

const GOOD: &str = ":method=GET :path=/check :authority=auth";

fn host(script: &str) -> Host {
    let module = probe();
    probe_builder(&module, script)
        .cluster("auth")
        .build()
        .unwrap()
}

fn run(host: &mut Host) -> wasme_harness::Exchange {
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap()
}

#[test]
fn http_call_is_validated_like_envoy() {
    let script = format!(
        "request_headers http_call_raw auth -1 {GOOD}
         request_headers http_call_raw http://auth/check 1000 {GOOD}
         request_headers http_call_raw unknown-cluster 1000 {GOOD}
         request_headers http_call_raw auth 1000 :method=GET :path=/check
         request_headers http_call_raw auth 1000 :method=GET :authority=auth
         request_headers http_call_raw auth 1000 :path=/check :authority=auth"
    );
    let mut h = host(&script);
    run(&mut h);
    assert_logged(
        &h,
        &format!("request_headers.http_call_raw auth -1 {GOOD} = 2 token=0"),
    );
    assert_logged(
        &h,
        &format!("request_headers.http_call_raw http://auth/check 1000 {GOOD} = 2 token=0"),
    );
    assert_logged(
        &h,
        &format!("request_headers.http_call_raw unknown-cluster 1000 {GOOD} = 2 token=0"),
    );
    assert_logged(
        &h,
        "request_headers.http_call_raw auth 1000 :method=GET :path=/check = 2 token=0",
    );
    assert_logged(
        &h,
        "request_headers.http_call_raw auth 1000 :method=GET :authority=auth = 2 token=0",
    );
    assert_logged(
        &h,
        "request_headers.http_call_raw auth 1000 :path=/check :authority=auth = 2 token=0",
    );
    assert!(h.pending_http_calls().is_empty());
}

#[test]
fn tokens_are_4_8_12_and_a_body_adds_content_length() {
    let mut h = host(&format!(
        "configure http_call auth 1000 {GOOD}
         configure http_call auth 1000 {GOOD}
         configure http_call auth 1000 :method=POST :path=/p :authority=auth body=hello"
    ));
    let tokens: Vec<String> =
        conformance_support::results(&h, &format!("configure.http_call auth 1000 {GOOD}"));
    assert_eq!(tokens, ["0 token=4", "0 token=8"]);
    assert_logged(
        &h,
        "configure.http_call auth 1000 :method=POST :path=/p :authority=auth body=hello = 0 token=12",
    );
    let calls = h.pending_http_calls();
    assert_eq!(
        calls.iter().map(|c| c.token).collect::<Vec<_>>(),
        [4, 8, 12]
    );
    let post = &calls[2];
    assert_eq!(post.cluster, "auth");
    assert_eq!(post.body, b"hello");
    assert_eq!(post.header("content-length"), Some("5"));
    assert_eq!(post.header(":path"), Some("/p"));
    assert_eq!(post.timeout, Duration::from_millis(1000));
    // A callout made by the root is answered on the root.
    h.respond_http_call(4, HttpCallResponse::new(204)).unwrap();
    assert!(
        callbacks(&h).contains(
            &"> http_call_response ctx=1 token=4 headers=1 body=0 trailers=0".to_string()
        ),
        "{:?}",
        callbacks(&h)
    );
    assert_eq!(h.pending_http_calls().len(), 2);
}

#[test]
fn a_scripted_response_reaches_the_stream_that_called() {
    let mut h = host(&format!(
        "request_headers http_call auth 1000 {GOOD}
         request_headers return 1
         http_call_response get_header call_headers :status
         http_call_response get_header call_headers x-from
         http_call_response get_buffer call_body 0 100
         http_call_response get_header call_trailers x-tr
         http_call_response set_buffer call_body 0 0 x
         http_call_response continue request"
    ));
    h.script_http_response(
        "auth",
        HttpCallResponse::new(200)
            .header("x-from", "auth")
            .body("allowed")
            .trailer("x-tr", "t"),
    );
    let ex = run(&mut h);
    assert!(ex.upstream_request.is_some(), "continued after the answer");
    // Dispatched by the SDK to the stream (ctx 2) after proxy_set_effective_context.
    let entries = callbacks(&h);
    assert!(
        entries.contains(
            &"> http_call_response ctx=2 token=4 headers=2 body=7 trailers=1".to_string()
        ),
        "{entries:?}"
    );
    assert_logged(
        &h,
        "http_call_response.get_header call_headers :status = 0 \"200\"",
    );
    assert_logged(
        &h,
        "http_call_response.get_header call_headers x-from = 0 \"auth\"",
    );
    assert_logged(
        &h,
        "http_call_response.get_buffer call_body 0 100 = 0 \"allowed\"",
    );
    assert_logged(
        &h,
        "http_call_response.get_header call_trailers x-tr = 0 \"t\"",
    );
    // The callout's response body is immutable.
    assert_logged(&h, "http_call_response.set_buffer call_body 0 0 x = 2");
}

#[test]
fn the_effective_context_sends_a_local_reply_on_the_calling_stream() {
    let mut h = host(&format!(
        "request_headers http_call auth 1000 {GOOD}
         request_headers return 1
         http_call_response local_reply 403 denied-by-auth no"
    ));
    h.script_http_response("auth", HttpCallResponse::new(403));
    let ex = run(&mut h);
    assert!(ex.upstream_request.is_none());
    assert_eq!(ex.client_response.status(), Some(403));
    assert_eq!(
        ex.local_reply.as_ref().map(|r| r.details.as_str()),
        Some("denied-by-auth")
    );
}

#[test]
fn set_effective_context_rejects_unknown_ids_and_resets_after_the_call() {
    let mut h = host(
        "request_headers effective 999
         request_headers effective 1
         request_headers get_header req :path
         response_headers get_header resp :status",
    );
    run(&mut h);
    assert_logged(&h, "request_headers.effective 999 = 2");
    assert_logged(&h, "request_headers.effective 1 = 0");
    // Redirected to the root: it has no request headers.
    let got = conformance_support::result(&h, "request_headers.get_header req :path");
    assert_ne!(
        got, "0 \"/\"",
        "the hostcall should act on the root context"
    );
    // Reset when the call returned: the next callback acts on its own stream again.
    assert_logged(&h, "response_headers.get_header resp :status = 0 \"200\"");
}

#[test]
fn a_failed_callout_answers_0_0_0_and_get_status_reset() {
    let mut h = host(&format!(
        "request_headers http_call auth 1000 {GOOD}
         request_headers return 1
         http_call_response get_status
         http_call_response continue request"
    ));
    let mut s = h.http_stream().unwrap();
    s.request_headers(
        &[(":method", "GET"), (":path", "/"), (":authority", "h")],
        true,
    )
    .unwrap();
    let token = s.host().pending_http_calls()[0].token;
    s.host().fail_http_call(token).unwrap();
    let continued = s.upstream_request();
    s.finish().unwrap();
    assert!(
        continued.is_some(),
        "the filter continued after the failure"
    );
    let entries = callbacks(&h);
    assert!(
        entries.contains(&format!(
            "> http_call_response ctx=2 token={token} headers=0 body=0 trailers=0"
        )),
        "{entries:?}"
    );
    assert_logged(
        &h,
        "http_call_response.get_status = 0 code=11 msg=\"reset\"",
    );
}

/// Envoy's async client turns a callout timeout into its router's 504 local reply
/// (`source/common/http/async_client_impl.cc`, `AsyncStreamImpl::sendLocalReply`; Envoy's own
/// `AsyncClientImplTest.RequestTimeout` expects success with 504): a response, not a failure.
#[test]
fn a_callout_without_an_answer_times_out_on_the_harness_clock_with_a_504() {
    let mut h = host(&format!(
        "request_headers http_call auth 500 {GOOD}
         request_headers return 1
         http_call_response get_status
         http_call_response get_header call_headers :status
         http_call_response get_buffer call_body 0 100"
    ));
    let mut s = h.http_stream().unwrap();
    s.request_headers(
        &[(":method", "GET"), (":path", "/"), (":authority", "h")],
        true,
    )
    .unwrap();
    s.host().advance_clock(Duration::from_millis(400)).unwrap();
    assert_not_logged(s.host(), "> http_call_response");
    assert_eq!(s.host().pending_http_calls().len(), 1);
    s.host().advance_clock(Duration::from_millis(200)).unwrap();
    s.finish().unwrap();
    assert!(
        callbacks(&h).contains(
            &"> http_call_response ctx=2 token=4 headers=3 body=24 trailers=0".to_string()
        ),
        "{:?}",
        callbacks(&h)
    );
    let status = conformance_support::result(&h, "http_call_response.get_status");
    assert!(status.starts_with("0 code=0 "), "{status}");
    assert_logged(
        &h,
        "http_call_response.get_header call_headers :status = 0 \"504\"",
    );
    assert_logged(
        &h,
        "http_call_response.get_buffer call_body 0 100 = 0 \"upstream request timeout\"",
    );
    assert!(h.pending_http_calls().is_empty());
}
