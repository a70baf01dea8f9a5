//! The EnvoyFilter form's node cache: where modules sit on each node, the pod annotations that
//! mount that directory into the sidecar, and the patch (or kustomize Component) that sets or
//! removes them on the selected workloads.

use super::MANAGED_BY_LABEL as MANAGED_BY;
use super::filter_deployment::{FilterDeployment, WorkloadKind};
use super::k8s::{
    CONFIG_MAP, DAEMON_SET, HostPathVolumeSource, KUSTOMIZE_COMPONENT, NAMESPACE, ObjectMeta,
    Volume, VolumeMount,
};
use super::names;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Directory on each node where the wasme node cache keeps modules, by sha256.
pub const NODE_CACHE_DIR: &str = "/var/local/lib/wasme-cache";
/// Name of the sidecar volume that mounts [`NODE_CACHE_DIR`].
pub const NODE_CACHE_VOLUME: &str = "wasme-cache";
/// Pod annotation Istio's injector reads to add volumes to the sidecar.
pub const USER_VOLUME_ANNOTATION: &str = "sidecar.istio.io/userVolume";
/// Pod annotation Istio's injector reads to add volume mounts to the sidecar.
pub const USER_VOLUME_MOUNT_ANNOTATION: &str = "sidecar.istio.io/userVolumeMount";

/// Pod template annotations to set (or, with `null` values, remove) on the selected workloads:
/// what the EnvoyFilter form needs so the sidecar mounts the node cache.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadPatch {
    /// Kind of workload patched.
    pub kind: WorkloadKind,
    /// Namespace of the workloads (none: wherever the output is applied).
    pub namespace: Option<String>,
    /// Pod labels selecting the workloads (empty: all of `kind`).
    pub labels: BTreeMap<String, String>,
    /// Annotation → value (`None` removes it).
    pub annotations: BTreeMap<String, Option<String>>,
}

impl WorkloadPatch {
    /// The strategic-merge patch body (`spec.template.metadata.annotations`).
    pub fn strategic_merge_patch(&self) -> serde_json::Value {
        json!({"spec": {"template": {"metadata": {"annotations": self.annotations}}}})
    }

    /// Whether a workload document is one this patch targets (`apps/v1`, the kind, the
    /// namespace when both say one, and every selector label on the pod template).
    pub fn selects(&self, doc: &serde_norway::Value) -> bool {
        fn str_at(v: Option<&serde_norway::Value>) -> Option<&str> {
            v.and_then(|v| v.as_str())
        }
        let kind_ok = self.kind.kind().matches(doc);
        let ns = str_at(doc.get("metadata").and_then(|m| m.get("namespace")));
        let ns_ok = match (&self.namespace, ns) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        };
        let pod_labels = doc
            .get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("labels"));
        let labels_ok = self
            .labels
            .iter()
            .all(|(k, v)| str_at(pod_labels.and_then(|l| l.get(k.as_str()))) == Some(v.as_str()));
        kind_ok && ns_ok && labels_ok
    }

    /// Applies the patch to a workload document in place (`spec.template.metadata.annotations`).
    pub fn apply_to(&self, doc: &mut serde_norway::Value) {
        use serde_norway::{Mapping, Value};
        fn child<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
            let map = v.as_mapping_mut()?;
            if !map.contains_key(key) {
                map.insert(Value::from(key), Value::Mapping(Mapping::new()));
            }
            map.get_mut(key)
        }
        let Some(spec) = doc.get_mut("spec") else {
            return;
        };
        let Some(meta) = child(spec, "template").and_then(|t| child(t, "metadata")) else {
            return;
        };
        let Some(ann) = child(meta, "annotations").and_then(Value::as_mapping_mut) else {
            return;
        };
        for (k, v) in &self.annotations {
            match v {
                Some(v) => {
                    ann.insert(Value::from(k.as_str()), Value::from(v.as_str()));
                }
                None => {
                    ann.remove(k.as_str());
                }
            }
        }
        if ann.is_empty()
            && let Some(m) = meta.as_mapping_mut()
        {
            m.remove("annotations");
        }
    }

    /// The patch as a kustomize `Component` (a GitOps repo lists it under `components:`).
    ///
    /// kustomize's `labelSelector` matches a workload's own `metadata.labels`, not its pod
    /// template's: it finds workloads labelled like their pods (as Istio's samples are).
    pub fn to_component(&self, name: &str) -> KustomizeComponent {
        let patch = json!({
            "apiVersion": self.kind.kind().api_version,
            "kind": self.kind.as_str(),
            // kustomize needs a name in a strategic-merge patch; `target` decides what is
            // patched.
            "metadata": {"name": "any"},
            "spec": {"template": {"metadata": {"annotations": self.annotations}}},
        });
        // A YAML string holding the patch: kustomize's `patches[].patch` field. Serialising a
        // `serde_json::Value` cannot fail.
        let patch = serde_norway::to_string(&patch).unwrap_or_default();
        KustomizeComponent {
            api_version: KUSTOMIZE_COMPONENT.api_version.into(),
            kind: KUSTOMIZE_COMPONENT.kind.into(),
            metadata: ObjectMeta::named(name),
            resources: Vec::new(),
            patches: vec![KustomizePatch {
                target: KustomizeTarget {
                    group: self.kind.kind().group.into(),
                    version: self.kind.kind().version.into(),
                    kind: self.kind.as_str().into(),
                    namespace: self.namespace.clone(),
                    label_selector: (!self.labels.is_empty())
                        .then(|| names::label_selector(&self.labels)),
                },
                patch,
            }],
        }
    }
}

