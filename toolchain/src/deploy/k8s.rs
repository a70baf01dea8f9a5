//! The few Kubernetes shapes `deploy` reads and writes, and every group/version/kind it names.
//!
//! Hand-written instead of `k8s-openapi` (+ `kube`'s derive, which needs it): that crate
//! compiles every API group of Kubernetes for the one `ObjectMeta`, the three volume types and
//! the CRD wrapper used here. The field names and their (alphabetical) serialisation order are
//! those of `k8s-openapi`, so the output is unchanged byte for byte.
//!
//! ```
//! use cargo_wasme::deploy::k8s::{ENVOY_FILTER, WASM_PLUGIN};
//! assert_eq!(WASM_PLUGIN.api_version, "extensions.istio.io/v1alpha1");
//! assert_eq!(ENVOY_FILTER.kind, "EnvoyFilter");
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A resource type: its API group and version and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceKind {
    /// API group (empty for the core group).
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// `group/version` (or `version` for the core group), the `apiVersion` field.
    pub api_version: &'static str,
    /// The kind, the `kind` field.
    pub kind: &'static str,
}

impl ResourceKind {
    /// Whether `doc` (a parsed YAML document) has this `apiVersion` and `kind`.
    pub fn matches(&self, doc: &serde_norway::Value) -> bool {
        let field = |k: &str| doc.get(k).and_then(serde_norway::Value::as_str);
        field("apiVersion") == Some(self.api_version) && field("kind") == Some(self.kind)
    }

    /// [`ResourceKind::matches`] for a JSON value.
    pub fn matches_json(&self, doc: &serde_json::Value) -> bool {
        let field = |k: &str| doc.get(k).and_then(serde_json::Value::as_str);
        field("apiVersion") == Some(self.api_version) && field("kind") == Some(self.kind)
    }
}

macro_rules! kind {
    ($group:literal, $version:literal, $kind:literal) => {
        ResourceKind {
            group: $group,
            version: $version,
            api_version: concat!($group, "/", $version),
            kind: $kind,
        }
    };
}

/// Istio's `extensions.istio.io/v1alpha1` WasmPlugin (Istio ≥ 1.12).
pub const WASM_PLUGIN: ResourceKind = kind!("extensions.istio.io", "v1alpha1", "WasmPlugin");
/// Istio's `extensions.istio.io/v1alpha1` TrafficExtension (Istio ≥ 1.30).
pub const TRAFFIC_EXTENSION: ResourceKind =
    kind!("extensions.istio.io", "v1alpha1", "TrafficExtension");
/// Istio's `networking.istio.io/v1alpha3` EnvoyFilter.
pub const ENVOY_FILTER: ResourceKind = kind!("networking.istio.io", "v1alpha3", "EnvoyFilter");
/// Envoy Gateway's `gateway.envoyproxy.io/v1alpha1` EnvoyExtensionPolicy.
pub const ENVOY_EXTENSION_POLICY: ResourceKind =
    kind!("gateway.envoyproxy.io", "v1alpha1", "EnvoyExtensionPolicy");
/// Higress's `extensions.higress.io/v1alpha1` WasmPlugin (its own, not Istio's).
pub const HIGRESS_WASM_PLUGIN: ResourceKind =
    kind!("extensions.higress.io", "v1alpha1", "WasmPlugin");
/// wasme's own `wasme.io/v1` FilterDeployment.
pub const FILTER_DEPLOYMENT: ResourceKind = kind!("wasme.io", "v1", "FilterDeployment");
/// A kustomize `kustomize.config.k8s.io/v1alpha1` Component.
pub const KUSTOMIZE_COMPONENT: ResourceKind =
    kind!("kustomize.config.k8s.io", "v1alpha1", "Component");
/// A KRM function's `config.kubernetes.io/v1` ResourceList.
pub const RESOURCE_LIST: ResourceKind = kind!("config.kubernetes.io", "v1", "ResourceList");
/// `apiextensions.k8s.io/v1` CustomResourceDefinition.
pub const CUSTOM_RESOURCE_DEFINITION: ResourceKind =
    kind!("apiextensions.k8s.io", "v1", "CustomResourceDefinition");
