//! Packaging benchmarks: no-op rebuild of an unchanged filter (target < 1 s), push and pull of
//! a 1 MiB module to a loopback docker-registry (target < 0.5 s each), and the image's size
//! overhead over the raw module (target < 1 KiB + gzip of the module, printed once).
//!
//! Run: `cargo bench -p cargo-wasme --bench packaging` (needs docker-registry and cargo).

#[path = "../tests/all/support/mod.rs"]
mod support;

use cargo_wasme::image::{self, Format, ImageSpec};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::TestEnv;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(".."))
}

fn build(env: &TestEnv) {
    let out = env
        .cmd()
        .arg("build")
        .arg("-p")
        .arg("add-header")
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(workspace().join("target/wasm"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn bench_rebuild(c: &mut Criterion) {
    let env = TestEnv::new();
    build(&env); // warm: compile and optimise once
    let mut group = c.benchmark_group("build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("noop_rebuild_add_header", |b| b.iter(|| build(&env)));
    group.finish();
}

fn bench_registry(c: &mut Criterion) {
    let registry = support::DockerRegistry::start();
    let env = TestEnv::new();
    let module = support::big_module(1024 * 1024);
    let wasm = env.write_module("big.wasm", &module);
    let local = format!("{}/bench:1", registry.addr);
    env.ok(&["package", wasm.to_str().unwrap(), "--tag", &local]);
    env.ok(&["push", &local]);
    let counter = AtomicUsize::new(0);
    let mut group = c.benchmark_group("registry");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("push_1mib_new_repository", |b| {
        b.iter(|| {
            // A new repository each time, so every blob is really uploaded.
            let n = counter.fetch_add(1, Ordering::SeqCst);
            env.ok(&["push", &local, &format!("{}/bench-{n}:1", registry.addr)]);
        })
    });
    group.bench_function("pull_1mib_into_empty_store", |b| {
        b.iter_batched(
            TestEnv::new,
            |fresh| {
                fresh.ok(&["pull", &local]);
                fresh
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    // Size overhead (printed, not timed).
    let built = image::build(
        &module,
        &ImageSpec::new(Format::Compat, vec!["v0.2.1".into()], vec!["x".into()]),
    )
    .unwrap();
    let total: usize = built.manifest.len() + built.blobs.values().map(Vec::len).sum::<usize>();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    gz.write_all(&module).unwrap();
    let gzip = gz.finish().unwrap().len();
    eprintln!(
        "image size: module {} B, gzip(module) {} B, image (manifest+config+layer) {} B, overhead over gzip {} B (target < 1024 B)",
        module.len(),
        gzip,
        total,
        total as i64 - gzip as i64
    );
}

criterion_group!(benches, bench_rebuild, bench_registry);
criterion_main!(benches);
