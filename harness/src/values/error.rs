//! The harness's errors.

use super::LogEntry;

/// What went wrong loading a module or running the host.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HarnessError {
    /// The bytes are not a valid core wasm module (or could not be compiled).
    #[error("cannot compile the wasm module: {0}")]
    Compile(String),
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The module fails Envoy's load-time checks: an import Envoy does not provide, no
    /// allocator export (found when a VM is created from it), or a module over [`MAX_MODULE_BYTES`](crate::MAX_MODULE_BYTES). The
    /// text is Envoy's where Envoy has one.
    #[error("the module cannot be loaded: {0}")]
    Load(String),
    /// The module exports no known ABI marker.
    #[error(
        "missing or unknown Proxy-Wasm ABI version: the module exports none of \
         proxy_abi_version_0_1_0, proxy_abi_version_0_2_0, proxy_abi_version_0_2_1 \
         (is it a proxy-wasm filter? build it with the proxy-wasm SDK)"
    )]
    UnknownAbi,
    /// An export the host calls has the wrong signature, or a required export is missing.
    #[error("bad module export: {0}")]
    BadExport(String),
    /// Instantiation failed (an import with a wrong signature, a start trap, ...).
    #[error("cannot instantiate the module: {0}")]
    Instantiate(String),
    /// The module's start-up (`_initialize`/`main`/`_start`) trapped.
    #[error("the module's start-up failed: {0}")]
    Startup(String),
    /// `proxy_on_vm_start` returned false (or trapped).
    #[error("plugin {root_id:?}: proxy_on_vm_start failed{}", describe_logs(.logs))]
    StartFailed {
        /// The plugin's root id.
        root_id: String,
        /// Everything the VM logged until then.
        logs: Vec<LogEntry>,
    },
    /// `proxy_on_configure` returned false (or trapped).
    #[error("plugin {root_id:?}: proxy_on_configure failed{}", describe_logs(.logs))]
    ConfigureFailed {
        /// The plugin's root id.
        root_id: String,
        /// Everything the VM logged until then.
        logs: Vec<LogEntry>,
    },
    /// The VM trapped (or ran past its deadline) in a callback; it is failed for good.
    #[error("{0}")]
    Trap(super::VmFailure),
    /// The operation does not fit the object's state (e.g. a token that is not pending).
    #[error("{0}")]
    Usage(String),
}

fn describe_logs(logs: &[LogEntry]) -> String {
    let errors: Vec<&str> = logs
        .iter()
        .filter(|l| l.level >= crate::LogLevel::Error)
        .map(|l| l.message.as_str())
        .collect();
    if errors.is_empty() {
        String::new()
    } else {
        format!(" (the filter logged: {})", errors.join("; "))
    }
}
