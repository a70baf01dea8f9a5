//! `wasme-sdk`: an ergonomic layer over the [`proxy_wasm`] crate for writing filters.

pub use proxy_wasm;
