//! Running a scenario against the `wasme-harness` host: resolve the module, start the plugin
//! the way Envoy would, run each step, snapshot what happened into an
//! [`Observation`](super::expect::Observation) and check the step's expectations.
//!
//! * `report.rs` — [`ScenarioReport`], [`StepReport`] and their terminal rendering;
//! * `setup.rs` — the plugin settings and the `startup` expectation;
//! * `action.rs` — one step's action and its observation;
//! * `root_id.rs` — the root id when none is given (the image's, as `deploy` chooses it).
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
mod root_id;
mod setup;

pub use report::{ScenarioReport, StepOutcome, StepReport};
pub use root_id::{RootIdChoice, choose_root_id};
pub use setup::plugin_setup;

use super::expect;
use super::format::{Action, Invariant, ModuleSource, Scenario, Step};
use super::parse::LoadedScenario;
use crate::scenario::bridge as host;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use wasme_harness::HarnessError;

/// How scenarios are run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Use this module (a `.wasm` path or an image reference) instead of the scenario's
    /// ([`crate::module_arg::Resolved::load_arg`]).
    pub module_override: Option<String>,
    /// Print the hostcall trace of failing steps.
    pub trace_on_failure: bool,
    /// The image the module was built as, and its root ids, when the module is a file built
    /// from a crate through the image pipeline (`cargo wasme test` sets it): a scenario without
    /// `root_id` then gets the image's first root id, as `deploy` would give it.
    pub built_image: Option<(String, Vec<String>)>,
    /// The configuration schema of that image (or module); when `None`, the one the
    /// scenario's module file or stored image carries. Configurations are checked against it
    /// before the plugin starts ([`crate::config_schema`]).
    pub config_schema: Option<crate::config_schema::ConfigSchema>,
}

/// Runs one scenario. Never panics on bad input: every problem ends up in the report.
///
/// A step that does not run is never passed: when the module cannot be loaded, the plugin does
/// not start (expectedly or not) or an earlier step could not run, each remaining step is
/// reported as [`StepOutcome::NotRun`] with the reason; a scenario with neither steps nor a
/// `startup` expectation checks nothing and fails.
pub fn run(loaded: &LoadedScenario, opts: &Options) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        name: loaded.name(),
        file: loaded.file.clone(),
        setup_error: None,
        steps: Vec::new(),
        duration: Duration::ZERO,
        root_id: None,
        trace_on_failure: opts.trace_on_failure,
    };
    run_into(loaded, opts, &mut report);
    report.duration = started.elapsed();
    report
}

/// The root id of the scenario's plugin: its `root_id`, else the first root id of the image
/// the module comes from (as `deploy` chooses it), else unset.
fn scenario_root_id(s: &Scenario, opts: &Options) -> RootIdChoice {
    if let Some(r) = &s.root_id {
        return RootIdChoice::given(r, "the scenario's `root_id`");
    }
    if let Some(arg) = &opts.module_override {
        return match &opts.built_image {
            Some((image, ids)) => RootIdChoice::from_image(image, ids),
            None => choose_root_id(None, arg),
        };
    }
    match (&s.module, &opts.built_image) {
        (ModuleSource::Image(reference), _) => choose_root_id(None, reference),
        (_, Some((image, ids))) => RootIdChoice::from_image(image, ids),
        _ => RootIdChoice::unset(),
    }
}

