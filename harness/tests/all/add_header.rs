//! add-header through the harness: both configuration forms, the default, a bad configuration,
//! and the header reaching the client.

use std::path::Path;
use std::sync::OnceLock;
use wasme_harness::{
    AbiVersion, FilterStatus, HarnessError, Host, HttpRequest, HttpResponse, LogLevel, Module,
};

fn module() -> Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/add-header");
            let wasm = wasme_harness::build::build_filter(&dir, None).expect("add-header builds");
            Module::from_file(wasm).expect("add-header loads")
        })
        .clone()
}

fn host(config: &str) -> Result<Host, HarnessError> {
    Host::builder(&module())
        .root_id("add_header")
        .plugin_config(config)
        .build()
}

#[test]
fn announces_abi_0_2_1() {
    assert_eq!(module().abi(), AbiVersion::V0_2_1);
}

#[test]
fn empty_configuration_adds_hello_world() {
    let mut host = host("").unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("hi"))
        .unwrap();
    assert_eq!(ex.client_response.header("hello"), Some("world"));
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(ex.client_response.body, b"hi");
    assert!(ex.local_reply.is_none());
    // The request reaches the upstream untouched.
    let upstream = ex.upstream_request.expect("request went upstream");
    assert_eq!(upstream.header(":path"), Some("/"));
    assert_eq!(upstream.header("hello"), None);
}

#[test]
fn plain_string_configuration_is_the_value_of_hello() {
    let mut host = host("there").unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/x"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.header("hello"), Some("there"));
}

#[test]
fn json_configuration_names_the_header() {
    let mut host = host(r#"{"name": "X-Demo", "value": "1"}"#).unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::new(404))
        .unwrap();
    assert_eq!(ex.client_response.header("x-demo"), Some("1"));
    assert_eq!(ex.client_response.header("hello"), None);
    assert_eq!(ex.client_response.status(), Some(404));
}

#[test]
fn bad_configuration_fails_configure_and_names_the_problem() {
    let err = host(r#"{"name": "bad name", "value": "v"}"#).unwrap_err();
    match &err {
        HarnessError::ConfigureFailed { root_id, logs } => {
            assert_eq!(root_id, "add_header");
            let errors: Vec<_> = logs.iter().filter(|l| l.level == LogLevel::Error).collect();
            assert_eq!(errors.len(), 1, "{logs:?}");
            assert!(
                errors[0].message.contains("not a valid header name"),
                "{}",
                errors[0].message
            );
        }
        other => panic!("expected ConfigureFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("not a valid header name"), "{err}");
    let err = host("{not json").unwrap_err();
    assert!(matches!(err, HarnessError::ConfigureFailed { .. }), "{err}");
}

#[test]
fn step_by_step_the_header_reaches_the_client() {
    let mut host = host("step").unwrap();
    let mut s = host.http_stream().unwrap();
    assert_eq!(s.id(), 2, "streams start after root context 1");
    let status = s
        .request_headers(
            &[(":method", "GET"), (":path", "/"), (":authority", "h")],
            true,
        )
        .unwrap();
    assert_eq!(status, FilterStatus::Continue);
    assert_eq!(
        s.response_headers(&[(":status", "200"), ("Content-Type", "text/plain")], false)
            .unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(
        s.response_body(b"body", true).unwrap(),
        FilterStatus::Continue
    );
    let client = s.client_response().unwrap();
    assert_eq!(client.header("hello"), Some("step"));
    assert_eq!(client.header("content-type"), Some("text/plain"));
    assert_eq!(client.body, b"body");
    s.finish().unwrap();
    // Many streams on one host: ids keep growing, the header is added every time.
    for _ in 0..3 {
        let ex = host
            .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
            .unwrap();
        assert_eq!(ex.client_response.header("hello"), Some("step"));
    }
    assert!(host.failure().is_none());
}

#[test]
fn trace_shows_the_hostcall_in_envoys_format() {
    let mut host = Host::builder(&module())
        .root_id("add_header")
        .plugin_config("traced")
        .trace(true)
        .build()
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let trace = host.trace();
    let call = trace
        .iter()
        .position(|l| l.starts_with("[vm->host] env.proxy_add_header_map_value(2, "))
        .unwrap_or_else(|| panic!("{trace:#?}"));
    assert!(
        trace[call].contains(r#""hello", "traced""#),
        "{}",
        trace[call]
    );
    assert_eq!(
        trace[call + 1],
        "[vm<-host] env.proxy_add_header_map_value return: 0 # OK"
    );
    // Envoy's order at the end of a stream: on_log, on_done, on_delete.
    let order: Vec<_> = trace
        .iter()
        .filter(|l| {
            l.starts_with("[host->vm] proxy_on_log")
                || l.starts_with("[host->vm] proxy_on_done")
                || l.starts_with("[host->vm] proxy_on_delete")
        })
        .collect();
    assert_eq!(
        order,
        [
            "[host->vm] proxy_on_log(2)",
            "[host->vm] proxy_on_done(2)",
            "[host->vm] proxy_on_delete(2)"
        ]
    );
}
