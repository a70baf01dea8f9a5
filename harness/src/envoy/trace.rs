//! The hostcall trace, in the format Envoy prints at trace level:
//! `[vm->host] env.proxy_x(args)` then `[vm<-host] env.proxy_x return: N`. The harness adds the
//! decoded arguments after the raw ones (`# response_headers, "hello", "world"`) and names the
//! status. Formatting happens only when tracing is on
//! ([`HostBuilder::trace`](crate::HostBuilder::trace)).

use std::fmt::Write;

/// The most lines a trace keeps: a guest looping over hostcalls inside one callback must not
/// grow the host's memory until the callback deadline (about 200 bytes a line, so ~40 MB).
pub(crate) const MAX_TRACE_LINES: usize = 200_000;

/// Appends `line`, or once at the cap a line saying the rest was dropped.
fn push(trace: &mut Vec<String>, line: impl FnOnce() -> String) {
    match trace.len() {
        n if n < MAX_TRACE_LINES => trace.push(line()),
        MAX_TRACE_LINES => trace.push(format!(
            "… trace truncated at {MAX_TRACE_LINES} lines: later calls are not recorded"
        )),
        _ => {}
    }
}

/// The name of a status code.
pub(crate) fn status_name(code: u32) -> &'static str {
    match code {
        0 => "OK",
        1 => "NOT_FOUND",
        2 => "BAD_ARGUMENT",
        3 => "SERIALIZATION_FAILURE",
        4 => "PARSE_FAILURE",
        5 => "BAD_EXPRESSION",
        6 => "INVALID_MEMORY_ACCESS",
        7 => "EMPTY",
        8 => "CAS_MISMATCH",
        9 => "RESULT_MISMATCH",
        10 => "INTERNAL_FAILURE",
        11 => "BROKEN_CONNECTION",
        12 => "UNIMPLEMENTED",
        _ => "UNKNOWN",
    }
}

/// Records a hostcall and its answer (two lines), with the decoded `note` of its arguments.
pub(crate) fn record_hostcall(
    trace: &mut Vec<String>,
    note: Option<String>,
    name: &str,
    args: &[i64],
    status: u32,
) {
    if trace.len() >= MAX_TRACE_LINES {
        return push(trace, String::new);
    }
    let mut call = format!("[vm->host] env.{name}(");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            call.push_str(", ");
        }
        let _ = write!(call, "{a}");
    }
    call.push(')');
    if let Some(note) = note {
        let _ = write!(call, " # {note}");
    }
    push(trace, || call);
    push(trace, || {
        format!(
            "[vm<-host] env.{name} return: {status} # {}",
            status_name(status)
        )
    });
}

/// Records a callback the host makes into the VM.
pub(crate) fn record_callback(trace: &mut Vec<String>, name: &str, args: &[u32]) {
    push(trace, || {
        let args: Vec<String> = args.iter().map(u32::to_string).collect();
        format!("[host->vm] {name}({})", args.join(", "))
    });
}

/// Renders a decoded wire enum for a trace note: its name, or `invalid` for an out-of-range
/// value (which the hostcall answers with BAD_ARGUMENT).
pub(crate) fn decoded<T: std::fmt::Debug>(value: Option<T>) -> String {
    value.map_or_else(|| "invalid".to_string(), |v| format!("{v:?}"))
}
