//! Gateways beside Istio: Envoy Gateway's `EnvoyExtensionPolicy` and Higress's own
//! `WasmPlugin`, from a FilterDeployment and a pinned image.
//!
//! What each controller accepts is in `../shared/gateways/` (their published CRDs and notes),
//! and the tests validate every output against those CRDs plus the CEL rules, checked in code
//! here too ([`envoy_gateway_cel_problems`]) because a schema validator does not run CEL:
//!
//! * Both gateways pull the image themselves with Istio's fetcher: the last layer `tar+gzip`
//!   holding `plugin.wasm` (compat, docker) or solo's two-layer artifact; a CNCF artifact or a
//!   wasm-to-oci image is refused here, naming `--format compat`.
//! * `sha256` is the **image manifest** digest as 64 hex digits, no prefix (Envoy Gateway's
//!   pattern marker is not enforced by its CRD, so it is checked here).
//! * Envoy Gateway: `config` travels as JSON, so it must be a JSON object; `failOpen` from the
//!   fail strategy; `targetRefs` in the policy's namespace (HTTPRoute by default).
//! * Higress: the controller reads only its own namespace (`higress-system`); a match rule with
//!   none of ingress/domain/service makes it drop the whole plugin, so such a rule is refused;
//!   `failStrategy` has no `FAIL_RELOAD`.

use super::filter_deployment::{FailStrategy, FilterDeployment, Phase, PullPolicy, TargetRef};
use super::generate::{Generated, Manifest, filter_id, validate};
use super::k8s::{ENVOY_EXTENSION_POLICY, HIGRESS_WASM_PLUGIN, ResourceKind};
use super::resolve::ResolvedImage;
use super::{DeployError, FILTER_ID_ANNOTATION, IMAGE_ANNOTATION, MANAGED_BY_LABEL};
use crate::image::Format;
use serde_json::{Map, Value, json};

/// The namespace Higress's controller reads WasmPlugins from (`POD_NAMESPACE`, by default).
pub const HIGRESS_NAMESPACE: &str = "higress-system";
/// The Gateway API group every Envoy Gateway target lives in.
pub const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";
/// The kinds an EnvoyExtensionPolicy may target (its CEL rule).
pub const ENVOY_GATEWAY_TARGET_KINDS: [&str; 7] = [
    "Gateway",
    "ListenerSet",
    "HTTPRoute",
    "GRPCRoute",
    "UDPRoute",
    "TCPRoute",
    "TLSRoute",
];

/// Refuses an image format the gateway's fetcher (Istio's, forked) cannot read.
fn check_readable(image: &ResolvedImage, gateway: &str) -> Result<(), DeployError> {
    match image.format {
        Some(f @ (Format::Cncf | Format::Legacy)) => Err(DeployError::Unresolved {
            reference: image.reference.whole(),
            reason: format!(
                "it is stored in the {f} format, which {gateway}'s image fetcher cannot read (it \
                 wants the last layer tar+gzip holding plugin.wasm, or solo's two-layer \
                 artifact); rebuild it with `--format compat` (`cargo wasme build --format \
                 compat`) and push it again"
            ),
        }),
        _ => Ok(()),
    }
}

fn metadata(
    fd: &FilterDeployment,
    id: &str,
    namespace: Option<&str>,
    image: &ResolvedImage,
) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), json!(id));
    if let Some(ns) = namespace {
        meta.insert("namespace".into(), json!(ns));
    }
    meta.insert(
        "labels".into(),
        json!({ MANAGED_BY_LABEL.0: MANAGED_BY_LABEL.1 }),
    );
    meta.insert(
        "annotations".into(),
        json!({ FILTER_ID_ANNOTATION: filter_id(fd), IMAGE_ANNOTATION: image.reference.whole() }),
    );
    Value::Object(meta)
}

fn header(kind: ResourceKind, metadata: Value, spec: Value) -> Value {
    json!({
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": metadata,
        "spec": spec,
    })
}

/// The configuration as the JSON object both gateways carry.
fn config_object(
    fd: &FilterDeployment,
    gateway: &str,
) -> Result<Option<Map<String, Value>>, DeployError> {
    match &fd.spec.filter.config {
        None => Ok(None),
        Some(c) => c.as_object().map(Some).ok_or_else(|| {
            DeployError::InvalidConfig(format!(
                "{gateway} hands the filter its configuration as JSON text, so it must be a JSON \
                 object (e.g. '{{\"value\": \"...\"}}'); {:?} is not one (a plain string would \
                 reach the filter with its quotes)",
                c.to_config_string()
            ))
        }),
    }
}

/// Warnings for FilterDeployment fields a gateway target does not use.
fn unused_istio_fields(fd: &FilterDeployment, gateway: &str, out: &mut Generated) {
    let istio = &fd.spec.deployment.istio;
    let filter = &fd.spec.filter;
    for (set, what) in [
        (
            !istio.labels.is_empty(),
            "the pod labels (--labels, istio.labels)",
        ),
        (istio.api.is_some(), "the Istio api (istio.api)"),
        (
            filter.patch_context.is_some(),
            "the patch context (patchContext)",
        ),
        (
            filter
                .filter_type
                .is_some_and(|t| t != super::filter_deployment::FilterType::Http),
            "a network filter type",
        ),
    ] {
        if set {
            out.warnings
                .push(format!("{what} has no {gateway} equivalent and is ignored"));
        }
    }
}

