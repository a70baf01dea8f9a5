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
    let validator = jsonschema::validator_for(&schema).expect("Istio schema compiles");
    for e in validator.iter_errors(resource) {
        problems.push(format!("schema: {} at {}", e, e.instance_path()));
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
