//! `cargo wasme bench`'s measurements: what a filter adds per request over a do-nothing filter
//! run by the same host in the same process — time per callback (median, p99), wasm
//! instructions per request (wasmtime fuel: deterministic, so it is what `--baseline` gates
//! on), guest memory per live stream — plus the module's cold compile time and compiled size,
//! and the comparison of two reports.
//!
//! ```no_run
//! use cargo_wasme::bench::{self, BenchOptions, Workload};
//! # fn main() -> anyhow::Result<()> {
//! let wasm = std::fs::read("target/wasm32-wasip1/release/add_header.wasm")?;
//! let report = bench::run(&wasm, &Workload::default_get(), &BenchOptions::default())?;
//! for step in &report.steps {
//!     println!("{}: +{} instructions per request", step.name, step.added_instructions());
//! }
//! # Ok(()) }
//! ```

use crate::scenario::bridge::{self, PluginSetup};
use crate::scenario::format::{Action, Scenario};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use wasme_harness::{HarnessError, Host, HttpStream, Module};

/// The do-nothing filter: every callback returns at once (Continue, true), a bump allocator.
/// The host runs it exactly like the filter, so the difference is the filter's own cost.
const DO_NOTHING: &str = r#"(module
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 1024))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.and (i32.add (i32.add (global.get $next) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $next) (i32.const 100000)) (then (global.set $next (i32.const 1024))))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_request_trailers") (param i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_response_trailers") (param i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) i32.const 1)
  (func (export "proxy_on_delete") (param i32)))"#;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The module (or the do-nothing one) could not be compiled or started.
    #[error("{what}: {source}")]
    Harness {
        /// What was being done.
        what: String,
        /// The harness's reason.
        source: Box<HarnessError>,
    },
    /// A step never reached the callbacks it measures (e.g. the VM failed).
    #[error("step {step:?}: {message}")]
    Step {
        /// The step.
        step: String,
        /// What went wrong.
        message: String,
    },
    /// The `--baseline` file cannot be read.
    #[error("reading the baseline {}", path.display())]
    ReadBaseline {
        /// The file.
        path: std::path::PathBuf,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
    /// The `--baseline` file holds no report.
    #[error(
        "{} holds no `bench-report` line: save the output of \
         `cargo wasme bench --message-format json` as the baseline",
        .0.display()
    )]
    NoBaselineReport(std::path::PathBuf),
    /// The scenario measures nothing.
    #[error("the scenario has no `request` step to measure")]
    NoRequestStep,
    /// The baseline shares no step with this run: no verdict.
    #[error(
        "no step of this run is in the baseline (steps are matched by name): nothing was compared"
    )]
    NothingCompared,
}

fn harness(what: &str) -> impl FnOnce(HarnessError) -> BenchError + '_ {
    move |e| BenchError::Harness {
        what: what.to_string(),
        source: Box::new(e),
    }
}

/// One request/response pair to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestStep {
    /// The step's name (reports and baselines match steps by name).
    pub name: String,
    /// Request headers, pseudo-headers first.
    pub request_headers: Vec<(String, String)>,
    /// Request body (empty: none).
    pub request_body: Vec<u8>,
    /// Response headers, `:status` first.
    pub response_headers: Vec<(String, String)>,
    /// Response body (empty: none).
    pub response_body: Vec<u8>,
}

/// What to measure: the plugin settings and the steps.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Root id, configuration, clusters, … (as a scenario file gives them).
    pub setup: PluginSetup,
    /// The requests.
    pub steps: Vec<RequestStep>,
}

