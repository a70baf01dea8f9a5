//! `deploy::render`: FilterDeployment streams and KRM ResourceLists, the CRD, and the
//! node-cache workload patch — pinned by golden files and validated against Istio's schemas.

use crate::deploy_support;

use cargo_wasme::deploy::{
    filter_deployment::{self, FilterDeployment},
    node_cache,
    render::{RenderOptions, render, render_resource_list, resource_list_error},
    resolve::{DigestOnly, ImageResolver, PullOptions, ResolveError, ResolvedImage},
    yaml,
};
use cargo_wasme::reference::Reference;
use deploy_support::{assert_valid_istio, golden, yaml_docs};

/// These tests pin the generators' output; the configuration check has its own tests
/// (`deploy_gateways.rs`), and these resolvers read no module.
const SKIP: RenderOptions = RenderOptions {
    skip_config_check: true,
};

const HEX: &str = "4b2e1f6f0c3ad55d2d62aab2c4d4cc0c1a5b0d8c1d3a9f1bb1f4c0e9e8d7c6b5";
const WASM_SHA: &str = "0f3c5d9a1b7e2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d";

/// A resolver that knows one tagged image, as the local store would after `cargo wasme build`.
struct OneImage;

impl ImageResolver for OneImage {
    fn resolve(&self, r: &Reference, _: &PullOptions) -> Result<ResolvedImage, ResolveError> {
        if r.repository() != "acme/add-header" {
            return Err(ResolveError::NotFound(format!("no image {}", r.whole())));
        }
        Ok(ResolvedImage {
            wasm_sha256: Some(WASM_SHA.into()),
            root_ids: vec!["add_header".into()],
            ..ResolvedImage::pinned(r.clone(), format!("sha256:{HEX}").parse().unwrap())
        })
    }
}

const STREAM: &str = r#"# The app, untouched by render (comments too).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: productpage
  namespace: bookinfo
spec:
  selector:
    matchLabels: {app: productpage}
  template:
    metadata:
      labels:
        app: productpage   # keep me
    spec:
      containers:
      - name: productpage
        image: docker.io/istio/examples-bookinfo-productpage-v1:1.20.2
---
apiVersion: wasme.io/v1
kind: FilterDeployment
metadata:
  name: add-header
  namespace: bookinfo
spec:
  filter:
    image: ghcr.io/acme/add-header:0.1.0
    config:
      name: x-wasme
      value: hello
  deployment:
    istio:
      kind: Deployment
      labels:
        app: productpage
---
apiVersion: wasme.io/v1
kind: FilterDeployment
metadata:
  name: add-header-legacy
  namespace: bookinfo
spec:
  filter:
    image: ghcr.io/acme/add-header:0.1.0
    config: world
    rootID: add_header
  deployment:
    istio:
      api: EnvoyFilter
      istioVersion: "1.6"
      labels:
        app: reviews
"#;

#[test]
fn render_stream_replaces_filter_deployments_and_passes_the_rest_through() {
    let docs = yaml::parse_stream("stream.yaml", STREAM).unwrap();
    assert_eq!(docs.len(), 3);
    let out = render(docs, &OneImage, &SKIP).unwrap();
    let text = out.to_yaml_stream().unwrap();
    // The unrelated Deployment (not selected by the EnvoyFilter form's labels) is verbatim.
    assert!(text.contains("app: productpage   # keep me"), "{text}");
    let values = yaml_docs(&text);
    let kinds: Vec<&str> = values.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "WasmPlugin",
            "EnvoyFilter",
            "Namespace",
            "ConfigMap",
            "DaemonSet"
        ],
        "no kustomize Component in a stream meant for kubectl apply; the node cache instead"
    );
    for v in &values[1..3] {
        assert_valid_istio(v);
    }
    assert_eq!(
        values[1]["spec"]["url"],
        format!("oci://ghcr.io/acme/add-header@sha256:{HEX}")
    );
    // The selected workload is not in the stream: its patch is handed back, with a warning.
    assert_eq!(out.unapplied_patches.len(), 1);
    let files = node_cache::kustomize_dir("wasme-cache", &out.unapplied_patches, None).unwrap();
    let component = &yaml_docs(&files[0].1)[0];
    assert_eq!(files[0].0, "kustomization.yaml");
    assert_eq!(component["kind"], "Component");
    assert_eq!(
        component["patches"][0]["target"]["labelSelector"],
        "app=reviews"
    );
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(
        out.warnings[0].contains("--kustomize DIR"),
        "{:?}",
        out.warnings
    );
    golden("render-stream.yaml", &text);
}

