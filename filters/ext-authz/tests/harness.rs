//! ext-authz, built for wasm32-wasip1 and run in the wasme harness against a scripted
//! authorization cluster.

use std::sync::OnceLock;
use std::time::Duration;
use wasme_harness::{
    FilterStatus, HarnessError, Host, HttpCallResponse, HttpRequest, HttpResponse, LogLevel, Module,
};

fn module() -> Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let wasm = wasme_harness::build::build_filter(env!("CARGO_MANIFEST_DIR"), None)
                .expect("ext-authz builds for wasm32-wasip1");
            Module::from_file(wasm).expect("the module loads")
        })
        .clone()
}

fn host(config: &str) -> Host {
    Host::builder(&module())
        .root_id("ext_authz")
        .plugin_config(config)
        .cluster("auth")
        .build()
        .expect("configures")
}

const CONFIG: &str = r#"{"cluster": "auth", "path_prefix": "/check", "timeout_ms": 300,
    "allowed_upstream_headers": ["x-user-id"]}"#;

#[test]
fn check_request_carries_method_path_and_allowed_headers() {
    let mut host = host(CONFIG);
    let mut s = host.http_stream().expect("stream");
    let status = s
        .send_request(
            &HttpRequest::new("DELETE", "/orders/7")
                .header("authorization", "Bearer t")
                .header("x-other", "no"),
        )
        .expect("request headers");
    assert_eq!(status, FilterStatus::Pause);
    let calls = s.host().pending_http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, "auth");
    assert_eq!(call.header(":method"), Some("DELETE"));
    assert_eq!(call.header(":path"), Some("/check/orders/7"));
    assert_eq!(call.header(":authority"), Some("auth"));
    assert_eq!(call.header("authorization"), Some("Bearer t"));
    assert_eq!(call.header("x-other"), None);
    assert_eq!(call.timeout, Duration::from_millis(300));
}

#[test]
fn allowed_requests_reach_the_upstream_with_the_services_headers() {
    let mut host = host(CONFIG);
    let mut s = host.http_stream().expect("stream");
    s.send_request(&HttpRequest::get("/a").header("authorization", "Bearer t"))
        .expect("request");
    assert!(
        s.upstream_request().is_none(),
        "held while the service decides"
    );
    let token = s.host().pending_http_calls()[0].token;
    s.host()
        .respond_http_call(
            token,
            HttpCallResponse::new(200)
                .header("x-user-id", "ann")
                .header("x-not-allowed", "1"),
        )
        .expect("answer");
    assert!(s.request_complete());
    let upstream = s.upstream_request().expect("forwarded");
    assert_eq!(upstream.header("x-user-id"), Some("ann"));
    assert_eq!(upstream.header("x-not-allowed"), None);
    s.send_response(&HttpResponse::ok().body("fine"))
        .expect("response");
    let ex = s.into_exchange().expect("exchange");
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(host.metric("ext_authz.ok"), Some(1));
    assert_eq!(host.metric("ext_authz.denied"), None);
}

#[test]
fn denials_reach_the_client_with_status_body_and_allowed_headers() {
    let mut host = host(CONFIG);
    host.script_http_response(
        "auth",
        HttpCallResponse::new(401)
            .header("www-authenticate", "Bearer realm=\"x\"")
            .header("x-internal", "secret")
            .body("token expired"),
    );
    let ex = host
        .http_exchange(&HttpRequest::get("/a"), &HttpResponse::ok())
        .expect("exchange");
    assert!(ex.upstream_request.is_none(), "denied requests never leave");
    let reply = ex.local_reply.expect("a local reply");
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, b"token expired");
    assert_eq!(ex.client_response.status(), Some(401));
    assert_eq!(
        ex.client_response.header("www-authenticate"),
        Some("Bearer realm=\"x\"")
    );
    assert_eq!(ex.client_response.header("x-internal"), None);
    assert_eq!(host.metric("ext_authz.denied"), Some(1));
}

#[test]
fn callout_failure_fails_closed_with_403() {
    let mut host = host(CONFIG);
    let mut s = host.http_stream().expect("stream");
    s.send_request(&HttpRequest::get("/a")).expect("request");
    let token = s.host().pending_http_calls()[0].token;
    s.host().fail_http_call(token).expect("fail the call");
    assert_eq!(s.local_reply().map(|r| r.status), Some(403));
    assert!(s.upstream_request().is_none());
    drop(s);
    assert_eq!(host.metric("ext_authz.error"), Some(1));
    assert!(
        host.logs_at(LogLevel::Warn)
            .iter()
            .any(|l| l.message.contains("authorization service failed")),
        "{:?}",
        host.logs()
    );
}

#[test]
fn timeout_fails_closed_with_the_configured_status() {
    let mut host = host(r#"{"cluster": "auth", "timeout_ms": 100, "status_on_error": 503}"#);
    let mut s = host.http_stream().expect("stream");
    s.send_request(&HttpRequest::get("/a")).expect("request");
    s.host()
        .advance_clock(Duration::from_millis(50))
        .expect("clock");
    assert!(s.local_reply().is_none(), "not timed out yet");
    s.host()
        .advance_clock(Duration::from_millis(60))
        .expect("clock");
    assert_eq!(s.local_reply().map(|r| r.status), Some(503));
}

#[test]
fn failure_mode_allow_lets_requests_through_and_marks_them() {
    let mut host = host(r#"{"cluster": "auth", "failure_mode_allow": true}"#);
    host.script_http_failure("auth");
    let ex = host
        .http_exchange(&HttpRequest::get("/a"), &HttpResponse::ok())
        .expect("exchange");
    let upstream = ex.upstream_request.expect("let through");
    assert_eq!(
        upstream.header("x-envoy-auth-failure-mode-allowed"),
        Some("true")
    );
    assert_eq!(ex.client_response.status(), Some(200));
    assert_eq!(host.metric("ext_authz.failure_mode_allowed"), Some(1));
}

#[test]
fn unknown_cluster_is_refused_by_the_host_and_fails_closed() {
    // No .cluster("auth") on this host: Envoy refuses proxy_http_call with BAD_ARGUMENT.
    let mut host = Host::builder(&module())
        .root_id("ext_authz")
        .plugin_config(r#"{"cluster": "auth"}"#)
        .build()
        .expect("configures");
    let ex = host
        .http_exchange(&HttpRequest::get("/a"), &HttpResponse::ok())
        .expect("exchange");
    assert_eq!(ex.local_reply.map(|r| r.status), Some(403));
    assert!(
        host.logs_at(LogLevel::Error)
            .iter()
            .any(|l| l.message.contains("cannot call cluster \"auth\"")),
        "{:?}",
        host.logs()
    );
    assert!(host.failure().is_none(), "the VM must not trap");
}

#[test]
fn url_instead_of_cluster_is_a_configuration_error() {
    let err = Host::builder(&module())
        .root_id("ext_authz")
        .plugin_config(r#"{"cluster": "http://auth:9000"}"#)
        .build()
        .expect_err("must not configure");
    assert!(matches!(err, HarnessError::ConfigureFailed { .. }), "{err}");
    assert!(err.to_string().contains("looks like a URL"), "{err}");
}
