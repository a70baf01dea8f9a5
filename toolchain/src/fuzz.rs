//! `cargo wasme fuzz`'s toolchain side: starting the plugin the way `cargo wasme test` does
//! (the same [`PluginSetup`] a scenario gives), and writing a [`Finding`] as a scenario file
//! that `cargo wasme test` replays. Generation, invariants and shrinking live in
//! [`wasme_harness::fuzz`].
//!
//! The scenario is assembled as a YAML mapping in the format's own field names and then parsed
//! back with [`crate::scenario::parse::parse_str`] — the scenario types are the judge of what
//! was written, so a format change cannot silently produce a file `cargo wasme test` rejects.
//!
//! Each kind of finding becomes what makes `cargo wasme test` fail the same way: a trap
//! `vm_failed: false`, a stall `stalled: false`, a leak one step with `repeat:` and
//! `guest_memory:`, an over-budget exchange `instructions_at_most:`, a broken user invariant
//! the scenario's `invariants:`.
//!
//! What scenarios cannot express is said in a comment at the top of the file (body chunking,
//! client resets, callout timeouts during a stream, late answers): the fuzzer shrinks those
//! away when they do not matter, so the comment is rare.

use crate::scenario::bridge::{self, PluginSetup, ScriptedAnswer};
use crate::scenario::format::{MAX_REPEAT, MIN_MEMORY_REPEAT, ModuleSource};
use serde_norway::{Mapping, Value};
use std::path::Path;
use wasme_harness::fuzz::{
    CalloutAnswer, ClientEnd, Exchange, Finding, HostSpec, HttpExchange, TcpExchange, Traffic,
    Violation,
};
use wasme_harness::{HarnessError, Host, Module};

/// Why a finding could not be written as a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioWriteError {
    /// The document did not serialize.
    #[error("cannot serialize the scenario: {0}")]
    Serialize(String),
    /// The written document is not a valid scenario (a bug: please report it).
    #[error("the written scenario does not parse back: {0}")]
    Invalid(String),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Why `cargo wasme fuzz` could not give a verdict.
#[derive(Debug, thiserror::Error)]
pub enum FuzzCommandError {
    /// An `--invariant` rule does not parse (the message says which and what is allowed).
    #[error("{0}")]
    Invariant(String),
    /// The module cannot be compiled.
    #[error("loading the module")]
    Load(#[source] HarnessError),
    /// The fuzzer itself failed.
    #[error("fuzzing")]
    Fuzz(#[source] wasme_harness::fuzz::FuzzError),
    /// The limit ran out before one exchange ran: no verdict.
    #[error("no exchange ran, so nothing was checked: give a longer --time or more --runs")]
    NothingRan,
    /// The shrunk scenario of a finding cannot be written.
    #[error("writing {}", path.display())]
    Write {
        /// The scenario file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: ScenarioWriteError,
    },
}

/// The plugin under fuzz: its module, the settings every VM starts with, and the
/// configuration variants exchanges choose from.
#[derive(Debug, Clone)]
pub struct Target {
    /// The compiled module.
    pub module: Module,
    /// Where the module came from, as the written scenario names it.
    pub source: ModuleSource,
    /// Root id, clusters, properties, … (callout clusters are registered without scripted
    /// answers: the fuzzer answers each callout itself).
    pub setup: PluginSetup,
    /// The plugin configurations to try (at least one; `None` = no configuration).
    pub configs: Vec<Option<Vec<u8>>>,
}

impl Target {
    /// Starts one VM for `spec`, configured as a scenario with these settings would be.
    pub fn host(&self, spec: &HostSpec) -> Result<Host, HarnessError> {
        let mut setup = self.setup.clone();
        setup.config = self.configs.get(spec.config).cloned().flatten();
        setup.trace = spec.trace;
        for (_, answer) in &mut setup.clusters {
            *answer = ScriptedAnswer::Pending;
        }
        bridge::build_host(&self.module, &setup)
    }

    /// The cluster names the filter may call.
    fn clusters(&self) -> Vec<String> {
        self.setup.clusters.iter().map(|(n, _)| n.clone()).collect()
    }
}

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(s(k), v);
    }
    Value::Mapping(m)
}

