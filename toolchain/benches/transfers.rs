//! Registry transfer benchmarks (issue 23 item 3): `push` and `pull` of a 100 MiB
//! incompressible layer on loopback against Debian's `docker-registry`, each beside `curl`
//! moving the same bytes in the same run (target: within 1.5× of curl), and the peak RSS of
//! the `cargo-wasme` process for a 10 MiB and a 100 MiB layer (target: independent of the
//! layer size: the 100 MiB / 10 MiB ratio of each peak is checked to be <= 1.25 after
//! everything is printed; measured with GNU `time`'s `%M`, see `rss.rs`, beside curl's).
//!
//! curl's push is the spec's monolithic upload (`POST` then one `PUT` with the whole blob);
//! its pull downloads the layer blob to `/dev/null`. cargo-wasme's push is chunked (4 MiB
//! `PATCH`es, resumable) and reads the blob from the store; its pull fetches the manifest,
//! config and layer, verifies every digest, writes the store and decodes the image.
//!
//! Run: `TMPDIR=/dev/shm cargo bench -p cargo-wasme --bench transfers` (needs docker-registry
//! and curl; about 1 GiB of scratch space for the images, the registry's storage and the
//! stores pulled into, which a tmpfs keeps off a small disk).

#[path = "rss.rs"]
mod rss;
#[path = "../tests/all/support/mod.rs"]
mod support;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::TestEnv;

const MIB: usize = 1024 * 1024;

/// A valid filter module of about `size` bytes: a small proxy-wasm module followed by a
/// custom section of pseudo-random (incompressible) bytes.
fn module_of(size: usize) -> Vec<u8> {
    let mut wasm = support::filter_module(11);
    let payload = size.saturating_sub(wasm.len() + 16);
    let name = b"bench";
    let mut section = Vec::with_capacity(payload + 8);
    section.push(name.len() as u8);
    section.extend_from_slice(name);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    section.extend((0..payload).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u8
    }));
    wasm.push(0); // custom section id
    let mut len = section.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            wasm.push(byte);
            break;
        }
        wasm.push(byte | 0x80);
    }
    wasm.extend_from_slice(&section);
    wasm
}

/// The largest blob file in `env`'s store (the layer) and its digest.
fn layer_of(env: &TestEnv) -> (PathBuf, String) {
    let dir = env.store().join("blobs/sha256");
    let (path, _) = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            (e.path(), len)
        })
        .max_by_key(|(_, len)| *len)
        .unwrap();
    let digest = format!("sha256:{}", path.file_name().unwrap().to_string_lossy());
    (path, digest)
}

/// Runs `cmd` to completion; panics on failure; returns its peak RSS in KiB.
fn run_measured(cmd: Command) -> i64 {
    rss::run_measured(&cmd)
}

fn curl() -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-f", "-o", "/dev/null"]);
    cmd
}

/// curl's monolithic upload of `file` (blob `digest`) to `repo` on `registry`; returns the
/// peak RSS (KiB) of the upload.
fn curl_push(registry: &str, repo: &str, file: &Path, digest: &str) -> i64 {
    let out = Command::new("curl")
        .args(["-sS", "-f", "-D", "-", "-o", "/dev/null", "-X", "POST"])
        .arg(format!("http://{registry}/v2/{repo}/blobs/uploads/"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let head = String::from_utf8_lossy(&out.stdout);
    let location = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_string())
        })
        .unwrap();
    let location = if location.starts_with('/') {
        format!("http://{registry}{location}")
    } else {
        location
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let mut cmd = curl();
    cmd.args(["-X", "PUT", "-H", "Content-Type: application/octet-stream"])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{location}{sep}digest={digest}"));
    run_measured(cmd)
}

/// curl's download of blob `digest` of `repo` to /dev/null; returns its peak RSS (KiB).
fn curl_pull(registry: &str, repo: &str, digest: &str) -> i64 {
    let mut cmd = curl();
    cmd.arg(format!("http://{registry}/v2/{repo}/blobs/{digest}"));
    run_measured(cmd)
}

