//! `proxy_get_shared_data`, `proxy_set_shared_data`: per vm_id, one global CAS counter (the
//! store itself is [`super::shared`]).

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::Status;
use crate::vm::limits::Limit;
use crate::vm::memory;
use wasmtime::Linker;

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_get_shared_data",
        |caller,
         key_ptr: u32,
         key_size: u32,
         ret_value_ptr: u32,
         ret_value_size: u32,
         ret_cas_ptr: u32| {
            let key = memory::read_string(&mut caller, key_ptr, key_size)?;
            let state = caller.data_mut();
            note(state, || format!("{key:?}"));
            let found = state.shared.lock().get_data(&state.settings.vm_id, &key);
            let (value, cas) = found.ok_or(Status::NotFound)?;
            memory::write_u32(&mut caller, ret_cas_ptr, cas)?;
            memory::return_bytes(&mut caller, &value, ret_value_ptr, ret_value_size)
        }
    );
    hostcall!(
        linker,
        "proxy_set_shared_data",
        |caller, key_ptr: u32, key_size: u32, value_ptr: u32, value_size: u32, cas: u32| {
            memory::with_two(
                &mut caller,
                (key_ptr, key_size),
                (value_ptr, value_size),
                |key, value, state| {
                    let key = String::from_utf8_lossy(key);
                    note(state, || {
                        format!("{key:?}, {:?}, cas {cas}", String::from_utf8_lossy(value))
                    });
                    let vm_id = state.settings.vm_id.clone();
                    let after = state
                        .shared
                        .lock()
                        .data_bytes_after(&vm_id, &key, value.len());
                    state.vm.enforce(Limit::SharedDataBytes, after)?;
                    Ok(state.shared.lock().set_data(&vm_id, &key, value, cas)?)
                },
            )
        }
    );
    Ok(())
}
