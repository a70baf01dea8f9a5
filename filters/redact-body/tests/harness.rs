//! redact-body, built for wasm32-wasip1 and run in the wasme harness.

use std::sync::OnceLock;
use wasme_harness::{FilterStatus, Host, HttpRequest, HttpResponse, Module};

fn module() -> Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let wasm = wasme_harness::build::build_filter(env!("CARGO_MANIFEST_DIR"), None)
                .expect("redact-body builds for wasm32-wasip1");
            Module::from_file(wasm).expect("the module loads")
        })
        .clone()
}

fn host(config: &str) -> Host {
    Host::builder(&module())
        .root_id("redact_body")
        .plugin_config(config)
        .build()
        .expect("configures")
}

const CONFIG: &str =
    r#"{"patterns": ["\\d{4}-\\d{4}-\\d{4}-\\d{4}", "sk_live_\\w+"], "replacement": "[X]"}"#;

#[test]
fn json_bodies_are_redacted_and_content_length_dropped() {
    let mut host = host(CONFIG);
    let body = r#"{"card":"1234-5678-9012-3456","key":"sk_live_abc_123","ok":true}"#;
    let ex = host
        .http_exchange(
            &HttpRequest::get("/"),
            &HttpResponse::ok()
                .header("content-type", "application/json")
                .header("content-length", &body.len().to_string())
                .body(body),
        )
        .expect("exchange");
    assert_eq!(
        ex.client_response.body_text(),
        r#"{"card":"[X]","key":"[X]","ok":true}"#
    );
    assert_eq!(ex.client_response.header("content-length"), None);
    assert_eq!(host.metric("redact_body.responses"), Some(1));
    assert_eq!(host.metric("redact_body.matches"), Some(2));
}

#[test]
fn other_content_types_pass_untouched() {
    let mut host = host(CONFIG);
    let body = "1234-5678-9012-3456";
    let ex = host
        .http_exchange(
            &HttpRequest::get("/"),
            &HttpResponse::ok()
                .header("content-type", "application/octet-stream")
                .header("content-length", "19")
                .body(body),
        )
        .expect("exchange");
    assert_eq!(ex.client_response.body_text(), body);
    assert_eq!(ex.client_response.header("content-length"), Some("19"));
    assert_eq!(host.metric("redact_body.matches"), None);
}

#[test]
fn a_match_split_across_chunks_is_still_redacted() {
    let mut host = host(CONFIG);
    let mut s = host.http_stream().expect("stream");
    s.send_request(&HttpRequest::get("/")).expect("request");
    s.response_headers(&[(":status", "200"), ("content-type", "text/plain")], false)
        .expect("headers");
    assert_eq!(
        s.response_body(b"card 1234-56", false).expect("chunk 1"),
        FilterStatus::Pause,
        "buffers until the end"
    );
    s.response_body(b"78-9012-3456 end", true).expect("chunk 2");
    let ex = s.into_exchange().expect("exchange");
    assert_eq!(ex.client_response.body_text(), "card [X] end");
}

#[test]
fn bodies_over_the_buffer_limit_are_redacted_chunk_by_chunk() {
    let mut host = host(r#"{"patterns": ["secret"], "max_body_bytes": 8}"#);
    let mut s = host.http_stream().expect("stream");
    s.send_request(&HttpRequest::get("/")).expect("request");
    s.response_headers(&[(":status", "200"), ("content-type", "text/plain")], false)
        .expect("headers");
    assert_eq!(
        s.response_body(b"a secret", false).expect("chunk 1"),
        FilterStatus::Pause
    );
    assert_eq!(
        s.response_body(b" and more secret", false)
            .expect("chunk 2"),
        FilterStatus::Continue,
        "over the limit: stop buffering"
    );
    s.response_body(b" secret!", true).expect("chunk 3");
    let ex = s.into_exchange().expect("exchange");
    assert_eq!(
        ex.client_response.body_text(),
        "a [REDACTED] and more [REDACTED] [REDACTED]!"
    );
}

#[test]
fn a_bad_pattern_fails_configure_naming_it() {
    let err = Host::builder(&module())
        .root_id("redact_body")
        .plugin_config(r#"{"patterns": ["ok", "\\d{3"]}"#)
        .build()
        .expect_err("must not configure");
    let text = err.to_string();
    assert!(
        text.contains("\"patterns\"[1]") && text.contains("not closed"),
        "{text}"
    );
}