/// An Envoy Gateway `EnvoyExtensionPolicy` (`gateway.envoyproxy.io/v1alpha1`).
pub fn envoy_gateway(
    fd: &FilterDeployment,
    image: &ResolvedImage,
) -> Result<Generated, DeployError> {
    validate(fd)?;
    check_readable(image, "Envoy Gateway")?;
    let id = filter_id(fd);
    let filter = &fd.spec.filter;
    let mut out = Generated::default();
    unused_istio_fields(fd, "Envoy Gateway", &mut out);
    if filter.phase.is_some() || filter.priority.is_some() {
        out.warnings.push(
            "Envoy Gateway has no phase or priority for Wasm filters (they run in list order) and ignores them".into(),
        );
    }
    let fail_open = match filter.fail_strategy {
        None | Some(FailStrategy::FailClose) => false,
        Some(FailStrategy::FailOpen) => true,
        Some(FailStrategy::FailReload) => {
            return Err(DeployError::Unsupported(
                "Envoy Gateway has no FAIL_RELOAD: choose fail-open or fail-close".into(),
            ));
        }
    };
    let refs: Vec<TargetRef> = match fd.spec.deployment.envoy_gateway.as_ref() {
        Some(eg) if !eg.target_refs.is_empty() => eg.target_refs.clone(),
        _ => vec![TargetRef {
            kind: "HTTPRoute".into(),
            name: fd.metadata.name.clone().unwrap_or_default(),
        }],
    };
    for r in &refs {
        if !ENVOY_GATEWAY_TARGET_KINDS.contains(&r.kind.as_str()) {
            return Err(DeployError::InvalidConfig(format!(
                "an EnvoyExtensionPolicy cannot target a {:?}: the kind must be one of {}",
                r.kind,
                ENVOY_GATEWAY_TARGET_KINDS.join(", ")
            )));
        }
        super::names::validate_dns1123_subdomain("target name", &r.name)?;
    }
    let mut image_spec = Map::new();
    image_spec.insert("url".into(), json!(image.pinned_reference()));
    image_spec.insert("sha256".into(), json!(image.digest_hex()));
    let pull = filter.image_pull_options.clone().unwrap_or_default();
    if let Some(secret) = &pull.pull_secret {
        image_spec.insert(
            "pullSecretRef".into(),
            json!({"group": "", "kind": "Secret", "name": secret}),
        );
    }
    let mut code = Map::new();
    code.insert("type".into(), json!("Image"));
    code.insert("image".into(), Value::Object(image_spec));
    if let Some(policy) = pull.pull_policy {
        // Only used when sha256 is unset; the digest pins it here, so it is informational.
        code.insert(
            "pullPolicy".into(),
            json!(match policy {
                PullPolicy::IfNotPresent => "IfNotPresent",
                PullPolicy::Always => "Always",
            }),
        );
    }
    let mut wasm = Map::new();
    wasm.insert("name".into(), json!(id));
    if let Some(root) = filter
        .root_id
        .clone()
        .or_else(|| image.root_ids.first().cloned())
    {
        wasm.insert("rootID".into(), json!(root));
    }
    wasm.insert("code".into(), Value::Object(code));
    if let Some(config) = config_object(fd, "Envoy Gateway")? {
        wasm.insert("config".into(), Value::Object(config));
    }
    wasm.insert("failOpen".into(), json!(fail_open));
    let target_refs: Vec<Value> = refs
        .iter()
        .map(|r| json!({"group": GATEWAY_API_GROUP, "kind": r.kind, "name": r.name}))
        .collect();
    let spec = json!({"targetRefs": target_refs, "wasm": [Value::Object(wasm)]});
    let doc = header(
        ENVOY_EXTENSION_POLICY,
        metadata(fd, &id, fd.metadata.namespace.as_deref(), image),
        spec,
    );
    let problems = envoy_gateway_cel_problems(&doc["spec"]);
    if !problems.is_empty() {
        return Err(DeployError::Unsupported(problems.join("; ")));
    }
    out.manifests.push(Manifest::Gateway(doc));
    Ok(out)
}

