//! Scale curves of the harness: how time and host memory grow with the work.
//!
//! * **Bodies** 1 KiB → 16 MiB, request and response, through two body-reading filters:
//!   `reader` (WAT below: every body callback copies the whole chunk into guest memory with
//!   `proxy_get_buffer_bytes` and checks its length, then continues) and the real
//!   `redact-body` (buffers the whole response, then reads it whole and scans it; the body has
//!   no match, so nothing is written back).
//!   Expected: time and peak host memory linear in the body size.
//! * **Headers** 1 → 100 request headers through `reader` (reads every pair of both maps with
//!   `proxy_get_header_map_pairs`) and through add-header. Expected: a constant cost per header.
//! * **Live streams** 1 → 10,000 streams left open (request headers seen, no end of stream)
//!   on one host running add-header. Expected: host and guest memory per stream flat, and the
//!   time of a whole lifecycle (six callbacks) on a further stream independent of how many are
//!   open.
//!
//! Criterion measures each point (wall time); after the groups the bench measures every point
//! again in thread CPU time (so a machine shared with other work measures the harness, not the
//! scheduler), prints the slopes and the ratios, and **fails** when a curve is clearly super-linear (a ratio over [`LINEAR`]). Host
//! memory is counted exactly by a counting global allocator (the peak during one exchange, or
//! what the open streams hold), guest memory with [`Host::guest_memory_bytes`].

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;
use wasme_harness::{Host, Module};

/// A ratio above this (time or memory at the top of a curve over the linear prediction from
/// a lower point) fails the bench: linear work gives ~1.0, quadratic work gives the size ratio
/// (16× for 1 → 16 MiB).
const LINEAR: f64 = 2.0;

// ---- host memory: a counting allocator ----

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now =
                    LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak host heap above the level at the start.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let r = f();
    (r, PEAK.load(Relaxed).saturating_sub(base))
}

// ---- the filters ----

/// A body and header reader in WAT: bodies are copied into guest memory whole on every body
/// callback (and their length checked), header maps read whole on every header callback;
/// everything continues. `malloc` hands out one region at 64 KiB, grown as needed, reused by
/// every callback (each callback reads one buffer and drops it).
const READER: &str = r#"(module
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $get_pairs (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.add (i32.const 65536) (local.get $n)))
    (if (i32.gt_u (local.get $need) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq
                  (memory.grow (i32.sub (i32.shr_u (i32.add (local.get $need) (i32.const 65535)) (i32.const 16)) (memory.size)))
                  (i32.const -1))
              (then (return (i32.const 0))))))
    (i32.const 65536))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  ;; reads buffer `type` whole (size bytes), traps if the host handed over anything else
  (func $read_body (param $type i32) (param $size i32)
    (if (i32.ne (call $get_buffer (local.get $type) (i32.const 0) (local.get $size) (i32.const 8) (i32.const 12)) (i32.const 0))
      (then (if (i32.ne (local.get $size) (i32.const 0)) (then unreachable)) (return)))
    (if (i32.ne (i32.load (i32.const 12)) (local.get $size)) (then unreachable)))
  ;; reads header map `type` whole, traps on failure
  (func $read_pairs (param $type i32) (param $n i32)
    (if (i32.ne (call $get_pairs (local.get $type) (i32.const 8) (i32.const 12)) (i32.const 0))
      (then unreachable))
    ;; the serialized map starts with its pair count
    (if (i32.ne (i32.load (i32.load (i32.const 8))) (local.get $n)) (then unreachable)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $read_pairs (i32.const 0) (local.get 1)) (i32.const 0))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (call $read_body (i32.const 0) (local.get 1)) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (call $read_pairs (i32.const 2) (local.get 1)) (i32.const 0))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (call $read_body (i32.const 1) (local.get 1)) (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))"#;

fn filter_bytes(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../filters")
        .join(name);
    let wasm = wasme_harness::build::build_filter(&dir, None).expect("the filter builds");
    std::fs::read(wasm).expect("module readable")
}

