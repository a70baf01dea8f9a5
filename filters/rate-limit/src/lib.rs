//! `rate-limit`: a token bucket shared by every worker VM (Envoy shared data), refilled on
//! ticks. A request takes one token; with none left the client gets **429** with
//! `retry-after` (seconds until the next refill).
//!
//! The bucket is one shared-data entry (`wasme.rate_limit.<bucket>`) holding the token count
//! and the time of the last refill. Every update is a compare-and-swap retried up to
//! `max_cas_attempts` times, so concurrent workers never lose or double-spend a token. Ticks
//! refill by the number of whole intervals elapsed since the recorded refill time, so N worker
//! VMs ticking on the same bucket refill it once per interval, not N times.
//!
//! ```json
//! {"capacity": 100, "refill_tokens": 10, "refill_interval_ms": 1000, "bucket": "api"}
//! ```
//!
//! Metrics: `rate_limit.allowed`, `rate_limit.limited`, `rate_limit.contended` (counters: a
//! request is limited when the bucket stayed contended through every attempt) and
//! `rate_limit.tokens` (gauge: tokens left after the last update).

use serde::Deserialize;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};
use wasme_sdk::metrics::{Counter, Gauge};
use wasme_sdk::shared_data::{self, SharedDataError};
use wasme_sdk::{Action, ConfigError, Filter, Headers, HttpCx, HttpFilter, JsonConfig};

/// The rate-limit plugin configuration.
///
/// ```
/// use wasme_sdk::PluginConfig;
/// let c = rate_limit::RateLimitConfig::parse(br#"{"capacity": 5}"#).unwrap();
/// assert_eq!((c.refill_tokens, c.refill_interval_ms), (5, 1000));
/// assert_eq!(c.shared_key(), "wasme.rate_limit.default");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// The most tokens the bucket holds (and holds at first).
    pub capacity: u64,
    /// Tokens added per interval (default: `capacity`).
    #[serde(default)]
    pub refill_tokens: u64,
    /// The refill interval and tick period in milliseconds (default 1000).
    #[serde(default = "default_interval")]
    pub refill_interval_ms: u64,
    /// The bucket's name: plugins naming the same bucket share it (default `default`).
    #[serde(default = "default_bucket")]
    pub bucket: String,
    /// Compare-and-swap attempts before a request is limited (default 8).
    #[serde(default = "default_attempts")]
    pub max_cas_attempts: u32,
}

fn default_interval() -> u64 {
    1000
}
fn default_bucket() -> String {
    "default".into()
}
fn default_attempts() -> u32 {
    8
}

impl JsonConfig for RateLimitConfig {
    fn validate(&mut self) -> Result<(), ConfigError> {
        if self.capacity == 0 {
            return Err(ConfigError::new("\"capacity\" must be at least 1"));
        }
        if self.refill_tokens == 0 {
            self.refill_tokens = self.capacity;
        }
        if self.refill_interval_ms == 0 {
            return Err(ConfigError::new(
                "\"refill_interval_ms\" must be at least 1",
            ));
        }
        if self.max_cas_attempts == 0 {
            return Err(ConfigError::new("\"max_cas_attempts\" must be at least 1"));
        }
        if self.bucket.is_empty() {
            return Err(ConfigError::new("\"bucket\" must not be empty"));
        }
        Ok(())
    }
}

impl RateLimitConfig {
    /// The shared-data key of the bucket.
    pub fn shared_key(&self) -> String {
        format!("wasme.rate_limit.{}", self.bucket)
    }

    /// The `retry-after` value: whole seconds until the next refill, at least 1.
    ///
    /// ```
    /// use wasme_sdk::PluginConfig;
    /// let c = rate_limit::RateLimitConfig::parse(br#"{"capacity":1,"refill_interval_ms":1500}"#).unwrap();
    /// assert_eq!(c.retry_after_secs(), 2);
    /// ```
    pub fn retry_after_secs(&self) -> u64 {
        self.refill_interval_ms.div_ceil(1000).max(1)
    }
}

/// The bucket state stored in shared data: 16 bytes, little-endian token count then the time
/// of the last refill in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Tokens left.
    pub tokens: u64,
    /// When the bucket was last refilled (ms since the epoch).
    pub refilled_at_ms: u64,
}

impl Bucket {
    /// A full bucket as of `now_ms`.
    pub fn full(config: &RateLimitConfig, now_ms: u64) -> Self {
        Bucket {
            tokens: config.capacity,
            refilled_at_ms: now_ms,
        }
    }

    /// Decodes stored bytes; `None` for anything that is not 16 bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let tokens = u64::from_le_bytes(bytes.get(0..8)?.try_into().ok()?);
        let refilled_at_ms = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
        (bytes.len() == 16).then_some(Bucket {
            tokens,
            refilled_at_ms,
        })
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.tokens.to_le_bytes().to_vec();
        out.extend_from_slice(&self.refilled_at_ms.to_le_bytes());
        out
    }

    /// Takes one token: the new state, or `None` when the bucket is empty.
    pub fn take(self) -> Option<Self> {
        Some(Bucket {
            tokens: self.tokens.checked_sub(1)?,
            ..self
        })
    }

    /// Adds `refill_tokens` per whole interval elapsed since the last refill (capped at the
    /// capacity); the refill time advances by those intervals only, so partial intervals
    /// carry over. `None` when nothing changes.
    ///
    /// ```
    /// use rate_limit::{Bucket, RateLimitConfig};
    /// use wasme_sdk::PluginConfig;
    /// let c = RateLimitConfig::parse(br#"{"capacity":10,"refill_tokens":2}"#).unwrap();
    /// let b = Bucket { tokens: 1, refilled_at_ms: 0 };
    /// assert_eq!(b.refill(&c, 999), None);
    /// assert_eq!(b.refill(&c, 2500), Some(Bucket { tokens: 5, refilled_at_ms: 2000 }));
    /// ```
    pub fn refill(self, config: &RateLimitConfig, now_ms: u64) -> Option<Self> {
        let intervals = now_ms.saturating_sub(self.refilled_at_ms) / config.refill_interval_ms;
        if intervals == 0 {
            return None;
        }
        Some(Bucket {
            tokens: self
                .tokens
                .saturating_add(intervals.saturating_mul(config.refill_tokens))
                .min(config.capacity),
            refilled_at_ms: self
                .refilled_at_ms
                .saturating_add(intervals.saturating_mul(config.refill_interval_ms)),
        })
    }
}

