//! `cargo wasme render`: FilterDeployment documents → the Istio resources `deploy` would make.
//!
//! Input is any stream of Kubernetes resources. Each `wasme.io/v1` `FilterDeployment` is
//! replaced, in place, by its generated resources; everything else passes through untouched
//! (its original text, comments included). For the EnvoyFilter form, workloads in the stream
//! that the FilterDeployment selects get the node-cache pod annotations patched in; when the
//! stream has none, the patch is returned in [`Rendered::unapplied_patches`] (with a warning)
//! for the CLI to write as a kustomize component (`--kustomize DIR`): the output stream itself
//! only ever holds resources `kubectl apply -f -` accepts.
//!
//! The same function serves the KRM-function convention (kustomize, kpt): [`render_resource_list`]
//! reads a `config.kubernetes.io/v1` `ResourceList` and returns one.

use super::DeployError;
use super::filter_deployment::{FilterDeployment, ImagePullOptions};
use super::generate::{Generated, Manifest};
use super::k8s::{FILTER_DEPLOYMENT, RESOURCE_LIST};
use super::node_cache::WorkloadPatch;
use super::resolve::{ImageResolver, Memo, PullOptions, ResolvedImage, resolve_pinned};
use super::target::generate;
use super::yaml::{Document, to_yaml};
use serde_norway::Value;

/// The older `apiVersion` of KRM `ResourceList`s, still accepted on input.
const RESOURCE_LIST_V1ALPHA1: &str = "config.kubernetes.io/v1alpha1";

/// One output document: either an input passed through verbatim, or a new/changed one.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputDocument {
    /// An input document no FilterDeployment touched: its original text.
    Verbatim(String),
    /// A generated or patched document.
    Value(Value),
}

/// What [`render`] produces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    /// The output stream, in input order with generated resources in place of their
    /// FilterDeployments.
    pub documents: Vec<OutputDocument>,
    /// Warnings (never fatal), prefixed with the FilterDeployment they concern.
    pub warnings: Vec<String>,
    /// Node-cache workload patches of the EnvoyFilter form whose workloads are not in the
    /// stream (see [`super::node_cache::kustomize_dir`]).
    pub unapplied_patches: Vec<WorkloadPatch>,
}

impl Rendered {
    /// The output as a YAML stream (`---` before every document).
    pub fn to_yaml_stream(&self) -> Result<String, DeployError> {
        let mut out = String::new();
        for doc in &self.documents {
            out.push_str("---\n");
            match doc {
                OutputDocument::Verbatim(text) => {
                    out.push_str(text);
                    if !text.ends_with('\n') {
                        out.push('\n');
                    }
                }
                OutputDocument::Value(v) => out.push_str(&to_yaml(v)?),
            }
        }
        Ok(out)
    }

    /// Every output document as a value (verbatim ones re-parsed).
    pub fn values(&self) -> Result<Vec<Value>, DeployError> {
        self.documents
            .iter()
            .map(|d| match d {
                OutputDocument::Value(v) => Ok(v.clone()),
                OutputDocument::Verbatim(t) => {
                    serde_norway::from_str(t).map_err(|e| DeployError::Serialize(e.to_string()))
                }
            })
            .collect()
    }
}

/// Whether a document is a `wasme.io/v1` FilterDeployment.
pub fn is_filter_deployment(doc: &Value) -> bool {
    FILTER_DEPLOYMENT.matches(doc)
}

/// The top-level fields of a FilterDeployment document.
const TOP_LEVEL_FIELDS: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