/// A header list as the format's mapping: repeats become a list under the first occurrence.
fn headers(list: &[(String, String)]) -> Value {
    let mut m = Mapping::new();
    for (k, v) in list {
        let key = s(k);
        match m.get_mut(&key) {
            Some(Value::Sequence(seq)) => seq.push(s(v)),
            Some(one) => {
                let first = one.clone();
                *one = Value::Sequence(vec![first, s(v)]);
            }
            None => {
                m.insert(key, s(v));
            }
        }
    }
    Value::Mapping(m)
}

fn module_value(source: &ModuleSource) -> Value {
    match source {
        ModuleSource::Path(p) => s(&p.display().to_string()),
        ModuleSource::Crate { dir, package } => {
            let mut pairs = vec![("crate", s(&dir.display().to_string()))];
            if let Some(p) = package {
                pairs.push(("package", s(p)));
            }
            map(pairs)
        }
        ModuleSource::Image(r) => map(vec![("image", s(r))]),
    }
}

/// What each step must show for the violation not to happen (`repeated`: the step repeats
/// enough for `guest_memory`). A broken user invariant is written as the scenario's
/// `invariants:`, checked on every HTTP step.
fn expectations(v: &Violation, repeated: bool) -> Value {
    let mut e = vec![("vm_failed", Value::Bool(false))];
    match v {
        Violation::StreamStalled => e.push(("stalled", Value::Bool(false))),
        Violation::OverBudget { budget, .. } => {
            e.push(("instructions_at_most", Value::Number((*budget).into())))
        }
        // Any steady growth is a leak to the fuzzer, so none is allowed here.
        Violation::Leak { .. } if repeated => e.push((
            "guest_memory",
            map(vec![("growth_per_repeat_at_most", Value::Number(0.into()))]),
        )),
        _ => {}
    }
    map(e)
}

/// The clusters' answers for a step, from the exchange's callout answer.
fn clusters(names: &[String], answer: CalloutAnswer, gaps: &mut Vec<String>) -> Value {
    let cluster = match answer {
        CalloutAnswer::Success { status, body_len } => map(vec![(
            "respond",
            map(vec![
                ("status", Value::Number(status.into())),
                ("body", s(&"r".repeat(body_len))),
            ]),
        )]),
        CalloutAnswer::Failure => map(vec![("fail", Value::Bool(true))]),
        CalloutAnswer::Timeout | CalloutAnswer::Late => {
            gaps.push(format!(
                "callouts {answer:?}: scenarios cannot answer a callout during a stream after \
                 a timeout or after the stream ended; here they stay unanswered"
            ));
            Value::Mapping(Mapping::new())
        }
    };
    let mut m = Mapping::new();
    for n in names {
        m.insert(s(n), cluster.clone());
    }
    Value::Mapping(m)
}

fn joined(chunks: &[String], what: &str, gaps: &mut Vec<String>) -> Option<Value> {
    if chunks.len() > 1 {
        gaps.push(format!(
            "the {what} came in {} chunks; a scenario sends it as one",
            chunks.len()
        ));
    }
    (!chunks.is_empty()).then(|| s(&chunks.concat()))
}

