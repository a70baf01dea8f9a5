//! Running a scenario against the `wasme-harness` host: resolve the module, start the plugin
//! the way Envoy would, run each step, snapshot what happened into an
//! [`Observation`](super::expect::Observation) and check the step's expectations.

use super::expect::{self, Mismatch, Observation};
use super::format::{
    Action, Chunk, Cluster, Connection, FailurePolicyName, LevelName, Scenario, UpstreamResponse,
};
use super::parse::LoadedScenario;
use crate::host::{self, PluginSetup, ScriptedAnswer};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasme_harness::{HarnessError, Host};

/// How scenarios are run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Use this module (a `.wasm` path or an image reference) instead of the scenario's.
    pub module_override: Option<String>,
    /// Print the hostcall trace of failing steps.
    pub trace_on_failure: bool,
}

/// How one step ended.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    /// Every expectation held.
    Passed,
    /// Some expectations did not hold.
    Failed(Vec<Mismatch>),
    /// The step could not run (e.g. the harness refused the request).
    Error(String),
    /// Not run because an earlier problem made it meaningless.
    Skipped,
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// How it ended.
    pub outcome: StepOutcome,
    /// How long it took.
    pub duration: Duration,
    /// The hostcall trace of the step (kept for failing steps only).
    pub trace: Vec<String>,
}

/// The result of one scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Why the scenario could not start (bad file, module not found, start-up failed).
    pub setup_error: Option<String>,
    /// Every step, in order (a `startup` expectation is the first).
    pub steps: Vec<StepReport>,
    /// How long the scenario took, module build and compilation included.
    pub duration: Duration,
    trace_on_failure: bool,
}

impl ScenarioReport {
    /// A report for a file that could not be read or parsed.
    pub fn invalid(file: &Path, error: &str) -> Self {
        ScenarioReport {
            name: file.display().to_string(),
            file: file.to_path_buf(),
            setup_error: Some(error.to_string()),
            steps: Vec::new(),
            duration: Duration::ZERO,
            trace_on_failure: false,
        }
    }

    /// Whether the scenario passed: it started and no step failed.
    pub fn passed(&self) -> bool {
        self.setup_error.is_none()
            && self
                .steps
                .iter()
                .all(|s| matches!(s.outcome, StepOutcome::Passed))
    }

    /// Test cases in a JUnit report (the steps, plus one for a setup error).
    pub fn testcase_count(&self) -> usize {
        self.steps.len() + usize::from(self.setup_error.is_some())
    }

    /// Steps whose expectations failed.
    pub fn failure_count(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, StepOutcome::Failed(_)))
            .count()
    }

    /// Steps that could not run, plus a setup error.
    pub fn error_count(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, StepOutcome::Error(_)))
            .count()
            + usize::from(self.setup_error.is_some())
    }

    /// Renders the report for a terminal: one line per step, details for failures.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let verdict = if self.passed() { "ok" } else { "FAILED" };
        let _ = writeln!(
            out,
            "scenario {} ({}) ... {verdict} [{:.2}s]",
            self.name,
            self.file.display(),
            self.duration.as_secs_f64()
        );
        if let Some(e) = &self.setup_error {
            for (i, line) in e.lines().enumerate() {
                let prefix = if i == 0 { "error: " } else { "" };
                let _ = writeln!(out, "  {prefix}{line}");
            }
        }
        for (i, s) in self.steps.iter().enumerate() {
            let mark = match &s.outcome {
                StepOutcome::Passed => "ok",
                StepOutcome::Failed(_) => "FAILED",
                StepOutcome::Error(_) => "ERROR",
                StepOutcome::Skipped => "skipped",
            };
            let _ = writeln!(out, "  step {}: {} ... {mark}", i + 1, s.name);
            match &s.outcome {
                StepOutcome::Failed(ms) => {
                    for m in ms {
                        for line in m.render().lines() {
                            let _ = writeln!(out, "    {line}");
                        }
                    }
                }
                StepOutcome::Error(e) => {
                    for line in e.lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
                _ => {}
            }
            if self.trace_on_failure
                && !matches!(s.outcome, StepOutcome::Passed)
                && !s.trace.is_empty()
            {
                let _ = writeln!(out, "    hostcall trace:");
                for line in &s.trace {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        out
    }
}

/// Runs one scenario. Never panics on bad input: every problem ends up in the report.
pub fn run(loaded: &LoadedScenario, opts: &Options) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        name: loaded.name(),
        file: loaded.file.clone(),
        setup_error: None,
        steps: Vec::new(),
        duration: Duration::ZERO,
        trace_on_failure: opts.trace_on_failure,
    };
    run_into(loaded, opts, &mut report);
    report.duration = started.elapsed();
    report
}

