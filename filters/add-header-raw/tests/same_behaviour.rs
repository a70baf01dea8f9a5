//! The raw twin must behave exactly like the SDK add-header, or the cost benchmark compares
//! different filters.

use wasme_harness::{HarnessError, Host, HttpRequest, HttpResponse, Module, build::build_filter};

fn modules() -> (Module, Module) {
    let raw = build_filter(env!("CARGO_MANIFEST_DIR"), None).expect("add-header-raw builds");
    let sdk = build_filter(concat!(env!("CARGO_MANIFEST_DIR"), "/../add-header"), None)
        .expect("add-header builds");
    (
        Module::from_file(raw).expect("raw loads"),
        Module::from_file(sdk).expect("sdk loads"),
    )
}

/// The headers the client received and the log lines, for one exchange.
type Observed = (Vec<(String, String)>, Vec<String>);

fn run(module: &Module, config: &str) -> Result<Observed, HarnessError> {
    let mut host = Host::builder(module)
        .root_id("add_header")
        .plugin_config(config)
        .build()?;
    let ex = host.http_exchange(
        &HttpRequest::get("/").header("x-a", "1"),
        &HttpResponse::ok()
            .header("content-type", "text/plain")
            .body("hi"),
    )?;
    let logs = host.logs().iter().map(|l| l.message.clone()).collect();
    Ok((ex.client_response.headers, logs))
}

#[test]
fn sdk_and_raw_filters_answer_alike() {
    let (raw, sdk) = modules();
    for config in ["", "there", r#"{"name":"X-Demo","value":"1"}"#] {
        assert_eq!(
            run(&raw, config).expect("raw runs"),
            run(&sdk, config).expect("sdk runs"),
            "config {config:?}"
        );
    }
    for bad in [
        r#"{"name":"bad name","value":"v"}"#,
        "a\u{7}b",
        r#"{"name":"x"}"#,
    ] {
        let (
            HarnessError::ConfigureFailed { logs: a, .. },
            HarnessError::ConfigureFailed { logs: b, .. },
        ) = (run(&raw, bad).unwrap_err(), run(&sdk, bad).unwrap_err())
        else {
            panic!("both must fail to configure with {bad:?}");
        };
        let first = |logs: &[wasme_harness::LogEntry]| logs.first().map(|l| l.message.clone());
        // The raw twin words serde errors its own way; both name the same problem first.
        let (a, b) = (first(&a).unwrap_or_default(), first(&b).unwrap_or_default());
        assert!(
            a.starts_with("add-header: invalid plugin configuration:"),
            "{a}"
        );
        assert!(
            b.starts_with("add-header: invalid plugin configuration:"),
            "{b}"
        );
    }
}
