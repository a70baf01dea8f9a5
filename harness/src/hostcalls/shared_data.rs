//! `proxy_get_shared_data`, `proxy_set_shared_data`: per vm_id, one global CAS counter.

use super::{hostcall, note};
use crate::abi::Status;
use crate::memory;
use crate::state::VmState;
use wasmtime::Linker;

pub(super) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_get_shared_data",
        |caller,
         key_ptr: u32,
         key_size: u32,
         ret_value_ptr: u32,
         ret_value_size: u32,
         ret_cas_ptr: u32| {
            let key = match memory::read_string(&mut caller, key_ptr, key_size) {
                Ok(k) => k,
                Err(s) => return Ok(s),
            };
            let state = caller.data_mut();
            note(state, || format!("{key:?}"));
            let found = state.shared.lock().get_data(&state.settings.vm_id, &key);
            let Some((value, cas)) = found else {
                return Ok(Status::NotFound);
            };
            if let Err(s) = memory::write_u32(&mut caller, ret_cas_ptr, cas) {
                return Ok(s);
            }
            memory::return_bytes(&mut caller, &value, ret_value_ptr, ret_value_size)
        }
    );
    hostcall!(
        linker,
        "proxy_set_shared_data",
        |caller, key_ptr: u32, key_size: u32, value_ptr: u32, value_size: u32, cas: u32| {
            Ok(
                match memory::with_two(
                    &mut caller,
                    (key_ptr, key_size),
                    (value_ptr, value_size),
                    |key, value, state| {
                        let key = String::from_utf8_lossy(key);
                        note(state, || {
                            format!("{key:?}, {:?}, cas {cas}", String::from_utf8_lossy(value))
                        });
                        let vm_id = state.settings.vm_id.clone();
                        memory::status_of(state.shared.lock().set_data(&vm_id, &key, value, cas))
                    },
                ) {
                    Ok(s) | Err(s) => s,
                },
            )
        }
    );
    Ok(())
}
