//! `deploy`, `undeploy`, `render` and `crd`: flags only. The requests are checked in
//! `cargo_wasme::deploy::request`, and pinned, generated, dry-run and printed (or applied) in
//! `cargo_wasme::deploy::emit`.

mod gateways;
mod render;

pub use gateways::{
    EnvoyGatewayDeployArgs, EnvoyGatewayUndeployArgs, HigressDeployArgs, HigressUndeployArgs,
};
pub use render::{CrdArgs, RenderArgs, crd, render};

use cargo_wasme::deploy::emit::{self, Output, Pinning};
use cargo_wasme::deploy::filter_deployment::{
    FailStrategy, FilterType, IstioApi, PatchContext, Phase, PullPolicy, WorkloadKind,
};
use cargo_wasme::deploy::request::{Common, IstioRequest, PluginPlacement};
use cargo_wasme::deploy::undeploy::UndeployRequest;
use std::path::PathBuf;
use std::process::ExitCode;

/// `cargo wasme deploy <target>`.
#[derive(Debug, clap::Subcommand)]
pub enum DeployCommand {
    /// Istio manifests (WasmPlugin, TrafficExtension or EnvoyFilter) for an image, printed as
    /// YAML (ready to commit) or applied with `kubectl apply`.
    Istio(IstioDeployArgs),
    /// An Envoy v3 bootstrap that runs the image's module, for Envoy without Istio.
    Envoy(EnvoyDeployArgs),
    /// An Envoy Gateway EnvoyExtensionPolicy attaching the image's filter to Gateway API
    /// routes or gateways.
    EnvoyGateway(EnvoyGatewayDeployArgs),
    /// A Higress WasmPlugin (in higress-system) with optional per-route, per-domain or
    /// per-service configurations.
    Higress(HigressDeployArgs),
}

/// `cargo wasme undeploy <target>`.
#[derive(Debug, clap::Subcommand)]
pub enum UndeployCommand {
    /// Deletions of what `deploy istio --id ID` created, printed (for `kubectl delete -f -`)
    /// or applied.
    Istio(IstioUndeployArgs),
    /// The deletion of what `deploy envoy-gateway --id ID` created.
    EnvoyGateway(EnvoyGatewayUndeployArgs),
    /// The deletion of what `deploy higress --id ID` created.
    Higress(HigressUndeployArgs),
}

/// How a cluster `deploy` target pins its image, checks it and what it prints: the flags
/// Istio, Envoy Gateway and Higress share (the targets word some differently: [`reword`]).
#[derive(Debug, clap::Args)]
pub struct PinFlags {
    /// Resolve the digest over plain HTTP (loopback registries are plain HTTP anyway).
    #[arg(long)]
    pub plain_http: bool,
    /// Trust the local store: do not check that the registry has the image.
    #[arg(long)]
    pub offline: bool,
    /// Do not start the filter with the configuration first (it fails closed if refused).
    #[arg(long)]
    pub skip_config_check: bool,
    /// Print the equivalent FilterDeployment instead of the Istio resources.
    #[arg(long, conflicts_with = "apply")]
    pub filter_deployment: bool,
}

impl PinFlags {
    /// The pinning of `image` these flags ask for.
    pub fn pinning<'a>(&self, image: &'a str) -> Pinning<'a> {
        Pinning {
            image,
            offline: self.offline,
            plain_http: self.plain_http,
            skip_config_check: self.skip_config_check,
        }
    }
}

/// Where the plugin goes and how it is pulled: the flags Istio and Higress share (Higress's
/// help texts name Higress: [`reword`]).
#[derive(Debug, clap::Args)]
pub struct PlacementFlags {
    /// Where in the filter chain the plugin goes.
    #[arg(long, value_enum)]
    pub phase: Option<Phase>,
    /// Order among plugins of the same phase (higher first).
    #[arg(long, allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// Behaviour on fatal plugin errors.
    #[arg(long, value_enum)]
    pub fail_strategy: Option<FailStrategy>,
    /// When Istio re-pulls the module.
    #[arg(long, value_enum)]
    pub pull_policy: Option<PullPolicy>,
    /// A `kubernetes.io/dockerconfigjson` Secret in the namespace, for private registries.
    #[arg(long)]
    pub pull_secret: Option<String>,
}

