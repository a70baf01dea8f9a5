//! ECDSA P-256 keys: generation, the private key files `sign` reads (PKCS#8, encrypted or
//! not, and SEC1 PEM) and the public key files `verify` reads (SPKI PEM, what
//! `cosign verify --key` reads too).
//!
//! The private key is written as PKCS#8 PEM, encrypted (`ENCRYPTED PRIVATE KEY`: PBES2 with
//! scrypt and AES-256-CBC, as `openssl pkcs8 -topk8 -scrypt` writes) when a password is given,
//! in a file created with mode 0600 that must not exist yet.

use super::SignError;
use base64::Engine as _;
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate as _;
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use sha2::Digest as _;
use std::path::{Path, PathBuf};

/// PEM label of an encrypted PKCS#8 key.
const ENCRYPTED_PKCS8: &str = "ENCRYPTED PRIVATE KEY";
/// PEM label of a plain PKCS#8 key.
const PKCS8: &str = "PRIVATE KEY";
/// PEM label of a SEC1 key.
const SEC1: &str = "EC PRIVATE KEY";
/// PEM label of cosign's own (scrypt + secretbox) key format.
const COSIGN_KEY: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM label of a cosign-exported encrypted key (same format).
const COSIGN_KEY_OLD: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// A private signing key.
pub struct KeyPair {
    signing: SigningKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        write!(f, "KeyPair({})", self.public().hint())
    }
}

/// A public key that signatures are verified with.
#[derive(Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    spki_der: Vec<u8>,
    /// Where it came from (a file name, `WASME_VERIFY_KEY`), for messages.
    pub source: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({}, {})", self.source, self.hint())
    }
}

impl PublicKey {
    fn new(key: VerifyingKey, source: String) -> Result<PublicKey, String> {
        let spki_der = key
            .to_public_key_der()
            .map_err(|e| format!("cannot encode the public key: {e}"))?
            .as_bytes()
            .to_vec();
        Ok(PublicKey {
            key,
            spki_der,
            source,
        })
    }

    /// Parses an SPKI PEM (`-----BEGIN PUBLIC KEY-----`) P-256 key.
    pub fn from_pem(pem: &str, source: &str) -> Result<PublicKey, SignError> {
        let err = |message: String| SignError::Key {
            path: PathBuf::from(source),
            message,
        };
        if pem.contains("PRIVATE KEY-----") {
            return Err(err(
                "this is a private key; verification takes the public key (the `.pub` file \
                 `cargo wasme key generate` wrote next to it)"
                    .into(),
            ));
        }
        let key = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| {
            err(format!(
                "not an ECDSA P-256 public key in SPKI PEM (`-----BEGIN PUBLIC KEY-----`): {e}"
            ))
        })?;
        PublicKey::new(key, source.to_string()).map_err(err)
    }

    /// Reads an SPKI PEM public key file.
    pub fn read(path: &Path) -> Result<PublicKey, SignError> {
        let text = std::fs::read_to_string(path).map_err(|source| SignError::Io {
            action: "read the public key",
            path: path.to_path_buf(),
            source,
        })?;
        PublicKey::from_pem(&text, &path.display().to_string())
    }

    /// The key hint a Sigstore bundle carries: base64 (standard) of SHA-256 of the SPKI DER,
    /// as cosign computes it. Unauthenticated: the verifier never trusts it, it only names a key.
    pub fn hint(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&self.spki_der))
    }

    /// The key's fingerprint for people: `sha256:` and the hex SHA-256 of the SPKI DER.
    pub fn fingerprint(&self) -> String {
        format!("sha256:{:x}", sha2::Sha256::digest(&self.spki_der))
    }

    /// The SPKI PEM text.
    pub fn to_pem(&self) -> Result<String, SignError> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SignError::Bundle(format!("cannot encode the public key: {e}")))
    }

    /// Whether `signature` (ASN.1 DER ECDSA) is a valid signature of `message` under this key.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match p256::ecdsa::Signature::from_der(signature) {
            Ok(sig) => self.key.verify(message, &sig).is_ok(),
            Err(_) => false,
        }
    }
}

