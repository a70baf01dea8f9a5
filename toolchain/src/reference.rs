//! Image references (`registry/repository:tag`, `…@sha256:…`) and content digests: THE one
//! place both are parsed and validated.
//!
//! * [`parse`] parses and normalises a reference with docker's grammar (the rules of
//!   docker/distribution's `reference/regexp.go` and `normalize.go`, as `oci-spec` has them:
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
    let parsed = grammar(s).map_err(|e| err(e.to_string()))?;
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

/// The distribution reference grammar, giving what `oci-spec`'s `Reference::from_str` gives
/// (same fields, same [`ParseError`](oci_client::ParseError)), except that a tag is ASCII only,
/// as in docker/distribution (Go's `\w`) and the OCI distribution spec
/// (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`); `oci-spec`'s Unicode regex also accepts non-ASCII
/// word characters there, which no registry serves.
///
/// Hand-written on purpose: `oci-spec` matches this grammar with a large Unicode regex that is
/// compiled once per process, which cost every `cargo-wasme` command that names an image tens
/// of milliseconds of CPU optimised and ~0.15 s unoptimised (the tests start it hundreds of
/// times). No maintained crate parses references without a regex. The `grammar_matches_oci_spec`
/// property test checks this function against `oci-spec` on generated strings.
///
/// The grammar (`regexp.go`): `[DOMAIN/]PATH[:TAG][@DIGEST]` where DOMAIN is dot-separated
/// components `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` with an optional `:PORT` of digits,
/// PATH is `/`-separated components `[a-z0-9]+` joined by one separator (`.`, `_`, `__` or any
/// run of `-`), TAG is `\w[\w.-]{0,127}` and DIGEST `ALGO:HEX{32,}` with ALGO letters and
/// digits in parts joined by `-_+.`. Normalisation (`normalize.go`): a first component without
/// `.` or `:` that is not `localhost` is no domain (`docker.io`), `index.docker.io` is
/// `docker.io`, a one-component `docker.io` repository gets `library/`, no tag and no digest
/// means `latest`. Then (`oci-spec`): the repository is at most 255 bytes, and a sha256, sha384
/// or sha512 digest has 64, 96 or 128 hex digits; other algorithms are unsupported.
pub(crate) fn grammar(s: &str) -> Result<Reference, oci_client::ParseError> {
    use oci_client::ParseError as E;
    if s.is_empty() {
        return Err(E::NameEmpty);
    }
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (s, None),
    };
    // A tag follows the last `:` when no `/` comes after it (a port's `:` is always followed
    // by the `/` that ends the domain).
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if !name_ok(name) || tag.is_some_and(|t| !tag_ok(t)) || digest.is_some_and(|d| !digest_ok(d)) {
        return Err(E::ReferenceInvalidFormat);
    }
    let (registry, repository) = split_domain(name);
    if repository.len() > 255 {
        return Err(E::NameTooLong);
    }
    if let Some(d) = digest {
        let (algorithm, hex) = d.split_once(':').ok_or(E::DigestInvalidFormat)?;
        let want = match algorithm {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => return Err(E::DigestUnsupported),
        };
        if hex.len() != want {
            return Err(E::DigestInvalidLength);
        }
    }
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => {
            Reference::with_tag_and_digest(registry, repository, t.into(), d.into())
        }
        (None, Some(d)) => Reference::with_digest(registry, repository, d.into()),
        (t, None) => Reference::with_tag(registry, repository, t.unwrap_or("latest").into()),
    })
}

/// `[DOMAIN/]PATH`: the first component is a domain when it can be one and more follow;
/// otherwise every component is a path component.
fn name_ok(name: &str) -> bool {
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or_default();
    let rest_ok = parts.clone().all(path_component_ok);
    rest_ok && (path_component_ok(first) || (parts.next().is_some() && domain_ok(first)))
}

/// `[a-z0-9]+` runs joined by exactly one of `.`, `_`, `__` or a run of `-`.
fn path_component_ok(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: &u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !b.first().is_some_and(alnum) || !b.last().is_some_and(alnum) {
        return false;
    }
    b.split(alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&x| x == b'-'))
}

/// Dot-separated `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` components, then `:PORT` (digits).
fn domain_ok(d: &str) -> bool {
    let (host, port) = match d.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
            && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
    };
    host.split('.').all(label_ok)
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|x| x.is_ascii_digit()))
}

