//! A filter's configuration schema: read from the module when it is built, recorded in the
//! image, shown by `inspect`, and checked before any configuration reaches the filter.
//!
//! * **Reading** ([`from_source`], [`of_module`]): a module carries its schema in the
//!   `wasme_config_schema` export (`wasme_sdk::export_config_schema!`), which is run once here
//!   in a sandbox where every import traps, with a fuel and memory limit; or in a
//!   `wasme.config_schema` custom section holding the JSON text (other languages). Either way
//!   the text must be JSON and a valid JSON Schema ([`ConfigSchema::new`]).
//! * **Checking** ([`ConfigSchema::check`]): `deploy` (every target, every configuration a
//!   target hands the filter), `render`, the node cache, the KRM function, `run` and `test` call
//!   it before the filter's own dry run. A violation names the JSON pointer of the value at
//!   fault: `/name: 5 is not of type "string"`.
//!
//! How configuration text is read, as `wasme_sdk::JsonConfig` reads it: empty (white space)
//! text is not checked (the filter's `empty()` decides); text starting with `{` or `[` is a
//! JSON document (text that is not JSON is left to the filter, whose error is more precise);
//! any other text is a plain string, checked as a JSON string, and also as JSON when it parses
//! as JSON (`5`, `true`): it passes when either reading is valid, so the schema never rejects
//! a configuration the filter takes.
//!
//! ```
//! use cargo_wasme::config_schema::ConfigSchema;
//! let schema = ConfigSchema::from_json(
//!     br#"{"type":"object","properties":{"name":{"type":"string"}}}"#,
//! ).unwrap();
//! assert!(schema.check(br#"{"name": "x"}"#).is_ok());
//! let errors = schema.check(br#"{"name": 5}"#).unwrap_err();
//! assert_eq!(errors[0].to_string(), r#"/name: 5 is not of type "string""#);
//! ```

use serde_json::Value;
use std::sync::Arc;
use wasme_build::SchemaSource;

pub use wasme_build::schema::{EXPORT, SECTION};

/// Why a module's schema cannot be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The schema text is not JSON.
    #[error("the configuration schema ({from}) is not JSON: {reason}")]
    NotJson {
        /// Where it came from.
        from: String,
        /// The parser's error.
        reason: String,
    },
    /// The JSON is not a valid JSON Schema.
    #[error("the configuration schema ({from}) is not a valid JSON Schema: {reason}")]
    Invalid {
        /// Where it came from.
        from: String,
        /// The meta-schema's complaint.
        reason: String,
    },
    /// Running the export failed (it trapped, called the host, ran out of fuel or returned a
    /// range outside memory).
    #[error("running the module's `{EXPORT}` export failed: {0}")]
    Export(String),
    /// The module could not be read.
    #[error("the module cannot be read: {0}")]
    Module(String),
    /// The image's config blob records a schema that is not JSON.
    #[error("{0}")]
    Image(String),
}

/// A checked JSON Schema of a filter's configuration.
#[derive(Clone)]
pub struct ConfigSchema {
    value: Arc<Value>,
    validator: Arc<Compiled>,
}

impl std::fmt::Debug for ConfigSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ConfigSchema").field(&self.value).finish()
    }
}

impl PartialEq for ConfigSchema {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for ConfigSchema {}

/// One way a configuration violates the schema: where (a JSON pointer into the configuration)
/// and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The JSON pointer of the value at fault (`""` for the whole configuration).
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "(the configuration): {}", self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

impl Violation {
    /// The pointer's reference tokens (`/a~1b/0` → `["a/b", "0"]`).
    pub fn path(&self) -> Vec<String> {
        if self.pointer.is_empty() {
            return Vec::new();
        }
        self.pointer
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect()
    }
}

/// Where the value at `path` (mapping keys and sequence indexes) starts in a YAML document
/// `text`: 1-based (line, column). `None` when the path is not in the text (a configuration
/// written as a JSON string, or built from several places).
///
/// serde reports no positions of values it has read, so the document is read once more with a
/// visitor that follows `path` and fails on purpose at its end: the parser's error carries the
/// position.
///
/// ```
/// let yaml = "name: x\nconfig:\n  headers:\n    - {name: 5}\n";
/// let at = cargo_wasme::config_schema::locate_yaml(yaml, &["config", "headers", "0", "name"]);
/// assert_eq!(at, Some((4, 14))); // the `5`
/// ```
pub fn locate_yaml(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let error = match serde::de::DeserializeSeed::deserialize(
        Seek { path },
        serde_norway::Deserializer::from_str(text),
    ) {
        Ok(()) => return None,
        Err(e) => e,
    };
    if !error.to_string().contains(HERE) {
        return None;
    }
    error.location().map(|l| (l.line(), l.column()))
}

const HERE: &str = "wasme: the value sought";

/// Follows a path of keys and indexes through any document; fails with [`HERE`] at its end.
struct Seek<'p> {
    path: &'p [&'p str],
}

