//! Image references (`registry/repository:tag`, `…@sha256:…`) and content digests: THE one
//! place both are parsed and validated.
//!
//! * [`parse`] parses and normalises a reference with `oci-spec`'s grammar (docker's rules:
//!   `add-header:0.1` is `docker.io/library/add-header:0.1`, a missing tag is `latest`), refuses
//!   upper-case repository names and checks a digest part with [`Digest`].
//! * [`Digest`] is a `sha256:<64 lower-case hex>` content digest. Lower-case hex is enforced
//!   once, in [`Digest::from_str`](std::str::FromStr) (and so in its `Deserialize`); a value of
//!   the type is always valid, so the store can build file names from it safely.
//!
//! ```
//! use cargo_wasme::reference::{self, Digest};
//! let r = reference::parse("add-header:0.1.0").unwrap();
//! assert_eq!(r.whole(), "docker.io/library/add-header:0.1.0");
//! assert_eq!(reference::familiar(&r), "add-header:0.1.0");
//!
//! let d = Digest::of(b"hello");
//! assert_eq!(d.hex().len(), 64);
//! assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
//! assert!("sha256:ABC".parse::<Digest>().is_err());
//! ```

pub use oci_client::Reference;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::fmt;
use std::str::FromStr;

/// An invalid image reference.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid image reference `{reference}`: {reason}; write it as [REGISTRY/]REPOSITORY[:TAG] or \
     [REGISTRY/]REPOSITORY@sha256:HEX (lowercase repository names)"
)]
pub struct ReferenceError {
    /// What was given.
    pub reference: String,
    /// Why it was rejected.
    pub reason: String,
}

/// A string that is not a `sha256:<64 lower-case hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a sha256 digest (sha256: and 64 lowercase hex digits)")]
pub struct DigestError(pub String);

/// A sha256 content digest, `sha256:<64 lower-case hex>`: the name of a blob or manifest.
///
/// ```
/// use cargo_wasme::reference::Digest;
/// let d: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
/// assert_eq!(d.hex(), "a".repeat(64));
/// assert_eq!(Digest::from_hex(&"a".repeat(64)).unwrap(), d);
/// assert!(format!("sha256:{}", "A".repeat(64)).parse::<Digest>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

const PREFIX: &str = "sha256:";

impl Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        Digest(format!("{PREFIX}{:x}", sha2::Sha256::digest(data)))
    }

    /// The digest a streaming hasher computed (for content hashed while it is read or written:
    /// [`crate::image::layer::Hashing`]).
    pub fn from_hasher(hasher: sha2::Sha256) -> Digest {
        Digest(format!("{PREFIX}{:x}", hasher.finalize()))
    }

    /// The digest whose hex part is `hex` (64 lower-case hex digits).
    pub fn from_hex(hex: &str) -> Result<Digest, DigestError> {
        if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Digest(format!("{PREFIX}{hex}")))
        } else {
            Err(DigestError(hex.to_owned()))
        }
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits, without `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }

    /// The first 12 hex digits, the short form shown to people (as docker does).
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        s.strip_prefix(PREFIX)
            .and_then(|hex| Digest::from_hex(hex).ok())
            .ok_or_else(|| DigestError(s.to_owned()))
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;

    fn try_from(s: String) -> Result<Digest, DigestError> {
        s.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Digest {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<Digest> for String {
    fn eq(&self, other: &Digest) -> bool {
        *self == other.0
    }
}

impl PartialEq<Digest> for str {
    fn eq(&self, other: &Digest) -> bool {
        self == other.0
    }
}

impl PartialEq<Digest> for &str {
    fn eq(&self, other: &Digest) -> bool {
        *self == other.0
    }
}

/// Parses and normalises `s`. An `oci://` prefix (Istio's URL form) is not accepted here:
/// strip it first.
///
/// ```
/// let r = cargo_wasme::reference::parse("add-header:0.1.0").unwrap();
/// assert_eq!(r.whole(), "docker.io/library/add-header:0.1.0");
/// assert_eq!(cargo_wasme::reference::familiar(&r), "add-header:0.1.0");
/// ```
pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
    let err = |reason: String| ReferenceError {
        reference: s.to_string(),
        reason,
    };
    if s.trim() != s || s.is_empty() {
        return Err(err("it is empty or has surrounding white space".into()));
    }
    let parsed: Reference = s
        .parse()
        .map_err(|e: oci_client::ParseError| err(e.to_string()))?;
    if parsed.repository().bytes().any(|b| b.is_ascii_uppercase())
        || s.split(['@', ':'])
            .next()
            .is_some_and(|n| n.bytes().any(|b| b.is_ascii_uppercase()) && !n.contains('/'))
    {
        return Err(err("repository names must be lowercase".into()));
    }
    if let Some(d) = parsed.digest() {
        d.parse::<Digest>().map_err(|e| err(e.to_string()))?;
    }
    Ok(parsed)
}

/// The digest `r` pins, when it has one ([`parse`] has checked it is a valid [`Digest`]).
pub fn digest_of(r: &Reference) -> Option<Digest> {
    r.digest().and_then(|d| d.parse().ok())
}

/// The short form people type: `docker.io/library/` and `docker.io/` are dropped.
pub fn familiar(r: &Reference) -> String {
    let whole = r.whole();
    whole
        .strip_prefix("docker.io/library/")
        .or_else(|| whole.strip_prefix("docker.io/"))
        .map(str::to_string)
        .unwrap_or(whole)
}

/// Whether the registry should be spoken to over plain HTTP without being asked:
/// `localhost` and `127.0.0.1` (any port).
pub fn is_loopback(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            registry
        }
    });
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(parse("a").unwrap().whole(), "docker.io/library/a:latest");
        let hex = "a".repeat(64);
        let d = parse(&format!("127.0.0.1:5000/x/y@sha256:{hex}")).unwrap();
        assert_eq!(d.digest(), Some(format!("sha256:{hex}").as_str()));
        assert_eq!(d.tag(), None);
        for bad in ["", "UPPER/case", "a b", "x@sha256:abc", " a", "a:"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&format!("x@sha256:{}", "A".repeat(64))).is_err());
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("example.com:5000"));
    }

    #[test]
    fn digests_are_lowercase_sha256_only() {
        let hex = "0123456789abcdef".repeat(4);
        let d: Digest = format!("sha256:{hex}").parse().unwrap();
        assert_eq!(d.hex(), hex);
        for bad in [
            format!("sha256:{}", hex.to_uppercase()),
            format!("sha512:{hex}"),
            format!("sha256:{}", &hex[1..]),
            hex.clone(),
            format!("sha256:{hex}0"),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:00\"").is_err());
    }
}
