//! Argument groups several commands share: how a crate is compiled ([`CargoFlags`]) and which
//! module a command works on with its plugin settings ([`TargetArgs`]).

use cargo_wasme::build::BuildOptions;
use cargo_wasme::module_arg::{self, PluginArgs, Target};
use cargo_wasme::shell;
use std::path::PathBuf;

/// How a filter crate is compiled: the cargo flags `build`, `test` and `run` share.
#[derive(Debug, Clone, clap::Args)]
pub struct CargoFlags {
    /// The cargo profile. `release` (the default) gets the size settings (opt-level "z", LTO,
    /// one codegen unit, panic=abort, stripped); any other profile is used as written.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The release profile (the default; accepted for cargo's habit).
    #[arg(long, conflicts_with = "profile")]
    pub release: bool,
    /// Skip wasm-opt.
    #[arg(long)]
    pub no_opt: bool,
    /// Keep the `name` section (function names in traps and profilers).
    #[arg(long)]
    pub debug_names: bool,
    /// Cargo's target directory [default: cargo's, which honours CARGO_TARGET_DIR].
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Passed to cargo.
    #[arg(long)]
    pub locked: bool,
    /// Passed to cargo.
    #[arg(long)]
    pub offline: bool,
    /// Passed to cargo.
    #[arg(long)]
    pub frozen: bool,
    /// Passed to cargo (space or comma separated).
    #[arg(short = 'F', long)]
    pub features: Vec<String>,
    /// Passed to cargo.
    #[arg(long)]
    pub all_features: bool,
    /// Passed to cargo.
    #[arg(long)]
    pub no_default_features: bool,
}

impl CargoFlags {
    /// The pipeline options for the crate at `path` (package `package`).
    pub fn options(&self, path: Option<PathBuf>, package: Option<String>) -> BuildOptions {
        BuildOptions {
            path,
            package,
            profile: self.profile.clone(),
            target_dir: self.target_dir.clone(),
            features: self.features.clone(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            locked: self.locked,
            offline: self.offline,
            frozen: self.frozen,
            optimize: !self.no_opt,
            debug_names: self.debug_names,
            cargo_args: shell::cargo_output_flags(),
            ..BuildOptions::default()
        }
    }
}

/// Which module, and how its plugin starts: the arguments `fuzz` and `bench` share.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// A `.wasm` file, a filter crate directory, or an image in the local store [default: the
    /// crate in the current directory, or the scenario's module].
    #[arg(value_name = "IMAGE|PATH")]
    pub module: Option<String>,
    /// The workspace package to build.
    #[arg(short = 'p', long, value_name = "PKG", conflicts_with = "module")]
    pub package: Option<String>,
    /// A scenario file: its module (when none is given), root id, configuration, clusters,
    /// properties and environment (and, for `fuzz`, its invariants; for `bench`, its
    /// requests).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// The root id [default: the scenario's, else the image's first].
    #[arg(long)]
    pub root_id: Option<String>,
    /// A plugin configuration; repeat it to fuzz several variants [default: the scenario's].
    #[arg(long = "config", value_name = "TEXT")]
    pub configs: Vec<String>,
    /// A cluster the filter may call (the fuzzer answers its callouts); repeatable.
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,
    /// How a crate is compiled.
    #[command(flatten)]
    pub cargo: CargoFlags,
}

impl TargetArgs {
    /// Resolves `[IMAGE|PATH|-p PKG]` and `--scenario` ([`module_arg::target`]).
    pub fn resolve(&self) -> anyhow::Result<Target> {
        let plugin = PluginArgs {
            root_id: self.root_id.clone(),
            configs: self.configs.clone(),
            clusters: self.clusters.clone(),
        };
        let build = self.cargo.options(None, None);
        let (module, package) = (self.module.clone(), self.package.clone());
        Ok(module_arg::target(
            module,
            package,
            self.scenario.as_deref(),
            &plugin,
            &build,
        )?)
    }
}