/// A criterion estimate (mean, ns) of `group/function` from this run.
fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .join("target/criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(std::env::var_os("CARGO_TARGET_DIR").map_or(dir, |t| {
        PathBuf::from(t)
            .join("criterion")
            .join(group)
            .join(function)
            .join("new/estimates.json")
    }))
    .ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn bench_transfers(c: &mut Criterion) {
    let registry = support::DockerRegistry::start();
    let env = TestEnv::new();
    let wasm = env.write_module("big.wasm", &module_of(100 * MIB));
    let local = format!("{}/transfer:1", registry.addr);
    env.ok(&["package", wasm.to_str().unwrap(), "--tag", &local]);
    env.ok(&["push", &local]);
    let (layer, digest) = layer_of(&env);
    let counter = AtomicUsize::new(0);
    let group_name = "transfer_100mib";
    let mut group = c.benchmark_group(group_name);
    // Each iteration takes about a second: ten samples of one iteration each.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("push_cargo_wasme", |b| {
        b.iter(|| {
            // A new repository each time, so the layer is really uploaded.
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut cmd = env.cmd();
            cmd.args(["push", &local, &format!("{}/w{n}:1", registry.addr)]);
            run_measured(cmd)
        })
    });
    group.bench_function("push_curl", |b| {
        b.iter(|| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            curl_push(&registry.addr, &format!("c{n}"), &layer, &digest);
        })
    });
    group.bench_function("pull_cargo_wasme", |b| {
        b.iter_batched(
            TestEnv::new,
            |fresh| {
                let mut cmd = fresh.cmd();
                cmd.args(["pull", &local]);
                run_measured(cmd);
                fresh
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("pull_curl", |b| {
        b.iter(|| curl_pull(&registry.addr, "transfer", &digest))
    });
    group.finish();
    // Peak memory: the 100 MiB image above and a 10 MiB one, cargo-wasme and curl.
    let small = TestEnv::new();
    let wasm = small.write_module("small.wasm", &module_of(10 * MIB));
    let small_local = format!("{}/small:1", registry.addr);
    small.ok(&["package", wasm.to_str().unwrap(), "--tag", &small_local]);
    small.ok(&["push", &small_local]);
    let (small_layer, small_digest) = layer_of(&small);
    let mut rows = Vec::new();
    for (mib, env, local, layer, digest) in [
        (10, &small, &small_local, &small_layer, &small_digest),
        (100, &env, &local, &layer, &digest),
    ] {
        let (push, pull) = peak_rss(env, &registry.addr, local, &format!("m{mib}"));
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let curl_push_kib = curl_push(&registry.addr, &format!("cm{n}"), layer, digest);
        let repo = local
            .split_once('/')
            .and_then(|(_, r)| r.split_once(':'))
            .map_or("transfer", |(r, _)| r);
        let curl_pull_kib = curl_pull(&registry.addr, repo, digest);
        rows.push(Memory {
            mib,
            push,
            pull,
            curl_push: curl_push_kib,
            curl_pull: curl_pull_kib,
        });
    }
    let flat = report_memory(&rows);
    for op in ["push", "pull"] {
        let ours = mean_ns(group_name, &format!("{op}_cargo_wasme"));
        let theirs = mean_ns(group_name, &format!("{op}_curl"));
        if let (Some(ours), Some(theirs)) = (ours, theirs) {
            let ratio = ours / theirs;
            eprintln!(
                "{op} 100 MiB: cargo-wasme {:.3} s, curl {:.3} s, ratio {ratio:.2} (target <= 1.5): {}",
                ours / 1e9,
                theirs / 1e9,
                if ratio <= 1.5 { "ok" } else { "OVER" }
            );
        }
    }
    // Checked after every number is printed.
    assert!(flat, "peak memory grows with the layer size");
}

/// Peak RSS (KiB) of a `push` of `local` to a new repository and of a `pull` of it into an
/// empty store.
fn peak_rss(env: &TestEnv, registry: &str, local: &str, repo: &str) -> (i64, i64) {
    let mut push = env.cmd();
    push.args(["push", local, &format!("{registry}/{repo}:1")]);
    let push_kib = run_measured(push);
    let fresh = TestEnv::new();
    let mut pull = fresh.cmd();
    pull.args(["pull", local]);
    (push_kib, run_measured(pull))
}

/// Peak RSS (KiB) of each transfer of one layer size.
struct Memory {
    mib: usize,
    push: i64,
    pull: i64,
    curl_push: i64,
    curl_pull: i64,
}

/// The most the 100 MiB transfer's peak RSS may exceed the 10 MiB one's: flat, give or take
/// allocator noise.
const FLAT: f64 = 1.25;

/// Prints the peak RSS of `push` and `pull` (and curl's) for a 10 MiB and a 100 MiB layer,
/// and the 100 MiB / 10 MiB ratios; whether both are within [`FLAT`].
fn report_memory(rows: &[Memory]) -> bool {
    let mib = |kib: i64| kib as f64 / 1024.0;
    for r in rows {
        eprintln!(
            "peak RSS, {} MiB layer: push {:.1} MiB (curl {:.1}), pull {:.1} MiB (curl {:.1})",
            r.mib,
            mib(r.push),
            mib(r.curl_push),
            mib(r.pull),
            mib(r.curl_pull)
        );
    }
    let [small, large] = rows else { return false };
    let push = large.push as f64 / small.push as f64;
    let pull = large.pull as f64 / small.pull as f64;
    eprintln!(
        "peak RSS 100 MiB / 10 MiB layer: push {push:.2}, pull {pull:.2} (curl {:.2}, {:.2}; \
         target <= {FLAT}: flat)",
        large.curl_push as f64 / small.curl_push as f64,
        large.curl_pull as f64 / small.curl_pull as f64,
    );
    push <= FLAT && pull <= FLAT
}

criterion_group!(benches, bench_transfers);
criterion_main!(benches);
