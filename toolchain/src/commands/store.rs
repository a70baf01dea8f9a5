//! CLI glue: store commands.
use std::process::ExitCode;

/// Arguments of `cargo wasme images`.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {}

/// Runs `cargo wasme images`.
pub fn images(_args: ImagesArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme images` is not built yet")
}

/// Arguments of `cargo wasme tag`.
#[derive(Debug, clap::Args)]
pub struct TagArgs {}

/// Runs `cargo wasme tag`.
pub fn tag(_args: TagArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme tag` is not built yet")
}

/// Arguments of `cargo wasme rmi`.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {}

/// Runs `cargo wasme rmi`.
pub fn rmi(_args: RmiArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme rmi` is not built yet")
}

/// Arguments of `cargo wasme inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {}

/// Runs `cargo wasme inspect`.
pub fn inspect(_args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme inspect` is not built yet")
}

/// Arguments of `cargo wasme export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {}

/// Runs `cargo wasme export`.
pub fn export(_args: ExportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme export` is not built yet")
}
