//! Checking a module as Envoy does (proxy-wasm-cpp-host `src/wasm.cc`, `src/v8/v8.cc`): when
//! it is linked (the harness links in [`Module::from_bytes`](crate::Module::from_bytes)) every
//! import must be one the host registers; when a VM is created from it, it must export an
//! allocator. The error texts are Envoy's.
//!
//! Envoy registers every `env.proxy_*` hostcall of `FOR_ALL_HOST_FUNCTIONS`, the ABI-specific
//! ones of the module's ABI version only, all `FOR_ALL_WASI_FUNCTIONS` under both
//! `wasi_snapshot_preview1` and `wasi_unstable`, plus `env.pthread_equal` and
//! `env.emscripten_notify_memory_growth`. Linking any other function import fails the load
//! ("Failed to load Wasm module due to a missing import: env.foo"), so a filter that would not
//! load in Envoy does not load here either — not only when the import is called.

use crate::abi::AbiVersion;
use crate::values::HarnessError;
use wasmtime::ExternType;

/// Hostcalls Envoy registers whatever the ABI version (`FOR_ALL_HOST_FUNCTIONS`).
const HOST_FUNCTIONS: &[&str] = &[
    "log",
    "get_status",
    "set_property",
    "get_property",
    "send_local_response",
    "get_shared_data",
    "set_shared_data",
    "register_shared_queue",
    "resolve_shared_queue",
    "dequeue_shared_queue",
    "enqueue_shared_queue",
    "get_header_map_value",
    "add_header_map_value",
    "replace_header_map_value",
    "remove_header_map_value",
    "get_header_map_pairs",
    "set_header_map_pairs",
    "get_header_map_size",
    "get_buffer_status",
    "get_buffer_bytes",
    "set_buffer_bytes",
    "http_call",
    "grpc_call",
    "grpc_stream",
    "grpc_close",
    "grpc_cancel",
    "grpc_send",
    "set_tick_period_milliseconds",
    "get_current_time_nanoseconds",
    "define_metric",
    "increment_metric",
    "record_metric",
    "get_metric",
    "set_effective_context",
    "done",
    "call_foreign_function",
];

/// Hostcalls Envoy registers for one ABI version only (`WasmBase::registerCallbacks`).
fn abi_specific(abi: AbiVersion) -> &'static [&'static str] {
    match abi {
        AbiVersion::V0_1_0 => &[
            "get_configuration",
            "continue_request",
            "continue_response",
            "clear_route_cache",
        ],
        AbiVersion::V0_2_0 => &["continue_stream", "close_stream"],
        AbiVersion::V0_2_1 => &["continue_stream", "close_stream", "get_log_level"],
    }
}

/// `FOR_ALL_WASI_FUNCTIONS`.
const WASI_FUNCTIONS: &[&str] = &[
    "fd_write",
    "fd_read",
    "fd_seek",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "clock_time_get",
    "clock_res_get",
    "fd_advise",
    "fd_allocate",
    "fd_datasync",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_pwrite",
    "fd_readdir",
    "fd_renumber",
    "fd_sync",
    "fd_tell",
    "path_create_directory",
    "path_filestat_set_times",
    "path_link",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
    "random_get",
    "sched_yield",
    "poll_oneoff",
    "proc_exit",
    "path_open",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "path_filestat_get",
    "fd_filestat_get",
];

/// Whether Envoy registers the function `module.name` for a module of ABI `abi`.
pub(crate) fn envoy_provides(abi: AbiVersion, module: &str, name: &str) -> bool {
    match module {
        "env" => match name.strip_prefix("proxy_") {
            Some(call) => HOST_FUNCTIONS.contains(&call) || abi_specific(abi).contains(&call),
            None => name == "pthread_equal" || name == "emscripten_notify_memory_growth",
        },
        "wasi_snapshot_preview1" | "wasi_unstable" => WASI_FUNCTIONS.contains(&name),
        _ => false,
    }
}

/// Envoy's link-time check: every function (and global) import is one Envoy registers.
pub(crate) fn check(module: &wasmtime::Module, abi: AbiVersion) -> Result<(), HarnessError> {
    for import in module.imports() {
        let (m, name) = (import.module(), import.name());
        let missing = match import.ty() {
            ExternType::Func(_) => !envoy_provides(abi, m, name),
            // Envoy (V8) links no global imports; memories and tables are the module's own.
            ExternType::Global(_) => true,
            _ => false,
        };
        if missing {
            return Err(HarnessError::Load(format!(
                "Failed to load Wasm module due to a missing import: {m}.{name}"
            )));
        }
    }
    Ok(())
}

/// Envoy's check when a VM is created (`WasmBase::getFunctions`): the module exports an
/// allocator (`malloc`, else `proxy_on_memory_allocate`) of type `(i32) -> i32`.
pub(crate) fn check_allocator(module: &wasmtime::Module) -> Result<(), HarnessError> {
    let allocator = ["malloc", "proxy_on_memory_allocate"].iter().find_map(|n| {
        module
            .get_export(n)
            .and_then(|e| e.func().cloned())
            .map(|f| (*n, f))
    });
    match allocator {
        None => Err(HarnessError::Load(
            "Wasm module is missing malloc function. (export `malloc` or \
             `proxy_on_memory_allocate`, (i32) -> i32: the host allocates every buffer it \
             returns inside the module)"
                .into(),
        )),
        Some((name, ty)) => {
            let ok = ty.params().len() == 1
                && ty.results().len() == 1
                && matches!(ty.params().next(), Some(wasmtime::ValType::I32))
                && matches!(ty.results().next(), Some(wasmtime::ValType::I32));
            if ok {
                Ok(())
            } else {
                Err(HarnessError::BadExport(format!(
                    "{name}: the allocator must have the type (i32) -> i32, found {ty}"
                )))
            }
        }
    }
}
