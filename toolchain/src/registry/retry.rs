//! The retry policy for registry requests: what is worth trying again and how long to wait.
//!
//! Retried: `429 Too Many Requests`, `5xx`, and connections that drop mid-request (resets,
//! timeouts, truncated bodies). Not retried, because another attempt cannot succeed: a refused
//! connection, a DNS failure, a TLS failure (all failures to *connect*), and every other `4xx`.
//! The wait doubles from [`RetryPolicy::backoff`]; a `Retry-After` header, when the registry
//! sends one, replaces it (capped at [`MAX_RETRY_AFTER`] so a CI job never sleeps for hours).
//! Every retry is announced with a `warning:` line, so a slow push is never silent.

use crate::shell;
use oci_client::errors::OciDistributionError;
use std::future::Future;
use std::time::Duration;

/// The longest `Retry-After` honoured; a registry asking for more gets this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request (at least 1).
    pub attempts: u32,
    /// The first wait; doubles per retry.
    pub backoff: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again, after the server's `Retry-After` when it sent one.
    Retry {
        /// The server's `Retry-After`.
        after: Option<Duration>,
    },
    /// Give up: another attempt cannot succeed.
    GiveUp,
}

/// Whether an HTTP status is worth retrying (`429` and `5xx`).
pub fn status_is_transient(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// The decision for a `reqwest` failure: a failure to connect (refused, DNS, TLS) is final,
/// unless it timed out; a request that broke after connecting (reset, truncated body,
/// timeout) is retried; a status is judged by [`status_is_transient`].
pub fn classify_reqwest(e: &reqwest::Error) -> Decision {
    if let Some(status) = e.status() {
        return if status_is_transient(status.as_u16()) {
            Decision::Retry { after: None }
        } else {
            Decision::GiveUp
        };
    }
    if e.is_connect() && !e.is_timeout() {
        return Decision::GiveUp;
    }
    if e.is_timeout() || e.is_request() || e.is_body() || e.is_decode() {
        Decision::Retry { after: None }
    } else {
        Decision::GiveUp
    }
}

/// The decision for an `oci-client` failure (which carries no headers, so no `Retry-After`).
pub fn classify_oci(e: &OciDistributionError) -> Decision {
    match e {
        OciDistributionError::ServerError { code, .. } if status_is_transient(*code) => {
            Decision::Retry { after: None }
        }
        OciDistributionError::RequestError(r) => classify_reqwest(r),
        OciDistributionError::IoError(_) => Decision::Retry { after: None },
        _ => Decision::GiveUp,
    }
}

/// Parses a `Retry-After` header's delay-seconds. The HTTP-date form (which registries do not
/// send in practice) is not parsed: it falls back to the exponential backoff rather than
/// pulling in a date parser.
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// Formats a wait for people: `250ms`, `2s`, `1.5s`.
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl RetryPolicy {
    /// Runs `f` until it succeeds, `classify` says [`Decision::GiveUp`], or the attempts run
    /// out. Each retry is announced as `warning: {registry}: {error} while {what}; retrying in
    /// …`. On failure returns the last error and the number of attempts made.
    pub async fn run<T, E, F, Fut>(
        &self,
        registry: &str,
        what: &str,
        classify: impl Fn(&E) -> Decision,
        describe: impl Fn(&E) -> String,
        mut f: F,
    ) -> Result<T, (E, u32)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let attempts = self.attempts.max(1);
        let mut delay = self.backoff;
        let mut attempt = 1;
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) => match classify(&e) {
                    Decision::Retry { after } if attempt < attempts => {
                        let wait = after.map(|a| a.min(MAX_RETRY_AFTER)).unwrap_or(delay);
                        shell::warn(format!(
                            "{registry}: {} while {what}; retrying in {} (attempt {} of {attempts})",
                            describe(&e),
                            human(wait),
                            attempt + 1
                        ));
                        tokio::time::sleep(wait).await;
                        delay *= 2;
                        attempt += 1;
                    }
                    _ => return Err((e, attempt)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None, "dates fall back to the backoff");
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn only_429_and_5xx_are_transient() {
        for s in [429, 500, 502, 503, 504] {
            assert!(status_is_transient(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 405, 416] {
            assert!(!status_is_transient(s), "{s}");
        }
    }

    #[test]
    fn waits_are_printed_for_people() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(2)), "2s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
    }
}
