//! Conformance: shared data and its CAS rules (reference §6).

use crate::conformance_support;

use conformance_support::{assert_logged, probe_host};

#[test]
fn cas_rules_follow_envoy() {
    let host = probe_host(
        "configure get_shared k
         configure set_shared k v1 0
         configure get_shared k
         configure set_shared other x 0
         configure get_shared other
         configure set_shared k v2 99
         configure set_shared k v3 1
         configure get_shared k
         configure set_shared k v4 0
         configure get_shared k
         configure set_shared fresh f 12345
         configure get_shared fresh
         configure set_shared k - 0
         configure get_shared k",
    );
    // Missing: NOT_FOUND.
    assert_logged(&host, "configure.get_shared k = 1");
    // The cas comes from one global counter: 1, 2, 3, … across keys.
    let k = conformance_support::results(&host, "configure.get_shared k");
    assert_eq!(k[1], "0 \"v1\" cas=1");
    assert_logged(&host, "configure.get_shared other = 0 \"x\" cas=2");
    // A stale cas: CAS_MISMATCH and nothing changes.
    assert_logged(&host, "configure.set_shared k v2 99 = 8");
    // The current cas: stored with a fresh cas.
    assert_logged(&host, "configure.set_shared k v3 1 = 0");
    assert_eq!(k[2], "0 \"v3\" cas=3");
    // cas 0 always overwrites.
    assert_logged(&host, "configure.set_shared k v4 0 = 0");
    assert_eq!(k[3], "0 \"v4\" cas=4");
    // A missing key is created whatever the cas.
    assert_logged(&host, "configure.set_shared fresh f 12345 = 0");
    assert_logged(&host, "configure.get_shared fresh = 0 \"f\" cas=5");
    // No delete: the SDK writes an empty value, which stays a present key.
    assert_eq!(k[4], "0 \"\" cas=6");
    // The test sees the same store.
    assert_eq!(host.shared_data("k"), Some((Vec::new(), 6)));
    assert_eq!(host.shared_data("fresh"), Some((b"f".to_vec(), 5)));
    assert_eq!(host.shared_data("never"), None);
}

#[test]
fn values_persist_across_streams_of_the_same_vm() {
    let mut host = probe_host(
        "configure set_shared hits one 0
         request_headers get_shared hits",
    );
    host.http_exchange(
        &wasme_harness::HttpRequest::get("/"),
        &wasme_harness::HttpResponse::ok(),
    )
    .unwrap();
    assert_logged(&host, "request_headers.get_shared hits = 0 \"one\" cas=1");
}
