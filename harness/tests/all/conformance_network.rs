//! Conformance: network (TCP) filters — data buffers, pausing, closing (reference §4, §5).

use crate::conformance_support;

use conformance_support::{assert_logged, callbacks, probe_host};

#[test]
fn downstream_and_upstream_data_are_readable_and_mutable_in_their_callbacks() {
    let mut host = probe_host(
        "mode tcp
         downstream_data get_buffer downstream 0 100
         downstream_data set_buffer downstream 0 0 pre-
         upstream_data get_buffer upstream 0 100
         upstream_data set_buffer upstream 100 0 -post
         new_connection get_buffer downstream 0 100",
    );
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    c.downstream_data(b"ping", false).unwrap();
    c.upstream_data(b"pong", false).unwrap();
    let (up, down) = (c.sent_upstream(), c.sent_downstream());
    c.close().unwrap();
    assert_logged(
        &host,
        "downstream_data.get_buffer downstream 0 100 = 0 \"ping\"",
    );
    assert_logged(
        &host,
        "upstream_data.get_buffer upstream 0 100 = 0 \"pong\"",
    );
    assert_eq!(up, b"pre-ping");
    assert_eq!(down, b"pong-post");
    // No data yet when the connection opens.
    let early = conformance_support::result(&host, "new_connection.get_buffer downstream 0 100");
    assert_ne!(early, "0 \"ping\"", "{early}");
}

#[test]
fn pausing_downstream_data_buffers_it_for_the_next_callback() {
    let mut host = probe_host(
        "mode tcp
         downstream_data#1 return 1",
    );
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    c.downstream_data(b"ab", false).unwrap();
    let held = c.sent_upstream();
    c.downstream_data(b"cd", false).unwrap();
    let sent = c.sent_upstream();
    c.close().unwrap();
    assert!(held.is_empty(), "paused data is held: {held:?}");
    assert!(
        callbacks(&host).contains(&"> downstream_data ctx=2 size=4 eos=false".to_string()),
        "the next callback sees everything buffered: {:?}",
        callbacks(&host)
    );
    assert_eq!(sent, b"abcd", "forwarded once");
}

#[test]
fn close_downstream_closes_the_connection_after_the_call() {
    let mut host = probe_host(
        "mode tcp
         downstream_data close downstream
         downstream_data get_buffer downstream 0 100",
    );
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    c.downstream_data(b"bye", false).unwrap();
    let closed = c.closed_details();
    drop(c);
    assert_logged(&host, "downstream_data.close downstream = 0");
    // Deferred: the callback still has its data.
    assert_logged(
        &host,
        "downstream_data.get_buffer downstream 0 100 = 0 \"bye\"",
    );
    assert!(closed.is_some(), "the filter closed the connection");
}