impl Workload {
    /// One `GET /` answered `200` with a short body, on an unconfigured plugin.
    pub fn default_get() -> Workload {
        Workload {
            setup: PluginSetup::default(),
            steps: vec![RequestStep {
                name: "GET /".into(),
                request_headers: pairs(&[
                    (":method", "GET"),
                    (":path", "/"),
                    (":authority", "example.com"),
                    (":scheme", "http"),
                    ("user-agent", "cargo-wasme-bench"),
                ]),
                request_body: Vec::new(),
                response_headers: pairs(&[(":status", "200"), ("content-type", "text/plain")]),
                response_body: b"hello".to_vec(),
            }],
        }
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// How long to measure.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Timed requests per step and per filter (after the warm-up).
    pub samples: usize,
    /// Untimed requests first.
    pub warmup: usize,
    /// Streams held open at once to measure guest memory per live stream.
    pub live_streams: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            samples: 2000,
            warmup: 200,
            live_streams: 1000,
        }
    }
}

/// Median and 99th percentile of one callback's time, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Median.
    pub median_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
}

/// One callback (or the end of the stream: on_log + on_done + on_delete) of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackCost {
    /// `on_request_headers`, `on_request_body`, `on_response_headers`, `on_response_body`,
    /// `on_log+on_done+on_delete`.
    pub callback: String,
    /// The filter.
    pub filter: Timing,
    /// The do-nothing filter.
    pub baseline: Timing,
}

/// The costs of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    /// The step's name.
    pub name: String,
    /// Per callback.
    pub callbacks: Vec<CallbackCost>,
    /// Whole request, the filter: median and p99.
    pub request: Timing,
    /// Whole request, the do-nothing filter.
    pub baseline_request: Timing,
    /// Wasm instructions the filter executes per request (wasmtime fuel).
    pub instructions: u64,
    /// The same for the do-nothing filter.
    pub baseline_instructions: u64,
    /// Guest memory per live stream (after the request headers), in bytes.
    pub memory_per_stream: u64,
    /// The same for the do-nothing filter.
    pub baseline_memory_per_stream: u64,
}

impl StepCost {
    /// Instructions the filter adds per request.
    pub fn added_instructions(&self) -> u64 {
        self.instructions.saturating_sub(self.baseline_instructions)
    }

    /// Median time the filter adds per request, in nanoseconds.
    pub fn added_median_ns(&self) -> i64 {
        self.request.median_ns as i64 - self.baseline_request.median_ns as i64
    }

    /// Guest memory the filter adds per live stream.
    pub fn added_memory_per_stream(&self) -> u64 {
        self.memory_per_stream
            .saturating_sub(self.baseline_memory_per_stream)
    }
}

/// A whole benchmark report (what `--message-format json` prints as `bench-report` and what
/// `--baseline` reads back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Cold compile time of the module (no cache), in milliseconds.
    pub compile_ms: f64,
    /// Size of the compiled code in memory, in bytes.
    pub compiled_bytes: u64,
    /// Guest memory of a freshly started plugin, in bytes.
    pub startup_memory: u64,
    /// Per step.
    pub steps: Vec<StepCost>,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn timing(mut ns: Vec<u64>) -> Timing {
    ns.sort_unstable();
    Timing {
        median_ns: percentile(&ns, 0.5),
        p99_ns: percentile(&ns, 0.99),
    }
}

const PHASES: [&str; 5] = [
    "on_request_headers",
    "on_request_body",
    "on_response_headers",
    "on_response_body",
    "on_log+on_done+on_delete",
];

/// One request through `host`, timing each phase; `None` for a phase the step does not have.
fn timed_request(host: &mut Host, step: &RequestStep) -> Result<[Option<u64>; 5], String> {
    let mut out = [None; 5];
    let err = |e: HarnessError| e.to_string();
    let mut s = host.http_stream().map_err(err)?;
    let has_body = !step.request_body.is_empty();
    let t = Instant::now();
    s.request_headers(&step.request_headers, !has_body)
        .map_err(err)?;
    out[0] = Some(t.elapsed().as_nanos() as u64);
    if has_body {
        let t = Instant::now();
        s.request_body(&step.request_body, true).map_err(err)?;
        out[1] = Some(t.elapsed().as_nanos() as u64);
    }
    if s.request_complete() {
        let has_body = !step.response_body.is_empty();
        let t = Instant::now();
        s.response_headers(&step.response_headers, !has_body)
            .map_err(err)?;
        out[2] = Some(t.elapsed().as_nanos() as u64);
        if has_body {
            let t = Instant::now();
            s.response_body(&step.response_body, true).map_err(err)?;
            out[3] = Some(t.elapsed().as_nanos() as u64);
        }
    }
    let t = Instant::now();
    s.finish().map_err(err)?;
    out[4] = Some(t.elapsed().as_nanos() as u64);
    if let Some(f) = host.failure() {
        return Err(format!("the VM failed: {f}"));
    }
    Ok(out)
}

