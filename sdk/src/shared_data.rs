//! Shared data: a key-value store shared by every VM with the same `vm_id`, with
//! compare-and-swap versions.
//!
//! [`update`] is the building block for counters and token buckets: it reads the value and its
//! version, lets a closure compute the new value, and writes it only if nobody wrote in
//! between, retrying otherwise.

use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;

/// Why shared data could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SharedDataError {
    /// Another writer won every attempt.
    #[error("shared data key kept changing: gave up after {attempts} attempts")]
    Contended {
        /// How many attempts were made.
        attempts: u32,
    },
    /// The version given did not match (someone else wrote first).
    #[error("shared data was changed by another writer (CAS mismatch)")]
    CasMismatch,
    /// The host refused the operation.
    #[error("the host refused the shared data operation ({0:?})")]
    Host(Status),
}

/// The value of `key` and its version (`cas`), or `None` when it does not exist.
pub fn get(key: &str) -> Option<(Vec<u8>, u32)> {
    match hostcalls::get_shared_data(key) {
        Ok((Some(value), cas)) => Some((value, cas.unwrap_or(0))),
        Ok((None, Some(cas))) => Some((Vec::new(), cas)),
        _ => None,
    }
}

/// Writes `value` if the stored version is still `cas` (`None` writes unconditionally).
pub fn set(key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SharedDataError> {
    match hostcalls::set_shared_data(key, Some(value), cas) {
        Ok(()) => Ok(()),
        Err(Status::CasMismatch) => Err(SharedDataError::CasMismatch),
        Err(other) => Err(SharedDataError::Host(other)),
    }
}

/// Reads `key`, computes a new value with `change` and writes it with compare-and-swap,
/// retrying up to `attempts` times when another writer got there first.
///
/// `change` gets the current value (`None` if missing) and returns the value to write (`None`
/// to write nothing) and a result to hand back.
///
/// ```no_run
/// // Take one token from a bucket stored as a little-endian u64.
/// let took = wasme_sdk::shared_data::update("bucket", 8, |current| {
///     let tokens = current
///         .and_then(|b| b.try_into().ok())
///         .map(u64::from_le_bytes)
///         .unwrap_or(10);
///     if tokens == 0 { (None, false) } else { (Some((tokens - 1).to_le_bytes().to_vec()), true) }
/// });
/// ```
pub fn update<T>(
    key: &str,
    attempts: u32,
    mut change: impl FnMut(Option<&[u8]>) -> (Option<Vec<u8>>, T),
) -> Result<T, SharedDataError> {
    for _ in 0..attempts.max(1) {
        let current = get(key);
        let (new, result) = change(current.as_ref().map(|(v, _)| v.as_slice()));
        let Some(new) = new else {
            return Ok(result);
        };
        match set(key, &new, current.map(|(_, cas)| cas)) {
            Ok(()) => return Ok(result),
            Err(SharedDataError::CasMismatch) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(SharedDataError::Contended {
        attempts: attempts.max(1),
    })
}
