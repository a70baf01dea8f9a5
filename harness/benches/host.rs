//! Benchmarks: cold compile of add-header, a new host from a compiled module (instantiate,
//! start, configure), and a full HTTP lifecycle through add-header — measured against a
//! do-nothing host in the same run.
//!
//! The do-nothing host ([`Baseline`]) instantiates the very same compiled module (same engine,
//! same configuration) with every import a typed stub returning 0, and drives the same callback
//! sequence: it is wasmtime's floor for this module. Only `proxy_get_buffer_bytes` answers,
//! and only with the plugin configuration at start-up, so the filter configures and the
//! measured stream path runs the same guest code as under the real host. The bench prints our
//! lifecycle cost as a ratio to it.
//!
//! The `fuzz` group runs `wasme_harness::fuzz` on add-header (generated exchanges, every
//! invariant checked) and prints its rate in exchanges/s next to the fixed lifecycle's, as a
//! ratio measured in the same run (the fuzzer's target: ≥ 50,000 exchanges/s on one core).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use wasme_harness::fuzz::{self, FuzzOptions, HostSpec, Limit};
use wasme_harness::{Host, Module};
use wasmtime::{Caller, Extern, Instance, Linker, Store, TypedFunc, Val, ValType};

const CONFIG: &str = "bench";

fn add_header_bytes() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/add-header");
    let wasm = wasme_harness::build::build_filter(&dir, None).expect("add-header builds");
    std::fs::read(wasm).expect("module readable")
}

/// Store data of the do-nothing host: only what start-up needs to hand over the configuration.
struct BaselineData {
    config: Option<Vec<u8>>,
}

/// A do-nothing host: the same compiled module, stub imports, the same callback sequence.
struct Baseline {
    store: Store<BaselineData>,
    on_context_create: TypedFunc<(u32, u32), ()>,
    on_request_headers: TypedFunc<(u32, u32, u32), u32>,
    on_response_headers: TypedFunc<(u32, u32, u32), u32>,
    on_log: TypedFunc<u32, ()>,
    on_done: TypedFunc<u32, u32>,
    on_delete: TypedFunc<u32, ()>,
    next_id: u32,
}

/// Links a typed stub returning 0 for every `(i32 × n) -> i32` import, `proc_exit`, and an
/// untyped one for anything else.
fn stub_imports(linker: &mut Linker<BaselineData>, module: &wasmtime::Module) {
    macro_rules! stub {
        ($m:expr, $n:expr, $($p:ident),*) => {
            linker
                .func_wrap($m, $n, |$(_: $p),*| -> u32 { 0 })
                .expect("stub links")
        };
    }
    for import in module.imports() {
        let (m, n) = (import.module(), import.name());
        if n == "proxy_get_buffer_bytes" {
            linker
                .func_wrap(m, n, configuration_only)
                .expect("stub links");
            continue;
        }
        let Some(f) = import.ty().func().cloned() else {
            continue;
        };
        let i32s = f.params().all(|p| matches!(p, ValType::I32));
        let results: Vec<ValType> = f.results().collect();
        let ret_i32 = results.len() == 1 && matches!(results[0], ValType::I32);
        match (i32s, ret_i32, f.params().len()) {
            (true, true, 0) => stub!(m, n,),
            (true, true, 1) => stub!(m, n, u32),
            (true, true, 2) => stub!(m, n, u32, u32),
            (true, true, 3) => stub!(m, n, u32, u32, u32),
            (true, true, 4) => stub!(m, n, u32, u32, u32, u32),
            (true, true, 5) => stub!(m, n, u32, u32, u32, u32, u32),
            (true, true, 6) => stub!(m, n, u32, u32, u32, u32, u32, u32),
            (true, true, 8) => stub!(m, n, u32, u32, u32, u32, u32, u32, u32, u32),
            _ => {
                let types: Vec<ValType> = f.results().collect();
                linker
                    .func_new(m, n, f.clone(), move |_, _, results| {
                        for (r, ty) in results.iter_mut().zip(&types) {
                            *r = Val::default_for_ty(ty).unwrap_or(Val::I32(0));
                        }
                        Ok(())
                    })
                    .expect("stub links")
            }
        };
    }
}

