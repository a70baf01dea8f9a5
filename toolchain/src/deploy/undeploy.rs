//! `undeploy`: the deletions matching what `deploy` generated, as a pure function.
//!
//! ```
//! use cargo_wasme::deploy::{filter_deployment::IstioApi, undeploy::{UndeployRequest, deletions}};
//! let request = UndeployRequest {
//!     id: "add-header".into(),
//!     namespace: "default".into(),
//!     api: Some(IstioApi::WasmPlugin),
//!     ..Default::default()
//! };
//! let out = deletions(&request).unwrap();
//! assert_eq!(out.documents.len(), 1);
//! assert_eq!(out.documents[0]["kind"], "WasmPlugin");
//! ```

use super::DeployError;
use super::filter_deployment::{FilterDeployment, FilterDeploymentSpec, IstioApi, WorkloadKind};
use super::k8s::CONFIG_MAP;
use super::k8s::ObjectMeta;
use super::names;
use super::node_cache::{CACHE_NAME, CACHE_NAMESPACE, WorkloadPatch, cache_annotations_patch};

/// What to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UndeployRequest {
    /// The filter id given to `deploy` (the resources' name).
    pub id: String,
    /// Namespace of the resources.
    pub namespace: String,
    /// Only this kind (`None`: every kind `deploy` can generate).
    pub api: Option<IstioApi>,
    /// For the EnvoyFilter form: the pod labels (`k=v,…`) given to `deploy`, so the node-cache
    /// pod annotations are removed from those workloads.
    pub labels: Option<String>,
    /// Kind of the workloads whose annotations are removed.
    pub workload_kind: Option<WorkloadKind>,
}

/// The deletions: resources to delete and, for the EnvoyFilter form, the patch that removes the
/// node-cache annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletions {
    /// One `apiVersion`/`kind`/`metadata` stub per resource to delete.
    pub documents: Vec<serde_norway::Value>,
    /// The pod-annotation removal patch, when labels were given.
    pub workload_patch: Option<WorkloadPatch>,
    /// For the EnvoyFilter form: the filter's entry of the node cache's ConfigMap, as the
    /// `(key, ConfigMap without that key)` to server-side apply with the filter's field
    /// manager, which releases (removes) the keys that manager set.
    pub cache_entry: Option<(String, serde_json::Value)>,
}

/// The field manager `deploy --apply` uses for a filter's EnvoyFilter-form resources (the
/// node cache's ConfigMap is shared; each filter owns its own key).
pub fn field_manager(namespace: &str, id: &str) -> String {
    format!("cargo-wasme-{namespace}-{id}")
}

/// The deletions for `request`.
pub fn deletions(request: &UndeployRequest) -> Result<Deletions, DeployError> {
    names::validate_dns1123_subdomain("filter id", &request.id)?;
    names::validate_dns1123_label("namespace", &request.namespace)?;
    let mut documents = Vec::new();
    for api in IstioApi::ALL {
        if request.api.is_some_and(|x| x != api) {
            continue;
        }
        let kind = api.kind();
        let meta = ObjectMeta {
            namespace: Some(request.namespace.clone()),
            ..ObjectMeta::named(&request.id)
        };
        let mut m = serde_norway::Mapping::new();
        m.insert("apiVersion".into(), kind.api_version.into());
        m.insert("kind".into(), kind.kind.into());
        m.insert(
            "metadata".into(),
            serde_norway::to_value(meta).map_err(|e| DeployError::Serialize(e.to_string()))?,
        );
        documents.push(serde_norway::Value::Mapping(m));
    }
    let workload_patch = match (&request.labels, request.api) {
        (Some(labels), None | Some(IstioApi::EnvoyFilter)) => {
            let mut fd = FilterDeployment::new(&request.id, FilterDeploymentSpec::default());
            fd.metadata.namespace = Some(request.namespace.clone());
            fd.spec.deployment.istio.labels = names::parse_labels(labels)?;
            fd.spec.deployment.istio.kind = request.workload_kind;
            Some(cache_annotations_patch(&fd, true))
        }
        _ => None,
    };
    let envoy_filter_form = request.api == Some(IstioApi::EnvoyFilter) || workload_patch.is_some();
    let cache_entry = envoy_filter_form.then(|| {
        (
            format!("{}.{}", request.namespace, request.id),
            serde_json::json!({
                "apiVersion": CONFIG_MAP.api_version,
                "kind": CONFIG_MAP.kind,
                "metadata": {"name": CACHE_NAME, "namespace": CACHE_NAMESPACE},
            }),
        )
    });
    Ok(Deletions {
        documents,
        workload_patch,
        cache_entry,
    })
}
