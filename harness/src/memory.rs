//! Guest memory: bounds-checked reads and writes (all `ptr + len` arithmetic in 64 bits), and
//! returning buffers to the guest through its allocator export.
//!
//! A bad guest pointer or a failing allocator is never a host panic: it is
//! [`Status::InvalidMemoryAccess`], the answer Envoy gives.

use crate::abi::Status;
use crate::state::VmState;
use wasmtime::{Caller, Memory};

type Caller_<'a> = Caller<'a, VmState>;

fn memory(caller: &Caller_<'_>) -> Result<Memory, Status> {
    caller.data().memory.ok_or(Status::InvalidMemoryAccess)
}

fn range(len_of_memory: usize, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Status> {
    let end = u64::from(ptr) + u64::from(len);
    if end > len_of_memory as u64 {
        return Err(Status::InvalidMemoryAccess);
    }
    Ok(ptr as usize..end as usize)
}

/// Runs `f` with the guest bytes `[ptr, ptr+len)` and the host state, without copying.
pub(crate) fn with_bytes<R>(
    caller: &mut Caller_<'_>,
    ptr: u32,
    len: u32,
    f: impl FnOnce(&[u8], &mut VmState) -> R,
) -> Result<R, Status> {
    let mem = memory(caller)?;
    let (data, state) = mem.data_and_store_mut(caller);
    let r = range(data.len(), ptr, len)?;
    Ok(f(&data[r], state))
}

/// Runs `f` with two guest byte ranges and the host state.
pub(crate) fn with_two<R>(
    caller: &mut Caller_<'_>,
    (p1, l1): (u32, u32),
    (p2, l2): (u32, u32),
    f: impl FnOnce(&[u8], &[u8], &mut VmState) -> R,
) -> Result<R, Status> {
    let mem = memory(caller)?;
    let (data, state) = mem.data_and_store_mut(caller);
    let r1 = range(data.len(), p1, l1)?;
    let r2 = range(data.len(), p2, l2)?;
    Ok(f(&data[r1], &data[r2], state))
}

/// Copies guest bytes out.
pub(crate) fn read(caller: &mut Caller_<'_>, ptr: u32, len: u32) -> Result<Vec<u8>, Status> {
    with_bytes(caller, ptr, len, |b, _| b.to_vec())
}

/// Reads guest bytes as a string (lossy: invalid UTF-8 is replaced).
pub(crate) fn read_string(caller: &mut Caller_<'_>, ptr: u32, len: u32) -> Result<String, Status> {
    with_bytes(caller, ptr, len, |b, _| {
        String::from_utf8_lossy(b).into_owned()
    })
}

/// Writes bytes at a guest address.
pub(crate) fn write(caller: &mut Caller_<'_>, ptr: u32, bytes: &[u8]) -> Result<(), Status> {
    let mem = memory(caller)?;
    let data = mem.data_mut(caller);
    let len = u32::try_from(bytes.len()).map_err(|_| Status::InvalidMemoryAccess)?;
    let r = range(data.len(), ptr, len)?;
    data[r].copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian u32.
pub(crate) fn write_u32(caller: &mut Caller_<'_>, ptr: u32, v: u32) -> Result<(), Status> {
    write(caller, ptr, &v.to_le_bytes())
}

/// Writes a little-endian u64.
pub(crate) fn write_u64(caller: &mut Caller_<'_>, ptr: u32, v: u64) -> Result<(), Status> {
    write(caller, ptr, &v.to_le_bytes())
}

/// The outcome of a hostcall body: a status for the guest, or a trap that fails the VM.
pub(crate) type HostResult = Result<Status, wasmtime::Error>;

/// Copies `data` into a fresh guest allocation and writes `(ptr, size)` to the two return
/// pointers. Empty data writes `(0, 0)` without calling the allocator. The allocator returning
/// 0 or an out-of-bounds block → INVALID_MEMORY_ACCESS; the allocator trapping fails the VM.
pub(crate) fn return_bytes(
    caller: &mut Caller_<'_>,
    data: &[u8],
    ret_ptr_ptr: u32,
    ret_size_ptr: u32,
) -> HostResult {
    // Check the return slots before allocating, so a bad pointer does not leak guest memory.
    if let Err(s) = check_slot(caller, ret_ptr_ptr).and_then(|_| check_slot(caller, ret_size_ptr)) {
        return Ok(s);
    }
    if data.is_empty() {
        return Ok(status_of(
            write_u32(caller, ret_ptr_ptr, 0).and_then(|_| write_u32(caller, ret_size_ptr, 0)),
        ));
    }
    let Ok(size) = u32::try_from(data.len()) else {
        return Ok(Status::InvalidMemoryAccess);
    };
    let ptr = match allocate(caller, size)? {
        Ok(p) => p,
        Err(s) => return Ok(s),
    };
    Ok(status_of(
        write(caller, ptr, data)
            .and_then(|_| write_u32(caller, ret_ptr_ptr, ptr))
            .and_then(|_| write_u32(caller, ret_size_ptr, size)),
    ))
}

fn check_slot(caller: &mut Caller_<'_>, ptr: u32) -> Result<(), Status> {
    with_bytes(caller, ptr, 4, |_, _| ())
}

/// Calls the guest allocator (`malloc`, else `proxy_on_memory_allocate`).
pub(crate) fn allocate(
    caller: &mut Caller_<'_>,
    size: u32,
) -> Result<Result<u32, Status>, wasmtime::Error> {
    let Some(malloc) = caller.data().malloc.clone() else {
        return Ok(Err(Status::InvalidMemoryAccess));
    };
    let was = std::mem::replace(&mut caller.data_mut().in_allocator, true);
    let result = malloc.call(&mut *caller, size);
    caller.data_mut().in_allocator = was;
    let ptr = result?;
    if ptr == 0 {
        return Ok(Err(Status::InvalidMemoryAccess));
    }
    let mem = match memory(caller) {
        Ok(m) => m,
        Err(s) => return Ok(Err(s)),
    };
    if range(mem.data_size(&*caller), ptr, size).is_err() {
        return Ok(Err(Status::InvalidMemoryAccess));
    }
    Ok(Ok(ptr))
}

/// Collapses a unit result into a status.
pub(crate) fn status_of(r: Result<(), Status>) -> Status {
    match r {
        Ok(()) => Status::Ok,
        Err(s) => s,
    }
}
