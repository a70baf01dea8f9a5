//! What `deploy`, `undeploy`, `render` and `crd` do with a request once it is checked: pin the
//! image ([`store_resolver`](crate::deploy::store_resolver)), generate, dry-run the
//! configuration, then print the YAML, write a kustomize component, or apply it
//! ([`kubectl`](crate::deploy::kubectl)). Nothing is printed before every check passed.

use crate::deploy::kubectl::{kubectl_patch_workloads, kubectl_stdin};
use crate::deploy::store_resolver::{StoreResolver, export_module};
use crate::deploy::{DeployError, kubectl::KubectlError, request::RequestError};
use crate::deploy::{
    envoy::EnvoyBootstrap,
    filter_deployment::{self as fdm, FilterConfig, FilterDeployment, FilterType},
    generate,
    k8s::ResourceKind,
    names,
    node_cache::{
        CACHE_NAME, CACHE_NAMESPACE as NODE_CACHE_NAMESPACE, NODE_CACHE_DIR, kustomize_dir,
    },
    render as rnd,
    resolve::{PullOptions, ResolvedImage, resolve_pinned},
    undeploy::{UndeployRequest, deletions, field_manager},
    yaml,
};
use crate::shell;
use crate::sign::actions::SignActionError;
use crate::store::StoreError;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in `deploy`, `undeploy`, `render` and `crd` once the request
/// is checked.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The configuration schema recorded in the image cannot be read.
    #[error(transparent)]
    Schema(#[from] crate::config_schema::SchemaError),
    /// The request's flags do not make a deployment.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// Generating, checking or rendering the resources failed.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// The verification keys (`--verify-key`, `WASME_VERIFY_KEY`) cannot be read
    /// ([`global_policy`](crate::sign::actions::global_policy)'s error).
    #[error(transparent)]
    Keys(#[from] SignActionError),
    /// The local image store cannot be opened.
    #[error("cannot open the local image store")]
    OpenStore(#[source] StoreError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `deploy envoy`'s image is not in the local store.
    #[error("`deploy envoy` loads the module from the local store: pull or build {image} first")]
    NotStored {
        /// The image reference as given.
        image: String,
        /// Why it cannot be loaded.
        #[source]
        source: StoreError,
    },
    /// The local store was there when checked, and then was not.
    #[error("the local store disappeared")]
    StoreDisappeared,
    /// The stored image fails the verification gate ([`StoreResolver::verify_stored`]). The
    /// signature error is not a `source`: its message is already this one's, and its causes
    /// were never part of this message.
    #[error("{0}; nothing was written")]
    StoredUnverified(crate::sign::SignError),
    /// The module cannot be written out for Envoy.
    #[error(transparent)]
    ExportModule(std::io::Error),
    /// A file or directory cannot be created, listed, read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done (`create`, `write`, `list`, `read`, `write the bootstrap to`).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
    /// The deletion cannot be written as YAML.
    #[error("cannot write the deletion")]
    Deletion(#[source] DeployError),
    /// KRM mode got other than one document.
    #[error("KRM mode reads exactly one ResourceList on stdin, got {0} documents")]
    KrmInput(usize),
    /// A manifest cannot be converted to JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A manifest cannot be converted to YAML.
    #[error(transparent)]
    Yaml(#[from] serde_norway::Error),
    /// kubectl failed.
    #[error(transparent)]
    Kubectl(#[from] KubectlError),
}

impl EmitError {
    /// What to do about the error, when there is something to say beyond its message.
    pub fn help(&self) -> Option<String> {
        match self {
            EmitError::Kubectl(e) => e.help(),
            _ => None,
        }
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EmitError {
    let path = path.to_path_buf();
    move |source| EmitError::Io {
        action,
        path,
        source,
    }
}

/// The local store and the registries as a resolver (only the store with `offline`), with the
/// verification gate the process was configured with (`--verify-key`, `WASME_VERIFY_KEY`).
pub fn store_resolver(offline: bool) -> Result<StoreResolver, EmitError> {
    let policy = crate::sign::actions::global_policy()?;
    Ok(StoreResolver::open_default()
        .map_err(EmitError::OpenStore)?
        .offline(offline)
        .verify(policy))
}

/// How a `deploy` target reaches its image and checks its configuration.
#[derive(Debug, Clone, Copy)]
pub struct Pinning<'a> {
    /// The image reference as given.
    pub image: &'a str,
    /// Trust the local store (no registry check).
    pub offline: bool,
    /// The user's own `--plain-http` for the image's registry.
    pub plain_http: bool,
    /// Skip the configuration dry run (with a warning).
    pub skip_config_check: bool,
}

/// What a `deploy` target prints or does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output<'a> {
    /// Print the equivalent FilterDeployment instead of the resources.
    pub filter_deployment: bool,
    /// Apply with kubectl instead of printing.
    pub apply: bool,
    /// Write the node-cache kustomize component here (Istio's EnvoyFilter form).
    pub kustomize: Option<&'a Path>,
}

/// The steps every `deploy` target shares, in the order that keeps output honest: the
/// request's own input is checked before any registry is contacted; the image is pinned to
/// its digest; the resources are generated; and the filter's module is started with the
/// exact configuration each resource hands it (unless `--skip-config-check`, which warns).
/// Nothing is printed before all of that passed.
pub fn pin_and_generate(
    fd: &FilterDeployment,
    p: &Pinning,
) -> Result<(generate::Generated, ResolvedImage), EmitError> {
    generate::check_input(fd)?;
    // `--plain-http` is the user's own word for the image's registry (a document's is not).
    let trusted = match crate::deploy::resolve::parse_image(p.image) {
        Ok(r) if p.plain_http => vec![r.registry().to_string()],
        _ => Vec::new(),
    };
    let resolver = store_resolver(p.offline)?.insecure_registries(trusted);
    let options = PullOptions {
        plain_http: p.plain_http,
        insecure_skip_verify: false,
        verify_keys: Vec::new(),
    };
    // Pin the reference before anything is printed: the output never floats on a tag.
    let image = resolve_pinned(&resolver, p.image, &options)?;
    let generated = crate::deploy::target::generate(fd, &image)?;
    let values = generated
        .manifests
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    if p.skip_config_check {
        shell::warn(
            "--skip-config-check: the filter was not started with this configuration \
             (on_vm_start, on_configure); if it refuses it, the deployment fails closed",
        );
    } else {
        rnd::check_manifests(&values, &image)?;
    }
    Ok((generated, image))
}

/// Prints `fd` with its image pinned (and its root id filled in), so a later render needs no
/// lookup.
fn print_pinned(mut fd: FilterDeployment, image: &ResolvedImage) -> Result<(), EmitError> {
    fd.spec.filter.image = image.pinned_reference();
    if fd.spec.filter.root_id.is_none() {
        fd.spec.filter.root_id = image.root_ids.first().cloned();
    }
    print!("{}", yaml::to_stream(&[&fd])?);
    Ok(())
}

/// `deploy istio`: pins, generates and checks, then prints, writes the kustomize component or
/// applies the resources (and the EnvoyFilter form's workload patch).
pub fn istio(fd: FilterDeployment, p: &Pinning, out: Output) -> Result<(), EmitError> {
    let (generated, image) = pin_and_generate(&fd, p)?;
    if out.filter_deployment {
        return print_pinned(fd, &image);
    }
    for w in &generated.warnings {
        shell::warn(w);
    }
    let mut docs: Vec<serde_norway::Value> = Vec::new();
    for m in &generated.manifests {
        docs.push(serde_norway::to_value(m)?);
    }
    let name = fd.metadata.name.clone().unwrap_or_default();
    let stream = yaml::to_stream(&docs)?;
    if out.apply {
        if generated.workload_patch.is_some() {
            // The EnvoyFilter form shares the node cache's ConfigMap with other filters: a
            // server-side apply with a field manager per filter merges their entries instead
            // of replacing them.
            let namespace = fd.metadata.namespace.clone().unwrap_or_default();
            let manager = format!("cargo-wasme-{namespace}-{name}");
            let args = ["apply", "--server-side", "--field-manager", &manager];
            kubectl_stdin(&[&args[..], &["-f", "-"]].concat(), &stream)?;
        } else {
            kubectl_stdin(&["apply", "-f", "-"], &stream)?;
        }
        if let Some(patch) = &generated.workload_patch {
            kubectl_patch_workloads(patch)?;
        }
        return Ok(());
    }
    if let Some(patch) = &generated.workload_patch {
        match out.kustomize {
            Some(dir) => {
                let files = kustomize_dir(
                    &format!("{name}-wasme-cache"),
                    std::slice::from_ref(patch),
                    Some(&stream),
                )?;
                write_kustomize_dir(dir, &files)?;
            }
            None => shell::note(format_args!(
                "the selected workloads' sidecars must mount the wasme node cache ({NODE_CACHE_DIR}): \
                 pass --kustomize DIR for a kustomize component that sets their pod annotations, \
                 or --apply to patch them with kubectl"
            )),
        }
    }
    print!("{stream}");
    Ok(())
}

/// `deploy envoy-gateway` and `deploy higress`: pins, generates, checks, then prints (or
/// applies) the resources or the FilterDeployment.
pub fn gateway(fd: FilterDeployment, p: &Pinning, out: Output) -> Result<(), EmitError> {
    let (generated, image) = pin_and_generate(&fd, p)?;
    for w in &generated.warnings {
        shell::warn(w);
    }
    if out.filter_deployment {
        return print_pinned(fd, &image);
    }
    let stream = yaml::to_stream(&generated.manifests)?;
    if out.apply {
        kubectl_stdin(&["apply", "-f", "-"], &stream)?;
    } else {
        print!("{stream}");
    }
    Ok(())
}

/// Writes the files of a kustomize component directory, each atomically.
pub fn write_kustomize_dir(dir: &Path, files: &[(&'static str, String)]) -> Result<(), EmitError> {
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    for (name, text) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(io_error("write", &path))?;
    }
    shell::status(
        "Wrote",
        format_args!(
            "the kustomize component {} (list it under `components:` in your kustomization)",
            dir.display()
        ),
    );
    Ok(())
}

/// `deploy envoy`'s request: an Envoy v3 bootstrap that runs a stored image's module.
#[derive(Debug, Clone)]
pub struct EnvoyRequest {
    /// The image in the local store.
    pub image: String,
    /// Filter name and VM id [default: the repository's last path segment].
    pub id: Option<String>,
    /// Filter configuration (a string, or JSON).
    pub config: Option<String>,
    /// Root id [default: the image's first].
    pub root_id: Option<String>,
    /// Listener address.
    pub listen_address: String,
    /// Listener port.
    pub port: u16,
    /// Name of the upstream cluster.
    pub upstream_name: String,
    /// Upstream address, HOST:PORT.
    pub upstream_address: String,
    /// Admin port on 127.0.0.1 (0: none).
    pub admin_port: u16,
    /// HTTP or network filter.
    pub filter_type: Option<FilterType>,
    /// Where to write the module (default: `$WASME_HOME/modules/<sha256>.wasm`).
    pub module_path: Option<PathBuf>,
    /// Write the bootstrap here instead of stdout.
    pub output: Option<PathBuf>,
    /// Do not start the module with the configuration first.
    pub skip_config_check: bool,
}

/// `deploy envoy`: checks the configuration against the stored module, writes the module out
/// and prints (or writes) the bootstrap.
pub fn envoy(a: EnvoyRequest) -> Result<(), EmitError> {
    let id = match &a.id {
        Some(id) => id.clone(),
        None => crate::deploy::request::default_id(&a.image)?,
    };
    // Only reads the store: a machine without one gets the not-found error, not a new store.
    let resolver = match crate::store::Store::open_default_existing()? {
        Some(_) => Some(store_resolver(true)?),
        None => None,
    };
    let loaded = match &resolver {
        Some(r) => r.load(&a.image),
        None => Err(crate::store::Store::absent(&a.image)?),
    };
    let stored = loaded.map_err(|source| EmitError::NotStored {
        image: a.image.clone(),
        source,
    })?;
    let resolver = resolver.ok_or(EmitError::StoreDisappeared)?;
    resolver
        .verify_stored(&a.image)
        .map_err(EmitError::StoredUnverified)?;
    let root_id = a
        .root_id
        .clone()
        .or_else(|| stored.root_ids.first().cloned());
    let config = a
        .config
        .as_deref()
        .map(|c| FilterConfig::from_flag(c).to_config_string())
        .unwrap_or_default();
    if a.skip_config_check {
        shell::warn(
            "--skip-config-check: the filter was not started with this configuration \
             (on_vm_start, on_configure); Envoy refuses the listener if the filter does",
        );
    } else {
        // Envoy hands the StringValue's bytes verbatim.
        let schema = crate::config_schema::of_image(stored.format, &stored.config_bytes)?;
        crate::deploy::config_check::check(
            stored.wasm(),
            schema.as_ref(),
            &[crate::deploy::config_check::TargetConfig::verbatim(
                "the Envoy bootstrap",
                &config,
                root_id.as_deref(),
            )],
        )?;
    }
    let wasm_path = export_module(&resolver, &stored, a.module_path.as_deref())
        .map_err(EmitError::ExportModule)?;
    let bootstrap = EnvoyBootstrap {
        id,
        root_id,
        config,
        wasm_path,
        listen_address: a.listen_address,
        listen_port: a.port,
        upstream_name: a.upstream_name,
        upstream_address: a.upstream_address,
        admin_port: (a.admin_port != 0).then_some(a.admin_port),
        network: a.filter_type == Some(FilterType::Network),
    };
    let text = bootstrap.to_yaml()?;
    match &a.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(io_error("write the bootstrap to", path))?;
            shell::status(
                "Wrote",
                format_args!("{} (run: envoy -c {})", path.display(), path.display()),
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `undeploy istio`: prints the deletions (with notes on what they leave behind), writes the
/// kustomize component that removes the pod annotations, or applies it all.
pub fn undeploy_istio(
    request: &UndeployRequest,
    apply: bool,
    kustomize: Option<&Path>,
) -> Result<(), EmitError> {
    let out = deletions(request)?;
    let patch = out.workload_patch;
    let stream = yaml::to_stream(&out.documents)?;
    if apply {
        kubectl_stdin(&["delete", "--ignore-not-found", "-f", "-"], &stream)?;
        if let Some(patch) = &patch {
            kubectl_patch_workloads(patch)?;
        }
        if let Some((_, config_map)) = &out.cache_entry {
            // Applying the ConfigMap without this filter's key, as its own field manager,
            // removes the key and nothing another filter set.
            let manager = field_manager(&request.namespace, &request.id);
            kubectl_stdin(
                &[
                    "apply",
                    "--server-side",
                    "--field-manager",
                    &manager,
                    "-f",
                    "-",
                ],
                &yaml::to_stream(&[config_map])?,
            )?;
        }
        return Ok(());
    }
    if let Some((key, _)) = &out.cache_entry {
        shell::note(format_args!(
            "the node cache's ConfigMap {NODE_CACHE_NAMESPACE}/{CACHE_NAME} keeps the entry {key}: remove it \
             from your repository, or undeploy with --apply (a server-side apply releases it)"
        ));
    }
    if let Some(patch) = &patch {
        match kustomize {
            Some(dir) => write_kustomize_dir(
                dir,
                &kustomize_dir(
                    &format!("{}-wasme-cache-removal", request.id),
                    std::slice::from_ref(patch),
                    None,
                )?,
            )?,
            None => shell::note(
                "the workloads keep their node-cache pod annotations: pass --kustomize DIR for a kustomize \
                 component that removes them, or --apply to patch them with kubectl",
            ),
        }
    }
    print!("{stream}");
    Ok(())
}

/// `undeploy envoy-gateway` and `undeploy higress`: the deletion of one resource of `kind`,
/// printed or applied.
pub fn deletion(
    kind: ResourceKind,
    id: &str,
    namespace: &str,
    apply: bool,
) -> Result<(), EmitError> {
    names::validate_dns1123_subdomain("id", id)?;
    names::validate_dns1123_label("namespace", namespace)?;
    let doc = serde_json::json!({
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {"name": id, "namespace": namespace},
    });
    let stream = yaml::to_stream(&[doc]).map_err(EmitError::Deletion)?;
    if apply {
        kubectl_stdin(&["delete", "--ignore-not-found", "-f", "-"], &stream)?;
    } else {
        print!("{stream}");
    }
    Ok(())
}

/// Reads `path` (a file, a directory's YAML files, or `-`), taking from `budget` (the
/// [`yaml::MAX_INPUT_BYTES`] all inputs share).
fn read_input(path: &Path, budget: &mut u64) -> Result<Vec<(String, String)>, EmitError> {
    if path == Path::new("-") {
        let text = yaml::read_capped(std::io::stdin().lock(), "-", budget)?;
        return Ok(vec![("-".into(), text)]);
    }
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io_error("list", path))?
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
    let file = std::fs::File::open(path).map_err(io_error("read", path))?;
    let text = yaml::read_capped(file, &path.display().to_string(), budget)?;
    Ok(vec![(path.display().to_string(), text)])
}

/// `render`'s request.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    /// Inputs: files, directories or `-` [default: stdin].
    pub files: Vec<PathBuf>,
    /// KRM function mode (also chosen when stdin holds a single ResourceList).
    pub krm: bool,
    /// Trust the local store.
    pub offline: bool,
    /// Registry hosts documents may reach over plain HTTP or unverified TLS.
    pub insecure_registries: Vec<String>,
    /// Skip the configuration dry run.
    pub skip_config_check: bool,
    /// Where to write the node-cache patches for workloads not in the input.
    pub kustomize: Option<PathBuf>,
}

/// `render`: FilterDeployment streams (files, directories, stdin, or a KRM ResourceList) →
/// the resources, printed. `Ok(false)` when a KRM function failed (its ResourceList, with
/// the error as a result, is printed all the same).
pub fn render(a: &RenderRequest) -> Result<bool, EmitError> {
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
            return Err(EmitError::KrmInput(docs.len()));
        };
        return match rnd::render_resource_list(&list.value, &resolver, &options) {
            Ok(out) => {
                print!("{}", yaml::to_yaml(&out)?);
                Ok(true)
            }
            Err(e) => {
                print!(
                    "{}",
                    yaml::to_yaml(&rnd::resource_list_error(&list.value, &e))?
                );
                eprintln!("error: {e}");
                Ok(false)
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
    Ok(true)
}

/// `crd`: prints the FilterDeployment CustomResourceDefinition (YAML, or JSON).
pub fn crd(json: bool) -> Result<(), EmitError> {
    let crd = fdm::crd();
    if json {
        println!("{}", serde_json::to_string_pretty(&crd)?);
    } else {
        print!("{}", yaml::to_yaml(&crd)?);
    }
    Ok(())
}
