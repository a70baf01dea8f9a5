//! Linking the `env.proxy_*` hostcalls with the exact signatures of each ABI version
//! (`proxy-wasm-host.md` §1). The hostcalls themselves live with their service in
//! [`super::services`]; every pointer is bounds-checked (see [`crate::vm::memory`]); statuses
//! are Envoy's.

use super::services::{
    buffers, foreign, grpc, headers, http_call, log, metrics_calls, properties_calls, queues,
    shared_data, stream_control, timers,
};
use super::state::VmState;
use crate::abi::AbiVersion;
use wasmtime::Linker;

/// Links a hostcall: `hostcall!(linker, "proxy_x", |caller, a: u32, b: u32| body)` where `body`
/// evaluates to a [`crate::vm::HostResult`] (`?` returns a status to the guest or traps). The
/// wrapper refuses calls not allowed in the current phase (start-up, inside the allocator) by
/// trapping, and records the trace when on.
macro_rules! hostcall {
    ($linker:expr, $name:literal, |$caller:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $linker.func_wrap(
            "env",
            $name,
            move |mut $caller: wasmtime::Caller<'_, $crate::envoy::state::VmState>, $($arg: $ty),*|
                  -> wasmtime::Result<u32> {
                $crate::envoy::hostcalls::check_allowed(&mut $caller, $name)?;
                #[allow(clippy::redundant_closure_call)]
                let code = $crate::vm::into_code((|| -> $crate::vm::HostResult { $body })())?;
                if $caller.data().log.trace.is_some() {
                    $crate::envoy::trace::record_hostcall(
                        $caller.data_mut(), $name, &[$($arg as i64),*], code);
                }
                Ok(code)
            },
        )?;
    };
}
pub(crate) use hostcall;

/// Hostcalls allowed while the module starts up or while its allocator runs.
const ALWAYS_ALLOWED: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
];

/// Traps (failing the VM) for a hostcall made where Envoy forbids it.
pub(crate) fn check_allowed(
    caller: &mut wasmtime::Caller<'_, VmState>,
    name: &'static str,
) -> wasmtime::Result<()> {
    let state = &mut caller.data_mut().vm;
    state.check_deadline()?;
    if (state.starting || state.in_allocator) && !ALWAYS_ALLOWED.contains(&name) {
        let phase = if state.in_allocator {
            "inside the memory allocator"
        } else {
            "during module start-up (_initialize/main/_start)"
        };
        let message = format!("hostcall env.{name} is not allowed {phase}");
        state.forbidden = Some(message.clone());
        return Err(wasmtime::Error::msg(message));
    }
    Ok(())
}

/// Adds every hostcall of `abi` to the linker.
pub(crate) fn add_to_linker(linker: &mut Linker<VmState>, abi: AbiVersion) -> wasmtime::Result<()> {
    log::add(linker, abi)?;
    timers::add(linker)?;
    buffers::add(linker, abi)?;
    headers::add(linker)?;
    stream_control::add(linker, abi)?;
    http_call::add(linker)?;
    grpc::add(linker)?;
    shared_data::add(linker)?;
    queues::add(linker)?;
    metrics_calls::add(linker)?;
    properties_calls::add(linker)?;
    foreign::add(linker)?;
    Ok(())
}

/// Records a decoded description of the current hostcall's arguments for the trace (only
/// evaluated when tracing is on).
pub(crate) fn note(state: &mut VmState, f: impl FnOnce() -> String) {
    if state.log.trace.is_some() {
        state.log.trace_note = Some(f());
    }
}
