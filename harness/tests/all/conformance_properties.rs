//! Conformance: properties (Envoy attributes) and `set_property` read-back (reference §6).

use crate::conformance_support;

use conformance_support::{assert_logged, probe, probe_builder, result};
use wasme_harness::{HttpRequest, HttpResponse};

fn exchange(script: &str) -> wasme_harness::Host {
    let module = probe();
    let mut host = probe_builder(&module, script)
        .property("node.metadata.ISTIO_VERSION", "1.24.0")
        .build()
        .unwrap();
    host.http_exchange(
        &HttpRequest::get("/api/items?limit=5")
            .header(":authority", "shop.example")
            .header(":scheme", "https")
            .header("user-agent", "probe-agent/1")
            .header("referer", "https://ref.example/"),
        &HttpResponse::ok().header("content-type", "text/plain"),
    )
    .unwrap();
    host
}

#[test]
fn request_attributes_are_derived_from_the_stream() {
    let host = exchange(
        "request_headers get_property request.path
         request_headers get_property request.url_path
         request_headers get_property request.host
         request_headers get_property request.scheme
         request_headers get_property request.method
         request_headers get_property request.query
         request_headers get_property request.useragent
         request_headers get_property request.referer",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.path = 0 \"/api/items?limit=5\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.url_path = 0 \"/api/items\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.host = 0 \"shop.example\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.scheme = 0 \"https\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.method = 0 \"GET\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.query = 0 \"limit=5\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.useragent = 0 \"probe-agent/1\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property request.referer = 0 \"https://ref.example/\"",
    );
}

#[test]
fn response_code_and_ports_are_int64() {
    let host = exchange(
        "response_headers get_property_int response.code
         request_headers get_property_int source.port
         request_headers get_property_int destination.port
         request_headers get_property source.address
         request_headers get_property destination.address",
    );
    assert_logged(
        &host,
        "response_headers.get_property_int response.code = 0 200",
    );
    for port in ["source.port", "destination.port"] {
        let got = result(&host, &format!("request_headers.get_property_int {port}"));
        let n: i64 = got
            .strip_prefix("0 ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{port} is an 8-byte int64: {got}"));
        assert!((1..=65535).contains(&n), "{port} = {n}");
    }
    for addr in ["source.address", "destination.address"] {
        let got = result(&host, &format!("request_headers.get_property {addr}"));
        assert!(
            got.starts_with("0 \"") && got.contains(':'),
            "{addr} includes the port: {got}"
        );
    }
}

#[test]
fn plugin_identity_and_node_metadata() {
    let host = exchange(
        "configure get_property plugin_name
         configure get_property plugin_root_id
         configure get_property plugin_vm_id
         configure get_property node.metadata.ISTIO_VERSION
         request_headers get_property node.metadata.ISTIO_VERSION
         configure get_property no_such.attribute",
    );
    assert_logged(
        &host,
        "configure.get_property plugin_name = 0 \"probe-plugin\"",
    );
    assert_logged(&host, "configure.get_property plugin_root_id = 0 \"probe\"");
    assert_logged(
        &host,
        "configure.get_property plugin_vm_id = 0 \"probe-vm\"",
    );
    assert_logged(
        &host,
        "configure.get_property node.metadata.ISTIO_VERSION = 0 \"1.24.0\"",
    );
    assert_logged(
        &host,
        "request_headers.get_property node.metadata.ISTIO_VERSION = 0 \"1.24.0\"",
    );
    assert_logged(&host, "configure.get_property no_such.attribute = 1");
}

#[test]
fn set_property_reads_back_one_segment_but_not_several() {
    let host = exchange(
        "request_headers set_property my_flag on
         request_headers get_property my_flag
         request_headers set_property my.nested value
         request_headers get_property my.nested
         response_headers get_property my_flag
         configure set_property root_flag x",
    );
    assert_logged(&host, "request_headers.set_property my_flag on = 0");
    assert_logged(&host, "request_headers.get_property my_flag = 0 \"on\"");
    assert_logged(&host, "request_headers.set_property my.nested value = 0");
    assert_logged(&host, "request_headers.get_property my.nested = 1");
    // Filter state lives as long as the stream.
    assert_logged(&host, "response_headers.get_property my_flag = 0 \"on\"");
    // Without a stream (root context): NOT_FOUND.
    assert_logged(&host, "configure.set_property root_flag x = 1");
}
