//! `wasme-harness`: a wasmtime host that emulates Envoy's proxy-wasm host.

pub mod build;
