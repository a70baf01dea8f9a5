//! The configuration's JSON Schema, recorded in the filter's image (feature `schema`).
//!
//! A [`JsonConfig`] type that also derives [`schemars::JsonSchema`] can export the schema of
//! its JSON form with [`export_config_schema!`](crate::export_config_schema):
//!
//! ```
//! use serde::Deserialize;
//! use wasme_sdk::JsonConfig;
//! use wasme_sdk::schemars::{self, JsonSchema};
//!
//! #[derive(Deserialize, JsonSchema)]
//! #[schemars(crate = "wasme_sdk::schemars")]
//! #[serde(deny_unknown_fields)]
//! struct Config {
//!     name: String,
//! }
//! impl JsonConfig for Config {}
//!
//! wasme_sdk::export_config_schema!(Config);
//!
//! let schema = wasme_sdk::schema::config_schema::<Config>();
//! assert_eq!(schema["properties"]["name"]["type"], "string");
//! assert_eq!(schema["additionalProperties"], false);
//! ```
//!
//! `cargo wasme build` records the schema in the image (`inspect` shows it; `deploy`,
//! `render`, `run` and `test` validate every configuration against it before the filter's own
//! dry run). The shipped module carries none of the code that makes the schema: an ordinary
//! build of the macro writes only a one-byte custom section, [`MARKER_SECTION`], which the
//! pipeline strips; seeing it, `cargo wasme build` builds the crate a second time (profile
//! `wasme-schema`, a `dev` profile in its own directory) with this crate's `schema-export`
//! feature, where the macro writes the export, runs that module once in a sandbox and discards
//! it. (Running an export in the shipped build and removing it afterwards leaves the data and
//! the function-table entries of the schema code behind: add-header grew by 20 KB that way.)
//!
//! # What the schema describes
//!
//! The configuration text as [`JsonConfig`] reads it: a JSON document, or, when the type takes
//! plain strings ([`JsonConfig::from_plain_string`] returns `Some` for any text it handles), a
//! string too: the schema is then `anyOf: [{"type": "string"}, <the type's schema>]`, since a
//! schema must never reject a configuration the filter accepts. An empty configuration is
//! handed to [`JsonConfig::empty`] and not checked against the schema.
//!
//! # ABI
//!
//! The export is `wasme_config_schema: () -> i64`: the address of the schema's UTF-8 JSON text
//! in the module's memory in the high 32 bits, its length in bytes in the low 32 bits. It
//! calls no host function (the toolchain runs it with every import trapping). A module from
//! another language can instead carry the schema as a custom section named
//! `wasme.config_schema` holding the raw JSON text (or export the function itself: the build
//! then removes the export before optimising).

use crate::JsonConfig;
pub use schemars;
use schemars::JsonSchema;
use serde_json::{Map, Value};

/// The name of the export [`export_config_schema!`](crate::export_config_schema) writes.
pub const EXPORT_NAME: &str = "wasme_config_schema";

/// The custom section a module from another language may carry the schema in (raw JSON).
pub const SECTION_NAME: &str = "wasme.config_schema";

/// The custom section an ordinary build of [`export_config_schema!`](crate::export_config_schema)
/// writes (one byte): the crate has a schema, to be read from a `schema-export` build.
pub const MARKER_SECTION: &str = "wasme.config_schema.export";

/// Texts offered to [`JsonConfig::from_plain_string`] to find out whether the type takes plain
/// strings at all (the default implementation returns `None` for every text).
const PROBES: &[&str] = &["x", "0", "true", "hello world", "-"];

/// Whether `T` takes plain-string configurations.
pub fn accepts_plain_strings<T: JsonConfig>() -> bool {
    PROBES.iter().any(|p| T::from_plain_string(p).is_some())
}

/// The JSON Schema (draft 2020-12) of `T`'s configuration text.
pub fn config_schema<T: JsonConfig + JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>().to_value();
    if !accepts_plain_strings::<T>() {
        return schema;
    }
    let Value::Object(mut inner) = schema else {
        return schema;
    };
    let mut root = Map::new();
    // Root-only keywords stay at the root, where `$ref`s into `$defs` resolve.
    for key in ["$schema", "title", "description", "$defs"] {
        if let Some(v) = inner.remove(key) {
            root.insert(key.to_owned(), v);
        }
    }
    let plain = serde_json::json!({
        "type": "string",
        "description": "a plain-string configuration (text not starting with `{` or `[`)"
    });
    root.insert(
        "anyOf".to_owned(),
        Value::Array(vec![plain, Value::Object(inner)]),
    );
    Value::Object(root)
}

/// The body of the export: the schema's JSON text, leaked, as `(address << 32) | length`.
#[doc(hidden)]
pub fn __export<T: JsonConfig + JsonSchema>() -> u64 {
    let text = config_schema::<T>().to_string().into_bytes();
    let text: &'static [u8] = Box::leak(text.into_boxed_slice());
    ((text.as_ptr() as usize as u64) << 32) | text.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConfigError;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    #[schemars(crate = "crate::schemars")]
    struct Plain {
        #[allow(dead_code)]
        name: String,
    }
    impl JsonConfig for Plain {
        fn from_plain_string(text: &str) -> Option<Result<Self, ConfigError>> {
            Some(Ok(Plain { name: text.into() }))
        }
    }

    #[derive(Deserialize, JsonSchema)]
    #[schemars(crate = "crate::schemars")]
    struct Strict {
        #[allow(dead_code)]
        n: u32,
    }
    impl JsonConfig for Strict {}

    #[test]
    fn plain_strings_make_an_any_of() {
        assert!(accepts_plain_strings::<Plain>());
        let s = config_schema::<Plain>();
        assert_eq!(s["anyOf"][0]["type"], "string");
        assert_eq!(s["anyOf"][1]["properties"]["name"]["type"], "string");
        assert!(s["$schema"].as_str().is_some_and(|u| u.contains("2020-12")));
        assert!(s["anyOf"][1].get("$schema").is_none());
    }

    #[test]
    fn strict_types_keep_their_schema() {
        assert!(!accepts_plain_strings::<Strict>());
        let s = config_schema::<Strict>();
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], serde_json::json!(["n"]));
    }
}
