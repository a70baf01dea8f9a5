//! The proxy-wasm ABI: versions and their detection, the enumerations, and the wire formats.
//!
//! Everything here is pure data and pure functions; nothing touches wasmtime. The values are
//! those of the proxy-wasm specification and of Envoy (see `proxy-wasm-host.md` §1–§3).

pub mod types;
pub mod wire;

pub use types::*;

/// A proxy-wasm ABI version, announced by the module's marker export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbiVersion {
    /// `proxy_abi_version_0_1_0`: headers callbacks without `end_of_stream`,
    /// `proxy_get_configuration`, `proxy_continue_request`/`_response`.
    V0_1_0,
    /// `proxy_abi_version_0_2_0`.
    V0_2_0,
    /// `proxy_abi_version_0_2_1`: adds `proxy_get_log_level`.
    V0_2_1,
}

impl AbiVersion {
    /// The marker export that announces this version.
    pub fn marker(self) -> &'static str {
        match self {
            AbiVersion::V0_1_0 => "proxy_abi_version_0_1_0",
            AbiVersion::V0_2_0 => "proxy_abi_version_0_2_0",
            AbiVersion::V0_2_1 => "proxy_abi_version_0_2_1",
        }
    }

    /// Detects the version from a module's export names. Several markers: the newest wins
    /// (Envoy checks 0.2.1, then 0.2.0, then 0.1.0). `None` when no known marker is exported;
    /// the vNEXT marker `proxy_abi_version_0_x_x` is not accepted, as in Envoy.
    pub fn detect<'a>(exports: impl IntoIterator<Item = &'a str>) -> Option<AbiVersion> {
        let mut found = None;
        for name in exports {
            let v = match name {
                "proxy_abi_version_0_1_0" => AbiVersion::V0_1_0,
                "proxy_abi_version_0_2_0" => AbiVersion::V0_2_0,
                "proxy_abi_version_0_2_1" => AbiVersion::V0_2_1,
                _ => continue,
            };
            found = Some(found.map_or(v, |f: AbiVersion| f.max(v)));
        }
        found
    }

    /// True for 0.2.0 and 0.2.1.
    pub fn is_v0_2(self) -> bool {
        self != AbiVersion::V0_1_0
    }
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AbiVersion::V0_1_0 => "0.1.0",
            AbiVersion::V0_2_0 => "0.2.0",
            AbiVersion::V0_2_1 => "0.2.1",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_markers_and_prefers_the_newest() {
        assert_eq!(
            AbiVersion::detect(["malloc", "proxy_abi_version_0_2_1"]),
            Some(AbiVersion::V0_2_1)
        );
        assert_eq!(
            AbiVersion::detect(["proxy_abi_version_0_1_0"]),
            Some(AbiVersion::V0_1_0)
        );
        assert_eq!(
            AbiVersion::detect(["proxy_abi_version_0_1_0", "proxy_abi_version_0_2_0"]),
            Some(AbiVersion::V0_2_0)
        );
        assert_eq!(AbiVersion::detect(["proxy_abi_version_0_x_x"]), None);
        assert_eq!(AbiVersion::detect([]), None);
    }
}