/// `proxy_get_buffer_bytes`: 0 and nothing, except the plugin configuration once at start-up.
fn configuration_only(
    mut caller: Caller<'_, BaselineData>,
    _buffer: u32,
    _start: u32,
    _max: u32,
    ret_ptr: u32,
    ret_size: u32,
) -> u32 {
    let Some(config) = caller.data_mut().config.take() else {
        return 0;
    };
    let malloc = ["malloc", "proxy_on_memory_allocate"]
        .into_iter()
        .find_map(|name| caller.get_export(name).and_then(Extern::into_func))
        .and_then(|f| f.typed::<u32, u32>(&caller).ok())
        .expect("the module exports an allocator");
    let ptr = malloc
        .call(&mut caller, config.len() as u32)
        .expect("malloc");
    let memory = caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .expect("the module exports memory");
    let data = memory.data_mut(&mut caller);
    data[ptr as usize..ptr as usize + config.len()].copy_from_slice(&config);
    data[ret_ptr as usize..ret_ptr as usize + 4].copy_from_slice(&ptr.to_le_bytes());
    data[ret_size as usize..ret_size as usize + 4]
        .copy_from_slice(&(config.len() as u32).to_le_bytes());
    0
}

impl Baseline {
    fn new(module: &Module, config: &str) -> Baseline {
        let wasm = module.wasmtime_module();
        let mut linker = Linker::new(wasm.engine());
        stub_imports(&mut linker, wasm);
        let mut store = Store::new(
            wasm.engine(),
            BaselineData {
                config: Some(config.as_bytes().to_vec()),
            },
        );
        // The same engine interrupts on epochs: give every call as long as it needs.
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = linker.instantiate(&mut store, wasm).expect("instantiates");
        let f = |store: &mut Store<BaselineData>, name: &str| {
            instance.get_func(&mut *store, name).expect(name)
        };
        if let Some(init) = instance.get_func(&mut store, "_initialize") {
            init.typed::<(), ()>(&store)
                .and_then(|i| i.call(&mut store, ()))
                .expect("_initialize");
        }
        let start = |store: &mut Store<BaselineData>, instance: &Instance| {
            let create = instance
                .get_typed_func::<(u32, u32), ()>(&mut *store, "proxy_on_context_create")
                .expect("on_context_create");
            create.call(&mut *store, (1, 0)).expect("root created");
            let vm_start = instance
                .get_typed_func::<(u32, u32), u32>(&mut *store, "proxy_on_vm_start")
                .expect("on_vm_start");
            vm_start.call(&mut *store, (1, 0)).expect("vm started");
            let configure = instance
                .get_typed_func::<(u32, u32), u32>(&mut *store, "proxy_on_configure")
                .expect("on_configure");
            let ok = configure
                .call(&mut *store, (1, CONFIG.len() as u32))
                .expect("configured");
            assert_eq!(ok, 1, "the baseline configures the filter as the host does");
        };
        start(&mut store, &instance);
        let on_context_create = f(&mut store, "proxy_on_context_create")
            .typed(&store)
            .expect("typed");
        let on_request_headers = f(&mut store, "proxy_on_request_headers")
            .typed(&store)
            .expect("typed");
        let on_response_headers = f(&mut store, "proxy_on_response_headers")
            .typed(&store)
            .expect("typed");
        let on_log = f(&mut store, "proxy_on_log").typed(&store).expect("typed");
        let on_done = f(&mut store, "proxy_on_done").typed(&store).expect("typed");
        let on_delete = f(&mut store, "proxy_on_delete")
            .typed(&store)
            .expect("typed");
        Baseline {
            store,
            on_context_create,
            on_request_headers,
            on_response_headers,
            on_log,
            on_done,
            on_delete,
            next_id: 2,
        }
    }

    /// One stream: create, request headers (3 pairs, end), response headers (1 pair, end),
    /// log, done, delete — the sequence the host runs for the lifecycle bench.
    fn lifecycle(&mut self) {
        let id = self.next_id;
        self.next_id += 1;
        let s = &mut self.store;
        let ok = |r: wasmtime::Result<u32>| r.expect("callback");
        self.on_context_create
            .call(&mut *s, (id, 1))
            .expect("create");
        black_box(ok(self.on_request_headers.call(&mut *s, (id, 3, 1))));
        black_box(ok(self.on_response_headers.call(&mut *s, (id, 1, 1))));
        self.on_log.call(&mut *s, id).expect("log");
        black_box(ok(self.on_done.call(&mut *s, id)));
        self.on_delete.call(&mut *s, id).expect("delete");
    }
}

