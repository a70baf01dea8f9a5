//! Header maps: names checked and lower-cased, values a scalar or a list for a repeated header,
//! kept in file order.

use super::shape::Scalar;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// Header name → value, in file order. A value may be a list for a repeated header.
/// Names are lower-cased (as Envoy does) and must be valid header names.
#[derive(Debug, Clone, Default, PartialEq, Eq, JsonSchema)]
#[schemars(with = "BTreeMap<HeaderName, OneOrMany>")]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The headers as `(&str, &str)` pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Checks a header name (RFC 9110 token, or an HTTP/2 pseudo-header) and lower-cases it.
///
/// ```
/// use cargo_wasme::scenario::format::header_name;
/// assert_eq!(header_name("X-Demo").unwrap(), "x-demo");
/// assert_eq!(header_name(":path").unwrap(), ":path");
/// assert!(header_name("bad name").is_err());
/// ```
pub fn header_name(name: &str) -> Result<String, String> {
    let body = name.strip_prefix(':').unwrap_or(name);
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if body.is_empty() || !body.chars().all(is_tchar) {
        return Err(format!("{name:?} is not a valid header name"));
    }
    Ok(name.to_ascii_lowercase())
}

/// A checked, lower-cased header name (a map key).
#[derive(Deserialize, JsonSchema)]
#[serde(try_from = "String")]
struct HeaderName(String);

impl TryFrom<String> for HeaderName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        header_name(&name).map(HeaderName)
    }
}

/// One value, or a list of values for a repeated header.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum OneOrMany {
    One(Scalar),
    Many(Vec<Scalar>),
}

/// Hand-written: the header list keeps file order and repeats, which serde's map types (the
/// only maps its derives produce) would reorder or merge.
impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Headers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
                let mut out = Vec::new();
                while let Some(HeaderName(name)) = map.next_key()? {
                    match map.next_value()? {
                        OneOrMany::One(v) => out.push((name, v.0)),
                        OneOrMany::Many(vs) => {
                            out.extend(vs.into_iter().map(|v| (name.clone(), v.0)))
                        }
                    }
                }
                Ok(Headers(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_repeats_and_lowercases() {
        let h: Headers = serde_norway::from_str("{X-B: 1, a: [x, true], x-b: 2}").unwrap();
        assert_eq!(
            h.pairs().collect::<Vec<_>>(),
            [("x-b", "1"), ("a", "x"), ("a", "true"), ("x-b", "2")]
        );
        let e = serde_norway::from_str::<Headers>("{ok: 1, \"no way\": 2}").unwrap_err();
        assert!(e.to_string().contains("not a valid header name"), "{e}");
    }
}
