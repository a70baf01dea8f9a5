//! `proxy_log`, `proxy_get_log_level`: lines go to the host's log (below the configured level
//! they are dropped, as Envoy's logger drops them).

use crate::abi::{AbiVersion, LogLevel, Status};
use crate::envoy::hostcalls::{hostcall, note};
use crate::envoy::state::VmState;
use crate::vm::memory;
use wasmtime::Linker;

pub(crate) fn add(linker: &mut Linker<VmState>, abi: AbiVersion) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_log",
        |caller, level: u32, ptr: u32, size: u32| {
            let level = LogLevel::from_u32(level).ok_or(Status::BadArgument)?;
            memory::with_bytes(&mut caller, ptr, size, |msg, state| {
                let message = String::from_utf8_lossy(msg).into_owned();
                note(state, || format!("{}, {message:?}", level.name()));
                state.log(level, message);
                Ok(())
            })
        }
    );
    if abi == AbiVersion::V0_2_1 {
        hostcall!(linker, "proxy_get_log_level", |caller, ret_ptr: u32| {
            let level = caller.data().settings.log_level.code();
            Ok(memory::write_u32(&mut caller, ret_ptr, level)?)
        });
    }
    Ok(())
}
