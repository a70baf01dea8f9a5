//! Running a set of scenario files, as `cargo wasme test` does: each file is parsed and run;
//! each filter crate a scenario names (`module: {crate: DIR}`) is built once, through the
//! pipeline `cargo wasme build` uses ([`build_crate`]), and every scenario naming it runs those
//! exact bytes. Each report is printed as it completes ([`emit_report`]), then the summary
//! ([`SuiteReport::emit_summary`]).
//!
//! ```no_run
//! use cargo_wasme::build::BuildOptions;
//! use cargo_wasme::scenario::{exec, suite};
//! let files = vec!["filters/add-header/scenarios/basic.yaml".into()];
//! let report = suite::run(&files, &exec::Options::default(), &BuildOptions::default());
//! report.emit_summary();
//! assert!(report.passed());
//! ```

use super::exec::{self, ScenarioReport, StepOutcome};
use super::format::ModuleSource;
use super::parse;
use crate::build::{BuildOptions, build_crate};
use crate::shell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The reports of a run of scenario files, and where the time went.
#[derive(Debug)]
pub struct SuiteReport {
    /// One report per file, in order.
    pub reports: Vec<ScenarioReport>,
    /// Files that could not be read or parsed.
    pub unreadable_files: usize,
    /// Time spent building filter crates.
    pub build_time: Duration,
    /// Time spent running scenarios (the rest).
    pub scenario_time: Duration,
}

impl SuiteReport {
    /// Whether every scenario passed (and there was at least one file).
    pub fn passed(&self) -> bool {
        self.reports.iter().all(ScenarioReport::passed)
    }

    /// Prints the summary: the `test-summary` JSON object, then the `test result:` line.
    pub fn emit_summary(&self) {
        let passed = self.reports.iter().filter(|r| r.passed()).count();
        let total = self.reports.len();
        let steps: usize = self.reports.iter().map(|r| r.steps.len()).sum();
        let bad_files = self.unreadable_files;
        shell::json(
            "test-summary",
            &serde_json::json!({
                "ok": passed == total,
                "scenarios": total,
                "passed": passed,
                "failed": total - passed,
                "steps": steps,
                "unreadable_files": bad_files,
                "build_seconds": self.build_time.as_secs_f64(),
                "scenario_seconds": self.scenario_time.as_secs_f64(),
            }),
        );
        shell::result(format_args!(
            "\ntest result: {}. {passed} of {total} scenario(s) passed ({steps} step(s)){}; build {:.2}s, scenarios {:.2}s",
            if passed == total { "ok" } else { "FAILED" },
            if bad_files > 0 {
                format!("; {bad_files} file(s) could not be read")
            } else {
                String::new()
            },
            self.build_time.as_secs_f64(),
            self.scenario_time.as_secs_f64(),
        ));
    }
}

/// Runs every file with `opts`; filter crates are built with `build` (its `path` and
/// `package` replaced by each crate's). Never fails: every problem is in a report.
pub fn run(files: &[PathBuf], opts: &exec::Options, build: &BuildOptions) -> SuiteReport {
    let mut reports = Vec::new();
    let mut unreadable_files = 0;
    type Built = (
        PathBuf,
        (String, Vec<String>),
        Option<crate::config_schema::ConfigSchema>,
    );
    let mut builds: HashMap<(PathBuf, Option<String>), Result<Built, String>> = HashMap::new();
    let mut build_time = Duration::ZERO;
    let started = Instant::now();
    for file in files {
        let mut loaded = match parse::load(file) {
            Ok(loaded) => loaded,
            Err(e) => {
                shell::error(&e, None);
                unreadable_files += 1;
                let report = ScenarioReport::invalid(file, &e.to_string());
                if shell::is_json() {
                    emit_report(&report);
                }
                reports.push(report);
                continue;
            }
        };
        let mut opts = opts.clone();
        if let (None, ModuleSource::Crate { dir, package }) =
            (&opts.module_override, &loaded.scenario.module)
        {
            let dir = loaded.base_dir().join(dir);
            let dir = dir.canonicalize().unwrap_or(dir);
            let key = (dir, package.clone());
            let built = builds.entry(key.clone()).or_insert_with(|| {
                let t = Instant::now();
                let r = build_crate(&BuildOptions {
                    path: Some(key.0.clone()),
                    package: key.1.clone(),
                    ..build.clone()
                })
                .map(|b| (b.module.path, (b.tag, b.root_ids), b.config_schema))
                .map_err(|e| {
                    format!(
                        "building the filter crate {}: {}",
                        key.0.display(),
                        shell::chain(&e)
                    )
                });
                build_time += t.elapsed();
                r
            });
            match built {
                Ok((path, image, schema)) => {
                    loaded.scenario.module = ModuleSource::Path(path.clone());
                    opts.built_image = Some(image.clone());
                    opts.config_schema = schema.clone();
                }
                Err(e) => {
                    let report = ScenarioReport::invalid(file, e);
                    emit_report(&report);
                    reports.push(report);
                    continue;
                }
            }
        }
        let report = exec::run(&loaded, &opts);
        if let Some(root_id) = &report.root_id {
            shell::status("Root id", format!("{root_id} for {}", report.name));
        }
        emit_report(&report);
        reports.push(report);
    }
    SuiteReport {
        reports,
        unreadable_files,
        build_time,
        scenario_time: started.elapsed().saturating_sub(build_time),
    }
}

