//! Registry failures, each naming the cause and the fix.

use super::credentials::CredentialsError;
use crate::image::ImageError;
use crate::reference::{Digest, ReferenceError};
use crate::store::StoreError;
use oci_client::errors::OciDistributionError;

/// Which credentials a refused request carried (it decides what the user should do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// None: nothing is stored for the registry.
    Anonymous,
    /// The ones stored by `login` (or `docker login`, a credential helper, podman).
    Stored,
    /// The ones given on this command line (`login`).
    Given,
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CredentialSource::Anonymous => "without credentials (none are stored for it)",
            CredentialSource::Stored => "with the stored credentials",
            CredentialSource::Given => "with the user name and password given",
        })
    }
}

/// Why a registry operation failed. The local store and credentials are unchanged.
///
/// The message names the registry, the operation and the cause; [`RegistryError::help`]
/// says what to do about it (the CLI prints it as a `help:` line).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The reference does not parse.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// 401: no or wrong credentials.
    #[error("{registry} refused {what} (401 Unauthorized) {how}")]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// Which credentials were used.
        how: CredentialSource,
    },
    /// 403: authenticated but not allowed.
    #[error("{registry} denied {what} (403 Forbidden): the account has no {op} permission there")]
    Forbidden {
        /// The registry host.
        registry: String,
        /// What was attempted.
        what: String,
        /// `pull` or `push`.
        op: &'static str,
    },
    /// 404: no such repository, tag or digest.
    #[error("{reference} was not found on the registry (404)")]
    NotFound {
        /// The reference.
        reference: String,
    },
    /// A 429 or 5xx (after retries) or another unexpected status.
    #[error("{registry} failed {what}: HTTP {code} {message}{retried}")]
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
    /// The network failed: at once when the registry cannot be reached at all (refused, DNS,
    /// TLS), after retries when a connection broke.
    #[error("cannot reach {registry} while {what}: {message}{retried}")]
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
    #[error("cannot push {reference}: the local image's manifest digest is {actual}")]
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

impl RegistryError {
    /// What to do about the error, when there is something to say beyond its message.
    pub fn help(&self) -> Option<String> {
        match self {
            RegistryError::Unauthorized { registry, how, .. } => Some(match how {
                CredentialSource::Anonymous => format!(
                    "log in first: `cargo wasme login {registry} -u <user>` (or `docker login {registry}`)"
                ),
                CredentialSource::Stored => format!(
                    "the stored credentials may be wrong or expired: log in again with \
                     `cargo wasme login {registry} -u <user>`"
                ),
                CredentialSource::Given => {
                    "check the user name and the password or access token; nothing was stored"
                        .to_string()
                }
            }),
            RegistryError::Forbidden { op, .. } => Some(format!(
                "ask the repository's owner for {op} access, or use a repository your account owns"
            )),
            RegistryError::NotFound { .. } => {
                Some("check the repository name and the tag or digest".into())
            }
            RegistryError::Server { code: 429, .. } => Some(
                "the registry is rate-limiting this client: wait and try again (logged-in \
                 clients usually get higher limits)"
                    .into(),
            ),
            RegistryError::Server { code, .. } if *code >= 500 => {
                Some("the registry is failing: try again later or check its health".into())
            }
            RegistryError::Network {
                retried, tls_hint, ..
            } => Some(if retried.is_empty() {
                format!("check the address and that the registry is running{tls_hint}")
            } else {
                "the connection kept breaking: check the network and try again".to_string()
            }),
            RegistryError::DigestRefMismatch { .. } => {
                Some("push by tag, or use the image's own manifest digest".into())
            }
            _ => None,
        }
    }
}

/// Context for mapping a client error.
pub(crate) struct Ctx<'a> {
    pub registry: &'a str,
    pub reference: &'a str,
    pub what: String,
    pub op: &'static str,
    pub how: CredentialSource,
    pub plain_http: bool,
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
        let unauthorized = || self.unauthorized();
        let forbidden = || self.forbidden();
        let not_found = || self.not_found();
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
            OciDistributionError::ServerError { code, message, .. } => {
                self.status(code, &message, attempts)
            }
            OciDistributionError::RequestError(r) => self.request(&r, attempts),
            other => self.other(other.to_string()),
        }
    }

    fn unauthorized(&self) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.registry.to_string(),
            what: self.what.clone(),
            how: self.how,
        }
    }

    fn forbidden(&self) -> RegistryError {
        RegistryError::Forbidden {
            registry: self.registry.to_string(),
            what: self.what.clone(),
            op: self.op,
        }
    }

    fn not_found(&self) -> RegistryError {
        RegistryError::NotFound {
            reference: self.reference.to_string(),
        }
    }

    /// Any other failure, with `message` shortened.
    pub(crate) fn other(&self, message: String) -> RegistryError {
        RegistryError::Other {
            registry: self.registry.to_string(),
            what: self.what.clone(),
            message: short(&message),
        }
    }

    /// An HTTP status the request did not expect, with the response body.
    pub(crate) fn status(&self, code: u16, body: &str, attempts: u32) -> RegistryError {
        match code {
            401 => self.unauthorized(),
            403 => self.forbidden(),
            404 => self.not_found(),
            _ => RegistryError::Server {
                registry: self.registry.to_string(),
                what: self.what.clone(),
                code,
                message: short(body),
                retried: retried(code >= 500 || code == 429, attempts),
            },
        }
    }

    /// A failed HTTP exchange (refused, reset, timed out, TLS, or an error status).
    pub(crate) fn request(&self, r: &reqwest::Error, attempts: u32) -> RegistryError {
        if let Some(status) = r.status() {
            return self.status(status.as_u16(), "", attempts);
        }
        let mut message = r.to_string();
        let mut source = std::error::Error::source(r);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        RegistryError::Network {
            registry: self.registry.to_string(),
            what: self.what.clone(),
            message: short(&message),
            retried: retried(
                super::retry::classify_reqwest(r) != super::retry::Decision::GiveUp,
                attempts,
            ),
            tls_hint: if self.plain_http {
                ""
            } else {
                " (for a registry without TLS pass --plain-http)"
            },
        }
    }
}

/// The " (after N attempts)" note, for a retryable failure that was retried.
fn retried(retryable: bool, attempts: u32) -> String {
    if retryable && attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// The innermost cause of a `reqwest` failure (`connection reset by peer`, `Connection
/// refused`): what a retry warning shows.
pub(crate) fn describe_reqwest(r: &reqwest::Error) -> String {
    if let Some(status) = r.status() {
        return format!("HTTP {status}");
    }
    let mut last: &dyn std::error::Error = r;
    while let Some(s) = last.source() {
        last = s;
    }
    short(&last.to_string())
}

/// A one-line description of an `oci-client` failure for a retry warning.
pub(crate) fn describe_oci(e: &OciDistributionError) -> String {
    match e {
        OciDistributionError::ServerError { code, .. } => {
            let reason = http::StatusCode::from_u16(*code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            format!("HTTP {code} {reason}").trim_end().to_string()
        }
        OciDistributionError::RequestError(r) => describe_reqwest(r),
        other => short(&other.to_string()),
    }
}
