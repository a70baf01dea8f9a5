//! Where a module carries its configuration's JSON Schema, and taking it out before the module
//! ships.
//!
//! Three carriers are read:
//! * the marker section [`MARKER`] that `wasme_sdk::export_config_schema!` writes in an
//!   ordinary build ([`SchemaSource::SdkBuild`]): the crate is built a second time by
//!   [`schema_module`] with the SDK's `schema-export` feature, in the `wasme-schema` profile (a
//!   `dev` profile in its own directory), and that module's export is run; the shipped module
//!   never contains the schema code (removing an export after linking leaves the code's data
//!   and function-table entries behind: 20 KB in add-header);
//! * the export [`EXPORT`] (`() -> i64`, the schema's address `<< 32 | length`) in the module
//!   itself (a module that exports it by hand): the module is kept as it was
//!   ([`SchemaSource::Export`]) and the export is removed from the module that goes on to
//!   wasm-opt;
//! * a custom section [`SECTION`] holding the raw JSON text, for modules from other languages
//!   (no code in the module).
//!
//! The stripping stage drops both custom sections. This crate does not run Wasm (the harness
//! depends on it); the toolchain runs the export.

use std::sync::Arc;

/// The export `wasme_sdk::export_config_schema!` writes.
pub const EXPORT: &str = "wasme_config_schema";

/// The custom section a module from another language may carry its schema in (raw JSON).
pub const SECTION: &str = "wasme.config_schema";

/// The one-byte custom section an ordinary build of `wasme_sdk::export_config_schema!` writes.
pub const MARKER: &str = "wasme.config_schema.export";

/// The cargo profile of the schema build ([`schema_module`]).
pub const PROFILE: &str = "wasme-schema";

/// Where the schema of a built module is to be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSource {
    /// The raw contents of the [`SECTION`] custom section.
    Section(Vec<u8>),
    /// The module as the compiler wrote it, still exporting [`EXPORT`]: run the export to get
    /// the schema. The module that ships has the export removed.
    Export(Arc<[u8]>),
    /// The crate uses `wasme_sdk::export_config_schema!`: [`schema_module`] builds the module
    /// whose export gives the schema.
    SdkBuild,
}

/// Finds the module's schema and returns the module to continue the build with: without the
/// [`EXPORT`] when it had one. A module with neither carrier is returned as it was.
pub fn take(module: Vec<u8>) -> Result<(Vec<u8>, Option<SchemaSource>), String> {
    let mut section = None;
    let mut exported = false;
    let mut marker = false;
    for payload in wasmparser::Parser::new(0).parse_all(&module) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::CustomSection(c) if c.name() == SECTION => {
                if section.is_some() {
                    return Err(format!("the module has two `{SECTION}` custom sections"));
                }
                section = Some(c.data().to_vec());
            }
            wasmparser::Payload::CustomSection(c) if c.name() == MARKER => marker = true,
            wasmparser::Payload::ExportSection(reader) => {
                for export in reader {
                    exported |= export.map_err(|e| e.to_string())?.name == EXPORT;
                }
            }
            _ => {}
        }
    }
    match (section, exported) {
        (Some(_), true) => Err(format!(
            "the module carries its configuration schema twice (the `{EXPORT}` export and the \
             `{SECTION}` custom section): keep one"
        )),
        (Some(_), false) | (None, true) if marker => Err(format!(
            "the module carries its configuration schema twice (`export_config_schema!` and a \
             `{SECTION}` section or `{EXPORT}` export of its own): keep one"
        )),
        (None, false) if marker => Ok((module, Some(SchemaSource::SdkBuild))),
        (Some(json), false) => Ok((module, Some(SchemaSource::Section(json)))),
        (None, true) => {
            let shipped = remove_export(&module, EXPORT)?;
            Ok((shipped, Some(SchemaSource::Export(module.into()))))
        }
        (None, false) => Ok((module, None)),
    }
}

/// Builds the module [`SchemaSource::SdkBuild`] asks for: the crate `options` names, in the
/// [`PROFILE`] profile (a `dev` profile: quick to build, run once) with the SDK's
/// `schema-export` feature, under the same target directory. Returns its path and bytes (not
/// optimised, never shipped; stripped of debug sections, which nothing reads).
pub fn schema_module(
    options: &crate::BuildOptions,
) -> Result<(std::path::PathBuf, Vec<u8>), crate::BuildError> {
    let filter = crate::cargo::locate(options)?;
    let sdk = crate::cargo::sdk_dependency(&filter)?;
    let mut schema = options.clone();
    schema.profile = Some(PROFILE.to_owned());
    schema.features.push(format!("{sdk}/schema-export"));
    schema.cargo_args.extend([
        "--config".to_owned(),
        format!("profile.{PROFILE}.inherits=\"dev\""),
        "--config".to_owned(),
        format!("profile.{PROFILE}.debug=false"),
        "--config".to_owned(),
        format!("profile.{PROFILE}.strip=true"),
    ]);
    let path = crate::cargo::build(&filter, &schema)?;
    match std::fs::read(&path) {
        Ok(bytes) => Ok((path, bytes)),
        Err(e) => Err(crate::BuildError::Io {
            path,
            message: e.to_string(),
        }),
    }
}

