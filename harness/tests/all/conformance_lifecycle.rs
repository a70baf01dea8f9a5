//! Conformance: context ids and the order of callbacks, HTTP and TCP (reference §4).

use crate::conformance_support;

use conformance_support::{callback_names, callbacks, probe, probe_builder, probe_host};
use wasme_harness::{HttpRequest, HttpResponse};

#[test]
fn root_is_context_1_started_then_configured() {
    let host = probe_host("");
    let entries = callbacks(&host);
    assert_eq!(
        entries.first().map(String::as_str),
        Some("> create_root ctx=1"),
        "{entries:?}"
    );
    assert!(entries[1].starts_with("> vm_start ctx=1 "), "{entries:?}");
    assert!(entries[2].starts_with("> configure ctx=1 "), "{entries:?}");
}

#[test]
fn vm_start_and_configure_get_the_configuration_sizes() {
    let module = probe();
    let host = probe_builder(&module, "// twelve b")
        .vm_config("// vm")
        .build()
        .unwrap();
    let entries = callbacks(&host);
    assert!(
        entries.contains(&"> vm_start ctx=1 size=5".to_string()),
        "{entries:?}"
    );
    assert!(
        entries.contains(&"> configure ctx=1 size=11".to_string()),
        "{entries:?}"
    );
}

#[test]
fn http_callbacks_run_in_envoy_order_with_on_log_before_on_done() {
    let mut host = probe_host("");
    let mut s = host.http_stream().unwrap();
    s.request_headers(
        &[(":method", "POST"), (":path", "/"), (":authority", "h")],
        false,
    )
    .unwrap();
    s.request_body(b"abc", false).unwrap();
    s.request_trailers(&[("x-rt", "1")]).unwrap();
    s.response_headers(&[(":status", "200")], false).unwrap();
    s.response_body(b"def", false).unwrap();
    s.response_trailers(&[("x-st", "1")]).unwrap();
    s.finish().unwrap();
    assert_eq!(
        callback_names(&host, 2),
        [
            "create",
            "request_headers",
            "request_body",
            "request_trailers",
            "response_headers",
            "response_body",
            "response_trailers",
            "log",
            "done",
            "delete"
        ]
    );
    let entries = callbacks(&host);
    assert!(
        entries.contains(&"> create ctx=2 root=1".to_string()),
        "{entries:?}"
    );
    assert!(
        entries.contains(&"> request_headers ctx=2 n=3 eos=false".to_string()),
        "{entries:?}"
    );
    assert!(
        entries.contains(&"> request_trailers ctx=2 n=1".to_string()),
        "{entries:?}"
    );
}

#[test]
fn stream_ids_count_up_and_are_never_reused() {
    let mut host = probe_host("");
    for _ in 0..3 {
        host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
            .unwrap();
    }
    let creates: Vec<String> = callbacks(&host)
        .into_iter()
        .filter(|e| e.starts_with("> create ctx="))
        .collect();
    assert_eq!(
        creates,
        [
            "> create ctx=2 root=1",
            "> create ctx=3 root=1",
            "> create ctx=4 root=1"
        ]
    );
    for ctx in 2..=4 {
        assert_eq!(
            callback_names(&host, ctx).last().map(String::as_str),
            Some("delete")
        );
    }
}

#[test]
fn end_of_stream_is_passed_to_the_headers_and_last_body_callbacks() {
    let mut host = probe_host("");
    host.http_exchange(
        &HttpRequest::post("/", "12345"),
        &HttpResponse::ok().body("xy"),
    )
    .unwrap();
    let entries = callbacks(&host);
    for want in [
        "> request_headers ctx=2 n=",
        "> request_body ctx=2 size=5 eos=true",
        "> response_body ctx=2 size=2 eos=true",
    ] {
        assert!(
            entries.iter().any(|e| e.starts_with(want)),
            "{want} in {entries:?}"
        );
    }
    let headers = entries
        .iter()
        .find(|e| e.starts_with("> request_headers ctx=2"))
        .unwrap();
    assert!(headers.ends_with("eos=false"), "a body follows: {headers}");
}

#[test]
fn tcp_callbacks_run_in_envoy_order() {
    let mut host = probe_host("mode tcp");
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    c.downstream_data(b"ping", false).unwrap();
    c.upstream_data(b"pong", false).unwrap();
    c.close().unwrap();
    let names = callback_names(&host, 2);
    assert_eq!(
        &names[..4],
        [
            "create",
            "new_connection",
            "downstream_data",
            "upstream_data"
        ]
    );
    let tail: Vec<&str> = names[4..]
        .iter()
        .map(String::as_str)
        .filter(|n| !n.ends_with("_close"))
        .collect();
    assert_eq!(tail, ["done", "log", "delete"], "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("_close")),
        "close callbacks run before on_done: {names:?}"
    );
    let close_at = names.iter().position(|n| n.ends_with("_close")).unwrap();
    let done_at = names.iter().position(|n| n == "done").unwrap();
    assert!(close_at < done_at, "{names:?}");
    let entries = callbacks(&host);
    assert!(
        entries.contains(&"> downstream_data ctx=2 size=4 eos=false".to_string()),
        "{entries:?}"
    );
}