impl KeyPair {
    /// A new random key pair (from the operating system's random number generator).
    pub fn generate() -> KeyPair {
        KeyPair {
            signing: SigningKey::generate(),
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        let key = *self.signing.verifying_key();
        // Encoding a valid P-256 point as SPKI cannot fail; the fallback keeps the type total.
        PublicKey::new(key, "the signing key".into()).unwrap_or(PublicKey {
            key,
            spki_der: Vec::new(),
            source: "the signing key".into(),
        })
    }

    /// Signs `message` (ECDSA P-256 with SHA-256, RFC 6979 deterministic nonces): ASN.1 DER.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer as _;
        let sig: DerSignature = self.signing.sign(message);
        sig.as_bytes().to_vec()
    }

    /// Parses a private key PEM: PKCS#8 (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` with
    /// `password`) or SEC1 (`EC PRIVATE KEY`). `source` names the file in errors.
    pub fn from_pem(
        pem: &str,
        password: Option<&str>,
        source: &Path,
    ) -> Result<KeyPair, SignError> {
        let err = |message: String| SignError::Key {
            path: source.to_path_buf(),
            message,
        };
        let label = pem_label(pem).ok_or_else(|| {
            err(
                "not a PEM private key (expected `-----BEGIN PRIVATE KEY-----`, \
                 `ENCRYPTED PRIVATE KEY` or `EC PRIVATE KEY`)"
                    .into(),
            )
        })?;
        let signing = match label.as_str() {
            ENCRYPTED_PKCS8 => {
                let password = password.ok_or_else(|| {
                    err("the key is encrypted and no password was given (set \
                         WASME_KEY_PASSWORD, or run on a terminal to be asked)"
                        .into())
                })?;
                SigningKey::from_pkcs8_encrypted_pem(pem.trim(), password).map_err(|e| {
                    err(format!(
                        "cannot decrypt the key: wrong password, or not a P-256 key ({e})"
                    ))
                })?
            }
            PKCS8 => SigningKey::from_pkcs8_pem(pem.trim())
                .map_err(|e| err(format!("not an ECDSA P-256 PKCS#8 key: {e}")))?,
            SEC1 => p256::SecretKey::from_sec1_pem(pem.trim())
                .map(SigningKey::from)
                .map_err(|e| err(format!("not an ECDSA P-256 SEC1 key: {e}")))?,
            COSIGN_KEY | COSIGN_KEY_OLD => {
                return Err(err(
                    "this is a cosign-format key (scrypt + secretbox), which wasme does not \
                     read; convert it: `cosign import-key-pair` takes the other direction, so \
                     generate a wasme key (`cargo wasme key generate`) or export PKCS#8 with \
                     openssl"
                        .into(),
                ));
            }
            "PUBLIC KEY" => {
                return Err(err(
                    "this is a public key; signing takes the private key (`.key`)".into(),
                ));
            }
            other => return Err(err(format!("unsupported PEM block `{other}`"))),
        };
        Ok(KeyPair { signing })
    }

    /// Whether the PEM text is an encrypted private key (a password is needed).
    pub fn is_encrypted(pem: &str) -> bool {
        pem_label(pem).as_deref() == Some(ENCRYPTED_PKCS8)
    }

    /// The private key as PKCS#8 PEM, encrypted with `password` when given.
    pub fn to_pem(&self, password: Option<&str>) -> Result<Zeroizing<String>, SignError> {
        let pem = match password {
            Some(p) => self.signing.to_pkcs8_encrypted_pem(p, LineEnding::LF),
            None => self.signing.to_pkcs8_pem(LineEnding::LF),
        };
        pem.map_err(|e| SignError::Bundle(format!("cannot encode the private key: {e}")))
    }
}

/// The label of the first PEM block in `pem` (`PRIVATE KEY` for `-----BEGIN PRIVATE KEY-----`).
fn pem_label(pem: &str) -> Option<String> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = pem[start..].find("-----")?;
    Some(pem[start..start + end].to_string())
}

