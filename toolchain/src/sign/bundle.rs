//! The Sigstore bundle v0.3 (JSON, protobuf-specs' protojson form) and the OCI referrer
//! manifest that carries it, as `cosign sign`/`attest` v3 write them
//! (<https://github.com/sigstore/cosign/blob/main/specs/BUNDLE_SPEC.md>).
//!
//! A keyed bundle names its key by hint only (`verificationMaterial.publicKey.hint`) and has
//! no transparency-log entries. The keyless fields (`certificate`, `tlogEntries`,
//! `timestampVerificationData`) are here so such bundles parse; [`super::verify`] refuses
//! them until it can check a certificate chain and log inclusion.

use super::SignError;
use super::dsse::{Envelope, Statement};
use super::keys::KeyPair;
use crate::image::Descriptor;
use crate::store::referrers::{Referrer, ReferrerManifest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The bundle media type (and the referrer's `artifactType`).
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Referrer annotation: what the bundle holds (`dsse-envelope`).
pub const ANNOTATION_CONTENT: &str = "dev.sigstore.bundle.content";
/// Referrer annotation: the statement's predicate type.
pub const ANNOTATION_PREDICATE: &str = "dev.sigstore.bundle.predicateType";

/// `verificationMaterial.publicKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    /// base64 SHA-256 of the SPKI DER (cosign's hint).
    pub hint: String,
}

/// `verificationMaterial.certificate` (keyless: a Fulcio leaf certificate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// base64 of the DER certificate.
    pub raw_bytes: String,
}

/// What a verifier needs besides the envelope.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// The key hint (keyed signing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// The signing certificate (keyless; not verified by wasme yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    /// A certificate chain (bundle v0.1/v0.2 form; not used in v0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<serde_json::Value>,
    /// Transparency-log entries (keyless; empty for keyed bundles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<serde_json::Value>,
    /// RFC 3161 timestamps (keyless with Rekor v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

/// A Sigstore bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// [`BUNDLE_V03`].
    pub media_type: String,
    /// Key hint or certificate, log entries.
    pub verification_material: VerificationMaterial,
    /// The signed statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
    /// A signature over raw bytes (blobs; refused for images, as cosign v3 does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<serde_json::Value>,
}

impl Bundle {
    /// A keyed bundle: `statement` in a DSSE envelope signed by `key`.
    pub fn sign(key: &KeyPair, statement: &Statement) -> Result<Bundle, SignError> {
        Ok(Bundle {
            media_type: BUNDLE_V03.into(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyIdentifier {
                    hint: key.public().hint(),
                }),
                ..Default::default()
            },
            dsse_envelope: Some(Envelope::sign(key, statement)),
            message_signature: None,
        })
    }

    /// The bundle's JSON bytes (deterministic for the same key and statement: RFC 6979).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The referrer carrying this bundle about the manifest `subject` (its descriptor:
    /// media type, digest, size), annotated with the predicate type.
    pub fn referrer(&self, subject: Descriptor, predicate_type: &str) -> Referrer {
        let content = self.to_json();
        let annotations = BTreeMap::from([
            (ANNOTATION_CONTENT.to_string(), "dsse-envelope".to_string()),
            (ANNOTATION_PREDICATE.to_string(), predicate_type.to_string()),
        ]);
        let subject_digest = subject.digest.clone();
        let manifest = ReferrerManifest::new(subject, BUNDLE_V03, &content, annotations);
        let manifest_bytes = manifest.to_bytes();
        let digest = crate::reference::Digest::of(&manifest_bytes);
        // Built here from its own parts: the check cannot fail.
        Referrer::check(
            &digest,
            manifest_bytes.clone(),
            content.clone(),
            &subject_digest,
        )
        .unwrap_or(Referrer {
            digest,
            manifest_bytes,
            manifest,
            content,
        })
    }
}