/// Instructions one request costs (on a metered module).
fn instructions(host: &mut Host, step: &RequestStep) -> Result<u64, String> {
    // The first requests warm caches the guest keeps (e.g. a header map's capacity).
    for _ in 0..3 {
        timed_request(host, step)?;
    }
    let before = host.fuel_consumed().unwrap_or(0);
    timed_request(host, step)?;
    Ok(host.fuel_consumed().unwrap_or(0).saturating_sub(before))
}

/// Guest memory per stream with `n` streams open at once (request headers sent, no end).
fn memory_per_stream(host: &mut Host, step: &RequestStep, n: usize) -> Result<u64, String> {
    timed_request(host, step)?;
    let before = host.guest_memory_bytes();
    for _ in 0..n {
        let mut s: HttpStream<'_> = host.http_stream().map_err(|e| e.to_string())?;
        s.request_headers(&step.request_headers, false)
            .map_err(|e| e.to_string())?;
        // Keep the stream open: dropping the handle would end it. The host (and with it the
        // stream) is dropped after the measurement.
        std::mem::forget(s);
    }
    let after = host.guest_memory_bytes();
    Ok(((after - before) / n.max(1)) as u64)
}

fn measure_step(
    filter: &mut Host,
    baseline: &mut Host,
    metered: (&mut Host, &mut Host),
    fresh: &mut dyn FnMut(bool) -> Result<Host, BenchError>,
    step: &RequestStep,
    opts: &BenchOptions,
) -> Result<StepCost, BenchError> {
    let fail = |message: String| BenchError::Step {
        step: step.name.clone(),
        message,
    };
    for _ in 0..opts.warmup {
        timed_request(filter, step).map_err(fail)?;
        timed_request(baseline, step).map_err(fail)?;
    }
    let mut phases: Vec<(Vec<u64>, Vec<u64>)> = vec![(Vec::new(), Vec::new()); 5];
    let (mut whole, mut whole_base) = (Vec::new(), Vec::new());
    // Interleaved, so both filters see the same machine noise.
    for _ in 0..opts.samples {
        let f = timed_request(filter, step).map_err(fail)?;
        let b = timed_request(baseline, step).map_err(fail)?;
        whole.push(f.iter().flatten().sum());
        whole_base.push(b.iter().flatten().sum());
        for (i, (fp, bp)) in f.iter().zip(&b).enumerate() {
            if let (Some(fp), Some(bp)) = (fp, bp) {
                phases[i].0.push(*fp);
                phases[i].1.push(*bp);
            }
        }
    }
    let callbacks = phases
        .into_iter()
        .enumerate()
        .filter(|(_, (f, _))| !f.is_empty())
        .map(|(i, (f, b))| CallbackCost {
            callback: PHASES[i].to_string(),
            filter: timing(f),
            baseline: timing(b),
        })
        .collect();
    let instructions = self::instructions(metered.0, step).map_err(fail)?;
    let baseline_instructions = self::instructions(metered.1, step).map_err(fail)?;
    let mut host = fresh(false)?;
    let memory = memory_per_stream(&mut host, step, opts.live_streams).map_err(fail)?;
    let mut host = fresh(true)?;
    let baseline_memory = memory_per_stream(&mut host, step, opts.live_streams).map_err(fail)?;
    Ok(StepCost {
        name: step.name.clone(),
        callbacks,
        request: timing(whole),
        baseline_request: timing(whole_base),
        instructions,
        baseline_instructions,
        memory_per_stream: memory,
        baseline_memory_per_stream: baseline_memory,
    })
}

