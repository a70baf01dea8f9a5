//! `proxy_get_current_time_nanoseconds`, `proxy_set_tick_period_milliseconds`.

use crate::abi::Status;
use crate::envoy::hostcalls::{hostcall, note};
use crate::envoy::state::{Context, VmState};
use crate::vm::memory;
use wasmtime::Linker;

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
