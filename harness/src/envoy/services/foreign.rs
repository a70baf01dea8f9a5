//! `proxy_call_foreign_function`: functions the test registered by name (unknown → NOT_FOUND).

use crate::abi::Status;
use crate::envoy::hostcalls::{hostcall, note};
use crate::envoy::state::VmState;
use crate::vm::memory;
use wasmtime::Linker;

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
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
            let name = memory::read_string(&mut caller, name_ptr, name_size)?;
            let args = memory::read(&mut caller, args_ptr, args_size)?;
            let state = caller.data_mut();
            note(state, || {
                format!("{name:?}, {:?}", String::from_utf8_lossy(&args))
            });
            let f = state.settings.foreign.get(&name).cloned();
            let result = f.ok_or(Status::NotFound)?(&args)?;
            memory::return_bytes(&mut caller, &result, ret_ptr, ret_size)
        }
    );
    Ok(())
}
