//! The attribute tree behind `proxy_get_property`: values tests set (e.g. `node.metadata.FOO`)
//! and the encodings of Envoy's attribute types.

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

/// Properties set by the test, keyed by dotted path (`node.metadata.FOO`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PropertyTree {
    values: BTreeMap<Vec<String>, PropertyValue>,
}

impl PropertyTree {
    pub(crate) fn set(&mut self, dotted: &str, value: PropertyValue) {
        let path = dotted.split('.').map(str::to_string).collect();
        self.values.insert(path, value);
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
    fn leaves_and_inner_maps() {
        let mut t = PropertyTree::default();
        t.set("node.metadata.FOO", "bar".into());
        t.set("node.metadata.N", PropertyValue::Int(3));
        t.set("node.id", "sidecar~1".into());
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
