//! `deploy envoy-gateway`, `deploy higress` and their `undeploy`: flags into a
//! FilterDeployment, then the same pinning, generation and configuration check as Istio.

use super::kubectl::kubectl_stdin;
use super::{Pinning, default_id, pin_and_generate};
use anyhow::{Context, bail};
use cargo_wasme::deploy::{
    filter_deployment::{
        self as fdm, EnvoyGatewayDeployment, FailStrategy, FilterConfig, FilterDeployment,
        FilterDeploymentSpec, FilterSpec, HigressDeployment, HigressMatchRule, ImagePullOptions,
        Phase, PullPolicy, Target, TargetRef,
    },
    gateways::HIGRESS_NAMESPACE,
    k8s::{ENVOY_EXTENSION_POLICY, HIGRESS_WASM_PLUGIN, ResourceKind},
    names, yaml,
};
use cargo_wasme::shell;
use std::process::ExitCode;

/// Arguments of `cargo wasme deploy envoy-gateway`.
#[derive(Debug, clap::Args)]
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
    /// Resolve the digest over plain HTTP (loopback registries are plain HTTP anyway).
    #[arg(long)]
    pub plain_http: bool,
    /// Trust the local store: do not check that the registry has the image.
    #[arg(long)]
    pub offline: bool,
    /// Do not start the filter with the configuration first (it fails closed if refused).
    #[arg(long)]
    pub skip_config_check: bool,
    /// Print the equivalent FilterDeployment (`target: envoy-gateway`) instead.
    #[arg(long, conflicts_with = "apply")]
    pub filter_deployment: bool,
    /// Apply with `kubectl apply -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

/// Arguments of `cargo wasme deploy higress`.
#[derive(Debug, clap::Args)]
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
    /// Where in the filter chain the plugin goes.
    #[arg(long, value_enum)]
    pub phase: Option<Phase>,
    /// Order among plugins of the same phase (higher first).
    #[arg(long, allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// Behaviour on fatal plugin errors (fail-close or fail-open).
    #[arg(long, value_enum)]
    pub fail_strategy: Option<FailStrategy>,
    /// When Higress re-pulls the module.
    #[arg(long, value_enum)]
    pub pull_policy: Option<PullPolicy>,
    /// A docker-config Secret in the namespace (`imagePullSecret`).
    #[arg(long)]
    pub pull_secret: Option<String>,
    /// Resolve the digest over plain HTTP (loopback registries are plain HTTP anyway).
    #[arg(long)]
    pub plain_http: bool,
    /// Trust the local store: do not check that the registry has the image.
    #[arg(long)]
    pub offline: bool,
    /// Do not start the filter with the configuration first (it fails closed if refused).
    #[arg(long)]
    pub skip_config_check: bool,
    /// Print the equivalent FilterDeployment (`target: higress`) instead.
    #[arg(long, conflicts_with = "apply")]
    pub filter_deployment: bool,
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

/// A `--config` that must be a JSON object (both gateways carry JSON text).
fn object_config(flag: &str, value: &str) -> anyhow::Result<FilterConfig> {
    match FilterConfig::from_flag(value) {
        c @ FilterConfig::Object(_) => Ok(c),
        FilterConfig::String(_) => bail!(
            "{flag} {value:?} is not a JSON object; the gateway hands the filter its \
             configuration as JSON text (e.g. --config '{{\"value\": \"hello\"}}')"
        ),
    }
}

fn new_fd(
    id: &str,
    namespace: &str,
    filter: FilterSpec,
    deployment: fdm::DeploymentSpec,
) -> FilterDeployment {
    let mut fd = FilterDeployment::new(id, FilterDeploymentSpec { filter, deployment });
    fd.metadata.namespace = Some(namespace.to_owned());
    fd
}

fn pull_options(
    secret: &Option<String>,
    plain_http: bool,
    policy: Option<PullPolicy>,
) -> Option<ImagePullOptions> {
    let pull = ImagePullOptions {
        pull_secret: secret.clone(),
        insecure_skip_verify: false,
        plain_http,
        pull_policy: policy,
    };
    (pull != ImagePullOptions::default()).then_some(pull)
}

/// `KIND/NAME` or `NAME` (an HTTPRoute).
fn target_ref(value: &str) -> anyhow::Result<TargetRef> {
    let (kind, name) = value.split_once('/').unwrap_or(("HTTPRoute", value));
    if name.is_empty() || kind.is_empty() {
        bail!("--target-ref {value:?}: expected KIND/NAME (e.g. HTTPRoute/backend) or NAME");
    }
    Ok(TargetRef {
        kind: kind.to_owned(),
        name: name.to_owned(),
    })
}

