//! The module a command works on, as its command line names it: `[IMAGE|PATH|-p PKG]` (and
//! `--scenario FILE`), resolved once here for `run`, `test`, `fuzz` and `bench`.
//!
//! * a filter crate (a directory or its `Cargo.toml`, `-p PKG` in the current workspace, or
//!   nothing: the crate in the current directory) is built through the one pipeline
//!   ([`build_crate`]), never stored, and the command uses those exact bytes;
//! * an existing file is read as it is;
//! * anything else names an image in the local store (a reference or a unique digest prefix);
//!   the store is only read, never created.
//!
//! Each case says on stderr which module bytes the command uses (`Using module sha256:…`).
//!
//! ```no_run
//! use cargo_wasme::build::BuildOptions;
//! use cargo_wasme::module_arg::{ModuleArg, resolve};
//! let arg = ModuleArg { module: Some("filters/add-header".into()), ..ModuleArg::default() };
//! let resolved = resolve(&arg, &BuildOptions::default())?;
//! println!("{} bytes, root ids {:?}", resolved.wasm.len(), resolved.root_ids);
//! # Ok::<(), cargo_wasme::module_arg::ModuleArgError>(())
//! ```

use crate::build::{BuildImageError, BuildOptions, build_crate};
use crate::reference::Digest;
use crate::scenario::format::ModuleSource;
use crate::scenario::parse::LoadedScenario;
use crate::shell;
use crate::store::{Store, StoreError, StoredImage};
use std::path::{Path, PathBuf};

/// Why the named module could not be found, built or read.
#[derive(Debug, thiserror::Error)]
pub enum ModuleArgError {
    /// The crate did not build.
    #[error(transparent)]
    Build(#[from] BuildImageError),
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The argument is neither a file, a crate nor an image in the local store.
    #[error(
        "{arg:?} is not a .wasm file or crate directory, and no image of that name is in the local store: {reason}"
    )]
    NotFound {
        /// What was given.
        arg: String,
        /// Why the store did not have it.
        reason: StoreError,
    },
    /// A verification key is configured and the image's signature did not verify (`sign`).
    #[error("{0}; nothing was run")]
    Unverified(#[from] crate::sign::SignError),
    /// The configuration schema the image or module carries cannot be read.
    #[error(transparent)]
    Schema(#[from] crate::config_schema::SchemaError),
    /// The `--scenario` file cannot be read or parsed.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::parse::ScenarioError),
}

/// What a command line names: `[IMAGE|PATH]`, `-p PKG`, and a scenario whose `module:` is
/// used when neither is given.
#[derive(Debug, Default, Clone)]
pub struct ModuleArg<'a> {
    /// A `.wasm` file, a crate directory (or its `Cargo.toml`) or an image in the local store.
    pub module: Option<String>,
    /// The workspace package to build (of the crate `module` names, else of the current
    /// directory's workspace).
    pub package: Option<String>,
    /// A loaded scenario: its `module:` (relative to its file) when `module` and `package` are
    /// not given.
    pub scenario: Option<&'a LoadedScenario>,
}

/// The module's bytes, where they came from, and what the image says about them.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The module's bytes (the file's, the stored image's, or the pipeline's output).
    pub wasm: Vec<u8>,
    /// Where they came from, as a scenario names it: an absolute path (a built crate's module
    /// file, or the file given) or the image reference.
    pub source: ModuleSource,
    /// The image's root ids (none for a plain file).
    pub root_ids: Vec<String>,
    /// For a crate: the tag it was built as and its root ids, as `cargo wasme build` would
    /// store it (the root id `deploy` would give it).
    pub built_image: Option<(String, Vec<String>)>,
    /// The configuration schema: the one the image records (built or stored), or the one a
    /// module file carries itself.
    pub config_schema: Option<crate::config_schema::ConfigSchema>,
}

impl Resolved {
    /// The module as `cargo wasme run`'s and the scenario runner's loaders take it: a file path
    /// or an image reference.
    pub fn load_arg(&self) -> String {
        match &self.source {
            ModuleSource::Path(p) => p.display().to_string(),
            ModuleSource::Image(r) => r.clone(),
            ModuleSource::Crate { dir, .. } => dir.display().to_string(),
        }
    }
}

/// Whether `arg` names a filter crate (a directory or a `Cargo.toml`) rather than a module.
pub fn is_crate(arg: &Path) -> bool {
    arg.is_dir() || arg.ends_with("Cargo.toml")
}

/// Resolves `arg`; crates are built with `build` (its `path` and `package` are replaced by the
/// crate's).
pub fn resolve(arg: &ModuleArg<'_>, build: &BuildOptions) -> Result<Resolved, ModuleArgError> {
    let crate_at = |path: Option<PathBuf>, package: Option<String>| {
        let built = build_crate(&BuildOptions {
            path,
            package,
            ..build.clone()
        })?;
        Ok::<_, ModuleArgError>(Resolved {
            source: ModuleSource::Path(built.module.path.clone()),
            root_ids: built.root_ids.clone(),
            built_image: Some((built.tag.clone(), built.root_ids.clone())),
            config_schema: built.config_schema,
            wasm: built.module.bytes,
        })
    };
    match (&arg.module, &arg.package, arg.scenario) {
        (Some(m), _, _) if is_crate(Path::new(m)) => crate_at(Some(m.into()), arg.package.clone()),
        (Some(m), _, _) => named(m),
        (None, Some(pkg), _) => crate_at(None, Some(pkg.clone())),
        (None, None, Some(loaded)) => match &loaded.scenario.module {
            ModuleSource::Crate { dir, package } => {
                crate_at(Some(loaded.base_dir().join(dir)), package.clone())
            }
            ModuleSource::Path(p) => file(&loaded.base_dir().join(p), false),
            ModuleSource::Image(r) => named(r),
        },
        (None, None, None) => crate_at(None, None),
    }
}

