//! `proxy_call_foreign_function`: functions the test registered by name (unknown → NOT_FOUND).

use super::{hostcall, note};
use crate::abi::Status;
use crate::memory;
use crate::state::VmState;
use wasmtime::Linker;

pub(super) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_call_foreign_function",
        |caller,
         name_ptr: u32,
         name_size: u32,
         args_ptr: u32,
         args_size: u32,
         ret_ptr: u32,
         ret_size: u32| {
            let (name, args) = match memory::read_string(&mut caller, name_ptr, name_size)
                .and_then(|n| Ok((n, memory::read(&mut caller, args_ptr, args_size)?)))
            {
                Ok(v) => v,
                Err(s) => return Ok(s),
            };
            let state = caller.data_mut();
            note(state, || {
                format!("{name:?}, {:?}", String::from_utf8_lossy(&args))
            });
            let Some(f) = state.settings.foreign.get(&name).cloned() else {
                return Ok(Status::NotFound);
            };
            match f(&args) {
                Ok(result) => memory::return_bytes(&mut caller, &result, ret_ptr, ret_size),
                Err(s) => Ok(s),
            }
        }
    );
    Ok(())
}
