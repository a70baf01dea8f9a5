//! Registry failures, each naming the cause and the fix.

use super::credentials::CredentialsError;
use crate::image::ImageError;
use crate::reference::{Digest, ReferenceError};
use crate::store::StoreError;
use oci_client::errors::OciDistributionError;

/// Why a registry operation failed. The local store and credentials are unchanged.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The reference does not parse.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// 401: no or wrong credentials.
    #[error(
        "{registry} refused {what} (401 Unauthorized) {how}: run `cargo wasme login {registry}` \
         (or `docker login`) with an account that may access it"
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// Which credentials were used.
        how: String,
    },
    /// 403: authenticated but not allowed.
    #[error(
        "{registry} denied {what} (403 Forbidden): the account has no {op} permission on that \
         repository; ask its owner for access or use another repository"
    )]
    Forbidden {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// `pull` or `push`.
        op: &'static str,
    },
    /// 404: no such repository, tag or digest.
    #[error(
        "{reference} was not found on the registry (404): check the repository name and the tag or digest"
    )]
    NotFound {
        /// The reference.
        reference: String,
    },
    /// A 5xx (after retries) or other unexpected status.
    #[error(
        "{registry} failed {what}: HTTP {code} {message}{retried}; try again later or check the registry's health"
    )]
    Server {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// HTTP status.
        code: u16,
        /// The body, shortened.
        message: String,
        /// Note on retries.
        retried: String,
    },
    /// A registry error envelope with another code.
    #[error("{registry} rejected {what}: {message}")]
    Rejected {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// The registry's error.
        message: String,
    },
    /// The network failed (after retries).
    #[error(
        "cannot reach {registry} while {what}: {message}{retried}; check the address and that the \
         registry is running{tls_hint}"
    )]
    Network {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// The underlying error.
        message: String,
        /// Note on retries.
        retried: String,
        /// A hint on HTTP vs HTTPS.
        tls_hint: &'static str,
    },
    /// Content did not match its digest.
    #[error(
        "{what} does not match its digest (expected {expected}, got {actual}): the registry \
         returned tampered or corrupt content; nothing was stored"
    )]
    DigestMismatch {
        /// What was checked.
        what: String,
        /// The expected digest (as the registry client reports it).
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// A digest reference on push that names another manifest.
    #[error(
        "cannot push {reference}: the local image's manifest digest is {actual}; push by tag, or \
         use the matching digest"
    )]
    DigestRefMismatch {
        /// The reference.
        reference: String,
        /// The local manifest digest.
        actual: Digest,
    },
    /// The registry answered something that is not a Wasm image.
    #[error("{reference}: {source}")]
    Image {
        /// The reference.
        reference: String,
        /// What is wrong with the image.
        source: ImageError,
    },
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading credentials failed.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// Any other client failure.
    #[error("{registry} {what}: {message}")]
    Other {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// The error.
        message: String,
    },
}

/// Context for mapping a client error.
pub(crate) struct Ctx<'a> {
    pub registry: &'a str,
    pub reference: &'a str,
    pub what: String,
    pub op: &'static str,
    pub anonymous: bool,
    pub plain_http: bool,
}

/// Whether an error is worth retrying (5xx, 429, dropped or refused connections, timeouts).
pub(crate) fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::RequestError(r) => {
            r.is_connect()
                || r.is_timeout()
                || r.is_request()
                || r.is_body()
                || r.is_decode()
                || r.status().is_some_and(|s| s.is_server_error())
        }
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

fn short(s: &str) -> String {
    let s = s.trim();
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_string()
    }
}

impl Ctx<'_> {
    pub(crate) fn map(&self, e: OciDistributionError, attempts: u32) -> RegistryError {
        let retried = if attempts > 1 && is_transient(&e) {
            format!(" (after {attempts} attempts)")
        } else {
            String::new()
        };
        let unauthorized = || RegistryError::Unauthorized {
            registry: self.registry.to_string(),
            what: self.what.clone(),
            how: if self.anonymous {
                "without credentials".to_string()
            } else {
                "with the stored credentials".to_string()
            },
        };
        let forbidden = || RegistryError::Forbidden {
            registry: self.registry.to_string(),
            what: self.what.clone(),
            op: self.op,
        };
        let not_found = || RegistryError::NotFound {
            reference: self.reference.to_string(),
        };
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => unauthorized(),
            OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
            OciDistributionError::DigestError(d) => {
                let (expected, actual) = match &d {
                    oci_client::errors::DigestError::VerificationError { expected, actual } => {
                        (expected.clone(), actual.clone())
                    }
                    other => (String::new(), other.to_string()),
                };
                RegistryError::DigestMismatch {
                    what: self.what.clone(),
                    expected,
                    actual,
                }
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}", e.code))
                    .collect();
                if codes.iter().any(|c| c == "Unauthorized") {
                    unauthorized()
                } else if codes.iter().any(|c| c == "Denied") {
                    forbidden()
                } else if codes
                    .iter()
                    .any(|c| matches!(c.as_str(), "ManifestUnknown" | "NameUnknown" | "NotFound"))
                {
                    not_found()
                } else {
                    RegistryError::Rejected {
                        registry: self.registry.to_string(),
                        what: self.what.clone(),
                        message: short(&envelope.to_string()),
                    }
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                401 => unauthorized(),
                403 => forbidden(),
                404 => not_found(),
                _ => RegistryError::Server {
                    registry: self.registry.to_string(),
                    what: self.what.clone(),
                    code,
                    message: short(&message),
                    retried,
                },
            },
            OciDistributionError::RequestError(r) => {
                if let Some(status) = r.status() {
                    match status.as_u16() {
                        401 => return unauthorized(),
                        403 => return forbidden(),
                        404 => return not_found(),
                        _ => {}
                    }
                }
                let mut message = r.to_string();
                let mut source = std::error::Error::source(&r);
                while let Some(s) = source {
                    message = format!("{message}: {s}");
                    source = s.source();
                }
                RegistryError::Network {
                    registry: self.registry.to_string(),
                    what: self.what.clone(),
                    message: short(&message),
                    retried,
                    tls_hint: if self.plain_http {
                        ""
                    } else {
                        " (for a registry without TLS pass --plain-http)"
                    },
                }
            }
            other => RegistryError::Other {
                registry: self.registry.to_string(),
                what: self.what.clone(),
                message: short(&other.to_string()),
            },
        }
    }
}
