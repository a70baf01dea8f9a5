//! The ext-authz plugin configuration.

use serde::Deserialize;
use wasme_sdk::{ConfigError, JsonConfig};

/// How to reach the authorization service and what to copy where.
///
/// ```
/// use wasme_sdk::PluginConfig;
/// let c = ext_authz::AuthzConfig::parse(br#"{"cluster": "auth", "allowed_upstream_headers": ["X-User"]}"#).unwrap();
/// assert_eq!(c.authority(), "auth");
/// assert_eq!(c.allowed_upstream_headers, ["x-user"]);
/// assert_eq!(c.status_on_error, 403);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthzConfig {
    /// The Envoy cluster of the authorization service (a cluster name, not a URL).
    pub cluster: String,
    /// `:authority` of the check request (default: the cluster name).
    #[serde(default)]
    pub authority: Option<String>,
    /// Prefix put before the original path in the check request (default: none).
    #[serde(default)]
    pub path_prefix: String,
    /// Check request timeout in milliseconds (default 200, like Envoy's ext_authz).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Client request headers sent to the service (default: `authorization`, `cookie`).
    #[serde(default = "default_request_headers")]
    pub allowed_request_headers: Vec<String>,
    /// Headers of an allowing answer copied onto the upstream request (e.g. `x-user-id`).
    #[serde(default)]
    pub allowed_upstream_headers: Vec<String>,
    /// Headers of a denying answer copied onto the reply to the client (default:
    /// `www-authenticate`).
    #[serde(default = "default_client_headers")]
    pub allowed_client_headers: Vec<String>,
    /// Let requests through when the service cannot be reached (default `false`: fail closed).
    #[serde(default)]
    pub failure_mode_allow: bool,
    /// Status sent to the client when the service cannot be reached and the filter fails
    /// closed (default 403, like Envoy's ext_authz).
    #[serde(default = "default_status_on_error")]
    pub status_on_error: u16,
}

fn default_timeout_ms() -> u64 {
    200
}
fn default_request_headers() -> Vec<String> {
    vec!["authorization".into(), "cookie".into()]
}
fn default_client_headers() -> Vec<String> {
    vec!["www-authenticate".into()]
}
fn default_status_on_error() -> u16 {
    403
}

impl AuthzConfig {
    /// The `:authority` of check requests.
    pub fn authority(&self) -> &str {
        self.authority.as_deref().unwrap_or(&self.cluster)
    }
}

impl JsonConfig for AuthzConfig {
    fn validate(&mut self) -> Result<(), ConfigError> {
        if self.cluster.trim().is_empty() {
            return Err(ConfigError::new(
                "\"cluster\" is empty: give the Envoy cluster of the authorization service",
            ));
        }
        if self.cluster.contains("://") || self.cluster.contains('/') {
            return Err(ConfigError::new(format!(
                "\"cluster\" {:?} looks like a URL: give the Envoy cluster name (e.g. \
                 \"outbound|9000||auth.default.svc.cluster.local\")",
                self.cluster
            )));
        }
        if self.timeout_ms == 0 {
            return Err(ConfigError::new("\"timeout_ms\" must be at least 1"));
        }
        if !(200..=599).contains(&self.status_on_error) {
            return Err(ConfigError::new(format!(
                "\"status_on_error\" {} is not an HTTP status between 200 and 599",
                self.status_on_error
            )));
        }
        if !self.path_prefix.is_empty() && !self.path_prefix.starts_with('/') {
            return Err(ConfigError::new(format!(
                "\"path_prefix\" {:?} must start with '/'",
                self.path_prefix
            )));
        }
        for list in [
            &mut self.allowed_request_headers,
            &mut self.allowed_upstream_headers,
            &mut self.allowed_client_headers,
        ] {
            for name in list.iter_mut() {
                *name = name.trim().to_ascii_lowercase();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasme_sdk::PluginConfig;

    #[test]
    fn defaults_follow_envoy_ext_authz() {
        let c = AuthzConfig::parse(br#"{"cluster":"auth"}"#).unwrap();
        assert_eq!(c.timeout_ms, 200);
        assert_eq!(c.status_on_error, 403);
        assert!(!c.failure_mode_allow);
        assert_eq!(c.allowed_request_headers, ["authorization", "cookie"]);
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let e = |raw: &str| AuthzConfig::parse(raw.as_bytes()).unwrap_err().to_string();
        assert!(e("").contains("missing field `cluster`"));
        assert!(e(r#"{"cluster":"http://auth:9000"}"#).contains("looks like a URL"));
        assert!(e(r#"{"cluster":"a","status_on_error":99}"#).contains("status_on_error"));
        assert!(e(r#"{"cluster":"a","timeout_ms":0}"#).contains("timeout_ms"));
        assert!(e(r#"{"cluster":"a","path_prefix":"x"}"#).contains("path_prefix"));
        assert!(e(r#"{"cluster":"a","clustre":"b"}"#).contains("unknown field `clustre`"));
    }
}
