//! OCI 1.1 referrers (signatures, attestations) kept in the store's image layout, and the
//! referrer manifest type the registry side shares.
//!
//! A referrer is an ordinary OCI image manifest with a `subject` (the image it is about) and
//! an `artifactType`; its manifest and blobs live in `blobs/sha256/` like any other content.
//! Which referrers the store holds is recorded in `referrers.json` next to `index.json` (an
//! OCI image index whose entries carry the `dev.wasme.referrer.subject` annotation), so
//! `index.json` keeps listing only images and tools that read the layout see images as
//! before. A referrer stays as long as its subject does: `gc` drops the others.

use super::layout::{blob_path, io_err, write_atomic};
use super::{Store, StoreError};
use crate::image::{Descriptor, OCI_INDEX, OCI_MANIFEST};
use crate::reference::Digest;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The empty config blob's media type (OCI 1.1 artifacts).
pub const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
/// The empty config blob: `{}`.
pub const EMPTY_JSON: &[u8] = b"{}";
/// The annotation of a `referrers.json` entry naming its subject.
const SUBJECT: &str = "dev.wasme.referrer.subject";
/// The file listing the store's referrers.
const FILE: &str = "referrers.json";
/// The largest referrer blob accepted (16 MiB: an SBOM of a large dependency tree).
pub const MAX_REFERRER_BLOB: u64 = 16 * 1024 * 1024;

/// A descriptor with an artifact type (referrers-API and tag-schema index entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerDescriptor {
    /// Media type of the content.
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations (sorted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index of referrers (the referrers API's answer, the tag-schema index, the
/// store's `referrers.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerIndex {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_INDEX`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The referrer manifests.
    #[serde(default)]
    pub manifests: Vec<ReferrerDescriptor>,
}

impl Default for ReferrerIndex {
    fn default() -> Self {
        ReferrerIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.into()),
            manifests: Vec::new(),
        }
    }
}

/// A referrer manifest: an OCI image manifest with `subject` and `artifactType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_MANIFEST`].
    pub media_type: String,
    /// What kind of artifact this is (a Sigstore bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config (the empty blob).
    pub config: Descriptor,
    /// The content (one blob: the bundle).
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations (sorted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ReferrerManifest {
    /// A referrer of `subject` carrying one blob `content` of `artifact_type` (both the
    /// manifest's `artifactType` and the layer's media type, as cosign writes bundles).
    pub fn new(
        subject: Descriptor,
        artifact_type: &str,
        content: &[u8],
        annotations: BTreeMap<String, String>,
    ) -> ReferrerManifest {
        ReferrerManifest {
            schema_version: 2,
            media_type: OCI_MANIFEST.into(),
            artifact_type: Some(artifact_type.into()),
            config: Descriptor::of(EMPTY_CONFIG, EMPTY_JSON),
            layers: vec![Descriptor::of(artifact_type, content)],
            subject: Some(subject),
            annotations,
        }
    }

    /// The manifest's bytes (what its digest is computed over).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The artifact type: `artifactType`, else the config's media type (OCI 1.1).
    pub fn kind(&self) -> &str {
        self.artifact_type
            .as_deref()
            .unwrap_or(&self.config.media_type)
    }

    /// Its index entry: descriptor of `bytes` with the artifact type and annotations.
    pub fn descriptor(&self, bytes: &[u8]) -> ReferrerDescriptor {
        ReferrerDescriptor {
            media_type: self.media_type.clone(),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            artifact_type: Some(self.kind().to_string()),
            annotations: self.annotations.clone(),
        }
    }
}

/// A referrer with its content, every digest checked.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// The referrer manifest's digest.
    pub digest: Digest,
    /// The manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// The parsed manifest.
    pub manifest: ReferrerManifest,
    /// The first layer's bytes (the bundle).
    pub content: Vec<u8>,
}

impl Referrer {
    /// Checks `manifest_bytes` (digest `digest`) and `content` (its first layer) and parses
    /// the manifest: the digests must match and the manifest must name `subject`.
    pub fn check(
        digest: &Digest,
        manifest_bytes: Vec<u8>,
        content: Vec<u8>,
        subject: &Digest,
    ) -> Result<Referrer, String> {
        let actual = Digest::of(&manifest_bytes);
        if &actual != digest {
            return Err(format!(
                "referrer manifest {digest} holds content with digest {actual}"
            ));
        }
        let manifest: ReferrerManifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| format!("referrer {digest} is not an image manifest: {e}"))?;
        match &manifest.subject {
            Some(s) if &s.digest == subject => {}
            Some(s) => {
                return Err(format!(
                    "referrer {digest} is about {} (listed for {subject})",
                    s.digest
                ));
            }
            None => return Err(format!("referrer {digest} has no subject")),
        }
        let layer = manifest
            .layers
            .first()
            .ok_or_else(|| format!("referrer {digest} has no content layer"))?;
        let actual = Digest::of(&content);
        if actual != layer.digest {
            return Err(format!(
                "the content of referrer {digest} does not match its digest (expected {}, got \
                 {actual})",
                layer.digest
            ));
        }
        Ok(Referrer {
            digest: digest.clone(),
            manifest_bytes,
            manifest,
            content,
        })
    }

    /// The blobs its manifest names, by digest (the config is the empty JSON).
    pub fn blobs(&self) -> BTreeMap<Digest, Vec<u8>> {
        let mut blobs = BTreeMap::new();
        blobs.insert(self.manifest.config.digest.clone(), EMPTY_JSON.to_vec());
        if let Some(layer) = self.manifest.layers.first() {
            blobs.insert(layer.digest.clone(), self.content.clone());
        }
        blobs
    }
}