/// `module` without the export named `name` (every other byte kept). The export section is
/// spliced by hand: each kept entry's bytes are copied as they were, so every export kind
/// wasmparser reads survives (wasm-encoder's `ExportKind` has no exact-function kind).
pub fn remove_export(module: &[u8], name: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(module.len());
    let mut copied = 0;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let wasmparser::Payload::ExportSection(reader) = payload.map_err(|e| e.to_string())? else {
            continue;
        };
        let range = reader.range();
        let count = reader.count();
        let items: Vec<(usize, bool)> = reader
            .into_iter_with_offsets()
            .map(|r| r.map(|(offset, e)| (offset, e.name == name)))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        let mut kept = 0u32;
        for (i, (offset, removed)) in items.iter().enumerate() {
            let end = items.get(i + 1).map_or(range.end, |(o, _)| *o);
            if !removed {
                body.extend_from_slice(module.get(*offset..end).ok_or("bad export offsets")?);
                kept += 1;
            }
        }
        if kept == count {
            return Ok(module.to_vec());
        }
        // The section header (id 7, size) precedes the contents: find where it starts.
        let header_start = section_start(module, range.start)?;
        out.extend_from_slice(&module[copied..header_start]);
        let mut contents = Vec::new();
        leb128(&mut contents, kept);
        contents.extend_from_slice(&body);
        out.push(7);
        leb128(&mut out, contents.len() as u32);
        out.extend_from_slice(&contents);
        copied = range.end;
    }
    out.extend_from_slice(&module[copied..]);
    Ok(out)
}

/// The offset of the id byte of the section whose contents start at `contents`: sections are
/// walked from the header (id byte, LEB128 size, contents).
fn section_start(module: &[u8], contents: usize) -> Result<usize, String> {
    let mut at = 8;
    while at < module.len() {
        let start = at;
        at += 1;
        let mut size = 0usize;
        let mut shift = 0;
        loop {
            let byte = *module.get(at).ok_or("truncated section header")?;
            at += 1;
            size |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 || shift > 28 {
                break;
            }
        }
        if at == contents {
            return Ok(start);
        }
        at += size;
    }
    Err("the export section was not found".into())
}

/// Appends `value` as unsigned LEB128 (the Wasm binary format's integer encoding).
fn leb128(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports(module: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        for p in wasmparser::Parser::new(0).parse_all(module) {
            if let wasmparser::Payload::ExportSection(r) = p.unwrap() {
                names.extend(r.into_iter().map(|e| e.unwrap().name.to_string()));
            }
        }
        names
    }

    #[test]
    fn the_export_is_removed_and_everything_else_kept() {
        let module = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                 (func (export "proxy_abi_version_0_2_1"))
                 (func (export "wasme_config_schema") (result i64) i64.const 5)
                 (func (export "malloc") (param i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        let (shipped, source) = take(module.clone()).unwrap();
        assert_eq!(source, Some(SchemaSource::Export(module.clone().into())));
        assert_eq!(
            exports(&shipped),
            ["memory", "proxy_abi_version_0_2_1", "malloc"]
        );
        wasmparser::validate(&shipped).unwrap();
        // Nothing to remove: the same bytes.
        assert_eq!(remove_export(&shipped, EXPORT).unwrap(), shipped);
    }

    #[test]
    fn a_custom_section_is_read_and_two_carriers_refused() {
        let module = wat::parse_str(
            r#"(module (@custom "wasme.config_schema" "{\"type\":\"string\"}")
                 (func (export "proxy_abi_version_0_2_1")))"#,
        )
        .unwrap();
        let (same, source) = take(module.clone()).unwrap();
        assert_eq!(same, module);
        assert_eq!(
            source,
            Some(SchemaSource::Section(br#"{"type":"string"}"#.to_vec()))
        );
        let both = wat::parse_str(
            r#"(module (@custom "wasme.config_schema" "{}")
                 (func (export "wasme_config_schema") (result i64) i64.const 0))"#,
        )
        .unwrap();
        assert!(take(both).unwrap_err().contains("twice"));
        let none = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        assert_eq!(take(none.clone()).unwrap(), (none, None));
        let marked = wat::parse_str(
            r#"(module (@custom "wasme.config_schema.export" "\01") (func (export "f")))"#,
        )
        .unwrap();
        assert_eq!(
            take(marked.clone()).unwrap(),
            (marked, Some(SchemaSource::SdkBuild))
        );
    }
}
