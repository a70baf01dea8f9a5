//! Signed filters: keys, Sigstore bundles over DSSE/in-toto statements, attestations (SLSA
//! provenance, SBOM), their OCI 1.1 referrer layout, and fail-closed verification.
//!
//! The layout is the one `cosign sign` v3 writes by default: a Sigstore bundle v0.3 (JSON)
//! whose content is a DSSE envelope over an in-toto Statement v1 naming the image manifest
//! digest as its only subject, attached as an OCI 1.1 referrer (`subject` + `artifactType`);
//! a registry without the referrers API (Debian's `docker-registry` 2.8) gets the referrers
//! tag-schema index `sha256-<hex>` maintained by the client. The local store keeps referrers
//! in its OCI layout ([`crate::store::referrers`]) and `push` carries them.
//!
//! * [`keys`] — ECDSA P-256 key pairs: generation, encrypted PKCS#8, SEC1, SPKI.
//! * [`dsse`] — in-toto statements, the DSSE envelope and its pre-authentication encoding.
//! * [`bundle`] — the Sigstore bundle v0.3 and the referrer manifest that carries it.
//! * [`provenance`], [`sbom`] — the SLSA provenance v1 and CycloneDX predicates `build` records.
//! * [`verify`] — the acceptance rules, [`verify::Policy`] and the one gate every command that
//!   runs, caches or deploys a module goes through ([`verify::gate`]).
//! * [`attach`] — signing and attesting an image in the store or on a registry.
//! * [`actions`] — what `key generate`, `sign`, `verify`, `sbom`, `build --sign` and `inspect`
//!   do with these, and the lines they print.
//!
//! Keyless signing (Fulcio certificates, Rekor entries) is not reachable from here; the bundle
//! type has the slots for it ([`bundle::VerificationMaterial`]) and the verifier refuses a
//! bundle that carries them until it can check them (README: "Keyless signing: the plan").
//!
//! ```
//! use cargo_wasme::sign::{dsse, keys::KeyPair, verify};
//! use cargo_wasme::reference::Digest;
//! let pair = KeyPair::generate();
//! let digest = Digest::of(b"a manifest");
//! let statement = dsse::Statement::cosign_sign(&digest);
//! let bundle = cargo_wasme::sign::bundle::Bundle::sign(&pair, &statement).unwrap();
//! let keys = [pair.public()];
//! let verified = verify::verify_bundle(&bundle.to_json(), &digest, verify::SIGN_PREDICATES, &keys).unwrap();
//! assert_eq!(verified.predicate_type, dsse::COSIGN_SIGN_V1);
//! ```

pub mod actions;
pub mod attach;
pub mod bundle;
pub mod dsse;
pub mod keys;
pub mod provenance;
pub mod sbom;
pub mod verify;

use crate::registry::RegistryError;
use crate::store::StoreError;
use std::path::PathBuf;

/// Why signing, attesting or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key file cannot be read or is not a key of the kind expected.
    #[error("{}: {message}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `key generate` would overwrite a file.
    #[error("{} already exists; nothing was written (choose another prefix or move it away)", .0.display())]
    KeyExists(PathBuf),
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Verification failed: no bundle verified under the keys given.
    #[error("{0}")]
    Unverified(String),
    /// A bundle or statement could not be made.
    #[error("cannot make the bundle: {0}")]
    Bundle(String),
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SignError {
    /// What to do about the error, when there is something to say.
    pub fn help(&self) -> Option<String> {
        match self {
            SignError::Registry(e) => e.help(),
            SignError::Unverified(_) => Some(
                "sign the image with `cargo wasme sign IMAGE --key KEY` and verify with the \
                 matching public key (`KEY.pub`); nothing was run, stored or deployed"
                    .into(),
            ),
            _ => None,
        }
    }
}
