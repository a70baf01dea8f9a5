//! The add-header plugin configuration: a plain string or a `{"name", "value"}` JSON object.

use serde::Deserialize;
use wasme_sdk::config::quoted;
use wasme_sdk::schemars::JsonSchema;
use wasme_sdk::{ConfigError, JsonConfig, PluginConfig};

/// The header the filter adds to every response.
// Its JSON Schema (this object, or a plain string: the value of `hello`) is exported with
// `wasme_sdk::export_config_schema!` (lib.rs) and recorded in the image by `cargo wasme build`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(crate = "wasme_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct HeaderConfig {
    /// Header name, lower-case (Envoy lower-cases keys anyway).
    pub name: String,
    /// Header value.
    pub value: String,
}

impl Default for HeaderConfig {
    fn default() -> Self {
        HeaderConfig {
            name: "hello".into(),
            value: "world".into(),
        }
    }
}

impl JsonConfig for HeaderConfig {
    /// An empty configuration means `hello: world`.
    fn empty() -> Result<Self, ConfigError> {
        Ok(HeaderConfig::default())
    }

    /// A plain string is the value of header `hello`.
    fn from_plain_string(text: &str) -> Option<Result<Self, ConfigError>> {
        Some(validate_value(text).map(|()| HeaderConfig {
            name: "hello".into(),
            value: text.to_string(),
        }))
    }

    fn validate(&mut self) -> Result<(), ConfigError> {
        self.name = validate_name(&self.name)?;
        validate_value(&self.value)
    }
}

/// Parses the plugin configuration.
///
/// * empty (or only white space) → `hello: world`;
/// * starting with `{` → a JSON object with string fields `name` and `value`;
/// * anything else → the value of header `hello`.
///
/// ```
/// use add_header::parse_config;
/// assert_eq!(parse_config(b"").unwrap().value, "world");
/// assert_eq!(parse_config(b"there").unwrap().value, "there");
/// let c = parse_config(br#"{"name":"X-Demo","value":"1"}"#).unwrap();
/// assert_eq!((c.name.as_str(), c.value.as_str()), ("x-demo", "1"));
/// assert!(parse_config(b"{not json").is_err());
/// ```
pub fn parse_config(raw: &[u8]) -> Result<HeaderConfig, ConfigError> {
    HeaderConfig::parse(raw)
}

/// Header names are RFC 9110 tokens; pseudo-headers (`:status`) cannot be added by a filter.
fn validate_name(name: &str) -> Result<String, ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::new(
            "\"name\" is empty: give the header name to add",
        ));
    }
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if let Some(bad) = name.chars().find(|c| !is_tchar(*c)) {
        return Err(ConfigError::new(format!(
            "\"name\" {} is not a valid header name (character {} is not allowed)",
            quoted(name),
            quoted(bad.encode_utf8(&mut [0; 4]))
        )));
    }
    Ok(name.to_ascii_lowercase())
}

fn validate_value(value: &str) -> Result<(), ConfigError> {
    if let Some(bad) = value.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(ConfigError::new(format!(
            "header value {} contains the control character {}",
            quoted(value),
            quoted(bad.encode_utf8(&mut [0; 4]))
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_json_forms() {
        assert_eq!(parse_config(b"  ").unwrap(), HeaderConfig::default());
        assert_eq!(parse_config(b"abc").unwrap().value, "abc");
        let c = parse_config(br#"{"name":"x-a","value":""}"#).unwrap();
        assert_eq!(
            c,
            HeaderConfig {
                name: "x-a".into(),
                value: String::new()
            }
        );
    }

    #[test]
    fn bad_configurations_name_the_problem() {
        let e = parse_config(br#"{"name":"bad name","value":"v"}"#).unwrap_err();
        assert!(e.to_string().contains("not a valid header name"), "{e}");
        let e = parse_config(br#"{"name":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("value"), "{e}");
        let e = parse_config(br#"{"name":":status","value":"1"}"#).unwrap_err();
        assert!(e.to_string().contains(r#"character ":""#), "{e}");
        let e = parse_config(b"a\nb").unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");
        assert!(parse_config(&[0xff, 0xfe]).is_err());
    }
}
