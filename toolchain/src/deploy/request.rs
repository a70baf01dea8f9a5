//! Deployment requests as `cargo wasme deploy <target>` takes them on its command line (plain
//! values, checked here) → the [`FilterDeployment`] the generators render: one home for the
//! flags' meaning, so `deploy` and `deploy --filter-deployment` then `render` agree.

use crate::deploy::filter_deployment::{
    self as fdm, EnvoyGatewayDeployment, FailStrategy, FilterConfig, FilterDeployment,
    FilterDeploymentSpec, FilterSpec, FilterType, HigressDeployment, HigressMatchRule,
    ImagePullOptions, IstioApi, IstioDeployment, PatchContext, Phase, PullPolicy, Target,
    TargetRef, WorkloadKind,
};
use crate::deploy::{DeployError, names};

/// A deployment request's flags that do not make a [`FilterDeployment`].
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No `--id`, and none can be derived from the image name.
    #[error("cannot derive a filter id from the image name: pass --id")]
    NoDefaultId(#[source] DeployError),
    /// A name, namespace or label list is malformed.
    #[error(transparent)]
    Invalid(#[from] DeployError),
    /// A gateway's configuration is not a JSON object.
    #[error(
        "{flag} {value:?} is not a JSON object; the gateway hands the filter its \
         configuration as JSON text (e.g. --config '{{\"value\": \"hello\"}}')"
    )]
    NotAnObject {
        /// The flag (`--config`, `--match-ingress`, …).
        flag: String,
        /// The value as given.
        value: String,
    },
    /// A `--target-ref` is not `KIND/NAME` or `NAME`.
    #[error("--target-ref {0:?}: expected KIND/NAME (e.g. HTTPRoute/backend) or NAME")]
    TargetRef(String),
    /// A Higress match rule names no ingress, domain or service.
    #[error(
        "{flag} {value:?} names nothing to match: Higress's controller rejects the whole \
         plugin for a rule without ingress, domain or service"
    )]
    EmptyMatch {
        /// The flag (`--match-ingress`, …).
        flag: String,
        /// The value as given.
        value: String,
    },
}

/// The filter id a deployment gets when none is given: the repository's last path segment.
pub fn default_id(image: &str) -> Result<String, RequestError> {
    names::filter_id_for_image(image).map_err(RequestError::NoDefaultId)
}

/// The given id, else [`default_id`].
fn id_or_default(id: &Option<String>, image: &str) -> Result<String, RequestError> {
    match id {
        Some(id) => Ok(id.clone()),
        None => default_id(image),
    }
}

/// Where the plugin goes and how it is pulled: the flags Istio and Higress share.
#[derive(Debug, Clone, Default)]
pub struct PluginPlacement {
    /// Where in the filter chain the plugin goes.
    pub phase: Option<Phase>,
    /// Order among plugins of the same phase (higher first).
    pub priority: Option<i32>,
    /// Behaviour on fatal plugin errors.
    pub fail_strategy: Option<FailStrategy>,
    /// When the control plane re-pulls the module.
    pub pull_policy: Option<PullPolicy>,
    /// A docker-config Secret in the namespace.
    pub pull_secret: Option<String>,
}

/// What every target's request names: the image, the filter and its configuration.
#[derive(Debug, Clone, Default)]
pub struct Common {
    /// The image reference.
    pub image: String,
    /// The filter id [default: [`default_id`]].
    pub id: Option<String>,
    /// The namespace of the generated resources.
    pub namespace: String,
    /// The filter configuration as given (a string, or a JSON object).
    pub config: Option<String>,
    /// The root id.
    pub root_id: Option<String>,
    /// The image's registry is reached over plain HTTP.
    pub plain_http: bool,
}

impl Common {
    /// What the gateway targets check first: the id (or its default), the namespace as a DNS
    /// label, and `--config` as a JSON object (the gateways take no plain string).
    fn gateway_checked(&self) -> Result<(String, Option<FilterConfig>), RequestError> {
        let id = id_or_default(&self.id, &self.image)?;
        names::validate_dns1123_label("namespace", &self.namespace)?;
        let config = self
            .config
            .as_deref()
            .map(|c| object_config("--config", c))
            .transpose()?;
        Ok((id, config))
    }
}

