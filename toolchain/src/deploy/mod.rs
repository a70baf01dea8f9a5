//! Declarative deployment: from an image to the Kubernetes/Istio/Envoy configuration that runs it.
//!
//! Everything here but [`store_resolver`], [`emit`] and [`kubectl`] is a pure function of its inputs — no cluster, no
//! network — so a GitOps pipeline can run it and a test can pin its output byte for byte:
//!
//! * [`filter_deployment`] — the `wasme.io/v1` `FilterDeployment` custom resource and its CRD
//!   (full OpenAPI v3 schema, `config` accepted as a string or an object).
//! * [`istio`] — typed `WasmPlugin`, `TrafficExtension` and `EnvoyFilter` resources.
//! * [`generate`] — a `FilterDeployment` plus a [`resolve::ResolvedImage`] → Istio resources
//!   (the old wasme operator's reconcile, as a function).
//! * [`render`] — `cargo wasme render`: FilterDeployment documents in a YAML stream (or a KRM
//!   `ResourceList`) → the same stream with the Istio resources in their place.
//! * [`config_check`] — the configuration dry run: the image's module started in the harness
//!   with the exact bytes each target hands it ([`go_json`]: the Go control planes' JSON).
//! * [`gateways`] — Envoy Gateway's EnvoyExtensionPolicy and Higress's WasmPlugin.
//! * [`target`] — the generator a FilterDeployment's `target` picks.
//! * [`envoy`] — an Envoy v3 bootstrap that loads a module from a file, for plain Envoy.
//! * [`resolve`] — the [`resolve::ImageResolver`] seam that pins a reference to its manifest digest.
//!   [`resolve::DigestOnly`] is the pure one.
//! * [`store_resolver`] — the resolver that does I/O: the local store, checked against the
//!   registry the reference names, with the insecure-host policy for documents' pull options.
//! * [`k8s`] — the few Kubernetes shapes used (`ObjectMeta`, volumes) and every
//!   group/version/kind written ([`k8s::WASM_PLUGIN`], …), in one place.
//! * [`names`] — Kubernetes name and label validation.
//! * [`node_cache`] — the EnvoyFilter form's node cache and the workload patch that mounts it.
//! * [`undeploy`] — the deletions matching what `deploy` generated.
//! * [`yaml`] — multi-document YAML streams in and out.
//! * [`request`] — `deploy <target>`'s flags (plain values) → a checked `FilterDeployment`.
//! * [`emit`] — what `deploy`, `undeploy`, `render` and `crd` do with it: pin, generate, dry-run,
//!   then print, write a kustomize component or apply with [`kubectl`] (the only cluster I/O).
//!
//! ```
//! use cargo_wasme::deploy::{filter_deployment::*, generate, resolve::ResolvedImage};
//!
//! let fd = FilterDeployment::new("add-header", FilterDeploymentSpec {
//!     filter: FilterSpec {
//!         image: "registry.example/filters/add-header:v1".into(),
//!         config: Some(FilterConfig::String("hello".into())),
//!         ..Default::default()
//!     },
//!     deployment: DeploymentSpec {
//!         istio: IstioDeployment { api: Some(IstioApi::WasmPlugin), ..Default::default() },
//!         ..Default::default()
//!     },
//! });
//! let image = ResolvedImage::pinned(
//!     "registry.example/filters/add-header:v1".parse().unwrap(),
//!     cargo_wasme::reference::Digest::of(b"the manifest"),
//! );
//! // A plain-string config cannot travel in a WasmPlugin's pluginConfig object (without an
//! // explicit `api`, it would select the EnvoyFilter form: see `generate::chosen_api`).
//! let err = generate::generate(&fd, &image).unwrap_err().to_string();
//! assert!(err.contains("pluginConfig"), "{err}");
//! ```

pub mod config_check;
mod crd_schema;
pub mod emit;
pub mod envoy;
pub mod filter_deployment;
pub mod gateways;
pub mod generate;
pub mod go_json;
pub mod istio;
pub mod k8s;
pub mod kubectl;
pub mod names;
pub mod node_cache;
pub mod render;
pub mod request;
pub mod resolve;
pub mod store_resolver;
pub mod target;
pub mod undeploy;
pub mod yaml;

