//! The module under test and how the plugin is configured: `module`, `config`/`vm_config`,
//! `failure_policy` and `startup`.

use super::shape::{Expecting, StrOrMap};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;

/// Where the module under test comes from: a `.wasm` path, or one of `{path}`,
/// `{crate, package}`, `{image}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(from = "StrOrMap<ModulePath, ModuleForm>")]
#[schemars(with = "StrOrMap<ModulePath, ModuleForm>")]
pub enum ModuleSource {
    /// A `.wasm` file (relative to the scenario file).
    Path(PathBuf),
    /// A filter crate, built for wasm32-wasip1 before the scenario runs.
    Crate {
        /// The crate's directory (relative to the scenario file).
        dir: PathBuf,
        /// The package, when `dir` is a workspace.
        package: Option<String>,
    },
    /// An image reference in the local store.
    Image(String),
}

impl From<StrOrMap<ModulePath, ModuleForm>> for ModuleSource {
    fn from(v: StrOrMap<ModulePath, ModuleForm>) -> Self {
        match v {
            StrOrMap::Str(ModulePath(p)) => ModuleSource::Path(p),
            StrOrMap::Map(ModuleForm(m)) => m,
        }
    }
}

/// `module: f.wasm`, the shorthand for `module: {path: f.wasm}`.
#[derive(Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(extend("minLength" = 1))]
struct ModulePath(PathBuf);

impl TryFrom<String> for ModulePath {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            return Err("module path is empty");
        }
        Ok(ModulePath(s.into()))
    }
}

/// The mapping form of `module`, checked to name exactly one source.
#[derive(Deserialize, JsonSchema)]
#[serde(try_from = "ModuleFields")]
#[schemars(with = "ModuleFields")]
struct ModuleForm(ModuleSource);

impl Expecting for ModuleForm {
    const EXPECTING: &'static str = "a .wasm path, or a mapping with `path`, `crate` or `image`";
}

/// One of {path}, {crate, package}, {image}.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ModuleFields {
    /// A `.wasm` file, relative to the scenario file.
    #[serde(default)]
    path: Option<PathBuf>,
    /// A filter crate directory to build, relative to the scenario file.
    #[serde(default, rename = "crate")]
    krate: Option<PathBuf>,
    /// The package to build when `crate` is a workspace.
    #[serde(default)]
    package: Option<String>,
    /// An image reference in the local store.
    #[serde(default)]
    image: Option<String>,
}

impl TryFrom<ModuleFields> for ModuleForm {
    type Error = &'static str;
    fn try_from(f: ModuleFields) -> Result<Self, Self::Error> {
        let source = match (f.path, f.krate, f.image) {
            (Some(p), None, None) if f.package.is_none() => ModuleSource::Path(p),
            (None, Some(dir), None) => ModuleSource::Crate {
                dir,
                package: f.package,
            },
            (None, None, Some(i)) if f.package.is_none() => ModuleSource::Image(i),
            (None, None, None) => return Err("give one of `path`, `crate` or `image`"),
            _ => {
                return Err(
                    "give exactly one of `path`, `crate` or `image` (`package` only with `crate`)",
                );
            }
        };
        Ok(ModuleForm(source))
    }
}

/// A plugin or VM configuration. A string is passed as is; any other value is passed as JSON.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(from = "serde_json::Value")]
pub struct Config(pub String);

impl From<serde_json::Value> for Config {
    fn from(value: serde_json::Value) -> Self {
        Config(match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
    }
}

/// What happens to traffic once the VM has failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicyName {
    /// Every stream gets a 503 local reply (Envoy's default).
    FailClosed,
    /// Envoy's `failure_policy: FAIL_OPEN` (Istio's `failStrategy: FAIL_OPEN` since 1.25): the
    /// stream whose callback failed the VM still fails closed; later streams skip the plugin.
    FailOpen,
    /// The deprecated `fail_open: true` (Istio before 1.25): every stream skips the failed
    /// plugin, the one whose callback failed it included.
    LegacyFailOpen,
    /// A fresh VM is created for later streams.
    FailReload,
}

/// Expect start-up to fail.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartupExpectation {
    /// `true`: on_vm_start or on_configure must fail (default `true` when `startup` is given).
    #[serde(default = "yes")]
    pub fails: bool,
    /// Substrings that must appear in the module's logs during start-up.
    #[serde(default)]
    pub logs: Vec<String>,
}

pub(super) fn yes() -> bool {
    true
}
