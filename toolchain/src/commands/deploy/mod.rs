//! CLI glue: deploy, undeploy, render and crd. Flags are parsed here; the work is done in
//! `cargo_wasme::deploy` (the store-and-registry resolver included). The I/O the library leaves
//! out lives beside this file: [`kubectl`] (`--apply`).

mod gateways;
mod kubectl;
mod render;

pub use gateways::{
    EnvoyGatewayDeployArgs, EnvoyGatewayUndeployArgs, HigressDeployArgs, HigressUndeployArgs,
};
pub use render::{CrdArgs, RenderArgs, crd, render};

use anyhow::Context;
use cargo_wasme::deploy::store_resolver::{StoreResolver, export_module};
use cargo_wasme::deploy::{
    envoy::EnvoyBootstrap,
    filter_deployment::{
        self as fdm, FailStrategy, FilterConfig, FilterDeployment, FilterDeploymentSpec,
        FilterSpec, FilterType, ImagePullOptions, IstioApi, IstioDeployment, PatchContext, Phase,
        PullPolicy, WorkloadKind,
    },
    generate, names,
    node_cache::{
        CACHE_NAME, CACHE_NAMESPACE as NODE_CACHE_NAMESPACE, NODE_CACHE_DIR, kustomize_dir,
    },
    render as rnd,
    resolve::{PullOptions, ResolvedImage, resolve_pinned},
    undeploy::{UndeployRequest, deletions, field_manager},
    yaml,
};
use cargo_wasme::shell;
use kubectl::{kubectl_patch_workloads, kubectl_stdin};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `cargo wasme deploy <target>`.
#[derive(Debug, clap::Subcommand)]
pub enum DeployCommand {
    /// Istio manifests (WasmPlugin, TrafficExtension or EnvoyFilter) for an image, printed as
    /// YAML (ready to commit) or applied with `kubectl apply`.
    Istio(IstioDeployArgs),
    /// An Envoy v3 bootstrap that runs the image's module, for Envoy without Istio.
    Envoy(EnvoyDeployArgs),
    /// An Envoy Gateway EnvoyExtensionPolicy attaching the image's filter to Gateway API
    /// routes or gateways.
    EnvoyGateway(EnvoyGatewayDeployArgs),
    /// A Higress WasmPlugin (in higress-system) with optional per-route, per-domain or
    /// per-service configurations.
    Higress(HigressDeployArgs),
}

/// `cargo wasme undeploy <target>`.
#[derive(Debug, clap::Subcommand)]
pub enum UndeployCommand {
    /// Deletions of what `deploy istio --id ID` created, printed (for `kubectl delete -f -`)
    /// or applied.
    Istio(IstioUndeployArgs),
    /// The deletion of what `deploy envoy-gateway --id ID` created.
    EnvoyGateway(EnvoyGatewayUndeployArgs),
    /// The deletion of what `deploy higress --id ID` created.
    Higress(HigressUndeployArgs),
}

