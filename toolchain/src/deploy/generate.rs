//! A `FilterDeployment` + a resolved image → the Istio resources that deploy it.
//!
//! This is the old wasme operator's reconcile as a pure function: no cluster is read, nothing
//! is written. `cargo wasme deploy istio` builds a [`FilterDeployment`] from its flags and calls
//! [`generate`]; `cargo wasme render` calls it for every FilterDeployment document.

use super::filter_deployment::{
    FailStrategy, FilterConfig, FilterDeployment, FilterType, IstioApi, PatchContext, Target,
};
use super::istio::{
    EnvoyConfigObjectMatch, EnvoyConfigObjectPatch, EnvoyFilter, EnvoyFilterSpec, FilterChainMatch,
    FilterMatch, ListenerMatch, Patch, Selector, SubFilterMatch, TrafficExtension,
    TrafficExtensionSpec, TrafficSelector, WasmModule, WasmPlugin, WasmPluginSpec,
    WorkloadSelector,
};
use super::k8s::{ObjectMeta, TRAFFIC_EXTENSION, WASM_PLUGIN};
use super::names;
use super::node_cache::{
    KustomizeComponent, WorkloadPatch, cache_annotations_patch, cache_resources, node_cache_path,
};
use super::resolve::ResolvedImage;
use super::{DeployError, FILTER_ID_ANNOTATION, IMAGE_ANNOTATION, MANAGED_BY_LABEL};
use crate::image::Format;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// An Istio version `MAJOR.MINOR`, used to pick shapes and to warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IstioVersion {
    /// Major version (1).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl IstioVersion {
    /// Parses `1.24`, `1.24.3` or `v1.24.3`.
    pub fn parse(s: &str) -> Result<Self, DeployError> {
        let bad = || DeployError::InvalidIstioVersion(s.to_owned());
        let t = s.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        match (parts.next(), parts.next()) {
            (None, None) => {}
            (Some(p), None) if p.parse::<u32>().is_ok() => {}
            _ => return Err(bad()),
        }
        Ok(Self { major, minor })
    }

    const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }
}

impl std::fmt::Display for IstioVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// One generated manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Manifest {
    /// A WasmPlugin.
    WasmPlugin(WasmPlugin),
    /// A TrafficExtension.
    TrafficExtension(TrafficExtension),
    /// An EnvoyFilter.
    EnvoyFilter(EnvoyFilter),
    /// A kustomize Component patching workloads' pod annotations.
    Component(KustomizeComponent),
    /// A plain Kubernetes resource: the node cache's Namespace, ConfigMap and DaemonSet.
    Resource(serde_json::Value),
    /// A gateway's resource ([`super::gateways`]): Envoy Gateway's EnvoyExtensionPolicy,
    /// Higress's WasmPlugin.
    Gateway(serde_json::Value),
}

/// What [`generate`] produces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generated {
    /// The Istio resources.
    pub manifests: Vec<Manifest>,
    /// Pod annotations the selected workloads need (EnvoyFilter form only).
    pub workload_patch: Option<WorkloadPatch>,
    /// Things the user should know; they never block.
    pub warnings: Vec<String>,
}

/// The filter id of a FilterDeployment: `spec.filter.id`, else `<name>.<namespace>`, else
/// `<name>`.
pub fn filter_id(fd: &FilterDeployment) -> String {
    if let Some(id) = &fd.spec.filter.id {
        return id.clone();
    }
    let name = fd.metadata.name.clone().unwrap_or_default();
    match &fd.metadata.namespace {
        Some(ns) => format!("{name}.{ns}"),
        None => name,
    }
}

