//! `proxy_get_current_time_nanoseconds`, `proxy_set_tick_period_milliseconds`.

use super::{hostcall, note};
use crate::abi::Status;
use crate::memory;
use crate::state::Context;
use wasmtime::Linker;

pub(super) fn add(linker: &mut Linker<crate::state::VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_get_current_time_nanoseconds",
        |caller, ret_ptr: u32| {
            let now = caller.data().clock.realtime_ns();
            Ok(memory::status_of(memory::write_u64(
                &mut caller,
                ret_ptr,
                now,
            )))
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
            let status = match state.contexts.get_mut(&root) {
                Some(Context::Root(r)) => {
                    r.tick_period_ns = u64::from(period_ms) * 1_000_000;
                    r.next_tick_ns = now + r.tick_period_ns;
                    Status::Ok
                }
                _ => Status::BadArgument,
            };
            Ok(status)
        }
    );
    Ok(())
}
