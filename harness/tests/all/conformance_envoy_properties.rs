//! Conformance (issue 15, Envoy behaviours 3, 5 and 8): property paths whose segments contain
//! dots, per-stream properties (dynamic metadata), connection properties that agree with each
//! other, and `request.headers` / `request.headers.<name>` with repeated values joined by `,`
//! as Envoy's `HeadersWrapper` shows them (`source/extensions/filters/common/expr/context.cc`).

use crate::conformance_support;

use conformance_support::{probe, probe_builder, probe_host, result, results};
use wasme_harness::{ConnectionInfo, HarnessError, HttpRequest, HttpResponse};

const LUA_KEY: &str = "metadata%00filter_metadata%00envoy.filters.http.lua%00uppercase";

/// The pairs encoding, shown as the probe shows property values.
fn shown_map(pairs: &[(&str, &str)]) -> String {
    let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
    for (k, v) in pairs {
        out.extend((k.len() as u32).to_le_bytes());
        out.extend((v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend(k.as_bytes());
        out.push(0);
        out.extend(v.as_bytes());
        out.push(0);
    }
    format!("{:?}", String::from_utf8_lossy(&out))
}

#[test]
fn a_bracketed_segment_keeps_its_dots_from_the_builder() {
    let mut host = probe_builder(&probe(), &format!("request_headers get_property {LUA_KEY}"))
        .property(
            "metadata.filter_metadata[envoy.filters.http.lua].uppercase",
            "yes",
        )
        .build()
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(
        result(&host, &format!("request_headers.get_property {LUA_KEY}")),
        "0 \"yes\""
    );
}

#[test]
fn segments_can_be_given_one_by_one_and_a_bad_path_is_refused() {
    let mut host = probe_builder(&probe(), &format!("request_headers get_property {LUA_KEY}"))
        .property_segments(
            &[
                "metadata",
                "filter_metadata",
                "envoy.filters.http.lua",
                "uppercase",
            ],
            "seg",
        )
        .build()
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(
        result(&host, &format!("request_headers.get_property {LUA_KEY}")),
        "0 \"seg\""
    );
    let err = probe_builder(&probe(), "")
        .property("metadata.[unclosed", "x")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, HarnessError::Usage(ref m) if m.contains("unclosed")),
        "{err}"
    );
}

#[test]
fn one_stream_has_dynamic_metadata_and_the_next_has_none() {
    let mut host = probe_host(&format!("request_headers get_property {LUA_KEY}"));
    let mut s = host.http_stream().unwrap();
    s.set_property(
        "metadata.filter_metadata[envoy.filters.http.lua].uppercase",
        "yes",
    )
    .unwrap();
    s.exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let got = results(&host, &format!("request_headers.get_property {LUA_KEY}"));
    assert_eq!(got, ["0 \"yes\"", "1"]);
}

#[test]
fn connection_properties_agree_with_each_other() {
    let script = "request_headers get_property source.address
         request_headers get_property_int source.port
         request_headers get_property destination.address
         request_headers get_property_int destination.port
         request_headers get_property connection.requested_server_name
         request_headers get_property connection.mtls";
    let mut host = probe_builder(&probe(), script)
        .connection(
            ConnectionInfo::default()
                .source("10.1.2.3:4000")
                .requested_server_name("api.example")
                .mtls(true),
        )
        .property("destination.port", 9443i64)
        .build()
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let r = |s: &str| result(&host, &format!("request_headers.{s}"));
    assert_eq!(r("get_property source.address"), "0 \"10.1.2.3:4000\"");
    assert_eq!(r("get_property_int source.port"), "0 4000");
    // Setting the port alone moves the address with it.
    assert_eq!(
        r("get_property destination.address"),
        "0 \"127.0.0.1:9443\""
    );
    assert_eq!(r("get_property_int destination.port"), "0 9443");
    assert_eq!(
        r("get_property connection.requested_server_name"),
        "0 \"api.example\""
    );
    assert_eq!(r("get_property connection.mtls"), "0 \"\\u{1}\"");
}

#[test]
fn a_stream_can_come_from_another_connection() {
    let mut host = probe_host(
        "request_headers get_property source.address
         request_headers get_property_int source.port
         request_headers get_property_int connection.id",
    );
    let mut s = host.http_stream().unwrap();
    s.set_property("source.address", "192.168.0.9:1234")
        .unwrap();
    s.set_property("connection.id", 77i64).unwrap();
    s.exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let mut s = host.http_stream().unwrap();
    s.set_connection(ConnectionInfo::default().source("10.9.9.9:5555").id(78))
        .unwrap();
    s.exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let addresses = results(&host, "request_headers.get_property source.address");
    let ports = results(&host, "request_headers.get_property_int source.port");
    let ids = results(&host, "request_headers.get_property_int connection.id");
    assert_eq!(
        addresses,
        [
            "0 \"192.168.0.9:1234\"",
            "0 \"10.9.9.9:5555\"",
            "0 \"127.0.0.1:54321\""
        ]
    );
    assert_eq!(ports, ["0 1234", "0 5555", "0 54321"]);
    assert_eq!(ids[..2], ["0 77", "0 78"]);
    // The last stream has no connection id of its own: its context id (4).
    assert_eq!(ids[2], "0 4");
    // A value that is not an address is refused, not stored.
    let mut s = host.http_stream().unwrap();
    assert!(s.set_property("source.address", "nonsense").is_err());
}

#[test]
fn repeated_request_headers_are_joined_with_commas() {
    let host = {
        let mut host = probe_host(
            "request_headers get_property request.headers.x-a
             request_headers get_property request.headers.X-A
             request_headers get_property request.headers.missing
             request_headers get_property request.headers
             response_headers get_property response.headers.set-cookie",
        );
        host.http_exchange(
            &HttpRequest::get("/p")
                .header("x-a", "1")
                .header("x-b", "b")
                .header("x-a", "2"),
            &HttpResponse::ok()
                .header("set-cookie", "a=1")
                .header("set-cookie", "b=2"),
        )
        .unwrap();
        host
    };
    let r = |s: &str| result(&host, s);
    assert_eq!(
        r("request_headers.get_property request.headers.x-a"),
        "0 \"1,2\""
    );
    // Envoy looks the name up lower-cased.
    assert_eq!(
        r("request_headers.get_property request.headers.X-A"),
        "0 \"1,2\""
    );
    assert_eq!(
        r("request_headers.get_property request.headers.missing"),
        "1"
    );
    assert_eq!(
        r("request_headers.get_property request.headers"),
        format!(
            "0 {}",
            shown_map(&[
                (":method", "GET"),
                (":path", "/p"),
                (":authority", "example.com"),
                (":scheme", "http"),
                ("x-a", "1,2"),
                ("x-b", "b"),
            ])
        )
    );
    assert_eq!(
        r("response_headers.get_property response.headers.set-cookie"),
        "0 \"a=1,b=2\""
    );
}

#[test]
fn a_network_connection_has_its_own_addresses() {
    let mut host = probe_host(
        "mode tcp
         new_connection get_property destination.address
         new_connection get_property_int destination.port",
    );
    let mut c = host.tcp_connection().unwrap();
    c.set_property("destination.address", "10.0.0.9:9000")
        .unwrap();
    c.new_connection().unwrap();
    c.close().unwrap();
    assert_eq!(
        result(&host, "new_connection.get_property destination.address"),
        "0 \"10.0.0.9:9000\""
    );
    assert_eq!(
        result(&host, "new_connection.get_property_int destination.port"),
        "0 9000"
    );
}
