//! The `FilterDeployment` custom resource (`wasme.io/v1`, namespaced).
//!
//! Field for field the resource of solo.io's wasme (so existing documents keep working), with
//! its two faults fixed: the CRD carries a full OpenAPI v3 schema (`kubectl explain` works, the
//! API server rejects typos), and `spec.filter.config` accepts both of the shapes wasme's `v1`
//! had at different times — a string, or an object. New optional fields select the output
//! (`spec.deployment.istio.api`) and carry the WasmPlugin knobs (phase, priority, …).

use super::k8s::{
    CUSTOM_RESOURCE_DEFINITION, DAEMON_SET, DEPLOYMENT, ENVOY_FILTER, FILTER_DEPLOYMENT,
    ObjectMeta, ResourceKind, STATEFUL_SET, TRAFFIC_EXTENSION, WASM_PLUGIN,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A FilterDeployment resource: `metadata`, `spec` and the optional `status`.
///
/// The `schemars(description)`s repeat the types' own docs: the CRD schema describes each
/// property by its type's doc, as `kube`'s derive did, not by these field docs.
#[derive(Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    description = "Deploys a proxy-wasm filter image to the Istio workloads it selects. `cargo wasme render` turns it into a WasmPlugin, TrafficExtension or EnvoyFilter."
)]
pub struct FilterDeployment {
    /// Name, namespace, labels and annotations.
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    /// The desired state.
    #[schemars(description = "Desired state of a FilterDeployment: which filter, deployed where.")]
    pub spec: FilterDeploymentSpec,
    /// The observed state (none is written yet).
    #[schemars(
        description = "Observed state, written by a controller (none ships yet; `render` ignores it)."
    )]
    pub status: Option<FilterDeploymentStatus>,
}

impl FilterDeployment {
    /// A FilterDeployment named `name` with `spec` and no status.
    pub fn new(name: &str, spec: FilterDeploymentSpec) -> Self {
        FilterDeployment {
            metadata: ObjectMeta::named(name),
            spec,
            status: None,
        }
    }
}

impl Serialize for FilterDeployment {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut obj = ser.serialize_struct("FilterDeployment", 5)?;
        obj.serialize_field("apiVersion", FILTER_DEPLOYMENT.api_version)?;
        obj.serialize_field("kind", FILTER_DEPLOYMENT.kind)?;
        obj.serialize_field("metadata", &self.metadata)?;
        obj.serialize_field("spec", &self.spec)?;
        if let Some(status) = &self.status {
            obj.serialize_field("status", status)?;
        }
        obj.end()
    }
}

/// Desired state of a FilterDeployment: which filter, deployed where.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterDeploymentSpec {
    /// The filter to deploy.
    pub filter: FilterSpec,
    /// Where to deploy it.
    #[serde(default)]
    pub deployment: DeploymentSpec,
}

/// The filter: its image, configuration and how Envoy runs it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterSpec {
    /// Unique id of the filter in the proxy (the Envoy filter name and VM id). Defaults to
    /// `<metadata.name>.<metadata.namespace>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub id: Option<String>,
    /// OCI reference of the filter image (`registry/repository:tag` or `…@sha256:<hex>`). Tags
    /// are pinned to their manifest digest when rendered.
    #[schemars(length(min = 1))]
    pub image: String,
    /// Configuration handed to the filter's `on_configure`: a string, or an object (sent as
    /// its JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<FilterConfig>,
    /// Root id of the filter's root context. Defaults to the image's first root id.
    #[serde(rename = "rootID", default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<String>,
    /// How the image is pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_options: Option<ImagePullOptions>,
    /// Signature verification before anything is rendered (`cargo wasme sign`): the image
    /// must carry a signature of exactly its digest that verifies under one of these keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
    /// Which traffic the filter sees. Defaults to inbound for EnvoyFilter output; WasmPlugin
    /// and TrafficExtension output apply to all traffic when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_context: Option<PatchContext>,
    /// Where in the filter chain the plugin goes (WasmPlugin, TrafficExtension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Order among plugins of the same phase; higher runs first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// What happens when the plugin fails fatally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_strategy: Option<FailStrategy>,
    /// HTTP (default) or network (TCP) filter.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub filter_type: Option<FilterType>,
}

/// A filter configuration: wasme's `v1` had a string here, later an object; both are accepted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum FilterConfig {
    /// A configuration string, handed to the filter verbatim.
    String(String),
    /// A JSON object, handed to the filter as its JSON text.
    Object(serde_json::Map<String, serde_json::Value>),
}

impl FilterConfig {
    /// Reads a `--config` value: a JSON object becomes [`FilterConfig::Object`], anything else is
    /// a string.
    pub fn from_flag(value: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(value) {
            Ok(serde_json::Value::Object(map)) => FilterConfig::Object(map),
            _ => FilterConfig::String(value.to_owned()),
        }
    }

    /// The bytes the filter receives as its plugin configuration.
    pub fn to_config_string(&self) -> String {
        match self {
            FilterConfig::String(s) => s.clone(),
            FilterConfig::Object(map) => serde_json::Value::Object(map.clone()).to_string(),
        }
    }

