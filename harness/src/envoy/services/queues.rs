//! Shared queues: register (bound to the caller's root), resolve, enqueue (notifies the
//! registering root with on_queue_ready), dequeue (NOT_FOUND or EMPTY). The queues themselves
//! live in the shared store ([`super::shared`]).

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::Status;
use crate::vm::limits::Limit;
use crate::vm::memory;
use wasmtime::Linker;

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_register_shared_queue",
        |caller, name_ptr: u32, name_size: u32, ret_id_ptr: u32| {
            let name = memory::read_string(&mut caller, name_ptr, name_size)?;
            memory::write_u32(&mut caller, ret_id_ptr, 0)?;
            let state = caller.data_mut();
            note(state, || format!("{name:?}"));
            let root = state.effective_root();
            let (known, count) = {
                let shared = state.shared.lock();
                let known = shared.resolve_queue(&state.settings.vm_id, &name).is_some();
                (known, shared.queue_count())
            };
            if !known {
                state.vm.enforce(Limit::QueueCount, count + 1)?;
                state.vm.enforce(Limit::QueueBytes, name.len())?;
            }
            let id = state.shared.lock().register_queue(
                &state.settings.vm_id,
                &name,
                state.host_id,
                root,
            );
            Ok(memory::write_u32(&mut caller, ret_id_ptr, id)?)
        }
    );
    hostcall!(
        linker,
        "proxy_resolve_shared_queue",
        |caller, vm_ptr: u32, vm_size: u32, name_ptr: u32, name_size: u32, ret_id_ptr: u32| {
            let vm_id = memory::read_string(&mut caller, vm_ptr, vm_size)?;
            let name = memory::read_string(&mut caller, name_ptr, name_size)?;
            let state = caller.data_mut();
            note(state, || format!("{vm_id:?}, {name:?}"));
            let vm_id = if vm_id.is_empty() {
                state.settings.vm_id.clone()
            } else {
                vm_id
            };
            let found = state.shared.lock().resolve_queue(&vm_id, &name);
            let id = found.ok_or(Status::NotFound)?;
            Ok(memory::write_u32(&mut caller, ret_id_ptr, id)?)
        }
    );
    hostcall!(
        linker,
        "proxy_enqueue_shared_queue",
        |caller, queue_id: u32, data_ptr: u32, data_size: u32| {
            memory::with_bytes(&mut caller, data_ptr, data_size, |data, state| {
                note(state, || {
                    format!("{queue_id}, {:?}", String::from_utf8_lossy(data))
                });
                let after = state.shared.lock().queue_bytes_after(queue_id, data.len());
                if let Some(after) = after {
                    state.vm.enforce(Limit::QueueBytes, after)?;
                }
                Ok(state.shared.lock().enqueue(queue_id, data)?)
            })
        }
    );
    hostcall!(
        linker,
        "proxy_dequeue_shared_queue",
        |caller, queue_id: u32, ret_ptr: u32, ret_size: u32| {
            let item = caller.data().shared.lock().dequeue(queue_id)?;
            memory::return_bytes(&mut caller, &item, ret_ptr, ret_size)
        }
    );
    Ok(())
}
