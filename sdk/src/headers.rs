//! Header maps and bodies as the filter sees them: views over the host's state.
//!
//! A [`Headers`] or [`Body`] owns nothing: every read and write is one hostcall on the map or
//! buffer of the current phase. Values are read as bytes and converted lossily, so a client
//! sending non-UTF-8 header bytes cannot make the filter panic (the raw `proxy-wasm` getters
//! `unwrap` the UTF-8 conversion).
//!
//! Single-header reads and writes call the host directly instead of through `proxy-wasm`'s
//! wrappers: those panic on any status they do not expect, and Envoy answers `BAD_ARGUMENT`
//! when a filter touches a map outside its phase (reading the request headers from
//! `on_response_headers`, say). Here that is `None` / `false`, not a crashed VM.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use std::ptr::null_mut;

/// The header-map hostcalls, declared with plain integer statuses (see the module docs).
mod abi {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub fn proxy_get_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
        ) -> u32;
        pub fn proxy_replace_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_add_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            value_data: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_remove_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
        ) -> u32;
    }
}

const OK: u32 = 0;

/// A view of one header (or trailer) map of the current stream.
///
/// Names are case-insensitive (Envoy lower-cases them). Mutations only take effect in the
/// phase that owns the map: request headers during `on_request_headers` (or while the request
/// is paused there), response headers during `on_response_headers`.
///
/// ```no_run
/// # fn demo(headers: &mut wasme_sdk::Headers) {
/// if headers.get("x-debug").is_some() {
///     headers.set("x-debug-seen", "1");
/// }
/// headers.remove("x-internal");
/// # }
/// ```
#[derive(Debug)]
pub struct Headers {
    map: MapType,
    end_of_stream: bool,
}

impl Headers {
    /// A view of `map`; `end_of_stream` says whether no body follows.
    pub fn new(map: MapType, end_of_stream: bool) -> Self {
        Headers { map, end_of_stream }
    }

    /// True when the message has no body (or trailers) after these headers.
    pub fn end_of_stream(&self) -> bool {
        self.end_of_stream
    }

    /// The first value of header `name`, if present (non-UTF-8 bytes replaced by U+FFFD).
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_bytes(name)
            .map(|v| String::from_utf8(v).unwrap_or_else(|e| lossy(e.as_bytes())))
    }

    /// The first value of header `name` as raw bytes (`None` when absent or when the map is
    /// not readable in this phase).
    pub fn get_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let mut data: *mut u8 = null_mut();
        let mut size: usize = 0;
        // SAFETY: the host writes a pointer it allocated in this module through
        // `proxy_on_memory_allocate` (the global allocator) and its length; ownership passes to
        // us, as in `proxy_wasm::hostcalls::get_map_value_bytes`.
        unsafe {
            let status = abi::proxy_get_header_map_value(
                self.map as u32,
                name.as_ptr(),
                name.len(),
                &mut data,
                &mut size,
            );
            if status != OK {
                return None;
            }
            if data.is_null() {
                return Some(Vec::new());
            }
            Some(Vec::from_raw_parts(data, size, size))
        }
    }

    /// True when header `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// Every header, in order (repeated headers appear once per value).
    pub fn all(&self) -> Vec<(String, String)> {
        hostcalls::get_map_bytes(self.map)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    String::from_utf8(v).unwrap_or_else(|e| lossy(e.as_bytes())),
                )
            })
            .collect()
    }

    /// Sets header `name` to `value`, replacing every existing value. False when the host
    /// refused (the map is not mutable in this phase).
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        // SAFETY: pointers and lengths of live slices.
        OK == unsafe {
            abi::proxy_replace_header_map_value(
                self.map as u32,
                name.as_ptr(),
                name.len(),
                value.as_ptr(),
                value.len(),
            )
        }
    }

    /// Adds a value for header `name`, keeping existing ones. False when the host refused.
    pub fn add(&mut self, name: &str, value: &str) -> bool {
        // SAFETY: pointers and lengths of live slices.
        OK == unsafe {
            abi::proxy_add_header_map_value(
                self.map as u32,
                name.as_ptr(),
                name.len(),
                value.as_ptr(),
                value.len(),
            )
        }
    }

    /// Removes header `name` (every value). False when the host refused.
    pub fn remove(&mut self, name: &str) -> bool {
        // SAFETY: pointer and length of a live slice.
        OK == unsafe {
            abi::proxy_remove_header_map_value(self.map as u32, name.as_ptr(), name.len())
        }
    }

    /// The `:method` pseudo-header (requests).
    pub fn method(&self) -> Option<String> {
        self.get(":method")
    }

    /// The `:path` pseudo-header (requests), including the query string.
    pub fn path(&self) -> Option<String> {
        self.get(":path")
    }

    /// The `:authority` pseudo-header (requests).
    pub fn authority(&self) -> Option<String> {
        self.get(":authority")
    }

    /// The `:status` pseudo-header parsed as a number (responses).
    pub fn status(&self) -> Option<u16> {
        self.get(":status")?.trim().parse().ok()
    }
}

/// A view of a body (HTTP) or data (TCP) buffer of the current callback.
///
/// `len()` is everything buffered so far: when a filter returns `Action::Pause` from a body
/// callback, Envoy buffers and the next callback sees the whole body up to that point, so
/// "wait for the complete body" is `if !body.end_of_stream() { return Action::Pause; }`.
///
/// ```no_run
/// # fn demo(body: &mut wasme_sdk::Body) -> wasme_sdk::Action {
/// if !body.end_of_stream() {
///     return wasme_sdk::Action::Pause; // buffer until the last chunk
/// }
/// let text = body.bytes().to_ascii_uppercase();
/// body.replace(&text);
/// wasme_sdk::Action::Continue
/// # }
/// ```
#[derive(Debug)]
pub struct Body {
    buffer: BufferType,
    len: usize,
    end_of_stream: bool,
}

impl Body {
    /// A view of `buffer` holding `len` bytes.
    pub fn new(buffer: BufferType, len: usize, end_of_stream: bool) -> Self {
        Body {
            buffer,
            len,
            end_of_stream,
        }
    }

    /// Bytes buffered so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when this is the last chunk.
    pub fn end_of_stream(&self) -> bool {
        self.end_of_stream
    }

    /// The buffered bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.slice(0, self.len)
    }

    /// Up to `max` bytes starting at `start`.
    pub fn slice(&self, start: usize, max: usize) -> Vec<u8> {
        hostcalls::get_buffer(self.buffer, start, max)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Replaces the whole buffered body with `data`.
    ///
    /// Remember to remove `content-length` in the headers phase when the length may change.
    pub fn replace(&mut self, data: &[u8]) {
        if hostcalls::set_buffer(self.buffer, 0, self.len, data).is_ok() {
            self.len = data.len();
        }
    }

    /// Appends `data` to the buffered body.
    pub fn append(&mut self, data: &[u8]) {
        if hostcalls::set_buffer(self.buffer, self.len, 0, data).is_ok() {
            self.len += data.len();
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
