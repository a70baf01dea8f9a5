//! The few value shapes of the scenario format that serde's derives cannot express without
//! losing the error location, written by hand once and reused by the derived types.
//!
//! Why by hand: serde's `#[serde(untagged)]` enums buffer the value, try each variant, and on
//! failure report only "data did not match any variant" (or the `expecting` text) — without
//! the inner error (say, `unknown field \`metod\``), and at the *enclosing* mapping's line
//! and field path instead of the value's. The visitors here dispatch on the YAML node's kind
//! instead and hand the value to a derived `Deserialize`, so every error from inside keeps
//! its own line, column and field path (see [`super::super::parse`]).

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// What a "shorthand or mapping" field accepts, for the `expected …` part of type errors.
pub(crate) trait Expecting {
    /// E.g. "a substring or a {level, contains} mapping".
    const EXPECTING: &'static str;
}

/// A type whose `false` form means "must not happen" (`upstream: false`).
pub(crate) trait FalseMeansAbsent {
    /// The value `false` stands for.
    fn absent() -> Self;
}

/// A YAML scalar (string, number or boolean) taken as its text.
///
/// Hand-written (with its schema) because "any scalar" is, for serde's derive, an untagged
/// enum of five types, whose type errors lose the value's location (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number", "boolean"]})
    }
}

/// A string shorthand `S` or the full mapping form `M` (`module: f.wasm` or
/// `module: {crate: ..}`; `- "text"` or `- {level: error, contains: text}`).
///
/// The schema is derived (`anyOf` the two forms); `Deserialize` is not (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
#[schemars(inline, description = "")]
pub(crate) enum StrOrMap<S, M> {
    // The shorthand.
    Str(S),
    // The mapping form.
    Map(M),
}

impl<S, M: From<S>> StrOrMap<S, M> {
    /// The value, with the shorthand expanded.
    pub(crate) fn expand(self) -> M {
        match self {
            StrOrMap::Str(s) => s.into(),
            StrOrMap::Map(m) => m,
        }
    }
}

/// Dispatches on the node's kind: a string goes to `S`, a mapping to `M`.
impl<'de, S, M> Deserialize<'de> for StrOrMap<S, M>
where
    S: Deserialize<'de>,
    M: Deserialize<'de> + Expecting,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<S, M>(PhantomData<(S, M)>);
        impl<'de, S, M> Visitor<'de> for V<S, M>
        where
            S: Deserialize<'de>,
            M: Deserialize<'de> + Expecting,
        {
            type Value = StrOrMap<S, M>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(M::EXPECTING)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                S::deserialize(de::value::StrDeserializer::<E>::new(v)).map(StrOrMap::Str)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                M::deserialize(de::value::MapAccessDeserializer::new(map)).map(StrOrMap::Map)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `false` ("this must not happen") or the mapping form `M` (`upstream: false` or
/// `upstream: {headers: …}`). `true` is an error: it would say nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FalseOr<M> {
    /// `false`.
    False,
    /// The mapping form.
    Map(M),
}

impl<M: FalseMeansAbsent> FalseOr<M> {
    /// The value, with `false` as [`FalseMeansAbsent::absent`].
    pub(crate) fn expand(self) -> M {
        match self {
            FalseOr::False => M::absent(),
            FalseOr::Map(m) => m,
        }
    }
}

/// Dispatches on the node's kind: `false` is [`FalseOr::False`], a mapping goes to `M`.
impl<'de, M> Deserialize<'de> for FalseOr<M>
where
    M: Deserialize<'de> + Expecting,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<M>(PhantomData<M>);
        impl<'de, M> Visitor<'de> for V<M>
        where
            M: Deserialize<'de> + Expecting,
        {
            type Value = FalseOr<M>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(M::EXPECTING)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                if v {
                    Err(E::custom(format_args!(
                        "`true` says nothing here: give `false` or a mapping ({})",
                        M::EXPECTING
                    )))
                } else {
                    Ok(FalseOr::False)
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                M::deserialize(de::value::MapAccessDeserializer::new(map)).map(FalseOr::Map)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Hand-written: a derived schema would give a unit variant `null`, not `const: false`.
impl<M: JsonSchema> JsonSchema for FalseOr<M> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("FalseOr{}", M::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let m = g.subschema_for::<M>();
        json_schema!({"anyOf": [{"const": false}, m]})
    }
}

/// `deserialize_with` for an optional field of the `false`-or-mapping shape.
pub(crate) fn false_or<'de, D, M>(d: D) -> Result<Option<M>, D::Error>
where
    D: Deserializer<'de>,
    M: Deserialize<'de> + Expecting + FalseMeansAbsent,
{
    Ok(Option::<FalseOr<M>>::deserialize(d)?.map(FalseOr::expand))
}

/// `deserialize_with` for a list whose items may use the string shorthand. (A value that is
/// not a list is reported as "expected a sequence".)
pub(crate) fn str_or_map_list<'de, D, S, M>(d: D) -> Result<Vec<M>, D::Error>
where
    D: Deserializer<'de>,
    S: Deserialize<'de>,
    M: Deserialize<'de> + Expecting + From<S>,
{
    let items = Vec::<StrOrMap<S, M>>::deserialize(d)?;
    Ok(items.into_iter().map(StrOrMap::expand).collect())
}