    /// The configuration as a JSON object, for APIs whose configuration field is an object
    /// (WasmPlugin's `pluginConfig`). A string that holds a JSON object converts; any other
    /// string does not.
    pub fn as_object(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match self {
            FilterConfig::Object(map) => Some(map.clone()),
            FilterConfig::String(s) => match serde_json::from_str(s) {
                Ok(serde_json::Value::Object(map)) => Some(map),
                _ => None,
            },
        }
    }
}

impl JsonSchema for FilterConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FilterConfig".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // A structural schema cannot say "string or object" with `anyOf` (types inside `anyOf`
        // are forbidden), so the node keeps unknown fields; `render` rejects other JSON types
        // with a clear error.
        schemars::json_schema!({
            "description": "Configuration handed to the filter: a string (verbatim) or an object (its JSON text).",
            "x-kubernetes-preserve-unknown-fields": true
        })
    }
}

/// Which keys a FilterDeployment's image must be signed with.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySpec {
    /// Public keys (SPKI PEM): each the PEM text itself, or a file path (relative to the
    /// directory `render` runs in). One of them must verify the image's signature.
    #[schemars(length(min = 1))]
    pub keys: Vec<String>,
}

/// Image pull settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePullOptions {
    /// Name of a `kubernetes.io/dockerconfigjson` Secret in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub pull_secret: Option<String>,
    /// Accept any TLS certificate when resolving the image's digest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
    /// Use plain HTTP when resolving the image's digest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain_http: bool,
    /// When Istio re-pulls the module (WasmPlugin, TrafficExtension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
}

/// Which proxies' traffic the filter is inserted into.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "camelCase")]
pub enum PatchContext {
    /// Inbound sidecar traffic.
    Inbound,
    /// Outbound sidecar traffic.
    Outbound,
    /// Gateways.
    Gateway,
    /// Everywhere.
    Any,
}

/// Where in the filter chain a WasmPlugin/TrafficExtension goes.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Phase {
    /// Before Istio's authentication filters.
    Authn,
    /// Before Istio's authorization filters.
    Authz,
    /// Before Istio's stats filters.
    Stats,
}

/// What Envoy does when the plugin fails fatally.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailStrategy {
    /// Fail the request (Istio's default).
    FailClose,
    /// Skip the plugin.
    FailOpen,
    /// Reload the VM and retry.
    FailReload,
}

/// When Istio re-pulls the module.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
pub enum PullPolicy {
    /// Use a cached module when there is one.
    IfNotPresent,
    /// Pull every time the plugin is (re)configured.
    Always,
}

/// HTTP or network filter.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum FilterType {
    /// An HTTP filter (default).
    Http,
    /// A network (TCP) filter.
    Network,
}

/// Where the filter is deployed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    /// Which gateway or mesh runs the filter. Default: istio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Deploy to Istio-injected workloads.
    #[serde(default)]
    pub istio: IstioDeployment,
    /// Envoy Gateway: the EnvoyExtensionPolicy's targets (with `target: envoy-gateway`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy_gateway: Option<EnvoyGatewayDeployment>,
    /// Higress: the WasmPlugin's match rules (with `target: higress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub higress: Option<HigressDeployment>,
}

/// Which gateway or mesh runs the filter.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Istio: WasmPlugin, TrafficExtension or EnvoyFilter (`spec.deployment.istio`).
    #[default]
    Istio,
    /// Envoy Gateway: an EnvoyExtensionPolicy (`spec.deployment.envoyGateway`).
    EnvoyGateway,
    /// Higress: its own WasmPlugin in `higress-system` (`spec.deployment.higress`).
    Higress,
}

/// Deployment to Envoy Gateway.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvoyGatewayDeployment {
    /// The Gateway API resources the policy attaches to, in the policy's namespace
    /// (default: an HTTPRoute named like the FilterDeployment).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<TargetRef>,
}

/// A Gateway API resource an EnvoyExtensionPolicy attaches to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetRef {
    /// `Gateway`, `HTTPRoute`, `GRPCRoute`, `ListenerSet`, `UDPRoute`, `TCPRoute` or `TLSRoute`.
    pub kind: String,
    /// Its name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Deployment to Higress.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HigressDeployment {
    /// Per-route, per-domain or per-service configurations (merged into the filter's
    /// configuration under `_rules_` by Higress).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_rules: Vec<HigressMatchRule>,
}

/// One Higress match rule: at least one of ingress, domain, service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HigressMatchRule {
    /// Routes (`namespace/name` of the Ingress or route).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<String>,
    /// Domains (`*.example.com`, `www.*` …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain: Vec<String>,
    /// Services (`name.namespace.svc.cluster.local[:port]` …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<String>,
    /// The configuration for matching traffic (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object")]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A structural schema for a free-form JSON object.
