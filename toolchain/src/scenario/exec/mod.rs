//! Running a scenario against the `wasme-harness` host: resolve the module, start the plugin
//! the way Envoy would, run each step, snapshot what happened into an
//! [`Observation`](super::expect::Observation) and check the step's expectations.
//!
//! * `report.rs` — [`ScenarioReport`], [`StepReport`] and their terminal rendering;
//! * `setup.rs` — the plugin settings and the `startup` expectation;
//! * `action.rs` — one step's action and its observation.
//!
//! ```no_run
//! use cargo_wasme::scenario::{exec, parse};
//! let loaded = parse::load("filters/add-header/scenarios/basic.yaml")?;
//! let report = exec::run(&loaded, &exec::Options::default());
//! print!("{}", report.render());
//! assert!(report.passed());
//! # Ok::<(), parse::ScenarioError>(())
//! ```

mod action;
mod report;
mod setup;

pub use report::{ScenarioReport, StepOutcome, StepReport};
pub use setup::plugin_setup;

use super::expect;
use super::format::Action;
use super::parse::LoadedScenario;
use crate::scenario::bridge as host;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use wasme_harness::HarnessError;

/// How scenarios are run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Use this module (a `.wasm` path or an image reference) instead of the scenario's.
    pub module_override: Option<String>,
    /// Print the hostcall trace of failing steps.
    pub trace_on_failure: bool,
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
    let settings = setup::plugin_setup(s);
    let built = host::build_host(&module, &settings);
    let mut host = match (built, &s.startup) {
        (Ok(host), None) => host,
        (Ok(host), Some(startup)) => {
            let logs = host::log_lines(host.logs());
            let step = setup::startup_step(startup.fails, &startup.logs, None, &logs);
            report.steps.push(step);
            if startup.fails {
                return;
            }
            host
        }
        (Err(err), Some(startup)) => {
            let logs = setup::startup_logs(&err);
            report.steps.push(setup::startup_step(
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
            let logs = setup::startup_logs(&err);
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
            host::script_cluster(&mut host, cluster, &setup::scripted(c));
        }
        let result = action::run_action(&mut host, &step.action);
        let trace: Vec<String> = host
            .trace()
            .get(trace_before..)
            .unwrap_or_default()
            .to_vec();
        let outcome = match result {
            Ok(partial) => {
                let obs = action::observe(&host, partial, logs_before, &trace, &step.expect);
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
