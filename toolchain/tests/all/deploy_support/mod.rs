//! Shared by the deploy tests: Istio's CRD schemas from `<repo>/../shared/istio`, a JSON-schema
//! check plus the CEL rules the schemas carry (checked by hand), and golden files.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

/// `<repo>/../shared`, where the reference material (and Istio's CRDs) live, in CI too.
pub fn shared_dir() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = repo.join("../shared");
    assert!(
        shared.join("istio/extensions.istio.io-crds.yaml").is_file()
            && shared.join("istio/envoyfilter-crd.yaml").is_file(),
        "the Istio CRD schemas are missing: expected {}/istio/{{extensions.istio.io-crds.yaml,envoyfilter-crd.yaml}} \
         (the shared/ reference folder must sit beside the repository checkout)",
        shared.display()
    );
    shared
}

/// Every CRD document of the Istio CRD files.
fn istio_crds() -> Vec<Value> {
    let dir = shared_dir().join("istio");
    let mut out = Vec::new();
    for file in ["extensions.istio.io-crds.yaml", "envoyfilter-crd.yaml"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("read CRD file");
        for doc in serde_norway::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(doc).expect("CRD YAML parses");
            if !v.is_null() {
                out.push(v);
            }
        }
    }
    out
}

/// Removes the Kubernetes extensions a JSON-schema validator does not know (`x-kubernetes-*`,
/// `nullable`), returning the CEL rules found, with their JSON-pointer-ish location.
fn strip_extensions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with("x-kubernetes-") && k != "nullable");
            for v in map.values_mut() {
                strip_extensions(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_extensions),
        _ => {}
    }
}

/// The `openAPIV3Schema` of an Istio kind (`WasmPlugin`, `TrafficExtension`, `EnvoyFilter`),
/// as a JSON schema for the whole object (apiVersion/kind/metadata are free).
pub fn istio_schema(kind: &str) -> Value {
    let crd = istio_crds()
        .into_iter()
        .find(|c| c.pointer("/spec/names/kind").and_then(Value::as_str) == Some(kind))
        .unwrap_or_else(|| panic!("no CRD for {kind} in shared/istio"));
    let mut schema = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .expect("openAPIV3Schema");
    strip_extensions(&mut schema);
    schema
}

/// Validates one generated Istio resource against its CRD schema and the CEL rules.
/// Returns every problem found (empty: valid).
pub fn istio_problems(resource: &Value) -> Vec<String> {
    let kind = resource["kind"].as_str().unwrap_or_default().to_owned();
    let expected_api = match kind.as_str() {
        "WasmPlugin" | "TrafficExtension" => "extensions.istio.io/v1alpha1",
        "EnvoyFilter" => "networking.istio.io/v1alpha3",
        other => return vec![format!("not an Istio kind: {other:?}")],
    };
    let mut problems = Vec::new();
    if resource["apiVersion"] != expected_api {
        problems.push(format!(
            "apiVersion {} != {expected_api}",
            resource["apiVersion"]
        ));
    }
    if resource
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        problems.push("metadata.name is missing".into());
    }
    let schema = istio_schema(&kind);
    let validator =
        cargo_wasme::config_schema::ConfigSchema::new(schema).expect("Istio schema compiles");
    for v in validator.validate(resource).err().unwrap_or_default() {
        problems.push(format!("schema: {v}"));
    }
    problems.extend(cel_problems(&kind, &resource["spec"]));
    problems
}

/// The three CEL rules of the reference, by hand (plus TrafficExtension's wasm-xor-lua).
pub fn cel_problems(kind: &str, spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let has = |k: &str| spec.get(k).is_some();
    // 1. at most one of selector / targetRef / targetRefs (workloadSelector for EnvoyFilter).
    let selectors = match kind {
        "EnvoyFilter" => ["workloadSelector", "targetRefs", ""],
        _ => ["selector", "targetRef", "targetRefs"],
    };
    let count = selectors.iter().filter(|k| !k.is_empty() && has(k)).count();
    if count > 1 {
        problems.push(format!("CEL: more than one of {selectors:?} is set"));
    }
    // 2. url scheme in '' http https oci file; 3. env value only with INLINE.
    let wasm = match kind {
        "WasmPlugin" => Some(spec),
        "TrafficExtension" => {
            if has("wasm") == has("lua") {
                problems.push("CEL: exactly one of wasm or lua must be set".into());
            }
            spec.get("wasm")
        }
        _ => None,
    };
    if let Some(wasm) = wasm {
        if let Some(url) = wasm.get("url").and_then(Value::as_str) {
            let scheme = url.split_once("://").map_or("", |(s, _)| s);
            if !["", "http", "https", "oci", "file"].contains(&scheme) {
                problems.push(format!(
                    "CEL: url scheme {scheme:?} not in '' http https oci file"
                ));
            }
        }
        for env in wasm
            .pointer("/vmConfig/env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if env.get("valueFrom").and_then(Value::as_str) == Some("HOST")
                && env.get("value").is_some()
            {
                problems.push(format!(
                    "CEL: env {} has a value but valueFrom HOST",
                    env["name"]
                ));
            }
        }
    }
    problems
}

