//! in-toto Statement v1 and the DSSE envelope that signs it.
//!
//! DSSE signs the pre-authentication encoding (PAE) of the payload, never the payload alone:
//! `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII decimal
//! (<https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>). Hand-written
//! because it is one line and no maintained crate provides DSSE on its own.

use crate::reference::Digest;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1 `_type`.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a plain signature (what `cosign sign` v3 writes).
pub const COSIGN_SIGN_V1: &str = "https://sigstore.dev/cosign/sign/v1";
/// SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// CycloneDX SBOM (the predicate is the BOM document).
pub const CYCLONEDX_BOM: &str = "https://cyclonedx.org/bom";

/// One statement subject: a name and its digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// A name (optional in the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Algorithm → lower-case hex.
    pub digest: BTreeMap<String, String>,
}

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_V1`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// What the statement is about.
    pub subject: Vec<Subject>,
    /// The predicate's type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

impl Statement {
    /// A statement about the manifest `digest` (its only subject) with `predicate`.
    pub fn about(digest: &Digest, predicate_type: &str, predicate: serde_json::Value) -> Self {
        Statement {
            type_: STATEMENT_V1.into(),
            subject: vec![Subject {
                name: None,
                digest: BTreeMap::from([("sha256".to_string(), digest.hex().to_string())]),
            }],
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// The statement `cosign sign` v3 writes for an image: subject = the manifest digest,
    /// predicate type [`COSIGN_SIGN_V1`], empty predicate.
    pub fn cosign_sign(digest: &Digest) -> Self {
        Statement::about(digest, COSIGN_SIGN_V1, serde_json::json!({}))
    }

    /// The statement's JSON bytes (what the envelope carries).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising these plain types cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Optional key id (left out, as sigstore-go does; must equal the hint when present).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// base64 (standard) of the ASN.1 DER ECDSA signature.
    pub sig: String,
}

/// A DSSE envelope (the JSON form the Sigstore bundle embeds; bytes are base64 standard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// base64 of the payload bytes.
    pub payload: String,
    /// The payload's type ([`IN_TOTO_PAYLOAD`]).
    pub payload_type: String,
    /// The signatures (wasme writes and accepts exactly one).
    pub signatures: Vec<Signature>,
}

/// The DSSE pre-authentication encoding of `body` with `payload_type`: what is signed.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

impl Envelope {
    /// Signs `statement` with `key` into an envelope.
    pub fn sign(key: &super::keys::KeyPair, statement: &Statement) -> Envelope {
        let body = statement.to_bytes();
        let signature = key.sign(&pae(IN_TOTO_PAYLOAD, &body));
        let b64 = base64::engine::general_purpose::STANDARD;
        Envelope {
            payload: b64.encode(&body),
            payload_type: IN_TOTO_PAYLOAD.into(),
            signatures: vec![Signature {
                keyid: String::new(),
                sig: b64.encode(signature),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // protocol.md's test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
