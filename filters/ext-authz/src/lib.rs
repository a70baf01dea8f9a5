//! `ext-authz`: external authorization. Every request is paused while an authorization service
//! (an Envoy cluster) is asked about it, then allowed, denied, or — when the service cannot be
//! reached — failed closed (or open, if configured).
//!
//! The check request mirrors Envoy's HTTP `ext_authz`: the original method, the original path
//! behind `path_prefix`, `:authority` from the configuration and the client headers listed in
//! `allowed_request_headers`. The service answers
//!
//! * **200** — allowed: headers listed in `allowed_upstream_headers` are copied from the answer
//!   onto the request the upstream receives;
//! * **5xx** — an error, as in Envoy's own `ext_authz` (`RawHttpClientImpl::toResponse`). This
//!   includes Envoy's answers for an unreachable service (503 `upstream connect error …`) and a
//!   timeout (504 `upstream request timeout`): Envoy hands a callout those as responses;
//! * **anything else** — denied: the client gets that status, the answer's body and the headers
//!   listed in `allowed_client_headers`;
//! * **no answer** (unknown cluster, reset) or an error — the client gets `status_on_error` (403),
//!   unless `failure_mode_allow` is set, in which case the request continues with
//!   `x-envoy-auth-failure-mode-allowed: true`.
//!
//! Metrics: `ext_authz.ok`, `ext_authz.denied`, `ext_authz.error`,
//! `ext_authz.failure_mode_allowed` (counters).
//!
//! ```json
//! {"cluster": "auth", "allowed_upstream_headers": ["x-user-id"], "timeout_ms": 500}
//! ```

pub mod config;

pub use config::AuthzConfig;

use std::rc::Rc;
use std::time::Duration;
use wasme_sdk::metrics::Counter;
use wasme_sdk::{Action, Filter, Headers, HttpCall, HttpCallResult, HttpCx, HttpFilter};

/// The header added to requests let through because the service could not be reached.
pub const FAILURE_MODE_HEADER: &str = "x-envoy-auth-failure-mode-allowed";

/// What to do with a request once the service answered (or did not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward the request, setting these headers on it.
    Allow {
        /// Headers to set on the upstream request.
        upstream_headers: Vec<(String, String)>,
    },
    /// Reply to the client instead.
    Deny {
        /// HTTP status.
        status: u16,
        /// Headers of the reply.
        headers: Vec<(String, String)>,
        /// Body of the reply.
        body: Vec<u8>,
    },
}

/// Which metric a decision counts into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The service allowed the request.
    Ok,
    /// The service denied it.
    Denied,
    /// The service could not be reached; failed closed.
    Error,
    /// The service could not be reached; failed open.
    FailureModeAllowed,
}

impl Outcome {
    /// The counter's name.
    pub fn metric(self) -> &'static str {
        match self {
            Outcome::Ok => "ext_authz.ok",
            Outcome::Denied => "ext_authz.denied",
            Outcome::Error => "ext_authz.error",
            Outcome::FailureModeAllowed => "ext_authz.failure_mode_allowed",
        }
    }
}

/// The check request for a client request with this method, path and headers.
///
/// ```
/// use wasme_sdk::PluginConfig;
/// let c = ext_authz::AuthzConfig::parse(br#"{"cluster":"auth","path_prefix":"/check"}"#).unwrap();
/// let call = ext_authz::check_request(&c, "POST", "/orders?id=1", |h| (h == "authorization").then(|| "Bearer t".to_string()));
/// assert!(call.headers.contains(&(":path".into(), "/check/orders?id=1".into())));
/// assert!(call.headers.contains(&("authorization".into(), "Bearer t".into())));
/// assert!(!call.headers.iter().any(|(k, _)| k == "cookie"));
/// ```
pub fn check_request(
    config: &AuthzConfig,
    method: &str,
    path: &str,
    request_header: impl Fn(&str) -> Option<String>,
) -> HttpCall {
    let mut call = HttpCall::new(
        method,
        config.authority(),
        &format!("{}{path}", config.path_prefix),
    )
    .timeout(Duration::from_millis(config.timeout_ms));
    for name in &config.allowed_request_headers {
        if let Some(value) = request_header(name) {
            call = call.header(name, &value);
        }
    }
    call
}