/// A module named by a file path or an image reference (a crate is not built here).
pub fn named(arg: &str) -> Result<Resolved, ModuleArgError> {
    let path = Path::new(arg);
    if path.is_file() {
        return file(path, true);
    }
    if path.extension().is_some_and(|e| e == "wasm") {
        return Err(ModuleArgError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let image = stored(arg).map_err(|reason| ModuleArgError::NotFound {
        arg: arg.to_string(),
        reason,
    })?;
    shell::status(
        "Using",
        format_args!(
            "module sha256:{} of image {} ({}), image root ids {}",
            image.wasm_sha256,
            image.manifest_digest,
            image.short_reference(),
            image.root_ids.join(",")
        ),
    );
    // The verification gate (`sign`): with a key configured, only a verified image runs.
    let policy = crate::sign::verify::configured_policy()?;
    if let Some(store) = Store::open_default_existing().map_err(crate::sign::SignError::from)?
        && let Some(g) = crate::sign::verify::gate_store(&store, &image.reference, &policy)?
    {
        shell::status(
            "Verified",
            format_args!(
                "{} {} signed by {} ({})",
                image.reference,
                g.digest,
                g.verified.key.source,
                g.verified.key.fingerprint()
            ),
        );
    }
    Ok(Resolved {
        wasm: image.wasm().to_vec(),
        source: ModuleSource::Image(image.reference.clone()),
        root_ids: image.root_ids.clone(),
        built_image: None,
        config_schema: crate::config_schema::of_image(image.format, &image.config_bytes)?,
    })
}

/// The image `arg` names in the local store (read-only: a missing store is a missing image).
fn stored(arg: &str) -> Result<StoredImage, StoreError> {
    match Store::open_default_existing()? {
        Some(store) => store.resolve_local(arg),
        None => Err(Store::absent(arg)?),
    }
}

fn file(path: &Path, say: bool) -> Result<Resolved, ModuleArgError> {
    let wasm = std::fs::read(path).map_err(|source| ModuleArgError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if say {
        shell::status(
            "Using",
            format_args!(
                "module sha256:{} from {}",
                Digest::of(&wasm).hex(),
                path.display()
            ),
        );
    }
    Ok(Resolved {
        config_schema: crate::config_schema::of_module(&wasm)?,
        wasm,
        source: ModuleSource::Path(path.canonicalize().unwrap_or_else(|_| path.to_path_buf())),
        root_ids: Vec::new(),
        built_image: None,
    })
}

/// The plugin settings `fuzz` and `bench` take on the command line, over a scenario's.
#[derive(Debug, Default, Clone)]
pub struct PluginArgs {
    /// `--root-id` [default: the scenario's, else the image's first].
    pub root_id: Option<String>,
    /// `--config`, repeatable: the configuration variants [default: the scenario's].
    pub configs: Vec<String>,
    /// `--cluster`, repeatable: clusters whose callouts stay pending (the fuzzer answers them).
    pub clusters: Vec<String>,
}

/// The plugin settings for `resolved`: the scenario's ([`plugin_setup`](crate::scenario::exec::plugin_setup)),
/// overridden by `args`, with the image's first root id when none is given; and the
/// configuration variants (at least one).
pub fn plugin(
    resolved: &Resolved,
    scenario: Option<&crate::scenario::format::Scenario>,
    args: &PluginArgs,
) -> (crate::scenario::bridge::PluginSetup, Vec<Option<Vec<u8>>>) {
    use crate::scenario::bridge::ScriptedAnswer;
    let mut setup = scenario
        .map(crate::scenario::exec::plugin_setup)
        .unwrap_or_default();
    if args.root_id.is_some() {
        setup.root_id = args.root_id.clone();
    }
    if setup.root_id.is_none() {
        setup.root_id = resolved.root_ids.first().cloned();
    }
    for c in &args.clusters {
        if !setup.clusters.iter().any(|(n, _)| n == c) {
            setup.clusters.push((c.clone(), ScriptedAnswer::Pending));
        }
    }
    let configs = if args.configs.is_empty() {
        vec![setup.config.clone()]
    } else {
        args.configs
            .iter()
            .map(|c| Some(c.clone().into_bytes()))
            .collect()
    };
    (setup, configs)
}

/// A module with its plugin settings: what `fuzz` and `bench` run.
pub struct Target {
    /// The module.
    pub module: Resolved,
    /// The plugin settings.
    pub setup: crate::scenario::bridge::PluginSetup,
    /// The configuration variants (at least one).
    pub configs: Vec<Option<Vec<u8>>>,
    /// The scenario, if one was given.
    pub scenario: Option<crate::scenario::format::Scenario>,
}

/// Resolves `[IMAGE|PATH|-p PKG]` and `--scenario FILE` ([`resolve`]), then the plugin
/// settings ([`plugin`]).
pub fn target(
    module: Option<String>,
    package: Option<String>,
    scenario: Option<&Path>,
    plugin_args: &PluginArgs,
    build: &BuildOptions,
) -> Result<Target, ModuleArgError> {
    let scenario = match scenario {
        Some(f) => Some(crate::scenario::parse::load(f)?),
        None => None,
    };
    let arg = ModuleArg {
        module,
        package,
        scenario: scenario.as_ref(),
    };
    let module = resolve(&arg, build)?;
    let scenario = scenario.map(|l| l.scenario);
    let (setup, configs) = plugin(&module, scenario.as_ref(), plugin_args);
    Ok(Target {
        module,
        setup,
        configs,
        scenario,
    })
}