/// The CEL rules of the EnvoyExtensionPolicy CRD that apply to a Wasm policy (a schema
/// validator does not evaluate them), plus the `sha256` pattern its CRD does not enforce.
/// Empty: all hold.
pub fn envoy_gateway_cel_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let has = |k: &str| spec.get(k).is_some();
    let selectors = spec
        .get("targetSelectors")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    if !((has("targetRef") ^ has("targetRefs")) || selectors) {
        problems.push("either targetRef or targetRefs must be used".into());
    }
    let refs = spec.get("targetRef").into_iter().chain(
        spec.get("targetRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    for r in refs {
        if r.get("group").and_then(Value::as_str) != Some(GATEWAY_API_GROUP) {
            problems.push(format!("targetRef group must be {GATEWAY_API_GROUP}: {r}"));
        }
        let kind = r.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !ENVOY_GATEWAY_TARGET_KINDS.contains(&kind) {
            problems.push(format!("targetRef kind {kind:?} is not allowed"));
        }
    }
    for w in spec
        .get("wasm")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let code = &w["code"];
        let ty = code.get("type").and_then(Value::as_str).unwrap_or_default();
        if (ty == "HTTP") != code.get("http").is_some()
            || (ty == "Image") != code.get("image").is_some()
        {
            problems.push(format!(
                "code must carry exactly the sub-object of its type {ty:?}"
            ));
        }
        if let Some(secret) = code.pointer("/image/pullSecretRef")
            && secret
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("Secret")
                != "Secret"
        {
            problems.push("pullSecretRef kind must be Secret".into());
        }
        if let Some(sha) = code.pointer("/image/sha256").and_then(Value::as_str)
            && !is_hex64(sha)
        {
            problems.push(format!(
                "image sha256 {sha:?} is not 64 lowercase hex digits"
            ));
        }
    }
    problems
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A Higress `WasmPlugin` (`extensions.higress.io/v1alpha1`) in [`HIGRESS_NAMESPACE`].
pub fn higress(fd: &FilterDeployment, image: &ResolvedImage) -> Result<Generated, DeployError> {
    validate(fd)?;
    check_readable(image, "Higress")?;
    let id = filter_id(fd);
    let filter = &fd.spec.filter;
    let mut out = Generated::default();
    unused_istio_fields(fd, "Higress", &mut out);
    if let Some(ns) = fd.metadata.namespace.as_deref()
        && ns != HIGRESS_NAMESPACE
    {
        out.warnings.push(format!(
            "Higress's controller reads WasmPlugins only from its own namespace ({HIGRESS_NAMESPACE} by default); \
             one in {ns} is ignored unless the controller runs there"
        ));
    }
    let namespace = fd
        .metadata
        .namespace
        .as_deref()
        .unwrap_or(HIGRESS_NAMESPACE);
    let mut spec = Map::new();
    spec.insert("url".into(), json!(image.oci_url()));
    spec.insert("sha256".into(), json!(image.digest_hex()));
    let pull = filter.image_pull_options.clone().unwrap_or_default();
    if let Some(policy) = pull.pull_policy {
        spec.insert(
            "imagePullPolicy".into(),
            json!(match policy {
                PullPolicy::IfNotPresent => "IfNotPresent",
                PullPolicy::Always => "Always",
            }),
        );
    }
    if let Some(secret) = &pull.pull_secret {
        spec.insert("imagePullSecret".into(), json!(secret));
    }
    if let Some(root) = filter
        .root_id
        .clone()
        .or_else(|| image.root_ids.first().cloned())
    {
        spec.insert("pluginName".into(), json!(root));
    }
    if let Some(phase) = filter.phase {
        spec.insert(
            "phase".into(),
            json!(match phase {
                Phase::Authn => "AUTHN",
                Phase::Authz => "AUTHZ",
                Phase::Stats => "STATS",
            }),
        );
    }
    if let Some(p) = filter.priority {
        spec.insert("priority".into(), json!(p));
    }
    match filter.fail_strategy {
        None => {}
        Some(FailStrategy::FailClose) => {
            spec.insert("failStrategy".into(), json!("FAIL_CLOSE"));
        }
        Some(FailStrategy::FailOpen) => {
            spec.insert("failStrategy".into(), json!("FAIL_OPEN"));
        }
        Some(FailStrategy::FailReload) => {
            return Err(DeployError::Unsupported(
                "Higress has no FAIL_RELOAD: choose fail-open or fail-close".into(),
            ));
        }
    }
    if let Some(config) = config_object(fd, "Higress")? {
        spec.insert("defaultConfig".into(), Value::Object(config));
    }
    let rules = fd
        .spec
        .deployment
        .higress
        .as_ref()
        .map(|h| h.match_rules.clone())
        .unwrap_or_default();
    let mut values = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.ingress.is_empty() && rule.domain.is_empty() && rule.service.is_empty() {
            return Err(DeployError::InvalidConfig(format!(
                "match rule {} has none of ingress, domain or service: Higress's controller would \
                 reject the whole plugin (\"invalid match rule has no match condition\")",
                i + 1
            )));
        }
        let mut r = Map::new();
        for (key, items) in [
            ("ingress", &rule.ingress),
            ("domain", &rule.domain),
            ("service", &rule.service),
        ] {
            if !items.is_empty() {
                r.insert(key.into(), json!(items));
            }
        }
        r.insert(
            "config".into(),
            Value::Object(rule.config.clone().unwrap_or_default()),
        );
        values.push(Value::Object(r));
    }
    if !values.is_empty() {
        spec.insert("matchRules".into(), Value::Array(values));
    }
    let doc = header(
        HIGRESS_WASM_PLUGIN,
        metadata(fd, &id, Some(namespace), image),
        Value::Object(spec),
    );
    out.manifests.push(Manifest::Gateway(doc));
    Ok(out)
}
