//! Descriptors and manifests (OCI and Docker schema2 share one shape), media types and
//! annotation keys.
//!
//! Manifests are written with our own serde types rather than `oci-spec`'s because those keep
//! annotations in a `HashMap`, whose order (and so the manifest digest) would change from run
//! to run.

use super::ImageError;
use crate::reference::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type (never written: one manifest per tag).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// OCI tar+gzip layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker tar+gzip layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Solo's config (and first layer) media type.
pub const SOLO_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
/// Solo's module layer.
pub const SOLO_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// CNCF Wasm artifact config.
pub const CNCF_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// CNCF Wasm artifact layer.
pub const CNCF_LAYER: &str = "application/wasm";
/// wasm-to-oci config.
pub const LEGACY_CONFIG: &str = "application/vnd.wasm.config.v1+json";
/// wasm-to-oci layer.
pub const LEGACY_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// Every manifest media type `pull` asks for.
pub const ACCEPTED_MANIFESTS: &[&str] = &[OCI_MANIFEST, DOCKER_MANIFEST];

/// Annotation: comma-joined ABI versions.
pub const ANNOTATION_ABI: &str = "module.wasm.runtime/abi_version";
/// Annotation: the runtime type.
pub const ANNOTATION_TYPE: &str = "module.wasm.runtime/type";
/// Annotation: the compat variant marker.
pub const ANNOTATION_VARIANT: &str = "module.wasm.image/variant";
/// Annotation: comma-joined root ids (wasme's own, for formats without a runtime config).
pub const ANNOTATION_ROOT_IDS: &str = "io.wasme.root-ids";
/// Annotation: a layer's file name.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Annotations (sorted, so serialisation is stable).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The descriptor of `data` with `media_type`.
    pub fn of(media_type: &str, data: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::of(data),
            size: data.len() as u64,
            annotations: BTreeMap::new(),
        }
    }
}

/// An image manifest (OCI or Docker schema2; both share this shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (CNCF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Annotations (sorted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// Parses manifest bytes, refusing indexes and manifest lists with a clear error.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ImageError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ImageError::Manifest(e.to_string()))?;
        let media_type = value.get("mediaType").and_then(|m| m.as_str());
        if matches!(media_type, Some(OCI_INDEX | DOCKER_MANIFEST_LIST))
            || value.get("manifests").is_some()
        {
            return Err(ImageError::Index(
                media_type.unwrap_or(OCI_INDEX).to_string(),
            ));
        }
        serde_json::from_value(value).map_err(|e| ImageError::Manifest(e.to_string()))
    }

    /// The manifest's media type (OCI when the manifest does not say).
    pub fn media_type(&self) -> &str {
        self.media_type.as_deref().unwrap_or(OCI_MANIFEST)
    }

    /// Every blob the manifest names (config first), deduplicated.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        let mut out: Vec<&Descriptor> = Vec::new();
        for d in std::iter::once(&self.config).chain(&self.layers) {
            if !out.iter().any(|o| o.digest == d.digest) {
                out.push(d);
            }
        }
        out
    }
}
