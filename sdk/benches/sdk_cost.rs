//! What wasme-sdk costs: the same filter (add-header) written with the SDK and on the raw
//! `proxy-wasm` crate (`filters/add-header-raw`), compared on harness request throughput and
//! module size (release build, and after `wasm-opt -O` when binaryen is installed).
//!
//! Run with `cargo bench -p wasme-sdk --bench sdk_cost`; sizes are printed before the timings.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use wasme_harness::build::build_filter;
use wasme_harness::{Host, HttpRequest, HttpResponse, Module};

const CONFIG: &str = r#"{"name": "x-demo", "value": "1"}"#;

fn filters() -> [(&'static str, PathBuf); 2] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
    let build = |name: &str| {
        build_filter(root.join(name), None).unwrap_or_else(|e| panic!("building {name}: {e}"))
    };
    [
        ("add-header (wasme-sdk)", build("add-header")),
        ("add-header-raw (proxy-wasm)", build("add-header-raw")),
    ]
}

/// The size after `wasm-opt -O`, or `None` when wasm-opt is not installed.
fn optimized_size(wasm: &Path) -> Option<u64> {
    let out = std::env::temp_dir().join(format!(
        "sdk-cost-{}-{}",
        std::process::id(),
        wasm.file_name()?.to_string_lossy()
    ));
    let ok = Command::new("wasm-opt")
        .arg("-O")
        .arg(wasm)
        .arg("-o")
        .arg(&out)
        .status()
        .ok()?
        .success();
    let size = ok
        .then(|| std::fs::metadata(&out).ok().map(|m| m.len()))
        .flatten();
    let _ = std::fs::remove_file(&out);
    size
}

fn report_sizes(filters: &[(&str, PathBuf)]) {
    eprintln!("module sizes (bytes):");
    for (name, wasm) in filters {
        let release = std::fs::metadata(wasm).map(|m| m.len()).unwrap_or(0);
        let opt =
            optimized_size(wasm).map_or("n/a (wasm-opt not found)".to_string(), |s| s.to_string());
        eprintln!("  {name:<30} release {release:>8}   wasm-opt -O {opt:>8}");
    }
}

fn sdk_cost(c: &mut Criterion) {
    let filters = filters();
    report_sizes(&filters);
    let request = HttpRequest::get("/path").header("x-request-id", "1");
    let response = HttpResponse::ok()
        .header("content-type", "text/plain")
        .body("hello");
    let mut group = c.benchmark_group("sdk_cost/http_exchange");
    group.throughput(Throughput::Elements(1));
    for (name, wasm) in &filters {
        let module = Module::from_file(wasm).expect("module loads");
        let mut host = Host::builder(&module)
            .root_id("add_header")
            .plugin_config(CONFIG)
            .build()
            .expect("configures");
        let check = host.http_exchange(&request, &response).expect("exchange");
        assert_eq!(check.client_response.header("x-demo"), Some("1"), "{name}");
        group.bench_function(*name, |b| {
            b.iter(|| black_box(host.http_exchange(&request, &response).expect("exchange")))
        });
    }
    group.finish();
}

criterion_group!(benches, sdk_cost);
criterion_main!(benches);
