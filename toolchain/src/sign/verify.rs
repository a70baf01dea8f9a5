//! Verification, fail closed: the acceptance rules for one bundle, the [`Policy`] (which keys
//! are trusted), and [`gate`] / [`gate_store`], the one check every command that runs, pulls,
//! caches or deploys a module goes through when a key is configured.
//!
//! A bundle is accepted only when all of these hold (reference doc §9):
//! * media type `application/vnd.dev.sigstore.bundle.v0.3+json`, a DSSE envelope (no
//!   `messageSignature`, which does not bind an image), no keyless material (a certificate
//!   or log entries wasme cannot check yet is refused, not ignored);
//! * exactly one signature, valid under one of the configured keys over the DSSE PAE (keys
//!   are tried by signature, never picked by the unauthenticated hint);
//! * `payloadType` in-toto, `_type` in-toto Statement v1 (v0.1 for attestations, which
//!   `cosign attest` still writes), a wanted `predicateType`;
//! * the first subject's `sha256` is exactly the manifest digest being verified.
//!
//! Referrers that are not bundles are ignored; a bundle that fails is reported, and the image
//! is refused unless another bundle passes.

use super::SignError;
use super::bundle::{BUNDLE_V03, Bundle};
use super::dsse::{self, IN_TOTO_PAYLOAD, Statement};
use super::keys::PublicKey;
use crate::reference::{self, Digest};
use crate::registry::{Registry, RegistryOptions};
use crate::store::Store;
use crate::store::referrers::Referrer;
use base64::Engine as _;
use std::path::{Path, PathBuf};

/// The predicate types that make an image signed.
pub const SIGN_PREDICATES: &[&str] = &[dsse::COSIGN_SIGN_V1];

/// The environment variable naming trusted public keys (a path list, `:`-separated on Unix).
pub const VERIFY_KEY_ENV: &str = "WASME_VERIFY_KEY";

/// A bundle that verified.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The manifest digest it is about.
    pub digest: Digest,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// The key that verified it.
    pub key: PublicKey,
    /// The statement.
    pub statement: Statement,
}

/// Checks one bundle (its JSON bytes) against `digest`, the wanted `predicate_types` and
/// `keys`; the error says what was found instead.
pub fn verify_bundle(
    json: &[u8],
    digest: &Digest,
    predicate_types: &[&str],
    keys: &[PublicKey],
) -> Result<Verified, String> {
    let bundle: Bundle =
        serde_json::from_slice(json).map_err(|e| format!("not a Sigstore bundle: {e}"))?;
    if bundle.media_type != BUNDLE_V03 {
        return Err(format!(
            "bundle media type `{}`, not {BUNDLE_V03}",
            bundle.media_type
        ));
    }
    let material = &bundle.verification_material;
    if material.certificate.is_some()
        || material.x509_certificate_chain.is_some()
        || !material.tlog_entries.is_empty()
    {
        return Err(
            "a keyless bundle (certificate / transparency-log entries), which wasme \
                    cannot verify yet"
                .into(),
        );
    }
    let envelope = bundle.dsse_envelope.as_ref().ok_or_else(|| {
        "the bundle holds no DSSE envelope (a messageSignature does not bind an image)".to_string()
    })?;
    if envelope.payload_type != IN_TOTO_PAYLOAD {
        return Err(format!(
            "payload type `{}`, not {IN_TOTO_PAYLOAD}",
            envelope.payload_type
        ));
    }
    let [signature] = envelope.signatures.as_slice() else {
        return Err(format!(
            "{} signatures in the envelope (exactly one accepted)",
            envelope.signatures.len()
        ));
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64
        .decode(&envelope.payload)
        .map_err(|e| format!("the payload is not base64: {e}"))?;
    let sig = b64
        .decode(&signature.sig)
        .map_err(|e| format!("the signature is not base64: {e}"))?;
    let hint = material
        .public_key
        .as_ref()
        .map(|k| k.hint.clone())
        .unwrap_or_default();
    if !signature.keyid.is_empty() && signature.keyid != hint {
        return Err("the signature's keyid differs from the bundle's key hint".into());
    }
    let pae = dsse::pae(&envelope.payload_type, &payload);
    let key = keys
        .iter()
        .find(|k| k.verifies(&pae, &sig))
        .ok_or_else(|| {
            let named = keys
                .iter()
                .find(|k| k.hint() == hint)
                .map(|k| {
                    format!(
                        " (its hint names {}, but the signature does not verify: tampered)",
                        k.source
                    )
                })
                .unwrap_or_default();
            format!(
                "signed by a key not given (key hint {}){named}",
                if hint.is_empty() { "none" } else { &hint }
            )
        })?;
    let statement: Statement = serde_json::from_slice(&payload)
        .map_err(|e| format!("the payload is not an in-toto statement: {e}"))?;
    let v01 = "https://in-toto.io/Statement/v0.1";
    let attestation = statement.predicate_type != dsse::COSIGN_SIGN_V1;
    if statement.type_ != dsse::STATEMENT_V1 && !(attestation && statement.type_ == v01) {
        return Err(format!("statement type `{}`", statement.type_));
    }
    if !predicate_types.contains(&statement.predicate_type.as_str()) {
        return Err(format!(
            "predicate type {} (wanted {})",
            statement.predicate_type,
            predicate_types.join(" or ")
        ));
    }
    let subject = statement
        .subject
        .first()
        .and_then(|s| s.digest.get("sha256"))
        .ok_or_else(|| "the statement has no sha256 subject".to_string())?;
    if subject != digest.hex() {
        return Err(format!(
            "its subject is sha256:{subject}, not {digest} (a signature of another image)"
        ));
    }
    Ok(Verified {
        digest: digest.clone(),
        predicate_type: statement.predicate_type.clone(),
        key: key.clone(),
        statement,
    })
}

/// What one referrer is, for `inspect` and for error messages.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The referrer manifest digest.
    pub referrer: Digest,
    /// Its artifact type.
    pub artifact_type: String,
    /// The predicate type its annotations announce (unverified).
    pub announced: Option<String>,
    /// The verdict: verified, or why not.
    pub verdict: Result<Verified, String>,
}

