//! `tcp-limit`: a network filter that counts connections and bytes into metrics and closes a
//! connection once it has carried more than `max_bytes`.
//!
//! ```json
//! {"max_bytes": 1048576, "count_upstream": true}
//! ```
//!
//! Bytes from the client always count toward the limit; bytes from the upstream count too
//! unless `count_upstream` is `false`. The chunk that crosses the limit is not forwarded: the
//! filter closes the connection and pauses it.
//!
//! Metrics: `tcp_limit.connections` (counter), `tcp_limit.active` (gauge),
//! `tcp_limit.downstream_bytes`, `tcp_limit.upstream_bytes`, `tcp_limit.closed_over_limit`
//! (counters).

use serde::Deserialize;
use std::rc::Rc;
use wasme_sdk::metrics::{Counter, Gauge};
use wasme_sdk::{Action, Body, ConfigError, Filter, JsonConfig, NetCx, NetworkFilter, PeerType};

/// The tcp-limit plugin configuration.
///
/// ```
/// use wasme_sdk::PluginConfig;
/// let c = tcp_limit::LimitConfig::parse(br#"{"max_bytes": 10}"#).unwrap();
/// assert!(c.count_upstream);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Bytes a connection may carry before it is closed.
    pub max_bytes: u64,
    /// Whether upstream bytes count toward the limit (default `true`).
    #[serde(default = "yes")]
    pub count_upstream: bool,
}

fn yes() -> bool {
    true
}

impl JsonConfig for LimitConfig {
    fn validate(&mut self) -> Result<(), ConfigError> {
        if self.max_bytes == 0 {
            return Err(ConfigError::new("\"max_bytes\" must be at least 1"));
        }
        Ok(())
    }
}

/// The byte account of one connection.
///
/// ```
/// let mut usage = tcp_limit::Usage::default();
/// assert!(!usage.add(6, 10));
/// assert!(usage.add(5, 10)); // 11 > 10: over the limit
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes counted so far.
    pub bytes: u64,
}

impl Usage {
    /// Counts `n` more bytes; true when the total is now over `max`.
    pub fn add(&mut self, n: u64, max: u64) -> bool {
        self.bytes = self.bytes.saturating_add(n);
        self.bytes > max
    }
}

/// The filter of one TCP connection.
pub struct TcpLimit {
    config: Rc<LimitConfig>,
    usage: Usage,
    open: bool,
}

impl Filter for TcpLimit {
    type Config = LimitConfig;

    fn new(config: &Rc<LimitConfig>) -> Self {
        TcpLimit {
            config: config.clone(),
            usage: Usage::default(),
            open: false,
        }
    }

    fn name() -> &'static str {
        "tcp-limit"
    }
}

impl TcpLimit {
    fn data(&mut self, n: usize, counts: bool, cx: &mut NetCx) -> Action {
        let n = n as u64;
        if counts && self.usage.add(n, self.config.max_bytes) {
            Counter::named("tcp_limit.closed_over_limit").increment(1);
            wasme_sdk::log::info!(
                "tcp-limit: closing connection {} after {} bytes (limit {})",
                cx.context_id(),
                self.usage.bytes,
                self.config.max_bytes
            );
            self.finish();
            cx.close();
            return Action::Pause;
        }
        Action::Continue
    }

    fn finish(&mut self) {
        if std::mem::take(&mut self.open) {
            Gauge::named("tcp_limit.active").add(-1);
        }
    }
}

impl NetworkFilter for TcpLimit {
    fn on_new_connection(&mut self, _cx: &mut NetCx) -> Action {
        self.open = true;
        Counter::named("tcp_limit.connections").increment(1);
        Gauge::named("tcp_limit.active").add(1);
        Action::Continue
    }

    fn on_downstream_data(&mut self, data: &mut Body, cx: &mut NetCx) -> Action {
        Counter::named("tcp_limit.downstream_bytes").increment(data.len() as u64);
        self.data(data.len(), true, cx)
    }

    fn on_upstream_data(&mut self, data: &mut Body, cx: &mut NetCx) -> Action {
        Counter::named("tcp_limit.upstream_bytes").increment(data.len() as u64);
        self.data(data.len(), self.config.count_upstream, cx)
    }

    fn on_downstream_close(&mut self, _peer: PeerType, _cx: &mut NetCx) {
        self.finish();
    }

    fn on_log(&mut self, _cx: &mut NetCx) {
        self.finish();
    }
}

wasme_sdk::export_network_filter!(TcpLimit);

#[cfg(test)]
mod tests {
    use super::*;
    use wasme_sdk::PluginConfig;

    #[test]
    fn limit_is_exclusive_and_saturates() {
        let mut u = Usage::default();
        assert!(!u.add(10, 10));
        assert!(u.add(1, 10));
        let mut big = Usage {
            bytes: u64::MAX - 1,
        };
        assert!(big.add(5, u64::MAX - 1));
        assert_eq!(big.bytes, u64::MAX);
    }

    #[test]
    fn configuration_errors() {
        let e = |raw: &str| LimitConfig::parse(raw.as_bytes()).unwrap_err().to_string();
        assert!(e(r#"{"max_bytes":0}"#).contains("max_bytes"));
        assert!(e(r#"{"max_bytes":1,"count_upsteam":false}"#).contains("unknown field"));
    }
}
