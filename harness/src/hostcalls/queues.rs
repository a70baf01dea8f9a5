//! Shared queues: register (bound to the caller's root), resolve, enqueue (notifies the
//! registering root with on_queue_ready), dequeue (NOT_FOUND or EMPTY).

use super::{hostcall, note};
use crate::abi::Status;
use crate::memory;
use crate::state::VmState;
use wasmtime::Linker;

pub(super) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_register_shared_queue",
        |caller, name_ptr: u32, name_size: u32, ret_id_ptr: u32| {
            let name = match memory::read_string(&mut caller, name_ptr, name_size) {
                Ok(n) => n,
                Err(s) => return Ok(s),
            };
            if let Err(s) = memory::write_u32(&mut caller, ret_id_ptr, 0) {
                return Ok(s);
            }
            let state = caller.data_mut();
            note(state, || format!("{name:?}"));
            let root = state.effective_root();
            let id = state.shared.lock().register_queue(
                &state.settings.vm_id,
                &name,
                state.host_id,
                root,
            );
            Ok(memory::status_of(memory::write_u32(
                &mut caller,
                ret_id_ptr,
                id,
            )))
        }
    );
    hostcall!(
        linker,
        "proxy_resolve_shared_queue",
        |caller, vm_ptr: u32, vm_size: u32, name_ptr: u32, name_size: u32, ret_id_ptr: u32| {
            let (vm_id, name) = match memory::read_string(&mut caller, vm_ptr, vm_size)
                .and_then(|v| Ok((v, memory::read_string(&mut caller, name_ptr, name_size)?)))
            {
                Ok(v) => v,
                Err(s) => return Ok(s),
            };
            let state = caller.data_mut();
            note(state, || format!("{vm_id:?}, {name:?}"));
            let vm_id = if vm_id.is_empty() {
                state.settings.vm_id.clone()
            } else {
                vm_id
            };
            let Some(id) = state.shared.lock().resolve_queue(&vm_id, &name) else {
                return Ok(Status::NotFound);
            };
            Ok(memory::status_of(memory::write_u32(
                &mut caller,
                ret_id_ptr,
                id,
            )))
        }
    );
    hostcall!(
        linker,
        "proxy_enqueue_shared_queue",
        |caller, queue_id: u32, data_ptr: u32, data_size: u32| {
            Ok(
                match memory::with_bytes(&mut caller, data_ptr, data_size, |data, state| {
                    note(state, || {
                        format!("{queue_id}, {:?}", String::from_utf8_lossy(data))
                    });
                    memory::status_of(state.shared.lock().enqueue(queue_id, data))
                }) {
                    Ok(s) | Err(s) => s,
                },
            )
        }
    );
    hostcall!(
        linker,
        "proxy_dequeue_shared_queue",
        |caller, queue_id: u32, ret_ptr: u32, ret_size: u32| {
            let item = caller.data().shared.lock().dequeue(queue_id);
            match item {
                Ok(data) => memory::return_bytes(&mut caller, &data, ret_ptr, ret_size),
                Err(s) => Ok(s),
            }
        }
    );
    Ok(())
}
