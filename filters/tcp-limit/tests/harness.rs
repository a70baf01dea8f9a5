//! tcp-limit, built for wasm32-wasip1 and run in the wasme harness as a network filter.

use std::sync::OnceLock;
use wasme_harness::{FilterStatus, Host, Module};

fn module() -> Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let wasm = wasme_harness::build::build_filter(env!("CARGO_MANIFEST_DIR"), None)
                .expect("tcp-limit builds for wasm32-wasip1");
            Module::from_file(wasm).expect("the module loads")
        })
        .clone()
}

fn host(config: &str) -> Host {
    Host::builder(&module())
        .root_id("tcp_limit")
        .plugin_config(config)
        .build()
        .expect("configures")
}

#[test]
fn counts_connections_and_bytes_under_the_limit() {
    let mut host = host(r#"{"max_bytes": 100}"#);
    let mut c = host.tcp_connection().expect("connection");
    assert_eq!(c.new_connection().expect("new"), FilterStatus::Continue);
    assert_eq!(c.host().metric("tcp_limit.active"), Some(1));
    assert_eq!(
        c.downstream_data(b"hello", false).expect("data"),
        FilterStatus::Continue
    );
    assert_eq!(
        c.upstream_data(b"world!", false).expect("data"),
        FilterStatus::Continue
    );
    assert_eq!(c.sent_upstream(), b"hello");
    assert_eq!(c.sent_downstream(), b"world!");
    c.close().expect("close");
    assert_eq!(host.metric("tcp_limit.connections"), Some(1));
    assert_eq!(host.metric("tcp_limit.downstream_bytes"), Some(5));
    assert_eq!(host.metric("tcp_limit.upstream_bytes"), Some(6));
    assert_eq!(host.metric("tcp_limit.active"), Some(0));
    assert_eq!(host.metric("tcp_limit.closed_over_limit"), None);
}

#[test]
fn closes_connections_over_the_limit() {
    let mut host = host(r#"{"max_bytes": 8}"#);
    let mut c = host.tcp_connection().expect("connection");
    c.new_connection().expect("new");
    assert_eq!(
        c.downstream_data(b"12345", false).expect("data"),
        FilterStatus::Continue
    );
    let status = c.downstream_data(b"6789", false).expect("data");
    assert_eq!(status, FilterStatus::Reset, "9 bytes > 8: closed");
    assert!(c.closed_details().is_some());
    assert_eq!(
        c.sent_upstream(),
        b"12345",
        "the crossing chunk is not forwarded"
    );
    drop(c);
    assert_eq!(host.metric("tcp_limit.closed_over_limit"), Some(1));
    assert_eq!(host.metric("tcp_limit.active"), Some(0));
    assert!(host.failure().is_none());
}

#[test]
fn upstream_bytes_can_be_left_out_of_the_limit() {
    let mut host = host(r#"{"max_bytes": 4, "count_upstream": false}"#);
    let mut c = host.tcp_connection().expect("connection");
    c.new_connection().expect("new");
    assert_eq!(
        c.upstream_data(b"0123456789", false).expect("data"),
        FilterStatus::Continue
    );
    assert_eq!(
        c.downstream_data(b"abcd", false).expect("data"),
        FilterStatus::Continue
    );
    assert_eq!(
        c.downstream_data(b"e", false).expect("data"),
        FilterStatus::Reset
    );
}

#[test]
fn connections_are_counted_separately() {
    let mut host = host(r#"{"max_bytes": 4}"#);
    for _ in 0..3 {
        let mut c = host.tcp_connection().expect("connection");
        c.new_connection().expect("new");
        assert_eq!(
            c.downstream_data(b"abcd", false).expect("data"),
            FilterStatus::Continue
        );
        c.close().expect("close");
    }
    assert_eq!(host.metric("tcp_limit.connections"), Some(3));
    assert_eq!(host.metric("tcp_limit.downstream_bytes"), Some(12));
    assert_eq!(host.metric("tcp_limit.closed_over_limit"), None);
}