impl PlacementFlags {
    /// The library's form.
    pub fn placement(&self) -> PluginPlacement {
        PluginPlacement {
            phase: self.phase,
            priority: self.priority,
            fail_strategy: self.fail_strategy,
            pull_policy: self.pull_policy,
            pull_secret: self.pull_secret.clone(),
        }
    }
}

/// Arguments of `cargo wasme deploy istio`.
#[derive(Debug, clap::Args)]
#[command(mut_args(|a| reword(a, &[
    ("offline", "Trust the local store: do not check that the registry has the image (a warning \
says so). Without it the image is verified against the registry its reference names"),
    ("skip_config_check", "Do not run the configuration check (the image's module started \
with the exact configuration the output hands it, through on_vm_start and on_configure): a \
configuration the filter refuses then fails closed in the mesh"),
])))]
pub struct IstioDeployArgs {
    /// The image (`registry/repo:tag` or `…@sha256:<hex>`), pinned to its manifest digest. It
    /// is read from the registry it names (or from the local store, then checked against that
    /// registry): it must have been pushed, unless --offline.
    pub image: String,
    /// Filter id: resource name, Envoy filter name and VM id (default: the repository's last
    /// path segment).
    #[arg(long)]
    pub id: Option<String>,
    /// Namespace of the generated resources.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Pod labels selecting the workloads, `k=v,k2=v2` (none: every workload in the namespace).
    #[arg(long, default_value = "")]
    pub labels: String,
    /// Filter configuration: a string, or a JSON object.
    #[arg(long)]
    pub config: Option<String>,
    /// Root id (default: the image's first root id).
    #[arg(long)]
    pub root_id: Option<String>,
    /// Which Istio resource to generate [default: wasmplugin; envoyfilter, with a notice, when
    /// --config is a plain string, as the seed's `wasme deploy istio … --config 'tomorrow'`].
    #[arg(long, value_enum)]
    pub api: Option<IstioApi>,
    /// The mesh's Istio version (e.g. 1.24): picks the EnvoyFilter shape (≤ 1.6 `config`,
    /// ≥ 1.7 `typedConfig`) and drives warnings.
    #[arg(long)]
    pub istio_version: Option<String>,
    #[command(flatten)]
    pub placement: PlacementFlags,
    /// Which traffic the filter sees (EnvoyFilter default: inbound; WasmPlugin default: all).
    #[arg(long, value_enum)]
    pub patch_context: Option<PatchContext>,
    /// Kind of the selected workloads (the EnvoyFilter form patches their pod annotations).
    #[arg(long, value_enum)]
    pub workload_type: Option<WorkloadKind>,
    /// HTTP or network filter.
    #[arg(long = "type", value_enum)]
    pub filter_type: Option<FilterType>,
    #[command(flatten)]
    pub pin: PinFlags,
    /// EnvoyFilter form: also write DIR/kustomization.yaml, a kustomize Component with the
    /// resources and the patch that mounts the node cache into the selected workloads (list DIR
    /// under `components:`). Kustomize documents never go to stdout.
    #[arg(long, value_name = "DIR", conflicts_with = "apply")]
    pub kustomize: Option<PathBuf>,
    /// Apply with `kubectl apply -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

/// Arguments of `cargo wasme deploy envoy`.
#[derive(Debug, clap::Args)]
pub struct EnvoyDeployArgs {
    /// The image in the local store.
    pub image: String,
    /// Filter name and VM id (default: the repository's last path segment).
    #[arg(long)]
    pub id: Option<String>,
    /// Filter configuration (a string, or JSON).
    #[arg(long)]
    pub config: Option<String>,
    /// Root id (default: the image's first root id).
    #[arg(long)]
    pub root_id: Option<String>,
    /// Listener address.
    #[arg(long, default_value = "0.0.0.0")]
    pub listen_address: String,
    /// Listener port.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Name of the upstream cluster requests are routed to.
    #[arg(long, default_value = "upstream")]
    pub upstream_name: String,
    /// Upstream address, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub upstream_address: String,
    /// Admin interface port on 127.0.0.1 (0: no admin interface).
    #[arg(long, default_value_t = 9901)]
    pub admin_port: u16,
    /// HTTP or network filter.
    #[arg(long = "type", value_enum)]
    pub filter_type: Option<FilterType>,
    /// Where to write the module (default: `$WASME_HOME/modules/<sha256>.wasm`).
    #[arg(long)]
    pub module_path: Option<PathBuf>,
    /// Write the bootstrap here instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Do not start the module with the configuration before writing the bootstrap.
    #[arg(long)]
    pub skip_config_check: bool,
}

/// Arguments of `cargo wasme undeploy istio`.
#[derive(Debug, clap::Args)]
pub struct IstioUndeployArgs {
    /// The filter id given to `deploy` (the resources' name).
    #[arg(long)]
    pub id: String,
    /// Namespace of the resources.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Only this kind (default: WasmPlugin, TrafficExtension and EnvoyFilter named ID).
    #[arg(long, value_enum)]
    pub api: Option<IstioApi>,
    /// With the EnvoyFilter form: the pod labels given to `deploy`, to remove the node-cache
    /// pod annotations from those workloads.
    #[arg(long)]
    pub labels: Option<String>,
    /// Kind of the workloads whose annotations are removed.
    #[arg(long, value_enum)]
    pub workload_type: Option<WorkloadKind>,
    /// With --labels: write DIR/kustomization.yaml, a kustomize Component whose patch removes
    /// the node-cache annotations (kustomize documents never go to stdout).
    #[arg(long, value_name = "DIR", conflicts_with = "apply")]
    pub kustomize: Option<PathBuf>,
    /// Delete with `kubectl delete --ignore-not-found -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

/// Sets the help of the arguments `texts` names, in place: a flattened group's flag as one
/// target words it (`Command::mut_arg` would move the flag to the end of the list).
pub fn reword(arg: clap::Arg, texts: &[(&str, &'static str)]) -> clap::Arg {
    match texts.iter().find(|(id, _)| arg.get_id() == *id) {
        Some((_, help)) => arg.help(*help),
        None => arg,
    }
}

/// Runs `cargo wasme deploy`.
pub fn deploy(c: DeployCommand) -> anyhow::Result<ExitCode> {
    match c {
        DeployCommand::Istio(a) => {
            let fd = IstioRequest {
                common: Common {
                    image: a.image.clone(),
                    id: a.id,
                    namespace: a.namespace,
                    config: a.config,
                    root_id: a.root_id,
                    plain_http: a.pin.plain_http,
                },
                labels: a.labels,
                api: a.api,
                istio_version: a.istio_version,
                placement: a.placement.placement(),
                patch_context: a.patch_context,
                workload_type: a.workload_type,
                filter_type: a.filter_type,
            }
            .filter_deployment()?;
            let out = Output {
                filter_deployment: a.pin.filter_deployment,
                apply: a.apply,
                kustomize: a.kustomize.as_deref(),
            };
            emit::istio(fd, &a.pin.pinning(&a.image), out).map_err(with_help)?;
        }
        DeployCommand::Envoy(a) => emit::envoy(emit::EnvoyRequest {
            image: a.image,
            id: a.id,
            config: a.config,
            root_id: a.root_id,
            listen_address: a.listen_address,
            port: a.port,
            upstream_name: a.upstream_name,
            upstream_address: a.upstream_address,
            admin_port: a.admin_port,
            filter_type: a.filter_type,
            module_path: a.module_path,
            output: a.output,
            skip_config_check: a.skip_config_check,
        })
        .map_err(with_help)?,
        DeployCommand::EnvoyGateway(a) => gateways::deploy_envoy_gateway(a)?,
        DeployCommand::Higress(a) => gateways::deploy_higress(a)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `error` with its `help:` line (kubectl's advice), when it has one.
pub(crate) fn with_help(error: emit::EmitError) -> anyhow::Error {
    match error.help() {
        Some(help) => cargo_wasme::shell::with_help(error, help),
        None => error.into(),
    }
}

/// Runs `cargo wasme undeploy`.
pub fn undeploy(c: UndeployCommand) -> anyhow::Result<ExitCode> {
    match c {
        UndeployCommand::Istio(a) => {
            let request = UndeployRequest {
                id: a.id,
                namespace: a.namespace,
                api: a.api,
                labels: a.labels,
                workload_kind: a.workload_type,
            };
            emit::undeploy_istio(&request, a.apply, a.kustomize.as_deref()).map_err(with_help)?;
        }
        UndeployCommand::EnvoyGateway(a) => gateways::undeploy_envoy_gateway(a)?,
        UndeployCommand::Higress(a) => gateways::undeploy_higress(a)?,
    }
    Ok(ExitCode::SUCCESS)
}
