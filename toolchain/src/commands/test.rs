//! CLI glue: `cargo wasme test`.

use super::args::CargoFlags;
use anyhow::{Context, bail};
use cargo_wasme::module_arg::{self, ModuleArg};
use cargo_wasme::scenario::{self, exec, suite};
use std::path::PathBuf;
use std::process::ExitCode;

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
    let build = args.cargo.options(None, None);
    let mut opts = exec::Options {
        trace_on_failure: args.trace,
        ..Default::default()
    };
    if let Some(m) = &args.module {
        let arg = ModuleArg {
            module: Some(m.clone()),
            ..ModuleArg::default()
        };
        let resolved = module_arg::resolve(&arg, &build)?;
        opts.module_override = Some(resolved.load_arg());
        opts.built_image = resolved.built_image;
        opts.config_schema = resolved.config_schema;
    }
    let report = suite::run(&files, &opts, &build);
    report.emit_summary();
    if let Some(path) = &args.junit {
        std::fs::write(path, scenario::junit::render(&report.reports))
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
