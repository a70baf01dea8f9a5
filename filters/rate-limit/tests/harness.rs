//! rate-limit, built for wasm32-wasip1 and run in the wasme harness: one worker, then two
//! workers sharing the bucket.

use rate_limit::Bucket;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};
use wasme_harness::{Host, HttpRequest, HttpResponse, Module, SharedState};

fn module() -> Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let wasm = wasme_harness::build::build_filter(env!("CARGO_MANIFEST_DIR"), None)
                .expect("rate-limit builds for wasm32-wasip1");
            Module::from_file(wasm).expect("the module loads")
        })
        .clone()
}

const CONFIG: &str = r#"{"capacity": 2, "refill_tokens": 1, "refill_interval_ms": 1000}"#;
const KEY: &str = "wasme.rate_limit.default";

fn worker(shared: &SharedState) -> Host {
    Host::builder(&module())
        .root_id("rate_limit")
        .vm_id("rl")
        .start_time(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .plugin_config(CONFIG)
        .shared_state(shared)
        .build()
        .expect("configures")
}

/// The status the client got for one request.
fn request(host: &mut Host) -> (u16, Option<String>) {
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .expect("exchange");
    (
        ex.client_response.status().unwrap_or(0),
        ex.client_response.header("retry-after").map(str::to_owned),
    )
}

fn tokens(host: &Host) -> u64 {
    let (bytes, _) = host.shared_data(KEY).expect("bucket exists");
    Bucket::decode(&bytes).expect("bucket encoding").tokens
}

#[test]
fn over_capacity_gets_429_with_retry_after() {
    let mut host = worker(&SharedState::new());
    assert_eq!(request(&mut host), (200, None));
    assert_eq!(request(&mut host), (200, None));
    assert_eq!(request(&mut host), (429, Some("1".into())));
    assert_eq!(tokens(&host), 0);
    assert_eq!(host.metric("rate_limit.allowed"), Some(2));
    assert_eq!(host.metric("rate_limit.limited"), Some(1));
    assert_eq!(host.metric("rate_limit.tokens"), Some(0));
}

#[test]
fn ticks_refill_the_bucket_up_to_capacity() {
    let mut host = worker(&SharedState::new());
    request(&mut host);
    request(&mut host);
    assert_eq!(request(&mut host).0, 429);
    host.advance_clock(Duration::from_millis(1000))
        .expect("tick");
    assert_eq!(tokens(&host), 1);
    assert_eq!(request(&mut host).0, 200);
    assert_eq!(request(&mut host).0, 429);
    host.advance_clock(Duration::from_secs(10)).expect("ticks");
    assert_eq!(tokens(&host), 2, "refills stop at capacity");
}

#[test]
fn workers_share_one_bucket_and_refill_it_once_per_interval() {
    let shared = SharedState::new();
    let mut a = worker(&shared);
    let mut b = worker(&shared);
    assert_eq!(request(&mut a).0, 200);
    assert_eq!(request(&mut b).0, 200);
    assert_eq!(request(&mut a).0, 429, "the bucket is shared");
    assert_eq!(request(&mut b).0, 429);
    // Both workers tick; the bucket gains one token per interval, not one per worker.
    a.advance_clock(Duration::from_millis(1000))
        .expect("tick a");
    b.advance_clock(Duration::from_millis(1000))
        .expect("tick b");
    assert_eq!(tokens(&a), 1);
    assert_eq!(request(&mut b).0, 200);
    assert_eq!(request(&mut a).0, 429);
}

/// A write by another worker between two requests is seen: the filter re-reads the value and
/// its CAS version, and its own write carries that version. (A CAS conflict *inside* one call
/// cannot be staged from the harness; the retry loop is `wasme_sdk::shared_data::update`.)
#[test]
fn writes_by_other_workers_are_respected() {
    let shared = SharedState::new();
    let mut a = worker(&shared);
    request(&mut a);
    let (_, cas_before) = a.shared_data(KEY).expect("bucket");
    // Another writer (an Envoy worker) changes the bucket behind the filter's back.
    let full = Bucket {
        tokens: 2,
        refilled_at_ms: 0,
    };
    a.set_shared_data(KEY, &full.encode(), cas_before)
        .expect("external write");
    assert_eq!(request(&mut a).0, 200);
    let (_, cas_after) = a.shared_data(KEY).expect("bucket");
    assert_ne!(cas_after, cas_before);
    assert_eq!(
        tokens(&a),
        1,
        "the filter took a token from the value it re-read"
    );
}

#[test]
fn corrupt_bucket_is_replaced_by_a_full_one() {
    let mut host = worker(&SharedState::new());
    host.set_shared_data(KEY, b"garbage", 0).expect("write");
    assert_eq!(request(&mut host).0, 200);
    assert_eq!(tokens(&host), 1);
}

#[test]
fn invalid_configuration_names_the_field() {
    let err = Host::builder(&module())
        .root_id("rate_limit")
        .plugin_config(r#"{"capacity": 0}"#)
        .build()
        .expect_err("must not configure");
    assert!(
        err.to_string().contains("\"capacity\" must be at least 1"),
        "{err}"
    );
}
