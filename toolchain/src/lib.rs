//! `cargo-wasme`: the library behind the `cargo wasme` subcommand. The binary
//! (`src/main.rs`, `src/cli.rs`, `src/commands/`) only parses arguments (clap structs, shared
//! flag groups in `commands/args.rs` and `commands/deploy/`) and calls these modules, which do
//! the work and print its results through [`shell`]: each command group's orchestration lives
//! beside the concept it is about (`store::report`, `registry::actions`, `sign::actions`,
//! `deploy::request` + `deploy::emit`, `init::interactive`, [`run::run_request`],
//! [`scenario::suite`], [`fuzz::fuzz`], [`bench::bench`], [`build::package_file`]).
//!
//! One home per concept:
//!
//! * [`reference`](mod@reference) — image references and content [`reference::Digest`]s, parsed
//!   and validated once.
//! * [`image`] — the image formats: manifests, configs, layers, [`image::build`] and
//!   [`image::decode`].
//! * [`store`] — the local OCI image-layout store; [`store::report`] — what the store
//!   commands (`images`, `tag`, `rmi`, `inspect`, `export`) print.
//! * [`shell`] — every line printed for people (status, warnings, errors, [`shell::chain`]) and
//!   for scripts (results, `--message-format json`, whose objects `doc/message-format.schema.json`
//!   describes), in cargo's style.
//! * [`registry`] — the registry client, its credentials and progress output, and
//!   [`registry::actions`] (`push`, `login`, `logout`);
//!   [`cache_daemon`] — the node cache (`cargo wasme cache`) that reads images from registries.
//! * [`sign`] — keys, Sigstore bundles, attestations (provenance, SBOM) as OCI referrers, and
//!   the fail-closed verification gate; [`sign::actions`] — `key generate`, `sign`, `verify`,
//!   `sbom`, the gated `pull`, `build`'s attestations and `inspect`'s referrer report.
//! * [`deploy`] — pure rendering of Istio, Envoy Gateway, Higress and Envoy manifests; I/O
//!   only behind [`deploy::resolve::ImageResolver`] (`store_resolver`), in [`deploy::emit`]
//!   (printing, kustomize components) and [`deploy::kubectl`] (`--apply`);
//!   [`deploy::request`] turns `deploy`'s flags into a checked `FilterDeployment`.
//! * [`build`] — the build pipeline's packaging stage ([`build::build_image`]: `wasme-build`'s
//!   module stage → image → store; [`build::build_crate`] for commands that use a crate without
//!   storing it); [`module_info`] — what a module is.
//! * [`module_arg`] — the module a command names (`[IMAGE|PATH|-p PKG]`, `--scenario`),
//!   resolved once for `run`, `test`, `fuzz` and `bench` ([`module_arg::target`]: with its
//!   plugin settings).
//! * [`init`], [`run`], [`scenario`] (with its harness [`scenario::bridge`] and the file runner
//!   [`scenario::suite`]) — scaffolding and testing filters; [`fuzz`] and [`mod@bench`] — finding a
//!   filter's bugs (with [`wasme_harness::fuzz`]) and its costs.
//!
//! Imports between these modules go one way (`python3 .ci/check-imports toolchain/src`, and
//! the folders `registry`, `scenario`, `commands` on their own): `reference` ← `image` ←
//! `store` ← `registry` ← `build` ← `sign` ← `deploy` ← `cache_daemon`; `scenario` uses
//! `store`, `deploy::yaml` (its input limits) and, in `suite`, `build`; `module_arg` uses
//! `build`, `store`, `sign` (the gate) and `scenario`; `run`, `fuzz` and `bench` use
//! `module_arg` and `scenario`.
#![deny(missing_docs)]

pub mod bench;
pub mod build;
pub mod cache_daemon;
pub mod config_schema;
pub mod deploy;
pub mod fuzz;
pub mod image;
pub mod init;
pub mod module_arg;
pub mod module_info;
pub mod reference;
pub mod registry;
pub mod run;
pub mod scenario;
pub mod shell;
pub mod sign;
pub mod store;
