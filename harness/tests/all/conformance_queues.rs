//! Conformance: shared queues (reference §6).

use crate::conformance_support;

use conformance_support::{assert_logged, callbacks, probe_host, result};

#[test]
fn register_resolve_enqueue_dequeue_and_notify_the_registering_root() {
    let mut host = probe_host(
        "configure register_queue jobs
         configure resolve_queue - jobs
         configure resolve_queue - nope
         configure resolve_queue other-vm jobs
         configure enqueue 123456 lost
         configure enqueue $q hello
         queue_ready dequeue $q
         queue_ready dequeue $q
         queue_ready dequeue 123456",
    );
    // Envoy posts on_queue_ready to the registering VM's dispatcher: it runs after the call
    // that enqueued, when the host next runs its events.
    host.run_pending().unwrap();
    let registered = result(&host, "configure.register_queue jobs");
    let id: u32 = registered
        .strip_prefix("0 id=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("register_queue: {registered}"));
    assert_ne!(id, 0, "queue ids are non-zero");
    assert_logged(
        &host,
        &format!("configure.resolve_queue - jobs = 0 id={id}"),
    );
    assert!(result(&host, "configure.resolve_queue - nope").starts_with("1 "));
    assert!(result(&host, "configure.resolve_queue other-vm jobs").starts_with("1 "));
    assert_logged(&host, "configure.enqueue 123456 lost = 1");
    assert_logged(&host, &format!("configure.enqueue {id} hello = 0"));
    // on_queue_ready on the registering root, with the queue id.
    assert!(
        callbacks(&host).contains(&format!("> queue_ready ctx=1 queue={id}")),
        "{:?}",
        callbacks(&host)
    );
    let dequeued = conformance_support::results(&host, &format!("queue_ready.dequeue {id}"));
    assert_eq!(dequeued[0], "0 \"hello\"");
    // Then EMPTY.
    assert_eq!(dequeued[1], "7");
    assert_logged(&host, "queue_ready.dequeue 123456 = 1");
}

#[test]
fn registering_twice_returns_the_same_id() {
    let host = probe_host(
        "configure register_queue q
         configure register_queue q",
    );
    let ids = conformance_support::results(&host, "configure.register_queue q");
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], "0 id=0");
}
