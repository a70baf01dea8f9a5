//! CLI glue: author commands.
use std::process::ExitCode;

/// Arguments of `cargo wasme init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {}

/// Runs `cargo wasme init`.
pub fn init(_args: InitArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme init` is not built yet")
}

/// Arguments of `cargo wasme run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Runs `cargo wasme run`.
pub fn run(_args: RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme run` is not built yet")
}

/// Arguments of `cargo wasme test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {}

/// Runs `cargo wasme test`.
pub fn test(_args: TestArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme test` is not built yet")
}