/// Parses a FilterDeployment document, strictly: an unknown or misspelled field anywhere but
/// inside `metadata` (Kubernetes' own) and `spec.filter.config` (the filter's) is an error.
/// Errors name the field's path and, when the document came from a file, its
/// `file:line:column`.
pub fn parse_filter_deployment(doc: &Document) -> Result<FilterDeployment, DeployError> {
    let invalid = |reason: String| DeployError::InvalidDocument {
        source_name: doc.source.clone(),
        index: doc.index,
        reason,
    };
    let config = doc
        .value
        .get("spec")
        .and_then(|s| s.get("filter"))
        .and_then(|f| f.get("config"));
    if let Some(config) = config
        && !matches!(config, Value::String(_) | Value::Mapping(_) | Value::Null)
    {
        return Err(invalid(
            "spec.filter.config must be a string or an object (mapping)".into(),
        ));
    }
    if let Value::Mapping(map) = &doc.value {
        for key in map.keys() {
            let name = key.as_str().unwrap_or_default();
            if TOP_LEVEL_FIELDS.contains(&name) {
                continue;
            }
            let message = format!(
                "invalid FilterDeployment: unknown field `{name}`, expected one of {}",
                TOP_LEVEL_FIELDS.join(", ")
            );
            return Err(match top_level_line(doc, name) {
                Some(line) => DeployError::Located {
                    file: doc.source.clone(),
                    line,
                    column: 1,
                    message,
                },
                None => invalid(message),
            });
        }
    }
    let fd: FilterDeployment = if doc.line > 0 {
        let de = serde_norway::Deserializer::from_str(&doc.text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            match super::yaml::located(doc.line, e.inner()) {
                Some((line, column, message)) => DeployError::Located {
                    file: doc.source.clone(),
                    line,
                    column,
                    // serde_norway names the parent's path itself for nested fields.
                    message: if TOP_LEVEL_FIELDS.iter().any(|f| message.starts_with(f)) {
                        format!("invalid FilterDeployment: {message}")
                    } else {
                        format!("invalid FilterDeployment: at {path}: {message}")
                    },
                },
                None => invalid(format!(
                    "not a valid FilterDeployment: at {path}: {}",
                    e.inner()
                )),
            }
        })?
    } else {
        serde_path_to_error::deserialize(doc.value.clone()).map_err(|e| {
            invalid(format!(
                "not a valid FilterDeployment: at {}: {}",
                e.path(),
                e.inner()
            ))
        })?
    };
    if fd.metadata.name.as_deref().is_none_or(str::is_empty) {
        return Err(invalid("a FilterDeployment needs metadata.name".into()));
    }
    Ok(fd)
}

/// The source line of a top-level `key:` in `doc`, when it has source text.
fn top_level_line(doc: &Document, key: &str) -> Option<usize> {
    if doc.line == 0 {
        return None;
    }
    doc.text.lines().enumerate().find_map(|(i, line)| {
        let rest = line.strip_prefix(key)?;
        rest.trim_start().starts_with(':').then_some(doc.line + i)
    })
}

fn pull_options(o: Option<&ImagePullOptions>) -> PullOptions {
    o.map(|o| PullOptions {
        plain_http: o.plain_http,
        insecure_skip_verify: o.insecure_skip_verify,
        verify_keys: Vec::new(),
    })
    .unwrap_or_default()
}

/// Resolves the FilterDeployment's image and generates its resources.
pub fn generate_for(
    fd: &FilterDeployment,
    resolver: &dyn ImageResolver,
) -> Result<Generated, DeployError> {
    Ok(generate_resolved(fd, resolver)?.0)
}

fn generate_resolved(
    fd: &FilterDeployment,
    resolver: &dyn ImageResolver,
) -> Result<(Generated, ResolvedImage), DeployError> {
    let mut options = pull_options(fd.spec.filter.image_pull_options.as_ref());
    if let Some(v) = &fd.spec.filter.verify {
        options.verify_keys = v.keys.clone();
    }
    let image = resolve_pinned(resolver, &fd.spec.filter.image, &options)?;
    Ok((generate(fd, &image)?, image))
}

/// How [`render`] runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Do not run the configuration check ([`super::config_check`]): the filter's module is
    /// not started with the configurations the output hands it (`--skip-config-check`).
    pub skip_config_check: bool,
}

/// The configuration dry run over generated manifests: every configuration they hand the
/// filter is started in the harness with `image`'s module.
pub fn check_manifests(
    values: &[serde_json::Value],
    image: &ResolvedImage,
) -> Result<(), DeployError> {
    check_manifests_once(values, image, &mut Default::default())
}

/// [`check_manifests`], skipping (module, configuration) pairs already found good in `passed`
/// (the same filter and configuration in many documents is started once).
fn check_manifests_once(
    values: &[serde_json::Value],
    image: &ResolvedImage,
    passed: &mut std::collections::HashSet<(String, Vec<super::config_check::TargetConfig>)>,
) -> Result<(), DeployError> {
    let mut configs: Vec<_> = values
        .iter()
        .flat_map(super::config_check::configs_of)
        .collect();
    if configs.is_empty() {
        return Ok(());
    }
    // Names differ per document; the verdict does not.
    let key_configs: Vec<_> = configs
        .iter()
        .map(|c| super::config_check::TargetConfig {
            what: String::new(),
            ..c.clone()
        })
        .collect();
    let key = (image.manifest_digest.to_string(), key_configs);
    if passed.contains(&key) {
        return Ok(());
    }
    configs.dedup();
    let Some(module) = &image.module else {
        return Err(DeployError::ModuleUnknown(format!(
            "the module of {} was not read (only its digest is known)",
            image.reference.whole()
        )));
    };
    super::config_check::check(module, image.config_schema.as_ref(), &configs)?;
    passed.insert(key);
    Ok(())
}

/// Warnings collected once per text: the same warning for many FilterDeployments is one line
/// naming them (100,000 documents do not print 100,000 lines).
#[derive(Debug, Default)]
struct Warnings {
    order: Vec<String>,
    names: std::collections::HashMap<String, Vec<String>>,
}