/// Checks every referrer against `keys` for `digest` (any predicate type in `wanted`).
pub fn check_referrers(
    digest: &Digest,
    referrers: &[Referrer],
    wanted: &[&str],
    keys: &[PublicKey],
) -> Vec<Checked> {
    referrers
        .iter()
        .map(|r| {
            let artifact_type = r.manifest.kind().to_string();
            let verdict = if artifact_type != BUNDLE_V03 {
                Err(format!("not a Sigstore bundle ({artifact_type})"))
            } else if keys.is_empty() {
                Err("no key given to verify it".into())
            } else {
                verify_bundle(&r.content, digest, wanted, keys)
            };
            Checked {
                referrer: r.digest.clone(),
                artifact_type,
                announced: r
                    .manifest
                    .annotations
                    .get(super::bundle::ANNOTATION_PREDICATE)
                    .cloned(),
                verdict,
            }
        })
        .collect()
}

/// The first signature that verifies (and its referrer), or an error naming everything that
/// was found.
pub fn require_signature(
    what: &str,
    digest: &Digest,
    referrers: &[Referrer],
    problems: &[String],
    keys: &[PublicKey],
) -> Result<(Verified, Referrer), SignError> {
    let checked = check_referrers(digest, referrers, SIGN_PREDICATES, keys);
    if let Some((v, r)) = checked
        .iter()
        .zip(referrers)
        .find_map(|(c, r)| c.verdict.as_ref().ok().map(|v| (v, r)))
    {
        return Ok((v.clone(), r.clone()));
    }
    let key_list = keys
        .iter()
        .map(|k| format!("{} ({})", k.source, k.fingerprint()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut found: Vec<String> = checked
        .iter()
        .filter(|c| {
            c.artifact_type == BUNDLE_V03
                && c.announced
                    .as_deref()
                    .is_none_or(|p| SIGN_PREDICATES.contains(&p))
        })
        .map(|c| {
            format!(
                "bundle {}: {}",
                c.referrer.short(),
                c.verdict.as_ref().err().cloned().unwrap_or_default()
            )
        })
        .collect();
    found.extend(problems.iter().cloned());
    let found = if found.is_empty() {
        "it has no signature (no Sigstore bundle refers to it)".to_string()
    } else {
        format!("found: {}", found.join("; "))
    };
    Err(SignError::Unverified(format!(
        "{what} ({digest}) is not signed by any of the keys given [{key_list}]: {found}"
    )))
}

/// The key files configured for this process (the CLI's global `--verify-key`).
static CONFIGURED: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();

/// Records the key files the command line gave, for [`configured_policy`] (first call wins).
pub fn configure_keys(files: Vec<PathBuf>) {
    let _ = CONFIGURED.set(files);
}

/// The gate's policy for this process: the keys given to [`configure_keys`], else
/// `WASME_VERIFY_KEY`'s; empty (no check) when neither.
pub fn configured_policy() -> Result<Policy, SignError> {
    Policy::from_args_or_env(CONFIGURED.get().map(Vec::as_slice).unwrap_or_default())
}

/// Which keys are trusted: verification is required when there is at least one.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The trusted public keys.
    pub keys: Vec<PublicKey>,
}

impl Policy {
    /// Whether a check is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys in `files`.
    pub fn from_files(files: &[PathBuf]) -> Result<Policy, SignError> {
        Ok(Policy {
            keys: files
                .iter()
                .map(|f| PublicKey::read(f))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The command line's `--verify-key` files, else `WASME_VERIFY_KEY` (a path list).
    pub fn from_args_or_env(files: &[PathBuf]) -> Result<Policy, SignError> {
        if !files.is_empty() {
            return Policy::from_files(files);
        }
        match std::env::var_os(VERIFY_KEY_ENV).filter(|v| !v.is_empty()) {
            Some(v) => Policy::from_files(&std::env::split_paths(&v).collect::<Vec<_>>()),
            None => Ok(Policy::default()),
        }
    }

    /// Keys as a document gives them (a FilterDeployment's `verify.keys`): each an inline
    /// SPKI PEM or a path, relative to `base` (the document's directory).
    pub fn from_specs(specs: &[String], base: &Path) -> Result<Policy, SignError> {
        let keys = specs
            .iter()
            .map(|s| {
                if s.contains("-----BEGIN") {
                    PublicKey::from_pem(s, "an inline key")
                } else {
                    PublicKey::read(&base.join(s))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy { keys })
    }
}

/// What [`gate`] verified: the digest to use from now on.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The verified manifest digest.
    pub digest: Digest,
    /// `registry/repository@sha256:…`: fetch, run and deploy this, never the tag again.
    pub pinned: String,
    /// The signature that verified.
    pub verified: Verified,
    /// The referrer that carried it (what `pull` keeps in the store with the image).
    pub referrer: Referrer,
}

/// `reference` pinned to `digest`.
fn pin(reference: &reference::Reference, digest: &Digest) -> String {
    format!(
        "{}/{}@{digest}",
        reference.registry(),
        reference.repository()
    )
}

/// The gate for a registry image: with no key configured, `Ok(None)` (nothing to check);
/// otherwise the tag is resolved once, the image's signatures are found (referrers API, else
/// the tag schema) and checked, and the verified digest is returned for the caller to use
/// instead of the tag. Fails closed: anything short of a verified signature is an error.
pub async fn gate(
    registry: &Registry,
    reference: &str,
    policy: &Policy,
) -> Result<Option<Gate>, SignError> {
    if policy.is_empty() {
        return Ok(None);
    }
    let parsed = reference::parse(reference).map_err(crate::registry::RegistryError::from)?;
    let found = registry.referrers(reference, None).await?;
    let (verified, referrer) = require_signature(
        &parsed.whole(),
        &found.digest,
        &found.referrers,
        &found.problems,
        &policy.keys,
    )?;
    Ok(Some(Gate {
        pinned: pin(&parsed, &found.digest),
        digest: found.digest,
        verified,
        referrer,
    }))
}

/// [`gate`] for synchronous callers (starts a small runtime; not from inside one).
pub fn gate_blocking(
    reference: &str,
    policy: &Policy,
    options: &RegistryOptions,
) -> Result<Option<Gate>, SignError> {
    if policy.is_empty() {
        return Ok(None);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| SignError::Io {
            action: "start the async runtime for",
            path: PathBuf::from(reference),
            source,
        })?;
    runtime.block_on(gate(&Registry::new(options.clone()), reference, policy))
}

/// The gate for an image in the local store (`run`/`test`/`deploy` of a stored image).
pub fn gate_store(
    store: &Store,
    reference: &str,
    policy: &Policy,
) -> Result<Option<Gate>, SignError> {
    if policy.is_empty() {
        return Ok(None);
    }
    let image = store.resolve(reference)?;
    let referrers = store.referrers(&image.manifest_digest, None)?;
    let (verified, referrer) = require_signature(
        &image.reference,
        &image.manifest_digest,
        &referrers,
        &[],
        &policy.keys,
    )?;
    let pinned = reference::parse(&image.reference)
        .map(|r| pin(&r, &image.manifest_digest))
        .unwrap_or_else(|_| image.manifest_digest.to_string());
    Ok(Some(Gate {
        digest: image.manifest_digest,
        pinned,
        verified,
        referrer,
    }))
}

/// Prints a gate's verdict on stderr (a status line) when it verified something.
pub fn report_gate(what: &str, gate: &Option<Gate>) {
    if let Some(g) = gate {
        crate::shell::status(
            "Verified",
            format!(
                "{what} {} signed by {} ({})",
                g.digest,
                g.verified.key.source,
                g.verified.key.fingerprint()
            ),
        );
    }
}