/// Measures `wasm` on every step of `workload` against the do-nothing filter.
pub fn run(
    wasm: &[u8],
    workload: &Workload,
    opts: &BenchOptions,
) -> Result<BenchReport, BenchError> {
    let started = Instant::now();
    let cold = Module::compile_uncached(wasm).map_err(harness("compiling the module"))?;
    let compile = started.elapsed();
    let range = cold.wasmtime_module().image_range();
    let compiled_bytes = (range.end as usize).saturating_sub(range.start as usize) as u64;
    drop(cold);
    let do_nothing = wat::parse_str(DO_NOTHING).map_err(|e| BenchError::Harness {
        what: "the do-nothing filter".into(),
        source: Box::new(HarnessError::Compile(e.to_string())),
    })?;
    let module = Module::from_bytes(wasm).map_err(harness("compiling the module"))?;
    let metered = Module::from_bytes_metered(wasm).map_err(harness("compiling the module"))?;
    let base = Module::from_bytes(&do_nothing).map_err(harness("the do-nothing filter"))?;
    let base_metered =
        Module::from_bytes_metered(&do_nothing).map_err(harness("the do-nothing filter"))?;
    let mut setup = workload.setup.clone();
    setup.trace = false;
    let start = |m: &Module| bridge::build_host(m, &setup).map_err(harness("starting the plugin"));
    let mut filter = start(&module)?;
    let startup_memory = filter.guest_memory_bytes() as u64;
    let mut baseline = start(&base)?;
    let mut filter_metered = start(&metered)?;
    let mut baseline_metered = start(&base_metered)?;
    let mut fresh = |do_nothing: bool| start(if do_nothing { &base } else { &module });
    let mut steps = Vec::new();
    for step in &workload.steps {
        steps.push(measure_step(
            &mut filter,
            &mut baseline,
            (&mut filter_metered, &mut baseline_metered),
            &mut fresh,
            step,
            opts,
        )?);
    }
    Ok(BenchReport {
        compile_ms: compile.as_secs_f64() * 1e3,
        compiled_bytes,
        startup_memory,
        steps,
    })
}

/// One figure that got worse than the baseline allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    /// The step (or `module`).
    pub step: String,
    /// What: `instructions per request`, `memory per live stream`, `compiled size`.
    pub what: String,
    /// The baseline's value.
    pub before: u64,
    /// This run's value.
    pub after: u64,
}

impl std::fmt::Display for Regression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = if self.before == 0 {
            f64::INFINITY
        } else {
            (self.after as f64 / self.before as f64 - 1.0) * 100.0
        };
        write!(
            f,
            "{}: {} went from {} to {} (+{pct:.0}%)",
            self.step, self.what, self.before, self.after
        )
    }
}

/// The deterministic figures of `now` that grew by more than `threshold` (0.10 = 10%) over
/// `before`: instructions per request (the filter's own, baseline subtracted), memory per live
/// stream, compiled size. Time is machine-dependent and only reported. Steps are matched by
/// name; a step missing from either side is skipped. Growth below a small absolute floor (50
/// instructions, one 64-byte memory unit) is noise, not a regression.
pub fn compare(before: &BenchReport, now: &BenchReport, threshold: f64) -> Vec<Regression> {
    let worse = |old: u64, new: u64, floor: u64| {
        new > old && new - old > floor && (new as f64) > (old as f64) * (1.0 + threshold)
    };
    let mut out = Vec::new();
    if worse(before.compiled_bytes, now.compiled_bytes, 1024) {
        out.push(Regression {
            step: "module".into(),
            what: "compiled size (bytes)".into(),
            before: before.compiled_bytes,
            after: now.compiled_bytes,
        });
    }
    for step in &now.steps {
        let Some(old) = before.steps.iter().find(|s| s.name == step.name) else {
            continue;
        };
        let (a, b) = (old.added_instructions(), step.added_instructions());
        if worse(a, b, 50) {
            out.push(Regression {
                step: step.name.clone(),
                what: "instructions per request".into(),
                before: a,
                after: b,
            });
        }
        let (a, b) = (
            old.added_memory_per_stream(),
            step.added_memory_per_stream(),
        );
        if worse(a, b, 64) {
            out.push(Regression {
                step: step.name.clone(),
                what: "memory per live stream (bytes)".into(),
                before: a,
                after: b,
            });
        }
    }
    out
}

