//! CLI glue: registry commands.
use std::process::ExitCode;

/// Arguments of `cargo wasme push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {}

/// Runs `cargo wasme push`.
pub fn push(_args: PushArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme push` is not built yet")
}

/// Arguments of `cargo wasme pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {}

/// Runs `cargo wasme pull`.
pub fn pull(_args: PullArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme pull` is not built yet")
}

/// Arguments of `cargo wasme login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {}

/// Runs `cargo wasme login`.
pub fn login(_args: LoginArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme login` is not built yet")
}

/// Arguments of `cargo wasme logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {}

/// Runs `cargo wasme logout`.
pub fn logout(_args: LogoutArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme logout` is not built yet")
}
