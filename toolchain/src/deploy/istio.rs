//! Typed Istio resources: `WasmPlugin`, `TrafficExtension` (`extensions.istio.io/v1alpha1`) and
//! `EnvoyFilter` (`networking.istio.io/v1alpha3`).
//!
//! Only the fields `cargo wasme` writes are modelled; names and enums follow the CRDs in
//! `../shared/istio/` (tests validate every generated spec against them). Istio owns these
//! CRDs, so no schema is derived here. Their group/version/kind constants live in
//! [`super::k8s`].

use super::filter_deployment::{FailStrategy, FilterType, Phase, PullPolicy};
use super::k8s::{ENVOY_FILTER, TRAFFIC_EXTENSION, WASM_PLUGIN, custom_resource};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `spec` of a WasmPlugin.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WasmPluginSpec {
    /// Pods the plugin applies to; none means the whole namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    /// The module and how the proxy loads it (Istio's flat WasmPlugin fields).
    #[serde(flatten)]
    pub module: WasmModule,
    /// `AUTHN`, `AUTHZ`, `STATS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Order within the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Traffic selection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r#match: Vec<TrafficSelector>,
}

/// `spec` of a TrafficExtension (Istio ≥ 1.30, supersedes WasmPlugin).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrafficExtensionSpec {
    /// Pods the extension applies to; none means the whole namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    /// `AUTHN`, `AUTHZ`, `STATS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Order within the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Traffic selection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r#match: Vec<TrafficSelector>,
    /// The WebAssembly module.
    pub wasm: WasmModule,
}

/// The module and how the proxy loads and runs it: `spec.wasm` of a TrafficExtension, and the
/// same fields inline in a WasmPlugin's `spec` (the two CRDs share them).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WasmModule {
    /// `oci://…`, `https://…` or `file://…`.
    pub url: String,
    /// For `oci://`: the manifest digest's hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `IfNotPresent` or `Always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
    /// A `kubernetes.io/dockerconfigjson` Secret in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secret: Option<String>,
    /// The configuration object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_config: Option<serde_json::Map<String, serde_json::Value>>,
    /// The root id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_name: Option<String>,
    /// `FAIL_CLOSE`, `FAIL_OPEN`, `FAIL_RELOAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_strategy: Option<FailStrategy>,
    /// `HTTP` or `NETWORK`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub plugin_type: Option<FilterType>,
}

/// `selector` of a WasmPlugin/TrafficExtension.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// Pod labels.
    pub match_labels: BTreeMap<String, String>,
}

/// One `match` entry of a WasmPlugin/TrafficExtension.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TrafficSelector {
    /// `CLIENT`, `SERVER` or `CLIENT_AND_SERVER`.
    pub mode: String,
}

/// `spec` of an EnvoyFilter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyFilterSpec {
    /// Pods the patches apply to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<WorkloadSelector>,
    /// Patch-set ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// The patches.
    pub config_patches: Vec<EnvoyConfigObjectPatch>,
}

/// `workloadSelector` of an EnvoyFilter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct WorkloadSelector {
    /// Pod labels.
    pub labels: BTreeMap<String, String>,
}

/// One `configPatches` entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyConfigObjectPatch {
    /// `HTTP_FILTER`, `NETWORK_FILTER`, …
    pub apply_to: String,
    /// Where.
    pub r#match: EnvoyConfigObjectMatch,
    /// What.
    pub patch: Patch,
}

/// `match` of a config patch (listener form only).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct EnvoyConfigObjectMatch {
    /// `SIDECAR_INBOUND`, `SIDECAR_OUTBOUND`, `GATEWAY`, `ANY`.
    pub context: String,
    /// The listener to match.
    pub listener: ListenerMatch,
}

/// `match.listener`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListenerMatch {
    /// The filter chain to match.
    pub filter_chain: FilterChainMatch,
}

/// `match.listener.filterChain`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct FilterChainMatch {
    /// The network filter to match.
    pub filter: FilterMatch,
}

/// `match.listener.filterChain.filter`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FilterMatch {
    /// Network filter name.
    pub name: String,
    /// HTTP filter inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_filter: Option<SubFilterMatch>,
}

/// `match.listener.filterChain.filter.subFilter`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SubFilterMatch {
    /// HTTP filter name.
    pub name: String,
}

/// `patch` of a config patch.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Patch {
    /// `INSERT_BEFORE`, …
    pub operation: String,
    /// The Envoy configuration inserted (Envoy's API, as JSON).
    pub value: serde_json::Value,
}

custom_resource!(
    /// An Istio WasmPlugin resource.
    WasmPlugin,
    WasmPluginSpec,
    WASM_PLUGIN
);

custom_resource!(
    /// An Istio TrafficExtension resource.
    TrafficExtension,
    TrafficExtensionSpec,
    TRAFFIC_EXTENSION
);

custom_resource!(
    /// An Istio EnvoyFilter resource.
    EnvoyFilter,
    EnvoyFilterSpec,
    ENVOY_FILTER
);
