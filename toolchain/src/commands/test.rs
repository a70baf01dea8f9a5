//! CLI glue: `cargo wasme test`.

use super::build::CargoFlags;
use super::run::build_crate;
use anyhow::{Context, bail};
use cargo_wasme::scenario::format::ModuleSource;
use cargo_wasme::scenario::{self, exec, parse};
use cargo_wasme::shell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `cargo wasme test`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without SCENARIO arguments, runs scenarios/*.yaml and *.scenario.yaml \
files of the crate in the current directory (searched up to its Cargo.toml).\n\
Scenario format: see the README's \"Scenario files\" section and the JSON schema \
(`cargo wasme test --print-schema`)."
)]
pub struct TestArgs {
    /// Scenario files or directories holding them.
    pub scenarios: Vec<PathBuf>,
    /// Write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run every scenario with this module instead of the one the file names.
    #[arg(long, value_name = "MODULE|IMAGE")]
    pub module: Option<String>,
    /// Print the hostcall trace of failing steps.
    #[arg(long)]
    pub trace: bool,
    /// Print the JSON schema of scenario files and exit.
    #[arg(long, exclusive = true)]
    pub print_schema: bool,
    /// How the filter crates scenarios name (`module: {crate: DIR}`) are compiled.
    #[command(flatten)]
    pub cargo: CargoFlags,
}

/// Prints one scenario's result: its text in human mode; with `--message-format json` one
/// `test-step` object per step, then a `test-scenario` object.
fn emit_report(report: &exec::ScenarioReport) {
    if !shell::is_json() {
        print!("{}", report.render());
        return;
    }
    for (i, step) in report.steps.iter().enumerate() {
        let (outcome, messages): (&str, Vec<String>) = match &step.outcome {
            exec::StepOutcome::Passed => ("passed", Vec::new()),
            exec::StepOutcome::Failed(ms) => ("failed", ms.iter().map(|m| m.render()).collect()),
            exec::StepOutcome::Error(e) => ("error", vec![e.clone()]),
            exec::StepOutcome::NotRun(why) => ("not-run", vec![why.clone()]),
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
            "setupError": report.setup_error,
            "steps": report.steps.len(),
            "failures": report.failure_count(),
            "errors": report.error_count(),
            "seconds": report.duration.as_secs_f64(),
        }),
    );
}

/// Runs `cargo wasme test`.
pub fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    if args.print_schema {
        println!(
            "{}",
            serde_json::to_string_pretty(&scenario::json_schema())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let files = if args.scenarios.is_empty() {
        let cwd = std::env::current_dir().context("finding the current directory")?;
        let found = scenario::discover::default_scenarios(&cwd)?;
        if found.is_empty() {
            bail!(
                "no scenario files found: looked for scenarios/*.yaml and *.scenario.yaml in the crate at {} \
                 (create one, e.g. with `cargo wasme init`, or name files on the command line)",
                scenario::discover::crate_root(&cwd)
                    .unwrap_or(cwd)
                    .display()
            );
        }
        found
    } else {
        scenario::discover::expand(&args.scenarios)?
    };
    let opts = exec::Options {
        module_override: args.module.clone(),
        trace_on_failure: args.trace,
        ..Default::default()
    };
    let mut reports = Vec::new();
    let mut bad_files = 0;
    // Each filter crate is built once, through the pipeline `cargo wasme build` uses, and every
    // scenario naming it runs those exact bytes.
    type Built = (PathBuf, (String, Vec<String>));
    let mut builds: HashMap<(PathBuf, Option<String>), Result<Built, String>> = HashMap::new();
    let mut build_time = Duration::ZERO;
    let started = Instant::now();
    for file in &files {
        match parse::load(file) {
            Ok(mut loaded) => {
                let mut opts = opts.clone();
                if let (None, ModuleSource::Crate { dir, package }) =
                    (&args.module, &loaded.scenario.module)
                {
                    let dir = loaded.base_dir().join(dir);
                    let dir = dir.canonicalize().unwrap_or(dir);
                    let key = (dir, package.clone());
                    let built = builds.entry(key.clone()).or_insert_with(|| {
                        let t = Instant::now();
                        let r = build_crate(&args.cargo, &key.0, key.1.clone())
                            .map(|b| (b.module.path, (b.tag, b.root_ids)))
                            .map_err(|e| {
                                format!("building the filter crate {}: {e:#}", key.0.display())
                            });
                        build_time += t.elapsed();
                        r
                    });
                    match built {
                        Ok((path, image)) => {
                            loaded.scenario.module = ModuleSource::Path(path.clone());
                            opts.built_image = Some(image.clone());
                        }
                        Err(e) => {
                            let report = exec::ScenarioReport::invalid(file, e);
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
            Err(e) => {
                shell::error(&e, None);
                bad_files += 1;
                let report = exec::ScenarioReport::invalid(file, &e.to_string());
                if shell::is_json() {
                    emit_report(&report);
                }
                reports.push(report);
            }
        }
    }
    let scenario_time = started.elapsed().saturating_sub(build_time);
    let passed = reports.iter().filter(|r| r.passed()).count();
    let steps: usize = reports.iter().map(|r| r.steps.len()).sum();
    shell::json(
        "test-summary",
        &serde_json::json!({
            "ok": passed == reports.len(),
            "scenarios": reports.len(),
            "passed": passed,
            "failed": reports.len() - passed,
            "steps": steps,
            "unreadableFiles": bad_files,
            "buildSeconds": build_time.as_secs_f64(),
            "scenarioSeconds": scenario_time.as_secs_f64(),
        }),
    );
    shell::result(format_args!(
        "\ntest result: {}. {passed} of {} scenario(s) passed ({steps} step(s)){}; build {:.2}s, scenarios {:.2}s",
        if passed == reports.len() {
            "ok"
        } else {
            "FAILED"
        },
        reports.len(),
        if bad_files > 0 {
            format!("; {bad_files} file(s) could not be read")
        } else {
            String::new()
        },
        build_time.as_secs_f64(),
        scenario_time.as_secs_f64(),
    ));
    if let Some(path) = &args.junit {
        std::fs::write(path, scenario::junit::render(&reports))
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    Ok(if passed == reports.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