/// Arguments of `cargo wasme deploy istio`.
#[derive(Debug, clap::Args)]
pub struct IstioDeployArgs {
    /// The image (`registry/repo:tag` or `…@sha256:<hex>`), pinned to its manifest digest. It
    /// is read from the registry it names (or from the local store, then checked against that
    /// registry): it must have been pushed, unless --offline.
    pub image: String,
    /// Filter id: resource name, Envoy filter name and VM id (default: the repository's last
    /// path segment).
    #[arg(long)]
    pub id: Option<String>,
    /// Namespace of the generated resources.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Pod labels selecting the workloads, `k=v,k2=v2` (none: every workload in the namespace).
    #[arg(long, default_value = "")]
    pub labels: String,
    /// Filter configuration: a string, or a JSON object.
    #[arg(long)]
    pub config: Option<String>,
    /// Root id (default: the image's first root id).
    #[arg(long)]
    pub root_id: Option<String>,
    /// Which Istio resource to generate [default: wasmplugin; envoyfilter, with a notice, when
    /// --config is a plain string, as the seed's `wasme deploy istio … --config 'tomorrow'`].
    #[arg(long, value_enum)]
    pub api: Option<IstioApi>,
    /// The mesh's Istio version (e.g. 1.24): picks the EnvoyFilter shape (≤ 1.6 `config`,
    /// ≥ 1.7 `typedConfig`) and drives warnings.
    #[arg(long)]
    pub istio_version: Option<String>,
    /// Where in the filter chain the plugin goes.
    #[arg(long, value_enum)]
    pub phase: Option<Phase>,
    /// Order among plugins of the same phase (higher first).
    #[arg(long, allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// Behaviour on fatal plugin errors.
    #[arg(long, value_enum)]
    pub fail_strategy: Option<FailStrategy>,
    /// When Istio re-pulls the module.
    #[arg(long, value_enum)]
    pub pull_policy: Option<PullPolicy>,
    /// A `kubernetes.io/dockerconfigjson` Secret in the namespace, for private registries.
    #[arg(long)]
    pub pull_secret: Option<String>,
    /// Which traffic the filter sees (EnvoyFilter default: inbound; WasmPlugin default: all).
    #[arg(long, value_enum)]
    pub patch_context: Option<PatchContext>,
    /// Kind of the selected workloads (the EnvoyFilter form patches their pod annotations).
    #[arg(long, value_enum)]
    pub workload_type: Option<WorkloadKind>,
    /// HTTP or network filter.
    #[arg(long = "type", value_enum)]
    pub filter_type: Option<FilterType>,
    /// Resolve the digest over plain HTTP (loopback registries are plain HTTP anyway).
    #[arg(long)]
    pub plain_http: bool,
    /// Trust the local store: do not check that the registry has the image (a warning says
    /// so). Without it the image is verified against the registry its reference names.
    #[arg(long)]
    pub offline: bool,
    /// Do not run the configuration check (the image's module started with the exact
    /// configuration the output hands it, through on_vm_start and on_configure): a
    /// configuration the filter refuses then fails closed in the mesh.
    #[arg(long)]
    pub skip_config_check: bool,
    /// Print the equivalent FilterDeployment instead of the Istio resources.
    #[arg(long, conflicts_with = "apply")]
    pub filter_deployment: bool,
    /// EnvoyFilter form: also write DIR/kustomization.yaml, a kustomize Component with the
    /// resources and the patch that mounts the node cache into the selected workloads (list DIR
    /// under `components:`). Kustomize documents never go to stdout.
    #[arg(long, value_name = "DIR", conflicts_with = "apply")]
    pub kustomize: Option<PathBuf>,
    /// Apply with `kubectl apply -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

/// Arguments of `cargo wasme deploy envoy`.
#[derive(Debug, clap::Args)]
pub struct EnvoyDeployArgs {
    /// The image in the local store.
    pub image: String,
    /// Filter name and VM id (default: the repository's last path segment).
    #[arg(long)]
    pub id: Option<String>,
    /// Filter configuration (a string, or JSON).
    #[arg(long)]
    pub config: Option<String>,
    /// Root id (default: the image's first root id).
    #[arg(long)]
    pub root_id: Option<String>,
    /// Listener address.
    #[arg(long, default_value = "0.0.0.0")]
    pub listen_address: String,
    /// Listener port.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Name of the upstream cluster requests are routed to.
    #[arg(long, default_value = "upstream")]
    pub upstream_name: String,
    /// Upstream address, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub upstream_address: String,
    /// Admin interface port on 127.0.0.1 (0: no admin interface).
    #[arg(long, default_value_t = 9901)]
    pub admin_port: u16,
    /// HTTP or network filter.
    #[arg(long = "type", value_enum)]
    pub filter_type: Option<FilterType>,
    /// Where to write the module (default: `$WASME_HOME/modules/<sha256>.wasm`).
    #[arg(long)]
    pub module_path: Option<PathBuf>,
    /// Write the bootstrap here instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Do not start the module with the configuration before writing the bootstrap.
    #[arg(long)]
    pub skip_config_check: bool,
}

/// Arguments of `cargo wasme undeploy istio`.
#[derive(Debug, clap::Args)]
pub struct IstioUndeployArgs {
    /// The filter id given to `deploy` (the resources' name).
    #[arg(long)]
    pub id: String,
    /// Namespace of the resources.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Only this kind (default: WasmPlugin, TrafficExtension and EnvoyFilter named ID).
    #[arg(long, value_enum)]
    pub api: Option<IstioApi>,
    /// With the EnvoyFilter form: the pod labels given to `deploy`, to remove the node-cache
    /// pod annotations from those workloads.
    #[arg(long)]
    pub labels: Option<String>,
    /// Kind of the workloads whose annotations are removed.
    #[arg(long, value_enum)]
    pub workload_type: Option<WorkloadKind>,
    /// With --labels: write DIR/kustomization.yaml, a kustomize Component whose patch removes
    /// the node-cache annotations (kustomize documents never go to stdout).
    #[arg(long, value_name = "DIR", conflicts_with = "apply")]
    pub kustomize: Option<PathBuf>,
    /// Delete with `kubectl delete --ignore-not-found -f -` instead of printing.
    #[arg(long)]
    pub apply: bool,
}

fn default_id(image: &str) -> anyhow::Result<String> {
    names::filter_id_for_image(image)
        .context("cannot derive a filter id from the image name: pass --id")
}

/// The local store and the registries as a resolver (only the store with `offline`).
fn store_resolver(offline: bool) -> anyhow::Result<StoreResolver> {
    Ok(StoreResolver::open_default()
        .context("cannot open the local image store")?
        .offline(offline)
        // The verification gate (`sign`): `--verify-key` (global) or WASME_VERIFY_KEY.
        .verify(super::sign::global_policy()?))
}

fn filter_deployment_from(a: &IstioDeployArgs) -> anyhow::Result<FilterDeployment> {
    let id = match &a.id {
        Some(id) => id.clone(),
        None => default_id(&a.image)?,
    };
    names::validate_dns1123_subdomain("filter id", &id)?;
    names::validate_dns1123_label("namespace", &a.namespace)?;
    let labels = names::parse_labels(&a.labels)?;
    let pull = ImagePullOptions {
        pull_secret: a.pull_secret.clone(),
        insecure_skip_verify: false,
        plain_http: a.plain_http,
        pull_policy: a.pull_policy,
    };
    let spec = FilterDeploymentSpec {
        filter: FilterSpec {
            id: Some(id.clone()),
            image: a.image.clone(),
            config: a.config.as_deref().map(FilterConfig::from_flag),
            root_id: a.root_id.clone(),
            image_pull_options: (pull != ImagePullOptions::default()).then_some(pull),
            verify: None,
            patch_context: a.patch_context,
            phase: a.phase,
            priority: a.priority,
            fail_strategy: a.fail_strategy,
            filter_type: a.filter_type,
        },
        deployment: fdm::DeploymentSpec {
            istio: IstioDeployment {
                kind: a.workload_type,
                labels,
                istio_namespace: None,
                api: a.api,
                istio_version: a.istio_version.clone(),
            },
            ..Default::default()
        },
    };
    let mut fd = FilterDeployment::new(&id, spec);
    fd.metadata.namespace = Some(a.namespace.clone());
    Ok(fd)
}

/// Runs `cargo wasme deploy`.
pub fn deploy(c: DeployCommand) -> anyhow::Result<ExitCode> {
    match c {
        DeployCommand::Istio(a) => deploy_istio(a),
        DeployCommand::Envoy(a) => deploy_envoy(a),
        DeployCommand::EnvoyGateway(a) => gateways::deploy_envoy_gateway(a),
        DeployCommand::Higress(a) => gateways::deploy_higress(a),
    }
}

/// How a `deploy` target reaches its image and checks its configuration.
struct Pinning<'a> {
    image: &'a str,
    offline: bool,
    plain_http: bool,
    skip_config_check: bool,
}