fn reader_host(module: &Module) -> Host {
    Host::builder(module).build().expect("the reader starts")
}

const REDACT_CONFIG: &str =
    r#"{"patterns": ["sk_live_\\w+"], "content_types": [], "max_body_bytes": 33554432}"#;

fn redact_host(module: &Module) -> Host {
    Host::builder(module)
        .plugin_config(REDACT_CONFIG)
        .build()
        .expect("redact-body starts")
}

fn add_header_host(module: &Module) -> Host {
    Host::builder(module)
        .root_id("add_header")
        .plugin_config("bench")
        .build()
        .expect("add-header starts")
}

// ---- the work ----

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// Body sizes of the curve.
const BODY_SIZES: [usize; 6] = [KIB, 16 * KIB, 256 * KIB, MIB, 4 * MIB, 16 * MIB];
/// Body chunk size: what Envoy's HTTP/1 codec hands a filter at a time (its read buffer is
/// 16 KiB; 64 KiB keeps the 16 MiB point at 256 callbacks per direction).
const CHUNK: usize = 64 * KIB;

const REQUEST: [(&str, &str); 3] = [
    (":method", "POST"),
    (":path", "/upload"),
    (":authority", "example.com"),
];
const RESPONSE: [(&str, &str); 2] = [(":status", "200"), ("content-type", "text/plain")];

/// One exchange with a `len`-byte request body and a `len`-byte response body, both in
/// [`CHUNK`]-sized chunks; returns the body length the client received.
fn body_exchange(host: &mut Host, body: &[u8], request_too: bool) -> usize {
    let mut s = host.http_stream().expect("stream");
    s.request_headers(&REQUEST, !request_too)
        .expect("request headers");
    if request_too {
        let mut chunks = body.chunks(CHUNK).peekable();
        while let Some(c) = chunks.next() {
            s.request_body(c, chunks.peek().is_none())
                .expect("request body");
        }
    }
    s.response_headers(&RESPONSE, false)
        .expect("response headers");
    let mut chunks = body.chunks(CHUNK).peekable();
    while let Some(c) = chunks.next() {
        s.response_body(c, chunks.peek().is_none())
            .expect("response body");
    }
    let ex = s.into_exchange().expect("exchange ends");
    assert!(
        ex.local_reply.is_none() && ex.reset.is_none(),
        "the body went through"
    );
    ex.client_response.body.len()
}

/// A body of `len` bytes of text (no match for redact-body's pattern).
fn body(len: usize) -> Vec<u8> {
    b"lorem ipsum dolor sit amet, consectetur adipiscing elit\n"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// `n` request headers: the three pseudo-headers, then `x-bench-<i>` to make `n` in all (at
/// least the pseudo-headers).
fn headers(n: usize) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = REQUEST
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    h.truncate(n.max(1));
    for i in h.len()..n {
        h.push((format!("x-bench-{i}"), format!("value-{i}-0123456789")));
    }
    h
}

fn header_exchange(host: &mut Host, request: &[(String, String)]) {
    let mut s = host.http_stream().expect("stream");
    s.request_headers(request, true).expect("request headers");
    s.response_headers(&[(":status", "200")], true)
        .expect("response headers");
    s.finish().expect("finish");
}

const SHORT: [(&str, &str); 3] = [
    (":method", "GET"),
    (":path", "/"),
    (":authority", "example.com"),
];

/// A whole lifecycle (create, request headers, response headers, log, done, delete).
fn lifecycle(host: &mut Host) {
    let mut s = host.http_stream().expect("stream");
    s.request_headers(&SHORT, true).expect("request headers");
    s.response_headers(&[(":status", "200")], true)
        .expect("response headers");
    s.finish().expect("finish");
}