fn run_into(loaded: &LoadedScenario, opts: &Options, report: &mut ScenarioReport) {
    let s = &loaded.scenario;
    if s.steps.is_empty() && s.startup.is_none() {
        report.setup_error = Some(
            "the scenario checks nothing: it has no steps and no `startup` expectation \
             (add steps, or `startup: {fails: true}` for a configuration the plugin must refuse)"
                .to_string(),
        );
        return;
    }
    if !s.invariants.is_empty()
        && !s
            .steps
            .iter()
            .any(|st| matches!(st.action, Action::Http { .. }))
    {
        report.setup_error = Some(
            "the scenario declares `invariants` but no step sends a request to check them on \
             (add a step with `request:`)"
                .to_string(),
        );
        return;
    }
    // Counting instructions needs the metering engine; the others run on the plain one.
    let engine = if s
        .steps
        .iter()
        .any(|st| st.expect.instructions_at_most.is_some())
    {
        host::Engine::Metered
    } else {
        host::Engine::Plain
    };
    let module = match &opts.module_override {
        Some(arg) => host::load_module_arg_on(arg, engine),
        None => host::load_module_on(&s.module, loaded.base_dir(), engine),
    };
    let module = match module {
        Ok(m) => m,
        Err(e) => {
            report.setup_error = Some(format!("{}: module: {e}", loaded.locate_key("module")));
            not_run_all(
                s,
                report,
                "the module could not be loaded (see the error above)",
            );
            return;
        }
    };
    let root_id = scenario_root_id(s, opts);
    let mut settings = setup::plugin_setup(s);
    if let Some(error) = schema_rejects(loaded, opts, &settings) {
        report.setup_error = Some(error);
        not_run_all(
            s,
            report,
            "the configuration schema rejects the configuration",
        );
        return;
    }
    settings.root_id = root_id.root_id.clone();
    // A repeated step would record its hostcalls thousands of times: the trace is kept only
    // when something reads it.
    let repeats = s.steps.iter().any(|st| st.repeat > 1);
    let trace_read = s
        .steps
        .iter()
        .any(|st| !st.expect.trace.is_empty() || !st.expect.trace_absent.is_empty());
    settings.trace = !repeats || trace_read || opts.trace_on_failure;
    report.root_id = Some(root_id);
    let built = host::build_host(&module, &settings);
    let mut host = match (built, &s.startup) {
        (Ok(host), None) => host,
        (Ok(host), Some(startup)) => {
            let logs = host::log_lines(host.logs());
            let step = setup::startup_step(startup.fails, &startup.logs, None, &logs);
            report.steps.push(step);
            if startup.fails {
                not_run_all(
                    s,
                    report,
                    "start-up was expected to fail (`startup: {fails: true}`) but the plugin \
                     started, so the steps' expectations would not test what this scenario is \
                     about; fix the configuration or the `startup` expectation",
                );
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
            let why = if startup.fails {
                "the plugin was not installed because start-up failed as expected (Envoy \
                 rejects such a plugin and serves no traffic through it), so this step can \
                 never be checked; move it to a scenario whose plugin starts"
                    .to_string()
            } else {
                format!("the plugin failed to start: {err}")
            };
            not_run_all(s, report, &why);
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
            not_run_all(
                s,
                report,
                &format!(
                    "the plugin failed to start: {err} — add `startup: {{fails: true}}` if that \
                     is expected"
                ),
            );
            return;
        }
    };
    let mut not_run: Option<String> = None;
    for (index, step) in s.steps.iter().enumerate() {
        let name = step_name(step);
        if let Some(why) = &not_run {
            report.steps.push(StepReport {
                name,
                outcome: StepOutcome::NotRun(why.clone()),
                duration: Duration::ZERO,
                trace: Vec::new(),
            });
            continue;
        }
        let t0 = Instant::now();
        let (outcome, trace, error) = run_step(&mut host, step, &s.invariants, settings.trace);
        if let Some(e) = error {
            not_run = Some(format!(
                "step {} could not run ({e}), and the steps after it depend on the state it \
                 would have left",
                index + 1
            ));
        }
        let keep_trace = !matches!(outcome, StepOutcome::Passed);
        report.steps.push(StepReport {
            name,
            outcome,
            duration: t0.elapsed(),
            trace: if keep_trace { trace } else { Vec::new() },
        });
    }
}

/// Why a repeat of a step stopped the step.
enum Stop {
    /// Expectations failed.
    Failed(Vec<expect::Mismatch>),
    /// The action could not run.
    Error(HarnessError),
}

/// The most trace lines a failing repeated step keeps (its last ones).
const REPEATED_TRACE_TAIL: usize = 400;

/// Runs one step (every repeat of it) and checks its expectations and the scenario's
/// invariants; the outcome, the step's hostcall trace, and the harness's error when the step
/// could not run.
fn run_step(
    host: &mut wasme_harness::Host,
    step: &Step,
    invariants: &[Invariant],
    trace_on: bool,
) -> (StepOutcome, Vec<String>, Option<String>) {
    for (cluster, c) in &step.clusters {
        host::script_cluster(host, cluster, &setup::scripted(c));
    }
    // Each repeat's own trace lines, when something reads them (copying every repeat's lines
    // for nothing adds up over thousands of repeats); else one look at the end.
    let per_repeat_trace = trace_on
        && (step.repeat == 1
            || !step.expect.trace.is_empty()
            || !step.expect.trace_absent.is_empty());
    let step_trace_start = if trace_on && !per_repeat_trace {
        host.trace().len()
    } else {
        0
    };
    let mut last_trace = Vec::new();
    let mut play = |i: u32| -> Result<usize, Stop> {
        let logs_before = host.logs().len();
        let trace_before = if per_repeat_trace {
            host.trace().len()
        } else {
            0
        };
        let fuel_before = (host.fuel_consumed(), host.reloads());
        let result = action::run_action(host, &step.action);
        let trace: Vec<String> = if per_repeat_trace {
            host.trace()
                .get(trace_before..)
                .unwrap_or_default()
                .to_vec()
        } else {
            Vec::new()
        };
        let mut partial = result.map_err(Stop::Error)?;
        let exchange = partial.harness.take();
        let mut obs = action::observe(host, partial, logs_before, &trace, &step.expect);
        obs.instructions = Some(instructions(
            &step.action,
            fuel_before,
            (host.fuel_consumed(), host.reloads()),
        ));
        last_trace = trace;
        let mut mismatches = expect::check(&step.expect, &obs);
        if let Some(ex) = &exchange {
            for Invariant(rule) in invariants {
                if let Err(detail) = rule.check(ex) {
                    mismatches.push(expect::Mismatch {
                        field: format!("invariants[{rule}]"),
                        expected: format!("every request keeps `{rule}`"),
                        actual: detail,
                        context: None,
                    });
                }
            }
        }
        if mismatches.is_empty() {
            return Ok(host.guest_memory_bytes());
        }
        if step.repeat > 1 {
            for m in &mut mismatches {
                let note = format!(
                    "    at repeat {} of {} (the earlier ones passed)\n",
                    i + 1,
                    step.repeat
                );
                m.context = Some(note + m.context.as_deref().unwrap_or(""));
            }
        }
        Err(Stop::Failed(mismatches))
    };
    let result = match &step.expect.guest_memory {
        Some(want) => wasme_harness::fuzz::measure_growth(step.repeat, &mut play)
            .map(|growth| expect::check_guest_memory(want, &growth)),
        None => (0..step.repeat)
            .try_for_each(|i| play(i).map(drop))
            .map(|()| Vec::new()),
    };
    let trace = if per_repeat_trace {
        last_trace
    } else if trace_on && !matches!(&result, Ok(m) if m.is_empty()) {
        let all = host.trace();
        let lines = all.get(step_trace_start..).unwrap_or_default();
        lines[lines.len().saturating_sub(REPEATED_TRACE_TAIL)..].to_vec()
    } else {
        Vec::new()
    };
    match result {
        Ok(m) if m.is_empty() => (StepOutcome::Passed, trace, None),
        Ok(m) | Err(Stop::Failed(m)) => (StepOutcome::Failed(m), trace, None),
        Err(Stop::Error(e)) => (
            StepOutcome::Error(format!("the step could not run: {e}")),
            trace,
            Some(e.to_string()),
        ),
    }
}

/// The instructions an action executed, from the VM's (instruction count, reloads) before and
/// after it, or why they could not be counted.
fn instructions(
    action: &Action,
    before: (Option<u64>, u32),
    after: (Option<u64>, u32),
) -> Result<u64, String> {
    if matches!(action, Action::Check) {
        return Err(
            "this step runs no filter code (it has no `request`, `connection` or \
                    `advance_clock`)"
                .into(),
        );
    }
    if before.1 != after.1 {
        // A new VM counts from zero: the old one's instructions are lost.
        return Err("the VM failed and was reloaded (`fail_reload`) during the step".into());
    }
    match (before.0, after.0) {
        (Some(a), Some(b)) => Ok(b.saturating_sub(a)),
        _ => Err("the module was not compiled on the instruction-counting engine".into()),
    }
}

/// Reports every step of the scenario as not run, for `why`.
/// The configuration schema's verdict on the scenario's configurations (`config`,
/// `worker_config`), checked before the plugin starts as `deploy` checks them: `Some(error)`
/// naming the scenario line and the JSON pointers when it rejects one. A scenario that expects
/// start-up to fail tests the filter's own refusal, so the filter still runs.
fn schema_rejects(
    loaded: &LoadedScenario,
    opts: &Options,
    setup: &host::PluginSetup,
) -> Option<String> {
    let s = &loaded.scenario;
    if s.startup.as_ref().is_some_and(|st| st.fails) {
        return None;
    }
    let schema = match (&opts.config_schema, &opts.module_override, &s.module) {
        (Some(schema), _, _) => Ok(Some(schema.clone())),
        (None, Some(arg), _) => schema_of_module_arg(arg),
        (None, None, ModuleSource::Path(p)) => {
            schema_of_module_arg(&loaded.base_dir().join(p).display().to_string())
        }
        (None, None, ModuleSource::Image(r)) => schema_of_module_arg(r),
        (None, None, ModuleSource::Crate { .. }) => Ok(None),
    };
    let schema = match schema {
        Ok(Some(schema)) => schema,
        Ok(None) => return None,
        Err(e) => return Some(format!("{}: module: {e}", loaded.locate_key("module"))),
    };
    for (key, config) in [
        ("config", &setup.config),
        ("worker_config", &setup.worker_config),
    ] {
        if let Some(Err(v)) = config.as_deref().map(|c| schema.check(c)) {
            // At the value in the scenario file when it is there, else at the key's line.
            let tokens = v.first().map(|first| first.path()).unwrap_or_default();
            let path: Vec<&str> = std::iter::once(key)
                .chain(tokens.iter().map(String::as_str))
                .collect();
            let at = match crate::config_schema::locate_yaml(&loaded.text, &path) {
                Some((line, column)) => format!("{}:{line}:{column}", loaded.file.display()),
                None => loaded.locate_key(key),
            };
            return Some(format!(
                "{at}: {key}: the configuration schema recorded in the image rejects it (`deploy` \
                 refuses it too; the filter was not started): {}",
                crate::config_schema::describe(&v)
            ));
        }
    }
    None
}

fn not_run_all(s: &Scenario, report: &mut ScenarioReport, why: &str) {
    for step in &s.steps {
        report.steps.push(StepReport {
            name: step_name(step),
            outcome: StepOutcome::NotRun(why.to_string()),
            duration: Duration::ZERO,
            trace: Vec::new(),
        });
    }
}

fn step_name(step: &super::format::Step) -> String {
    step.name
        .clone()
        .unwrap_or_else(|| default_step_name(&step.action))
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

/// The configuration schema of a module (it lives here, not in `config_schema`, which the store
/// itself uses: this one reads the store).
///
/// The schema of a module named as `run` and `test` name one: a `.wasm` file (the schema it
/// carries itself) or an image in the local store (the schema its config blob records);
/// `None` when there is none or the image is not in the store (loading it reports that).
fn schema_of_module_arg(
    arg: &str,
) -> Result<Option<crate::config_schema::ConfigSchema>, crate::config_schema::SchemaError> {
    let path = std::path::Path::new(arg);
    if path.is_file() {
        let module = std::fs::read(path)
            .map_err(|e| crate::config_schema::SchemaError::Module(e.to_string()))?;
        return crate::config_schema::of_module(&module);
    }
    let image = match crate::store::Store::open_default_existing() {
        Ok(Some(store)) => store.resolve_local(arg).ok(),
        _ => None,
    };
    match image {
        Some(image) => crate::config_schema::of_image(image.format, &image.config_bytes),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn instructions_are_counted_only_when_they_can_be() {
        let tick = Action::AdvanceClock(Duration::from_secs(1));
        assert_eq!(instructions(&tick, (Some(10), 0), (Some(250), 0)), Ok(240));
        let e = instructions(&Action::Check, (Some(10), 0), (Some(10), 0)).unwrap_err();
        assert!(e.contains("runs no filter code"), "{e}");
        let e = instructions(&tick, (Some(10), 0), (Some(3), 1)).unwrap_err();
        assert!(e.contains("reloaded"), "{e}");
        let e = instructions(&tick, (None, 0), (None, 0)).unwrap_err();
        assert!(e.contains("instruction-counting engine"), "{e}");
    }
}
