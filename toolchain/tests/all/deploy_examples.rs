//! `examples/deploy/`: the committed rendering is exactly what `render` produces from the
//! committed FilterDeployments, and every Istio resource in it is valid.

use crate::deploy_support;

use cargo_wasme::deploy::{
    render::{RenderOptions, render},
    resolve::DigestOnly,
    yaml,
};
use deploy_support::{assert_valid_istio, yaml_docs};
use std::path::Path;

#[test]
fn example_gitops_folder_renders_to_the_committed_manifests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy");
    let mut files: Vec<_> = std::fs::read_dir(dir.join("gitops"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        docs.extend(yaml::parse_stream(&f.display().to_string(), &text).unwrap());
    }
    // Digest-pinned images: no store, no registry, so no module for the configuration check.
    let options = RenderOptions {
        skip_config_check: true,
    };
    let rendered = render(docs, &DigestOnly, &options).unwrap();
    let text = rendered.to_yaml_stream().unwrap();
    let committed_path = dir.join("rendered/all.yaml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&committed_path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap();
    assert_eq!(
        committed, text,
        "examples/deploy/rendered/all.yaml is stale (UPDATE_GOLDEN=1 rewrites it)"
    );
    let values = yaml_docs(&text);
    let kinds: Vec<&str> = values.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["WasmPlugin", "TrafficExtension", "Namespace"]);
    for v in &values[..2] {
        assert_valid_istio(v);
    }
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
}
