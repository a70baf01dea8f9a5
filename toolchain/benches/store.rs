//! Store and packaging scale benchmarks (issue 23): the real `cargo-wasme` binary against
//! stores of 1,000 and 10,000 images (`images`, `tag`, `rmi` + garbage collection: each under
//! 1 s at 10,000, and linear, not quadratic, in the number of images), listing that never
//! reads a layer (a store whose one image has a 100 MiB layer lists as fast as one with a
//! 1 KiB layer), and the peak memory of `package` against the module size (10 MiB vs 100 MiB
//! modules: their ratio, checked <= 1.25, and the slope in bytes of RSS per byte of module),
//! with `package`'s time beside GNU tar | gzip -9 doing the same compression in the same run.
//!
//! Run: `cargo bench -p cargo-wasme --bench store`. After criterion's groups, the same
//! comparisons run once more, interleaved, and are printed and checked:
//! `images` at 10,000 < 1 s, its 10,000/1,000 ratio < 20 (linear is 10), `tag` and `rmi`
//! at 10,000 < 1 s, listing a 100 MiB image within 2× of listing a 1 KiB one.

#[path = "rss.rs"]
mod rss;
#[path = "../tests/all/support/mod.rs"]
mod support;

use cargo_wasme::image::{self, BuiltImage, Format, ImageSpec};
use cargo_wasme::store::Store;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::path::Path;
use std::time::{Duration, Instant};
use support::TestEnv;

/// A small valid compat image, distinct per `n` (its root id differs).
fn small(n: usize) -> BuiltImage {
    image::build(
        &support::filter_module(1),
        &ImageSpec::new(
            Format::Compat,
            vec!["v0.2.1".into()],
            vec![format!("root_{n}")],
        ),
    )
    .expect("builds")
}

/// An env whose store holds `n` distinct images `img-<i>:1`.
fn store_of(n: usize) -> TestEnv {
    let env = TestEnv::new();
    let store = Store::open(env.store()).expect("store opens");
    let images: Vec<(String, BuiltImage)> =
        (0..n).map(|i| (format!("img-{i}:1"), small(i))).collect();
    let refs: Vec<(&str, &BuiltImage)> = images.iter().map(|(r, i)| (r.as_str(), i)).collect();
    store.add_all(&refs).expect("stored");
    env
}

fn run(env: &TestEnv, args: &[&str]) {
    let out = env.cmd().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn time(env: &TestEnv, args: &[&str]) -> Duration {
    let t = Instant::now();
    run(env, args);
    t.elapsed()
}

/// The best of `rounds` runs.
fn best(rounds: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..rounds).map(|_| f()).min().unwrap_or_default()
}

/// `rmi` of a fresh tag (made outside the timing) of an image that keeps another name, so
/// every round does the same work: untag, then garbage-collect a store of `n` images.
fn rmi_round(env: &TestEnv, k: usize) -> Duration {
    let name = format!("extra-{k}:1");
    run(env, &["tag", "img-0:1", &name]);
    time(env, &["rmi", &name])
}

/// Peak RSS (KiB) of `cargo-wasme args…` in `env`.
fn peak_rss_kib(env: &TestEnv, args: &[&str]) -> i64 {
    let mut cmd = env.cmd();
    cmd.args(args);
    rss::run_measured(&cmd)
}

/// A module of `size` bytes: a valid filter plus one custom section of incompressible bytes
/// (as the measurement: a 100 MiB module that gzip cannot shrink).
fn module_of(size: usize) -> Vec<u8> {
    let mut module = support::filter_module(5);
    let name = b"pad";
    let payload = size.saturating_sub(module.len() + 16);
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    let mut state = 0x9e37_79b9_u32;
    section.extend((0..payload).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as u8
    }));
    module.push(0); // custom section id
    let mut len = section.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            module.push(byte);
            break;
        }
        module.push(byte | 0x80);
    }
    module.extend(section);
    module
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("writes");
    path.to_string_lossy().into_owned()
}