impl<'de> serde::de::DeserializeSeed<'de> for Seek<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Seek<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a document holding the path")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        let Some((first, rest)) = self.path.split_first() else {
            return Err(A::Error::custom(HERE));
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *first {
                return map.next_value_seed(Seek { path: rest });
            }
            map.next_value::<serde::de::IgnoredAny>()?;
        }
        Err(A::Error::custom("not found"))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        let Some((first, rest)) = self.path.split_first() else {
            return Err(A::Error::custom(HERE));
        };
        let index: usize = first.parse().map_err(|_| A::Error::custom("not found"))?;
        for _ in 0..index {
            if seq.next_element::<serde::de::IgnoredAny>()?.is_none() {
                return Err(A::Error::custom("not found"));
            }
        }
        seq.next_element_seed(Seek { path: rest })?
            .ok_or_else(|| A::Error::custom("not found"))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Seek<'_> {
    fn scalar<E: serde::de::Error>(self) -> Result<(), E> {
        Err(E::custom(if self.path.is_empty() {
            HERE
        } else {
            "not found"
        }))
    }
}

/// The violations on one line, `; `-separated, for error messages.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConfigSchema {
    /// Checks that `value` is a valid JSON Schema (its `$schema` draft, else 2020-12).
    pub fn new(value: Value) -> Result<Self, SchemaError> {
        Self::named(value, "recorded in the image")
    }

    fn named(value: Value, from: &str) -> Result<Self, SchemaError> {
        let invalid = |reason: String| SchemaError::Invalid {
            from: from.to_owned(),
            reason,
        };
        if !value.is_object() && !value.is_boolean() {
            return Err(invalid("a schema is a JSON object (or a boolean)".into()));
        }
        let validator = Compiled::new(&value).map_err(invalid)?;
        Ok(ConfigSchema {
            value: Arc::new(value),
            validator: Arc::new(validator),
        })
    }

    /// Parses and checks schema text.
    pub fn from_json(text: &[u8]) -> Result<Self, SchemaError> {
        Self::from_json_named(text, "recorded in the image")
    }

    fn from_json_named(text: &[u8], from: &str) -> Result<Self, SchemaError> {
        let value = serde_json::from_slice(text).map_err(|e| SchemaError::NotJson {
            from: from.to_owned(),
            reason: e.to_string(),
        })?;
        Self::named(value, from)
    }

    /// The schema.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The schema as compact JSON: what the image records (keys in the order the JSON map
    /// keeps them, so the same schema is the same text).
    pub fn to_json(&self) -> String {
        self.value.to_string()
    }

    /// Checks configuration text as the filter reads it (see the [module](self) docs): `Ok`
    /// when the schema accepts it (or it is not checked), else every violation.
    pub fn check(&self, config: &[u8]) -> Result<(), Vec<Violation>> {
        let Ok(text) = std::str::from_utf8(config) else {
            return Ok(()); // not text: the filter decides
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(());
        }
        if trimmed.starts_with(['{', '[']) {
            return match serde_json::from_str::<Value>(trimmed) {
                Ok(doc) => self.violations(&doc),
                Err(_) => Ok(()), // not JSON: the filter's own error says where
            };
        }
        let as_string = self.violations(&Value::String(trimmed.to_owned()));
        if as_string.is_ok() {
            return Ok(());
        }
        match serde_json::from_str::<Value>(trimmed) {
            Ok(doc) if self.validate(&doc).is_ok() => Ok(()),
            _ => as_string,
        }
    }

    fn violations(&self, doc: &Value) -> Result<(), Vec<Violation>> {
        self.validate(doc)
    }

    /// Validates a JSON document as it is (no reading of configuration text): `Ok` when the
    /// schema accepts it, else every violation. The tests check generated manifests against
    /// CRD schemas with it.
    ///
    /// ```
    /// use cargo_wasme::config_schema::ConfigSchema;
    /// let schema = ConfigSchema::new(serde_json::json!({"required": ["a"]})).unwrap();
    /// let errors = schema.validate(&serde_json::json!({})).unwrap_err();
    /// assert_eq!(errors[0].to_string(), r#"(the configuration): "a" is a required property"#);
    /// ```
    pub fn validate(&self, doc: &Value) -> Result<(), Vec<Violation>> {
        let Err(e) = self.validator.schemas.validate(doc, self.validator.root) else {
            return Ok(());
        };
        let mut out = Vec::new();
        explain(&e, doc, &self.value, true, &mut out);
        if out.is_empty() {
            // Cannot happen (a failure has a leaf), but a failure never passes for want of one.
            out.push(Violation {
                pointer: e.instance_location.to_string(),
                message: e.kind.to_string(),
            });
        }
        Err(out)
    }

    /// One line saying what the schema takes: `object {name: string, value: string}
    /// (required: name, value), or a string`.
    pub fn summary(&self) -> String {
        let root = self.value.as_ref();
        match root.get("anyOf").or_else(|| root.get("oneOf")) {
            Some(Value::Array(alternatives)) if root.get("type").is_none() => alternatives
                .iter()
                .map(|a| shape(a, root))
                .collect::<Vec<_>>()
                .join(", or "),
            _ => shape(root, root),
        }
    }
}