/// A kustomize `Component` (`kustomize.config.k8s.io/v1alpha1`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeComponent {
    /// `kustomize.config.k8s.io/v1alpha1`.
    pub api_version: String,
    /// `Component`.
    pub kind: String,
    /// Its name.
    pub metadata: ObjectMeta,
    /// Resource files of the component's directory (e.g. `resources.yaml`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The patches.
    pub patches: Vec<KustomizePatch>,
}

/// The file holding the generated resources in a [`kustomize_dir`].
pub const KUSTOMIZE_RESOURCES_FILE: &str = "resources.yaml";

/// The files of a kustomize component directory (`--kustomize DIR`): `kustomization.yaml`, a
/// `Component` carrying `patches` (the pod annotations), and, when `resources` (a YAML stream)
/// is given, [`KUSTOMIZE_RESOURCES_FILE`] listed under its `resources:`. An application's
/// kustomization lists the directory under `components:`; kustomize documents never go into a
/// stream meant for `kubectl apply -f -`.
pub fn kustomize_dir(
    name: &str,
    patches: &[WorkloadPatch],
    resources: Option<&str>,
) -> Result<Vec<(&'static str, String)>, super::DeployError> {
    let mut component = KustomizeComponent {
        api_version: KUSTOMIZE_COMPONENT.api_version.into(),
        kind: KUSTOMIZE_COMPONENT.kind.into(),
        metadata: ObjectMeta::named(name),
        resources: Vec::new(),
        patches: patches
            .iter()
            .flat_map(|p| p.to_component(name).patches)
            .collect(),
    };
    let mut files = Vec::new();
    if let Some(stream) = resources {
        component.resources.push(KUSTOMIZE_RESOURCES_FILE.into());
        files.push((KUSTOMIZE_RESOURCES_FILE, stream.to_owned()));
    }
    files.insert(0, ("kustomization.yaml", super::yaml::to_yaml(&component)?));
    Ok(files)
}

/// One kustomize patch with a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KustomizePatch {
    /// What to patch.
    pub target: KustomizeTarget,
    /// The strategic-merge patch, as YAML text.
    pub patch: String,
}

/// A kustomize patch target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeTarget {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Label selector (`k=v,…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// The pod annotations that mount the node cache into the sidecar (`remove`: the patch that
/// takes them away again).
pub fn cache_annotations_patch(fd: &FilterDeployment, remove: bool) -> WorkloadPatch {
    let istio = &fd.spec.deployment.istio;
    let volume = Volume {
        name: NODE_CACHE_VOLUME.into(),
        host_path: Some(HostPathVolumeSource {
            path: NODE_CACHE_DIR.into(),
            ..Default::default()
        }),
    };
    let mount = VolumeMount {
        name: NODE_CACHE_VOLUME.into(),
        mount_path: NODE_CACHE_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    };
    let volume = json!([volume]);
    let mount = json!([mount]);
    let value = |v: serde_json::Value| (!remove).then(|| v.to_string());
    WorkloadPatch {
        kind: istio.kind.unwrap_or_default(),
        namespace: fd.metadata.namespace.clone(),
        labels: istio.labels.clone(),
        annotations: BTreeMap::from([
            (USER_VOLUME_ANNOTATION.to_owned(), value(volume)),
            (USER_VOLUME_MOUNT_ANNOTATION.to_owned(), value(mount)),
        ]),
    }
}