/// `apps/v1` Deployment.
pub const DEPLOYMENT: ResourceKind = kind!("apps", "v1", "Deployment");
/// `apps/v1` DaemonSet.
pub const DAEMON_SET: ResourceKind = kind!("apps", "v1", "DaemonSet");
/// Core `v1` Namespace.
pub const NAMESPACE: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    api_version: "v1",
    kind: "Namespace",
};
/// Core `v1` ConfigMap.
pub const CONFIG_MAP: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    api_version: "v1",
    kind: "ConfigMap",
};
/// `apps/v1` StatefulSet.
pub const STATEFUL_SET: ResourceKind = kind!("apps", "v1", "StatefulSet");

/// `metadata` of a Kubernetes object (the fields a manifest carries; server-side bookkeeping
/// such as `managedFields` is not modelled and is dropped on reading).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// When the object was created (set by the API server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Finalizers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
    /// Prefix of a generated name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// The spec's generation (set by the API server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Owner references, kept as found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_references: Option<Vec<serde_json::Value>>,
    /// Resource version (set by the API server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Unique id (set by the API server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl ObjectMeta {
    /// Metadata with only a name.
    pub fn named(name: &str) -> Self {
        ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        }
    }
}

/// A pod volume (only the `hostPath` source is modelled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// A directory on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolumeSource>,
    /// The volume's name.
    pub name: String,
}

/// A `hostPath` volume source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostPathVolumeSource {
    /// The path on the node.
    pub path: String,
    /// `Directory`, `DirectoryOrCreate`, … (unset: no check).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// Where a container mounts a volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// The path in the container.
    pub mount_path: String,
    /// The volume's name.
    pub name: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// A path within the volume to mount instead of its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

/// Declares a namespaced custom resource type `$name { metadata, spec }` whose `apiVersion`
/// and `kind` come from a [`ResourceKind`] constant (written on serialisation, ignored on
/// reading, as `kube`'s derive does).
macro_rules! custom_resource {
    ($(#[$doc:meta])* $name:ident, $spec:ty, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
        pub struct $name {
            /// Name, namespace, labels and annotations.
            pub metadata: $crate::deploy::k8s::ObjectMeta,
            /// The desired state.
            pub spec: $spec,
        }

        impl $name {
            /// Its group, version and kind.
            pub const KIND: $crate::deploy::k8s::ResourceKind = $kind;

            /// A resource named `name` with `spec`.
            pub fn new(name: &str, spec: $spec) -> Self {
                Self {
                    metadata: $crate::deploy::k8s::ObjectMeta::named(name),
                    spec,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct as _;
                let mut obj = ser.serialize_struct(stringify!($name), 4)?;
                obj.serialize_field("apiVersion", Self::KIND.api_version)?;
                obj.serialize_field("kind", Self::KIND.kind)?;
                obj.serialize_field("metadata", &self.metadata)?;
                obj.serialize_field("spec", &self.spec)?;
                obj.end()
            }
        }
    };
}
pub(crate) use custom_resource;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_volumes_serialise_like_k8s_openapi() {
        let meta = ObjectMeta {
            namespace: Some("ns".into()),
            labels: Some(BTreeMap::from([("a".into(), "b".into())])),
            ..ObjectMeta::named("x")
        };
        assert_eq!(
            serde_json::to_string(&meta).unwrap(),
            r#"{"labels":{"a":"b"},"name":"x","namespace":"ns"}"#
        );
        let volume = Volume {
            name: "v".into(),
            host_path: Some(HostPathVolumeSource {
                path: "/p".into(),
                type_: None,
            }),
        };
        assert_eq!(
            serde_json::to_string(&volume).unwrap(),
            r#"{"hostPath":{"path":"/p"},"name":"v"}"#
        );
        let doc: serde_norway::Value =
            serde_norway::from_str("apiVersion: wasme.io/v1\nkind: FilterDeployment\n").unwrap();
        assert!(FILTER_DEPLOYMENT.matches(&doc));
        assert!(!WASM_PLUGIN.matches(&doc));
    }
}
