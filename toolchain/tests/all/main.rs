//! cargo-wasme's integration tests: one binary (as wasmtime's `tests/all`), so wasmtime and the
//! registry client are linked once; fixtures are shared through the support modules.

mod author_envoy;
mod author_init;
mod author_run;
mod author_schema;
mod author_support;
mod author_test;
mod build_cli;
mod build_pipeline;
mod cli_conventions;
mod deploy_cache;
mod deploy_cli;
mod deploy_examples;
mod deploy_generate;
mod deploy_render;
mod deploy_seed;
mod deploy_support;
mod deploy_verify;
mod fuzz_bench;
mod message_format;
mod other_sdks;
mod readme_examples;
mod registry_cli;
mod registry_origins;
mod registry_transfer;
mod reliability_registry;
mod scenario_vacuous;
mod sign_build;
mod sign_gates;
mod sign_registry;
mod sign_support;
mod store_cli;
mod support;
