//! Envoy's HTTP Wasm filter tests for bodies, mirrored: the `Body…` `TEST_P`s of
//! `test/extensions/filters/http/wasm/wasm_filter_test.cc` (Envoy's `test_data/body_rust.rs`
//! filter as `conformance-probe` scripts), split from `envoy_http_filter.rs` (same conventions).

use crate::conformance_support::{result, results};
use wasme_harness::{FilterStatus, Host};

use crate::envoy_http_filter::probe_host_with;

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