/// Decides from the service's answer.
///
/// ```
/// use wasme_sdk::{HttpCallResponse, PluginConfig};
/// use ext_authz::{decide, AuthzConfig, Decision};
/// let c = AuthzConfig::parse(br#"{"cluster":"auth"}"#).unwrap();
/// let ok = HttpCallResponse { headers: vec![(":status".into(), "200".into())], ..Default::default() };
/// assert!(matches!(decide(&c, &Ok(ok)).0, Decision::Allow { .. }));
/// ```
pub fn decide(config: &AuthzConfig, result: &HttpCallResult) -> (Decision, Outcome) {
    let response = match result {
        Ok(response) => response,
        Err(_) => return unreachable_service(config),
    };
    match response.status() {
        // Envoy's ext_authz treats any 5xx of the service as an error, not a denial.
        Some(status) if (500..600).contains(&status) => unreachable_service(config),
        Some(200) => (
            Decision::Allow {
                upstream_headers: pick(&response.headers, &config.allowed_upstream_headers),
            },
            Outcome::Ok,
        ),
        Some(status) => (
            Decision::Deny {
                status,
                headers: pick(&response.headers, &config.allowed_client_headers),
                body: response.body.clone(),
            },
            Outcome::Denied,
        ),
        None => unreachable_service(config),
    }
}

/// The decision when the service gave no usable answer.
pub fn unreachable_service(config: &AuthzConfig) -> (Decision, Outcome) {
    if config.failure_mode_allow {
        (
            Decision::Allow {
                upstream_headers: vec![(FAILURE_MODE_HEADER.into(), "true".into())],
            },
            Outcome::FailureModeAllowed,
        )
    } else {
        (
            Decision::Deny {
                status: config.status_on_error,
                headers: Vec::new(),
                body: Vec::new(),
            },
            Outcome::Error,
        )
    }
}