/// Checks a FilterDeployment's names, labels and config before anything is generated.
pub fn validate(fd: &FilterDeployment) -> Result<(), DeployError> {
    let name = fd.metadata.name.as_deref().unwrap_or_default();
    names::validate_dns1123_subdomain("FilterDeployment name", name)?;
    if let Some(ns) = &fd.metadata.namespace {
        names::validate_dns1123_label("namespace", ns)?;
    }
    let id = filter_id(fd);
    names::validate_dns1123_subdomain("filter id", &id)?;
    let istio = &fd.spec.deployment.istio;
    names::validate_labels(&istio.labels)?;
    if let Some(secret) = fd
        .spec
        .filter
        .image_pull_options
        .as_ref()
        .and_then(|o| o.pull_secret.as_deref())
    {
        names::validate_dns1123_subdomain("image pull secret", secret)?;
    }
    if let Some(root) = &fd.spec.filter.root_id
        && (root.is_empty() || root.len() > 256)
    {
        return Err(DeployError::InvalidConfig(format!(
            "root id {root:?} must be 1-256 characters"
        )));
    }
    if let Some(v) = &istio.istio_version {
        IstioVersion::parse(v)?;
    }
    Ok(())
}

fn metadata(fd: &FilterDeployment, id: &str, image: &ResolvedImage) -> ObjectMeta {
    ObjectMeta {
        name: fd.metadata.name.clone(),
        namespace: fd.metadata.namespace.clone(),
        labels: Some(BTreeMap::from([(
            MANAGED_BY_LABEL.0.to_owned(),
            MANAGED_BY_LABEL.1.to_owned(),
        )])),
        annotations: Some(BTreeMap::from([
            (FILTER_ID_ANNOTATION.to_owned(), id.to_owned()),
            (IMAGE_ANNOTATION.to_owned(), image.reference.whole()),
        ])),
        ..Default::default()
    }
}

/// The WasmPlugin/TrafficExtension `match` for a patch context.
fn traffic_match(ctx: Option<PatchContext>) -> Vec<TrafficSelector> {
    let mode = match ctx {
        Some(PatchContext::Inbound) => "SERVER",
        Some(PatchContext::Outbound) => "CLIENT",
        // Gateways are chosen by the selector; `any` is Istio's default (no match).
        Some(PatchContext::Gateway | PatchContext::Any) | None => return Vec::new(),
    };
    vec![TrafficSelector { mode: mode.into() }]
}

