//! Typed plugin configuration: parsed once per `on_configure`, shared by every stream.
//!
//! A filter names its configuration type in [`Filter::Config`](crate::Filter::Config). That
//! type implements [`PluginConfig`]; for a `serde` type the one-line way is to implement
//! [`JsonConfig`], which gives JSON parsing with precise errors (line, column, field), an
//! optional plain-string form and a validation hook.
//!
//! When parsing fails, the SDK logs `<filter>: invalid plugin configuration: <problem>` at
//! error level and makes `on_configure` return `false`, so Envoy (and the harness) report the
//! plugin as failed instead of serving traffic with a configuration nobody meant.

use serde::de::DeserializeOwned;

/// Why a plugin configuration cannot be used. The message says what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    /// A configuration error with this message.
    ///
    /// ```
    /// let e = wasme_sdk::ConfigError::new("\"limit\" must be positive");
    /// assert_eq!(e.to_string(), "\"limit\" must be positive");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

/// A plugin configuration type: built from the raw bytes Envoy passes to `on_configure`.
///
/// Implement [`JsonConfig`] instead for `serde` types; implement this directly for a
/// hand-written format.
///
/// ```
/// use wasme_sdk::{ConfigError, PluginConfig};
/// struct Limit(u64);
/// impl PluginConfig for Limit {
///     fn parse(raw: &[u8]) -> Result<Self, ConfigError> {
///         let text = std::str::from_utf8(raw).map_err(|e| ConfigError::new(e.to_string()))?;
///         text.trim().parse().map(Limit).map_err(|e| ConfigError::new(format!("{text:?}: {e}")))
///     }
/// }
/// assert_eq!(Limit::parse(b" 7 ").unwrap().0, 7);
/// assert!(Limit::parse(b"x").is_err());
/// ```
pub trait PluginConfig: Sized + 'static {
    /// Parses the raw plugin configuration (possibly empty).
    fn parse(raw: &[u8]) -> Result<Self, ConfigError>;
}

/// A JSON plugin configuration, deserialized with `serde`.
///
/// Every `JsonConfig` is a [`PluginConfig`]: the bytes must be UTF-8; an empty (white-space)
/// configuration is handed to [`JsonConfig::empty`] (by default parsed as `{}`, so a struct
/// whose fields all have defaults accepts it); text that does not start like JSON is offered to
/// [`JsonConfig::from_plain_string`] (refused by default); then [`crate::json`] parses it and
/// [`JsonConfig::validate`] checks and normalises the result.
///
/// ```
/// use serde::Deserialize;
/// use wasme_sdk::{ConfigError, JsonConfig, PluginConfig};
///
/// #[derive(Debug, Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Config {
///     limit: u32,
/// }
/// impl JsonConfig for Config {
///     fn validate(&mut self) -> Result<(), ConfigError> {
///         if self.limit == 0 { Err(ConfigError::new("\"limit\" must be at least 1")) } else { Ok(()) }
///     }
/// }
///
/// assert_eq!(Config::parse(br#"{"limit": 3}"#).unwrap().limit, 3);
/// let e = Config::parse(br#"{"limt": 3}"#).unwrap_err().to_string();
/// assert!(e.contains("unknown field `limt`") && e.contains("line 1 column"), "{e}");
/// assert!(Config::parse(br#"{"limit": 0}"#).unwrap_err().to_string().contains("at least 1"));
/// assert!(Config::parse(b"").unwrap_err().to_string().contains("missing field `limit`"));
/// ```
pub trait JsonConfig: DeserializeOwned + 'static {
    /// The configuration used when the plugin configuration is empty. By default the empty
    /// configuration is parsed as `{}`.
    fn empty() -> Result<Self, ConfigError> {
        crate::json::from_str::<Self>("{}").map_err(|e| {
            ConfigError(format!(
                "the plugin configuration is empty, but this filter needs one: {}",
                e.message()
            ))
        })
    }

    /// Builds the configuration from text that does not start with `{` or `[` (trimmed).
    /// Return `None` (the default) to refuse plain strings.
    fn from_plain_string(_text: &str) -> Option<Result<Self, ConfigError>> {
        None
    }

    /// Checks (and may normalise) a parsed configuration.
    fn validate(&mut self) -> Result<(), ConfigError> {
        Ok(())
    }
}

impl<T: JsonConfig> PluginConfig for T {
    fn parse(raw: &[u8]) -> Result<Self, ConfigError> {
        let text = std::str::from_utf8(raw).map_err(|e| {
            ConfigError(format!("the plugin configuration is not UTF-8 text ({e})"))
        })?;
        let trimmed = text.trim();
        let mut config = if trimmed.is_empty() {
            T::empty()?
        } else if !trimmed.starts_with(['{', '[']) {
            match T::from_plain_string(trimmed) {
                Some(result) => result?,
                None => {
                    return Err(ConfigError(format!(
                        "the plugin configuration must be a JSON object, got {}",
                        quoted(&abbreviate(trimmed))
                    )));
                }
            }
        } else {
            crate::json::from_str::<T>(trimmed)
                .map_err(|e| ConfigError(format!("the plugin configuration is not valid: {e}")))?
        };
        config.validate()?;
        Ok(config)
    }
}

pub use crate::json::quoted;

fn abbreviate(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", text.get(..i).unwrap_or_default()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Defaults {
        #[serde(default)]
        n: u32,
    }
    impl JsonConfig for Defaults {}

    #[derive(Debug, Deserialize, PartialEq)]
    struct Named {
        name: String,
    }
    impl JsonConfig for Named {
        fn from_plain_string(text: &str) -> Option<Result<Self, ConfigError>> {
            Some(Ok(Named { name: text.into() }))
        }
    }

    #[test]
    fn empty_config_uses_defaults_or_names_the_missing_field() {
        assert_eq!(Defaults::parse(b"  \n").unwrap(), Defaults { n: 0 });
        let e = Named::parse(b"").unwrap_err().to_string();
        assert_eq!(
            e,
            "the plugin configuration is empty, but this filter needs one: missing field `name`"
        );
    }

    #[test]
    fn plain_strings_only_where_the_filter_allows_them() {
        assert_eq!(Named::parse(b"bob").unwrap().name, "bob");
        let e = Defaults::parse(b"bob").unwrap_err().to_string();
        assert!(e.contains("must be a JSON object, got \"bob\""), "{e}");
    }

    #[test]
    fn json_errors_carry_position_and_field() {
        let e = Defaults::parse(b"{\"n\": \"x\"}").unwrap_err().to_string();
        assert!(
            e.contains("invalid type: string \"x\", expected u32"),
            "{e}"
        );
        assert!(e.contains("line 1 column"), "{e}");
        assert!(
            Defaults::parse(&[0xff])
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
    }

    #[test]
    fn long_plain_strings_are_abbreviated() {
        let long = "x".repeat(100);
        let e = Defaults::parse(long.as_bytes()).unwrap_err().to_string();
        assert!(e.contains('…') && e.len() < 140, "{e}");
    }
}