fn pick(headers: &[(String, String)], allowed: &[String]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| allowed.iter().any(|a| a.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

/// The filter of one HTTP stream.
pub struct ExtAuthz {
    config: Rc<AuthzConfig>,
}

impl Filter for ExtAuthz {
    type Config = AuthzConfig;

    fn new(config: &Rc<AuthzConfig>) -> Self {
        ExtAuthz {
            config: config.clone(),
        }
    }

    fn name() -> &'static str {
        "ext-authz"
    }
}

impl ExtAuthz {
    /// Applies a decision: returns the action for a callback that is still running.
    fn apply(decision: Decision, outcome: Outcome, cx: &mut HttpCx<'_, Self>) -> Action {
        Counter::named(outcome.metric()).increment(1);
        match decision {
            Decision::Allow { upstream_headers } => {
                let mut request = cx.request_headers();
                for (name, value) in &upstream_headers {
                    request.set(name, value);
                }
                Action::Continue
            }
            Decision::Deny {
                status,
                headers,
                body,
            } => {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                cx.send_response(u32::from(status), &headers, &body)
            }
        }
    }
}

impl HttpFilter for ExtAuthz {
    fn on_request_headers(&mut self, headers: &mut Headers, cx: &mut HttpCx<'_, Self>) -> Action {
        let method = headers.method().unwrap_or_else(|| "GET".into());
        let path = headers.path().unwrap_or_else(|| "/".into());
        let call = check_request(&self.config, &method, &path, |name| headers.get(name));
        let sent = cx.http_call(&self.config.cluster, call, |filter, result, cx| {
            let (decision, outcome) = decide(&filter.config, &result);
            if let Err(failure) = &result {
                wasme_sdk::log::warn!("ext-authz: authorization service failed: {failure}");
            }
            if Self::apply(decision, outcome, cx) == Action::Continue {
                cx.resume_request();
            }
        });
        match sent {
            Ok(_) => Action::Pause,
            Err(problem) => {
                wasme_sdk::log::error!(
                    "ext-authz: cannot call cluster {:?}: {problem}",
                    self.config.cluster
                );
                let (decision, outcome) = unreachable_service(&self.config);
                Self::apply(decision, outcome, cx)
            }
        }
    }
}

wasme_sdk::export_http_filter!(ExtAuthz);

#[cfg(test)]
mod tests {
    use super::*;
    use wasme_sdk::{CallFailure, HttpCallResponse, PluginConfig};

    fn config(extra: &str) -> AuthzConfig {
        AuthzConfig::parse(format!(r#"{{"cluster":"auth"{extra}}}"#).as_bytes()).unwrap()
    }

    fn answer(status: &str, headers: &[(&str, &str)], body: &str) -> HttpCallResult {
        let mut all = vec![(":status".to_string(), status.to_string())];
        all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(HttpCallResponse {
            headers: all,
            body: body.into(),
            trailers: vec![],
        })
    }

    #[test]
    fn allow_copies_only_allowed_upstream_headers() {
        let c = config(r#","allowed_upstream_headers":["X-User"]"#);
        let (d, o) = decide(
            &c,
            &answer("200", &[("X-User", "ann"), ("x-secret", "s")], ""),
        );
        assert_eq!(o, Outcome::Ok);
        assert_eq!(
            d,
            Decision::Allow {
                upstream_headers: vec![("x-user".into(), "ann".into())]
            }
        );
    }

    #[test]
    fn deny_forwards_status_body_and_client_headers() {
        let c = config("");
        let (d, o) = decide(
            &c,
            &answer(
                "401",
                &[("www-authenticate", "Bearer"), ("x-internal", "1")],
                "no",
            ),
        );
        assert_eq!(o, Outcome::Denied);
        assert_eq!(
            d,
            Decision::Deny {
                status: 401,
                headers: vec![("www-authenticate".into(), "Bearer".into())],
                body: b"no".to_vec()
            }
        );
    }

    #[test]
    fn failures_fail_closed_unless_configured_open() {
        let failure: HttpCallResult = Err(CallFailure {
            code: 11,
            message: "reset".into(),
        });
        let (d, o) = decide(&config(""), &failure);
        assert_eq!(o, Outcome::Error);
        assert!(matches!(d, Decision::Deny { status: 403, .. }));
        let (d, o) = decide(&config(r#","status_on_error":503"#), &failure);
        assert_eq!(o, Outcome::Error);
        assert!(matches!(d, Decision::Deny { status: 503, .. }));
        let (d, o) = decide(&config(r#","failure_mode_allow":true"#), &failure);
        assert_eq!(o, Outcome::FailureModeAllowed);
        assert_eq!(
            d,
            Decision::Allow {
                upstream_headers: vec![(FAILURE_MODE_HEADER.into(), "true".into())]
            }
        );
        // An answer without a status is no answer.
        let (_, o) = decide(&config(""), &Ok(HttpCallResponse::default()));
        assert_eq!(o, Outcome::Error);
    }

    #[test]
    fn a_5xx_answer_is_an_error_like_envoys_timeout_and_connect_failure() {
        for (status, body) in [
            ("504", "upstream request timeout"),
            (
                "503",
                "upstream connect error or disconnect/reset before headers.",
            ),
            ("500", "oops"),
        ] {
            let (d, o) = decide(&config(""), &answer(status, &[], body));
            assert_eq!(o, Outcome::Error, "{status}");
            assert!(matches!(d, Decision::Deny { status: 403, .. }), "{status}");
        }
    }
}
