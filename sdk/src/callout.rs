//! Callouts: HTTP and gRPC calls to other clusters, answered to a closure.
//!
//! The raw `proxy-wasm` crate hands back a token and later calls `on_http_call_response(token,
//! …)` on the context; the filter keeps its own token map and reads the response through more
//! hostcalls. The SDK keeps the map: [`HttpCx::http_call`](crate::HttpCx::http_call) takes a
//! closure that receives the filter, the whole response (or why there is none) and a context
//! to resume or answer the stream.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, Status};
use std::time::Duration;

/// Why a callout could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The host refused the call: unknown cluster (give a cluster name, not a URL), missing
    /// `:method`, `:path` or `:authority`, or a bad timeout.
    #[error(
        "the host refused the call (unknown cluster, or missing :method/:path/:authority header)"
    )]
    BadArgument,
    /// The host failed to send the call.
    #[error("the host could not send the call ({0:?})")]
    Host(Status),
}

impl From<Status> for CallError {
    fn from(status: Status) -> Self {
        match status {
            Status::BadArgument => CallError::BadArgument,
            other => CallError::Host(other),
        }
    }
}

/// What an HTTP callout returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCallResponse {
    /// Response headers, including `:status`.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Response trailers.
    pub trailers: Vec<(String, String)>,
}

impl HttpCallResponse {
    /// The `:status` header as a number.
    ///
    /// ```
    /// let r = wasme_sdk::HttpCallResponse { headers: vec![(":status".into(), "204".into())], ..Default::default() };
    /// assert_eq!(r.status(), Some(204));
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.header(":status")?.trim().parse().ok()
    }

    /// The first value of header `name` (case-insensitive).
    ///
    /// ```
    /// let r = wasme_sdk::HttpCallResponse { headers: vec![("X-User".into(), "ann".into())], ..Default::default() };
    /// assert_eq!(r.header("x-user"), Some("ann"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads the response the host is delivering (only valid inside the response callback).
    pub(crate) fn read(num_headers: usize, body_size: usize, num_trailers: usize) -> Self {
        HttpCallResponse {
            headers: if num_headers > 0 {
                read_map(MapType::HttpCallResponseHeaders)
            } else {
                Vec::new()
            },
            body: if body_size > 0 {
                hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            } else {
                Vec::new()
            },
            trailers: if num_trailers > 0 {
                read_map(MapType::HttpCallResponseTrailers)
            } else {
                Vec::new()
            },
        }
    }
}

/// Why a callout produced no response: the host's status (Envoy reports a reset or timeout as
/// code 11 with message `reset`; for gRPC the gRPC status code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("callout failed (status {code}: {message})")]
pub struct CallFailure {
    /// The status code the host reported.
    pub code: u32,
    /// The host's message.
    pub message: String,
}

impl CallFailure {
    pub(crate) fn read(code_hint: u32) -> Self {
        match hostcalls::get_grpc_status() {
            Ok((code, message)) => CallFailure {
                code: if code == 0 { code_hint } else { code },
                message: message.unwrap_or_default(),
            },
            Err(_) => CallFailure {
                code: code_hint,
                message: String::new(),
            },
        }
    }
}

/// The outcome of an HTTP callout.
pub type HttpCallResult = Result<HttpCallResponse, CallFailure>;

/// The outcome of a unary gRPC call: the response message, or the failure.
pub type GrpcCallResult = Result<Vec<u8>, CallFailure>;

/// An HTTP callout to send: pseudo-headers and headers, optional body, timeout.
///
/// ```
/// use std::time::Duration;
/// let call = wasme_sdk::HttpCall::get("auth.internal", "/check")
///     .header("authorization", "Bearer t")
///     .timeout(Duration::from_millis(200));
/// assert_eq!(call.headers[0], (":method".to_string(), "GET".to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// Headers including `:method`, `:path` and `:authority`.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<Vec<u8>>,
    /// How long the host waits before failing the call.
    pub timeout: Duration,
}

impl HttpCall {
    /// A request with this method, authority and path, a 1 s timeout and no body.
    pub fn new(method: &str, authority: &str, path: &str) -> Self {
        HttpCall {
            headers: vec![
                (":method".into(), method.into()),
                (":path".into(), path.into()),
                (":authority".into(), authority.into()),
            ],
            body: None,
            timeout: Duration::from_secs(1),
        }
    }

    /// A `GET` request.
    pub fn get(authority: &str, path: &str) -> Self {
        HttpCall::new("GET", authority, path)
    }

    /// A `POST` request with a body.
    pub fn post(authority: &str, path: &str, body: impl Into<Vec<u8>>) -> Self {
        HttpCall::new("POST", authority, path).body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn dispatch(&self, cluster: &str) -> Result<u32, CallError> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(hostcalls::dispatch_http_call(
            cluster,
            headers,
            self.body.as_deref(),
            Vec::new(),
            self.timeout,
        )?)
    }
}

pub(crate) fn read_map(map: MapType) -> Vec<(String, String)> {
    hostcalls::get_map_bytes(map)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

/// The callouts of one context that still wait for an answer.
pub(crate) struct Pending<T> {
    entries: Vec<(u32, T)>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            entries: Vec::new(),
        }
    }
}

impl<T> Pending<T> {
    pub(crate) fn insert(&mut self, token: u32, value: T) {
        self.entries.push((token, value));
    }

    pub(crate) fn take(&mut self, token: u32) -> Option<T> {
        let index = self.entries.iter().position(|(t, _)| *t == token)?;
        Some(self.entries.swap_remove(index).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_hands_each_token_back_once() {
        let mut p = Pending::default();
        p.insert(4, "a");
        p.insert(8, "b");
        assert_eq!(p.take(8), Some("b"));
        assert_eq!(p.take(8), None);
        assert_eq!(p.take(4), Some("a"));
    }

    #[test]
    fn call_builder_sets_pseudo_headers() {
        let c = HttpCall::post("auth", "/v1", "x").header("a", "b");
        assert_eq!(c.headers[0].1, "POST");
        assert_eq!(c.headers[1], (":path".into(), "/v1".into()));
        assert_eq!(c.headers[2], (":authority".into(), "auth".into()));
        assert_eq!(c.headers[3], ("a".into(), "b".into()));
        assert_eq!(c.body.as_deref(), Some(&b"x"[..]));
    }
}
