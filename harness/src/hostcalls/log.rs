//! `proxy_log`, `proxy_get_log_level`.

use super::{hostcall, note};
use crate::abi::{AbiVersion, LogLevel, Status};
use crate::memory;
use wasmtime::Linker;

pub(super) fn add(
    linker: &mut Linker<crate::state::VmState>,
    abi: AbiVersion,
) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_log",
        |caller, level: u32, ptr: u32, size: u32| {
            let Some(level) = LogLevel::from_u32(level) else {
                return Ok(Status::BadArgument);
            };
            Ok(memory::status_of(memory::with_bytes(
                &mut caller,
                ptr,
                size,
                |msg, state| {
                    let message = String::from_utf8_lossy(msg).into_owned();
                    note(state, || format!("{}, {message:?}", level.name()));
                    state.log(level, message);
                },
            )))
        }
    );
    if abi == AbiVersion::V0_2_1 {
        hostcall!(linker, "proxy_get_log_level", |caller, ret_ptr: u32| {
            let level = caller.data().settings.log_level.code();
            Ok(memory::status_of(memory::write_u32(
                &mut caller,
                ret_ptr,
                level,
            )))
        });
    }
    Ok(())
}
