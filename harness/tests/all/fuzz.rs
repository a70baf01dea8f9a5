//! `wasme_harness::fuzz` against real filters: add-header fuzzes clean, and each planted defect
//! (harness/tests/filters/defect-*) is found within a bounded number of exchanges with a fixed
//! seed, and shrunk to a small exchange.

use std::path::Path;
use wasme_harness::fuzz::{self, FuzzOptions, FuzzReport, HostSpec, Limit, Traffic, Violation};
use wasme_harness::{FailureKind, HarnessError, Host, Module};

fn module(dir: &str) -> Module {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let wasm = wasme_harness::build::build_filter(&dir, None).expect("the filter builds");
    Module::from_file(wasm).expect("the filter loads")
}

fn fuzz(module: &Module, runs: u64) -> FuzzReport {
    let factory = |spec: &HostSpec| -> Result<Host, HarnessError> {
        Host::builder(module)
            .root_id("add_header")
            .cluster("auth")
            .trace(spec.trace)
            .build()
    };
    let options = FuzzOptions {
        seed: 12,
        limit: Limit::Runs(runs),
        ..FuzzOptions::default()
    };
    fuzz::run(&factory, &options).expect("fuzzing runs")
}

fn http(ex: &fuzz::Exchange) -> &fuzz::HttpExchange {
    match &ex.traffic {
        Traffic::Http(h) => h,
        Traffic::Tcp(_) => panic!("HTTP traffic was generated: {ex:?}"),
    }
}

#[test]
fn add_header_fuzzes_clean_with_a_flat_memory_curve() {
    let report = fuzz(&module("../filters/add-header"), 5_000);
    assert!(report.finding.is_none(), "{:#?}", report.finding);
    assert_eq!(report.exchanges, 5_000);
    assert!(
        report.memory_slope.abs() < 1.0,
        "add-header does not leak: {} bytes/exchange",
        report.memory_slope
    );
}

#[test]
fn a_panic_on_a_long_header_is_found_and_shrunk_to_one_256_byte_value() {
    let report = fuzz(&module("tests/filters/defect-long-header"), 2_000);
    let f = report.finding.expect("the long-header panic is found");
    assert!(f.case < 2_000, "found at exchange {}", f.case);
    match &f.violation {
        Violation::VmFailed(v) => {
            assert_eq!(v.kind, FailureKind::Trap, "{v}");
            assert!(
                v.panic_message.is_some(),
                "the panic message is kept: {v:?}"
            );
        }
        other => panic!("expected a trap, got {other}"),
    }
    assert_eq!(f.steps.len(), 1);
    let h = http(&f.steps[0]);
    // Shrunk: nothing but one value just over the limit — a header's, or the `:path`
    // pseudo-header's (the filter copies every request header, pseudo-headers included).
    let long: Vec<usize> = std::iter::once(h.path.len())
        .chain(h.headers.iter().map(|(_, v)| v.len()))
        .filter(|n| *n > 255)
        .collect();
    assert_eq!(long, [256], "{h:#?}");
    assert!(h.headers.len() <= 1, "{h:#?}");
    assert!(h.body.is_empty() && h.trailers.is_empty(), "{h:#?}");
    assert!(f.shrink_steps > 0);
    assert!(
        f.trace
            .iter()
            .any(|l| l.contains("proxy_on_request_headers")),
        "{:?}",
        f.trace
    );
}

#[test]
fn a_leak_of_one_vec_per_request_is_found_with_its_slope() {
    let report = fuzz(&module("tests/filters/defect-leak"), 10_000);
    let f = report.finding.expect("the leak is found");
    match f.violation {
        Violation::Leak { bytes_per_exchange } => assert!(
            (900.0..2_000.0).contains(&bytes_per_exchange),
            "about 1 KiB per exchange: {bytes_per_exchange}"
        ),
        other => panic!("expected a leak, got {other}"),
    }
    assert!(f.repeat > 100);
    let h = http(&f.steps[0]);
    assert!(h.headers.is_empty() && h.body.is_empty(), "{h:#?}");
}

#[test]
fn a_stream_left_paused_after_a_failed_callout_is_found() {
    let report = fuzz(&module("tests/filters/defect-callout-stall"), 2_000);
    let f = report.finding.expect("the stall is found");
    assert_eq!(f.violation, Violation::StreamStalled, "{}", f.violation);
    let h = http(&f.steps[0]);
    assert!(h.headers.is_empty() && h.body.is_empty(), "{h:#?}");
    assert_ne!(
        h.callouts,
        fuzz::CalloutAnswer::Success {
            status: 200,
            body_len: 0
        },
        "a successful callout resumes the stream"
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let m = module("tests/filters/defect-long-header");
    let (a, b) = (fuzz(&m, 2_000), fuzz(&m, 2_000));
    let (fa, fb) = (a.finding.expect("found"), b.finding.expect("found"));
    assert_eq!(
        (fa.case, &fa.original, &fa.steps),
        (fb.case, &fb.original, &fb.steps)
    );
}
