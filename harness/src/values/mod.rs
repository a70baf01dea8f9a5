//! Plain value types every layer shares: log lines, VM failures, the harness's error, the
//! messages tests feed and read back, and callout requests and answers. No behaviour beyond
//! builders and accessors; nothing here knows about wasmtime or Envoy's state.

mod callout;
mod connection;
mod error;
mod message;
mod property;

pub use callout::{GrpcCallRequest, GrpcResponse, HttpCallRequest, HttpCallResponse};
pub use connection::ConnectionInfo;
pub(crate) use connection::port_of;
pub use error::HarnessError;
pub use message::{
    Exchange, FilterStatus, HttpRequest, HttpResponse, LocalReply, Message, find_header,
};
pub(crate) use message::{lowered, message_builder};
pub(crate) use property::PropertyTree;
pub use property::{PropertyValue, parse_property_path};

use crate::abi::LogLevel;

/// One captured log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its level.
    pub level: LogLevel,
    /// The message.
    pub message: String,
}

/// What kind of failure stopped a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The guest trapped (a Rust panic, `unreachable`, an out-of-bounds access, a forbidden
    /// hostcall, `proc_exit`, an unknown import called).
    Trap,
    /// A call ran past the deadline and was interrupted.
    Deadline,
    /// The guest needed more linear memory than the cap allows.
    MemoryLimit,
    /// The guest made the host hold more than a [`HostLimits`](crate::HostLimits) bound
    /// (a table, a header map, a buffer, shared data, a queue, metrics, filter state).
    HostLimit,
    /// on_vm_start returned false.
    StartFailed,
    /// on_configure returned false.
    ConfigureFailed,
}

/// Why a VM failed; it stays failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmFailure {
    /// The kind of failure.
    pub kind: FailureKind,
    /// The callback that failed (`proxy_on_request_headers`).
    pub callback: String,
    /// Envoy-style message: `Function: proxy_on_request_headers failed: …`.
    pub message: String,
    /// The panic message the SDK logged at critical before trapping, if any.
    pub panic_message: Option<String>,
    /// The wasm backtrace, if available.
    pub backtrace: Option<String>,
}

impl std::fmt::Display for VmFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(b) = &self.backtrace {
            write!(f, "\n{b}")?;
        }
        Ok(())
    }
}