const REQUEST: [(&str, &str); 3] = [
    (":method", "GET"),
    (":path", "/"),
    (":authority", "example.com"),
];
const RESPONSE: [(&str, &str); 1] = [(":status", "200")];

fn lifecycle(host: &mut Host) {
    let mut s = host.http_stream().expect("stream");
    s.request_headers(&REQUEST, true).expect("request headers");
    s.response_headers(&RESPONSE, true)
        .expect("response headers");
    s.finish().expect("finish");
}

/// `n` generated exchanges through add-header with every fuzzing invariant checked; add-header
/// must break none.
fn fuzz_run(module: &Module, n: u64) -> u64 {
    let factory = |_: &HostSpec| {
        Host::builder(module)
            .root_id("add_header")
            .plugin_config(CONFIG)
            .build()
    };
    let options = FuzzOptions {
        seed: 1,
        limit: Limit::Runs(n),
        ..FuzzOptions::default()
    };
    let report = fuzz::run(&factory, &options).expect("fuzzing runs");
    assert!(report.finding.is_none(), "add-header fuzzes clean");
    report.exchanges
}

/// The best of `rounds` timings of `n` calls of `f`, per call.
fn best_per_call(rounds: u32, n: u32, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed() / n
        })
        .min()
        .unwrap_or_default()
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
                .plugin_config(CONFIG)
                .build()
                .expect("host starts")
        })
    });

    let mut host = Host::builder(&module)
        .root_id("add_header")
        .plugin_config(CONFIG)
        .build()
        .expect("host starts");
    let mut baseline = Baseline::new(&module, CONFIG);
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add_header_full_lifecycle", |b| {
        b.iter(|| lifecycle(&mut host))
    });
    g.bench_function("do_nothing_host_full_lifecycle", |b| {
        b.iter(|| baseline.lifecycle())
    });
    g.finish();

    const FUZZ_RUN: u64 = 2_000;
    let mut g = c.benchmark_group("fuzz");
    g.throughput(Throughput::Elements(FUZZ_RUN));
    g.sample_size(10);
    g.bench_function("add_header_2000_generated_exchanges", |b| {
        b.iter(|| fuzz_run(&module, FUZZ_RUN))
    });
    g.finish();

    // The same comparisons in one place, interleaved so machine load hits all alike (skipped
    // under `--profile-time`, e.g. when profiling with callgrind).
    let profiling = std::env::args().any(|a| a == "--profile-time");
    let (mut ours, mut floor, mut fuzzed) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..if profiling { 0 } else { 5 } {
        ours = ours.min(best_per_call(3, 20_000, || lifecycle(&mut host)));
        floor = floor.min(best_per_call(3, 20_000, || baseline.lifecycle()));
        let t = Instant::now();
        let n = fuzz_run(&module, 20_000);
        fuzzed = fuzzed.min(t.elapsed() / n as u32);
    }
    if !profiling {
        println!(
            "fuzz: {:.0} generated exchanges/s ({:.3} µs each), {:.2}× the fixed GET lifecycle",
            1.0 / fuzzed.as_secs_f64(),
            fuzzed.as_secs_f64() * 1e6,
            fuzzed.as_secs_f64() / ours.as_secs_f64()
        );
    }
    if !profiling {
        println!(
            "lifecycle: harness {:.3} µs ({:.0}/s), do-nothing host {:.3} µs ({:.0}/s), ratio {:.2}×",
            ours.as_secs_f64() * 1e6,
            1.0 / ours.as_secs_f64(),
            floor.as_secs_f64() * 1e6,
            1.0 / floor.as_secs_f64(),
            ours.as_secs_f64() / floor.as_secs_f64()
        );
    }

    // The header really was added on this path.
    let mut s = host.http_stream().expect("stream");
    s.request_headers(&REQUEST, true).expect("request headers");
    s.response_headers(&RESPONSE, true)
        .expect("response headers");
    assert_eq!(
        s.client_response()
            .and_then(|m| m.header("hello").map(str::to_string)),
        Some(CONFIG.to_string())
    );
}

criterion_group!(host_benches, benches);
criterion_main!(host_benches);