impl Warnings {
    fn add(&mut self, name: &str, warning: &str) {
        let names = self.names.entry(warning.to_owned()).or_insert_with(|| {
            self.order.push(warning.to_owned());
            Vec::new()
        });
        names.push(name.to_owned());
    }

    fn into_lines(self) -> Vec<String> {
        const SHOWN: usize = 3;
        self.order
            .into_iter()
            .map(|w| {
                let names = &self.names[&w];
                match names.as_slice() {
                    [one] => format!("FilterDeployment {one}: {w}"),
                    many if many.len() <= SHOWN => {
                        format!("FilterDeployments {}: {w}", many.join(", "))
                    }
                    many => format!(
                        "FilterDeployments {} and {} more: {w}",
                        many[..SHOWN].join(", "),
                        many.len() - SHOWN
                    ),
                }
            })
            .collect()
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, DeployError> {
    serde_norway::to_value(v).map_err(|e| DeployError::Serialize(e.to_string()))
}

/// Renders a stream of documents. Pure apart from `resolver` (which may read the local store).
///
/// ```
/// use cargo_wasme::deploy::{render::{render, RenderOptions}, resolve::DigestOnly, yaml};
/// let hex = "a".repeat(64);
/// let input = format!(
///     "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata:\n  name: add-header\n\
///      spec:\n  filter:\n    image: ghcr.io/acme/add-header@sha256:{hex}\n"
/// );
/// // DigestOnly reads no module, so the configuration check is skipped here.
/// let options = RenderOptions { skip_config_check: true };
/// let rendered = render(yaml::parse_stream("-", &input).unwrap(), &DigestOnly, &options).unwrap();
/// let out = rendered.to_yaml_stream().unwrap();
/// assert!(out.contains("kind: WasmPlugin"));
/// assert!(out.contains(&format!("sha256: {hex}")));
/// ```
///
/// Each distinct image (and pull options) is resolved once, however many documents name it;
/// unless `options` says otherwise, every configuration is checked against its filter
/// ([`check_manifests`]) before anything is returned.
pub fn render(
    docs: Vec<Document>,
    resolver: &dyn ImageResolver,
    options: &RenderOptions,
) -> Result<Rendered, DeployError> {
    let resolver = Memo::new(resolver);
    let mut out = Rendered::default();
    let mut warnings = Warnings::default();
    let mut passed = Default::default();
    let mut patches: Vec<(String, WorkloadPatch)> = Vec::new();
    for doc in docs {
        if !is_filter_deployment(&doc.value) {
            out.documents.push(OutputDocument::Verbatim(doc.text));
            continue;
        }
        let fd = parse_filter_deployment(&doc)?;
        let name = fd.metadata.name.clone().unwrap_or_default();
        let in_document = |e: DeployError| DeployError::InvalidDocument {
            source_name: doc.source.clone(),
            index: doc.index,
            reason: format!("FilterDeployment {name}: {e}"),
        };
        let (generated, image) = generate_resolved(&fd, &resolver).map_err(in_document)?;
        if !options.skip_config_check {
            let values = generated
                .manifests
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| DeployError::Serialize(e.to_string()))?;
            if let Err(e) = check_manifests_once(&values, &image, &mut passed) {
                // A schema violation is shown at its value in the file.
                let located = super::config_check::locate_rejection(&e, &doc, &name);
                return Err(located.unwrap_or_else(|| in_document(e)));
            }
        }
        for w in &generated.warnings {
            warnings.add(&name, w);
        }
        for m in &generated.manifests {
            let value = to_value(m)?;
            if let Manifest::Resource(_) = m
                && merge_into_existing(&mut out.documents, &value)
            {
                continue;
            }
            out.documents.push(OutputDocument::Value(value));
        }
        if let Some(p) = generated.workload_patch {
            patches.push((name, p));
        }
    }
    // Patch the workloads the stream carries; where none is selected, hand the patch back.
    for (name, patch) in patches {
        let mut matched = false;
        for doc in &mut out.documents {
            let value = match doc {
                OutputDocument::Verbatim(text) => match serde_norway::from_str::<Value>(text) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
                OutputDocument::Value(v) => v.clone(),
            };
            if patch.selects(&value) {
                let mut value = value;
                patch.apply_to(&mut value);
                *doc = OutputDocument::Value(value);
                matched = true;
            }
        }
        if !matched {
            warnings.add(
                &name,
                &format!(
                    "the selected {}s are not in the input, so their pods do not get the \
                     node-cache annotations the EnvoyFilter form needs; `cargo wasme render --kustomize DIR` writes \
                     them as a kustomize component to list under `components:`",
                    patch.kind.as_str()
                ),
            );
            out.unapplied_patches.push(patch);
        }
    }
    out.warnings = warnings.into_lines();
    Ok(out)
}

/// The node cache's resources are shared by every EnvoyFilter-form FilterDeployment: when a
/// resource of the same kind, namespace and name was already generated, a ConfigMap's `data`
/// entries are merged into it and anything else is dropped as a duplicate. Returns whether
/// `value` was absorbed.
fn merge_into_existing(documents: &mut [OutputDocument], value: &Value) -> bool {
    let key = |v: &Value| {
        let meta = v.get("metadata");
        (
            v.get("kind").cloned(),
            meta.and_then(|m| m.get("namespace")).cloned(),
            meta.and_then(|m| m.get("name")).cloned(),
        )
    };
    let wanted = key(value);
    for doc in documents.iter_mut() {
        let OutputDocument::Value(existing) = doc else {
            continue;
        };
        if key(existing) != wanted {
            continue;
        }
        if let (Some(Value::Mapping(into)), Some(Value::Mapping(from))) =
            (existing.get_mut("data"), value.get("data"))
        {
            for (k, v) in from {
                into.insert(k.clone(), v.clone());
            }
        }
        return true;
    }
    false
}

/// Renders a KRM `ResourceList` (kustomize/kpt function convention): `items` are rendered,
/// `functionConfig` is kept, warnings go to `results`.
pub fn render_resource_list(
    list: &Value,
    resolver: &dyn ImageResolver,
    options: &RenderOptions,
) -> Result<Value, DeployError> {
    let invalid = |reason: &str| DeployError::InvalidDocument {
        source_name: "ResourceList".into(),
        index: 1,
        reason: reason.to_owned(),
    };
    if !is_resource_list(list) {
        return Err(invalid(
            "expected apiVersion config.kubernetes.io/v1, kind ResourceList",
        ));
    }
    // Strict like every other input: a misspelled `itmes:` must not render nothing, silently.
    if let Value::Mapping(map) = list {
        const FIELDS: [&str; 5] = ["apiVersion", "kind", "items", "functionConfig", "results"];
        if let Some(key) = map
            .keys()
            .map(|k| k.as_str().unwrap_or_default())
            .find(|k| !FIELDS.contains(k))
        {
            return Err(invalid(&format!(
                "unknown field `{key}` in the ResourceList, expected one of {}",
                FIELDS.join(", ")
            )));
        }
    }
    let items = match list.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items.clone(),
        Some(_) => return Err(invalid("items must be a list")),
    };
    let mut docs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if !matches!(item, Value::Mapping(_)) {
            return Err(DeployError::InvalidDocument {
                source_name: "ResourceList".into(),
                index: i + 1,
                reason: "every item must be a resource (a mapping)".into(),
            });
        }
        docs.push(Document {
            source: "ResourceList.items".into(),
            index: i + 1,
            line: 0,
            text: to_yaml(&item)?,
            value: item,
        });
    }
    let rendered = render(docs, resolver, options)?;
    let mut out = serde_norway::Mapping::new();
    out.insert("apiVersion".into(), RESOURCE_LIST.api_version.into());
    out.insert("kind".into(), RESOURCE_LIST.kind.into());
    out.insert("items".into(), Value::Sequence(rendered.values()?));
    if let Some(fc) = list.get("functionConfig") {
        out.insert("functionConfig".into(), fc.clone());
    }
    if !rendered.warnings.is_empty() {
        let results = rendered
            .warnings
            .iter()
            .map(|w| result_entry(w, "warning"))
            .collect();
        out.insert("results".into(), Value::Sequence(results));
    }
    Ok(Value::Mapping(out))
}

fn result_entry(message: &str, severity: &str) -> Value {
    let mut m = serde_norway::Mapping::new();
    m.insert("message".into(), message.into());
    m.insert("severity".into(), severity.into());
    Value::Mapping(m)
}

/// The `ResourceList` a KRM function returns when it fails: the input items unchanged and one
/// `error` result (kustomize and kpt show it and stop).
pub fn resource_list_error(list: &Value, error: &DeployError) -> Value {
    let mut out = serde_norway::Mapping::new();
    out.insert("apiVersion".into(), RESOURCE_LIST.api_version.into());
    out.insert("kind".into(), RESOURCE_LIST.kind.into());
    out.insert(
        "items".into(),
        list.get("items")
            .cloned()
            .unwrap_or(Value::Sequence(Vec::new())),
    );
    out.insert(
        "results".into(),
        Value::Sequence(vec![result_entry(&error.to_string(), "error")]),
    );
    Value::Mapping(out)
}

/// Whether a document is a KRM `ResourceList`.
pub fn is_resource_list(doc: &Value) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some(RESOURCE_LIST.kind)
        && doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a == RESOURCE_LIST.api_version || a == RESOURCE_LIST_V1ALPHA1)
}
