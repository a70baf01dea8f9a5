//! CLI glue: build commands.
use std::process::ExitCode;

/// Arguments of `cargo wasme build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {}

/// Runs `cargo wasme build`.
pub fn build(_args: BuildArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme build` is not built yet")
}

/// Arguments of `cargo wasme package`.
#[derive(Debug, clap::Args)]
pub struct PackageArgs {}

/// Runs `cargo wasme package`.
pub fn package(_args: PackageArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme package` is not built yet")
}
