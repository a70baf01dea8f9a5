//! `deploy::generate`: every Istio form, pinned byte for byte by golden files and validated
//! against Istio's CRD schemas (plus the CEL rules, by hand).

use crate::deploy_support;

use cargo_wasme::deploy::{
    DeployError,
    filter_deployment::*,
    generate::{Manifest, generate},
    resolve::{ResolvedImage, parse_image},
    yaml,
};
use deploy_support::{assert_valid_istio, golden, istio_problems};
use std::collections::BTreeMap;

const DIGEST: &str = "sha256:4b2e1f6f0c3ad55d2d62aab2c4d4cc0c1a5b0d8c1d3a9f1bb1f4c0e9e8d7c6b5";
const WASM_SHA: &str = "0f3c5d9a1b7e2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d";

fn image() -> ResolvedImage {
    ResolvedImage {
        wasm_sha256: Some(WASM_SHA.into()),
        root_ids: vec!["add_header".into()],
        abi_versions: vec!["v0.2.1".into()],
        ..ResolvedImage::pinned(
            parse_image("ghcr.io/acme/add-header:0.1.0").unwrap(),
            DIGEST.parse().unwrap(),
        )
    }
}

fn fd(api: IstioApi) -> FilterDeployment {
    let mut fd = FilterDeployment::new(
        "add-header",
        FilterDeploymentSpec {
            filter: FilterSpec {
                image: "ghcr.io/acme/add-header:0.1.0".into(),
                config: Some(FilterConfig::from_flag(
                    r#"{"name":"x-wasme","value":"hello"}"#,
                )),
                ..Default::default()
            },
            deployment: DeploymentSpec {
                istio: IstioDeployment {
                    labels: BTreeMap::from([("app".into(), "productpage".into())]),
                    api: Some(api),
                    ..Default::default()
                },
                ..Default::default()
            },
        },
    );
    fd.metadata.namespace = Some("bookinfo".into());
    fd
}

fn render(fd: &FilterDeployment) -> (String, Vec<serde_json::Value>) {
    let generated = generate(fd, &image()).expect("generate");
    let text = yaml::to_stream(&generated.manifests).unwrap();
    let docs = deploy_support::yaml_docs(&text);
    (text, docs)
}

#[test]
fn wasmplugin_is_pinned_valid_and_golden() {
    let mut fd = fd(IstioApi::WasmPlugin);
    fd.spec.filter.phase = Some(Phase::Authz);
    fd.spec.filter.priority = Some(10);
    fd.spec.filter.fail_strategy = Some(FailStrategy::FailOpen);
    fd.spec.filter.patch_context = Some(PatchContext::Inbound);
    fd.spec.filter.image_pull_options = Some(ImagePullOptions {
        pull_secret: Some("ghcr-pull".into()),
        pull_policy: Some(PullPolicy::IfNotPresent),
        ..Default::default()
    });
    let (text, docs) = render(&fd);
    assert_eq!(docs.len(), 1);
    let wp = &docs[0];
    assert_valid_istio(wp);
    assert_eq!(
        wp["spec"]["url"],
        format!("oci://ghcr.io/acme/add-header@{DIGEST}")
    );
    assert_eq!(wp["spec"]["sha256"], DIGEST.trim_start_matches("sha256:"));
    assert_eq!(
        wp["spec"]["pluginName"], "add_header",
        "default root id: the image's first"
    );
    assert_eq!(wp["spec"]["pluginConfig"]["value"], "hello");
    assert_eq!(wp["metadata"]["namespace"], "bookinfo");
    golden("wasmplugin.yaml", &text);
}

#[test]
fn trafficextension_is_valid_and_golden() {
    let mut fd = fd(IstioApi::TrafficExtension);
    fd.spec.filter.phase = Some(Phase::Stats);
    fd.spec.filter.root_id = Some("custom_root".into());
    let (text, docs) = render(&fd);
    assert_valid_istio(&docs[0]);
    assert_eq!(docs[0]["spec"]["wasm"]["pluginName"], "custom_root");
    assert_eq!(docs[0]["spec"]["phase"], "STATS");
    golden("trafficextension.yaml", &text);
}

#[test]
fn envoyfilter_modern_typed_config_is_valid_and_golden() {
    let mut fd = fd(IstioApi::EnvoyFilter);
    fd.spec.deployment.istio.istio_version = Some("1.11".into());
    fd.spec.filter.config = Some(FilterConfig::String("world".into()));
    let generated = generate(&fd, &image()).unwrap();
    let text = yaml::to_stream(&generated.manifests).unwrap();
    let docs = deploy_support::yaml_docs(&text);
    assert_valid_istio(&docs[0]);
    let value = &docs[0]["spec"]["configPatches"][0]["patch"]["value"];
    assert_eq!(
        value["typedConfig"]["@type"],
        "type.googleapis.com/udpa.type.v1.TypedStruct"
    );
    let cfg = &value["typedConfig"]["value"]["config"];
    assert_eq!(
        cfg["vmConfig"]["code"]["local"]["filename"],
        format!("/var/local/lib/wasme-cache/{WASM_SHA}")
    );
    assert_eq!(cfg["configuration"]["value"], "world");
    assert_eq!(
        docs[0]["spec"]["configPatches"][0]["match"]["context"],
        "SIDECAR_INBOUND"
    );
    let patch = generated
        .workload_patch
        .expect("the EnvoyFilter form needs pod annotations");
    assert!(
        patch.annotations["sidecar.istio.io/userVolume"]
            .as_deref()
            .unwrap()
            .contains("/var/local/lib/wasme-cache")
    );
    let component = yaml::to_stream(&[Manifest::Component(
        patch.to_component("add-header-wasme-cache"),
    )])
    .unwrap();
    golden("envoyfilter-1.7.yaml", &format!("{text}{component}"));
}

