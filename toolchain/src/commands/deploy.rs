//! CLI glue: deploy, undeploy, render and crd.
use std::process::ExitCode;

/// `cargo wasme deploy <target>`.
#[derive(Debug, clap::Subcommand)]
pub enum DeployCommand {
    /// Istio manifests (WasmPlugin, TrafficExtension or EnvoyFilter).
    Istio {},
}

/// `cargo wasme undeploy <target>`.
#[derive(Debug, clap::Subcommand)]
pub enum UndeployCommand {
    /// Istio deletions.
    Istio {},
}

/// Arguments of `cargo wasme render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {}

/// Arguments of `cargo wasme crd`.
#[derive(Debug, clap::Args)]
pub struct CrdArgs {}

/// Runs `cargo wasme deploy`.
pub fn deploy(_c: DeployCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme deploy` is not built yet")
}
/// Runs `cargo wasme undeploy`.
pub fn undeploy(_c: UndeployCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme undeploy` is not built yet")
}
/// Runs `cargo wasme render`.
pub fn render(_a: RenderArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme render` is not built yet")
}
/// Runs `cargo wasme crd`.
pub fn crd(_a: CrdArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cargo wasme crd` is not built yet")
}
