//! Signing and attesting an image where it is: in the local store (the referrer goes into
//! the store's layout, and `push` carries it) or on a registry (pushed as an OCI 1.1
//! referrer, with the tag-schema index where the registry has no referrers API).
//!
//! Signing is idempotent: the same key and statement give the same bundle bytes (RFC 6979
//! signatures, no timestamp), so signing a digest twice adds no second entry anywhere.

use super::SignError;
use super::bundle::Bundle;
use super::dsse::{IN_TOTO_PAYLOAD, Statement};
use super::keys::KeyPair;
use crate::image::Descriptor;
use crate::reference::Digest;
use crate::registry::Registry;
use crate::store::Store;
use crate::store::referrers::{Referrer, ReferrerManifest};
use std::collections::BTreeMap;

/// The annotation naming an unsigned attestation's predicate type (as BuildKit writes it).
pub const ANNOTATION_IN_TOTO_PREDICATE: &str = "in-toto.io/predicate-type";

/// What was signed or attested.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The image's manifest digest (the statement's subject).
    pub digest: Digest,
    /// The referrer manifest's digest.
    pub referrer: Digest,
    /// `false` when the same referrer was already there.
    pub new: bool,
}

/// The referrer carrying `statement` about `subject`: a Sigstore bundle when `key` is given,
/// else the bare statement (`application/vnd.in-toto+json`, unsigned: listed by `inspect`,
/// never accepted by verification).
pub fn referrer(
    subject: Descriptor,
    statement: &Statement,
    key: Option<&KeyPair>,
) -> Result<Referrer, SignError> {
    match key {
        Some(key) => Ok(Bundle::sign(key, statement)?.referrer(subject, &statement.predicate_type)),
        None => {
            let content = statement.to_bytes();
            let annotations = BTreeMap::from([(
                ANNOTATION_IN_TOTO_PREDICATE.to_string(),
                statement.predicate_type.clone(),
            )]);
            let subject_digest = subject.digest.clone();
            let manifest = ReferrerManifest::new(subject, IN_TOTO_PAYLOAD, &content, annotations);
            let bytes = manifest.to_bytes();
            Referrer::check(&Digest::of(&bytes), bytes, content, &subject_digest)
                .map_err(SignError::Bundle)
        }
    }
}

/// Attaches `statement(digest)` to the store image `reference`, signed by `key` if given.
pub fn attest_store(
    store: &Store,
    reference: &str,
    key: Option<&KeyPair>,
    statement: impl FnOnce(&Digest) -> Statement,
) -> Result<Attached, SignError> {
    let image = store.resolve(reference)?;
    let subject = Descriptor::of(&image.manifest_media_type, &image.manifest_bytes);
    let statement = statement(&image.manifest_digest);
    let referrer = referrer(subject, &statement, key)?;
    let new = store.add_referrer(&referrer)?;
    Ok(Attached {
        digest: image.manifest_digest,
        referrer: referrer.digest,
        new,
    })
}

/// Signs the store image `reference` (`cosign sign`'s statement).
pub fn sign_store(store: &Store, reference: &str, key: &KeyPair) -> Result<Attached, SignError> {
    attest_store(store, reference, Some(key), Statement::cosign_sign)
}

/// Signs the registry image `reference`: the manifest is read (bounded, digest-checked), the
/// bundle pushed as a referrer of its digest.
pub async fn sign_registry(
    registry: &Registry,
    reference: &str,
    key: &KeyPair,
) -> Result<Attached, SignError> {
    let subject = registry.manifest_descriptor(reference).await?;
    let statement = Statement::cosign_sign(&subject.digest);
    let digest = subject.digest.clone();
    let referrer = referrer(subject, &statement, Some(key))?;
    let new = registry.push_referrer(reference, &referrer).await?;
    Ok(Attached {
        digest,
        referrer: referrer.digest,
        new,
    })
}