/// `deploy istio`'s request.
#[derive(Debug, Clone, Default)]
pub struct IstioRequest {
    /// Image, id, namespace, configuration.
    pub common: Common,
    /// Pod labels `k=v,k2=v2` (empty: every workload in the namespace).
    pub labels: String,
    /// Which Istio resource to generate.
    pub api: Option<IstioApi>,
    /// The mesh's Istio version.
    pub istio_version: Option<String>,
    /// Phase, priority, failure and pull policies.
    pub placement: PluginPlacement,
    /// Which traffic the filter sees.
    pub patch_context: Option<PatchContext>,
    /// Kind of the selected workloads.
    pub workload_type: Option<WorkloadKind>,
    /// HTTP or network filter.
    pub filter_type: Option<FilterType>,
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

impl IstioRequest {
    /// The FilterDeployment this request means (names and labels checked).
    pub fn filter_deployment(&self) -> Result<FilterDeployment, RequestError> {
        let a = &self.common;
        let id = id_or_default(&a.id, &a.image)?;
        names::validate_dns1123_subdomain("filter id", &id)?;
        names::validate_dns1123_label("namespace", &a.namespace)?;
        let labels = names::parse_labels(&self.labels)?;
        let p = &self.placement;
        let filter = FilterSpec {
            id: Some(id.clone()),
            image: a.image.clone(),
            config: a.config.as_deref().map(FilterConfig::from_flag),
            root_id: a.root_id.clone(),
            image_pull_options: pull_options(&p.pull_secret, a.plain_http, p.pull_policy),
            verify: None,
            patch_context: self.patch_context,
            phase: p.phase,
            priority: p.priority,
            fail_strategy: p.fail_strategy,
            filter_type: self.filter_type,
        };
        let deployment = fdm::DeploymentSpec {
            istio: IstioDeployment {
                kind: self.workload_type,
                labels,
                istio_namespace: None,
                api: self.api,
                istio_version: self.istio_version.clone(),
            },
            ..Default::default()
        };
        Ok(new_fd(&id, &a.namespace, filter, deployment))
    }
}

/// A `--config` that must be a JSON object (both gateways carry JSON text).
fn object_config(flag: &str, value: &str) -> Result<FilterConfig, RequestError> {
    match FilterConfig::from_flag(value) {
        c @ FilterConfig::Object(_) => Ok(c),
        FilterConfig::String(_) => Err(RequestError::NotAnObject {
            flag: flag.to_owned(),
            value: value.to_owned(),
        }),
    }
}

/// `KIND/NAME` or `NAME` (an HTTPRoute).
fn target_ref(value: &str) -> Result<TargetRef, RequestError> {
    let (kind, name) = value.split_once('/').unwrap_or(("HTTPRoute", value));
    if name.is_empty() || kind.is_empty() {
        return Err(RequestError::TargetRef(value.to_owned()));
    }
    Ok(TargetRef {
        kind: kind.to_owned(),
        name: name.to_owned(),
    })
}

/// `deploy envoy-gateway`'s request.
#[derive(Debug, Clone, Default)]
pub struct EnvoyGatewayRequest {
    /// Image, id, namespace, configuration (a JSON object).
    pub common: Common,
    /// What the policy attaches to, `KIND/NAME` or `NAME` (an HTTPRoute).
    pub target_refs: Vec<String>,
    /// Skip the filter when it fails (`failOpen: true`).
    pub fail_open: bool,
    /// A docker-config Secret in the namespace (`pullSecretRef`).
    pub pull_secret: Option<String>,
}

impl EnvoyGatewayRequest {
    /// The FilterDeployment (`target: envoy-gateway`) this request means.
    pub fn filter_deployment(&self) -> Result<FilterDeployment, RequestError> {
        let a = &self.common;
        let (id, config) = a.gateway_checked()?;
        let target_refs = self
            .target_refs
            .iter()
            .map(|r| target_ref(r))
            .collect::<Result<Vec<_>, _>>()?;
        let filter = FilterSpec {
            id: Some(id.clone()),
            image: a.image.clone(),
            config,
            root_id: a.root_id.clone(),
            image_pull_options: pull_options(&self.pull_secret, a.plain_http, None),
            fail_strategy: self.fail_open.then_some(FailStrategy::FailOpen),
            ..Default::default()
        };
        let deployment = fdm::DeploymentSpec {
            target: Some(Target::EnvoyGateway),
            envoy_gateway: Some(EnvoyGatewayDeployment { target_refs }),
            ..Default::default()
        };
        Ok(new_fd(&id, &a.namespace, filter, deployment))
    }
}

/// A JSON object configuration.
type JsonObject = serde_json::Map<String, serde_json::Value>;

/// `ROUTES[=CONFIG]` → (names, config).
fn match_rule(flag: &str, value: &str) -> Result<(Vec<String>, Option<JsonObject>), RequestError> {
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
        return Err(RequestError::EmptyMatch {
            flag: flag.to_owned(),
            value: value.to_owned(),
        });
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

/// `deploy higress`'s request.
#[derive(Debug, Clone, Default)]
pub struct HigressRequest {
    /// Image, id, namespace, default configuration (a JSON object).
    pub common: Common,
    /// Match rules for routes, `NAMESPACE/NAME[,…][=CONFIG]`.
    pub match_ingress: Vec<String>,
    /// Match rules for domains, `DOMAIN[,…][=CONFIG]`.
    pub match_domain: Vec<String>,
    /// Match rules for services, `SERVICE[,…][=CONFIG]`.
    pub match_service: Vec<String>,
    /// Phase, priority, failure and pull policies.
    pub placement: PluginPlacement,
}

impl HigressRequest {
    /// The FilterDeployment (`target: higress`) this request means.
    pub fn filter_deployment(&self) -> Result<FilterDeployment, RequestError> {
        let a = &self.common;
        let (id, config) = a.gateway_checked()?;
        let mut rules = Vec::new();
        for (flag, values) in [
            ("--match-ingress", &self.match_ingress),
            ("--match-domain", &self.match_domain),
            ("--match-service", &self.match_service),
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
        let p = &self.placement;
        let filter = FilterSpec {
            id: Some(id.clone()),
            image: a.image.clone(),
            config,
            root_id: a.root_id.clone(),
            image_pull_options: pull_options(&p.pull_secret, a.plain_http, p.pull_policy),
            phase: p.phase,
            priority: p.priority,
            fail_strategy: p.fail_strategy,
            ..Default::default()
        };
        let deployment = fdm::DeploymentSpec {
            target: Some(Target::Higress),
            higress: (!rules.is_empty()).then_some(HigressDeployment { match_rules: rules }),
            ..Default::default()
        };
        Ok(new_fd(&id, &a.namespace, filter, deployment))
    }
}