fn now_ms() -> u64 {
    wasme_sdk::current_time()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Takes a token from the shared bucket: `Ok(Some(tokens_left))`, `Ok(None)` when empty.
fn take_token(config: &RateLimitConfig) -> Result<Option<u64>, SharedDataError> {
    let now = now_ms();
    shared_data::update(&config.shared_key(), config.max_cas_attempts, |current| {
        let bucket = current
            .and_then(Bucket::decode)
            .unwrap_or_else(|| Bucket::full(config, now));
        match bucket.take() {
            Some(next) => (Some(next.encode()), Some(next.tokens)),
            None => (None, None),
        }
    })
}

/// The filter of one HTTP stream.
pub struct RateLimit {
    config: Rc<RateLimitConfig>,
}

impl Filter for RateLimit {
    type Config = RateLimitConfig;

    fn new(config: &Rc<RateLimitConfig>) -> Self {
        RateLimit {
            config: config.clone(),
        }
    }

    fn name() -> &'static str {
        "rate-limit"
    }

    fn tick_period(config: &RateLimitConfig) -> Option<Duration> {
        Some(Duration::from_millis(config.refill_interval_ms))
    }

    fn on_tick(config: &RateLimitConfig) {
        let now = now_ms();
        let refilled =
            shared_data::update(&config.shared_key(), config.max_cas_attempts, |current| {
                match current.and_then(Bucket::decode) {
                    None => {
                        let full = Bucket::full(config, now);
                        (Some(full.encode()), Some(full.tokens))
                    }
                    Some(bucket) => match bucket.refill(config, now) {
                        Some(next) => (Some(next.encode()), Some(next.tokens)),
                        None => (None, None),
                    },
                }
            });
        match refilled {
            Ok(Some(tokens)) => Gauge::named("rate_limit.tokens").set(tokens),
            Ok(None) => {}
            Err(problem) => wasme_sdk::log::warn!("rate-limit: refill skipped: {problem}"),
        }
    }
}

impl HttpFilter for RateLimit {
    fn on_request_headers(&mut self, _headers: &mut Headers, cx: &mut HttpCx<'_, Self>) -> Action {
        match take_token(&self.config) {
            Ok(Some(left)) => {
                Counter::named("rate_limit.allowed").increment(1);
                Gauge::named("rate_limit.tokens").set(left);
                Action::Continue
            }
            outcome => {
                if outcome.is_err() {
                    Counter::named("rate_limit.contended").increment(1);
                }
                Counter::named("rate_limit.limited").increment(1);
                Gauge::named("rate_limit.tokens").set(0);
                let retry_after = self.config.retry_after_secs().to_string();
                cx.send_response(
                    429,
                    &[("retry-after", retry_after.as_str())],
                    b"rate limited\n",
                )
            }
        }
    }
}

wasme_sdk::export_http_filter!(RateLimit);

#[cfg(test)]
mod tests {
    use super::*;
    use wasme_sdk::PluginConfig;

    fn config(raw: &str) -> RateLimitConfig {
        RateLimitConfig::parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn bucket_round_trips_and_rejects_garbage() {
        let b = Bucket {
            tokens: 7,
            refilled_at_ms: 123_456,
        };
        assert_eq!(Bucket::decode(&b.encode()), Some(b));
        assert_eq!(Bucket::decode(&[1, 2, 3]), None);
        assert_eq!(Bucket::decode(&[0; 17]), None);
    }

    #[test]
    fn take_until_empty() {
        let mut b = Bucket::full(&config(r#"{"capacity":2}"#), 0);
        b = b.take().unwrap();
        b = b.take().unwrap();
        assert_eq!(b.tokens, 0);
        assert_eq!(b.take(), None);
    }

    #[test]
    fn refill_caps_at_capacity_and_keeps_partial_intervals() {
        let c = config(r#"{"capacity":3,"refill_tokens":1,"refill_interval_ms":100}"#);
        let b = Bucket {
            tokens: 0,
            refilled_at_ms: 1000,
        };
        let once = b.refill(&c, 1150).unwrap();
        assert_eq!(
            once,
            Bucket {
                tokens: 1,
                refilled_at_ms: 1100
            }
        );
        assert_eq!(once.refill(&c, 1199), None);
        let capped = once.refill(&c, 10_000).unwrap();
        assert_eq!(capped.tokens, 3);
        // A clock that went backwards refills nothing.
        assert_eq!(once.refill(&c, 0), None);
    }

    #[test]
    fn configuration_errors_name_the_field() {
        let e = |raw: &str| {
            RateLimitConfig::parse(raw.as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert!(e(r#"{"capacity":0}"#).contains("\"capacity\""));
        assert!(e(r#"{"capacity":1,"refill_interval_ms":0}"#).contains("refill_interval_ms"));
        assert!(e(r#"{"capacity":-1}"#).contains("invalid value"));
        assert!(e("").contains("missing field `capacity`"));
    }
}