#[test]
fn render_patches_the_workloads_the_stream_carries() {
    let stream = STREAM.replace("app: reviews", "app: productpage");
    let out = render(yaml::parse_stream("s", &stream).unwrap(), &OneImage, &SKIP).unwrap();
    let values = yaml_docs(&out.to_yaml_stream().unwrap());
    let kinds: Vec<&str> = values.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "WasmPlugin",
            "EnvoyFilter",
            "Namespace",
            "ConfigMap",
            "DaemonSet"
        ],
        "no Component when the workload is in the stream"
    );
    let ann = &values[0]["spec"]["template"]["metadata"]["annotations"];
    assert!(
        ann["sidecar.istio.io/userVolume"]
            .as_str()
            .unwrap()
            .contains("wasme-cache"),
        "{ann}"
    );
    assert!(
        ann["sidecar.istio.io/userVolumeMount"]
            .as_str()
            .unwrap()
            .contains("/var/local/lib/wasme-cache")
    );
}

#[test]
fn krm_resource_list_mode() {
    let items = yaml_docs(STREAM);
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
        "functionConfig": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fn"}},
    });
    let list: serde_norway::Value = serde_norway::to_value(&list).unwrap();
    let out = render_resource_list(&list, &OneImage, &SKIP).unwrap();
    let text = yaml::to_yaml(&out).unwrap();
    let v: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(v["kind"], "ResourceList");
    assert_eq!(v["functionConfig"]["metadata"]["name"], "fn");
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "WasmPlugin",
            "EnvoyFilter",
            "Namespace",
            "ConfigMap",
            "DaemonSet"
        ]
    );
    assert!(
        v["results"].to_string().contains("--kustomize DIR"),
        "the unapplied patch is reported: {}",
        v["results"]
    );
    for i in &v["items"].as_array().unwrap()[1..3] {
        assert_valid_istio(i);
    }
    golden("render-krm.yaml", &text);

    // An error becomes a ResourceList with an error result and the items unchanged.
    let bad = STREAM.replace(
        "ghcr.io/acme/add-header:0.1.0\n    config: world",
        "ghcr.io/acme/other:1\n    config: world",
    );
    let bad_list = serde_norway::to_value(serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": yaml_docs(&bad),
    }))
    .unwrap();
    let err = render_resource_list(&bad_list, &OneImage, &SKIP).unwrap_err();
    assert!(err.to_string().contains("acme/other"), "{err}");
    let failed: serde_json::Value =
        serde_norway::from_value(resource_list_error(&bad_list, &err)).unwrap();
    assert_eq!(failed["results"][0]["severity"], "error");
    assert_eq!(failed["items"].as_array().unwrap().len(), 3);
}

#[test]
fn config_may_be_a_string_or_an_object_but_nothing_else() {
    let doc = |config: &str| {
        format!(
            "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata: {{name: f, namespace: ns}}\n\
             spec:\n  filter:\n    image: ghcr.io/acme/add-header@sha256:{HEX}\n    rootID: r\n    config: {config}\n\
             \x20 deployment: {{istio: {{api: EnvoyFilter}}}}\n"
        )
    };
    // Digest references need no store: DigestOnly resolves them (but the EnvoyFilter form
    // needs the module hash, so use OneImage for it).
    for config in ["world", "{name: x, value: y}"] {
        let out = render(
            yaml::parse_stream("s", &doc(config)).unwrap(),
            &OneImage,
            &SKIP,
        )
        .unwrap();
        assert_eq!(
            yaml_docs(&out.to_yaml_stream().unwrap())[0]["kind"],
            "EnvoyFilter"
        );
    }
    for config in ["42", "[a, b]", "true"] {
        let err = render(
            yaml::parse_stream("s", &doc(config)).unwrap(),
            &OneImage,
            &SKIP,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("string or an object"),
            "{config}: {err}"
        );
    }
}

#[test]
fn pinned_references_need_no_lookup_and_typos_are_reported_with_their_path() {
    let pinned = format!(
        "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata: {{name: f}}\n\
         spec:\n  filter:\n    image: ghcr.io/acme/x@sha256:{HEX}\n    config: {{a: 1}}\n"
    );
    let out = render(
        yaml::parse_stream("s", &pinned).unwrap(),
        &DigestOnly,
        &SKIP,
    )
    .unwrap();
    let v = yaml_docs(&out.to_yaml_stream().unwrap());
    assert_valid_istio(&v[0]);
    assert!(
        v[0]["metadata"].get("namespace").is_none(),
        "no namespace in, none out"
    );
    // A tag with nothing to resolve it is an error naming the image.
    let tagged = pinned.replace(&format!("@sha256:{HEX}"), ":1");
    let err = render(
        yaml::parse_stream("s", &tagged).unwrap(),
        &DigestOnly,
        &SKIP,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("ghcr.io/acme/x:1"), "{err}");
    // A wrong enum value names its field.
    let typo = pinned.replace("config: {a: 1}", "config: {a: 1}\n    phase: EARLY");
    let err = render(yaml::parse_stream("s", &typo).unwrap(), &DigestOnly, &SKIP)
        .unwrap_err()
        .to_string();
    assert!(err.contains("spec.filter.phase"), "{err}");
}