fn run_into(loaded: &LoadedScenario, opts: &Options, report: &mut ScenarioReport) {
    let s = &loaded.scenario;
    let module = match &opts.module_override {
        Some(arg) => host::load_module_arg(arg),
        None => host::load_module(&s.module, loaded.base_dir()),
    };
    let module = match module {
        Ok(m) => m,
        Err(e) => {
            report.setup_error = Some(format!("{}: module: {e}", loaded.locate_key("module")));
            return;
        }
    };
    let setup = plugin_setup(s);
    let built = host::build_host(&module, &setup);
    let mut host = match (built, &s.startup) {
        (Ok(host), None) => host,
        (Ok(host), Some(startup)) => {
            let logs = host::log_lines(host.logs());
            let step = startup_step(startup.fails, &startup.logs, None, &logs);
            report.steps.push(step);
            if startup.fails {
                return;
            }
            host
        }
        (Err(err), Some(startup)) => {
            let logs = startup_logs(&err);
            report.steps.push(startup_step(
                startup.fails,
                &startup.logs,
                Some(&err),
                &logs,
            ));
            return;
        }
        (Err(err), None) => {
            let hint = match &err {
                HarnessError::ConfigureFailed { .. } => format!(
                    "\n  the filter rejected its configuration (see `config` at {}); if that is \
                     what this scenario tests, add `startup: {{fails: true}}`",
                    loaded.locate_key("config")
                ),
                _ => String::new(),
            };
            let logs = startup_logs(&err);
            let mut text = format!("the plugin did not start: {err}{hint}");
            if !logs.is_empty() {
                text.push_str("\n  its logs:");
                for (level, line) in &logs {
                    let _ = write!(text, "\n    [{level:?}] {line}");
                }
            }
            report.setup_error = Some(text);
            return;
        }
    };
    let mut failed_hard = false;
    for step in &s.steps {
        let name = step
            .name
            .clone()
            .unwrap_or_else(|| default_step_name(&step.action));
        if failed_hard {
            report.steps.push(StepReport {
                name,
                outcome: StepOutcome::Skipped,
                duration: Duration::ZERO,
                trace: Vec::new(),
            });
            continue;
        }
        let t0 = Instant::now();
        let logs_before = host.logs().len();
        let trace_before = host.trace().len();
        for (cluster, c) in &step.clusters {
            host::script_cluster(&mut host, cluster, &scripted(c));
        }
        let result = run_action(&mut host, &step.action);
        let trace: Vec<String> = host
            .trace()
            .get(trace_before..)
            .unwrap_or_default()
            .to_vec();
        let outcome = match result {
            Ok(partial) => {
                let obs = observe(&host, partial, logs_before, &trace, &step.expect);
                let mismatches = expect::check(&step.expect, &obs);
                if mismatches.is_empty() {
                    StepOutcome::Passed
                } else {
                    StepOutcome::Failed(mismatches)
                }
            }
            Err(e) => {
                failed_hard = true;
                StepOutcome::Error(format!("the step could not run: {e}"))
            }
        };
        let keep_trace = !matches!(outcome, StepOutcome::Passed);
        report.steps.push(StepReport {
            name,
            outcome,
            duration: t0.elapsed(),
            trace: if keep_trace { trace } else { Vec::new() },
        });
    }
}

fn default_step_name(action: &Action) -> String {
    match action {
        Action::Http { request, .. } => {
            format!("{} {}", request.method, request.path)
        }
        Action::Connection(c) => format!("connection ({} chunks)", c.data.len()),
        Action::AdvanceClock(d) => format!("advance clock {d:?}"),
        Action::Check => "check".to_string(),
    }
}

fn startup_logs(err: &HarnessError) -> Vec<(LevelName, String)> {
    match err {
        HarnessError::StartFailed { logs, .. } | HarnessError::ConfigureFailed { logs, .. } => {
            host::log_lines(logs)
        }
        _ => Vec::new(),
    }
}

fn startup_step(
    want_fail: bool,
    want_logs: &[String],
    err: Option<&HarnessError>,
    logs: &[(LevelName, String)],
) -> StepReport {
    let mut mismatches = Vec::new();
    match (want_fail, err) {
        (true, None) => mismatches.push(Mismatch {
            field: "startup.fails".into(),
            expected: "on_vm_start or on_configure fails".into(),
            actual: "the plugin started".into(),
            context: None,
        }),
        (false, Some(e)) => mismatches.push(Mismatch {
            field: "startup.fails".into(),
            expected: "the plugin starts".into(),
            actual: e.to_string(),
            context: None,
        }),
        (true, Some(HarnessError::StartFailed { .. } | HarnessError::ConfigureFailed { .. })) => {}
        (true, Some(other)) => mismatches.push(Mismatch {
            field: "startup.fails".into(),
            expected: "on_vm_start or on_configure returns false".into(),
            actual: format!("the module could not be loaded: {other}"),
            context: None,
        }),
        (false, None) => {}
    }
    let expect = super::format::Expect {
        logs: want_logs
            .iter()
            .map(|s| super::format::LogExpect {
                level: None,
                contains: s.clone(),
            })
            .collect(),
        ..Default::default()
    };
    let obs = Observation {
        logs: logs.to_vec(),
        ..Default::default()
    };
    mismatches.extend(expect::check(&expect, &obs));
    StepReport {
        name: "startup".into(),
        outcome: if mismatches.is_empty() {
            StepOutcome::Passed
        } else {
            StepOutcome::Failed(mismatches)
        },
        duration: Duration::ZERO,
        trace: Vec::new(),
    }
}

