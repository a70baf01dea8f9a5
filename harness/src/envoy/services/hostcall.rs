//! The machinery every host service links its `env.proxy_*` hostcalls with: the `hostcall!`
//! macro (exact signatures per ABI version, `proxy-wasm-host.md` §1), Envoy's phase
//! restrictions, and the trace. Every pointer is bounds-checked (see [`crate::vm::memory`]);
//! statuses are Envoy's. Registration is in [`super::add_to_linker`].

use super::VmState;

/// Links a hostcall: `hostcall!(linker, "proxy_x", |caller, a: u32, b: u32| body)` where `body`
/// evaluates to a [`crate::vm::HostResult`] (`?` returns a status to the guest or traps). The
/// wrapper refuses calls not allowed in the current phase (start-up, inside the allocator) by
/// trapping, and records the trace when on.
macro_rules! hostcall {
    ($linker:expr, $name:literal, |$caller:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
        $linker.func_wrap(
            "env",
            $name,
            move |mut $caller: wasmtime::Caller<'_, $crate::envoy::services::VmState>, $($arg: $ty),*|
                  -> wasmtime::Result<u32> {
                $crate::envoy::services::hostcall::check_allowed(&mut $caller, $name)?;
                if !$caller.data().settings.capability_allowed($name) {
                    // proxy-wasm-cpp-host's stub for a restricted capability (exports.h
                    // `_CREATE_PROXY_WASM_STUB`): nothing done, INTERNAL_FAILURE.
                    return Ok($crate::abi::Status::InternalFailure as u32);
                }
                #[allow(clippy::redundant_closure_call)]
                let code = $crate::vm::into_code((|| -> $crate::vm::HostResult { $body })())?;
                let log = &mut $caller.data_mut().log;
                if let Some(trace) = log.trace.as_mut() {
                    $crate::envoy::trace::record_hostcall(
                        trace, log.trace_note.take(), $name, &[$($arg as i64),*], code);
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

/// Records a decoded description of the current hostcall's arguments for the trace (only
/// evaluated when tracing is on).
pub(crate) fn note(state: &mut VmState, f: impl FnOnce() -> String) {
    if state.log.trace.is_some() {
        state.log.trace_note = Some(f());
    }
}
