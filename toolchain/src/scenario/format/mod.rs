//! The scenario file format: what a `cargo wasme test` YAML file may contain.
//!
//! Every type here derives `Deserialize` and `JsonSchema`, with `deny_unknown_fields`, so a
//! misspelt key is an error that names the file, line and field (see [`super::parse`]), and
//! the JSON schema shipped in `toolchain/schemas/scenario.schema.json` is generated from the
//! same types ([`super::json_schema`]). Values that need checking (durations, header names,
//! step shapes) are checked while deserializing (`try_from`), for the same reason. The few
//! shorthand forms serde's derives cannot express without losing the error's location
//! (`module: f.wasm`, `upstream: false`, `logs: ["text"]`) go through the generic shapes in
//! `shape.rs`, written by hand once.
//!
//! * [`Scenario`] — the file; [`ModuleSource`], [`Config`] and the plugin settings
//!   (`module.rs`);
//! * [`Step`] and its [`Action`]: [`Request`] and [`UpstreamResponse`], [`Connection`],
//!   `advance_clock` (`step.rs`);
//! * [`Cluster`] — scripted callout answers (`cluster.rs`);
//! * [`Expect`] and its parts (`expect.rs`);
//! * [`Headers`] (`headers.rs`);
//! * [`Invariant`] — rules every HTTP step keeps, shared with `cargo wasme fuzz`
//!   (`invariant.rs`).
//!
//! ```
//! use cargo_wasme::scenario::format::{Action, ModuleSource, Scenario};
//! let s: Scenario = serde_norway::from_str(
//!     "module: f.wasm\nsteps:\n  - request: {path: /a}\n    expect: {upstream: false}\n",
//! )?;
//! assert_eq!(s.module, ModuleSource::Path("f.wasm".into()));
//! assert!(matches!(&s.steps[0].action, Action::Http { request, .. } if request.path == "/a"));
//! assert!(s.steps[0].expect.upstream.as_ref().is_some_and(|u| u.absent));
//! # Ok::<(), serde_norway::Error>(())
//! ```

mod cluster;
mod expect;
mod headers;
mod invariant;
mod module;
mod shape;
mod step;

pub use cluster::{CalloutResponse, Cluster};
pub use expect::{
    ConnectionExpect, Expect, FailedExpect, GuestMemoryExpect, HttpCallExpect, LevelName,
    LocalReplyExpect, LogExpect, MessageExpect,
};
pub use headers::{Headers, header_name};
pub use invariant::Invariant;
pub use module::{Config, FailurePolicyName, ModuleSource, StartupExpectation};
pub use shape::Scalar;
pub use step::{
    Action, Chunk, Connection, DurationSpec, MAX_REPEAT, MIN_MEMORY_REPEAT, Request, Step,
    UpstreamResponse, parse_duration,
};

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One scenario file: a filter, how it is configured, and a sequence of steps with expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cargo wasme test scenario")]
pub struct Scenario {
    /// Name shown in reports (default: the file name).
    #[serde(default)]
    pub name: Option<String>,
    /// The module under test: a `.wasm` path, `{crate: DIR}` to build a filter crate, or
    /// `{image: REF}` for an image in the local store. Paths are relative to the scenario file.
    pub module: ModuleSource,
    /// The root id passed to the plugin (`root_id` in Envoy's configuration).
    #[serde(default)]
    pub root_id: Option<String>,
    /// The plugin name (appears in Envoy's log lines).
    #[serde(default)]
    pub plugin_name: Option<String>,
    /// The VM id (VMs with the same id share shared data and queues).
    #[serde(default)]
    pub vm_id: Option<String>,
    /// The plugin configuration: a string is passed as is; a mapping or list is passed as JSON.
    #[serde(default)]
    pub config: Option<Config>,
    /// The VM configuration, like `config`.
    #[serde(default)]
    pub vm_config: Option<Config>,
    /// Environment variables visible to the module through WASI.
    #[serde(default)]
    pub env: BTreeMap<String, Scalar>,
    /// Host properties by dotted path, e.g. `node.metadata.REGION: eu`; a segment containing
    /// dots goes in square brackets (`metadata.filter_metadata[envoy.filters.http.lua].k`).
    /// The connection properties (`source.address`, `source.port`, `destination.address`,
    /// `destination.port`, `connection.id`, `connection.mtls`,
    /// `connection.requested_server_name`, `connection.tls_version`) set every stream's
    /// connection, keeping the related ones consistent.
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
    /// Upstream clusters the filter may call, with scripted answers.
    #[serde(default, deserialize_with = "cluster::checked_clusters")]
    pub clusters: BTreeMap<String, Cluster>,
    /// What happens to traffic once the VM has failed: `fail_closed` (default), `fail_open`,
    /// `legacy_fail_open` or `fail_reload`.
    #[serde(default)]
    pub failure_policy: Option<FailurePolicyName>,
    /// The plugin configuration a worker thread configures the plugin with after start-up
    /// succeeded (Envoy configures the plugin again on every worker): when on_configure refuses
    /// it, the plugin has failed on that worker and every request meets `failure_policy`
    /// (fail-closed: a 503 local reply, details `wasm_fail_stream`). Like `config`.
    #[serde(default)]
    pub worker_config: Option<Config>,
    /// Expect start-up (on_vm_start / on_configure) to fail, e.g. for a bad configuration.
    #[serde(default)]
    pub startup: Option<StartupExpectation>,
    /// Rules every HTTP step (every repeat) must keep, as `cargo wasme fuzz --invariant`
    /// takes them: `upstream-has-header=NAME`, `upstream-lacks-header=NAME`,
    /// `client-has-header=NAME`, `no-5xx`, `no-local-reply`. `cargo wasme fuzz --scenario`
    /// checks them on every generated exchange too.
    #[serde(default)]
    pub invariants: Vec<Invariant>,
    /// The steps, run in order against one plugin instance.
    #[serde(default)]
    pub steps: Vec<Step>,
}