/// `referrers.json`'s subject of an entry.
fn subject_of(entry: &ReferrerDescriptor) -> Option<Digest> {
    entry.annotations.get(SUBJECT).and_then(|s| s.parse().ok())
}

impl Store {
    fn read_referrers(&self) -> Result<ReferrerIndex, StoreError> {
        let path = self.root.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::Corrupt(format!("{} is not a valid index ({e})", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ReferrerIndex::default()),
            Err(e) => Err(io_err("read", &path, e)),
        }
    }

    fn write_referrers(&self, index: &ReferrerIndex) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(index).unwrap_or_default();
        write_atomic(&self.root.join(FILE), &bytes)
    }

    /// Stores `referrer` (about the manifest `subject`, which must be in the store); `false`
    /// when the store already had it (signing twice adds nothing).
    pub fn add_referrer(&self, referrer: &Referrer) -> Result<bool, StoreError> {
        let subject = referrer
            .manifest
            .subject
            .as_ref()
            .map(|s| s.digest.clone())
            .ok_or_else(|| StoreError::Corrupt("a referrer without a subject".into()))?;
        let _lock = self.lock(true)?;
        if !self
            .read_index()?
            .manifests
            .iter()
            .any(|e| e.digest == subject)
        {
            return Err(StoreError::Corrupt(format!(
                "the store has no image with manifest {subject} for the referrer to attach to"
            )));
        }
        let mut index = self.read_referrers()?;
        if index.manifests.iter().any(|e| e.digest == referrer.digest) {
            return Ok(false);
        }
        for (d, data) in referrer.blobs() {
            self.put_blob(&d, &data)?;
        }
        self.put_blob(&referrer.digest, &referrer.manifest_bytes)?;
        let mut entry = referrer.manifest.descriptor(&referrer.manifest_bytes);
        entry
            .annotations
            .insert(SUBJECT.to_string(), subject.to_string());
        index.manifests.push(entry);
        self.write_referrers(&index)?;
        Ok(true)
    }

    /// The referrers of the manifest `subject` (all of them, or those of `artifact_type`),
    /// each read back and checked. A damaged referrer is an error, never skipped silently.
    pub fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Referrer>, StoreError> {
        let index = {
            let _lock = self.lock(false)?;
            self.read_referrers()?
        };
        let mut out = Vec::new();
        for entry in &index.manifests {
            if subject_of(entry).as_ref() != Some(subject)
                || artifact_type.is_some_and(|t| entry.artifact_type.as_deref() != Some(t))
            {
                continue;
            }
            let manifest = self.read_blob(&entry.digest)?;
            let parsed: ReferrerManifest = serde_json::from_slice(&manifest).map_err(|e| {
                StoreError::Corrupt(format!("referrer {} does not parse: {e}", entry.digest))
            })?;
            let layer = parsed.layers.first().ok_or_else(|| {
                StoreError::Corrupt(format!("referrer {} has no content", entry.digest))
            })?;
            let content = self.read_blob(&layer.digest)?;
            out.push(
                Referrer::check(&entry.digest, manifest, content, subject)
                    .map_err(StoreError::Corrupt)?,
            );
        }
        Ok(out)
    }

    /// For `gc`: drops the entries whose subject is no longer in `kept`, and adds the blobs
    /// of the remaining referrers to `kept`. Called with the store lock held.
    pub(super) fn keep_referrers(&self, kept: &mut BTreeSet<Digest>) -> Result<(), StoreError> {
        let mut index = self.read_referrers()?;
        let before = index.manifests.len();
        index
            .manifests
            .retain(|e| subject_of(e).is_some_and(|s| kept.contains(&s)));
        if index.manifests.len() != before {
            self.write_referrers(&index)?;
        }
        for entry in &index.manifests {
            kept.insert(entry.digest.clone());
            let manifest = std::fs::read(blob_path(&self.root, &entry.digest))
                .ok()
                .and_then(|b| serde_json::from_slice::<ReferrerManifest>(&b).ok());
            if let Some(m) = manifest {
                kept.insert(m.config.digest.clone());
                kept.extend(m.layers.iter().map(|l| l.digest.clone()));
            }
        }
        Ok(())
    }
}