/// The node-cache path of a module: `/var/local/lib/wasme-cache/<sha256 of the wasm>`.
pub fn node_cache_path(wasm_sha256: &str) -> String {
    format!("{NODE_CACHE_DIR}/{wasm_sha256}")
}

/// Namespace of the node cache (one cache per cluster, as wasme's operator had).
pub const CACHE_NAMESPACE: &str = "wasme";
/// Name of the cache's DaemonSet and of the ConfigMap listing its images.
pub const CACHE_NAME: &str = "wasme-cache";
/// Where the DaemonSet mounts the ConfigMap (one file per entry) for `cargo wasme cache --refs`.
pub const CACHE_LIST_DIR: &str = "/etc/wasme-cache";
/// The optional `kubernetes.io/dockerconfigjson` Secret (in [`CACHE_NAMESPACE`]) holding the
/// credentials the cache pulls private images with; mounted as `$DOCKER_CONFIG/config.json`.
pub const CACHE_PULL_SECRET: &str = "wasme-cache-pull";
/// Where that Secret is mounted (the container's `DOCKER_CONFIG`).
pub const CACHE_AUTH_DIR: &str = "/etc/wasme-cache-auth";

/// The image the cache DaemonSet runs: `cargo-wasme:<this version>`, built from the
/// repository's `Dockerfile`. Push it to a registry the nodes can reach and rename it with
/// kustomize's `images:` transformer (or `kubectl set image`).
pub fn cache_image() -> String {
    format!("cargo-wasme:{}", env!("CARGO_PKG_VERSION"))
}

/// The node cache the EnvoyFilter form needs, as resources `kubectl apply` accepts: the
/// `wasme` Namespace, the `wasme-cache` ConfigMap carrying this filter's entry (`entry` →
/// `pinned_reference`), and the DaemonSet running `cargo wasme cache` on every node, writing
/// to the host path the EnvoyFilter reads ([`NODE_CACHE_DIR`]), with the optional
/// [`CACHE_PULL_SECRET`] as its registry credentials.
///
/// Each filter's output carries only its own entry: apply it with `kubectl apply
/// --server-side --field-manager=<something per filter>` (server-side apply merges ConfigMap
/// keys owned by different managers), or merge the entries in one ConfigMap in Git.
pub fn cache_resources(entry: &str, pinned_reference: &str) -> Vec<serde_json::Value> {
    let labels = json!({"app.kubernetes.io/name": CACHE_NAME, MANAGED_BY.0: MANAGED_BY.1});
    let namespace = json!({
        "apiVersion": NAMESPACE.api_version,
        "kind": NAMESPACE.kind,
        "metadata": {"name": CACHE_NAMESPACE, "labels": labels},
    });
    let config_map = json!({
        "apiVersion": CONFIG_MAP.api_version,
        "kind": CONFIG_MAP.kind,
        "metadata": {"name": CACHE_NAME, "namespace": CACHE_NAMESPACE, "labels": labels},
        "data": {entry: format!("{pinned_reference}\n")},
    });
    let daemon_set = json!({
        "apiVersion": DAEMON_SET.api_version,
        "kind": DAEMON_SET.kind,
        "metadata": {"name": CACHE_NAME, "namespace": CACHE_NAMESPACE, "labels": labels},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": CACHE_NAME}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{
                        "name": "cache",
                        "image": cache_image(),
                        "args": ["cache", "--refs", CACHE_LIST_DIR, "--dir", NODE_CACHE_DIR],
                        "env": [{"name": "DOCKER_CONFIG", "value": CACHE_AUTH_DIR}],
                        "volumeMounts": [
                            {"name": "images", "mountPath": CACHE_LIST_DIR, "readOnly": true},
                            {"name": "auth", "mountPath": CACHE_AUTH_DIR, "readOnly": true},
                            {"name": NODE_CACHE_VOLUME, "mountPath": NODE_CACHE_DIR},
                        ],
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                    }],
                    "volumes": [
                        {"name": "images", "configMap": {"name": CACHE_NAME}},
                        // Private registries: create this Secret (optional, so public images
                        // need nothing).
                        {"name": "auth", "secret": {
                            "secretName": CACHE_PULL_SECRET,
                            "optional": true,
                            "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
                        }},
                        {"name": NODE_CACHE_VOLUME, "hostPath": {"path": NODE_CACHE_DIR, "type": "DirectoryOrCreate"}},
                    ],
                },
            },
        },
    });
    vec![namespace, config_map, daemon_set]
}