fn http_step(
    n: usize,
    h: &HttpExchange,
    names: &[String],
    expect: &Value,
    gaps: &mut Vec<String>,
) -> Value {
    let mut request = vec![
        ("method", s(&h.method)),
        ("path", s(&h.path)),
        ("authority", s(&h.authority)),
        ("scheme", s(&h.scheme)),
    ];
    if !h.headers.is_empty() {
        request.push(("headers", headers(&h.headers)));
    }
    if let Some(b) = joined(&h.body, "request body", gaps) {
        request.push(("body", b));
    }
    if !h.trailers.is_empty() {
        request.push(("trailers", headers(&h.trailers)));
    }
    let r = &h.response;
    let mut response = vec![("status", Value::Number(r.status.into()))];
    if !r.headers.is_empty() {
        response.push(("headers", headers(&r.headers)));
    }
    if let Some(b) = joined(&r.body, "response body", gaps) {
        response.push(("body", b));
    }
    if !r.trailers.is_empty() {
        response.push(("trailers", headers(&r.trailers)));
    }
    if h.client != ClientEnd::Completes {
        gaps.push(format!(
            "the client {:?}; a scenario's client always waits for the response",
            h.client
        ));
    }
    let mut step = vec![("name", s(&format!("exchange {n}")))];
    if !names.is_empty() {
        step.push(("clusters", clusters(names, h.callouts, gaps)));
    }
    step.push(("request", map(request)));
    step.push(("response", map(response)));
    step.push(("expect", expect.clone()));
    map(step)
}

fn tcp_step(n: usize, t: &TcpExchange, expect: &Value) -> Value {
    let last = |up: bool| t.chunks.iter().rposition(|(u, _)| *u == up);
    let (last_down, last_up) = (last(false), last(true));
    let data: Vec<Value> = t
        .chunks
        .iter()
        .enumerate()
        .map(|(i, (up, bytes))| {
            let side = if *up { "upstream" } else { "downstream" };
            let end = t.close && Some(i) == if *up { last_up } else { last_down };
            map(vec![(side, s(bytes)), ("end", Value::Bool(end))])
        })
        .collect();
    map(vec![
        ("name", s(&format!("connection {n}"))),
        (
            "connection",
            map(vec![
                ("data", Value::Sequence(data)),
                ("close", Value::Bool(true)),
            ]),
        ),
        ("expect", expect.clone()),
    ])
}

/// The scenario's steps, and whether the exchange repeats (a leak).
fn steps(target: &Target, f: &Finding, gaps: &mut Vec<String>) -> (Vec<Value>, bool) {
    let names = target.clusters();
    let config = f.steps.last().map_or(0, |e| e.config);
    let mine: Vec<&Exchange> = f.steps.iter().filter(|e| e.config == config).collect();
    // A leak shows over many repeats of one exchange: the step repeats as often as the
    // fuzzer repeated it, and its `guest_memory` expectation judges the growth the same way.
    let repeat =
        (f.repeat > 1 && mine.len() == 1).then_some(f.repeat.clamp(MIN_MEMORY_REPEAT, MAX_REPEAT));
    if f.repeat > 1 && mine.len() != 1 {
        gaps.push(format!(
            "the fuzzer repeated {} exchanges {} times; here they play once, so guest memory \
             is not judged",
            mine.len(),
            f.repeat
        ));
    }
    let expect = expectations(&f.violation, repeat.is_some());
    let mut out = Vec::new();
    for ex in &mine {
        let n = out.len() + 1;
        let mut step = match &ex.traffic {
            Traffic::Http(h) => http_step(n, h, &names, &expect, gaps),
            Traffic::Tcp(t) => tcp_step(n, t, &expect),
        };
        if let (Some(r), Value::Mapping(m)) = (repeat, &mut step) {
            m.insert(s("repeat"), Value::Number(r.into()));
        }
        out.push(step);
        if !ex.then_advance.is_zero() {
            if repeat.is_some() {
                gaps.push(
                    "the clock advanced after each repeat; here it advances once, after them"
                        .into(),
                );
            }
            out.push(map(vec![
                ("name", s(&format!("clock {}", out.len() + 1))),
                (
                    "advance_clock",
                    s(&format!("{}ms", ex.then_advance.as_millis())),
                ),
                ("expect", map(vec![("vm_failed", Value::Bool(false))])),
            ]));
        }
    }
    (out, repeat.is_some())
}

