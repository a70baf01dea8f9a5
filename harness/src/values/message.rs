//! The messages tests feed and read back: requests and responses, what an upstream or a client
//! received, local replies, the outcome of an exchange, and what Envoy did with a piece of a
//! stream.

use crate::abi::wire::Pair;

/// The first value of header `name` (case-insensitive) in `headers`.
pub fn find_header<'a>(headers: &'a [Pair], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Owned pairs with lower-cased keys (HTTP/2 header names, as Envoy hands them to filters).
pub(crate) fn lowered<K: AsRef<str>, V: AsRef<str>>(headers: &[(K, V)]) -> Vec<Pair> {
    headers
        .iter()
        .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_string()))
        .collect()
}

/// Implements the `header`/`body`/`trailer` builder methods on a message type with `headers`,
/// `body` and `trailers` fields (requests and responses fed to a stream, callout answers), so
/// the three read the same and cannot drift apart.
macro_rules! message_builder {
    ($ty:ty) => {
        impl $ty {
            /// Adds a header (key lower-cased); a pseudo-header (`:path`, `:status`, …) that is
            /// already there is replaced instead.
            pub fn header(mut self, key: &str, value: &str) -> Self {
                let key = key.to_ascii_lowercase();
                if key.starts_with(':')
                    && let Some(slot) = self.headers.iter_mut().find(|(k, _)| *k == key)
                {
                    slot.1 = value.to_string();
                    return self;
                }
                self.headers.push((key, value.to_string()));
                self
            }

            /// Sets the body.
            pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
                self.body = body.as_ref().to_vec();
                self
            }

            /// Adds a trailer (key lower-cased).
            pub fn trailer(mut self, key: &str, value: &str) -> Self {
                self.trailers
                    .push((key.to_ascii_lowercase(), value.to_string()));
                self
            }
        }
    };
}
pub(crate) use message_builder;

/// Headers, body and trailers: what an upstream or a client received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Headers in order (keys lower-case), pseudo-headers included.
    pub headers: Vec<Pair>,
    /// The body.
    pub body: Vec<u8>,
    /// Trailers.
    pub trailers: Vec<Pair>,
}

impl Message {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every value of header `name`.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `:status` as a number.
    pub fn status(&self) -> Option<u16> {
        self.header(":status")?.parse().ok()
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A local reply the filter sent with `proxy_send_local_response` (or the host's fail-closed
/// 503).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalReply {
    /// The HTTP status code.
    pub status: u32,
    /// The response code details (`wasm_fail_stream` for fail-closed).
    pub details: String,
    /// The body.
    pub body: Vec<u8>,
    /// Extra headers (keys lower-cased).
    pub headers: Vec<Pair>,
    /// The gRPC status, if one was given (not −1).
    pub grpc_status: Option<u32>,
}

/// What Envoy does after feeding one piece of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterStatus {
    /// The data went on to the next hop.
    Continue,
    /// The filter holds this direction (it waits for `proxy_continue_stream`).
    Pause,
    /// The stream ended in a local reply (see [`HttpStream::local_reply`](crate::HttpStream::local_reply)).
    LocalReply,
    /// The stream was reset (`proxy_close_stream`) or the connection closed.
    Reset,
}

/// A request to feed into a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// Headers including `:method`, `:path`, `:authority`, `:scheme`.
    pub headers: Vec<Pair>,
    /// Body (sent as one chunk; empty = none).
    pub body: Vec<u8>,
    /// Trailers (empty = none).
    pub trailers: Vec<Pair>,
}

impl HttpRequest {
    /// A request with `:method`, `:path`, `:authority` = `example.com`, `:scheme` = `http`.
    pub fn new(method: &str, path: &str) -> HttpRequest {
        HttpRequest {
            headers: lowered(&[
                (":method", method),
                (":path", path),
                (":authority", "example.com"),
                (":scheme", "http"),
            ]),
            ..Default::default()
        }
    }

    /// A GET request.
    pub fn get(path: &str) -> HttpRequest {
        HttpRequest::new("GET", path)
    }

    /// A POST request with a body.
    pub fn post(path: &str, body: impl AsRef<[u8]>) -> HttpRequest {
        HttpRequest::new("POST", path).body(body)
    }
}

message_builder!(HttpRequest);

/// An upstream response to feed into a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// Headers including `:status`.
    pub headers: Vec<Pair>,
    /// Body (one chunk; empty = none).
    pub body: Vec<u8>,
    /// Trailers (empty = none).
    pub trailers: Vec<Pair>,
}

impl HttpResponse {
    /// A response with this status.
    pub fn new(status: u16) -> HttpResponse {
        HttpResponse {
            headers: vec![(":status".into(), status.to_string())],
            ..Default::default()
        }
    }

    /// 200 OK.
    pub fn ok() -> HttpResponse {
        HttpResponse::new(200)
    }
}

message_builder!(HttpResponse);

/// The outcome of [`Host::http_exchange`](crate::Host::http_exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// What the upstream received (`None` when the request never left: local reply, reset, or
    /// still paused).
    pub upstream_request: Option<Message>,
    /// What the client received (empty headers if nothing: reset or still paused).
    pub client_response: Message,
    /// The local reply, if the stream ended in one.
    pub local_reply: Option<LocalReply>,
    /// The reset details, if the stream was reset.
    pub reset: Option<String>,
    /// True if the filter still held the request or response when the exchange ended.
    pub stalled: bool,
}
