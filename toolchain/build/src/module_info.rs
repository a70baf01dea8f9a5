//! What a Wasm module is: validity, proxy-wasm ABI, allocator, Wasm features used, imports and
//! exports — read with `wasmparser`.
//!
//! ```
//! use wasme_build::module_info::ModuleInfo;
//! let wasm = wat::parse_str(r#"(module (memory (export "memory") 1)
//!     (func (export "proxy_abi_version_0_2_1")) (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#).unwrap();
//! let info = ModuleInfo::parse(&wasm).unwrap();
//! assert_eq!(info.abi_versions, ["v0.2.1"]);
//! info.check_filter().unwrap();
//! ```

use serde::Serialize;
use wasmparser::{Payload, Validator, WasmFeatures};

/// Why a module cannot be used as a proxy-wasm filter.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The bytes are not a valid Wasm module.
    #[error("not a valid WebAssembly module: {0}")]
    Invalid(String),
    /// No `proxy_abi_version_*` export.
    #[error(
        "the module exports no proxy-wasm ABI marker (proxy_abi_version_0_2_1, _0_2_0 or _0_1_0): \
         is it a proxy-wasm filter? Build it with a proxy-wasm SDK (e.g. the `proxy-wasm` crate)"
    )]
    NoAbiMarker,
    /// No allocator export.
    #[error(
        "the module exports no allocator (proxy_on_memory_allocate or malloc), so the host cannot \
         pass it data: build it with a proxy-wasm SDK"
    )]
    NoAllocator,
}

/// An import or export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The import's module (empty for exports).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub module: String,
    /// The name.
    pub name: String,
    /// `func`, `memory`, `table`, `global` or `tag`.
    pub kind: &'static str,
}

/// Facts about a module.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleInfo {
    /// Size in bytes.
    pub size: u64,
    /// proxy-wasm ABI versions from the marker exports, newest first (`v0.2.1`, …).
    pub abi_versions: Vec<String>,
    /// Whether it exports `proxy_on_memory_allocate` or `malloc`.
    pub has_allocator: bool,
    /// Wasm proposals the module uses, by wasm-opt's names (`bulk-memory`, `sign-ext`, …).
    pub features: Vec<&'static str>,
    /// Imports.
    pub imports: Vec<Item>,
    /// Exports.
    pub exports: Vec<Item>,
}

const ABI_MARKERS: &[(&str, &str)] = &[
    ("proxy_abi_version_0_2_1", "v0.2.1"),
    ("proxy_abi_version_0_2_0", "v0.2.0"),
    ("proxy_abi_version_0_1_0", "v0.1.0"),
];

/// Proposals we detect: (wasm-opt name, wasmparser flag). A module uses a proposal when it fails
/// to validate with that proposal switched off.
const FEATURES: &[(&str, WasmFeatures)] = &[
    ("sign-ext", WasmFeatures::SIGN_EXTENSION),
    ("mutable-globals", WasmFeatures::MUTABLE_GLOBAL),
    (
        "nontrapping-float-to-int",
        WasmFeatures::SATURATING_FLOAT_TO_INT,
    ),
    ("bulk-memory", WasmFeatures::BULK_MEMORY),
    ("multivalue", WasmFeatures::MULTI_VALUE),
    ("reference-types", WasmFeatures::REFERENCE_TYPES),
    ("simd", WasmFeatures::SIMD),
    ("relaxed-simd", WasmFeatures::RELAXED_SIMD),
    ("threads", WasmFeatures::THREADS),
    ("tail-call", WasmFeatures::TAIL_CALL),
    ("exception-handling", WasmFeatures::EXCEPTIONS),
    ("multimemory", WasmFeatures::MULTI_MEMORY),
    ("memory64", WasmFeatures::MEMORY64),
    ("extended-const", WasmFeatures::EXTENDED_CONST),
];

fn kind_name(kind: wasmparser::ExternalKind) -> &'static str {
    use wasmparser::ExternalKind as K;
    match kind {
        K::Func | K::FuncExact => "func",
        K::Table => "table",
        K::Memory => "memory",
        K::Global => "global",
        K::Tag => "tag",
    }
}

