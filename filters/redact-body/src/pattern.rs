//! The redaction pattern language: literals plus a few character classes, matched on bytes.
//!
//! Hand-written instead of the `regex` crate on purpose: `regex` adds several hundred KiB to a
//! Wasm module and its worst cases are harder to bound; redacting tokens, card numbers and keys
//! needs only this:
//!
//! | syntax | matches |
//! |---|---|
//! | any other character | itself (case-sensitive) |
//! | `\d` | an ASCII digit |
//! | `\w` | an ASCII letter, digit or `_` |
//! | `\s` | ASCII white space |
//! | `\a` | an ASCII letter |
//! | `.` | any byte |
//! | `\` + other character | that character (`\.`, `\+`, `\{`, `\\`) |
//! | atom`+` | one or more, as many as possible (possessive: never gives back) |
//! | atom`{n}` / atom`{n,m}` | exactly n / n to m, as many as possible (possessive) |
//!
//! Quantifiers are possessive, so matching is linear in the body size: `\d+` followed by
//! `\d` never matches — write `\d{2,}`-style patterns instead (`{n,}` means n or more).
//! Matches do not overlap; the leftmost match of the earliest-listed pattern wins.

use std::fmt;

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// The pattern.
    pub pattern: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern {:?}: {}", self.pattern, self.problem)
    }
}

impl std::error::Error for PatternError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Byte(u8),
    Digit,
    Word,
    Space,
    Alpha,
    Any,
}

impl Class {
    fn matches(self, b: u8) -> bool {
        match self {
            Class::Byte(x) => b == x,
            Class::Digit => b.is_ascii_digit(),
            Class::Word => b.is_ascii_alphanumeric() || b == b'_',
            Class::Space => b.is_ascii_whitespace(),
            Class::Alpha => b.is_ascii_alphabetic(),
            Class::Any => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Atom {
    class: Class,
    min: usize,
    max: usize,
}

/// A compiled pattern.
///
/// ```
/// use redact_body::Pattern;
/// let card = Pattern::parse(r"\d{4}-\d{4}-\d{4}-\d{4}").unwrap();
/// assert_eq!(card.find(b"card 1234-5678-9012-3456 ok", 0), Some((5, 24)));
/// assert!(Pattern::parse(r"\d{3").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    atoms: Vec<Atom>,
}

impl Pattern {
    /// Compiles `source`.
    pub fn parse(source: &str) -> Result<Self, PatternError> {
        let err = |problem: String| PatternError {
            pattern: source.to_string(),
            problem,
        };
        let bytes = source.as_bytes();
        let mut atoms: Vec<Atom> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            let class = match b {
                b'\\' => {
                    let Some(&next) = bytes.get(i) else {
                        return Err(err("ends with a lone '\\'".into()));
                    };
                    i += 1;
                    match next {
                        b'd' => Class::Digit,
                        b'w' => Class::Word,
                        b's' => Class::Space,
                        b'a' => Class::Alpha,
                        other => Class::Byte(other),
                    }
                }
                b'.' => Class::Any,
                b'+' | b'{' => {
                    let Some(last) = atoms.last_mut() else {
                        return Err(err(format!(
                            "'{}' at byte {} has nothing to repeat (escape it as '\\{}')",
                            b as char,
                            i - 1,
                            b as char
                        )));
                    };
                    if last.min != 1 || last.max != 1 {
                        return Err(err(format!(
                            "byte {}: a quantifier is already applied",
                            i - 1
                        )));
                    }
                    if b == b'+' {
                        last.max = usize::MAX;
                    } else {
                        let Some(len) = bytes[i..].iter().position(|&c| c == b'}') else {
                            return Err(err(format!("'{{' at byte {} is not closed", i - 1)));
                        };
                        let inside = &source[i..i + len];
                        i += len + 1;
                        let (min, max) = parse_range(inside).ok_or_else(|| {
                            err(format!("'{{{inside}}}' is not {{n}}, {{n,}} or {{n,m}}"))
                        })?;
                        last.min = min;
                        last.max = max;
                    }
                    continue;
                }
                other => Class::Byte(other),
            };
            atoms.push(Atom {
                class,
                min: 1,
                max: 1,
            });
        }
        if atoms.is_empty() {
            return Err(err("is empty".into()));
        }
        if atoms.iter().all(|a| a.min == 0) {
            return Err(err("can match the empty string".into()));
        }
        Ok(Pattern { atoms })
    }

    /// The length of the match starting exactly at `at`, if any.
    fn match_at(&self, hay: &[u8], at: usize) -> Option<usize> {
        let mut pos = at;
        for atom in &self.atoms {
            let mut n = 0;
            while n < atom.max && pos + n < hay.len() && atom.class.matches(hay[pos + n]) {
                n += 1;
            }
            if n < atom.min {
                return None;
            }
            pos += n;
        }
        Some(pos - at)
    }

    /// The first match at or after `from`: `(start, end)`.
    pub fn find(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        (from..hay.len()).find_map(|start| {
            self.match_at(hay, start)
                .filter(|len| *len > 0)
                .map(|len| (start, start + len))
        })
    }
}

fn parse_range(inside: &str) -> Option<(usize, usize)> {
    let (min, max) = match inside.split_once(',') {
        None => {
            let n = inside.trim().parse().ok()?;
            (n, n)
        }
        Some((lo, hi)) if hi.trim().is_empty() => (lo.trim().parse().ok()?, usize::MAX),
        Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
    };
    (min <= max && max > 0).then_some((min, max))
}

/// Replaces every match of any pattern in `body` with `replacement`; returns the new body and
/// how many matches were replaced.
///
/// ```
/// use redact_body::{redact, Pattern};
/// let patterns = [Pattern::parse("secret").unwrap(), Pattern::parse(r"sk_\w+").unwrap()];
/// let (out, n) = redact(b"a secret and sk_live_42!", &patterns, b"***");
/// assert_eq!((out.as_slice(), n), (&b"a *** and ***!"[..], 2));
/// ```
pub fn redact(body: &[u8], patterns: &[Pattern], replacement: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(body.len());
    let mut count = 0;
    let mut pos = 0;
    while pos < body.len() {
        let hit = patterns
            .iter()
            .filter_map(|p| p.match_at(body, pos).filter(|len| *len > 0))
            .next();
        match hit {
            Some(len) => {
                out.extend_from_slice(replacement);
                pos += len;
                count += 1;
            }
            None => {
                out.push(body[pos]);
                pos += 1;
            }
        }
    }
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap()
    }