/// Asserts a resource is valid.
pub fn assert_valid_istio(resource: &Value) {
    let problems = istio_problems(resource);
    assert!(
        problems.is_empty(),
        "{} is invalid:\n{}\n{resource:#}",
        resource["kind"],
        problems.join("\n")
    );
}

/// Parses a YAML stream into JSON values.
pub fn yaml_docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites the file.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir golden");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {} ({e}); run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!("{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{diff}");
    }
}

/// The `openAPIV3Schema` of a gateway CRD in `../shared/gateways` (`envoy-gateway` or
/// `higress`), unstripped.
fn gateway_crd_schema(kind: &str) -> Value {
    let file = match kind {
        "EnvoyExtensionPolicy" => "envoy-gateway/gateway.envoyproxy.io_envoyextensionpolicies.yaml",
        "WasmPlugin" => "higress/extensions.higress.io_wasmplugins.yaml",
        other => panic!("no gateway CRD for {other}"),
    };
    let text = std::fs::read_to_string(shared_dir().join("gateways").join(file))
        .unwrap_or_else(|e| panic!("the gateway CRDs are missing from shared/gateways: {e}"));
    let crd = serde_norway::Deserializer::from_str(&text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("CRD YAML parses"))
        .find(|v| !v.is_null())
        .expect("a CRD document");
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .expect("openAPIV3Schema")
}

/// Fields the API server would prune (not in `properties`, no `additionalProperties`, no
/// `x-kubernetes-preserve-unknown-fields`): a JSON-schema validator lets them through.
fn pruned_fields(schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, v) in map {
                if at.is_empty() && ["apiVersion", "kind", "metadata"].contains(&k.as_str()) {
                    continue;
                }
                match props.and_then(|p| p.get(k)) {
                    Some(s) => pruned_fields(s, v, &format!("{at}/{k}"), out),
                    None if schema.get("additionalProperties").is_some() => {}
                    None => out.push(format!("{at}/{k} is not in the schema (pruned)")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    pruned_fields(s, v, &format!("{at}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Validates a generated gateway resource against its CRD in `../shared/gateways`: the JSON
/// schema, pruned fields, and (Envoy Gateway) the CEL rules, checked by the library's own
/// function and, independently, here.
pub fn gateway_problems(resource: &Value) -> Vec<String> {
    let kind = resource["kind"].as_str().unwrap_or_default().to_owned();
    let expected = match kind.as_str() {
        "EnvoyExtensionPolicy" => "gateway.envoyproxy.io/v1alpha1",
        "WasmPlugin" => "extensions.higress.io/v1alpha1",
        other => return vec![format!("not a gateway kind: {other:?}")],
    };
    let mut problems = Vec::new();
    if resource["apiVersion"] != expected {
        problems.push(format!(
            "apiVersion {} != {expected}",
            resource["apiVersion"]
        ));
    }
    let raw = gateway_crd_schema(&kind);
    pruned_fields(&raw, resource, "", &mut problems);
    let mut schema = raw;
    strip_extensions(&mut schema);
    let validator =
        cargo_wasme::config_schema::ConfigSchema::new(schema).expect("gateway schema compiles");
    for v in validator.validate(resource).err().unwrap_or_default() {
        problems.push(format!("schema: {v}"));
    }
    let spec = &resource["spec"];
    if kind == "EnvoyExtensionPolicy" {
        problems.extend(cargo_wasme::deploy::gateways::envoy_gateway_cel_problems(
            spec,
        ));
        // The same rules, written again here so a fault in the library's copy shows.
        let refs = spec["targetRefs"].as_array().cloned().unwrap_or_default();
        if refs.is_empty() || spec.get("targetRef").is_some() {
            problems.push("CEL: exactly one of targetRef/targetRefs".into());
        }
        for r in &refs {
            if r["group"] != "gateway.networking.k8s.io" {
                problems.push(format!("CEL: group of {r}"));
            }
        }
        for w in spec["wasm"].as_array().into_iter().flatten() {
            let code = &w["code"];
            if code["type"] == "Image"
                && (code.get("image").is_none() || code.get("http").is_some())
            {
                problems.push("CEL: Image code needs image and no http".into());
            }
            let sha = code["image"]["sha256"].as_str().unwrap_or_default();
            if sha.len() != 64
                || !sha
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                problems.push(format!("sha256 {sha:?} is not 64 lowercase hex"));
            }
        }
    }
    problems
}

/// Asserts a gateway resource is valid.
pub fn assert_valid_gateway(resource: &Value) {
    let problems = gateway_problems(resource);
    assert!(
        problems.is_empty(),
        "{} is invalid:\n{}\n{resource:#}",
        resource["kind"],
        problems.join("\n")
    );
}
