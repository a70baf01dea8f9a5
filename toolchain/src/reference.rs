//! Image references (`registry/repository:tag`, `…@sha256:…`): parsing, normalising and the
//! short form shown to people.
//!
//! Parsing is `oci-spec`'s (docker's grammar and normalisation rules: `add-header:0.1` is
//! `docker.io/library/add-header:0.1`, a missing tag is `latest`). Digest references stay
//! digest references everywhere.

pub use oci_client::Reference;

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

/// Parses and normalises `s`.
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
    if let Some(d) = parsed.digest()
        && !(d.len() == 71
            && d.starts_with("sha256:")
            && d[7..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    {
        return Err(err(format!(
            "`{d}` is not a sha256 digest (sha256: and 64 lowercase hex digits)"
        )));
    }
    Ok(parsed)
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
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("example.com:5000"));
    }
}