/// A schema's shape in a few words (for [`ConfigSchema::summary`]).
fn shape(schema: &Value, root: &Value) -> String {
    let schema = resolve(schema, root);
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ if schema.get("enum").is_some() => "enum".into(),
        _ => "any".into(),
    };
    let Some(Value::Object(props)) = schema.get("properties") else {
        return kind;
    };
    let fields: Vec<String> = props
        .iter()
        .map(|(name, s)| format!("{name}: {}", shape(s, root)))
        .collect();
    let mut out = format!("{kind} {{{}}}", fields.join(", "));
    if let Some(Value::Array(req)) = schema.get("required") {
        let names: Vec<&str> = req.iter().filter_map(Value::as_str).collect();
        out.push_str(&format!(" (required: {})", names.join(", ")));
    }
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        out.push_str(" (no other fields)");
    }
    out
}

/// `schema` with a local `$ref` (`#/$defs/…`) followed once.
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with('#') => root.pointer(&r[1..]).unwrap_or(schema),
        _ => schema,
    }
}

/// A schema compiled by boon, with the index of its root.
struct Compiled {
    schemas: boon::Schemas,
    root: boon::SchemaIndex,
}

/// Where the schema document is registered. It is never read from there: the loader below
/// loads nothing, so a `$ref` to another file or URL is refused rather than fetched.
const LOCATION: &str = "file:///wasme/config.schema.json";
/// [`LOCATION`]'s directory, which relative references resolve against.
const BASE: &str = "file:///wasme/";

