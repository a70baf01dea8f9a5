//! Conformance: metrics — ids and rules (reference §6).

use crate::conformance_support;

use conformance_support::{assert_logged, probe_host};
use wasme_harness::MetricValue;

#[test]
fn ids_encode_the_type_in_the_low_bits() {
    let host = probe_host(
        "configure define_metric 0 c1
         configure define_metric 0 c2
         configure define_metric 1 g1
         configure define_metric 2 h1
         configure define_metric 3 bad",
    );
    assert_logged(&host, "configure.define_metric 0 c1 = 0 id=4");
    assert_logged(&host, "configure.define_metric 0 c2 = 0 id=8");
    assert_logged(&host, "configure.define_metric 1 g1 = 0 id=5");
    assert_logged(&host, "configure.define_metric 2 h1 = 0 id=6");
    let bad = conformance_support::result(&host, "configure.define_metric 3 bad");
    assert!(bad.starts_with("2 "), "type above 2 is BAD_ARGUMENT: {bad}");
}

#[test]
fn counter_rules() {
    let host = probe_host(
        "configure define_metric 0 requests
         configure incr $m 0
         configure incr $m -1
         configure incr $m 5
         configure record $m 3
         configure get_metric $m",
    );
    assert_logged(&host, "configure.incr 4 0 = 2");
    assert_logged(&host, "configure.incr 4 -1 = 2");
    assert_logged(&host, "configure.incr 4 5 = 0");
    assert_logged(&host, "configure.record 4 3 = 0");
    // Record adds to a counter.
    assert_logged(&host, "configure.get_metric 4 = 0 8");
    assert_eq!(host.metric("requests"), Some(8));
    assert_eq!(
        host.metrics().get("requests"),
        Some(&MetricValue::Counter(8))
    );
}

#[test]
fn gauge_rules() {
    let host = probe_host(
        "configure define_metric 1 level
         configure incr $m 5
         configure incr $m -2
         configure get_metric $m
         configure record $m 10
         configure get_metric $m",
    );
    assert_logged(&host, "configure.incr 5 5 = 0");
    assert_logged(&host, "configure.incr 5 -2 = 0");
    assert_eq!(
        conformance_support::results(&host, "configure.get_metric 5"),
        ["0 3", "0 10"]
    );
    assert_eq!(host.metric("level"), Some(10));
    assert_eq!(host.metrics().get("level"), Some(&MetricValue::Gauge(10)));
}

#[test]
fn histogram_rules_and_unknown_ids() {
    let host = probe_host(
        "configure define_metric 2 latency
         configure record $m 7
         configure record $m 9
         configure incr $m 1
         configure get_metric $m
         configure get_metric 1000
         configure incr 1004 1
         configure record 1005 1",
    );
    assert_logged(&host, "configure.record 6 7 = 0");
    assert_logged(&host, "configure.incr 6 1 = 2");
    assert!(conformance_support::result(&host, "configure.get_metric 6").starts_with("2 "));
    assert!(conformance_support::result(&host, "configure.get_metric 1000").starts_with("1 "));
    assert_logged(&host, "configure.incr 1004 1 = 1");
    assert_logged(&host, "configure.record 1005 1 = 1");
    assert_eq!(
        host.metrics().get("latency"),
        Some(&MetricValue::Histogram(vec![7, 9]))
    );
}
