//! Conformance: ticks from the test-controlled clock (reference §6).

use crate::conformance_support;

use std::time::Duration;

use conformance_support::{callbacks, probe_host, results};

fn ticks(host: &wasme_harness::Host) -> usize {
    callbacks(host)
        .iter()
        .filter(|e| *e == "> tick ctx=1")
        .count()
}

#[test]
fn on_tick_runs_every_period_of_the_fake_clock_and_0_cancels() {
    let mut host = probe_host(
        "configure tick_period 100
         tick now
         tick#3 tick_period 0",
    );
    assert_eq!(ticks(&host), 0, "no time has passed");
    host.advance_clock(Duration::from_millis(99)).unwrap();
    assert_eq!(ticks(&host), 0);
    host.advance_clock(Duration::from_millis(1)).unwrap();
    assert_eq!(ticks(&host), 1);
    host.advance_clock(Duration::from_millis(250)).unwrap();
    assert_eq!(ticks(&host), 3, "ticks at 200 and 300 ms");
    host.advance_clock(Duration::from_secs(5)).unwrap();
    assert_eq!(ticks(&host), 3, "the third tick set the period to 0");
    // proxy_get_current_time_nanoseconds follows the same clock: 100 ms apart.
    let times: Vec<u64> = results(&host, "tick.now")
        .iter()
        .map(|r| r.strip_prefix("0 ").and_then(|n| n.parse().ok()).unwrap())
        .collect();
    assert_eq!(times.len(), 3);
    assert_eq!(times[1] - times[0], 100_000_000);
    assert_eq!(times[2] - times[1], 100_000_000);
}

#[test]
fn a_tick_period_set_from_a_stream_applies_to_its_root() {
    let mut host = probe_host("request_headers tick_period 50");
    host.http_exchange(
        &wasme_harness::HttpRequest::get("/"),
        &wasme_harness::HttpResponse::ok(),
    )
    .unwrap();
    host.advance_clock(Duration::from_millis(120)).unwrap();
    assert_eq!(ticks(&host), 2, "{:?}", callbacks(&host));
}