#[test]
fn envoyfilter_legacy_config_form_for_istio_1_6() {
    let mut fd = fd(IstioApi::EnvoyFilter);
    fd.spec.deployment.istio.istio_version = Some("1.6.8".into());
    fd.spec.filter.patch_context = Some(PatchContext::Outbound);
    let (text, docs) = render(&fd);
    assert_valid_istio(&docs[0]);
    let p = &docs[0]["spec"]["configPatches"][0];
    assert_eq!(
        p["match"]["listener"]["filterChain"]["filter"]["name"],
        "envoy.http_connection_manager"
    );
    assert_eq!(
        p["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"],
        "envoy.router"
    );
    assert_eq!(p["match"]["context"], "SIDECAR_OUTBOUND");
    let cfg = &p["patch"]["value"]["config"]["config"];
    assert!(p["patch"]["value"].get("typedConfig").is_none());
    assert_eq!(
        cfg["configuration"], r#"{"name":"x-wasme","value":"hello"}"#,
        "≤ 1.6: configuration is a string"
    );
    assert_eq!(cfg["rootId"], "add_header");
    golden("envoyfilter-1.6.yaml", &text);
}

#[test]
fn envoyfilter_without_version_uses_the_modern_form_and_network_filters_work() {
    let mut fd = fd(IstioApi::EnvoyFilter);
    fd.spec.filter.filter_type = Some(FilterType::Network);
    let (_, docs) = render(&fd);
    assert_valid_istio(&docs[0]);
    let p = &docs[0]["spec"]["configPatches"][0];
    assert_eq!(p["applyTo"], "NETWORK_FILTER");
    assert_eq!(p["patch"]["value"]["name"], "envoy.filters.network.wasm");
    fd.spec.deployment.istio.istio_version = Some("1.6".into());
    assert!(matches!(
        generate(&fd, &image()),
        Err(DeployError::Unsupported(_))
    ));
}

#[test]
fn envoyfilter_needs_the_module_hash() {
    let fd = fd(IstioApi::EnvoyFilter);
    let mut img = image();
    img.wasm_sha256 = None;
    let err = generate(&fd, &img).unwrap_err().to_string();
    assert!(err.contains("cargo wasme pull"), "{err}");
}

#[test]
fn string_config_cannot_go_into_a_wasmplugin() {
    let mut fd = fd(IstioApi::WasmPlugin);
    fd.spec.filter.config = Some(FilterConfig::String("world".into()));
    let err = generate(&fd, &image()).unwrap_err().to_string();
    assert!(err.contains("--api envoyfilter"), "{err}");
    // A string holding a JSON object is an object.
    fd.spec.filter.config = Some(FilterConfig::String(r#"{"value":"x"}"#.into()));
    let (_, docs) = render(&fd);
    assert_eq!(docs[0]["spec"]["pluginConfig"]["value"], "x");
}

#[test]
fn bad_names_and_labels_are_rejected_before_output() {
    let mut bad_id = fd(IstioApi::WasmPlugin);
    bad_id.spec.filter.id = Some("Add_Header".into());
    assert!(matches!(
        generate(&bad_id, &image()),
        Err(DeployError::InvalidName {
            what: "filter id",
            ..
        })
    ));
    let mut bad_label = fd(IstioApi::WasmPlugin);
    bad_label
        .spec
        .deployment
        .istio
        .labels
        .insert("app".into(), "has space".into());
    assert!(matches!(
        generate(&bad_label, &image()),
        Err(DeployError::InvalidName {
            what: "label value",
            ..
        })
    ));
    let mut bad_ns = fd(IstioApi::WasmPlugin);
    bad_ns.metadata.namespace = Some("Bookinfo".into());
    assert!(generate(&bad_ns, &image()).is_err());
    let mut bad_version = fd(IstioApi::WasmPlugin);
    bad_version.spec.deployment.istio.istio_version = Some("one.two".into());
    assert!(matches!(
        generate(&bad_version, &image()),
        Err(DeployError::InvalidIstioVersion(_))
    ));
}

#[test]
fn version_mismatches_warn_but_do_not_block() {
    let mut fd = fd(IstioApi::WasmPlugin);
    fd.spec.deployment.istio.istio_version = Some("1.9".into());
    let g = generate(&fd, &image()).unwrap();
    assert_eq!(g.manifests.len(), 1);
    assert!(
        g.warnings.iter().any(|w| w.contains("1.12")),
        "{:?}",
        g.warnings
    );
}

#[test]
fn the_validator_catches_invalid_manifests() {
    // The schema check must be able to fail: break a valid manifest in the ways the CRD forbids.
    let (_, docs) = render(&fd(IstioApi::WasmPlugin));
    let mut bad = docs[0].clone();
    bad["spec"]["phase"] = "EARLY".into();
    bad["spec"]["sha256"] = "sha256:abc".into();
    let problems = istio_problems(&bad);
    assert!(problems.iter().any(|p| p.contains("EARLY")), "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("sha256")),
        "{problems:?}"
    );
    let mut cel = docs[0].clone();
    cel["spec"]["targetRefs"] = serde_json::json!([{"kind": "Gateway", "name": "gw"}]);
    cel["spec"]["url"] = "ftp://example.com/x.wasm".into();
    cel["spec"]["vmConfig"] =
        serde_json::json!({"env": [{"name": "A", "valueFrom": "HOST", "value": "x"}]});
    let problems = istio_problems(&cel);
    assert_eq!(
        problems.iter().filter(|p| p.starts_with("CEL")).count(),
        3,
        "{problems:?}"
    );
}