/// Everything that can go wrong while turning a deployment request into manifests.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A Kubernetes object name, namespace, label key or label value is malformed.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        /// What the value was meant to be ("filter id", "namespace", "label key", …).
        what: &'static str,
        /// The offending value.
        value: String,
        /// Why it is rejected and what is allowed.
        reason: String,
    },
    /// A `k=v,…` label list could not be parsed.
    #[error(
        "invalid labels {value:?}: {reason} (expected key=value pairs separated by commas, e.g. app=productpage,version=v1)"
    )]
    InvalidLabels {
        /// The label list as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An image reference could not be parsed.
    #[error(transparent)]
    Reference(#[from] crate::reference::ReferenceError),
    /// The image could not be resolved to a manifest digest (or lacks what the output needs).
    #[error("cannot resolve image {reference}: {reason}")]
    Unresolved {
        /// The reference as given.
        reference: String,
        /// Why, and what to do about it.
        reason: String,
    },
    /// The filter configuration cannot be expressed in the requested output.
    #[error("invalid filter configuration: {0}")]
    InvalidConfig(String),
    /// The combination of options cannot be generated.
    #[error("{0}")]
    Unsupported(String),
    /// An Istio version string is not `MAJOR.MINOR[.PATCH]`.
    #[error("invalid Istio version {0:?}: expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 1.24")]
    InvalidIstioVersion(String),
    /// An input document is not YAML, or not a valid resource.
    #[error("document {index} ({source_name}): {reason}")]
    InvalidDocument {
        /// Where the document came from (a file name or `-`).
        source_name: String,
        /// 1-based position of the document in its source.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An input document is invalid at a known place in its file (an unknown or misspelled
    /// field, a wrong type, broken YAML).
    #[error("{file}:{line}:{column}: {message}")]
    Located {
        /// The file (or `-` for stdin).
        file: String,
        /// 1-based line in the file.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, with the field's path.
        message: String,
    },
    /// The filter refuses the configuration a target would hand it (the configuration dry
    /// run, [`config_check`]), or its module cannot be run to find out.
    #[error("{what}: the filter refuses this configuration: {reason}{}", describe_logs(.logs))]
    ConfigRefused {
        /// The manifest (or target) that would hand the configuration over.
        what: String,
        /// Why (which callback failed, or why the module could not run).
        reason: String,
        /// Every line the filter logged, `[level] message`.
        logs: Vec<String>,
    },
    /// The configuration schema the image records rejects the configuration a target would
    /// hand the filter ([`config_check::check_schema`]); the filter was not started.
    #[error(
        "{what}: the configuration schema recorded in the image rejects this configuration \
         (the filter was not started): {}{}",
        crate::config_schema::describe(.violations),
        describe_rules(.rules)
    )]
    SchemaRejected {
        /// The manifest (or target) that would hand the configuration over.
        what: String,
        /// Every violation.
        violations: Vec<crate::config_schema::Violation>,
        /// For Higress, the match rules rejected on their own.
        rules: Vec<String>,
    },
    /// The configuration check cannot run: the module is not known (an `--offline` digest,
    /// a resolver that reads no module).
    #[error(
        "cannot check the configuration against the filter: {0}; pull the image into the local \
         store (`cargo wasme pull …`) or pass --skip-config-check (which deploys it unchecked)"
    )]
    ModuleUnknown(String),
    /// Serialising the output failed (a bug: every output type is serialisable).
    #[error("cannot serialise the output: {0}")]
    Serialize(String),
}

fn describe_rules(rules: &[String]) -> String {
    if rules.is_empty() {
        String::new()
    } else {
        format!(" (rejected on its own: {})", rules.join(", "))
    }
}

fn describe_logs(logs: &[String]) -> String {
    if logs.is_empty() {
        return " (the filter logged nothing)".into();
    }
    let mut out = String::from("; the filter logged:");
    for line in logs {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

/// The label every generated resource carries, so they can be listed and pruned together.
pub const MANAGED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/managed-by", "cargo-wasme");
/// Annotation carrying the filter id on every generated resource.
pub const FILTER_ID_ANNOTATION: &str = "wasme.io/filter-id";
/// Annotation carrying the image reference as the user wrote it (tag included).
pub const IMAGE_ANNOTATION: &str = "wasme.io/image";