/// Runs `cargo wasme deploy envoy-gateway`.
pub fn deploy_envoy_gateway(a: EnvoyGatewayDeployArgs) -> anyhow::Result<ExitCode> {
    let id = match &a.id {
        Some(id) => id.clone(),
        None => default_id(&a.image)?,
    };
    names::validate_dns1123_label("namespace", &a.namespace)?;
    let config = a
        .config
        .as_deref()
        .map(|c| object_config("--config", c))
        .transpose()?;
    let target_refs = a
        .target_refs
        .iter()
        .map(|r| target_ref(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let filter = FilterSpec {
        id: Some(id.clone()),
        image: a.image.clone(),
        config,
        root_id: a.root_id.clone(),
        image_pull_options: pull_options(&a.pull_secret, a.plain_http, None),
        fail_strategy: a.fail_open.then_some(FailStrategy::FailOpen),
        ..Default::default()
    };
    let deployment = fdm::DeploymentSpec {
        target: Some(Target::EnvoyGateway),
        envoy_gateway: Some(EnvoyGatewayDeployment { target_refs }),
        ..Default::default()
    };
    let fd = new_fd(&id, &a.namespace, filter, deployment);
    let pinning = Pinning {
        image: &a.image,
        offline: a.offline,
        plain_http: a.plain_http,
        skip_config_check: a.skip_config_check,
    };
    emit(fd, &pinning, a.filter_deployment, a.apply)
}

/// A JSON object configuration.
type JsonObject = serde_json::Map<String, serde_json::Value>;

/// `ROUTES[=CONFIG]` → (names, config).
fn match_rule(flag: &str, value: &str) -> anyhow::Result<(Vec<String>, Option<JsonObject>)> {
    let (names, config) = match value.split_once('=') {
        Some((n, c)) => (n, Some(c)),
        None => (value, None),
    };
    let names: Vec<String> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        bail!(
            "{flag} {value:?} names nothing to match: Higress's controller rejects the whole \
             plugin for a rule without ingress, domain or service"
        );
    }
    let config = match config {
        None => None,
        Some(c) => match object_config(flag, c)? {
            FilterConfig::Object(map) => Some(map),
            FilterConfig::String(_) => None,
        },
    };
    Ok((names, config))
}

/// Runs `cargo wasme deploy higress`.
pub fn deploy_higress(a: HigressDeployArgs) -> anyhow::Result<ExitCode> {
    let id = match &a.id {
        Some(id) => id.clone(),
        None => default_id(&a.image)?,
    };
    names::validate_dns1123_label("namespace", &a.namespace)?;
    let config = a
        .config
        .as_deref()
        .map(|c| object_config("--config", c))
        .transpose()?;
    let mut rules = Vec::new();
    for (flag, values) in [
        ("--match-ingress", &a.match_ingress),
        ("--match-domain", &a.match_domain),
        ("--match-service", &a.match_service),
    ] {
        for v in values {
            let (names, config) = match_rule(flag, v)?;
            let mut rule = HigressMatchRule {
                config,
                ..Default::default()
            };
            match flag {
                "--match-ingress" => rule.ingress = names,
                "--match-domain" => rule.domain = names,
                _ => rule.service = names,
            }
            rules.push(rule);
        }
    }
    let filter = FilterSpec {
        id: Some(id.clone()),
        image: a.image.clone(),
        config,
        root_id: a.root_id.clone(),
        image_pull_options: pull_options(&a.pull_secret, a.plain_http, a.pull_policy),
        phase: a.phase,
        priority: a.priority,
        fail_strategy: a.fail_strategy,
        ..Default::default()
    };
    let deployment = fdm::DeploymentSpec {
        target: Some(Target::Higress),
        higress: (!rules.is_empty()).then_some(HigressDeployment { match_rules: rules }),
        ..Default::default()
    };
    let fd = new_fd(&id, &a.namespace, filter, deployment);
    let pinning = Pinning {
        image: &a.image,
        offline: a.offline,
        plain_http: a.plain_http,
        skip_config_check: a.skip_config_check,
    };
    emit(fd, &pinning, a.filter_deployment, a.apply)
}

/// Pins, generates, checks, then prints (or applies) the resources or the FilterDeployment.
fn emit(
    mut fd: FilterDeployment,
    p: &Pinning,
    filter_deployment: bool,
    apply: bool,
) -> anyhow::Result<ExitCode> {
    let (generated, image, _) = pin_and_generate(&fd, p)?;
    for w in &generated.warnings {
        shell::warn(w);
    }
    if filter_deployment {
        fd.spec.filter.image = image.pinned_reference();
        if fd.spec.filter.root_id.is_none() {
            fd.spec.filter.root_id = image.root_ids.first().cloned();
        }
        print!("{}", yaml::to_stream(&[&fd])?);
        return Ok(ExitCode::SUCCESS);
    }
    let stream = yaml::to_stream(&generated.manifests)?;
    if apply {
        kubectl_stdin(&["apply", "-f", "-"], &stream)?;
    } else {
        print!("{stream}");
    }
    Ok(ExitCode::SUCCESS)
}

fn deletion(
    kind: ResourceKind,
    id: &str,
    namespace: &str,
    apply: bool,
) -> anyhow::Result<ExitCode> {
    names::validate_dns1123_subdomain("id", id)?;
    names::validate_dns1123_label("namespace", namespace)?;
    let doc = serde_json::json!({
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {"name": id, "namespace": namespace},
    });
    let stream = yaml::to_stream(&[doc]).context("cannot write the deletion")?;
    if apply {
        kubectl_stdin(&["delete", "--ignore-not-found", "-f", "-"], &stream)?;
    } else {
        print!("{stream}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cargo wasme undeploy envoy-gateway`.
pub fn undeploy_envoy_gateway(a: EnvoyGatewayUndeployArgs) -> anyhow::Result<ExitCode> {
    deletion(ENVOY_EXTENSION_POLICY, &a.id, &a.namespace, a.apply)
}

/// Runs `cargo wasme undeploy higress`.
pub fn undeploy_higress(a: HigressUndeployArgs) -> anyhow::Result<ExitCode> {
    deletion(HIGRESS_WASM_PLUGIN, &a.id, &a.namespace, a.apply)
}