fn plugin_config(
    config: Option<&FilterConfig>,
    api: &str,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, DeployError> {
    match config {
        None => Ok(None),
        Some(c) => match c.as_object() {
            Some(obj) => Ok(Some(obj)),
            None => Err(DeployError::InvalidConfig(format!(
                "a {api} carries its configuration as a JSON object (pluginConfig), and {:?} is not one; \
                 pass a JSON object (e.g. '{{\"value\": \"...\"}}') if the filter accepts one, or use \
                 the EnvoyFilter form ({}), which passes strings verbatim",
                c.to_config_string(),
                api_choice(IstioApi::EnvoyFilter)
            ))),
        },
    }
}

/// The Istio resource a FilterDeployment becomes, and the notice to print when it was chosen
/// for the user.
///
/// Decision (issue 9, "the seed's documents work verbatim"): an explicit `api` (`--api`) is
/// obeyed. Without one, a **plain-string configuration selects the EnvoyFilter form**, with a
/// notice: that is the mechanism the seed's `wasme deploy istio … --config 'tomorrow'` and its
/// FilterDeployment (`config: 'world'`) used, and the only one that hands a string to the
/// filter verbatim (a WasmPlugin's `pluginConfig` is a JSON object). Everything else defaults
/// to a WasmPlugin.
pub fn chosen_api(fd: &FilterDeployment) -> (IstioApi, Option<String>) {
    if let Some(api) = fd.spec.deployment.istio.api {
        return (api, None);
    }
    match &fd.spec.filter.config {
        Some(FilterConfig::String(_)) => (
            IstioApi::EnvoyFilter,
            Some(
                "the configuration is a plain string, which only the EnvoyFilter form hands to the filter verbatim: \
                 generating an EnvoyFilter (it loads the module from the wasme node cache). For a WasmPlugin, pass a \
                 JSON object and choose it explicitly (deploy: --api wasmplugin; FilterDeployment: api: WasmPlugin)"
                    .into(),
            ),
        ),
        _ => (IstioApi::default(), None),
    }
}

/// How to choose `api` in both inputs: the `deploy istio` flag and the FilterDeployment field.
fn api_choice(api: IstioApi) -> String {
    let field = match api {
        IstioApi::WasmPlugin => "WasmPlugin",
        IstioApi::TrafficExtension => "TrafficExtension",
        IstioApi::EnvoyFilter => "EnvoyFilter",
    };
    format!(
        "deploy: --api {}; FilterDeployment: spec.deployment.istio.api: {field}",
        field.to_lowercase()
    )
}

/// Checks what can be checked before the image is resolved (no registry is contacted for a
/// request that is wrong anyway): names, labels, and whether the configuration fits the
/// chosen output.
pub fn check_input(fd: &FilterDeployment) -> Result<(), DeployError> {
    validate(fd)?;
    let config = fd.spec.filter.config.as_ref();
    match fd.spec.deployment.target.unwrap_or_default() {
        Target::Istio => match chosen_api(fd).0 {
            IstioApi::WasmPlugin => plugin_config(config, WASM_PLUGIN.kind).map(drop),
            IstioApi::TrafficExtension => plugin_config(config, TRAFFIC_EXTENSION.kind).map(drop),
            IstioApi::EnvoyFilter => Ok(()),
        },
        // The gateways carry JSON objects too; their generators say so in their own words.
        Target::EnvoyGateway | Target::Higress => match config {
            Some(c) if c.as_object().is_none() => Err(DeployError::InvalidConfig(format!(
                "the gateway hands the filter its configuration as JSON text, so it must be a \
                 JSON object (e.g. '{{\"value\": \"...\"}}'); {:?} is not one",
                c.to_config_string()
            ))),
            _ => Ok(()),
        },
    }
}

/// Turns one FilterDeployment into Istio resources for `image` (already pinned).
/// [`super::target::generate`] picks the generator of the FilterDeployment's target.
pub fn generate(fd: &FilterDeployment, image: &ResolvedImage) -> Result<Generated, DeployError> {
    if let Some(t @ (Target::EnvoyGateway | Target::Higress)) = fd.spec.deployment.target {
        return Err(DeployError::Unsupported(format!(
            "generate::generate makes Istio resources, and this FilterDeployment targets {t:?}: \
             use deploy::target::generate"
        )));
    }
    validate(fd)?;
    let id = filter_id(fd);
    let filter = &fd.spec.filter;
    let istio = &fd.spec.deployment.istio;
    let version = istio
        .istio_version
        .as_deref()
        .map(IstioVersion::parse)
        .transpose()?;
    let (api, notice) = chosen_api(fd);
    let root_id = filter
        .root_id
        .clone()
        .or_else(|| image.root_ids.first().cloned());
    let pull = filter.image_pull_options.clone().unwrap_or_default();
    let selector = (!istio.labels.is_empty()).then(|| Selector {
        match_labels: istio.labels.clone(),
    });
    let mut out = Generated::default();
    out.warnings.extend(notice);
    let min = |v: IstioVersion, what: &str, out: &mut Generated| {
        if let Some(have) = version
            && have < v
        {
            out.warnings.push(format!(
                "{what} needs Istio {v} or newer; the mesh is {have} (generated anyway)"
            ));
        }
    };
    let module = |kind: &str| -> Result<WasmModule, DeployError> {
        check_istio_readable(image, kind)?;
        Ok(WasmModule {
            url: image.oci_url(),
            sha256: Some(image.digest_hex().to_owned()),
            image_pull_policy: pull.pull_policy,
            image_pull_secret: pull.pull_secret.clone(),
            plugin_config: plugin_config(filter.config.as_ref(), kind)?,
            plugin_name: root_id.clone(),
            fail_strategy: filter.fail_strategy,
            plugin_type: filter.filter_type,
        })
    };
    match api {
        IstioApi::WasmPlugin => {
            min(IstioVersion::new(1, 12), WASM_PLUGIN.kind, &mut out);
            let spec = WasmPluginSpec {
                selector,
                module: module(WASM_PLUGIN.kind)?,
                phase: filter.phase,
                priority: filter.priority,
                r#match: traffic_match(filter.patch_context),
            };
            out.manifests.push(Manifest::WasmPlugin(WasmPlugin {
                metadata: metadata(fd, &id, image),
                spec,
            }));
        }
        IstioApi::TrafficExtension => {
            min(IstioVersion::new(1, 30), TRAFFIC_EXTENSION.kind, &mut out);
            let spec = TrafficExtensionSpec {
                selector,
                phase: filter.phase,
                priority: filter.priority,
                r#match: traffic_match(filter.patch_context),
                wasm: module(TRAFFIC_EXTENSION.kind)?,
            };
            out.manifests
                .push(Manifest::TrafficExtension(TrafficExtension {
                    metadata: metadata(fd, &id, image),
                    spec,
                }));
        }
        IstioApi::EnvoyFilter => {
            let (filter_value, warnings) =
                envoy_filter_patch(fd, &id, root_id.as_deref(), image, version)?;
            out.warnings.extend(warnings);
            if version.is_some_and(|v| v >= IstioVersion::new(1, 12)) {
                out.warnings.push(
                    format!(
                        "Istio 1.12 and newer fetch modules themselves: a WasmPlugin ({}) needs no node cache and no pod restarts",
                        api_choice(IstioApi::WasmPlugin)
                    ),
                );
            }
            out.manifests.push(Manifest::EnvoyFilter(EnvoyFilter {
                metadata: metadata(fd, &id, image),
                spec: filter_value,
            }));
            // The node cache that puts the module where the EnvoyFilter reads it.
            let entry = format!(
                "{}.{id}",
                fd.metadata.namespace.as_deref().unwrap_or("default")
            );
            out.manifests.extend(
                cache_resources(&entry, &image.pinned_reference())
                    .into_iter()
                    .map(Manifest::Resource),
            );
            out.workload_patch = Some(cache_annotations_patch(fd, false));
        }
    }
    Ok(out)
}

/// Refuses images Istio's agent cannot read (it reads the compat OCI/Docker layouts and solo's
/// two-layer one; a CNCF artifact or a wasm-to-oci image fails at pull time, in the cluster).
/// An image whose format is unknown (an `--offline` digest) is let through.
fn check_istio_readable(image: &ResolvedImage, kind: &str) -> Result<(), DeployError> {
    match image.format {
        Some(f @ (Format::Cncf | Format::Legacy)) => Err(DeployError::Unresolved {
            reference: image.reference.whole(),
            reason: format!(
                "it is stored in the {f} format, which Istio's agent cannot read, so a {kind} \
                 would fail when the sidecar pulls it; rebuild it with `--format compat` \
                 (`cargo wasme build --format compat` or `cargo wasme package … --format compat`) \
                 and push it again"
            ),
        }),
        _ => Ok(()),
    }
}

fn envoy_filter_patch(
    fd: &FilterDeployment,
    id: &str,
    root_id: Option<&str>,
    image: &ResolvedImage,
    version: Option<IstioVersion>,
) -> Result<(EnvoyFilterSpec, Vec<String>), DeployError> {
    let filter = &fd.spec.filter;
    let istio = &fd.spec.deployment.istio;
    let mut warnings = Vec::new();
    let Some(wasm_sha) = image.wasm_sha256.as_deref() else {
        return Err(DeployError::Unresolved {
            reference: image.reference.whole(),
            reason: format!(
                "the EnvoyFilter form names the module by the sha256 of its .wasm, and only the reference's digest is known \
                 (--offline, not in the local store): pull the image (`cargo wasme pull {}`) or run without --offline, \
                 or use a WasmPlugin ({})",
                image.reference.whole(),
                api_choice(IstioApi::WasmPlugin)
            ),
        });
    };
    // Istio ≤ 1.6 only understands the untyped `config` form and the old filter names.
    let legacy = version.is_some_and(|v| v <= IstioVersion::new(1, 6));
    let network = filter.filter_type == Some(FilterType::Network);
    if legacy && network {
        return Err(DeployError::Unsupported(
            "network (TCP) Wasm filters need Istio 1.7 or newer in the EnvoyFilter form".into(),
        ));
    }
    if filter.phase.is_some() {
        warnings.push("the phase (--phase, phase:) has no EnvoyFilter equivalent and is ignored (the filter is inserted before the router)".into());
    }
    if legacy && filter.fail_strategy.is_some() {
        warnings.push(
            "the fail strategy (--fail-strategy, failStrategy:) needs Istio 1.7 or newer in the EnvoyFilter form and is ignored"
                .into(),
        );
    }
    let config_string = filter
        .config
        .as_ref()
        .map(FilterConfig::to_config_string)
        .unwrap_or_default();
    let path = node_cache_path(wasm_sha);
    let context = match filter.patch_context.unwrap_or(PatchContext::Inbound) {
        PatchContext::Inbound => "SIDECAR_INBOUND",
        PatchContext::Outbound => "SIDECAR_OUTBOUND",
        PatchContext::Gateway => "GATEWAY",
        PatchContext::Any => "ANY",
    };
    let mut plugin = serde_json::Map::new();
    plugin.insert("name".into(), json!(id));
    if let Some(root) = root_id {
        plugin.insert("rootId".into(), json!(root));
    }
    let vm_config = json!({
        "vmId": id,
        "runtime": "envoy.wasm.runtime.v8",
        "code": {"local": {"filename": path}},
    });
    let (apply_to, chain_filter, sub_filter, value) = if legacy {
        plugin.insert("configuration".into(), json!(config_string));
        plugin.insert("vmConfig".into(), vm_config);
        (
            "HTTP_FILTER",
            "envoy.http_connection_manager",
            Some("envoy.router"),
            json!({"name": "envoy.filters.http.wasm", "config": {"config": plugin}}),
        )
    } else {
        plugin.insert(
            "configuration".into(),
            json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": config_string}),
        );
        plugin.insert("vmConfig".into(), vm_config);
        if filter.fail_strategy == Some(FailStrategy::FailOpen) {
            plugin.insert("failOpen".into(), json!(true));
        }
        let (apply_to, chain, sub, name, type_url) = if network {
            (
                "NETWORK_FILTER",
                "envoy.filters.network.tcp_proxy",
                None,
                "envoy.filters.network.wasm",
                "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
            )
        } else {
            (
                "HTTP_FILTER",
                "envoy.filters.network.http_connection_manager",
                Some("envoy.filters.http.router"),
                "envoy.filters.http.wasm",
                "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            )
        };
        (
            apply_to,
            chain,
            sub,
            json!({
                "name": name,
                "typedConfig": {
                    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                    "typeUrl": type_url,
                    "value": {"config": plugin},
                },
            }),
        )
    };
    let spec = EnvoyFilterSpec {
        workload_selector: (!istio.labels.is_empty()).then(|| WorkloadSelector {
            labels: istio.labels.clone(),
        }),
        priority: filter.priority,
        config_patches: vec![EnvoyConfigObjectPatch {
            apply_to: apply_to.into(),
            r#match: EnvoyConfigObjectMatch {
                context: context.into(),
                listener: ListenerMatch {
                    filter_chain: FilterChainMatch {
                        filter: FilterMatch {
                            name: chain_filter.into(),
                            sub_filter: sub_filter.map(|n| SubFilterMatch { name: n.into() }),
                        },
                    },
                },
            },
            patch: Patch {
                operation: "INSERT_BEFORE".into(),
                value,
            },
        }],
    };
    Ok((spec, warnings))
}