/// The steps every `deploy` target shares, in the order that keeps output honest: the
/// request's own input is checked before any registry is contacted; the image is pinned to
/// its digest; the resources are generated; and the filter's module is started with the
/// exact configuration each resource hands it (unless `--skip-config-check`, which warns).
/// Nothing is printed before all of that passed.
fn pin_and_generate(
    fd: &FilterDeployment,
    p: &Pinning,
) -> anyhow::Result<(generate::Generated, ResolvedImage, Vec<serde_json::Value>)> {
    generate::check_input(fd)?;
    // `--plain-http` is the user's own word for the image's registry (a document's is not).
    let trusted = match cargo_wasme::deploy::resolve::parse_image(p.image) {
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
    let generated = cargo_wasme::deploy::target::generate(fd, &image)?;
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
    Ok((generated, image, values))
}

fn deploy_istio(a: IstioDeployArgs) -> anyhow::Result<ExitCode> {
    let mut fd = filter_deployment_from(&a)?;
    let (generated, image, values) = pin_and_generate(
        &fd,
        &Pinning {
            image: &a.image,
            offline: a.offline,
            plain_http: a.plain_http,
            skip_config_check: a.skip_config_check,
        },
    )?;
    if a.filter_deployment {
        // The FilterDeployment keeps the pinned reference, so a later render needs no lookup.
        fd.spec.filter.image = image.pinned_reference();
        if fd.spec.filter.root_id.is_none() {
            fd.spec.filter.root_id = image.root_ids.first().cloned();
        }
        print!("{}", yaml::to_stream(&[&fd])?);
        return Ok(ExitCode::SUCCESS);
    }
    for w in &generated.warnings {
        shell::warn(w);
    }
    drop(values);
    let mut docs: Vec<serde_norway::Value> = Vec::new();
    for m in &generated.manifests {
        docs.push(serde_norway::to_value(m)?);
    }
    if a.apply {
        let stream = yaml::to_stream(&docs)?;
        if generated.workload_patch.is_some() {
            // The EnvoyFilter form shares the node cache's ConfigMap with other filters: a
            // server-side apply with a field manager per filter merges their entries instead
            // of replacing them.
            let manager = format!(
                "cargo-wasme-{}-{}",
                a.namespace,
                fd.metadata.name.clone().unwrap_or_default()
            );
            kubectl_stdin(
                &[
                    "apply",
                    "--server-side",
                    "--field-manager",
                    &manager,
                    "-f",
                    "-",
                ],
                &stream,
            )?;
        } else {
            kubectl_stdin(&["apply", "-f", "-"], &stream)?;
        }
        if let Some(patch) = &generated.workload_patch {
            kubectl_patch_workloads(patch)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stream = yaml::to_stream(&docs)?;
    if let Some(patch) = &generated.workload_patch {
        match &a.kustomize {
            Some(dir) => {
                let name = format!(
                    "{}-wasme-cache",
                    fd.metadata.name.clone().unwrap_or_default()
                );
                write_kustomize_dir(
                    dir,
                    &kustomize_dir(&name, std::slice::from_ref(patch), Some(&stream))?,
                )?;
            }
            None => shell::note(format_args!(
                "the selected workloads' sidecars must mount the wasme node cache ({NODE_CACHE_DIR}): \
                 pass --kustomize DIR for a kustomize component that sets their pod annotations, \
                 or --apply to patch them with kubectl"
            )),
        }
    }
    print!("{stream}");
    Ok(ExitCode::SUCCESS)
}

/// Writes the files of a kustomize component directory, each atomically.
fn write_kustomize_dir(dir: &Path, files: &[(&'static str, String)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write {}", path.display()))?;
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

fn deploy_envoy(a: EnvoyDeployArgs) -> anyhow::Result<ExitCode> {
    let id = match &a.id {
        Some(id) => id.clone(),
        None => default_id(&a.image)?,
    };
    // Only reads the store: a machine without one gets the not-found error, not a new store.
    let resolver = match cargo_wasme::store::Store::open_default_existing()? {
        Some(_) => Some(store_resolver(true)?),
        None => None,
    };
    let loaded = match &resolver {
        Some(r) => r.load(&a.image),
        None => Err(cargo_wasme::store::Store::absent(&a.image)?),
    };
    let stored = loaded.with_context(|| {
        format!(
            "`deploy envoy` loads the module from the local store: pull or build {} first",
            a.image
        )
    })?;
    let resolver = resolver.context("the local store disappeared")?;
    resolver.verify_stored(&a.image)?;
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
        let schema = cargo_wasme::config_schema::of_image(stored.format, &stored.config_bytes)?;
        cargo_wasme::deploy::config_check::check(
            stored.wasm(),
            schema.as_ref(),
            &[cargo_wasme::deploy::config_check::TargetConfig::verbatim(
                "the Envoy bootstrap",
                &config,
                root_id.as_deref(),
            )],
        )?;
    }
    let wasm_path = export_module(&resolver, &stored, a.module_path.as_deref())?;
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
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write the bootstrap to {}", path.display()))?;
            shell::status(
                "Wrote",
                format_args!("{} (run: envoy -c {})", path.display(), path.display()),
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cargo wasme undeploy`.
pub fn undeploy(c: UndeployCommand) -> anyhow::Result<ExitCode> {
    let a = match c {
        UndeployCommand::Istio(a) => a,
        UndeployCommand::EnvoyGateway(a) => return gateways::undeploy_envoy_gateway(a),
        UndeployCommand::Higress(a) => return gateways::undeploy_higress(a),
    };
    let out = deletions(&UndeployRequest {
        id: a.id.clone(),
        namespace: a.namespace.clone(),
        api: a.api,
        labels: a.labels.clone(),
        workload_kind: a.workload_type,
    })?;
    let patch = out.workload_patch;
    let stream = yaml::to_stream(&out.documents)?;
    if a.apply {
        kubectl_stdin(&["delete", "--ignore-not-found", "-f", "-"], &stream)?;
        if let Some(patch) = &patch {
            kubectl_patch_workloads(patch)?;
        }
        if let Some((_, config_map)) = &out.cache_entry {
            // Applying the ConfigMap without this filter's key, as its own field manager,
            // removes the key and nothing another filter set.
            let manager = field_manager(&a.namespace, &a.id);
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
        return Ok(ExitCode::SUCCESS);
    }
    if let Some((key, _)) = &out.cache_entry {
        shell::note(format_args!(
            "the node cache's ConfigMap {NODE_CACHE_NAMESPACE}/{CACHE_NAME} keeps the entry {key}: remove it \
             from your repository, or undeploy with --apply (a server-side apply releases it)"
        ));
    }
    if let Some(patch) = &patch {
        match &a.kustomize {
            Some(dir) => write_kustomize_dir(
                dir,
                &kustomize_dir(
                    &format!("{}-wasme-cache-removal", a.id),
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
    Ok(ExitCode::SUCCESS)
}
