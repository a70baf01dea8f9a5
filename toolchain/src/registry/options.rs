//! What a [`Registry`](super::Registry) is told: transport choices, retries, time and size
//! limits, and their defaults (each overridable from the environment where noted).

use super::credentials::Credential;
use std::time::Duration;

/// The default largest layer accepted (512 MiB: a 256 MiB module, gzip's worst case).
pub const DEFAULT_MAX_LAYER_SIZE: u64 = 2 * crate::image::layer::MAX_MODULE_SIZE;
/// The default time a transfer may go without receiving a byte.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default floor on a download's average rate: 16 KiB/s, far below any registry in use
/// (a 512 MiB layer may take 9 hours; a 100 KiB filter module 37 s).
pub const DEFAULT_MIN_TRANSFER_RATE: u64 = 16 * 1024;

/// The default bytes per `PATCH`: 4 MiB, as docker and containerd use.
pub const DEFAULT_CHUNK_SIZE: usize = 4 * 1024 * 1024;

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Speak plain HTTP to every registry (always done for localhost and 127.0.0.1).
    pub plain_http: bool,
    /// Accept invalid TLS certificates (and fall back to plain HTTP when asked).
    pub insecure: bool,
    /// Report blob transfers on stderr.
    pub progress: bool,
    /// Attempts per request on 5xx, 429 and broken connections (at least 1); see [`retry`](super::retry).
    pub attempts: u32,
    /// First backoff delay; doubles per retry (a `Retry-After` replaces it). Default
    /// [`DEFAULT_BACKOFF`], or `WASME_RETRY_BACKOFF` seconds (fractions allowed).
    pub backoff: Duration,
    /// Use these credentials instead of looking them up.
    pub credential: Option<Credential>,
    /// How long a transfer may go without receiving a byte before it fails (default
    /// [`DEFAULT_READ_TIMEOUT`], or `WASME_READ_TIMEOUT` seconds, fractions allowed).
    pub read_timeout: Duration,
    /// The slowest average a download may run at, in bytes per second, after the first read
    /// timeout's grace (default [`DEFAULT_MIN_TRANSFER_RATE`], or
    /// `WASME_MIN_TRANSFER_RATE`): what stops a registry that trickles one byte before every
    /// read timeout.
    pub min_transfer_rate: u64,
    /// The largest layer `pull` accepts, whatever its manifest declares (default
    /// [`DEFAULT_MAX_LAYER_SIZE`], or `WASME_MAX_LAYER_BYTES`).
    pub max_layer_size: u64,
    /// Bytes per `PATCH` of a chunked blob upload (raised to the registry's
    /// `OCI-Chunk-Min-Length` when it asks for more).
    pub chunk_size: usize,
}

/// The default first wait before a retry (doubling per retry).
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(250);

/// A positive number from the environment variable `name`, if set.
fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
}

/// A positive number of seconds, fractions allowed (`30`, `0.5`); anything else is `None`.
///
/// ```
/// use cargo_wasme::registry::parse_seconds;
/// assert_eq!(parse_seconds("0.5"), Some(std::time::Duration::from_millis(500)));
/// assert_eq!(parse_seconds("0"), None);
/// ```
pub fn parse_seconds(text: &str) -> Option<Duration> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1e9)
        .map(Duration::from_secs_f64)
}

/// [`parse_seconds`] of the environment variable `name`, if set.
fn env_seconds(name: &str) -> Option<Duration> {
    std::env::var(name).ok().as_deref().and_then(parse_seconds)
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: false,
            insecure: false,
            progress: false,
            attempts: 4,
            backoff: env_seconds("WASME_RETRY_BACKOFF").unwrap_or(DEFAULT_BACKOFF),
            credential: None,
            read_timeout: env_seconds("WASME_READ_TIMEOUT").unwrap_or(DEFAULT_READ_TIMEOUT),
            min_transfer_rate: env_number("WASME_MIN_TRANSFER_RATE")
                .unwrap_or(DEFAULT_MIN_TRANSFER_RATE),
            max_layer_size: env_number("WASME_MAX_LAYER_BYTES").unwrap_or(DEFAULT_MAX_LAYER_SIZE),
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_may_have_fractions_and_must_be_positive() {
        assert_eq!(parse_seconds("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_seconds(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0.01"), Some(Duration::from_millis(10)));
        for bad in ["0", "-1", "", "soon", "NaN", "inf", "1e12"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }
}