fn type_ref_name(ty: &wasmparser::TypeRef) -> &'static str {
    use wasmparser::TypeRef as T;
    match ty {
        T::Func(_) | T::FuncExact(_) => "func",
        T::Table(_) => "table",
        T::Memory(_) => "memory",
        T::Global(_) => "global",
        T::Tag(_) => "tag",
    }
}

impl ModuleInfo {
    /// Validates `wasm` and reads its facts.
    pub fn parse(wasm: &[u8]) -> Result<ModuleInfo, ModuleError> {
        let all = WasmFeatures::all();
        Validator::new_with_features(all)
            .validate_all(wasm)
            .map_err(|e| ModuleError::Invalid(e.to_string()))?;
        let features = FEATURES
            .iter()
            .filter(|(_, flag)| {
                Validator::new_with_features(all.difference(*flag))
                    .validate_all(wasm)
                    .is_err()
            })
            .map(|(name, _)| *name)
            .collect();
        let mut imports = Vec::new();
        let mut exports = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.map_err(|e| ModuleError::Invalid(e.to_string()))? {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(|e| ModuleError::Invalid(e.to_string()))?;
                        imports.push(Item {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            kind: type_ref_name(&import.ty),
                        });
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(|e| ModuleError::Invalid(e.to_string()))?;
                        exports.push(Item {
                            module: String::new(),
                            name: export.name.to_string(),
                            kind: kind_name(export.kind),
                        });
                    }
                }
                _ => {}
            }
        }
        let exported = |n: &str| exports.iter().any(|e| e.name == n && e.kind == "func");
        let abi_versions = ABI_MARKERS
            .iter()
            .filter(|(marker, _)| exported(marker))
            .map(|(_, v)| v.to_string())
            .collect();
        let has_allocator = exported("proxy_on_memory_allocate") || exported("malloc");
        Ok(ModuleInfo {
            size: wasm.len() as u64,
            abi_versions,
            has_allocator,
            features,
            imports,
            exports,
        })
    }

    /// Checks the module is a usable proxy-wasm filter: an ABI marker and an allocator.
    pub fn check_filter(&self) -> Result<(), ModuleError> {
        if self.abi_versions.is_empty() {
            return Err(ModuleError::NoAbiMarker);
        }
        if !self.has_allocator {
            return Err(ModuleError::NoAllocator);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_features_and_markers() {
        let wasm = wat::parse_str(
            r#"(module (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (func (export "malloc") (param i32) (result i32) local.get 0 i32.extend8_s)
                (func (export "f") (memory.fill (i32.const 0) (i32.const 0) (i32.const 0)))
                (func (export "proxy_abi_version_0_2_0")))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&wasm).unwrap();
        assert_eq!(info.abi_versions, ["v0.2.0"]);
        assert!(info.features.contains(&"sign-ext"), "{:?}", info.features);
        assert!(
            info.features.contains(&"bulk-memory"),
            "{:?}",
            info.features
        );
        assert!(!info.features.contains(&"simd"));
        assert_eq!(info.imports[0].name, "proxy_log");
        info.check_filter().unwrap();
    }

    #[test]
    fn rejects_missing_marker_allocator_and_garbage() {
        let no_marker = wat::parse_str(r#"(module (func (export "malloc")))"#).unwrap();
        let info = ModuleInfo::parse(&no_marker).unwrap();
        assert!(matches!(info.check_filter(), Err(ModuleError::NoAbiMarker)));
        let no_alloc =
            wat::parse_str(r#"(module (func (export "proxy_abi_version_0_2_1")))"#).unwrap();
        let info = ModuleInfo::parse(&no_alloc).unwrap();
        assert!(matches!(info.check_filter(), Err(ModuleError::NoAllocator)));
        assert!(matches!(
            ModuleInfo::parse(b"\0asm\x01\0\0\0\x01"),
            Err(ModuleError::Invalid(_))
        ));
    }
}
