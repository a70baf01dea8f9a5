//! HTTP streams from the test's side: requests and responses to feed, what the upstream and the
//! client received, local replies, and the [`HttpStream`] handle.

use crate::abi::wire::Pair;
use crate::envoy::http::Dir;
use crate::state::Stage;
use crate::{HarnessError, Host};

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
    /// The stream ended in a local reply (see [`HttpStream::local_reply`]).
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

/// The outcome of [`Host::http_exchange`].
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

/// An HTTP stream being fed step by step; dropping it finishes it (on_log, on_done,
/// on_delete) if [`finish`](HttpStream::finish) was not called.
pub struct HttpStream<'h> {
    host: &'h mut Host,
    id: u32,
    finished: bool,
}

impl std::fmt::Debug for HttpStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStream")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<'h> HttpStream<'h> {
    pub(crate) fn new(host: &'h mut Host, id: u32) -> HttpStream<'h> {
        HttpStream {
            host,
            id,
            finished: false,
        }
    }

    /// The stream's context id (2, 3, … on a one-plugin host).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The host (e.g. to answer a callout while the stream is paused).
    pub fn host(&mut self) -> &mut Host {
        &mut *self.host
    }

    /// Request headers from the client (on_request_headers).
    pub fn request_headers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .http_headers(self.id, Dir::Request, lowered(headers), end_of_stream)
    }

    /// A request body chunk (on_request_body, unless withheld by a headers pause).
    pub fn request_body(
        &mut self,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .http_body(self.id, Dir::Request, chunk, end_of_stream)
    }

    /// Request trailers (on_request_trailers); ends the request.
    pub fn request_trailers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        trailers: &[(K, V)],
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .http_trailers(self.id, Dir::Request, lowered(trailers))
    }

    /// Response headers from the upstream (on_response_headers).
    pub fn response_headers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .http_headers(self.id, Dir::Response, lowered(headers), end_of_stream)
    }

    /// A response body chunk.
    pub fn response_body(
        &mut self,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .http_body(self.id, Dir::Response, chunk, end_of_stream)
    }

    /// Response trailers; ends the response.
    pub fn response_trailers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        trailers: &[(K, V)],
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .http_trailers(self.id, Dir::Response, lowered(trailers))
    }

    /// Feeds a whole request: headers, then the body (one chunk) and trailers if present.
    pub fn send_request(&mut self, request: &HttpRequest) -> Result<FilterStatus, HarnessError> {
        self.send(
            Dir::Request,
            &request.headers,
            &request.body,
            &request.trailers,
        )
    }

    /// Feeds a whole upstream response.
    pub fn send_response(&mut self, response: &HttpResponse) -> Result<FilterStatus, HarnessError> {
        self.send(
            Dir::Response,
            &response.headers,
            &response.body,
            &response.trailers,
        )
    }

    /// Headers, then the body as one chunk and the trailers when present, in direction `dir`.
    fn send(
        &mut self,
        dir: Dir,
        headers: &[Pair],
        body: &[u8],
        trailers: &[Pair],
    ) -> Result<FilterStatus, HarnessError> {
        let (has_body, has_trailers) = (!body.is_empty(), !trailers.is_empty());
        let mut status =
            self.host
                .http_headers(self.id, dir, lowered(headers), !has_body && !has_trailers)?;
        if has_body {
            status = self.host.http_body(self.id, dir, body, !has_trailers)?;
        }
        if has_trailers {
            status = self.host.http_trailers(self.id, dir, lowered(trailers))?;
        }
        Ok(status)
    }

    /// True once the whole request went upstream (not paused, no local reply or reset).
    pub fn request_complete(&mut self) -> bool {
        let id = self.id;
        self.host.http_ctx(id).is_some_and(|h| {
            h.local_reply.is_none() && h.reset.is_none() && h.request.stage == Stage::Done
        })
    }

    /// The request direction's state now.
    pub fn request_status(&mut self) -> FilterStatus {
        self.host.http_status(self.id, Dir::Request)
    }

    /// The response direction's state now.
    pub fn response_status(&mut self) -> FilterStatus {
        self.host.http_status(self.id, Dir::Response)
    }

    /// What the upstream has received so far (`None` before the request headers went on).
    pub fn upstream_request(&mut self) -> Option<Message> {
        let id = self.id;
        self.host.http_ctx(id).and_then(|h| {
            (h.request.headers_forwarded && h.reset.is_none()).then(|| h.request.forwarded.clone())
        })
    }

    /// What the client has received so far (`None` before the response headers went on).
    pub fn client_response(&mut self) -> Option<Message> {
        let id = self.id;
        self.host.http_ctx(id).and_then(|h| {
            h.response
                .headers_forwarded
                .then(|| h.response.forwarded.clone())
        })
    }

    /// The local reply, if the stream ended in one.
    pub fn local_reply(&mut self) -> Option<LocalReply> {
        let id = self.id;
        self.host.http_ctx(id).and_then(|h| h.local_reply.clone())
    }

    /// The reset details, if the stream was reset.
    pub fn reset_details(&mut self) -> Option<String> {
        let id = self.id;
        self.host.http_ctx(id).and_then(|h| h.reset.clone())
    }

    /// Ends the stream: on_log, on_done, on_delete.
    pub fn finish(mut self) -> Result<(), HarnessError> {
        self.finished = true;
        let r = self.host.http_finish(self.id);
        self.host.http_forget(self.id);
        r
    }

    /// Finishes the stream and reports what happened.
    pub fn into_exchange(mut self) -> Result<Exchange, HarnessError> {
        let id = self.id;
        let (upstream, client, local_reply, reset, stalled) = {
            let h = self
                .host
                .http_ctx(id)
                .ok_or_else(|| HarnessError::Usage("the stream is gone".into()))?;
            let stalled = h.local_reply.is_none()
                && h.reset.is_none()
                && (h.request.stage != Stage::Done || h.response.stage != Stage::Done);
            let upstream =
                (h.request.headers_forwarded && h.local_reply.is_none() && h.reset.is_none())
                    .then(|| h.request.forwarded.clone());
            (
                upstream,
                h.response.forwarded.clone(),
                h.local_reply.clone(),
                h.reset.clone(),
                stalled,
            )
        };
        self.finished = true;
        let r = self.host.http_finish(id);
        self.host.http_forget(id);
        r?;
        Ok(Exchange {
            upstream_request: upstream,
            client_response: client,
            local_reply,
            reset,
            stalled,
        })
    }
}

impl Drop for HttpStream<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Envoy always ends a stream; errors here have nowhere to go but the logs.
            let _ = self.host.http_finish(self.id);
            self.host.http_forget(self.id);
        }
    }
}
