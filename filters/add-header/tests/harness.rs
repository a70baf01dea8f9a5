//! add-header, built for wasm32-wasip1 and run in the wasme harness.

use std::sync::OnceLock;
use wasme_harness::{HarnessError, Host, HttpRequest, HttpResponse, LogLevel, Module};

fn module() -> Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let wasm = wasme_harness::build::build_filter(env!("CARGO_MANIFEST_DIR"), None)
                .expect("add-header builds for wasm32-wasip1");
            Module::from_file(wasm).expect("the module loads")
        })
        .clone()
}

fn host(config: &str) -> Result<Host, HarnessError> {
    Host::builder(&module())
        .root_id("add_header")
        .plugin_config(config)
        .build()
}

fn response_header(config: &str, name: &str) -> Option<String> {
    let mut host = host(config).expect("configures");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("hi"))
        .expect("exchange runs");
    assert!(
        host.logs_at(LogLevel::Error).is_empty(),
        "{:?}",
        host.logs()
    );
    assert_eq!(ex.client_response.body, b"hi");
    ex.client_response.header(name).map(str::to_owned)
}

#[test]
fn empty_configuration_adds_hello_world() {
    assert_eq!(response_header("", "hello").as_deref(), Some("world"));
}

#[test]
fn plain_string_is_the_value_of_hello() {
    assert_eq!(response_header("there", "hello").as_deref(), Some("there"));
}

#[test]
fn json_configuration_names_the_header() {
    let config = r#"{"name": "X-Demo", "value": "1"}"#;
    assert_eq!(response_header(config, "x-demo").as_deref(), Some("1"));
    assert_eq!(response_header(config, "hello"), None);
}

#[test]
fn request_is_untouched() {
    let mut host = host("there").expect("configures");
    let ex = host
        .http_exchange(
            &HttpRequest::get("/p").header("x-a", "1"),
            &HttpResponse::ok(),
        )
        .expect("exchange runs");
    let upstream = ex.upstream_request.expect("request reached the upstream");
    assert_eq!(upstream.header("x-a"), Some("1"));
    assert_eq!(upstream.header("hello"), None);
}

#[test]
fn invalid_configuration_fails_configure_and_says_why() {
    let err = host(r#"{"name": "bad name", "value": "v"}"#).expect_err("must not configure");
    let HarnessError::ConfigureFailed { logs, .. } = err else {
        panic!("expected ConfigureFailed, got {err}");
    };
    let errors: Vec<_> = logs.iter().filter(|l| l.level == LogLevel::Error).collect();
    assert_eq!(errors.len(), 1, "{logs:?}");
    assert!(
        errors[0]
            .message
            .starts_with("add-header: invalid plugin configuration: \"name\" \"bad name\""),
        "{}",
        errors[0].message
    );

    let err = host(r#"{"name": "x"}"#).expect_err("must not configure");
    assert!(err.to_string().contains("missing field `value`"), "{err}");
}
