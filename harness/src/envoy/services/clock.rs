//! Time: the fake clock tests advance (`proxy_get_current_time_nanoseconds`, WASI clocks) and
//! each root context's tick period (`proxy_set_tick_period_milliseconds`).

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::Status;
use crate::envoy::context::Context;
use crate::vm::memory;
#[cfg(test)]
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};
use wasmtime::Linker;

/// A test-controlled clock: wall time and monotonic time move only when the test advances it.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    realtime_start_ns: u64,
    elapsed_ns: u64,
}

/// The monotonic clock's value at start (Envoy's monotonic time is not zero-based).
const MONOTONIC_BASE_NS: u64 = 1_000_000_000;

impl Clock {
    pub(crate) fn new(start: SystemTime) -> Clock {
        let realtime_start_ns = start
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Clock {
            realtime_start_ns,
            elapsed_ns: 0,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub(crate) fn realtime_ns(&self) -> u64 {
        self.realtime_start_ns.saturating_add(self.elapsed_ns)
    }

    /// Monotonic nanoseconds.
    pub(crate) fn monotonic_ns(&self) -> u64 {
        MONOTONIC_BASE_NS + self.elapsed_ns
    }

    /// Nanoseconds since the host was built.
    pub(crate) fn elapsed_ns(&self) -> u64 {
        self.elapsed_ns
    }

    pub(crate) fn set_elapsed(&mut self, ns: u64) {
        self.elapsed_ns = self.elapsed_ns.max(ns);
    }

    #[cfg(test)]
    pub(crate) fn advance(&mut self, d: Duration) {
        self.elapsed_ns = self.elapsed_ns.saturating_add(d.as_nanos() as u64);
    }
}

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_get_current_time_nanoseconds",
        |caller, ret_ptr: u32| {
            let now = caller.data().clock.realtime_ns();
            Ok(memory::write_u64(&mut caller, ret_ptr, now)?)
        }
    );
    hostcall!(
        linker,
        "proxy_set_tick_period_milliseconds",
        |caller, period_ms: u32| {
            let state = caller.data_mut();
            let root = state.effective_root();
            let now = state.clock.elapsed_ns();
            note(state, || format!("{period_ms} ms for root context {root}"));
            let Some(Context::Root(r)) = state.contexts.get_mut(&root) else {
                return Err(Status::BadArgument.into());
            };
            r.tick_period_ns = u64::from(period_ms) * 1_000_000;
            r.next_tick_ns = now + r.tick_period_ns;
            Ok(())
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_moves_only_when_advanced() {
        let mut c = Clock::new(UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(c.realtime_ns(), 10_000_000_000);
        c.advance(Duration::from_millis(5));
        assert_eq!(c.realtime_ns(), 10_005_000_000);
        assert_eq!(c.monotonic_ns(), MONOTONIC_BASE_NS + 5_000_000);
    }
}
