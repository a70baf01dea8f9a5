//! What `key generate`, `sign`, `verify`, `sbom`, `build`'s attestations and `inspect`'s
//! referrer listing do, with the lines they print: the commands only parse their flags and
//! call these. A signing or verification failure is printed here with its `help:` line
//! ([`failed`]); the functions then return `Ok(false)` (exit status 1).

use crate::reference::Digest;
use crate::registry::actions::RegistryActionError;
use crate::registry::{Registry, RegistryOptions};
use crate::shell;
use crate::sign::keys::{self, KeyPair};
use crate::sign::verify::{self, Gate, Policy, report_gate};
use crate::sign::{SignError, attach, dsse, provenance, sbom};
use crate::store::referrers::Referrer;
use crate::store::{Store, StoreError};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

/// The environment variable holding the private key's password.
pub const PASSWORD_ENV: &str = "WASME_KEY_PASSWORD";

/// What the signing commands fail with besides a signing or verification verdict (which they
/// print, [`failed`], and report as `Ok(false)`).
#[derive(Debug, thiserror::Error)]
pub enum SignActionError {
    /// The verification keys (`--verify-key`, `WASME_VERIFY_KEY`) cannot be read.
    #[error("cannot read the verification keys")]
    Keys(#[source] SignError),
    /// The local store cannot be opened.
    #[error("cannot open the local store")]
    OpenStore(#[source] StoreError),
    /// The signature that verified a pulled image cannot be stored with it.
    #[error("cannot keep the signature in the local store")]
    KeepSignature(#[source] StoreError),
    /// The verified image cannot get the tag it was pulled by.
    #[error("cannot tag the verified image")]
    TagVerified(#[source] StoreError),
    /// The async runtime cannot be started.
    #[error(transparent)]
    Runtime(#[from] RegistryActionError),
    /// The private key's password cannot be read from the terminal.
    #[error("cannot read the password")]
    Password(#[source] dialoguer::Error),
    /// `verify` was given no key.
    #[error("no key given")]
    NoKey,
    /// Reading the key, attesting or signing failed (`build --sign`).
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The SBOM cannot be made (`build`).
    #[error(transparent)]
    Sbom(#[from] sbom::SbomError),
    /// The SBOM cannot be printed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// The verification gate's policy for this process: the global `--verify-key` files, else
/// the `WASME_VERIFY_KEY` path list; empty (no check) when neither is given.
pub fn global_policy() -> Result<Policy, SignActionError> {
    verify::configured_policy().map_err(SignActionError::Keys)
}

/// After a gated pull by digest: the image also gets the tag it was asked for (when it was a
/// tag), and the store keeps the signature that verified it.
pub fn keep_verified(
    store: &Store,
    gate: &Gate,
    reference: &str,
) -> Result<Option<crate::store::ImageSummary>, SignActionError> {
    store
        .add_referrer(&gate.referrer)
        .map_err(SignActionError::KeepSignature)?;
    let tagged = crate::reference::parse(reference)
        .ok()
        .filter(|r| r.digest().is_none())
        .map(|_| store.tag(&gate.pinned, reference))
        .transpose()
        .map_err(SignActionError::TagVerified)?;
    Ok(tagged)
}

/// `pull` through the verification gate: with a key configured nothing is stored unless a
/// signature verifies, and the verified digest is what is pulled (and kept with the tag asked
/// for). Prints the stored image's digest.
pub fn pull(reference: &str, options: RegistryOptions) -> Result<bool, SignActionError> {
    let policy = global_policy()?;
    let registry = Registry::new(options);
    let runtime = crate::registry::actions::runtime()?;
    let gate = match runtime.block_on(verify::gate(&registry, reference, &policy)) {
        Ok(gate) => gate,
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    report_gate(reference, &gate);
    let store = Store::open_default().map_err(SignActionError::OpenStore)?;
    let target = gate.as_ref().map_or(reference, |g| g.pinned.as_str());
    let mut image = match runtime.block_on(registry.pull(&store, target)) {
        Ok(image) => image,
        Err(e) => {
            crate::registry::actions::failed(&e, None);
            return Ok(false);
        }
    };
    if let Some(g) = &gate
        && let Some(tagged) = keep_verified(&store, g, reference)?
    {
        image.reference = tagged.reference;
    }
    crate::registry::actions::report_pulled(&image);
    Ok(true)
}

/// `push --sign KEY`: signs the stored image first (the signature is pushed with it).
pub fn sign_for_push(store: &Store, reference: &str, key: &Path) -> bool {
    let signed = signing_key(key).and_then(|k| attach::sign_store(store, reference, &k));
    match signed {
        Ok(_) => true,
        Err(e) => {
            failed(&e);
            false
        }
    }
}

/// Prints a signing/verification failure with its help line.
pub fn failed(e: &SignError) {
    shell::error(e, e.help().as_deref());
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The password of an encrypted signing key: `WASME_KEY_PASSWORD`, else asked on a terminal.
fn key_password(path: &Path) -> Result<Option<String>, SignError> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Some(p));
    }
    if !interactive() {
        return Ok(None);
    }
    dialoguer::Password::new()
        .with_prompt(format!("Password for {}", path.display()))
        .allow_empty_password(true)
        .interact()
        .map(Some)
        .map_err(|e| SignError::Key {
            path: path.to_path_buf(),
            message: format!("cannot read the password: {e}"),
        })
}

/// Reads the signing key at `path` (asking for its password when it is encrypted).
pub fn signing_key(path: &Path) -> Result<KeyPair, SignError> {
    keys::read_signing_key(path, || key_password(path))
}

/// `key generate`: PREFIX.key and PREFIX.pub, the password from `WASME_KEY_PASSWORD` or asked
/// on a terminal (empty: unencrypted, with a warning).
pub fn generate_key(prefix: &Path) -> Result<bool, SignActionError> {
    let password = match std::env::var(PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => Some(p),
        Ok(_) => None,
        Err(_) if interactive() => {
            let p = dialoguer::Password::new()
                .with_prompt("Password for the private key (empty: unencrypted)")
                .with_confirmation("Repeat the password", "the passwords differ")
                .allow_empty_password(true)
                .interact()
                .map_err(SignActionError::Password)?;
            (!p.is_empty()).then_some(p)
        }
        Err(_) => None,
    };
    let generated = match keys::generate(prefix, password.as_deref()) {
        Ok(g) => g,
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    if !generated.encrypted {
        shell::warn(format!(
            "{} is not encrypted (no password: set {PASSWORD_ENV} or run on a terminal); \
             keep it as secret as a password",
            generated.private.display()
        ));
    }
    shell::status(
        "Generated",
        format!(
            "{} (private{}, mode 0600) and {} (public)",
            generated.private.display(),
            if generated.encrypted {
                ", encrypted"
            } else {
                ""
            },
            generated.public.display()
        ),
    );
    shell::result(&generated.fingerprint);
    shell::json(
        "key-generated",
        &serde_json::json!({
            "private": generated.private,
            "public": generated.public,
            "encrypted": generated.encrypted,
            "fingerprint": generated.fingerprint,
        }),
    );
    Ok(true)
}

/// Where `sign`, `verify` and `sbom` find the image: the local store when it holds the
/// reference (unless `remote`), else the registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Place {
    /// Use the registry even when the store has the reference.
    pub remote: bool,
    /// Plain HTTP to the registry.
    pub plain_http: bool,
    /// Accept invalid TLS certificates.
    pub insecure: bool,
}

impl Place {
    /// The store, when it holds `reference` and `remote` is not set.
    fn local(&self, reference: &str) -> Result<Option<Store>, SignActionError> {
        if self.remote {
            return Ok(None);
        }
        // Never creates a store: verifying must write nothing.
        let store = Store::open_default_existing().map_err(SignActionError::OpenStore)?;
        Ok(store.filter(|s| s.resolve(reference).is_ok()))
    }

    fn registry(&self) -> Registry {
        Registry::new(RegistryOptions {
            plain_http: self.plain_http,
            insecure: self.insecure,
            progress: false,
            ..Default::default()
        })
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, RegistryActionError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RegistryActionError::Runtime)
}

/// `sign`: a Sigstore bundle (DSSE, in-toto `cosign/sign/v1` statement) attached as an OCI
/// referrer of the manifest digest; prints the digest signed.
pub fn sign(reference: &str, key: &Path, place: Place) -> Result<bool, SignActionError> {
    let key = match signing_key(key) {
        Ok(k) => k,
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    let (signed, at) = match place.local(reference)? {
        Some(store) => (
            attach::sign_store(&store, reference, &key),
            "in the local store (`push` carries it)",
        ),
        None => (
            runtime()?.block_on(attach::sign_registry(&place.registry(), reference, &key)),
            "on the registry",
        ),
    };
    let signed = match signed {
        Ok(s) => s,
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    shell::status(
        if signed.new { "Signed" } else { "Unchanged" },
        format!(
            "{} ({}) {at}{}",
            reference,
            signed.digest,
            if signed.new {
                format!(", bundle {}", signed.referrer.short())
            } else {
                ": already signed with this key".to_string()
            }
        ),
    );
    shell::result(&signed.digest);
    shell::json(
        "image-signed",
        &serde_json::json!({
            "reference": reference,
            "digest": signed.digest.to_string(),
            "referrer": signed.referrer.to_string(),
            "new": signed.new,
            "key": key.public().fingerprint(),
        }),
    );
    Ok(true)
}

/// `verify`: `Ok(true)` and the digest printed only when a bundle verifies under one of the
/// keys and names exactly that digest.
pub fn verify_image(
    reference: &str,
    keys: &[PathBuf],
    place: Place,
) -> Result<bool, SignActionError> {
    let policy = match Policy::from_files(keys) {
        Ok(p) => p,
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    let gate = match place.local(reference)? {
        Some(store) => verify::gate_store(&store, reference, &policy),
        None => runtime()?.block_on(verify::gate(&place.registry(), reference, &policy)),
    };
    let gate = match gate {
        Ok(Some(g)) => g,
        Ok(None) => return Err(SignActionError::NoKey),
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    report_gate(reference, &Some(gate.clone()));
    shell::result(&gate.digest);
    shell::json(
        "image-verified",
        &serde_json::json!({
            "reference": reference,
            "digest": gate.digest.to_string(),
            "pinned": gate.pinned,
            "key": gate.verified.key.fingerprint(),
            "key_source": gate.verified.key.source,
        }),
    );
    Ok(true)
}

/// The referrers of an image, from the store when it has it, else from the registry.
fn referrers_of(
    place: &Place,
    reference: &str,
) -> Result<Result<(Digest, Vec<Referrer>), SignError>, SignActionError> {
    Ok(match place.local(reference)? {
        Some(store) => store
            .resolve(reference)
            .map_err(SignError::from)
            .and_then(|image| {
                let r = store.referrers(&image.manifest_digest, None)?;
                Ok((image.manifest_digest, r))
            }),
        None => runtime()?
            .block_on(place.registry().referrers(reference, None))
            .map(|f| (f.digest, f.referrers))
            .map_err(SignError::from),
    })
}

/// `sbom`: prints the CycloneDX SBOM `build` attached to the image (only a verified one when
/// `keys` are given).
pub fn print_sbom(
    reference: &str,
    keys: &[PathBuf],
    place: Place,
) -> Result<bool, SignActionError> {
    let policy = match Policy::from_files(keys) {
        Ok(p) => p,
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    let (digest, referrers) = match referrers_of(&place, reference)? {
        Ok(r) => r,
        Err(e) => {
            failed(&e);
            return Ok(false);
        }
    };
    let wanted = [dsse::CYCLONEDX_BOM];
    let mut bom = None;
    for c in verify::check_referrers(&digest, &referrers, &wanted, &policy.keys) {
        if let Ok(v) = c.verdict {
            bom = Some((v.statement.predicate, Some(v.key)));
            break;
        }
    }
    if bom.is_none() && policy.is_empty() {
        bom = referrers
            .iter()
            .find_map(|r| unsigned_statement(r, &digest, dsse::CYCLONEDX_BOM))
            .map(|p| (p, None));
        if bom.is_none() {
            // A signed SBOM read without a key: shown, but said to be unverified.
            bom = referrers
                .iter()
                .find_map(|r| bundle_statement(r, &digest, dsse::CYCLONEDX_BOM))
                .map(|p| (p, None));
        }
    }
    let Some((bom, key)) = bom else {
        shell::error(
            format!(
                "{} ({digest}) has no SBOM{}",
                reference,
                if policy.is_empty() {
                    String::new()
                } else {
                    " verified by the keys given".into()
                }
            ),
            Some("`cargo wasme build` attaches one (CycloneDX) to the image it stores"),
        );
        return Ok(false);
    };
    match key {
        Some(k) => shell::status(
            "Verified",
            format!("SBOM of {digest} signed by {}", k.source),
        ),
        None => shell::note(format!(
            "the SBOM of {digest} is shown unverified (no --key)"
        )),
    }
    println!("{}", serde_json::to_string_pretty(&bom)?);
    Ok(true)
}

/// The predicate of an unsigned in-toto statement referrer about `digest` of `predicate_type`.
fn unsigned_statement(
    r: &Referrer,
    digest: &Digest,
    predicate_type: &str,
) -> Option<serde_json::Value> {
    if r.manifest.kind() != dsse::IN_TOTO_PAYLOAD {
        return None;
    }
    let s: dsse::Statement = serde_json::from_slice(&r.content).ok()?;
    (s.predicate_type == predicate_type && s.subject.first()?.digest.get("sha256")? == digest.hex())
        .then_some(s.predicate)
}

/// The predicate of a bundle's statement, read without checking its signature.
fn bundle_statement(
    r: &Referrer,
    digest: &Digest,
    predicate_type: &str,
) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let b: crate::sign::bundle::Bundle = serde_json::from_slice(&r.content).ok()?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(b.dsse_envelope?.payload)
        .ok()?;
    let s: dsse::Statement = serde_json::from_slice(&payload).ok()?;
    (s.predicate_type == predicate_type && s.subject.first()?.digest.get("sha256")? == digest.hex())
        .then_some(s.predicate)
}

/// What `inspect` shows about an image's referrers: each signature or attestation, and what
/// verified it (with `keys`) or why not.
pub fn referrers_report(store: &Store, digest: &Digest, keys: &Policy) -> serde_json::Value {
    let referrers = match store.referrers(digest, None) {
        Ok(r) => r,
        Err(e) => return serde_json::json!({"error": e.to_string()}),
    };
    let wanted = [
        dsse::COSIGN_SIGN_V1,
        dsse::SLSA_PROVENANCE_V1,
        dsse::CYCLONEDX_BOM,
    ];
    let checked = verify::check_referrers(digest, &referrers, &wanted, &keys.keys);
    let rows: Vec<serde_json::Value> = checked
        .iter()
        .zip(&referrers)
        .map(|(c, r)| {
            let unsigned = r.manifest.kind() == dsse::IN_TOTO_PAYLOAD;
            let predicate = c.announced.clone().or_else(|| {
                r.manifest
                    .annotations
                    .get(attach::ANNOTATION_IN_TOTO_PREDICATE)
                    .cloned()
            });
            let verdict = match (&c.verdict, unsigned) {
                (_, true) => serde_json::json!("unsigned"),
                (Ok(v), _) => {
                    serde_json::json!({"verifiedBy": v.key.source, "key": v.key.fingerprint()})
                }
                (Err(e), _) => serde_json::json!({"unverified": e}),
            };
            serde_json::json!({
                "referrer": c.referrer.to_string(),
                "artifactType": c.artifact_type,
                "predicateType": predicate,
                "verification": verdict,
            })
        })
        .collect();
    serde_json::Value::Array(rows)
}

/// Prints [`referrers_report`] for people.
pub fn print_referrers(report: &serde_json::Value) {
    let Some(rows) = report.as_array() else {
        println!("Signatures and attestations: {}", report["error"]);
        return;
    };
    println!("Signatures and attestations ({}):", rows.len());
    for r in rows {
        let verdict = &r["verification"];
        let how = if verdict == "unsigned" {
            "unsigned".to_string()
        } else if let Some(by) = verdict.get("verifiedBy") {
            format!(
                "verified by {} ({})",
                by.as_str().unwrap_or(""),
                verdict["key"].as_str().unwrap_or("")
            )
        } else {
            format!(
                "not verified: {}",
                verdict["unverified"].as_str().unwrap_or("")
            )
        };
        println!(
            "  {} {} — {how}",
            r["referrer"].as_str().unwrap_or("").get(..19).unwrap_or(""),
            r["predicateType"].as_str().unwrap_or("(no predicate type)"),
        );
    }
}

/// `build`'s hook: records SLSA provenance and the CycloneDX SBOM of the image just stored as
/// attestations in the store (signed with `key` when given; `push` carries them).
pub fn record_build(
    built: &crate::build::BuiltImage,
    options: &crate::build::BuildOptions,
    key: Option<&Path>,
) -> Result<(), SignActionError> {
    let Some(stored) = &built.stored else {
        return Ok(());
    };
    let key = key.map(signing_key).transpose()?;
    let store = Store::open_default().map_err(SignActionError::OpenStore)?;
    let facts = provenance::BuildFacts::from_build(built, options);
    let selection = sbom::Selection {
        features: options.features.clone(),
        all_features: options.all_features,
        no_default_features: options.no_default_features,
    };
    let provenance = attach::attest_store(&store, &stored.reference, key.as_ref(), |d| {
        facts.statement(d)
    })?;
    // The SBOM lists the crates linked into the module, from `cargo metadata`: a C, C++ or
    // AssemblyScript project (wasme.toml) has no crate graph, so it gets provenance only.
    let is_crate = built
        .module
        .filter
        .manifest_path
        .file_name()
        .is_some_and(|n| n == "Cargo.toml");
    let sbom_attached = if is_crate {
        let bom = sbom::cyclonedx(&built.module.filter.manifest_path, &selection)?;
        Some(attach::attest_store(
            &store,
            &stored.reference,
            key.as_ref(),
            |d| sbom::statement(d, bom),
        )?)
    } else {
        None
    };
    if let Some(k) = &key {
        attach::sign_store(&store, &stored.reference, k)?;
    }
    shell::status(
        "Attested",
        format!(
            "{} with SLSA provenance ({}){}{}",
            stored.reference,
            provenance.referrer.short(),
            sbom_attached
                .as_ref()
                .map(|s| format!(" and a CycloneDX SBOM ({})", s.referrer.short()))
                .unwrap_or_default(),
            if key.is_some() {
                ", signed"
            } else {
                ", unsigned"
            }
        ),
    );
    Ok(())
}