impl Compiled {
    /// Checks `value` against its draft's meta-schema (`$schema`, else 2020-12) and compiles
    /// it. Formats are asserted as the draft says (2019-09 and later: annotations only; draft-07
    /// and earlier: checked); unknown keywords (`x-kubernetes-*`) are ignored.
    fn new(value: &Value) -> Result<Self, String> {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.use_loader(Box::new(boon::SchemeUrlLoader::new()));
        compiler
            .add_resource(LOCATION, value.clone())
            .map_err(|e| e.to_string())?;
        let mut schemas = boon::Schemas::new();
        match compiler.compile(LOCATION, &mut schemas) {
            Ok(root) => Ok(Compiled { schemas, root }),
            Err(boon::CompileError::ValidationError { src, .. }) => {
                // As before: the meta-schema's first complaint, not narrowed.
                let mut out = Vec::new();
                explain(&src, value, &Value::Null, false, &mut out);
                Err(out.first().map_or_else(
                    || src.to_string(),
                    |v| {
                        if v.pointer.is_empty() {
                            v.message.clone()
                        } else {
                            format!("{}: {}", v.pointer, v.message)
                        }
                    },
                ))
            }
            Err(
                boon::CompileError::LoadUrlError { url, .. }
                | boon::CompileError::UnsupportedUrlScheme { url },
            ) => {
                let url = url.strip_prefix(BASE).unwrap_or(&url);
                Err(format!(
                    "it refers to `{url}`, which is not in the schema (references outside the \
                     schema are not fetched)"
                ))
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Turns a validator error (boon's tree: groups, `$ref`s and `allOf`s around the failed
/// keywords) into violations, one per failed keyword (one per missing property), worded as
/// they have always been (`5 is not of type "string"`). An `anyOf`/`oneOf` failure is
/// explained by the one alternative whose type matched the value (the others fail only on
/// `type` at the same place): `{"name": 5}` against "a string, or an object with a string
/// `name`" names `/name`. `doc` is the validated document (messages quote the value at fault),
/// `schema` the root schema (a `not` quotes its subschema); `narrow` off reports an
/// `anyOf`/`oneOf` failure as it is (a schema's complaint from its meta-schema, as before).
fn explain(
    e: &boon::ValidationError<'_, '_>,
    doc: &Value,
    schema: &Value,
    narrow: bool,
    out: &mut Vec<Violation>,
) {
    use boon::ErrorKind as K;
    let at = e.instance_location.to_string();
    let instance = doc.pointer(&at).unwrap_or(&Value::Null);
    let missing = |names: &[&str], out: &mut Vec<Violation>| {
        for name in names {
            out.push(Violation {
                pointer: at.clone(),
                message: format!("{} is a required property", Value::from(*name)),
            });
        }
    };
    match &e.kind {
        K::Group | K::Schema { .. } | K::Reference { .. } | K::AllOf => {
            for cause in &e.causes {
                explain(cause, doc, schema, narrow, out);
            }
            return;
        }
        K::Required { want } => return missing(want, out),
        K::Dependency { missing: m, .. } | K::DependentRequired { missing: m, .. } => {
            return missing(m, out);
        }
        K::PropertyName { prop } => {
            // The name was validated as a string of its own: quote it, point at the object.
            let name = Value::from(prop.as_str());
            let mut inner = Vec::new();
            for cause in &e.causes {
                explain(cause, &name, schema, narrow, &mut inner);
            }
            out.extend(inner.into_iter().map(|v| Violation {
                pointer: at.clone(),
                message: v.message,
            }));
            return;
        }
        K::AnyOf | K::OneOf(None) if narrow => {
            let type_only = |branch: &boon::ValidationError<'_, '_>| {
                let mut leaves = Vec::new();
                failed_keywords(branch, &mut leaves);
                leaves.iter().all(|l| {
                    matches!(l.kind, K::Type { .. }) && l.instance_location.to_string() == at
                })
            };
            let matched: Vec<_> = e.causes.iter().filter(|b| !type_only(b)).collect();
            if let [one] = matched.as_slice() {
                explain(one, doc, schema, narrow, out);
                return;
            }
        }
        K::FalseSchema if e.schema_url.ends_with("/unevaluatedProperties") => {
            // boon fails each unevaluated property on its own `false`; said of the object.
            let (object, name) = at.rsplit_once('/').unwrap_or(("", &at));
            let name = name.replace("~1", "/").replace("~0", "~");
            out.push(Violation {
                pointer: object.to_owned(),
                message: format!(
                    "Unevaluated properties are not allowed ('{name}' was unexpected)"
                ),
            });
            return;
        }
        _ => {}
    }
    out.push(Violation {
        pointer: at,
        message: message(e, instance, schema),
    });
}

/// The failed keywords under an error (its leaves through groups, `$ref`s and `allOf`s).
fn failed_keywords<'a, 's, 'v>(
    e: &'a boon::ValidationError<'s, 'v>,
    out: &mut Vec<&'a boon::ValidationError<'s, 'v>>,
) {
    use boon::ErrorKind as K;
    match e.kind {
        K::Group | K::Schema { .. } | K::Reference { .. } | K::AllOf => {
            for cause in &e.causes {
                failed_keywords(cause, out);
            }
        }
        _ => out.push(e),
    }
}

/// One failed keyword in words, as `jsonschema` worded it (our tests and README quote them).
fn message(e: &boon::ValidationError<'_, '_>, instance: &Value, schema: &Value) -> String {
    use boon::ErrorKind as K;
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            many.to_owned()
        }
    };
    let quoted = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>().join(", ");
    let unexpected = |n: usize| plural(n, "was unexpected", "were unexpected");
    match &e.kind {
        K::Type { want, .. } => {
            // jsonschema's order: boon's, but `integer` before `number`.
            let mut types: Vec<boon::Type> = want.iter().collect();
            types.sort_by_key(|t| match t {
                boon::Type::Integer => boon::Type::Number as u8,
                boon::Type::Number => boon::Type::Integer as u8,
                t => *t as u8,
            });
            let types: Vec<String> = types.iter().map(|t| format!("\"{t}\"")).collect();
            if let [one] = types.as_slice() {
                format!("{instance} is not of type {one}")
            } else {
                format!("{instance} is not of types {}", types.join(", "))
            }
        }
        K::Enum { want } => {
            let shown = if want.len() <= 3 {
                let mut s = String::new();
                for (i, o) in want.iter().enumerate() {
                    match i {
                        0 => s.push_str(&o.to_string()),
                        i if i == want.len() - 1 => s.push_str(&format!(" or {o}")),
                        _ => s.push_str(&format!(", {o}")),
                    }
                }
                s
            } else {
                let first: Vec<String> = want.iter().take(2).map(Value::to_string).collect();
                format!(
                    "{} or {} other candidates",
                    first.join(", "),
                    want.len() - 2
                )
            };
            format!("{instance} is not one of {shown}")
        }
        K::Const { want } => format!("{want} was expected"),
        K::Format { want, .. } => format!("{instance} is not a \"{want}\""),
        K::MinProperties { want, .. } => format!(
            "{instance} has less than {want} {}",
            plural(*want, "property", "properties")
        ),
        K::MaxProperties { want, .. } => format!(
            "{instance} has more than {want} {}",
            plural(*want, "property", "properties")
        ),
        K::AdditionalProperties { got } => format!(
            "Additional properties are not allowed ({} {})",
            quoted(&mut got.iter().map(|p| format!("'{p}'"))),
            unexpected(got.len())
        ),
        K::MinItems { want, .. } => {
            format!(
                "{instance} has less than {want} {}",
                plural(*want, "item", "items")
            )
        }
        K::MaxItems { want, .. } => {
            format!(
                "{instance} has more than {want} {}",
                plural(*want, "item", "items")
            )
        }
        K::Contains | K::MinContains { .. } => {
            format!("None of {instance} are valid under the given schema")
        }
        K::UniqueItems { .. } => format!("{instance} has non-unique elements"),
        K::AdditionalItems { got } => {
            let items = instance.as_array().map_or(&[][..], Vec::as_slice);
            let extra = &items[items.len().saturating_sub(*got)..];
            format!(
                "Additional items are not allowed ({} {})",
                quoted(&mut extra.iter().map(Value::to_string)),
                unexpected(*got)
            )
        }
        K::MinLength { want, .. } => format!(
            "{instance} is shorter than {want} {}",
            plural(*want, "character", "characters")
        ),
        K::MaxLength { want, .. } => format!(
            "{instance} is longer than {want} {}",
            plural(*want, "character", "characters")
        ),
        K::Pattern { want, .. } => format!("{instance} does not match \"{want}\""),
        K::Minimum { want, .. } => format!("{instance} is less than the minimum of {want}"),
        K::Maximum { want, .. } => format!("{instance} is greater than the maximum of {want}"),
        K::ExclusiveMinimum { want, .. } => {
            format!("{instance} is less than or equal to the minimum of {want}")
        }
        K::ExclusiveMaximum { want, .. } => {
            format!("{instance} is greater than or equal to the maximum of {want}")
        }
        K::MultipleOf { want, .. } => match want.as_f64() {
            Some(f) => format!("{instance} is not a multiple of {f}"),
            None => format!("{instance} is not a multiple of {want}"),
        },
        K::Not => {
            // The subschema: the keyword's schema location is a pointer into the document.
            let not = e
                .schema_url
                .split_once('#')
                .and_then(|(_, pointer)| schema.pointer(&format!("{pointer}/not")));
            match not {
                Some(not) => format!("{not} is not allowed for {instance}"),
                None => format!("{instance} is not allowed by the 'not' keyword"),
            }
        }
        K::AnyOf => {
            format!(
                "{instance} is not valid under any of the schemas listed in the 'anyOf' keyword"
            )
        }
        K::OneOf(None) => {
            format!(
                "{instance} is not valid under any of the schemas listed in the 'oneOf' keyword"
            )
        }
        K::OneOf(Some(_)) => format!(
            "{instance} is valid under more than one of the schemas listed in the 'oneOf' keyword"
        ),
        K::FalseSchema => format!("False schema does not allow {instance}"),
        other => other.to_string(),
    }
}

/// Reads the schema a build found ([`wasme_build::BuiltModule::config_schema`]).
pub fn from_source(source: &SchemaSource) -> Result<ConfigSchema, SchemaError> {
    match source {
        SchemaSource::Section(text) => {
            ConfigSchema::from_json_named(text, &format!("custom section `{SECTION}`"))
        }
        SchemaSource::Export(module) => {
            let text = run_export(module).map_err(SchemaError::Export)?;
            ConfigSchema::from_json_named(&text, &format!("export `{EXPORT}`"))
        }
        SchemaSource::SdkBuild => Err(SchemaError::Module(
            "the schema of a crate using `export_config_schema!` is read from its schema build \
             (`cargo wasme build`), not from a module file"
                .into(),
        )),
    }
}

/// The schema the export of `module` gives, remembered in the file `cache` (the caller names it
/// after the module's digest): the export is deterministic (no host calls, bounded fuel), so
/// the same module always gives the same text, and a rebuild that did not change the module
/// does not compile and run it again (seconds in an unoptimised cargo-wasme). A cache file
/// that cannot be read or parsed is ignored and rewritten; one that cannot be written is
/// only a lost shortcut.
pub fn from_export_cached(
    module: &[u8],
    cache: &std::path::Path,
) -> Result<ConfigSchema, SchemaError> {
    let named = format!("export `{EXPORT}`");
    if let Ok(text) = std::fs::read(cache)
        && let Ok(schema) = ConfigSchema::from_json_named(&text, &named)
    {
        return Ok(schema);
    }
    let text = run_export(module).map_err(SchemaError::Export)?;
    let schema = ConfigSchema::from_json_named(&text, &named)?;
    let _ = std::fs::write(cache, &text);
    Ok(schema)
}

/// The schema an image records in its config blob ([`crate::image::config_schema`]).
pub fn of_image(
    format: crate::image::Format,
    config_blob: &[u8],
) -> Result<Option<ConfigSchema>, SchemaError> {
    crate::image::config_schema(format, config_blob)
        .map_err(|e| SchemaError::Image(e.to_string()))?
        .map(ConfigSchema::new)
        .transpose()
}

/// The schema a module carries itself (a `.wasm` file given to `run` or `test`): its custom
/// section or export; `None` when it has neither.
pub fn of_module(module: &[u8]) -> Result<Option<ConfigSchema>, SchemaError> {
    let (_, source) = wasme_build::schema::take(module.to_vec()).map_err(SchemaError::Module)?;
    match source {
        // An unstripped cargo output: its schema needs the crate, which a file does not name.
        None | Some(SchemaSource::SdkBuild) => Ok(None),
        Some(source) => from_source(&source).map(Some),
    }
}

/// The schema's JSON text, from running the export in a sandbox: every import traps (the
/// export must not call the host), at most 1e9 instructions and 256 MiB of memory. wasmtime is
/// used directly (the harness's engine and features): the harness's host starts the plugin,
/// which needs a configuration the schema is meant to check.
fn run_export(module: &[u8]) -> Result<Vec<u8>, String> {
    use wasmtime::{Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder};
    const FUEL: u64 = 1_000_000_000;
    const MEMORY: usize = 256 << 20;
    let e = |e: wasmtime::Error| format!("{e:#}");
    let mut config = Config::new();
    config.consume_fuel(true);
    // Run once: compile fast rather than well.
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    let engine = Engine::new(&config).map_err(e)?;
    let module = Module::new(&engine, module).map_err(e)?;
    let mut linker: Linker<StoreLimits> = Linker::new(&engine);
    linker.define_unknown_imports_as_traps(&module).map_err(e)?;
    let limits = StoreLimitsBuilder::new().memory_size(MEMORY).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    store.set_fuel(FUEL).map_err(e)?;
    let instance = linker.instantiate(&mut store, &module).map_err(e)?;
    let export = instance
        .get_typed_func::<(), i64>(&mut store, EXPORT)
        .map_err(|err| format!("it is not `() -> i64`: {err:#}"))?;
    let packed = export.call(&mut store, ()).map_err(e)? as u64;
    let (address, length) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or("the module exports no `memory`")?;
    memory
        .data(&store)
        .get(address..address.saturating_add(length))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            format!("it returned bytes {address}..{address}+{length}, outside the module's memory")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add_header_like() -> ConfigSchema {
        ConfigSchema::new(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "anyOf": [
                {"type": "string"},
                {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                 "required": ["name", "value"], "additionalProperties": false}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_matching_alternative_names_the_pointer() {
        let s = add_header_like();
        let v = s.check(br#"{"name": 5, "value": "v"}"#).unwrap_err();
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].to_string(), r#"/name: 5 is not of type "string""#);
        let v = s.check(br#"{"name": "a"}"#).unwrap_err();
        assert!(
            v[0].to_string()
                .contains("\"value\" is a required property"),
            "{v:?}"
        );
        // Plain strings, numbers read as text, empty text and broken JSON pass to the filter.
        for ok in [
            &b"hello"[..],
            b"5",
            b"  ",
            b"{broken",
            br#"{"name":"a","value":"b"}"#,
        ] {
            assert!(s.check(ok).is_ok(), "{}", String::from_utf8_lossy(ok));
        }
        // No alternative matches an array: the anyOf error itself.
        let v = s.check(b"[1]").unwrap_err();
        assert_eq!(v[0].pointer, "");
        assert_eq!(
            s.summary(),
            "string, or object {name: string, value: string} (required: name, value) (no other fields)"
        );
    }

    /// Every keyword's message, worded as `jsonschema` 0.61 worded it (the README and the
    /// deploy tests quote them); taken from its output on the same schemas and documents. The
    /// last case is our own `anyOf` narrowing. 2020-12 asserts no format, draft-07 does;
    /// `x-kubernetes-*` keywords are ignored.
    #[test]
    fn the_messages_keep_their_wording() {
        let cases = [
            (
                r##"{"type":"string"}"##,
                r##"5"##,
                r##" -> 5 is not of type "string""##,
            ),
            (
                r##"{"type":["string","integer"]}"##,
                r##"5.5"##,
                r##" -> 5.5 is not of types "integer", "string""##,
            ),
            (
                r##"{"enum":["a","b","c"]}"##,
                r##""d""##,
                r##" -> "d" is not one of "a", "b" or "c""##,
            ),
            (
                r##"{"enum":["a","b","c","d","e"]}"##,
                r##""z""##,
                r##" -> "z" is not one of "a", "b" or 3 other candidates"##,
            ),
            (
                r##"{"const":{"a":1}}"##,
                r##"2"##,
                r##" -> {"a":1} was expected"##,
            ),
            (
                r##"{"type":"object","required":["a","b"],"properties":{"c":{"type":"string"}}}"##,
                r##"{"c":1}"##,
                r##" -> "a" is a required property |  -> "b" is a required property | /c -> 1 is not of type "string""##,
            ),
            (
                r##"{"properties":{"a":{}},"additionalProperties":false}"##,
                r##"{"a":1,"x":2,"y/z":3}"##,
                r##" -> Additional properties are not allowed ('x', 'y/z' were unexpected)"##,
            ),
            (
                r##"{"minLength":2,"maxLength":3}"##,
                r##""a""##,
                r##" -> "a" is shorter than 2 characters"##,
            ),
            (
                r##"{"maxLength":1}"##,
                r##""abc""##,
                r##" -> "abc" is longer than 1 character"##,
            ),
            (
                r##"{"pattern":"^a+$"}"##,
                r##""b""##,
                r##" -> "b" does not match "^a+$""##,
            ),
            (
                r##"{"minimum":3}"##,
                r##"2"##,
                r##" -> 2 is less than the minimum of 3"##,
            ),
            (
                r##"{"exclusiveMaximum":3}"##,
                r##"3"##,
                r##" -> 3 is greater than or equal to the maximum of 3"##,
            ),
            (
                r##"{"multipleOf":2.0}"##,
                r##"3"##,
                r##" -> 3 is not a multiple of 2"##,
            ),
            (
                r##"{"multipleOf":0.5}"##,
                r##"0.3"##,
                r##" -> 0.3 is not a multiple of 0.5"##,
            ),
            (
                r##"{"not":{"type":"string"}}"##,
                r##""x""##,
                r##" -> {"type":"string"} is not allowed for "x""##,
            ),
            (
                r##"{"anyOf":[{"type":"string"},{"type":"integer"}]}"##,
                r##"true"##,
                r##" -> true is not valid under any of the schemas listed in the 'anyOf' keyword"##,
            ),
            (
                r##"{"oneOf":[{"type":"number"},{"type":"integer"}]}"##,
                r##"1"##,
                r##" -> 1 is valid under more than one of the schemas listed in the 'oneOf' keyword"##,
            ),
            (
                r##"{"minItems":2}"##,
                r##"[1]"##,
                r##" -> [1] has less than 2 items"##,
            ),
            (
                r##"{"maxItems":1}"##,
                r##"[1,2]"##,
                r##" -> [1,2] has more than 1 item"##,
            ),
            (
                r##"{"uniqueItems":true}"##,
                r##"[1,1]"##,
                r##" -> [1,1] has non-unique elements"##,
            ),
            (r##"{"format":"email"}"##, r##""nope""##, r##""##),
            (
                r##"{"$schema":"http://json-schema.org/draft-07/schema#","format":"email"}"##,
                r##""nope""##,
                r##" -> "nope" is not a "email""##,
            ),
            (
                r##"{"propertyNames":{"maxLength":2}}"##,
                r##"{"abc":1}"##,
                r##" -> "abc" is longer than 2 characters"##,
            ),
            (
                r##"{"dependentRequired":{"a":["b"]}}"##,
                r##"{"a":1}"##,
                r##" -> "b" is a required property"##,
            ),
            (
                r##"{"contains":{"type":"string"}}"##,
                r##"[1,2]"##,
                r##" -> None of [1,2] are valid under the given schema"##,
            ),
            (
                r##"{"properties":{"a":false}}"##,
                r##"{"a":1}"##,
                r##"/a -> False schema does not allow 1"##,
            ),
            (
                r##"{"properties":{"a":{}},"unevaluatedProperties":false}"##,
                r##"{"a":1,"b":2}"##,
                r##" -> Unevaluated properties are not allowed ('b' was unexpected)"##,
            ),
            (
                r##"{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{"n":{"type":"integer","format":"int32"}}}"##,
                r##"{"n":"x"}"##,
                r##"/n -> "x" is not of type "integer""##,
            ),
            (
                r##"{"$defs":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/s"}}}"##,
                r##"{"a":[1]}"##,
                r##"/a -> [1] is not of type "string""##,
            ),
            (
                r##"{"allOf":[{"type":"string"},{"minLength":3}]}"##,
                r##"7"##,
                r##" -> 7 is not of type "string""##,
            ),
            (
                r##"{"$schema":"http://json-schema.org/draft-07/schema#","items":[{}],"additionalItems":false}"##,
                r##"[1,2,3]"##,
                r##" -> Additional items are not allowed (2, 3 were unexpected)"##,
            ),
            (
                r##"{"minProperties":2}"##,
                r##"{"a":1}"##,
                r##" -> {"a":1} has less than 2 properties"##,
            ),
            (
                r##"{"anyOf":[{"type":"string"},{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}]}"##,
                r##"{"name":5}"##,
                r##"/name -> 5 is not of type "string""##,
            ),
        ];
        for (schema, doc, want) in cases {
            let schema = ConfigSchema::from_json(schema.as_bytes()).unwrap();
            let doc: Value = serde_json::from_str(doc).unwrap();
            let got = match schema.validate(&doc) {
                Ok(()) => String::new(),
                Err(v) => v
                    .iter()
                    .map(|v| format!("{} -> {}", v.pointer, v.message))
                    .collect::<Vec<_>>()
                    .join(" | "),
            };
            assert_eq!(got, want, "{doc} against {}", schema.to_json());
        }
    }

    #[test]
    fn plain_text_is_also_read_as_json() {
        let s = ConfigSchema::new(json!({"type": "integer"})).unwrap();
        assert!(s.check(b"5").is_ok());
        let v = s.check(b"five").unwrap_err();
        assert_eq!(
            v[0].to_string(),
            r#"(the configuration): "five" is not of type "integer""#
        );
    }

    #[test]
    fn invalid_schemas_are_refused() {
        let e = ConfigSchema::new(json!({"type": 5})).unwrap_err();
        assert!(matches!(e, SchemaError::Invalid { .. }), "{e}");
        assert!(ConfigSchema::new(json!([1])).is_err());
        // The meta-schema's first complaint, as jsonschema's `meta::validate` worded it.
        let reason = |schema: Value| match ConfigSchema::new(schema) {
            Err(SchemaError::Invalid { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(json!({"type": 5})),
            "/type: 5 is not valid under any of the schemas listed in the 'anyOf' keyword"
        );
        assert_eq!(
            reason(json!({"properties": {"a": {"minLength": -1}}})),
            "/properties/a/minLength: -1 is less than the minimum of 0"
        );
        assert_eq!(
            reason(json!({"pattern": "("})),
            r#"/pattern: "(" is not a "regex""#
        );
        // Nothing outside the schema is fetched.
        assert!(
            reason(json!({"$ref": "other.json"})).contains("`other.json`, which is not in"),
            "{}",
            reason(json!({"$ref": "other.json"}))
        );
        let e = ConfigSchema::from_json(b"{not json").unwrap_err();
        assert!(e.to_string().contains("is not JSON"), "{e}");
    }

    #[test]
    fn the_export_runs_sandboxed() {
        let module = |body: &str| {
            wat::parse_str(format!(
                r#"(module (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
                   (memory (export "memory") 1)
                   (data (i32.const 16) "{{\"type\":\"string\"}}")
                   (func (export "wasme_config_schema") (result i64) {body}))"#
            ))
            .unwrap()
        };
        let ok = module("i64.const 68719476753"); // 16 << 32 | 17
        let s = from_source(&SchemaSource::Export(ok.into())).unwrap();
        assert_eq!(s.value(), &json!({"type": "string"}));
        let host = module("i32.const 0 i32.const 0 i32.const 0 call $log drop i64.const 0");
        let e = from_source(&SchemaSource::Export(host.into())).unwrap_err();
        assert!(e.to_string().contains("running the module's"), "{e}");
        let outside = module("i64.const -1");
        let e = from_source(&SchemaSource::Export(outside.into())).unwrap_err();
        assert!(e.to_string().contains("outside the module's memory"), "{e}");
        let spin = module("(loop (br 0)) i64.const 0");
        assert!(from_source(&SchemaSource::Export(spin.into())).is_err());
    }
}