fn benches(c: &mut Criterion) {
    // `WASME_BENCH_IMAGES` shrinks the stores for a quick run (default 10,000 and a tenth).
    let big_n: usize = std::env::var("WASME_BENCH_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let small_store = store_of(big_n / 10);
    let big_store = store_of(big_n);

    let mut g = c.benchmark_group("store");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("images_1000", |b| b.iter(|| run(&small_store, &["images"])));
    g.bench_function("images_10000", |b| b.iter(|| run(&big_store, &["images"])));
    let mut k = 0;
    g.bench_function("tag_10000", |b| {
        b.iter(|| {
            k += 1;
            run(&big_store, &["tag", "img-1:1", &format!("t-{k}:1")])
        })
    });
    g.bench_function("rmi_gc_10000", |b| {
        b.iter_batched(
            || {
                k += 1;
                let name = format!("r-{k}:1");
                run(&big_store, &["tag", "img-2:1", &name]);
                name
            },
            |name| run(&big_store, &["rmi", &name]),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // Listing does not read layers: one image with a 100 MiB layer vs one with a tiny one.
    let tiny = TestEnv::new();
    let large = TestEnv::new();
    let tiny_wasm = write(tiny.dir.path(), "m.wasm", &module_of(1024));
    let large_wasm = write(large.dir.path(), "m.wasm", &module_of(100 << 20));
    run(&tiny, &["package", &tiny_wasm, "--tag", "m:1"]);
    run(&large, &["package", &large_wasm, "--tag", "m:1"]);
    let mut g = c.benchmark_group("listing");
    g.sample_size(10);
    g.bench_function("images_1kib_module", |b| b.iter(|| run(&tiny, &["images"])));
    g.bench_function("images_100mib_module", |b| {
        b.iter(|| run(&large, &["images"]))
    });
    g.finish();

    // The same, interleaved, with the targets checked.
    let mut n = 0;
    let images_1k = best(5, || time(&small_store, &["images"]));
    let images_10k = best(5, || time(&big_store, &["images"]));
    let tag_10k = best(5, || {
        n += 1;
        time(&big_store, &["tag", "img-3:1", &format!("u-{n}:1")])
    });
    let rmi_10k = best(5, || {
        n += 1;
        rmi_round(&big_store, n)
    });
    let list_tiny = best(5, || time(&tiny, &["images"]));
    let list_large = best(5, || time(&large, &["images"]));
    let ratio = images_10k.as_secs_f64() / images_1k.as_secs_f64();
    println!(
        "store: images {} {images_1k:?}, {big_n} {images_10k:?} (ratio {ratio:.2}, linear is \
         10; {:.1} µs per image); tag at {big_n} {tag_10k:?}; rmi + gc at {big_n} {rmi_10k:?}",
        big_n / 10,
        images_10k.saturating_sub(images_1k).as_secs_f64() * 1e6 / (big_n - big_n / 10) as f64
    );
    println!(
        "listing: one image with a 1 KiB module {list_tiny:?}, with a 100 MiB module \
         {list_large:?} (ratio {:.2})",
        list_large.as_secs_f64() / list_tiny.as_secs_f64()
    );
    // Peak memory of `package` against the module size.
    let mut rss = Vec::new();
    // `WASME_BENCH_PACKAGE_MIB=small,large` (default 10,100).
    let sizes: Vec<usize> = std::env::var("WASME_BENCH_PACKAGE_MIB")
        .unwrap_or_else(|_| "10,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let mut package_times = Vec::new();
    for &mib in &sizes[..2] {
        let env = TestEnv::new();
        let wasm = write(env.dir.path(), "m.wasm", &module_of(mib << 20));
        let started = Instant::now();
        let kib = peak_rss_kib(&env, &["package", &wasm, "--tag", "m:1"]);
        let ours = started.elapsed();
        // The same bytes through GNU tar and gzip -9 (the work `package` does: a tar of the
        // module, deflated at level 9), in the same run.
        let started = Instant::now();
        let status = std::process::Command::new("bash")
            .arg("-c")
            .arg("tar -cf - -C \"$0\" m.wasm | gzip -9 > /dev/null")
            .arg(env.dir.path())
            .status()
            .expect("tar | gzip runs");
        assert!(status.success(), "tar | gzip -9 failed");
        package_times.push((mib, ours, started.elapsed()));
        rss.push((mib, kib));
    }
    let slope = (rss[1].1 - rss[0].1) as f64 / ((rss[1].0 - rss[0].0) as f64 * 1024.0);
    let rss_ratio = rss[1].1 as f64 / rss[0].1 as f64;
    println!(
        "package: peak RSS {} MiB for a {} MiB module, {} MiB for {} MiB: ratio {rss_ratio:.2}, \
         {slope:.3} bytes of RSS per byte of module (flat: ratio <= 1.25)",
        rss[0].1 / 1024,
        rss[0].0,
        rss[1].1 / 1024,
        rss[1].0
    );
    for (mib, ours, baseline) in &package_times {
        println!(
            "package {mib} MiB: {ours:.2?}, tar | gzip -9 {baseline:.2?} (ratio {:.2})",
            ours.as_secs_f64() / baseline.as_secs_f64()
        );
    }
    // Checked last, so every number above is printed even when a target is missed.
    assert!(images_10k < Duration::from_secs(1), "images at {big_n}");
    assert!(tag_10k < Duration::from_secs(1), "tag at {big_n}");
    assert!(rmi_10k < Duration::from_secs(1), "rmi + gc at {big_n}");
    assert!(
        ratio < 20.0,
        "images grows faster than linearly: {ratio:.2}"
    );
    assert!(
        list_large.as_secs_f64() < 2.0 * list_tiny.as_secs_f64() + 0.02,
        "listing reads the layer"
    );
    assert!(
        rss_ratio <= 1.25,
        "package's peak memory grows with the module: {rss_ratio:.2}"
    );
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