/// Opens `n` streams on `host` and leaves them live (request headers seen, the request not
/// ended); returns the host heap and guest memory they added.
fn open_streams(host: &mut Host, n: usize) -> (usize, usize) {
    let guest = host.guest_memory_bytes();
    let before = LIVE.load(Relaxed);
    for _ in 0..n {
        let mut s = host.http_stream().expect("stream");
        s.request_headers(&SHORT, false).expect("request headers");
        // Dropping the handle would end the stream (on_log, on_done, on_delete); forgetting it
        // leaves the stream live in the host, as a stream waiting for its body is in Envoy.
        // The handle itself owns nothing (a borrow, an id, a flag).
        std::mem::forget(s);
    }
    assert_eq!(host.live_stream_contexts(), n, "every stream is live");
    (
        LIVE.load(Relaxed).saturating_sub(before),
        host.guest_memory_bytes() - guest,
    )
}

/// CPU time of this thread (user + system), so the curves stay meaningful on a machine that
/// other work shares: wall time there measures the scheduler. Everything the harness does for
/// an exchange (wasmtime included) runs on the calling thread.
#[cfg(unix)]
fn thread_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the OS defines.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall time since the first call, where no thread CPU clock is at hand.
#[cfg(not(unix))]
fn thread_time() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// The best of `rounds` runs of `f`, each timed over `n` calls (thread CPU time), per call.
fn best_per_call(rounds: u32, n: u32, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = thread_time();
            for _ in 0..n {
                f();
            }
            (thread_time() - t) / n
        })
        .min()
        .unwrap_or_default()
}

// ---- the checks ----

/// Failed checks, reported together at the end.
#[derive(Default)]
struct Verdicts(Vec<String>);

impl Verdicts {
    /// Prints `what` with its ratio; a ratio over [`LINEAR`] is a failure.
    fn ratio(&mut self, what: &str, ratio: f64) {
        let ok = ratio <= LINEAR;
        println!(
            "  {what}: {ratio:.2}× the linear prediction{}",
            if ok { "" } else { "  <-- SUPER-LINEAR" }
        );
        if !ok {
            self.0.push(format!("{what}: {ratio:.2}×"));
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Keeps glibc from handing large blocks back to the OS between exchanges. By default a
/// freed block above the (dynamic) mmap threshold, or a heap top above the trim threshold,
/// goes back to the kernel, and the next exchange of that size faults every page in again:
/// measured on 2026-12-07, that made a 16 MiB exchange cost 3.1× sixteen 1 MiB ones (1.56×
/// with this setting, the rest being caches). The curves are about the harness's own work.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator tunables; both values are in their valid ranges
    // (the mmap threshold's maximum is 32 MiB on 64-bit targets).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn benches(c: &mut Criterion) {
    keep_freed_memory();
    let reader = Module::from_bytes(READER).expect("the reader compiles");
    let redact = Module::from_bytes(filter_bytes("redact-body")).expect("redact-body compiles");
    let add_header = Module::from_bytes(filter_bytes("add-header")).expect("add-header compiles");
    let bodies: Vec<Vec<u8>> = BODY_SIZES.iter().map(|&n| body(n)).collect();

    // Bodies.
    let mut g = c.benchmark_group("body");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    for b in &bodies {
        let len = b.len();
        g.throughput(Throughput::Bytes(2 * len as u64));
        let mut host = reader_host(&reader);
        g.bench_with_input(
            BenchmarkId::new("reader_request_and_response", len),
            b,
            |x, b| x.iter(|| body_exchange(&mut host, black_box(b), true)),
        );
        g.throughput(Throughput::Bytes(len as u64));
        let mut host = redact_host(&redact);
        g.bench_with_input(BenchmarkId::new("redact_body_response", len), b, |x, b| {
            x.iter(|| body_exchange(&mut host, black_box(b), false))
        });
    }
    g.finish();

    // Headers.
    let counts = [1usize, 10, 25, 50, 100];
    let mut g = c.benchmark_group("headers");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    for &n in &counts {
        let h = headers(n);
        g.throughput(Throughput::Elements(n as u64));
        let mut host = reader_host(&reader);
        g.bench_with_input(BenchmarkId::new("reader", n), &h, |x, h| {
            x.iter(|| header_exchange(&mut host, h))
        });
        let mut host = add_header_host(&add_header);
        g.bench_with_input(BenchmarkId::new("add_header", n), &h, |x, h| {
            x.iter(|| header_exchange(&mut host, h))
        });
    }
    g.finish();

    // Live streams.
    let live = [1usize, 100, 1_000, 10_000];
    let mut g = c.benchmark_group("streams");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));
    for &n in &live {
        let mut host = add_header_host(&add_header);
        open_streams(&mut host, n);
        g.bench_function(BenchmarkId::new("lifecycle_with_live_streams", n), |x| {
            x.iter(|| lifecycle(&mut host))
        });
    }
    g.finish();

    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    summary(&reader, &redact, &add_header, &bodies);
}