/// Reads a baseline: a file holding a `bench-report` JSON object (what `cargo wasme bench
/// --message-format json` prints, one object per line; other lines are ignored).
pub fn read_baseline(text: &str) -> Option<BenchReport> {
    text.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        if v.get("reason").and_then(|r| r.as_str()) != Some("bench-report") {
            return None;
        }
        serde_json::from_value(v).ok()
    })
}

/// Formats nanoseconds for the table.
pub fn human_ns(ns: u64) -> String {
    let d = Duration::from_nanos(ns);
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

/// The `request` steps of a scenario as bench steps; a step of another kind is left out with a
/// warning saying so (never a silent gap in the table).
pub fn request_steps(s: &Scenario) -> Vec<RequestStep> {
    s.steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| match &step.action {
            Action::Http { request, response } => {
                let mut rq = vec![
                    (":method".to_string(), request.method.clone()),
                    (":path".to_string(), request.path.clone()),
                    (":authority".to_string(), request.authority.clone()),
                    (":scheme".to_string(), request.scheme.clone()),
                ];
                rq.extend(request.headers.0.iter().cloned());
                let mut rs = vec![(":status".to_string(), response.status.to_string())];
                rs.extend(response.headers.0.iter().cloned());
                Some(RequestStep {
                    name: step
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("step {}", i + 1)),
                    request_headers: rq,
                    request_body: request.body.clone().unwrap_or_default().into_bytes(),
                    response_headers: rs,
                    response_body: response.body.clone().unwrap_or_default().into_bytes(),
                })
            }
            Action::Check => None,
            other => {
                // Never a silent gap in the table: say which steps it leaves out.
                let what = match other {
                    Action::Connection(_) => "a TCP connection",
                    _ => "a clock advance (its on_tick cost)",
                };
                crate::shell::warn(format!(
                    "{} is not measured: `bench` measures HTTP request steps, not {what}",
                    step.name
                        .clone()
                        .unwrap_or_else(|| format!("step {}", i + 1)),
                ));
                None
            }
        })
        .collect()
}

/// Prints the report's table on stdout (human mode; `--message-format json` prints the
/// `bench-report` object instead).
pub fn print(report: &BenchReport) {
    crate::shell::result(format!(
        "module: cold compile {:.1} ms, {} KiB compiled code, {} KiB guest memory at start",
        report.compile_ms,
        report.compiled_bytes / 1024,
        report.startup_memory / 1024
    ));
    for step in &report.steps {
        crate::shell::result(format!("\n{}", step.name));
        crate::shell::result(format!(
            "  {:<26} {:>10} {:>10}   {:>10} {:>10}",
            "callback", "median", "p99", "do-nothing", "added"
        ));
        for c in &step.callbacks {
            crate::shell::result(format!(
                "  {:<26} {:>10} {:>10}   {:>10} {:>10}",
                c.callback,
                human_ns(c.filter.median_ns),
                human_ns(c.filter.p99_ns),
                human_ns(c.baseline.median_ns),
                human_ns(c.filter.median_ns.saturating_sub(c.baseline.median_ns)),
            ));
        }
        crate::shell::result(format!(
            "  {:<26} {:>10} {:>10}   {:>10} {:>10}",
            "whole request",
            human_ns(step.request.median_ns),
            human_ns(step.request.p99_ns),
            human_ns(step.baseline_request.median_ns),
            human_ns(step.added_median_ns().max(0) as u64),
        ));
        crate::shell::result(format!(
            "  instructions per request: {} (do-nothing {}, added {})",
            step.instructions,
            step.baseline_instructions,
            step.added_instructions()
        ));
        crate::shell::result(format!(
            "  guest memory per live stream: {} bytes (do-nothing {}, added {})",
            step.memory_per_stream,
            step.baseline_memory_per_stream,
            step.added_memory_per_stream()
        ));
    }
}

