//! Metrics by name: defined on first use, ids cached for the life of the VM.
//!
//! ```no_run
//! use wasme_sdk::metrics::{Counter, Gauge};
//! Counter::named("my_filter.requests").increment(1);
//! Gauge::named("my_filter.in_flight").add(-1);
//! ```
//!
//! Metric updates are best effort: a host that refuses one (unknown id, wrong type) is
//! ignored rather than failing the request.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;

thread_local! {
    // A few metrics per filter: a linear scan beats hashing (and keeps the module small).
    static IDS: RefCell<Vec<(MetricType, Box<str>, u32)>> = const { RefCell::new(Vec::new()) };
}

fn id(kind: MetricType, name: &str) -> Option<u32> {
    IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        if let Some((_, _, id)) = ids.iter().find(|(k, n, _)| *k == kind && &**n == name) {
            return Some(*id);
        }
        let id = hostcalls::define_metric(kind, name).ok()?;
        ids.push((kind, name.into(), id));
        Some(id)
    })
}

/// A monotonically increasing counter.
#[derive(Debug, Clone, Copy)]
pub struct Counter(Option<u32>);

impl Counter {
    /// The counter called `name`, defined on first use.
    pub fn named(name: &str) -> Self {
        Counter(id(MetricType::Counter, name))
    }

    /// Adds `by` (0 is ignored: Envoy refuses non-positive increments).
    pub fn increment(self, by: u64) {
        if let (Some(id), Ok(by @ 1..)) = (self.0, i64::try_from(by)) {
            let _ = hostcalls::increment_metric(id, by);
        }
    }

    /// The current value, if the host reports it.
    pub fn value(self) -> Option<u64> {
        hostcalls::get_metric(self.0?).ok()
    }
}

/// A value that goes up and down.
#[derive(Debug, Clone, Copy)]
pub struct Gauge(Option<u32>);

impl Gauge {
    /// The gauge called `name`, defined on first use.
    pub fn named(name: &str) -> Self {
        Gauge(id(MetricType::Gauge, name))
    }

    /// Sets the value.
    pub fn set(self, value: u64) {
        if let Some(id) = self.0 {
            let _ = hostcalls::record_metric(id, value);
        }
    }

    /// Adds `delta` (negative to decrease).
    pub fn add(self, delta: i64) {
        if let Some(id) = self.0 {
            let _ = hostcalls::increment_metric(id, delta);
        }
    }

    /// The current value, if the host reports it.
    pub fn value(self) -> Option<u64> {
        hostcalls::get_metric(self.0?).ok()
    }
}

/// A distribution of recorded values.
#[derive(Debug, Clone, Copy)]
pub struct Histogram(Option<u32>);

impl Histogram {
    /// The histogram called `name`, defined on first use.
    pub fn named(name: &str) -> Self {
        Histogram(id(MetricType::Histogram, name))
    }

    /// Records one value.
    pub fn record(self, value: u64) {
        if let Some(id) = self.0 {
            let _ = hostcalls::record_metric(id, value);
        }
    }
}
