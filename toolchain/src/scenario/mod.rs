//! Declarative scenario files for `cargo wasme test`.
//!
//! A scenario names a module (a `.wasm` file, a filter crate to build, or an image in the local
//! store), configures a plugin instance in the `wasme-harness` host, and runs a sequence of
//! steps — HTTP requests, TCP connections, clock advances — checking expectations after each.
//!
//! * [`format`](mod@format) — the file format (serde types; the JSON schema is generated from them);
//! * [`parse`] — reading a file, with errors that point at file, line and field;
//! * [`exec`] — running a scenario against the harness;
//! * [`expect`] — checking expectations and describing failures as readable diffs;
//! * [`junit`] — JUnit XML reports for CI;
//! * [`discover`] — finding a crate's scenario files;
//! * [`suite`] — running a set of files as `cargo wasme test` does (each crate built once).
//!
//! The module depends on the harness (through `bridge`, below), the store (images named as
//! modules) and, in `suite`, the build pipeline ([`crate::build`]); the commands call into it.
//!
//! ```no_run
//! use cargo_wasme::scenario;
//! let loaded = scenario::parse::load("filters/add-header/scenarios/basic.yaml")?;
//! let report = scenario::exec::run(&loaded, &scenario::exec::Options::default());
//! assert!(report.passed(), "{}", report.render());
//! # Ok::<(), scenario::parse::ScenarioError>(())
//! ```

#![deny(missing_docs)]

/// The bridge to the `wasme-harness` host (module loading, plugin start-up, exchanges): the
/// scenario module's only outward dependency besides `wasme_harness` itself, imported here
/// once so that moving it is a one-line change.
pub mod bridge;

pub mod discover;
pub mod exec;
pub mod expect;
pub mod format;
pub mod junit;
pub mod parse;
pub mod suite;

/// The JSON schema of scenario files (for editors), as shipped in
/// `toolchain/schemas/scenario.schema.json`.
///
/// ```
/// let schema = cargo_wasme::scenario::json_schema();
/// assert_eq!(schema["title"], "cargo wasme test scenario");
/// assert_eq!(schema["required"], serde_json::json!(["module"]));
/// ```
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<format::Scenario>();
    schema.to_value()
}