/// Parses a `--threshold`: `10%` or `0.1`.
pub fn parse_threshold(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n, 0.01),
        None => (t, 1.0),
    };
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a threshold (write e.g. `10%` or `0.1`)"))?;
    if !(v * scale).is_finite() || v < 0.0 {
        return Err(format!("{text:?}: a threshold is a non-negative number"));
    }
    Ok(v * scale)
}

/// Reads a `--baseline` file (a saved `cargo wasme bench --message-format json` output).
pub fn load_baseline(file: &std::path::Path) -> Result<BenchReport, BenchError> {
    let text = std::fs::read_to_string(file).map_err(|source| BenchError::ReadBaseline {
        path: file.to_path_buf(),
        source,
    })?;
    read_baseline(&text).ok_or_else(|| BenchError::NoBaselineReport(file.to_path_buf()))
}

/// `cargo wasme bench`: measures `resolved` (its scenario's `request` steps, or one GET)
/// against a do-nothing filter, prints the table and the `bench-report` object, and with a
/// `baseline` compares: `Ok(false)` when something grew by more than `threshold`.
pub fn bench(
    resolved: crate::module_arg::Target,
    baseline: Option<BenchReport>,
    threshold: f64,
    samples: usize,
) -> Result<bool, BenchError> {
    use crate::shell;
    let mut setup = resolved.setup.clone();
    setup.config = resolved.configs.first().cloned().flatten();
    let steps = match &resolved.scenario {
        Some(s) => request_steps(s),
        None => Workload::default_get().steps,
    };
    if steps.is_empty() {
        return Err(BenchError::NoRequestStep);
    }
    let workload = Workload { setup, steps };
    let samples = samples.max(10);
    let options = BenchOptions {
        samples,
        // A tenth of the samples (200 for the default 2,000): a short run (`--samples 30`)
        // is not mostly warm-up.
        warmup: (samples / 10).min(BenchOptions::default().warmup),
        ..BenchOptions::default()
    };
    shell::status(
        "Benchmarking",
        format!(
            "{} step(s), {} requests each, against a do-nothing filter",
            workload.steps.len(),
            options.samples
        ),
    );
    let report = run(&resolved.module.wasm, &workload, &options)?;
    print(&report);
    shell::json("bench-report", &report);
    let Some(before) = baseline else {
        return Ok(true);
    };
    let matched = report
        .steps
        .iter()
        .filter(|s| before.steps.iter().any(|b| b.name == s.name))
        .count();
    if matched == 0 {
        return Err(BenchError::NothingCompared);
    }
    let regressions = compare(&before, &report, threshold);
    shell::json(
        "bench-comparison",
        &serde_json::json!({
            "threshold": threshold,
            "steps_compared": matched,
            "regressions": regressions,
        }),
    );
    if regressions.is_empty() {
        shell::status(
            "Compared",
            format!(
                "{matched} step(s) with the baseline: nothing grew by more than {:.0}%",
                threshold * 100.0
            ),
        );
        return Ok(true);
    }
    for r in &regressions {
        shell::error(
            format!("regression: {r}"),
            Some(&format!("the baseline allows {:.0}%", threshold * 100.0)),
        );
    }
    Ok(false)
}
