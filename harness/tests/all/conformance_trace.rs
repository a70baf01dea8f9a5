//! Conformance: the hostcall trace in Envoy's `[vm->host]` / `[vm<-host]` format (reference §6).

use crate::conformance_support;

use conformance_support::{probe, probe_builder};
use wasme_harness::{HttpRequest, HttpResponse};

#[test]
fn every_hostcall_is_traced_with_arguments_and_status() {
    let module = probe();
    let mut host = probe_builder(
        &module,
        "request_headers get_header req x-missing
         request_body set_buffer req_body 1 1 X",
    )
    .trace(true)
    .build()
    .unwrap();
    host.http_exchange(&HttpRequest::post("/", "abc"), &HttpResponse::ok())
        .unwrap();
    let trace = host.trace();
    let calls: Vec<&String> = trace
        .iter()
        .filter(|l| l.starts_with("[vm->host] env.proxy_get_header_map_value("))
        .collect();
    assert!(!calls.is_empty(), "{trace:#?}");
    assert!(
        trace
            .iter()
            .any(|l| is_return(l, "[vm<-host] env.proxy_get_header_map_value return: 1")),
        "{trace:#?}"
    );
    // Envoy's example line: numeric arguments in call order, then the status.
    let set = trace
        .iter()
        .find(|l| l.starts_with("[vm->host] env.proxy_set_buffer_bytes(0, 1, 1, "))
        .unwrap_or_else(|| panic!("{trace:#?}"));
    let envoy_part = set.split(" # ").next().unwrap_or_default();
    assert!(envoy_part.ends_with(", 1)"), "{set}");
    assert!(
        trace
            .iter()
            .any(|l| is_return(l, "[vm<-host] env.proxy_set_buffer_bytes return: 2")),
        "{trace:#?}"
    );
}

/// Envoy's line, optionally followed by the harness's decoded status (`# NOT_FOUND`).
fn is_return(line: &str, envoy: &str) -> bool {
    line == envoy
        || line
            .strip_prefix(envoy)
            .is_some_and(|rest| rest.starts_with(" # "))
}