    #[test]
    fn classes_and_escapes() {
        assert_eq!(p(r"\d\d").find(b"ab12", 0), Some((2, 4)));
        assert_eq!(p(r"a\.b").find(b"axb a.b", 0), Some((4, 7)));
        assert_eq!(p(r"\a+").find(b"12 abc 3", 0), Some((3, 6)));
        assert_eq!(p(r"x\s+y").find(b"x \t y", 0), Some((0, 5)));
        assert_eq!(p(r"\+1").find(b"call +1", 0), Some((5, 7)));
        assert_eq!(p("a.c").find(b"abc", 0), Some((0, 3)));
    }

    #[test]
    fn counted_repetition() {
        assert_eq!(
            p(r"\d{3}-\d{2}-\d{4}").find(b"ssn 123-45-6789.", 0),
            Some((4, 15))
        );
        assert_eq!(p(r"\d{2,3}").find(b"12345", 0), Some((0, 3)));
        assert_eq!(p(r"x\d{2,}").find(b"x12345y", 0), Some((0, 6)));
        assert_eq!(p(r"\d{4}").find(b"123", 0), None);
    }

    #[test]
    fn quantifiers_are_possessive() {
        assert_eq!(p(r"\d+1").find(b"1111", 0), None);
    }

    #[test]
    fn bad_patterns_say_why() {
        let e = |s: &str| Pattern::parse(s).unwrap_err().to_string();
        assert!(e("+a").contains("nothing to repeat"));
        assert!(e(r"a\").contains("lone"));
        assert!(e("a{2").contains("not closed"));
        assert!(e("a{x}").contains("is not {n}"));
        assert!(e("a{3,1}").contains("is not {n}"));
        assert!(e("a++").contains("already applied"));
        assert!(e("").contains("empty"));
        assert!(e("a{0}").contains("is not"));
        assert!(e("a{0,2}").contains("empty string"));
    }

    #[test]
    fn redaction_is_non_overlapping_and_ordered() {
        let pats = [p("abc"), p("bcd")];
        let (out, n) = redact(b"abcd bcd", &pats, b"#");
        assert_eq!(out, b"#d #");
        assert_eq!(n, 2);
        let (out, n) = redact(b"nothing here", &pats, b"#");
        assert_eq!((out.as_slice(), n), (&b"nothing here"[..], 0));
    }
}