/// The curves' points again, interleaved, with slopes and ratios printed and checked.
fn summary(reader: &Module, redact: &Module, add_header: &Module, bodies: &[Vec<u8>]) {
    let mut verdicts = Verdicts::default();

    println!("\nscale: bodies (best of 5, chunks of {} KiB)", CHUNK / KIB);
    let mut reader_t = vec![Duration::MAX; bodies.len()];
    let mut redact_t = vec![Duration::MAX; bodies.len()];
    for _ in 0..5 {
        for (i, b) in bodies.iter().enumerate() {
            let n = (16 * MIB / b.len()).clamp(1, 256) as u32;
            let mut host = reader_host(reader);
            reader_t[i] = reader_t[i].min(best_per_call(1, n, || {
                black_box(body_exchange(&mut host, b, true));
            }));
            let mut host = redact_host(redact);
            redact_t[i] = redact_t[i].min(best_per_call(1, n, || {
                black_box(body_exchange(&mut host, b, false));
            }));
        }
    }
    println!(
        "  | body | reader (req + resp) | MB/s | peak host heap | redact-body (resp) | MB/s | peak host heap | guest memory |"
    );
    let mut reader_heap = Vec::new();
    let mut redact_heap = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        let len = b.len();
        let mut host = reader_host(reader);
        let (got, rh) = peak_during(|| body_exchange(&mut host, b, true));
        assert_eq!(got, len, "the reader forwarded the whole body");
        let mut host = redact_host(redact);
        let guest0 = host.guest_memory_bytes();
        let (got, dh) = peak_during(|| body_exchange(&mut host, b, false));
        assert_eq!(got, len, "redact-body forwarded the whole body");
        let guest = host.guest_memory_bytes() - guest0;
        reader_heap.push(rh);
        redact_heap.push(dh);
        println!(
            "  | {} KiB | {:.3} ms | {:.0} | {:.2}× body | {:.3} ms | {:.0} | {:.2}× body | +{} KiB |",
            len / KIB,
            secs(reader_t[i]) * 1e3,
            2.0 * len as f64 / secs(reader_t[i]) / 1e6,
            rh as f64 / len as f64,
            secs(redact_t[i]) * 1e3,
            len as f64 / secs(redact_t[i]) / 1e6,
            dh as f64 / len as f64,
            guest / KIB,
        );
    }
    // Slopes from 1 MiB to 16 MiB (index 3 → 5), and 16 MiB against 16 × 1 MiB.
    let (lo, hi) = (3, 5);
    let span = (bodies[hi].len() - bodies[lo].len()) as f64;
    let factor = bodies[hi].len() as f64 / bodies[lo].len() as f64;
    for (name, t, heap, bytes_per) in [
        ("reader", &reader_t, &reader_heap, 2.0),
        ("redact-body", &redact_t, &redact_heap, 1.0),
    ] {
        let slope = (secs(t[hi]) - secs(t[lo])) / (span * bytes_per);
        println!(
            "  {name}: slope {:.3} ns/byte ({:.0} MB/s marginal), host heap slope {:.2} B/byte",
            slope * 1e9,
            1e-6 / slope,
            (heap[hi] as f64 - heap[lo] as f64) / (span * bytes_per),
        );
        verdicts.ratio(
            &format!("{name} time, 16 MiB vs 16 × 1 MiB"),
            secs(t[hi]) / (factor * secs(t[lo])),
        );
        verdicts.ratio(
            &format!("{name} peak host heap, 16 MiB vs 16 × 1 MiB"),
            heap[hi] as f64 / (factor * heap[lo].max(1) as f64),
        );
    }

    println!("\nscale: request headers (best of 5)");
    let counts = [1usize, 10, 25, 50, 100];
    let mut reader_h = vec![Duration::MAX; counts.len()];
    let mut add_h = vec![Duration::MAX; counts.len()];
    let lists: Vec<_> = counts.iter().map(|&n| headers(n)).collect();
    let mut rh = reader_host(reader);
    let mut ah = add_header_host(add_header);
    for _ in 0..5 {
        for (i, h) in lists.iter().enumerate() {
            reader_h[i] = reader_h[i].min(best_per_call(1, 2_000, || header_exchange(&mut rh, h)));
            add_h[i] = add_h[i].min(best_per_call(1, 2_000, || header_exchange(&mut ah, h)));
        }
    }
    println!("  | headers | reader | add-header |");
    for (i, n) in counts.iter().enumerate() {
        println!(
            "  | {n} | {:.2} µs | {:.2} µs |",
            secs(reader_h[i]) * 1e6,
            secs(add_h[i]) * 1e6
        );
    }
    let last = counts.len() - 1;
    for (name, t) in [("reader", &reader_h), ("add-header", &add_h)] {
        // Per-header cost over the first half of the curve and over the second, and the time
        // at 100 headers against the straight line through 1 and 50 headers.
        let first = (secs(t[3]) - secs(t[0])) / (counts[3] - counts[0]) as f64;
        let second = (secs(t[last]) - secs(t[3])) / (counts[last] - counts[3]) as f64;
        println!(
            "  {name}: {:.1} ns per header (1 → 50), {:.1} ns per header (50 → 100)",
            first * 1e9,
            second * 1e9
        );
        let line = secs(t[3]) + first * (counts[last] - counts[3]) as f64;
        verdicts.ratio(
            &format!("{name} time at 100 headers vs the line through 1 and 50"),
            secs(t[last]) / line,
        );
    }

    println!("\nscale: live streams on one add-header host (best of 5)");
    let live = [1usize, 100, 1_000, 10_000];
    let mut hosts = Vec::new();
    println!("  | live streams | host heap per stream | guest memory per stream |");
    for &n in &live {
        let mut host = add_header_host(add_header);
        let (heap, guest) = open_streams(&mut host, n);
        println!(
            "  | {n} | {:.0} B | {:.0} B |",
            heap as f64 / n as f64,
            guest as f64 / n as f64
        );
        hosts.push((n, host, heap));
    }
    let mut times = vec![Duration::MAX; live.len()];
    for _ in 0..5 {
        for (i, (_, host, _)) in hosts.iter_mut().enumerate() {
            times[i] = times[i].min(best_per_call(1, 5_000, || lifecycle(host)));
        }
    }
    println!("  | live streams | lifecycle (6 callbacks) | per callback |");
    for (i, &n) in live.iter().enumerate() {
        println!(
            "  | {n} | {:.3} µs | {:.0} ns |",
            secs(times[i]) * 1e6,
            secs(times[i]) * 1e9 / 6.0
        );
    }
    verdicts.ratio(
        "lifecycle time with 10,000 live streams vs 1",
        secs(times[3]) / secs(times[0]),
    );
    let per = |i: usize| hosts[i].2 as f64 / hosts[i].0 as f64;
    verdicts.ratio(
        "host heap per stream, 10,000 vs 1,000 live",
        per(3) / per(2),
    );

    assert!(
        verdicts.0.is_empty(),
        "super-linear curves: {}",
        verdicts.0.join("; ")
    );
}

criterion_group!(scale_benches, benches);
criterion_main!(scale_benches);