fn free_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Deployment to Istio.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstioDeployment {
    /// Kind of the selected workloads (used for the EnvoyFilter form's pod annotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<WorkloadKind>,
    /// Pod labels selecting the workloads; empty selects every workload in the namespace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Namespace of the Istio control plane (accepted for compatibility with wasme; it does not
    /// change the output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio_namespace: Option<String>,
    /// Which Istio resource to produce. Default: WasmPlugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<IstioApi>,
    /// The mesh's Istio version, e.g. `1.24`. Picks the EnvoyFilter shape (≤ 1.6 `config`,
    /// ≥ 1.7 `typedConfig`) and drives warnings; never blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"))]
    pub istio_version: Option<String>,
}

/// Kind of workload the filter is deployed to.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
pub enum WorkloadKind {
    /// `apps/v1` Deployment.
    #[default]
    Deployment,
    /// `apps/v1` DaemonSet.
    #[value(name = "daemonset")]
    DaemonSet,
    /// `apps/v1` StatefulSet.
    #[value(name = "statefulset")]
    StatefulSet,
}

impl WorkloadKind {
    /// The workload's group, version and kind.
    pub fn kind(self) -> ResourceKind {
        match self {
            WorkloadKind::Deployment => DEPLOYMENT,
            WorkloadKind::DaemonSet => DAEMON_SET,
            WorkloadKind::StatefulSet => STATEFUL_SET,
        }
    }

    /// The Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        self.kind().kind
    }
}

/// The Istio resource a FilterDeployment becomes.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
pub enum IstioApi {
    /// `extensions.istio.io/v1alpha1` WasmPlugin (Istio ≥ 1.12; istio-agent pulls the module).
    #[default]
    #[value(name = "wasmplugin")]
    WasmPlugin,
    /// `extensions.istio.io/v1alpha1` TrafficExtension (Istio ≥ 1.30).
    #[value(name = "trafficextension")]
    TrafficExtension,
    /// `networking.istio.io/v1alpha3` EnvoyFilter with the module on a node-local cache path
    /// (any Istio version; needs the wasme node cache).
    #[value(name = "envoyfilter")]
    EnvoyFilter,
}

impl IstioApi {
    /// Every Istio resource kind `deploy` can generate.
    pub const ALL: [IstioApi; 3] = [
        IstioApi::WasmPlugin,
        IstioApi::TrafficExtension,
        IstioApi::EnvoyFilter,
    ];

    /// The resource's group, version and kind.
    pub fn kind(self) -> ResourceKind {
        match self {
            IstioApi::WasmPlugin => WASM_PLUGIN,
            IstioApi::TrafficExtension => TRAFFIC_EXTENSION,
            IstioApi::EnvoyFilter => ENVOY_FILTER,
        }
    }
}

/// Observed state, written by a controller (none ships yet; `render` ignores it).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterDeploymentStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Per-workload deployment state.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workloads: BTreeMap<String, WorkloadStatus>,
    /// Why the deployment as a whole failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One workload's state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct WorkloadStatus {
    /// Pending, Succeeded or Failed.
    pub state: WorkloadState,
    /// Why, when Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A workload's deployment state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum WorkloadState {
    /// Not yet applied.
    #[default]
    Pending,
    /// Applied.
    Succeeded,
    /// Could not be applied.
    Failed,
}

/// The FilterDeployment CustomResourceDefinition (`apiextensions.k8s.io/v1`), with the full
/// OpenAPI v3 schema of [`FilterDeployment`].
///
/// The schema is generated the way `kube`'s `CustomResource` derive does it (schemars'
/// OpenAPI 3 settings, subschemas inlined, `nullable` instead of `null` types), without
/// depending on `kube` and `k8s-openapi`.
///
/// ```
/// let crd = cargo_wasme::deploy::filter_deployment::crd();
/// assert_eq!(crd["metadata"]["name"], "filterdeployments.wasme.io");
/// assert_eq!(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["required"][0], "spec");
/// ```
pub fn crd() -> serde_json::Value {
    let schema = super::crd_schema::generator().into_root_schema_for::<FilterDeployment>();
    let plural = "filterdeployments";
    serde_json::json!({
        "apiVersion": CUSTOM_RESOURCE_DEFINITION.api_version,
        "kind": CUSTOM_RESOURCE_DEFINITION.kind,
        "metadata": { "name": format!("{plural}.{}", FILTER_DEPLOYMENT.group) },
        "spec": {
            "group": FILTER_DEPLOYMENT.group,
            "names": {
                "categories": ["wasme"],
                "kind": FILTER_DEPLOYMENT.kind,
                "plural": plural,
                "shortNames": ["fd"],
                "singular": "filterdeployment",
            },
            "scope": "Namespaced",
            "versions": [{
                "additionalPrinterColumns": [
                    { "jsonPath": ".spec.filter.image", "name": "Image", "type": "string" },
                    { "jsonPath": ".spec.deployment.istio.api", "name": "API", "type": "string" },
                ],
                "name": FILTER_DEPLOYMENT.version,
                "schema": { "openAPIV3Schema": schema },
                "served": true,
                "storage": true,
                "subresources": { "status": {} },
            }],
        },
    })
}
