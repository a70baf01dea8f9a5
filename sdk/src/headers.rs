//! Header maps and bodies as the filter sees them: views over the host's state.
//!
//! A [`Headers`] or [`Body`] owns nothing: every read and write is one hostcall on the map or
//! buffer of the current phase. Values are read as bytes and converted lossily, so a client
//! sending non-UTF-8 header bytes cannot make the filter panic (the raw `proxy-wasm` getters
//! `unwrap` the UTF-8 conversion).

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

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

    /// The first value of header `name` as raw bytes.
    pub fn get_bytes(&self, name: &str) -> Option<Vec<u8>> {
        hostcalls::get_map_value_bytes(self.map, name)
            .ok()
            .flatten()
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

    /// Sets header `name` to `value`, replacing every existing value.
    pub fn set(&mut self, name: &str, value: &str) {
        let _ = hostcalls::set_map_value(self.map, name, Some(value));
    }

    /// Adds a value for header `name`, keeping existing ones.
    pub fn add(&mut self, name: &str, value: &str) {
        let _ = hostcalls::add_map_value(self.map, name, value);
    }

    /// Removes header `name` (every value).
    pub fn remove(&mut self, name: &str) {
        let _ = hostcalls::remove_map_value(self.map, name);
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
