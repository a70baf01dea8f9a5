//! The SBOM of a filter: the crates linked into its module, as a CycloneDX 1.5 JSON document
//! made from `cargo metadata` (resolved for `wasm32-wasip1`, normal dependencies only: build
//! dependencies, dev-dependencies and proc-macros never reach the module).
//!
//! Written by hand from `cargo metadata` rather than with `cargo-cyclonedx`, which is a
//! separate binary with its own dependency tree; the document is small and fixed-shape. No
//! serial number or timestamp: the same lock file gives the same bytes.

use super::dsse::{CYCLONEDX_BOM, Statement};
use crate::reference::Digest;
use cargo_metadata::{DependencyKind, Metadata, Package, PackageId, TargetKind};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crates that count as proxy-wasm SDKs in the provenance.
const SDKS: &[&str] = &["proxy-wasm", "wasme-sdk"];

/// Why an SBOM could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot list the crates of {manifest}: {message}")]
pub struct SbomError {
    /// The Cargo.toml.
    pub manifest: String,
    /// Why.
    pub message: String,
}

/// How the crate was built (the features change what is linked).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--features` values.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
}

fn metadata(manifest: &Path, selection: &Selection) -> Result<Metadata, SbomError> {
    let mut command = cargo_metadata::MetadataCommand::new();
    command.manifest_path(manifest);
    if selection.all_features {
        command.features(cargo_metadata::CargoOpt::AllFeatures);
    }
    if selection.no_default_features {
        command.features(cargo_metadata::CargoOpt::NoDefaultFeatures);
    }
    if !selection.features.is_empty() {
        command.features(cargo_metadata::CargoOpt::SomeFeatures(
            selection.features.clone(),
        ));
    }
    command.other_options(vec![
        "--filter-platform".to_string(),
        crate::build::WASM_TARGET.to_string(),
    ]);
    command.exec().map_err(|e| SbomError {
        manifest: manifest.display().to_string(),
        message: e.to_string().trim().to_string(),
    })
}

/// The root package (the crate at `manifest`) and every package linked into it, by id.
fn linked<'m>(
    metadata: &'m Metadata,
    manifest: &Path,
) -> Result<(&'m Package, BTreeMap<&'m PackageId, Vec<&'m PackageId>>), SbomError> {
    let wanted = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    let root = metadata
        .packages
        .iter()
        .find(|p| {
            std::fs::canonicalize(&p.manifest_path)
                .unwrap_or_else(|_| p.manifest_path.clone().into())
                == wanted
        })
        .ok_or_else(|| SbomError {
            manifest: manifest.display().to_string(),
            message: "the crate is not in cargo's metadata".into(),
        })?;
    let resolve = metadata.resolve.as_ref().ok_or_else(|| SbomError {
        manifest: manifest.display().to_string(),
        message: "cargo gave no dependency resolution".into(),
    })?;
    let nodes: BTreeMap<&PackageId, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let packages: BTreeMap<&PackageId, &Package> =
        metadata.packages.iter().map(|p| (&p.id, p)).collect();
    let mut graph = BTreeMap::new();
    let mut todo = vec![&root.id];
    while let Some(id) = todo.pop() {
        if graph.contains_key(id) {
            continue;
        }
        let mut deps = Vec::new();
        if let Some(node) = nodes.get(id) {
            for dep in &node.deps {
                let normal = dep
                    .dep_kinds
                    .iter()
                    .any(|k| k.kind == DependencyKind::Normal);
                let proc_macro = packages
                    .get(&dep.pkg)
                    .is_some_and(|p| p.targets.iter().all(|t| t.is_kind(TargetKind::ProcMacro)));
                if normal && !proc_macro {
                    deps.push(&dep.pkg);
                    todo.push(&dep.pkg);
                }
            }
        }
        deps.sort();
        graph.insert(id, deps);
    }
    Ok((root, graph))
}

fn purl(p: &Package) -> String {
    format!("pkg:cargo/{}@{}", p.name.as_str(), p.version)
}

fn component(p: &Package, kind: &str) -> Value {
    let mut c = json!({
        "type": kind,
        "bom-ref": purl(p),
        "name": p.name.as_str(),
        "version": p.version.to_string(),
        "purl": purl(p),
    });
    if let Some(license) = &p.license {
        c["licenses"] = json!([{"expression": license}]);
    }
    if let Some(repo) = &p.repository {
        c["externalReferences"] = json!([{"type": "vcs", "url": repo}]);
    }
    c
}

/// The CycloneDX 1.5 document for the crate at `manifest`.
pub fn cyclonedx(manifest: &Path, selection: &Selection) -> Result<Value, SbomError> {
    let metadata = metadata(manifest, selection)?;
    let (root, graph) = linked(&metadata, manifest)?;
    let packages: BTreeMap<&PackageId, &Package> =
        metadata.packages.iter().map(|p| (&p.id, p)).collect();
    let mut components: Vec<Value> = graph
        .keys()
        .filter(|id| **id != &root.id)
        .filter_map(|id| packages.get(id))
        .map(|p| component(p, "library"))
        .collect();
    components.sort_by(|a, b| a["bom-ref"].as_str().cmp(&b["bom-ref"].as_str()));
    components.dedup_by(|a, b| a["bom-ref"] == b["bom-ref"]);
    let mut dependencies: Vec<Value> = graph
        .iter()
        .filter_map(|(id, deps)| {
            let p = packages.get(id)?;
            let on: BTreeSet<String> = deps
                .iter()
                .filter_map(|d| packages.get(d).map(|p| purl(p)))
                .collect();
            Some(json!({"ref": purl(p), "dependsOn": on}))
        })
        .collect();
    dependencies.sort_by(|a, b| a["ref"].as_str().cmp(&b["ref"].as_str()));
    dependencies.dedup_by(|a, b| a["ref"] == b["ref"]);
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "tools": {"components": [{
                "type": "application",
                "name": "cargo-wasme",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": component(root, "application"),
        },
        "components": components,
        "dependencies": dependencies,
    }))
}

/// The SBOM statement about the image `digest`.
pub fn statement(digest: &Digest, bom: Value) -> Statement {
    Statement::about(digest, CYCLONEDX_BOM, bom)
}

/// The proxy-wasm SDK crates linked into the crate at `manifest`, `(name, version)` (empty
/// when cargo's metadata cannot be read).
pub fn sdk_versions(manifest: &Path) -> Vec<(String, String)> {
    let Ok(metadata) = metadata(manifest, &Selection::default()) else {
        return Vec::new();
    };
    let Ok((_, graph)) = linked(&metadata, manifest) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = metadata
        .packages
        .iter()
        .filter(|p| graph.contains_key(&p.id) && SDKS.contains(&p.name.as_str()))
        .map(|p| (p.name.to_string(), p.version.to_string()))
        .collect();
    out.sort();
    out
}