/// The plugin settings of a scenario.
pub fn plugin_setup(s: &Scenario) -> PluginSetup {
    PluginSetup {
        root_id: s.root_id.clone(),
        plugin_name: s.plugin_name.clone(),
        vm_id: s.vm_id.clone(),
        config: s.config.as_ref().map(|c| c.0.clone().into_bytes()),
        vm_config: s.vm_config.as_ref().map(|c| c.0.clone().into_bytes()),
        env: s
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        properties: s
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        clusters: s
            .clusters
            .iter()
            .map(|(name, c)| (name.clone(), scripted(c)))
            .collect(),
        trace: true,
        failure_policy: s.failure_policy.map(|p| match p {
            FailurePolicyName::FailClosed => wasme_harness::FailurePolicy::FailClosed,
            FailurePolicyName::FailOpen => wasme_harness::FailurePolicy::FailOpen,
            FailurePolicyName::FailReload => wasme_harness::FailurePolicy::FailReload,
        }),
    }
}

fn scripted(c: &Cluster) -> ScriptedAnswer {
    match (&c.respond, c.fail) {
        (_, true) => ScriptedAnswer::Fail,
        (Some(r), false) => ScriptedAnswer::Respond {
            status: r.status,
            headers: r.headers.0.clone(),
            body: r.body.clone().into_bytes(),
            trailers: r.trailers.0.clone(),
        },
        (None, false) => ScriptedAnswer::Pending,
    }
}

/// What an action itself produced (the rest of the observation comes from the host).
#[derive(Default)]
struct Partial {
    upstream: Option<expect::ObservedMessage>,
    client: Option<expect::ObservedMessage>,
    local_reply: Option<expect::ObservedLocalReply>,
    connection: Option<expect::ObservedConnection>,
    reset: Option<String>,
    stalled: bool,
}

fn run_action(host: &mut Host, action: &Action) -> Result<Partial, HarnessError> {
    match action {
        Action::Http { request, response } => {
            let ex = host::exchange(
                host,
                request,
                request.body.as_deref().map(str::as_bytes),
                response_parts(response),
            )?;
            Ok(Partial {
                upstream: ex.upstream,
                client: Some(ex.client),
                local_reply: ex.local_reply,
                connection: None,
                reset: ex.reset,
                stalled: ex.stalled,
            })
        }
        Action::Connection(c) => Ok(Partial {
            connection: Some(connection(host, c)?),
            ..Default::default()
        }),
        Action::AdvanceClock(d) => {
            host.advance_clock(*d)?;
            Ok(Partial::default())
        }
        Action::Check => Ok(Partial::default()),
    }
}

fn response_parts(r: &UpstreamResponse) -> host::UpstreamParts<'_> {
    host::UpstreamParts {
        status: r.status,
        headers: &r.headers.0,
        body: r.body.as_deref().map(str::as_bytes),
        trailers: &r.trailers.0,
    }
}

fn connection(host: &mut Host, c: &Connection) -> Result<expect::ObservedConnection, HarnessError> {
    let chunks: Vec<host::TcpChunk<'_>> = c
        .data
        .iter()
        .filter_map(
            |Chunk {
                 downstream,
                 upstream,
                 end,
             }| match (downstream, upstream) {
                (Some(d), _) => Some(host::TcpChunk::Downstream(d.as_bytes(), *end)),
                (None, Some(u)) => Some(host::TcpChunk::Upstream(u.as_bytes(), *end)),
                (None, None) => None,
            },
        )
        .collect();
    host::tcp(host, &chunks, c.close)
}

fn observe(
    host: &Host,
    partial: Partial,
    logs_before: usize,
    trace: &[String],
    want: &super::format::Expect,
) -> Observation {
    let logs = host.logs();
    let metrics = host::metrics(host);
    let shared_data: BTreeMap<String, Option<Vec<u8>>> = want
        .shared_data
        .keys()
        .map(|k| (k.clone(), host.shared_data(k).map(|(v, _cas)| v)))
        .collect();
    let mut pending = host.pending_http_calls();
    pending.sort_by_key(|c| c.token);
    let pending_http_calls = pending
        .iter()
        .map(|c| expect::ObservedCall {
            cluster: c.cluster.clone(),
            headers: c.headers.clone(),
            body: c.body.clone(),
        })
        .collect();
    Observation {
        upstream: partial.upstream,
        client: partial.client,
        local_reply: partial.local_reply,
        logs: host::log_lines(logs.get(logs_before..).unwrap_or_default()),
        metrics,
        shared_data,
        trace: trace.to_vec(),
        pending_http_calls,
        reset: partial.reset,
        stalled: partial.stalled,
        vm_failure: host.failure().map(|f| f.to_string()),
        connection: partial.connection,
    }
}
