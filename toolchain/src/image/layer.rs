//! The compat image's layer: a reproducible tar+gzip holding `plugin.wasm` (and
//! `runtime-config.json`), and reading a module back out of such a layer.
//!
//! Reproducible means the same input gives the same bytes on every machine: entries in a fixed
//! order, mode 0644, uid/gid 0, empty user and group names, one fixed mtime (0 or
//! `SOURCE_DATE_EPOCH`), gzip with mtime 0, no file name, level 9, always the pure-Rust
//! (miniz_oxide) backend.

use super::ImageError;
use flate2::Compression;
use std::io::{Read, Write};

/// The file name Istio's agent looks for in a compat layer.
pub const MODULE_ENTRY: &str = "plugin.wasm";
/// The metadata file stored beside the module.
pub const RUNTIME_CONFIG_ENTRY: &str = "runtime-config.json";
/// The largest module Istio's agent accepts (256 MiB); reading stops there.
pub const MAX_MODULE_SIZE: u64 = 256 * 1024 * 1024;

/// A layer: the uncompressed tar (for `rootfs.diff_ids`) and its gzip.
pub struct Layer {
    /// The uncompressed tar.
    pub tar: Vec<u8>,
    /// The gzip of `tar`.
    pub gzip: Vec<u8>,
}

static COMPRESSION_OBSERVER: std::sync::OnceLock<fn(u64, u64)> = std::sync::OnceLock::new();

/// Sets the process-wide observer of layer compression, called with (bytes compressed, total)
/// after each MiB; the first call wins (later ones return `false`). For progress bars.
pub fn observe_compression(observer: fn(u64, u64)) -> bool {
    COMPRESSION_OBSERVER.set(observer).is_ok()
}

/// Builds the layer with `plugin.wasm` and `runtime-config.json`, every entry stamped `mtime`.
pub fn build(module: &[u8], runtime_config: &[u8], mtime: u64) -> Result<Layer, ImageError> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [
        (MODULE_ENTRY, module),
        (RUNTIME_CONFIG_ENTRY, runtime_config),
    ] {
        let mut header = tar::Header::new_ustar();
        header
            .set_path(name)
            .map_err(|e| ImageError::Layer(e.to_string()))?;
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        header
            .set_username("")
            .map_err(|e| ImageError::Layer(e.to_string()))?;
        header
            .set_groupname("")
            .map_err(|e| ImageError::Layer(e.to_string()))?;
        header.set_cksum();
        builder
            .append(&header, data)
            .map_err(|e| ImageError::Layer(e.to_string()))?;
    }
    let tar = builder
        .into_inner()
        .map_err(|e| ImageError::Layer(e.to_string()))?;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::new(9));
    // In 1 MiB steps so a front end can show how far compression is (a minute for 40 MiB).
    let total = tar.len() as u64;
    let mut done = 0;
    for piece in tar.chunks(1024 * 1024) {
        encoder
            .write_all(piece)
            .map_err(|e| ImageError::Layer(e.to_string()))?;
        done += piece.len() as u64;
        if let Some(observer) = COMPRESSION_OBSERVER.get() {
            observer(done, total);
        }
    }
    let gzip = encoder
        .finish()
        .map_err(|e| ImageError::Layer(e.to_string()))?;
    Ok(Layer { tar, gzip })
}

/// What a compat layer holds.
#[derive(Debug)]
pub struct LayerContents {
    /// The module (`plugin.wasm`).
    pub module: Vec<u8>,
    /// `runtime-config.json`, when the layer has one.
    pub runtime_config: Option<Vec<u8>>,
}

/// Reads `plugin.wasm` (any directory) and `runtime-config.json` out of a tar+gzip layer.
pub fn extract(gzip: &[u8]) -> Result<LayerContents, ImageError> {
    if !gzip.starts_with(&[0x1f, 0x8b]) {
        return Err(ImageError::Layer(
            "the last layer is not gzip-compressed (Istio rejects uncompressed tar layers)".into(),
        ));
    }
    let decoder = flate2::read::GzDecoder::new(gzip);
    let mut archive = tar::Archive::new(decoder);
    let mut module = None;
    let mut runtime_config = None;
    let entries = archive
        .entries()
        .map_err(|e| ImageError::Layer(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| ImageError::Layer(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| ImageError::Layer(e.to_string()))?
            .into_owned();
        let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let slot = match base {
            MODULE_ENTRY => &mut module,
            RUNTIME_CONFIG_ENTRY => &mut runtime_config,
            _ => continue,
        };
        let mut data = Vec::new();
        entry
            .take(MAX_MODULE_SIZE + 1)
            .read_to_end(&mut data)
            .map_err(|e| ImageError::Layer(e.to_string()))?;
        if data.len() as u64 > MAX_MODULE_SIZE {
            return Err(ImageError::TooLarge);
        }
        *slot = Some(data);
    }
    let module = module
        .ok_or_else(|| ImageError::Layer(format!("the layer holds no `{MODULE_ENTRY}` entry")))?;
    Ok(LayerContents {
        module,
        runtime_config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_is_reproducible_and_round_trips() {
        let module = b"\0asm\x01\0\0\0".repeat(100);
        let a = build(&module, b"{}", 0).unwrap();
        let b = build(&module, b"{}", 0).unwrap();
        assert_eq!(a.gzip, b.gzip);
        let c = build(&module, b"{}", 1_700_000_000).unwrap();
        assert_ne!(a.gzip, c.gzip, "the mtime must reach the tar");
        let back = extract(&a.gzip).unwrap();
        assert_eq!(back.module, module);
        assert_eq!(back.runtime_config.as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn rejects_uncompressed_and_missing_module() {
        let layer = build(b"\0asm", b"{}", 0).unwrap();
        assert!(extract(&layer.tar).is_err());
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_path("other.txt").unwrap();
        header.set_size(1);
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&tar).unwrap();
        let err = extract(&enc.finish().unwrap()).unwrap_err();
        assert!(err.to_string().contains("plugin.wasm"), "{err}");
    }
}