/// The finding as a scenario file: a header comment (what broke, how it was found, what the
/// scenario could not express, the trace), then the document.
pub fn scenario_text(
    target: &Target,
    finding: &Finding,
    seed: u64,
) -> Result<String, ScenarioWriteError> {
    let mut gaps = Vec::new();
    let (steps, repeated) = steps(target, finding, &mut gaps);
    let config = finding.steps.last().map_or(0, |e| e.config);
    let mut doc = vec![
        (
            "name",
            s(&format!("fuzz finding: {}", finding.violation.kind())),
        ),
        ("module", module_value(&target.source)),
    ];
    if let Some(r) = &target.setup.root_id {
        doc.push(("root_id", s(r)));
    }
    if let Some(Some(c)) = target.configs.get(config) {
        doc.push(("config", s(&String::from_utf8_lossy(c))));
    }
    if let Some(c) = &target.setup.vm_config {
        doc.push(("vm_config", s(&String::from_utf8_lossy(c))));
    }
    if !target.setup.env.is_empty() {
        doc.push(("env", headers(&target.setup.env)));
    }
    if !target.setup.properties.is_empty() {
        let mut m = Mapping::new();
        for (k, v) in &target.setup.properties {
            m.insert(s(k), s(v));
        }
        doc.push(("properties", Value::Mapping(m)));
    }
    if !target.setup.clusters.is_empty() {
        let mut m = Mapping::new();
        for n in target.clusters() {
            m.insert(s(&n), Value::Mapping(Mapping::new()));
        }
        doc.push(("clusters", Value::Mapping(m)));
    }
    if let Violation::User { invariant, .. } = &finding.violation {
        doc.push((
            "invariants",
            Value::Sequence(vec![s(&invariant.to_string())]),
        ));
    }
    doc.push(("steps", Value::Sequence(steps)));
    let yaml = serde_norway::to_string(&map(doc))
        .map_err(|e| ScenarioWriteError::Serialize(e.to_string()))?;

    let mut head = vec![
        format!(
            "Found by `cargo wasme fuzz --seed {seed}` at exchange {}:",
            finding.case
        ),
        format!("  {}", finding.violation),
        format!(
            "Shrunk in {} step(s). Reproduce: cargo wasme test <this file> (it fails until the \
             filter is fixed).",
            finding.shrink_steps
        ),
    ];
    match &finding.violation {
        Violation::Leak { .. } if repeated => head.push(format!(
            "The fuzzer repeated the exchange {} times on one VM; so does `repeat`, and \
             `guest_memory` fails on steady growth, judged as the fuzzer judged it.",
            finding.repeat
        )),
        Violation::OverBudget { .. } => head.push(
            "`instructions_at_most` runs the module on the instruction-counting engine; \
             `cargo wasme bench` shows where the instructions go."
                .into(),
        ),
        Violation::User { invariant, .. } => head.push(format!(
            "`invariants: [{invariant}]` is checked on every request of this file."
        )),
        _ => {}
    }
    gaps.dedup();
    for g in &gaps {
        head.push(format!("Not expressible here: {g}"));
    }
    // Messages (a panic, a backtrace) span lines: every one of them is a comment.
    let mut text: String = head
        .iter()
        .flat_map(|l| l.lines())
        .map(|l| format!("# {l}\n"))
        .collect();
    text.push_str(&yaml);
    text.push_str("#\n# Hostcall trace of the reproduction:\n");
    for line in finding.trace.iter().flat_map(|l| l.lines()) {
        text.push_str(&format!("#   {line}\n"));
    }
    // The scenario types judge the whole file, comments included.
    crate::scenario::parse::parse_str(Path::new("fuzz-finding.yaml"), &text)
        .map_err(|e| ScenarioWriteError::Invalid(e.to_string()))?;
    Ok(text)
}

