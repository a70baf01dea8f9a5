//! `cargo wasme test`: flags only; the files and the run are `cargo_wasme::scenario::suite`.

use super::args::CargoFlags;
use cargo_wasme::module_arg::{self, ModuleArg};
use cargo_wasme::scenario::{exec, suite};
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
        let schema = cargo_wasme::scenario::json_schema();
        println!("{}", serde_json::to_string_pretty(&schema)?);
        return Ok(ExitCode::SUCCESS);
    }
    let files = suite::files(&args.scenarios)?;
    let build = args.cargo.options(None, None);
    let mut opts = exec::Options {
        trace_on_failure: args.trace,
        ..Default::default()
    };
    if let Some(m) = args.module {
        let arg = ModuleArg {
            module: Some(m),
            ..ModuleArg::default()
        };
        let resolved = module_arg::resolve(&arg, &build)?;
        opts.module_override = Some(resolved.load_arg());
        opts.built_image = resolved.built_image;
        opts.config_schema = resolved.config_schema;
    }
    let passed = suite::run_and_report(&files, &opts, &build, args.junit.as_deref())?;
    Ok(crate::commands::exit(passed))
}
