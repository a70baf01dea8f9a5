//! `proxy_log`, `proxy_get_log_level`: lines go to the host's log (below the configured level
//! they are dropped, as Envoy's logger drops them).
//!
//! The log is bounded ([`HostLimits`](crate::HostLimits)): a line longer than
//! `log_line_bytes` is cut (at a character boundary) and ends with a marker saying how much
//! was cut; once the lines a VM keeps reach `log_total_bytes`, later lines are dropped and one
//! warning line says so. Envoy never fails a VM for logging, and neither does the harness.

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::{AbiVersion, LogLevel, Status};
use crate::values::LogEntry;
use crate::vm::memory;
use wasmtime::Linker;

/// The log slice: captured lines and the optional hostcall trace.
#[derive(Debug, Default)]
pub(crate) struct LogSink {
    pub entries: Vec<LogEntry>,
    pub trace: Option<Vec<String>>,
    /// A decoded description of the current hostcall's arguments, for the trace.
    pub trace_note: Option<String>,
}

/// What a line costs against the total beyond its text, so empty lines are not free.
const LINE_OVERHEAD: usize = 32;

/// Room the truncation marker takes after the cut.
const MARKER_ROOM: usize = 64;

/// The text of a log line of `bytes`, cut to `limit` bytes (at a character boundary) with a
/// marker saying how many bytes were cut. Invalid UTF-8 is replaced, as everywhere in the log.
pub(crate) fn line(bytes: &[u8], limit: usize) -> String {
    if bytes.len() <= limit {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..limit]).into_owned();
    let mut cut = limit.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&format!(
        "… [wasme: line truncated, {} more bytes]",
        bytes.len() - limit
    ));
    text
}

/// Records one line (already filtered by level) within the VM's log limits.
pub(crate) fn record(state: &mut VmState, level: LogLevel, mut message: String) {
    let limits = state.vm.limits;
    if message.len() > limits.log_line_bytes + MARKER_ROOM {
        message = line(message.as_bytes(), limits.log_line_bytes);
    }
    let core = &mut state.vm;
    let kept = state.log.entries.len();
    if kept != core.log_entries {
        // The log changed behind this function's back (cleared, carried over from a failed
        // VM, the host's own failure line): count what is really kept.
        core.log_bytes = state
            .log
            .entries
            .iter()
            .map(|e| e.message.len() + LINE_OVERHEAD)
            .sum();
        core.log_capped = false;
    }
    let cost = message.len() + LINE_OVERHEAD;
    if core.log_bytes + cost > limits.log_total_bytes {
        if !core.log_capped {
            core.log_capped = true;
            state.log.entries.push(LogEntry {
                level: LogLevel::Warn,
                message: format!(
                    "[wasme: the VM's log reached its limit of {} bytes \
                     (HostLimits::log_total_bytes); later lines are dropped]",
                    limits.log_total_bytes
                ),
            });
        }
    } else {
        core.log_bytes += cost;
        state.log.entries.push(LogEntry { level, message });
    }
    core.log_entries = state.log.entries.len();
}

pub(crate) fn add(linker: &mut Linker<VmState>, abi: AbiVersion) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_log",
        |caller, level: u32, ptr: u32, size: u32| {
            let level = LogLevel::from_u32(level).ok_or(Status::BadArgument)?;
            memory::with_bytes(&mut caller, ptr, size, |msg, state| {
                let message = line(msg, state.vm.limits.log_line_bytes);
                note(state, || format!("{}, {message:?}", level.name()));
                state.log(level, message);
                Ok(())
            })
        }
    );
    if abi == AbiVersion::V0_2_1 {
        hostcall!(linker, "proxy_get_log_level", |caller, ret_ptr: u32| {
            let level = caller.data().settings.log_level.code();
            Ok(memory::write_u32(&mut caller, ret_ptr, level)?)
        });
    }
    Ok(())
}
