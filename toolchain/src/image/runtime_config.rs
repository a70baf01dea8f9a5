//! `runtime-config.json`: the metadata wasme and Istio's solo format keep beside a module.
//!
//! Written camelCase (`{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":[…]}}`);
//! the snake_case spelling of old wasme documents (`abi_version`, `root_ids`) is accepted when
//! reading. An image built from source carries a `build` block naming what made the module
//! (`{"profile":"release","rustc":"rustc 1.95.0 (…)","wasmOpt":"wasm-opt version 108"}`, with
//! `"none"` when wasm-opt did not run; `language` and `compiler` instead of `rustc` for C, C++
//! and AssemblyScript); it is omitted for a module packaged as it was, so
//! those images keep their digests.

use serde::{Deserialize, Serialize};

/// The runtime a module targets; always `envoy_proxy` for proxy-wasm filters.
pub const RUNTIME_TYPE: &str = "envoy_proxy";

/// The metadata stored with a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    /// The runtime type (`envoy_proxy`).
    #[serde(rename = "type", default = "default_type")]
    pub runtime_type: String,
    /// proxy-wasm ABI versions the module exports (`v0.2.1`, …).
    #[serde(alias = "abi_versions", alias = "abi_version", default)]
    pub abi_versions: Vec<String>,
    /// The filter configuration block.
    #[serde(default)]
    pub config: FilterConfig,
    /// What built the module, when wasme built it from source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
}

/// The `build` block: the tools that made the module, so two digests of one source can be
/// explained. A Rust build records `rustc`; a C, C++ or AssemblyScript build records its
/// `language` and `compiler` instead (so Rust images keep their bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// The profile.
    pub profile: String,
    /// The first line of `rustc -vV` (Rust builds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustc: Option<String>,
    /// The source language (`c`, `cpp`, `assemblyscript`; absent for Rust).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The compiler's version (`Debian clang version 14.0.6`, `assemblyscript 0.14.9, …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
    /// `wasm-opt --version`, or `none` when wasm-opt did not run.
    pub wasm_opt: String,
}

impl From<&wasme_build::BuildRecord> for BuildInfo {
    fn from(r: &wasme_build::BuildRecord) -> Self {
        let rust = r.language == wasme_build::Language::Rust;
        BuildInfo {
            profile: r.profile.clone(),
            rustc: rust.then(|| r.compiler.clone()),
            language: (!rust).then(|| r.language.as_str().to_string()),
            compiler: (!rust).then(|| r.compiler.clone()),
            wasm_opt: r.wasm_opt.clone().unwrap_or_else(|| "none".to_string()),
        }
    }
}

/// The `config` block of a runtime config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterConfig {
    /// The root context ids the module registers.
    #[serde(alias = "root_ids", default)]
    pub root_ids: Vec<String>,
}

fn default_type() -> String {
    RUNTIME_TYPE.to_string()
}

impl RuntimeConfig {
    /// A config for an `envoy_proxy` module.
    pub fn new(abi_versions: Vec<String>, root_ids: Vec<String>) -> Self {
        RuntimeConfig {
            runtime_type: RUNTIME_TYPE.to_string(),
            abi_versions,
            config: FilterConfig { root_ids },
            build: None,
        }
    }

    /// The same config with a `build` block (or none).
    pub fn with_build(mut self, build: Option<BuildInfo>) -> Self {
        self.build = build;
        self
    }

    /// The canonical JSON bytes (fixed field order, no white space).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain structs of strings cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_spellings() {
        let camel: RuntimeConfig = serde_json::from_str(
            r#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["a"]}}"#,
        )
        .unwrap();
        let snake: RuntimeConfig = serde_json::from_str(
            r#"{"type":"envoy_proxy","abi_version":["v0.2.1"],"config":{"root_ids":["a"]}}"#,
        )
        .unwrap();
        assert_eq!(camel, snake);
        assert_eq!(camel.config.root_ids, ["a"]);
        assert_eq!(
            String::from_utf8(camel.to_json()).unwrap(),
            r#"{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["a"]}}"#
        );
    }

    #[test]
    fn the_build_block_is_written_last_and_only_when_known() {
        let info = BuildInfo {
            profile: "release".into(),
            rustc: Some("rustc 1.95.0".into()),
            language: None,
            compiler: None,
            wasm_opt: "none".into(),
        };
        let rc = RuntimeConfig::new(vec!["v0.2.1".into()], vec!["a".into()])
            .with_build(Some(info.clone()));
        let json = String::from_utf8(rc.to_json()).unwrap();
        assert!(
            json.ends_with(
                r#""build":{"profile":"release","rustc":"rustc 1.95.0","wasmOpt":"none"}}"#
            ),
            "{json}"
        );
        let back: RuntimeConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.build, Some(info));
        let c = BuildInfo {
            profile: "release".into(),
            rustc: None,
            language: Some("c".into()),
            compiler: Some("Debian clang version 14.0.6".into()),
            wasm_opt: "wasm-opt version 108".into(),
        };
        let json = String::from_utf8(
            RuntimeConfig::new(vec![], vec![])
                .with_build(Some(c))
                .to_json(),
        )
        .unwrap();
        assert!(
            json.ends_with(
                r#""build":{"profile":"release","language":"c","compiler":"Debian clang version 14.0.6","wasmOpt":"wasm-opt version 108"}}"#
            ),
            "{json}"
        );
    }
}
