//! Benchmarks: cold compile of add-header, a new host from a compiled module (instantiate,
//! start, configure), and a full HTTP lifecycle through add-header.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use wasme_harness::{Host, Module};

fn add_header_bytes() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/add-header");
    let wasm = wasme_harness::build::build_filter(&dir, None).expect("add-header builds");
    std::fs::read(wasm).expect("module readable")
}

fn benches(c: &mut Criterion) {
    let bytes = add_header_bytes();

    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    g.bench_function("add_header_cold_compile", |b| {
        b.iter(|| Module::compile_uncached(black_box(&bytes)).expect("compiles"))
    });
    g.finish();

    let module = Module::from_bytes(&bytes).expect("compiles");
    c.bench_function("new_host_instantiate_start_configure", |b| {
        b.iter(|| {
            Host::builder(&module)
                .root_id("add_header")
                .plugin_config("bench")
                .build()
                .expect("host starts")
        })
    });

    let mut host = Host::builder(&module)
        .root_id("add_header")
        .plugin_config("bench")
        .build()
        .expect("host starts");
    let request = [
        (":method", "GET"),
        (":path", "/"),
        (":authority", "example.com"),
    ];
    let response = [(":status", "200")];
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add_header_full_lifecycle", |b| {
        b.iter(|| {
            let mut s = host.http_stream().expect("stream");
            s.request_headers(&request, true).expect("request headers");
            s.response_headers(&response, true)
                .expect("response headers");
            s.finish().expect("finish");
        })
    });
    g.finish();
    // The header really was added on this path.
    let mut s = host.http_stream().expect("stream");
    s.request_headers(&request, true).expect("request headers");
    s.response_headers(&response, true)
        .expect("response headers");
    assert_eq!(
        s.client_response()
            .and_then(|m| m.header("hello").map(str::to_string)),
        Some("bench".to_string())
    );
}

criterion_group!(host_benches, benches);
criterion_main!(host_benches);
