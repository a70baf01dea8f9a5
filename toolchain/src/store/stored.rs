//! What the store hands out: a whole image ([`StoredImage`], module decoded) and the summary
//! `images` lists without reading layers ([`ImageSummary`]).

use crate::image::{Format, Manifest};
use crate::reference::{self, Digest};

/// An image in the local store, with its module and metadata.
#[derive(Debug, Clone)]
pub struct StoredImage {
    /// The normalised reference it was found under (`docker.io/library/x:1`, `reg/x@sha256:…`).
    pub reference: String,
    /// The manifest digest, what Istio's WasmPlugin `sha256` field pins.
    pub manifest_digest: Digest,
    /// The manifest's media type.
    pub manifest_media_type: String,
    /// The image layout.
    pub format: Format,
    /// Lowercase hex sha256 of the module (what `http(s)://` WasmPlugin URLs pin).
    pub wasm_sha256: String,
    /// Root context ids.
    pub root_ids: Vec<String>,
    /// proxy-wasm ABI versions.
    pub abi_versions: Vec<String>,
    /// Bytes of the manifest plus every blob it names.
    pub size: u64,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// The config blob bytes.
    pub config_bytes: Vec<u8>,
    pub(super) wasm: Vec<u8>,
}

impl StoredImage {
    /// The module bytes.
    pub fn wasm(&self) -> &[u8] {
        &self.wasm
    }

    /// Takes the module bytes.
    pub fn into_wasm(self) -> Vec<u8> {
        self.wasm
    }

    /// The short reference (`x:1` for `docker.io/library/x:1`).
    pub fn short_reference(&self) -> String {
        reference::parse(&self.reference)
            .map(|r| reference::familiar(&r))
            .unwrap_or_else(|_| self.reference.clone())
    }
}

/// What `images` and `tag` show about an image: read from the index entry, the manifest and
/// the config, never from the layers, so listing 10,000 images does not inflate 10,000
/// layers (and a gzip bomb already in a store costs nothing to list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// The normalised reference.
    pub reference: String,
    /// The manifest digest.
    pub manifest_digest: Digest,
    /// The manifest's media type.
    pub manifest_media_type: String,
    /// The image layout.
    pub format: Format,
    /// Lowercase hex sha256 of the module.
    pub wasm_sha256: String,
    /// The module's size in bytes.
    pub module_size: u64,
    /// Root context ids.
    pub root_ids: Vec<String>,
    /// proxy-wasm ABI versions.
    pub abi_versions: Vec<String>,
    /// Bytes of the manifest plus every blob it names.
    pub size: u64,
}

impl ImageSummary {
    /// The short reference (`x:1` for `docker.io/library/x:1`).
    pub fn short_reference(&self) -> String {
        reference::parse(&self.reference)
            .map(|r| reference::familiar(&r))
            .unwrap_or_else(|_| self.reference.clone())
    }
}

impl StoredImage {
    /// The summary `images` shows.
    pub fn summary(&self) -> ImageSummary {
        ImageSummary {
            reference: self.reference.clone(),
            manifest_digest: self.manifest_digest.clone(),
            manifest_media_type: self.manifest_media_type.clone(),
            format: self.format,
            wasm_sha256: self.wasm_sha256.clone(),
            module_size: self.wasm.len() as u64,
            root_ids: self.root_ids.clone(),
            abi_versions: self.abi_versions.clone(),
            size: self.size,
        }
    }
}
