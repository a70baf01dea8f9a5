//! Metrics (`proxy_define_metric`, `proxy_increment_metric`, `proxy_record_metric`,
//! `proxy_get_metric`) with Envoy's rules: ids encode the type in their low two bits (counters 4, 8, …;
//! gauges 5, 9, …; histograms 6, 10, …); values live in the [`SharedState`] by name, like
//! Envoy's stats store shared by all workers.

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::{MetricType, Status};
use crate::envoy::shared::{MetricValue, SharedState};
use crate::vm::limits::Limit;
use crate::vm::memory;
use std::collections::HashMap;
use wasmtime::Linker;

const ID_INCREMENT: u32 = 4;
const TYPE_MASK: u32 = 3;

/// One VM's metric definitions.
#[derive(Debug)]
pub(crate) struct Metrics {
    names: HashMap<u32, String>,
    next: [u32; 3],
    /// Bytes of all names in `names` (for the host limits).
    name_bytes: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            names: HashMap::new(),
            next: [0, 1, 2],
            name_bytes: 0,
        }
    }
}

fn type_of(id: u32) -> Option<MetricType> {
    MetricType::from_u32(id & TYPE_MASK)
}

impl Metrics {
    /// `proxy_define_metric`: a new id every time, the value shared by name.
    pub(crate) fn define(&mut self, shared: &SharedState, ty: MetricType, name: &str) -> u32 {
        let slot = ty as usize;
        self.next[slot] += ID_INCREMENT;
        let id = self.next[slot];
        self.names.insert(id, name.to_string());
        self.name_bytes += name.len();
        shared
            .lock()
            .metric_values
            .entry(name.to_string())
            .or_insert(match ty {
                MetricType::Counter => MetricValue::Counter(0),
                MetricType::Gauge => MetricValue::Gauge(0),
                MetricType::Histogram => MetricValue::Histogram(Vec::new()),
            });
        id
    }

    /// How many metrics this VM defined, and the bytes of their names.
    pub(crate) fn footprint(&self) -> (usize, usize) {
        (self.names.len(), self.name_bytes)
    }

    /// The samples histogram `id` holds (None: not a histogram).
    pub(crate) fn samples(&self, shared: &SharedState, id: u32) -> Option<usize> {
        self.with_value(shared, id, |_, v| match v {
            MetricValue::Histogram(h) => Ok(h.len()),
            _ => Err(Status::BadArgument),
        })
        .ok()
    }

    fn with_value<R>(
        &self,
        shared: &SharedState,
        id: u32,
        f: impl FnOnce(MetricType, &mut MetricValue) -> Result<R, Status>,
    ) -> Result<R, Status> {
        let name = self.names.get(&id).ok_or(Status::NotFound)?;
        let ty = type_of(id).ok_or(Status::NotFound)?;
        let mut g = shared.lock();
        let value = g.metric_values.get_mut(name).ok_or(Status::NotFound)?;
        f(ty, value)
    }

    /// `proxy_increment_metric` (Envoy's `Context::incrementMetric`): the type in the id's
    /// low bits decides first; counters only go up (offset ≤ 0 → BAD_ARGUMENT), gauges move
    /// either way, an unknown counter or gauge id is NOT_FOUND, and any other type (histogram,
    /// or the unused type 3) is BAD_ARGUMENT whether or not the id exists.
    pub(crate) fn increment(
        &self,
        shared: &SharedState,
        id: u32,
        offset: i64,
    ) -> Result<(), Status> {
        match type_of(id) {
            Some(MetricType::Counter) | Some(MetricType::Gauge) => {}
            _ => return Err(Status::BadArgument),
        }
        self.with_value(shared, id, |ty, v| match (ty, v) {
            (MetricType::Counter, MetricValue::Counter(c)) => {
                if offset <= 0 {
                    return Err(Status::BadArgument);
                }
                *c = c.wrapping_add(offset as u64);
                Ok(())
            }
            (MetricType::Gauge, MetricValue::Gauge(g)) => {
                *g = g.wrapping_add(offset);
                Ok(())
            }
            _ => Err(Status::BadArgument),
        })
    }

    /// `proxy_record_metric` (`Context::recordMetric`): counters add, gauges set, histograms
    /// record a sample; an id that is not defined (of any type, including 3) is NOT_FOUND.
    pub(crate) fn record(&self, shared: &SharedState, id: u32, value: u64) -> Result<(), Status> {
        self.with_value(shared, id, |_, v| {
            match v {
                MetricValue::Counter(c) => *c = c.wrapping_add(value),
                MetricValue::Gauge(g) => *g = value as i64,
                MetricValue::Histogram(h) => h.push(value),
            }
            Ok(())
        })
    }

