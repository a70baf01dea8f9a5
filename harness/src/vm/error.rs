//! [`HostError`]: the one error type every hostcall returns through `?`.

use crate::abi::Status;

/// Why a hostcall stopped early: a proxy-wasm status for the guest (Envoy's answer to a bad
/// argument, a missing value, a bad pointer…), or a trap that fails the VM (the guest's
/// allocator trapped, a forbidden call).
#[derive(Debug)]
pub(crate) enum HostError {
    /// Returned to the guest as the hostcall's result.
    Status(Status),
    /// Unwinds the guest: the VM fails.
    Trap(wasmtime::Error),
}

impl From<Status> for HostError {
    fn from(s: Status) -> Self {
        HostError::Status(s)
    }
}

impl From<wasmtime::Error> for HostError {
    fn from(e: wasmtime::Error) -> Self {
        HostError::Trap(e)
    }
}

/// The outcome of a hostcall body (or a step of one): `Ok` answers [`Status::Ok`].
pub(crate) type HostResult<T = ()> = Result<T, HostError>;

/// A status as an outcome: `Ok(())` for [`Status::Ok`], the status as the error otherwise.
pub(crate) fn check(status: Status) -> HostResult {
    match status {
        Status::Ok => Ok(()),
        s => Err(HostError::Status(s)),
    }
}

/// Turns a hostcall outcome into what wasmtime expects: the status code, or the trap.
pub(crate) fn into_code(result: HostResult) -> wasmtime::Result<u32> {
    match result {
        Ok(()) => Ok(Status::Ok.code()),
        Err(HostError::Status(s)) => Ok(s.code()),
        Err(HostError::Trap(e)) => Err(e),
    }
}
