//! `invariants:` — rules every HTTP step keeps, in the `--invariant` syntax of `cargo wasme
//! fuzz`. The rules themselves (parsing and judging) are the harness's
//! [`UserInvariant`]; this is only its place in the file format.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use wasme_harness::fuzz::UserInvariant;

/// One invariant every HTTP step keeps, e.g. `upstream-has-header=x-request-id` or `no-5xx`.
// Checked while deserializing, so a wrong rule is an error at its line and column.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(rename = "Invariant", schema_with = "invariant_schema")]
pub struct Invariant(pub UserInvariant);

/// By hand: through `#[serde(try_from)]` the error would point at the enclosing list, not at
/// the rule (see `shape.rs`).
impl<'de> Deserialize<'de> for Invariant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Invariant;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an invariant such as `upstream-has-header=NAME` or `no-5xx`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Invariant, E> {
                UserInvariant::parse(v).map(Invariant).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// The schema's pattern mirrors [`UserInvariant::parse`].
fn invariant_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^\\s*((upstream-has-header|upstream-lacks-header|client-has-header)\\s*=\\s*\\S.*|no-5xx|no-local-reply)\\s*$"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse::parse_str;
    use std::path::Path;

    #[test]
    fn invariants_parse_and_a_wrong_one_points_at_its_line() {
        let s = parse_str(
            Path::new("s.yaml"),
            "module: f.wasm\ninvariants: [upstream-has-header=X-Id, no-5xx]\nsteps: [{request: {}}]\n",
        )
        .unwrap();
        assert_eq!(
            s.invariants,
            vec![
                Invariant(UserInvariant::UpstreamHasHeader("x-id".into())),
                Invariant(UserInvariant::NoFilter5xx)
            ]
        );
        let e = parse_str(
            Path::new("s.yaml"),
            "module: f.wasm\ninvariants:\n  - no-5xx\n  - always-fast\nsteps: [{request: {}}]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("s.yaml:4:"), "{e}");
        assert!(
            e.contains("invariants[1]: unknown invariant \"always-fast\""),
            "{e}"
        );
    }
}