/// `\w[\w.-]{0,127}`, ASCII.
fn tag_ok(t: &str) -> bool {
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let b = t.as_bytes();
    (1..=128).contains(&b.len())
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`.
fn digest_ok(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let part_ok = |p: &[u8]| {
        p.first().is_some_and(u8::is_ascii_alphabetic) && p.iter().all(u8::is_ascii_alphanumeric)
    };
    algorithm
        .as_bytes()
        .split(|x| matches!(x, b'-' | b'_' | b'+' | b'.'))
        .all(part_ok)
        && hex.len() >= 32
        && hex.bytes().all(|x| x.is_ascii_hexdigit())
}

/// docker/distribution's `splitDockerDomain` (`normalize.go`).
fn split_domain(name: &str) -> (String, String) {
    let (domain, remainder) = match name.split_once('/') {
        Some((left, right)) if left.contains(['.', ':']) || left == "localhost" => (left, right),
        _ => ("docker.io", name),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let remainder = if domain == "docker.io" && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder.to_string()
    };
    (domain.to_string(), remainder)
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

    /// The hand-written grammar against `oci-spec`'s regex: same result (fields or error) on
    /// reference-shaped and arbitrary strings; where they differ, it is only that `oci-spec`
    /// accepted a non-ASCII tag, which the grammar refuses (docker's `\w` is ASCII).
    fn same_as_oci_spec(s: &str) -> Result<(), String> {
        let ours = grammar(s);
        let theirs = s.parse::<Reference>();
        if ours == theirs {
            return Ok(());
        }
        // The one allowed difference: the tag is not ASCII, we refuse it, and with an ASCII
        // tag in its place both agree and `oci-spec` says what it said before (the rest of the
        // reference was judged the same way).
        let rest = s.split_once('@').map_or(s, |(r, _)| r);
        let tag = rest.rfind(':').filter(|&i| !rest[i..].contains('/'));
        if let (Some(i), Err(oci_client::ParseError::ReferenceInvalidFormat)) = (tag, &ours)
            && !rest[i + 1..].is_ascii()
        {
            let ascii = format!("{}:t{}", &rest[..i], &s[rest.len()..]);
            let again = ascii.parse::<Reference>();
            let same_rest = match (&theirs, &again) {
                (Ok(a), Ok(b)) => {
                    (a.registry(), a.repository(), a.digest())
                        == (b.registry(), b.repository(), b.digest())
                }
                (Err(a), Err(b)) => a == b,
                _ => false,
            };
            if same_rest && grammar(&ascii) == again {
                return Ok(());
            }
        }
        Err(format!("{s:?}: ours {ours:?}, oci-spec {theirs:?}"))
    }

    #[test]
    fn grammar_known_cases() {
        let hex = "0123456789abcdef".repeat(4);
        for s in [
            "busybox",
            "test.com:tag",
            "test.com:5000",
            "test.com/repo:tag",
            "test:5000/repo",
            "test:5000/repo:tag",
            "localhost/x",
            "localhost:5000/a/b_c__d---e.f:v1.2-x_y",
            "index.docker.io/x",
            "index.docker.io/a/b",
            "docker.io/x:1",
            "UPPER/case",
            "Upper.Host-1.example:443/x",
            "a__b",
            "a___b",
            "a._b",
            "a..b",
            "-a",
            "a-",
            "a/",
            "/a",
            "a//b",
            "a:",
            ":a",
            "a@",
            "@a",
            "a:b:c",
            "a:5000",
            "a:5000/b:c@d",
            "host-/x",
            "-host.com/x",
            "h..com/x",
            "h.com:/x",
            "h.com:x/y",
            "x:_tag",
            "x:.tag",
            "x:-tag",
            "x:é",
            "x:aé",
            "x@sha256:abc",
            "x@sha1:0123456789abcdef0123456789abcdef",
            "x@SHA256:0123456789abcdef0123456789abcdef",
            "x@a+b.c-d_e:0123456789abcdef0123456789abcdef",
            "x@a++b:0123456789abcdef0123456789abcdef",
            "x@1a:0123456789abcdef0123456789abcdef",
            "x@a:b@c",
            "x@@y",
        ] {
            same_as_oci_spec(s).unwrap();
        }
        for s in [
            format!("x@sha256:{hex}"),
            format!("x:t@sha256:{hex}"),
            format!("x@sha256:{hex}0"),
            format!("x@sha384:{}", "a".repeat(96)),
            format!("x@sha512:{}", "A".repeat(128)),
            format!("x@sha512:{}", "a".repeat(127)),
            format!("x:{}", "t".repeat(128)),
            format!("x:{}", "t".repeat(129)),
            "a".repeat(247),
            "a".repeat(248),
            format!("h.com/{}", "a".repeat(255)),
            format!("h.com/{}", "a".repeat(256)),
        ] {
            same_as_oci_spec(&s).unwrap();
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn grammar_matches_oci_spec_shaped(
            s in "(([a-zA-Z0-9-]{1,6}(\\.[a-zA-Z0-9-]{0,6}){0,2}|localhost|index\\.docker\\.io)(:[0-9]{0,5})?/)?[a-z0-9._-]{1,8}(/[a-z0-9._-]{0,8}){0,3}(:[\\w.-]{0,8})?(@[a-zA-Z0-9+._-]{0,8}:[0-9a-fA-F]{30,130})?"
        ) {
            same_as_oci_spec(&s).map_err(proptest::test_runner::TestCaseError::fail)?;
        }

        #[test]
        fn grammar_matches_oci_spec_alphabet(s in "[a-zA-Z0-9._:/@+-]{0,24}") {
            same_as_oci_spec(&s).map_err(proptest::test_runner::TestCaseError::fail)?;
        }

        #[test]
        fn grammar_matches_oci_spec_arbitrary(s in ".{0,40}") {
            same_as_oci_spec(&s).map_err(proptest::test_runner::TestCaseError::fail)?;
        }

        #[test]
        fn grammar_matches_oci_spec_long(
            host in "([a-z0-9.]{1,12}/)?",
            name in "[a-z]{1,40}(/[a-z]{1,80}){0,4}",
            tag in "(:[a-z]{120,135})?",
        ) {
            same_as_oci_spec(&format!("{host}{name}{tag}"))
                .map_err(proptest::test_runner::TestCaseError::fail)?;
        }
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