/// Reads the signing key at `path`, asking `password` for the password only when the key is
/// encrypted.
pub fn read_signing_key(
    path: &Path,
    password: impl FnOnce() -> Result<Option<String>, SignError>,
) -> Result<KeyPair, SignError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|source| SignError::Io {
            action: "read the signing key",
            path: path.to_path_buf(),
            source,
        })?,
    );
    let password = if KeyPair::is_encrypted(&text) {
        password()?.map(Zeroizing::new)
    } else {
        None
    };
    KeyPair::from_pem(&text, password.as_deref().map(String::as_str), path)
}

/// The two files `key generate PREFIX` writes.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// `PREFIX.key`: the private key (mode 0600).
    pub private: PathBuf,
    /// `PREFIX.pub`: the public key.
    pub public: PathBuf,
    /// Whether the private key is encrypted.
    pub encrypted: bool,
    /// The public key's fingerprint.
    pub fingerprint: String,
}

/// Creates `path` with `data`, failing if it exists; mode 0600 on Unix.
fn create_new(path: &Path, data: &[u8], private: bool) -> Result<(), SignError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            SignError::KeyExists(path.to_path_buf())
        } else {
            SignError::Io {
                action: "create",
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|source| SignError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
}

/// Generates a key pair and writes `PREFIX.key` (PKCS#8 PEM, encrypted with `password` when
/// given, mode 0600) and `PREFIX.pub` (SPKI PEM). Neither file may exist; on failure nothing
/// is left behind.
pub fn generate(prefix: &Path, password: Option<&str>) -> Result<GeneratedKey, SignError> {
    let with = |ext: &str| {
        let mut name = prefix.as_os_str().to_owned();
        name.push(ext);
        PathBuf::from(name)
    };
    let (private, public) = (with(".key"), with(".pub"));
    for p in [&private, &public] {
        if p.exists() {
            return Err(SignError::KeyExists(p.clone()));
        }
    }
    let pair = KeyPair::generate();
    let private_pem = pair.to_pem(password)?;
    let public_pem = pair.public().to_pem()?;
    create_new(&private, private_pem.as_bytes(), true)?;
    if let Err(e) = create_new(&public, public_pem.as_bytes(), false) {
        let _ = std::fs::remove_file(&private);
        return Err(e);
    }
    Ok(GeneratedKey {
        private,
        public,
        encrypted: password.is_some(),
        fingerprint: pair.public().fingerprint(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate(&dir.path().join("k"), Some("pw")).unwrap();
        let text = std::fs::read_to_string(&generated.private).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&generated.private)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let pair = read_signing_key(&generated.private, || Ok(Some("pw".into()))).unwrap();
        let public = PublicKey::read(&generated.public).unwrap();
        assert_eq!(public.fingerprint(), generated.fingerprint);
        let sig = pair.sign(b"m");
        assert!(public.verifies(b"m", &sig));
        assert!(!public.verifies(b"n", &sig));
        assert!(read_signing_key(&generated.private, || Ok(Some("wrong".into()))).is_err());
        assert!(read_signing_key(&generated.private, || Ok(None)).is_err());
        // Overwriting is refused, and leaves the files as they were.
        assert!(matches!(
            generate(&dir.path().join("k"), None),
            Err(SignError::KeyExists(_))
        ));
        assert_eq!(std::fs::read_to_string(&generated.private).unwrap(), text);
        // Plain PKCS#8 and SEC1.
        let plain = pair.to_pem(None).unwrap();
        let again = KeyPair::from_pem(&plain, None, Path::new("x")).unwrap();
        assert!(public.verifies(b"m", &again.sign(b"m")));
        let secret = p256::SecretKey::from(*pair.signing.as_nonzero_scalar());
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let from_sec1 = KeyPair::from_pem(&sec1, None, Path::new("x")).unwrap();
        assert!(public.verifies(b"m", &from_sec1.sign(b"m")));
        // A public key is not a signing key, nor the other way round.
        assert!(KeyPair::from_pem(&public.to_pem().unwrap(), None, Path::new("x")).is_err());
        assert!(PublicKey::from_pem(&plain, "x").is_err());
    }
}