/// Writes [`scenario_text`] to `path`.
pub fn write_scenario(
    path: &Path,
    target: &Target,
    finding: &Finding,
    seed: u64,
) -> Result<(), ScenarioWriteError> {
    let text = scenario_text(target, finding, seed)?;
    std::fs::write(path, text).map_err(|source| ScenarioWriteError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// One line saying what an exchange holds (the scenario file has it in full).
pub fn summary(ex: &wasme_harness::fuzz::Exchange) -> String {
    use wasme_harness::fuzz::Traffic;
    let bytes = |chunks: &[String]| chunks.iter().map(String::len).sum::<usize>();
    match &ex.traffic {
        Traffic::Http(h) => {
            let path: String = h.path.chars().take(40).collect();
            let path = if path.len() < h.path.len() {
                format!("{path}… ({} bytes)", h.path.len())
            } else {
                path
            };
            let longest = h.headers.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
            format!(
                "{} {path}, {} header(s) (longest value {longest} bytes), body {} bytes in {} \
                 chunk(s), {} trailer(s), client {:?}, callouts answered {:?}",
                h.method,
                h.headers.len(),
                bytes(&h.body),
                h.body.len(),
                h.trailers.len(),
                h.client,
                h.callouts
            )
        }
        Traffic::Tcp(t) => format!(
            "a TCP connection of {} chunk(s), {} bytes{}",
            t.chunks.len(),
            t.chunks.iter().map(|(_, d)| d.len()).sum::<usize>(),
            if t.close { ", then closed" } else { "" }
        ),
    }
}

/// `cargo wasme fuzz`'s request, besides the module and plugin settings.
#[derive(Debug, Clone, Default)]
pub struct FuzzRequest {
    /// Fuzz for this long.
    pub time: Option<std::time::Duration>,
    /// Fuzz this many exchanges [default: 100000].
    pub runs: Option<u64>,
    /// The seed.
    pub seed: u64,
    /// Generate gRPC requests.
    pub grpc: bool,
    /// Generate TCP byte streams.
    pub tcp: bool,
    /// User invariants as written (`--invariant`), joined by the scenario's.
    pub invariants: Vec<String>,
    /// Most wasm instructions one exchange may execute.
    pub fuel_budget: Option<u64>,
    /// Where to write the shrunk scenario of a failure.
    pub output: std::path::PathBuf,
}

/// Parses `--invariant` rules, so a misspelt one fails before anything is built.
pub fn check_invariants(rules: &[String]) -> Result<(), FuzzCommandError> {
    for rule in rules {
        wasme_harness::fuzz::UserInvariant::parse(rule).map_err(FuzzCommandError::Invariant)?;
    }
    Ok(())
}

/// `cargo wasme fuzz`: generated traffic through the module until an invariant breaks (then
/// a shrunk scenario file, `Ok(false)`) or the limit is reached; the status lines, the
/// `fuzz-report` JSON object and the result line are printed here.
pub fn fuzz(
    request: &FuzzRequest,
    resolved: crate::module_arg::Target,
) -> Result<bool, FuzzCommandError> {
    use crate::scenario::format::Invariant;
    use crate::shell;
    use wasme_harness::fuzz::{self, FuzzOptions, Limit, TrafficKind, UserInvariant};
    let args = request;
    let mut invariants = args
        .invariants
        .iter()
        .map(|i| UserInvariant::parse(i).map_err(FuzzCommandError::Invariant))
        .collect::<Result<Vec<_>, _>>()?;
    // The scenario's `invariants:` join the flags' (a rule given both ways counts once).
    for Invariant(rule) in resolved.scenario.iter().flat_map(|s| &s.invariants) {
        if !invariants.contains(rule) {
            invariants.push(rule.clone());
        }
    }
    if !invariants.is_empty() {
        let rules: Vec<String> = invariants.iter().map(ToString::to_string).collect();
        shell::note(format!("checking invariants: {}", rules.join(", ")));
    }
    let module = if args.fuel_budget.is_some() {
        Module::from_bytes_metered(&resolved.module.wasm)
    } else {
        Module::from_bytes(&resolved.module.wasm)
    }
    .map_err(FuzzCommandError::Load)?;
    let target = Target {
        module,
        source: resolved.module.source,
        setup: resolved.setup,
        configs: resolved.configs,
    };
    let limit = match (args.time, args.runs) {
        (Some(t), _) => Limit::Time(t),
        (None, Some(n)) => Limit::Runs(n),
        (None, None) => Limit::Runs(100_000),
    };
    let options = FuzzOptions {
        seed: args.seed,
        limit,
        traffic: if args.grpc {
            TrafficKind::Grpc
        } else if args.tcp {
            TrafficKind::Tcp
        } else {
            TrafficKind::Http
        },
        config_variants: target.configs.len(),
        invariants,
        fuel_budget: args.fuel_budget,
        ..FuzzOptions::default()
    };
    let factory = |spec: &fuzz::HostSpec| target.host(spec);
    shell::status(
        "Fuzzing",
        format!(
            "{} configuration(s), seed {}, {}",
            target.configs.len(),
            args.seed,
            match limit {
                Limit::Runs(n) => format!("{n} exchanges"),
                Limit::Time(t) => format!("for {t:?}"),
            }
        ),
    );
    let report = fuzz::run(&factory, &options).map_err(FuzzCommandError::Fuzz)?;
    if report.exchanges == 0 {
        return Err(FuzzCommandError::NothingRan);
    }
    let rate = report.exchanges_per_second();
    shell::status(
        "Finished",
        format!(
            "{} exchanges in {:.2}s ({rate:.0} exchanges/s), guest memory slope {:.2} bytes/exchange",
            report.exchanges,
            report.elapsed.as_secs_f64(),
            report.memory_slope
        ),
    );
    let Some(finding) = &report.finding else {
        shell::json(
            "fuzz-report",
            &serde_json::json!({
                "seed": report.seed,
                "exchanges": report.exchanges,
                "seconds": report.elapsed.as_secs_f64(),
                "exchanges_per_second": rate,
                "memory_slope_bytes_per_exchange": report.memory_slope,
                "finding": null,
            }),
        );
        shell::result(format!(
            "fuzz result: ok. {} exchanges, no invariant broken ({rate:.0} exchanges/s)",
            report.exchanges
        ));
        return Ok(true);
    };
    write_scenario(&args.output, &target, finding, args.seed).map_err(|source| {
        FuzzCommandError::Write {
            path: args.output.clone(),
            source,
        }
    })?;
    shell::error(
        format!(
            "exchange {} broke an invariant: {}",
            finding.case, finding.violation
        ),
        Some(&format!(
            "reproduce it with `cargo wasme test {}` (shrunk in {} step(s))",
            args.output.display(),
            finding.shrink_steps
        )),
    );
    if !shell::is_quiet() {
        if let Some(ex) = finding.steps.last() {
            shell::info(format!("minimal exchange: {}", summary(ex)));
        }
        if let Some(p) = finding
            .logs
            .iter()
            .rev()
            .find(|l| l.level >= wasme_harness::LogLevel::Error)
            .filter(|l| !finding.violation.to_string().contains(l.message.trim()))
        {
            shell::info(format!("the filter logged: {}", p.message));
        }
    }
    shell::json(
        "fuzz-report",
        &serde_json::json!({
            "seed": report.seed,
            "exchanges": report.exchanges,
            "seconds": report.elapsed.as_secs_f64(),
            "exchanges_per_second": rate,
            "memory_slope_bytes_per_exchange": report.memory_slope,
            "finding": {
                "case": finding.case,
                "kind": finding.violation.kind(),
                "message": finding.violation.to_string(),
                "shrink_steps": finding.shrink_steps,
                "scenario": args.output.display().to_string(),
            },
        }),
    );
    shell::result(format!(
        "fuzz result: FAILED. {} at exchange {}; scenario written to {}",
        finding.violation.kind(),
        finding.case,
        args.output.display()
    ));
    Ok(false)
}
