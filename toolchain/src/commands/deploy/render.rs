//! `cargo wasme render` and `cargo wasme crd`: FilterDeployment streams (files, directories,
//! stdin, or a KRM ResourceList) → Istio resources, and the FilterDeployment CRD.

use cargo_wasme::deploy::emit;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cargo wasme render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Input: a file, a directory (its *.yaml/*.yml files, sorted) or `-` for stdin. Repeatable.
    /// Default: stdin.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<PathBuf>,
    /// KRM function mode: read a `ResourceList` on stdin, write one on stdout (kustomize/kpt).
    /// Also chosen automatically when stdin holds a single ResourceList.
    #[arg(long)]
    pub krm: bool,
    /// Trust the local store: do not check that the registries have the images. Implied by
    /// KRM function mode, which never uses the network.
    #[arg(long)]
    pub offline: bool,
    /// A registry host that may be reached over plain HTTP or unverified TLS when a document's
    /// `imagePullOptions` asks for it (loopback registries always may). Repeatable. A document
    /// alone can never turn this on: it would expose credentials.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Do not run the configuration check (each filter's module started with the exact
    /// configuration its output hands it, through on_vm_start and on_configure).
    #[arg(long)]
    pub skip_config_check: bool,
    /// Write the node-cache patches for workloads that are not in the input to
    /// DIR/kustomization.yaml, a kustomize Component (list DIR under `components:`).
    #[arg(long, value_name = "DIR", conflicts_with = "krm")]
    pub kustomize: Option<PathBuf>,
}

/// Arguments of `cargo wasme crd`.
#[derive(Debug, clap::Args)]
pub struct CrdArgs {
    /// Print JSON instead of YAML.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cargo wasme render`.
pub fn render(a: RenderArgs) -> anyhow::Result<ExitCode> {
    let ok = emit::render(&emit::RenderRequest {
        files: a.files,
        krm: a.krm,
        offline: a.offline,
        insecure_registries: a.insecure_registries,
        skip_config_check: a.skip_config_check,
        kustomize: a.kustomize,
    })?;
    Ok(crate::commands::exit(ok))
}

/// Runs `cargo wasme crd`.
pub fn crd(a: CrdArgs) -> anyhow::Result<ExitCode> {
    emit::crd(a.json)?;
    Ok(ExitCode::SUCCESS)
}