    /// `proxy_get_metric` (`Context::getMetric`): counters and gauges (NOT_FOUND when not
    /// defined); a histogram id or type 3 is BAD_ARGUMENT whether or not it exists.
    pub(crate) fn get(&self, shared: &SharedState, id: u32) -> Result<u64, Status> {
        match type_of(id) {
            Some(MetricType::Counter) | Some(MetricType::Gauge) => {}
            _ => return Err(Status::BadArgument),
        }
        self.with_value(shared, id, |_, v| match v {
            MetricValue::Counter(c) => Ok(*c),
            MetricValue::Gauge(g) => Ok(*g as u64),
            MetricValue::Histogram(_) => Err(Status::BadArgument),
        })
    }
}

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_define_metric",
        |caller, ty: u32, name_ptr: u32, name_size: u32, ret_id_ptr: u32| {
            let ty = MetricType::from_u32(ty).ok_or(Status::BadArgument)?;
            let name = memory::read_string(&mut caller, name_ptr, name_size)?;
            memory::write_u32(&mut caller, ret_id_ptr, 0)?;
            let state = caller.data_mut();
            note(state, || format!("{ty:?}, {name:?}"));
            let (count, name_bytes) = state.metrics.footprint();
            state.vm.enforce(Limit::MetricCount, count + 1)?;
            state
                .vm
                .enforce(Limit::MetricNameBytes, name_bytes + name.len())?;
            let shared = state.shared.clone();
            let id = state.metrics.define(&shared, ty, &name);
            Ok(memory::write_u32(&mut caller, ret_id_ptr, id)?)
        }
    );
    hostcall!(
        linker,
        "proxy_increment_metric",
        |caller, id: u32, offset: i64| {
            let state = caller.data();
            Ok(state.metrics.increment(&state.shared, id, offset)?)
        }
    );
    hostcall!(
        linker,
        "proxy_record_metric",
        |caller, id: u32, value: u64| {
            let state = caller.data_mut();
            if let Some(samples) = state.metrics.samples(&state.shared, id) {
                state.vm.enforce(Limit::HistogramSamples, samples + 1)?;
            }
            Ok(state.metrics.record(&state.shared, id, value)?)
        }
    );
    hostcall!(
        linker,
        "proxy_get_metric",
        |caller, id: u32, ret_ptr: u32| {
            let state = caller.data();
            let value = state.metrics.get(&state.shared, id)?;
            Ok(memory::write_u64(&mut caller, ret_ptr, value)?)
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_encode_the_type() {
        let s = SharedState::new();
        let mut m = Metrics::default();
        assert_eq!(m.define(&s, MetricType::Counter, "c1"), 4);
        assert_eq!(m.define(&s, MetricType::Counter, "c2"), 8);
        assert_eq!(m.define(&s, MetricType::Gauge, "g"), 5);
        assert_eq!(m.define(&s, MetricType::Histogram, "h"), 6);
        assert_eq!(m.define(&s, MetricType::Gauge, "g2"), 9);
        assert_eq!(m.define(&s, MetricType::Histogram, "h2"), 10);
    }

    #[test]
    fn envoy_rules_per_type() {
        let s = SharedState::new();
        let mut m = Metrics::default();
        let c = m.define(&s, MetricType::Counter, "c");
        let g = m.define(&s, MetricType::Gauge, "g");
        let h = m.define(&s, MetricType::Histogram, "h");
        assert_eq!(m.increment(&s, c, 0), Err(Status::BadArgument));
        assert_eq!(m.increment(&s, c, -1), Err(Status::BadArgument));
        m.increment(&s, c, 2).unwrap();
        m.record(&s, c, 3).unwrap();
        assert_eq!(m.get(&s, c), Ok(5));
        m.increment(&s, g, -4).unwrap();
        assert_eq!(m.get(&s, g), Ok(-4i64 as u64));
        m.record(&s, g, 9).unwrap();
        assert_eq!(m.get(&s, g), Ok(9));
        assert_eq!(m.increment(&s, h, 1), Err(Status::BadArgument));
        assert_eq!(m.get(&s, h), Err(Status::BadArgument));
        m.record(&s, h, 42).unwrap();
        assert_eq!(m.get(&s, 100), Err(Status::NotFound));
        assert_eq!(m.record(&s, 7, 1), Err(Status::NotFound));
    }
}
