//! Guest memory: bounds-checked reads and writes (all `ptr + len` arithmetic in 64 bits), and
//! returning buffers to the guest through its allocator export.
//!
//! A bad guest pointer or a failing allocator is never a host panic: it is
//! [`Status::InvalidMemoryAccess`], the answer Envoy gives.

use super::{HostResult, VmData};
use crate::abi::Status;
use wasmtime::{Caller, Memory};

fn memory<T: VmData>(caller: &Caller<'_, T>) -> Result<Memory, Status> {
    caller
        .data()
        .core()
        .memory
        .ok_or(Status::InvalidMemoryAccess)
}

fn range(len_of_memory: usize, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Status> {
    let end = u64::from(ptr) + u64::from(len);
    if end > len_of_memory as u64 {
        return Err(Status::InvalidMemoryAccess);
    }
    Ok(ptr as usize..end as usize)
}

/// Runs `f` with the guest bytes `[ptr, ptr+len)` and the host state, without copying.
pub(crate) fn with_bytes<T: VmData, R>(
    caller: &mut Caller<'_, T>,
    ptr: u32,
    len: u32,
    f: impl FnOnce(&[u8], &mut T) -> HostResult<R>,
) -> HostResult<R> {
    let mem = memory(caller)?;
    let (data, state) = mem.data_and_store_mut(caller);
    let r = range(data.len(), ptr, len)?;
    f(&data[r], state)
}

/// Runs `f` with two guest byte ranges and the host state.
pub(crate) fn with_two<T: VmData, R>(
    caller: &mut Caller<'_, T>,
    (p1, l1): (u32, u32),
    (p2, l2): (u32, u32),
    f: impl FnOnce(&[u8], &[u8], &mut T) -> HostResult<R>,
) -> HostResult<R> {
    let mem = memory(caller)?;
    let (data, state) = mem.data_and_store_mut(caller);
    let r1 = range(data.len(), p1, l1)?;
    let r2 = range(data.len(), p2, l2)?;
    f(&data[r1], &data[r2], state)
}

/// Runs `f` on the guest bytes `[ptr, ptr+len)` (no host state).
fn view<T: VmData, R>(
    caller: &mut Caller<'_, T>,
    ptr: u32,
    len: u32,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R, Status> {
    let mem = memory(caller)?;
    let data = mem.data(&*caller);
    let r = range(data.len(), ptr, len)?;
    Ok(f(&data[r]))
}

/// Copies guest bytes out.
pub(crate) fn read<T: VmData>(
    caller: &mut Caller<'_, T>,
    ptr: u32,
    len: u32,
) -> Result<Vec<u8>, Status> {
    view(caller, ptr, len, <[u8]>::to_vec)
}

/// Reads guest bytes as a string (lossy: invalid UTF-8 is replaced).
pub(crate) fn read_string<T: VmData>(
    caller: &mut Caller<'_, T>,
    ptr: u32,
    len: u32,
) -> Result<String, Status> {
    view(caller, ptr, len, |b| {
        String::from_utf8_lossy(b).into_owned()
    })
}

/// Writes bytes at a guest address.
pub(crate) fn write<T: VmData>(
    caller: &mut Caller<'_, T>,
    ptr: u32,
    bytes: &[u8],
) -> Result<(), Status> {
    let mem = memory(caller)?;
    let data = mem.data_mut(caller);
    let len = u32::try_from(bytes.len()).map_err(|_| Status::InvalidMemoryAccess)?;
    let r = range(data.len(), ptr, len)?;
    data[r].copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian u32.
pub(crate) fn write_u32<T: VmData>(
    caller: &mut Caller<'_, T>,
    ptr: u32,
    v: u32,
) -> Result<(), Status> {
    write(caller, ptr, &v.to_le_bytes())
}

/// Writes a little-endian u64.
pub(crate) fn write_u64<T: VmData>(
    caller: &mut Caller<'_, T>,
    ptr: u32,
    v: u64,
) -> Result<(), Status> {
    write(caller, ptr, &v.to_le_bytes())
}

/// Copies `data` into a fresh guest allocation and writes `(ptr, size)` to the two return
/// pointers. Empty data writes `(0, 0)` without calling the allocator. The allocator returning
/// 0 or an out-of-bounds block → INVALID_MEMORY_ACCESS; the allocator trapping fails the VM.
pub(crate) fn return_bytes<T: VmData>(
    caller: &mut Caller<'_, T>,
    data: &[u8],
    ret_ptr_ptr: u32,
    ret_size_ptr: u32,
) -> HostResult {
    // Check the return slots before allocating, so a bad pointer does not leak guest memory.
    check_slot(caller, ret_ptr_ptr)?;
    check_slot(caller, ret_size_ptr)?;
    if data.is_empty() {
        write_u32(caller, ret_ptr_ptr, 0)?;
        return Ok(write_u32(caller, ret_size_ptr, 0)?);
    }
    let size = u32::try_from(data.len()).map_err(|_| Status::InvalidMemoryAccess)?;
    let ptr = allocate(caller, size)?;
    write(caller, ptr, data)?;
    write_u32(caller, ret_ptr_ptr, ptr)?;
    Ok(write_u32(caller, ret_size_ptr, size)?)
}

fn check_slot<T: VmData>(caller: &mut Caller<'_, T>, ptr: u32) -> Result<(), Status> {
    view(caller, ptr, 4, |_| ())
}

/// Calls the guest allocator (`malloc`, else `proxy_on_memory_allocate`).
pub(crate) fn allocate<T: VmData>(caller: &mut Caller<'_, T>, size: u32) -> HostResult<u32> {
    let Some(malloc) = caller.data().core().malloc.clone() else {
        return Err(Status::InvalidMemoryAccess.into());
    };
    let was = std::mem::replace(&mut caller.data_mut().core_mut().in_allocator, true);
    let result = malloc.call(&mut *caller, size);
    caller.data_mut().core_mut().in_allocator = was;
    let ptr = result?;
    if ptr == 0 {
        return Err(Status::InvalidMemoryAccess.into());
    }
    let mem = memory(caller)?;
    range(mem.data_size(&*caller), ptr, size)?;
    Ok(ptr)
}
