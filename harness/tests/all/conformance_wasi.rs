//! Conformance: WASI preview1 as Envoy serves it (reference §1).

use crate::conformance_support;

use conformance_support::{assert_logged, messages, probe, probe_builder, result};
use wasme_harness::LogLevel;

#[test]
fn stdout_logs_at_info_and_stderr_at_error_without_the_newline() {
    let host = conformance_support::probe_host(
        "configure print to-stdout
         configure eprint to-stderr",
    );
    let logs = host.logs();
    assert!(
        logs.iter()
            .any(|l| l.message == "to-stdout" && l.level == LogLevel::Info),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.message == "to-stderr" && l.level == LogLevel::Error),
        "{logs:?}"
    );
    assert!(
        host.logs_at(LogLevel::Error)
            .iter()
            .any(|l| l.message == "to-stderr")
    );
}

#[test]
fn only_the_configured_environment_variables_are_visible() {
    let module = probe();
    let host = probe_builder(
        &module,
        "configure env GREETING
         configure env HOME
         configure env PATH",
    )
    .env("GREETING", "hello from the plugin")
    .build()
    .unwrap();
    assert_logged(
        &host,
        "configure.env GREETING = 0 \"hello from the plugin\"",
    );
    assert_logged(&host, "configure.env HOME = 1 missing");
    assert_logged(&host, "configure.env PATH = 1 missing");
}

fn random_with_seed(seed: u64) -> String {
    let module = probe();
    let host = probe_builder(&module, "configure random 32")
        .random_seed(seed)
        .build()
        .unwrap();
    result(&host, "configure.random 32")
}

#[test]
fn random_get_is_seeded_and_refuses_more_than_64_kib() {
    let a = random_with_seed(7);
    assert!(a.starts_with("0 "), "{a}");
    assert_eq!(a, random_with_seed(7), "the same seed gives the same bytes");
    assert_ne!(a, random_with_seed(8), "another seed gives other bytes");
    assert_ne!(a, format!("0 {}", "00".repeat(16)), "not all zeros");
    let host = conformance_support::probe_host(
        "configure random 65536
         configure random 65537",
    );
    assert!(result(&host, "configure.random 65536").starts_with("0 "));
    // INVAL = 28.
    assert!(result(&host, "configure.random 65537").starts_with("28 "));
}

#[test]
fn clocks_come_from_the_harness_clock() {
    let mut host = conformance_support::probe_host(
        "tick clock 0
         tick clock 1
         tick clock 2
         tick now
         configure tick_period 1000",
    );
    host.advance_clock(std::time::Duration::from_secs(1))
        .unwrap();
    let realtime: u64 = result(&host, "tick.clock 0")
        .strip_prefix("0 ")
        .and_then(|n| n.parse().ok())
        .expect("realtime is ok");
    let now: u64 = result(&host, "tick.now")
        .strip_prefix("0 ")
        .and_then(|n| n.parse().ok())
        .expect("proxy time is ok");
    assert_eq!(
        realtime, now,
        "WASI realtime and proxy time share the frozen clock"
    );
    assert!(result(&host, "tick.clock 1").starts_with("0 "));
    // NOTSUP = 58 for other clocks.
    assert!(
        result(&host, "tick.clock 2").starts_with("58 "),
        "{:?}",
        messages(&host)
    );
}