/// Prints one scenario's result: its text in human mode; with `--message-format json` one
/// `test-step` object per step, then a `test-scenario` object.
pub fn emit_report(report: &ScenarioReport) {
    if !shell::is_json() {
        print!("{}", report.render());
        return;
    }
    for (i, step) in report.steps.iter().enumerate() {
        let (outcome, messages): (&str, Vec<String>) = match &step.outcome {
            StepOutcome::Passed => ("passed", Vec::new()),
            StepOutcome::Failed(ms) => ("failed", ms.iter().map(|m| m.render()).collect()),
            StepOutcome::Error(e) => ("error", vec![e.clone()]),
            StepOutcome::NotRun(why) => ("not-run", vec![why.clone()]),
        };
        shell::json(
            "test-step",
            &serde_json::json!({
                "scenario": report.name,
                "file": report.file,
                "index": i + 1,
                "name": step.name,
                "outcome": outcome,
                "messages": messages,
                "seconds": step.duration.as_secs_f64(),
            }),
        );
    }
    shell::json(
        "test-scenario",
        &serde_json::json!({
            "name": report.name,
            "file": report.file,
            "outcome": if report.passed() { "passed" } else { "failed" },
            "setup_error": report.setup_error,
            "steps": report.steps.len(),
            "failures": report.failure_count(),
            "errors": report.error_count(),
            "seconds": report.duration.as_secs_f64(),
        }),
    );
}

/// Why `cargo wasme test` found no scenario files to run, or could not write its report.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A file or directory named (or the crate) could not be searched.
    #[error(transparent)]
    Discover(#[from] super::discover::DiscoverError),
    /// The current directory cannot be determined.
    #[error("finding the current directory")]
    CurrentDir(#[source] std::io::Error),
    /// No file was named and the crate has no scenario files.
    #[error(
        "no scenario files found: looked for scenarios/*.yaml and *.scenario.yaml in the crate at {} \
         (create one, e.g. with `cargo wasme init`, or name files on the command line)",
        .0.display()
    )]
    NoScenarios(PathBuf),
    /// The JUnit report cannot be written.
    #[error("writing the JUnit report {}", path.display())]
    WriteJunit {
        /// The report's path.
        path: PathBuf,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
}

/// The scenario files `cargo wasme test` runs: those named (directories expanded), else the
/// crate's `scenarios/*.yaml` and `*.scenario.yaml` around the current directory.
pub fn files(named: &[PathBuf]) -> Result<Vec<PathBuf>, SuiteError> {
    if !named.is_empty() {
        return Ok(super::discover::expand(named)?);
    }
    let cwd = std::env::current_dir().map_err(SuiteError::CurrentDir)?;
    let found = super::discover::default_scenarios(&cwd)?;
    if found.is_empty() {
        return Err(SuiteError::NoScenarios(
            super::discover::crate_root(&cwd).unwrap_or(cwd),
        ));
    }
    Ok(found)
}

/// `cargo wasme test`: runs `files`, prints the summary, writes the JUnit report when asked;
/// `Ok(true)` when every scenario passed.
pub fn run_and_report(
    files: &[PathBuf],
    opts: &exec::Options,
    build: &BuildOptions,
    junit: Option<&std::path::Path>,
) -> Result<bool, SuiteError> {
    let report = run(files, opts, build);
    report.emit_summary();
    if let Some(path) = junit {
        std::fs::write(path, super::junit::render(&report.reports)).map_err(|source| {
            SuiteError::WriteJunit {
                path: path.to_path_buf(),
                source,
            }
        })?;
    }
    Ok(report.passed())
}