#[test]
fn crd_has_a_full_structural_schema_and_accepts_both_config_shapes() {
    let crd = serde_json::to_value(filter_deployment::crd()).unwrap();
    golden(
        "filterdeployment-crd.yaml",
        &yaml::to_yaml(&filter_deployment::crd()).unwrap(),
    );
    assert_eq!(crd["metadata"]["name"], "filterdeployments.wasme.io");
    let schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
    let filter = &schema["properties"]["spec"]["properties"]["filter"];
    assert!(filter["properties"]["image"]["type"] == "string");
    assert_eq!(
        filter["properties"]["config"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert!(
        filter["required"]
            .as_array()
            .unwrap()
            .contains(&"image".into())
    );
    // Structural: every property has a type, or preserves unknown fields.
    fn check(node: &serde_json::Value, path: &str) {
        if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                let p = format!("{path}.{k}");
                assert!(
                    v.get("type").is_some()
                        || v.get("x-kubernetes-preserve-unknown-fields") == Some(&true.into()),
                    "{p} has no type"
                );
                check(v, &p);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = node.get(key).filter(|c| c.is_object()) {
                check(child, &format!("{path}.{key}"));
            }
        }
    }
    check(&schema, "");
    // Instances validate against it; typos do not.
    let validator = cargo_wasme::config_schema::ConfigSchema::new(schema.clone()).unwrap();
    let good = |config: serde_json::Value| {
        serde_json::json!({"apiVersion": "wasme.io/v1", "kind": "FilterDeployment", "metadata": {"name": "f"},
            "spec": {"filter": {"image": "x:1", "config": config}, "deployment": {"istio": {"api": "WasmPlugin", "labels": {"app": "a"}}}}})
    };
    for cfg in [
        serde_json::json!("world"),
        serde_json::json!({"name": "h", "value": "v"}),
    ] {
        let instance = good(cfg);
        assert!(validator.validate(&instance).is_ok(), "{instance}");
        let _: FilterDeployment = serde_json::from_value(instance).unwrap();
    }
    let mut bad = good("x".into());
    bad["spec"]["deployment"]["istio"]["api"] = "Gloo".into();
    assert!(validator.validate(&bad).is_err());
}

#[test]
fn misspelled_fields_are_refused_with_file_line_and_column() {
    // A stream with a workload first, so the FilterDeployment starts on line 6 of the file.
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n---\n# the filter\n\
         apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata: {{name: f}}\nspec:\n  filter:\n    \
         image: ghcr.io/acme/x@sha256:{HEX}\n    phsae: AUTHZ\n"
    );
    let err = render(
        yaml::parse_stream("fd.yaml", &text).unwrap(),
        &DigestOnly,
        &SKIP,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("fd.yaml:12:5: "), "{err}");
    assert!(
        err.contains("spec.filter") && err.contains("unknown field `phsae`"),
        "{err}"
    );
    // Every level is strict: deployment.istio, imagePullOptions, and the top level.
    for (typo, at) in [
        (
            "  deployment:\n    istio:\n      lables: {app: a}\n",
            "14:7",
        ),
        ("    imagePullOptions: {pullSecrt: s}\n", "12:24"),
        ("spek: {}\n", "12:1"),
    ] {
        let bad = text.replace("    phsae: AUTHZ\n", "") + typo;
        let err = render(
            yaml::parse_stream("fd.yaml", &bad).unwrap(),
            &DigestOnly,
            &SKIP,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(&format!("fd.yaml:{at}: ")) && err.contains("unknown field"),
            "{typo}: {err}"
        );
    }
    // Broken YAML is located too.
    let err = yaml::parse_stream("fd.yaml", "a: 1\n---\nb: [1\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("fd.yaml:"), "{err}");
    // Inside `config` anything goes (it is the filter's), and the CRD says the same: no
    // preserve-unknown-fields anywhere but `config` and the Higress match rules' `config`.
    let free = text.replace("phsae: AUTHZ", "config: {phsae: AUTHZ}");
    render(
        yaml::parse_stream("fd.yaml", &free).unwrap(),
        &DigestOnly,
        &SKIP,
    )
    .unwrap();
    // A KRM ResourceList is strict too.
    let list: serde_norway::Value = serde_norway::from_str(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitmes: []\n",
    )
    .unwrap();
    let err = render_resource_list(&list, &DigestOnly, &SKIP)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `itmes`"), "{err}");
    let crd = yaml::to_yaml(&filter_deployment::crd()).unwrap();
    assert_eq!(
        crd.matches("x-kubernetes-preserve-unknown-fields").count(),
        2,
        "{crd}"
    );
}
