//! `cargo wasme render` and `cargo wasme crd`: FilterDeployment streams (files, directories,
//! stdin, or a KRM ResourceList) → Istio resources, and the FilterDeployment CRD.

use super::{store_resolver, write_kustomize_dir};
use anyhow::{Context, bail};
use cargo_wasme::deploy::{
    filter_deployment as fdm, node_cache::kustomize_dir, render as rnd, yaml,
};
use cargo_wasme::shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `cargo wasme render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Input: a file, a directory (its *.yaml/*.yml files, sorted) or `-` for stdin. Repeatable.
    /// Default: stdin.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<PathBuf>,
    /// KRM function mode: read a `ResourceList` on stdin, write one on stdout (kustomize/kpt).
    /// Also chosen automatically when stdin holds a single ResourceList.
    #[arg(long)]
    pub krm: bool,
    /// Trust the local store: do not check that the registries have the images. Implied by
    /// KRM function mode, which never uses the network.
    #[arg(long)]
    pub offline: bool,
    /// A registry host that may be reached over plain HTTP or unverified TLS when a document's
    /// `imagePullOptions` asks for it (loopback registries always may). Repeatable. A document
    /// alone can never turn this on: it would expose credentials.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Do not run the configuration check (each filter's module started with the exact
    /// configuration its output hands it, through on_vm_start and on_configure).
    #[arg(long)]
    pub skip_config_check: bool,
    /// Write the node-cache patches for workloads that are not in the input to
    /// DIR/kustomization.yaml, a kustomize Component (list DIR under `components:`).
    #[arg(long, value_name = "DIR", conflicts_with = "krm")]
    pub kustomize: Option<PathBuf>,
}

/// Arguments of `cargo wasme crd`.
#[derive(Debug, clap::Args)]
pub struct CrdArgs {
    /// Print JSON instead of YAML.
    #[arg(long)]
    pub json: bool,
}

/// Reads `path` (a file, a directory's YAML files, or `-`), taking from `budget` (the
/// [`yaml::MAX_INPUT_BYTES`] all inputs share).
fn read_input(path: &Path, budget: &mut u64) -> anyhow::Result<Vec<(String, String)>> {
    if path == Path::new("-") {
        let text = yaml::read_capped(std::io::stdin().lock(), "-", budget)?;
        return Ok(vec![("-".into(), text)]);
    }
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        files.sort();
        let mut out = Vec::new();
        for f in files {
            out.extend(read_input(&f, budget)?);
        }
        return Ok(out);
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = yaml::read_capped(file, &path.display().to_string(), budget)?;
    Ok(vec![(path.display().to_string(), text)])
}

/// Runs `cargo wasme render`.
pub fn render(a: RenderArgs) -> anyhow::Result<ExitCode> {
    let files = if a.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        a.files.clone()
    };
    let mut inputs = Vec::new();
    let mut budget = yaml::MAX_INPUT_BYTES;
    for f in &files {
        inputs.extend(read_input(f, &mut budget)?);
    }
    let mut docs = Vec::new();
    for (source, text) in &inputs {
        docs.extend(yaml::parse_stream(source, text)?);
    }
    let krm =
        a.krm || (a.files.is_empty() && docs.len() == 1 && rnd::is_resource_list(&docs[0].value));
    let resolver = store_resolver(a.offline)?
        .krm(krm)
        .insecure_registries(a.insecure_registries.clone());
    let options = rnd::RenderOptions {
        skip_config_check: a.skip_config_check,
    };
    if a.skip_config_check {
        shell::warn(
            "--skip-config-check: the filters were not started with their configurations \
             (on_vm_start, on_configure); one a filter refuses fails closed in the cluster",
        );
    }
    if krm {
        let [list] = docs.as_slice() else {
            bail!(
                "KRM mode reads exactly one ResourceList on stdin, got {} documents",
                docs.len()
            );
        };
        return match rnd::render_resource_list(&list.value, &resolver, &options) {
            Ok(out) => {
                print!("{}", yaml::to_yaml(&out)?);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                print!(
                    "{}",
                    yaml::to_yaml(&rnd::resource_list_error(&list.value, &e))?
                );
                eprintln!("error: {e}");
                Ok(ExitCode::FAILURE)
            }
        };
    }
    let rendered = rnd::render(docs, &resolver, &options)?;
    let written = match &a.kustomize {
        Some(dir) if !rendered.unapplied_patches.is_empty() => {
            let files = kustomize_dir("wasme-cache", &rendered.unapplied_patches, None)?;
            write_kustomize_dir(dir, &files)?;
            true
        }
        _ => false,
    };
    for w in &rendered.warnings {
        // Those about unapplied patches are moot once the component is written.
        if !(written && w.contains("--kustomize DIR")) {
            eprintln!("warning: {w}");
        }
    }
    print!("{}", rendered.to_yaml_stream()?);
    Ok(ExitCode::SUCCESS)
}

/// Runs `cargo wasme crd`.
pub fn crd(a: CrdArgs) -> anyhow::Result<ExitCode> {
    let crd = fdm::crd();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&crd)?);
    } else {
        print!("{}", yaml::to_yaml(&crd)?);
    }
    Ok(ExitCode::SUCCESS)
}
