//! `cargo-wasme`: the library behind the `cargo wasme` subcommand.
//!
//! One home per concept:
//!
//! * [`reference`](mod@reference) — image references and content [`reference::Digest`]s, parsed and validated
//!   once.
//! * [`image`] — the image formats: manifests, configs, layers, [`image::build`] and
//!   [`image::decode`].
//! * [`store`] — the local OCI image-layout store.
//! * [`shell`] — every line printed for people (status, warnings, errors) and for scripts
//!   (results, `--message-format json`), in cargo's style.
//! * [`registry`] — the registry client, its credentials and progress output.
//! * [`sign`] — keys, Sigstore bundles, attestations (provenance, SBOM) as OCI referrers, and
//!   the fail-closed verification gate.
//! * [`deploy`] — pure rendering of Istio/Envoy manifests; I/O only behind
//!   [`deploy::resolve::ImageResolver`].
//! * [`build`] — the build pipeline's packaging stage ([`build::build_image`]: the harness's
//!   module stage → image → store); [`module_info`], [`init`], [`run`], [`scenario`] (with its harness [`scenario::bridge`]) —
//!   checking, scaffolding and testing filters; [`fuzz`] and [`bench`] — finding a filter's
//!   bugs (with [`wasme_harness::fuzz`]) and its costs.
//!
//! Imports between these modules go one way: `reference` ← `image` ← `store` ← `registry`, and
//! `deploy` uses only `reference`.
#![deny(missing_docs)]

pub mod bench;
pub mod build;
pub mod deploy;
pub mod fuzz;
pub mod image;
pub mod init;
pub mod module_info;
pub mod reference;
pub mod registry;
pub mod run;
pub mod scenario;
pub mod shell;
pub mod sign;
pub mod store;
