//! Properties as a test sets them: [`PropertyValue`], the path syntax
//! ([`parse_property_path`]) and the tree they are kept in (per host, per stream). How the
//! guest reads them (`proxy_get_property`) is the properties service in the envoy layer.

use crate::abi::wire::{Pair, encode_pairs};
use std::collections::BTreeMap;

/// A property value, encoded the way Envoy returns attributes: strings and bytes raw, integers
/// and doubles as 8 little-endian bytes, booleans as one byte, maps in the header-pairs format.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// A string.
    String(String),
    /// Raw bytes (also serialized protobuf messages).
    Bytes(Vec<u8>),
    /// int64 (also durations and timestamps, in nanoseconds).
    Int(i64),
    /// uint64.
    Uint(u64),
    /// double.
    Double(f64),
    /// bool.
    Bool(bool),
    /// A string map.
    Map(Vec<Pair>),
}

impl PropertyValue {
    /// The bytes `proxy_get_property` returns.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            PropertyValue::String(s) => s.as_bytes().to_vec(),
            PropertyValue::Bytes(b) => b.clone(),
            PropertyValue::Int(i) => i.to_le_bytes().to_vec(),
            PropertyValue::Uint(u) => u.to_le_bytes().to_vec(),
            PropertyValue::Double(d) => d.to_le_bytes().to_vec(),
            PropertyValue::Bool(b) => vec![u8::from(*b)],
            PropertyValue::Map(m) => encode_pairs(m),
        }
    }
}

impl From<&str> for PropertyValue {
    fn from(s: &str) -> Self {
        PropertyValue::String(s.to_string())
    }
}
impl From<String> for PropertyValue {
    fn from(s: String) -> Self {
        PropertyValue::String(s)
    }
}
impl From<Vec<u8>> for PropertyValue {
    fn from(b: Vec<u8>) -> Self {
        PropertyValue::Bytes(b)
    }
}
impl From<&[u8]> for PropertyValue {
    fn from(b: &[u8]) -> Self {
        PropertyValue::Bytes(b.to_vec())
    }
}
impl From<i64> for PropertyValue {
    fn from(i: i64) -> Self {
        PropertyValue::Int(i)
    }
}
impl From<u64> for PropertyValue {
    fn from(u: u64) -> Self {
        PropertyValue::Uint(u)
    }
}
impl From<f64> for PropertyValue {
    fn from(d: f64) -> Self {
        PropertyValue::Double(d)
    }
}
impl From<bool> for PropertyValue {
    fn from(b: bool) -> Self {
        PropertyValue::Bool(b)
    }
}

/// Splits a property path written as text into its segments.
///
/// Segments are separated by `.`; a segment that itself contains dots (Envoy's filter names in
/// `metadata.filter_metadata`) is written in square brackets:
/// `metadata.filter_metadata[envoy.filters.http.lua].key` is the four segments `metadata`,
/// `filter_metadata`, `envoy.filters.http.lua`, `key` (the dot before `[` is optional). A
/// bracket that is not closed, an empty segment, or text right after `]` is an error.
///
/// ```
/// let p = wasme_harness::parse_property_path("metadata.filter_metadata[envoy.lua].k").unwrap();
/// assert_eq!(p, ["metadata", "filter_metadata", "envoy.lua", "k"]);
/// assert!(wasme_harness::parse_property_path("a.[b").is_err());
/// ```
pub fn parse_property_path(text: &str) -> Result<Vec<String>, String> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        if let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else {
                return Err(format!("property path {text:?}: `[` without a closing `]`"));
            };
            segments.push(inner[..end].to_string());
            rest = &inner[end + 1..];
            if rest.is_empty() {
                break;
            }
            rest = match rest.strip_prefix('.') {
                Some(r) => r,
                None if rest.starts_with('[') => rest,
                None => {
                    return Err(format!(
                        "property path {text:?}: expected `.` or `[` after `]`, found {rest:?}"
                    ));
                }
            };
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let segment = &rest[..end];
        if segment.is_empty() {
            return Err(format!(
                "property path {text:?}: empty segment (write a segment containing dots as [a.b])"
            ));
        }
        segments.push(segment.to_string());
        rest = &rest[end..];
        if rest.is_empty() {
            break;
        }
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
        }
    }
    if segments.iter().any(String::is_empty) {
        return Err(format!("property path {text:?}: empty segment"));
    }
    Ok(segments)
}

/// Properties set by the test, keyed by their path segments (`node.metadata.FOO`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PropertyTree {
    values: BTreeMap<Vec<String>, PropertyValue>,
}

impl PropertyTree {
    /// Sets the property at `path` (its segments, see [`parse_property_path`]).
    pub(crate) fn set_segments(&mut self, path: Vec<String>, value: PropertyValue) {
        self.values.insert(path, value);
    }

    /// True when nothing is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Forgets every value (keeping nothing for the next stream).
    pub(crate) fn clear(&mut self) {
        self.values.clear();
    }

    /// The value at `path`; for an inner node, a map of its direct string-valued children
    /// (`node.metadata` → all metadata entries).
    pub(crate) fn get(&self, path: &[String]) -> Option<Vec<u8>> {
        if let Some(v) = self.values.get(path) {
            return Some(v.encode());
        }
        let mut children = Vec::new();
        for (k, v) in self.values.range(path.to_vec()..) {
            if !k.starts_with(path) {
                break;
            }
            if k.len() == path.len() + 1 {
                let value = match v {
                    PropertyValue::String(s) => s.clone(),
                    other => String::from_utf8_lossy(&other.encode()).into_owned(),
                };
                children.push((k[path.len()].clone(), value));
            } else if k.len() > path.len() + 1 && children.is_empty() {
                // A deeper subtree only: report it as present but without a flat encoding.
                children.push((k[path.len()].clone(), String::new()));
            }
        }
        (!children.is_empty()).then(|| encode_pairs(&children))
    }

    /// True when some property lives under the top-level name `first`.
    pub(crate) fn has_root(&self, first: &str) -> bool {
        self.values
            .keys()
            .any(|k| k.first().is_some_and(|f| f == first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_segments_keep_their_dots() {
        let p = |s: &str| parse_property_path(s);
        assert_eq!(p("a.b").unwrap(), ["a", "b"]);
        assert_eq!(p("a[b.c].d").unwrap(), ["a", "b.c", "d"]);
        assert_eq!(p("a.[b.c][d]").unwrap(), ["a", "b.c", "d"]);
        assert!(p("a..b").is_err());
        assert!(p("a.[b").is_err());
        assert!(p("a.[b]c").is_err());
        assert!(p("").is_err());
        assert!(p("a.[]").is_err());
    }

    #[test]
    fn leaves_and_inner_maps() {
        let mut t = PropertyTree::default();
        let mut set =
            |k: &str, v: PropertyValue| t.set_segments(parse_property_path(k).unwrap(), v);
        set("node.metadata.FOO", "bar".into());
        set("node.metadata.N", PropertyValue::Int(3));
        set("node.id", "sidecar~1".into());
        let p = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(t.get(&p("node.metadata.FOO")), Some(b"bar".to_vec()));
        assert_eq!(
            t.get(&p("node.metadata.N")),
            Some(3i64.to_le_bytes().to_vec())
        );
        let map = crate::abi::wire::decode_pairs(&t.get(&p("node.metadata")).unwrap()).unwrap();
        assert_eq!(map[0], ("FOO".to_string(), "bar".to_string()));
        assert_eq!(t.get(&p("node.nope")), None);
        assert!(t.has_root("node"));
    }
}
