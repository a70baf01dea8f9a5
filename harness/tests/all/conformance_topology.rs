//! Conformance: several plugins (root contexts) on one VM, several VMs (Envoy's workers)
//! sharing data and queues, root shutdown, and on_foreign_function (reference §4, §6).

use crate::conformance_support;

use std::time::Duration;

use conformance_support::{assert_logged, assert_not_logged, callbacks, probe, probe_builder};
use wasme_harness::{HttpRequest, HttpResponse, SharedState};

#[test]
fn several_plugins_share_one_vm_with_their_own_roots_and_configurations() {
    let module = probe();
    let mut host = probe_builder(
        &module,
        "configure get_property plugin_root_id
         configure set_shared owner first 0
         response_headers add_header resp x-first 1",
    )
    .add_plugin(
        "second",
        "second-plugin",
        "configure get_property plugin_root_id
         configure get_shared owner
         response_headers add_header resp x-second 2",
    )
    .build()
    .unwrap();
    let entries = callbacks(&host);
    assert!(
        entries.contains(&"> create_root ctx=1".to_string()),
        "{entries:?}"
    );
    assert!(
        entries.contains(&"> create_root ctx=2".to_string()),
        "{entries:?}"
    );
    assert_eq!(host.root_context_id(0), Some(1));
    assert_eq!(host.root_context_id(1), Some(2));
    // Each root reads its own identity; both see the VM's shared data.
    let roots = conformance_support::results(&host, "configure.get_property plugin_root_id");
    assert_eq!(roots, ["0 \"probe\"", "0 \"second\""]);
    assert_logged(&host, "configure.get_shared owner = 0 \"first\" cas=1");
    // A stream of the second plugin belongs to root 2 and runs the second script.
    let mut s = host.http_stream_for(1).unwrap();
    s.request_headers(
        &[(":method", "GET"), (":path", "/"), (":authority", "h")],
        true,
    )
    .unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert!(
        callbacks(&host).contains(&"> create ctx=3 root=2".to_string()),
        "{:?}",
        callbacks(&host)
    );
    assert_logged(&host, "response_headers.add_header resp x-second 2 = 0");
    assert_not_logged(&host, "response_headers.add_header resp x-first");
}

#[test]
fn vms_with_the_same_vm_id_share_data_and_others_do_not() {
    let module = probe();
    let shared = SharedState::new();
    let a = probe_builder(&module, "configure set_shared k from-a 0")
        .shared_state(&shared)
        .build()
        .unwrap();
    let b = probe_builder(&module, "configure get_shared k")
        .shared_state(&shared)
        .build()
        .unwrap();
    assert_logged(&b, "configure.get_shared k = 0 \"from-a\" cas=1");
    let c = probe_builder(
        &module,
        "configure get_shared k
         configure set_shared k from-c 0
         configure get_shared k",
    )
    .vm_id("other-vm")
    .shared_state(&shared)
    .build()
    .unwrap();
    let got = conformance_support::results(&c, "configure.get_shared k");
    assert_eq!(got[0], "1", "another vm_id does not see it");
    // One global CAS counter across the whole process.
    assert_eq!(got[1], "0 \"from-c\" cas=2");
    assert_eq!(a.shared_data("k"), Some((b"from-a".to_vec(), 1)));
    assert_eq!(c.shared_data("k"), Some((b"from-c".to_vec(), 2)));
    // Separate hosts without a common SharedState share nothing.
    let lonely = probe_builder(&module, "configure get_shared k")
        .build()
        .unwrap();
    assert_logged(&lonely, "configure.get_shared k = 1");
}

#[test]
fn a_queue_registered_by_one_vm_is_fed_by_another_and_notifies_the_registering_root() {
    let module = probe();
    let shared = SharedState::new();
    let mut a = probe_builder(
        &module,
        "configure register_queue jobs
         queue_ready dequeue $q",
    )
    .shared_state(&shared)
    .build()
    .unwrap();
    let id = a.queue_id("jobs").expect("registered");
    let b = probe_builder(
        &module,
        "configure resolve_queue probe-vm jobs
         configure enqueue $q from-b",
    )
    .shared_state(&shared)
    .build()
    .unwrap();
    assert_logged(
        &b,
        &format!("configure.resolve_queue probe-vm jobs = 0 id={id}"),
    );
    assert_logged(&b, &format!("configure.enqueue {id} from-b = 0"));
    assert_not_logged(&b, "> queue_ready");
    a.run_pending().unwrap();
    assert!(
        callbacks(&a).contains(&format!("> queue_ready ctx=1 queue={id}")),
        "{:?}",
        callbacks(&a)
    );
    assert_logged(&a, &format!("queue_ready.dequeue {id} = 0 \"from-b\""));
}

#[test]
fn root_shutdown_deletes_at_once_or_after_proxy_done() {
    let mut host = conformance_support::probe_host("");
    host.shutdown().unwrap();
    let tail: Vec<String> = callbacks(&host).into_iter().rev().take(2).collect();
    assert_eq!(tail, ["> delete ctx=1", "> done ctx=1"]);

    let mut host = conformance_support::probe_host(
        "done return 0
         configure tick_period 10
         tick proxy_done",
    );
    host.shutdown().unwrap();
    assert!(callbacks(&host).contains(&"> done ctx=1".to_string()));
    assert_not_logged(&host, "> delete ctx=1");
    host.advance_clock(Duration::from_millis(10)).unwrap();
    assert_logged(&host, "tick.proxy_done = 0");
    assert!(
        callbacks(&host).contains(&"> delete ctx=1".to_string()),
        "proxy_done completes the shutdown: {:?}",
        callbacks(&host)
    );
}

#[test]
fn on_foreign_function_gets_its_arguments_only_inside_the_callback() {
    let mut host = conformance_support::probe_host(
        "configure get_buffer foreign_args 0 100
         foreign_function get_buffer foreign_args 0 100",
    );
    host.call_on_foreign_function(0, 7, b"args").unwrap();
    assert!(
        callbacks(&host).contains(&"> foreign_function ctx=1 function=7 size=4".to_string()),
        "{:?}",
        callbacks(&host)
    );
    assert_logged(
        &host,
        "foreign_function.get_buffer foreign_args 0 100 = 0 \"args\"",
    );
    assert_logged(&host, "configure.get_buffer foreign_args 0 100 = 1");
}

#[test]
fn streams_on_one_host_do_not_leak_into_another_host() {
    // No global state: two hosts of the same module count their own contexts.
    let mut a = conformance_support::probe_host("");
    let mut b = conformance_support::probe_host("");
    a.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    b.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert!(callbacks(&a).contains(&"> create ctx=2 root=1".to_string()));
    assert!(callbacks(&b).contains(&"> create ctx=2 root=1".to_string()));
}
