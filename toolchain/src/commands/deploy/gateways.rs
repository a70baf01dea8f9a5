//! `deploy envoy-gateway`, `deploy higress` and their `undeploy`: flags only.

use super::{PinFlags, PlacementFlags, reword};
use cargo_wasme::deploy::emit::{self, Output};
use cargo_wasme::deploy::gateways::HIGRESS_NAMESPACE;
use cargo_wasme::deploy::k8s::{ENVOY_EXTENSION_POLICY, HIGRESS_WASM_PLUGIN};
use cargo_wasme::deploy::request::{Common, EnvoyGatewayRequest, HigressRequest};

/// Arguments of `cargo wasme deploy envoy-gateway`.
#[derive(Debug, clap::Args)]
#[command(mut_args(|a| reword(a, &[
    ("filter_deployment", "Print the equivalent FilterDeployment (`target: envoy-gateway`) instead"),
])))]
pub struct EnvoyGatewayDeployArgs {
    /// The image (`registry/repo:tag` or `…@sha256:<hex>`), pinned to its manifest digest and
    /// checked against the registry it names (unless --offline).
    pub image: String,
    /// What the policy attaches to, `KIND/NAME` or `NAME` (an HTTPRoute), in the policy's
    /// namespace. Kinds: Gateway, HTTPRoute, GRPCRoute, ListenerSet, TCPRoute, TLSRoute,
    /// UDPRoute. Repeatable.
    #[arg(long = "target-ref", value_name = "KIND/NAME", required = true)]
    pub target_refs: Vec<String>,
    /// Policy name and Wasm filter name (default: the repository's last path segment).
    #[arg(long)]
    pub id: Option<String>,
    /// Namespace of the policy (that of its targets).
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Filter configuration: a JSON object (Envoy Gateway passes it as JSON text).
    #[arg(long)]
    pub config: Option<String>,
    /// Root id (default: the image's first root id).
    #[arg(long)]
    pub root_id: Option<String>,
    /// Skip the filter when it fails or refuses its configuration (`failOpen: true`); by
    /// default traffic gets a 5xx.
    #[arg(long)]
    pub fail_open: bool,
    /// A `kubernetes.io/dockerconfigjson` Secret in the namespace (`pullSecretRef`).
    #[arg(long)]
    pub pull_secret: Option<String>,
    #[command(flatten)]
    pub pin: PinFlags,
    /// Apply with `kubectl apply -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

/// Arguments of `cargo wasme deploy higress`.
#[derive(Debug, clap::Args)]
#[command(mut_args(|a| reword(a, &[
    ("fail_strategy", "Behaviour on fatal plugin errors (fail-close or fail-open)"),
    ("pull_policy", "When Higress re-pulls the module"),
    ("pull_secret", "A docker-config Secret in the namespace (`imagePullSecret`)"),
    ("filter_deployment", "Print the equivalent FilterDeployment (`target: higress`) instead"),
])))]
pub struct HigressDeployArgs {
    /// The image (`registry/repo:tag` or `…@sha256:<hex>`), pinned to its manifest digest and
    /// checked against the registry it names (unless --offline).
    pub image: String,
    /// WasmPlugin name (default: the repository's last path segment).
    #[arg(long)]
    pub id: Option<String>,
    /// Namespace: Higress's controller reads only its own (higress-system by default);
    /// another one gets a warning.
    #[arg(short = 'n', long, default_value = HIGRESS_NAMESPACE)]
    pub namespace: String,
    /// The default configuration (`defaultConfig`): a JSON object.
    #[arg(long)]
    pub config: Option<String>,
    /// A match rule for routes, `NAMESPACE/NAME[,…][=CONFIG]` with CONFIG a JSON object.
    /// Repeatable: each flag is one rule.
    #[arg(long = "match-ingress", value_name = "ROUTES[=CONFIG]")]
    pub match_ingress: Vec<String>,
    /// A match rule for domains, `DOMAIN[,…][=CONFIG]` (`*.example.com`, `www.*`).
    /// Repeatable.
    #[arg(long = "match-domain", value_name = "DOMAINS[=CONFIG]")]
    pub match_domain: Vec<String>,
    /// A match rule for services, `SERVICE[,…][=CONFIG]` (`name.ns.svc.cluster.local:80`).
    /// Repeatable.
    #[arg(long = "match-service", value_name = "SERVICES[=CONFIG]")]
    pub match_service: Vec<String>,
    /// Root id (`pluginName`; default: the image's first root id).
    #[arg(long)]
    pub root_id: Option<String>,
    #[command(flatten)]
    pub placement: PlacementFlags,
    #[command(flatten)]
    pub pin: PinFlags,
    /// Apply with `kubectl apply -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

/// Arguments of `cargo wasme undeploy envoy-gateway`.
#[derive(Debug, clap::Args)]
pub struct EnvoyGatewayUndeployArgs {
    /// The id given to `deploy envoy-gateway` (the policy's name).
    #[arg(long)]
    pub id: String,
    /// Namespace of the policy.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Delete with `kubectl delete --ignore-not-found -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

/// Arguments of `cargo wasme undeploy higress`.
#[derive(Debug, clap::Args)]
pub struct HigressUndeployArgs {
    /// The id given to `deploy higress` (the WasmPlugin's name).
    #[arg(long)]
    pub id: String,
    /// Namespace of the WasmPlugin.
    #[arg(short = 'n', long, default_value = HIGRESS_NAMESPACE)]
    pub namespace: String,
    /// Delete with `kubectl delete --ignore-not-found -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

fn output(pin: &PinFlags, apply: bool) -> Output<'static> {
    Output {
        filter_deployment: pin.filter_deployment,
        apply,
        kustomize: None,
    }
}

/// Runs `cargo wasme deploy envoy-gateway`.
pub fn deploy_envoy_gateway(a: EnvoyGatewayDeployArgs) -> anyhow::Result<()> {
    let fd = EnvoyGatewayRequest {
        common: Common {
            image: a.image.clone(),
            id: a.id,
            namespace: a.namespace,
            config: a.config,
            root_id: a.root_id,
            plain_http: a.pin.plain_http,
        },
        target_refs: a.target_refs,
        fail_open: a.fail_open,
        pull_secret: a.pull_secret,
    }
    .filter_deployment()?;
    emit::gateway(fd, &a.pin.pinning(&a.image), output(&a.pin, a.apply)).map_err(super::with_help)
}

/// Runs `cargo wasme deploy higress`.
pub fn deploy_higress(a: HigressDeployArgs) -> anyhow::Result<()> {
    let fd = HigressRequest {
        common: Common {
            image: a.image.clone(),
            id: a.id,
            namespace: a.namespace,
            config: a.config,
            root_id: a.root_id,
            plain_http: a.pin.plain_http,
        },
        match_ingress: a.match_ingress,
        match_domain: a.match_domain,
        match_service: a.match_service,
        placement: a.placement.placement(),
    }
    .filter_deployment()?;
    emit::gateway(fd, &a.pin.pinning(&a.image), output(&a.pin, a.apply)).map_err(super::with_help)
}

/// Runs `cargo wasme undeploy envoy-gateway`.
pub fn undeploy_envoy_gateway(a: EnvoyGatewayUndeployArgs) -> anyhow::Result<()> {
    emit::deletion(ENVOY_EXTENSION_POLICY, &a.id, &a.namespace, a.apply).map_err(super::with_help)
}

/// Runs `cargo wasme undeploy higress`.
pub fn undeploy_higress(a: HigressUndeployArgs) -> anyhow::Result<()> {
    emit::deletion(HIGRESS_WASM_PLUGIN, &a.id, &a.namespace, a.apply).map_err(super::with_help)
}
