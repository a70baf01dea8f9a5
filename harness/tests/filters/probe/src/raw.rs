//! Raw hostcalls returning the host's status as a plain number.
//!
//! The SDK's wrappers turn statuses it does not know (6, 9, 11, 12) into a panic, and its
//! `Status` enum cannot even hold them; the conformance tests need the exact number. The wasm
//! signatures are identical to the SDK's declarations, so both link to the same imports.

#![allow(clashing_extern_declarations)]

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    pub fn proxy_log(level: u32, ptr: *const u8, size: usize) -> u32;
    pub fn proxy_get_log_level(ret: *mut u32) -> u32;
    pub fn proxy_get_current_time_nanoseconds(ret: *mut u64) -> u32;
    pub fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    pub fn proxy_get_buffer_bytes(
        buffer: u32,
        start: usize,
        max: usize,
        ret_ptr: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_set_buffer_bytes(
        buffer: u32,
        start: usize,
        size: usize,
        ptr: *const u8,
        len: usize,
    ) -> u32;
    pub fn proxy_get_buffer_status(buffer: u32, ret_size: *mut usize, ret_flags: *mut u32) -> u32;
    pub fn proxy_get_header_map_pairs(map: u32, ret_ptr: *mut *mut u8, ret_size: *mut usize)
    -> u32;
    pub fn proxy_set_header_map_pairs(map: u32, ptr: *const u8, size: usize) -> u32;
    pub fn proxy_get_header_map_size(map: u32, ret_size: *mut usize) -> u32;
    pub fn proxy_get_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        ret_ptr: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_add_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    pub fn proxy_replace_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    pub fn proxy_remove_header_map_value(map: u32, key: *const u8, key_size: usize) -> u32;
    pub fn proxy_continue_stream(stream: u32) -> u32;
    pub fn proxy_close_stream(stream: u32) -> u32;
    pub fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    pub fn proxy_http_call(
        upstream: *const u8,
        upstream_size: usize,
        headers: *const u8,
        headers_size: usize,
        body: *const u8,
        body_size: usize,
        trailers: *const u8,
        trailers_size: usize,
        timeout: u32,
        ret_token: *mut u32,
    ) -> u32;
    pub fn proxy_grpc_send(token: u32, msg: *const u8, size: usize, end_stream: u32) -> u32;
    pub fn proxy_grpc_cancel(token: u32) -> u32;
    pub fn proxy_grpc_close(token: u32) -> u32;
    pub fn proxy_get_status(code: *mut u32, msg_ptr: *mut *mut u8, msg_size: *mut usize) -> u32;
    pub fn proxy_set_effective_context(context: u32) -> u32;
    pub fn proxy_call_foreign_function(
        name: *const u8,
        name_size: usize,
        args: *const u8,
        args_size: usize,
        ret_ptr: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_done() -> u32;
    pub fn proxy_define_metric(kind: u32, name: *const u8, name_size: usize, ret: *mut u32) -> u32;
    pub fn proxy_get_metric(id: u32, ret: *mut u64) -> u32;
    pub fn proxy_record_metric(id: u32, value: u64) -> u32;
    pub fn proxy_increment_metric(id: u32, offset: i64) -> u32;
    pub fn proxy_get_property(
        path: *const u8,
        path_size: usize,
        ret_ptr: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_set_property(
        path: *const u8,
        path_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    pub fn proxy_get_shared_data(
        key: *const u8,
        key_size: usize,
        ret_ptr: *mut *mut u8,
        ret_size: *mut usize,
        ret_cas: *mut u32,
    ) -> u32;
    pub fn proxy_set_shared_data(
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    pub fn proxy_register_shared_queue(name: *const u8, name_size: usize, ret: *mut u32) -> u32;
    pub fn proxy_resolve_shared_queue(
        vm_id: *const u8,
        vm_id_size: usize,
        name: *const u8,
        name_size: usize,
        ret: *mut u32,
    ) -> u32;
    pub fn proxy_enqueue_shared_queue(queue: u32, ptr: *const u8, size: usize) -> u32;
    pub fn proxy_dequeue_shared_queue(
        queue: u32,
        ret_ptr: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
}

#[cfg(target_os = "wasi")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    pub fn random_get(buf: *mut u8, len: usize) -> i32;
    pub fn clock_time_get(id: u32, precision: u64, ret: *mut u64) -> i32;
}

/// Takes ownership of a buffer the host allocated through the module's allocator.
///
/// # Safety
/// `ptr`/`size` must come from a successful hostcall that returns an allocation.
pub unsafe fn take(ptr: *mut u8, size: usize) -> Vec<u8> {
    if ptr.is_null() || size == 0 {
        return Vec::new();
    }
    unsafe { Vec::from_raw_parts(ptr, size, size) }
}

/// Logs `message` at info through the raw hostcall.
pub fn info(message: &str) {
    unsafe {
        proxy_log(2, message.as_ptr(), message.len());
    }
}
