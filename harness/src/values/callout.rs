//! HTTP and gRPC callouts as a test sees them: what the filter asked for and the answers tests
//! give.

use crate::abi::wire::Pair;
use std::time::Duration;

/// An HTTP callout the filter made with `proxy_http_call`, as the upstream cluster would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCallRequest {
    /// The token `proxy_http_call` returned (4, 8, 12, …).
    pub token: u32,
    /// The cluster name.
    pub cluster: String,
    /// Request headers (keys lower-cased; `content-length` added for a non-empty body).
    pub headers: Vec<Pair>,
    /// Request body.
    pub body: Vec<u8>,
    /// Request trailers.
    pub trailers: Vec<Pair>,
    /// The timeout the filter gave.
    pub timeout: Duration,
}

impl HttpCallRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::find_header(&self.headers, name)
    }
}

/// The answer to an HTTP callout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCallResponse {
    /// Response headers, including `:status`.
    pub headers: Vec<Pair>,
    /// Response body.
    pub body: Vec<u8>,
    /// Response trailers.
    pub trailers: Vec<Pair>,
}

impl HttpCallResponse {
    /// A response with `:status` = `status`.
    pub fn new(status: u16) -> HttpCallResponse {
        HttpCallResponse {
            headers: vec![(":status".into(), status.to_string())],
            ..Default::default()
        }
    }

    /// What the filter gets when its callout is not answered within its timeout: Envoy's
    /// async client turns the router's timeout into a local reply
    /// (`source/common/http/async_client_impl.cc`, `AsyncStreamImpl::sendLocalReply`; its test
    /// `AsyncClientImplTest.RequestTimeout` expects 504): `:status 504`, `content-length: 24`,
    /// `content-type: text/plain`, body `upstream request timeout`.
    pub fn upstream_timeout() -> HttpCallResponse {
        local_reply(504, UPSTREAM_TIMEOUT_BODY)
    }

    /// What the filter gets when the cluster's upstream cannot be connected to (or resets
    /// before its response headers): the router's 503 local reply, body `upstream connect
    /// error or disconnect/reset before headers. reset reason: connection failure`
    /// (`source/common/router/router.cc`, `Filter::onUpstreamReset`).
    pub fn connect_failure() -> HttpCallResponse {
        local_reply(503, CONNECT_FAILURE_BODY)
    }
}

/// The router's body for a callout timeout.
pub(crate) const UPSTREAM_TIMEOUT_BODY: &str = "upstream request timeout";
/// The router's body for a connection failure.
pub(crate) const CONNECT_FAILURE_BODY: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

fn local_reply(status: u16, body: &str) -> HttpCallResponse {
    HttpCallResponse {
        headers: vec![
            (":status".into(), status.to_string()),
            ("content-length".into(), body.len().to_string()),
            ("content-type".into(), "text/plain".into()),
        ],
        body: body.as_bytes().to_vec(),
        trailers: Vec::new(),
    }
}

super::message_builder!(HttpCallResponse);

/// A gRPC call or stream the filter opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcCallRequest {
    /// The token (calls 5, 9, …; streams 6, 10, …).
    pub token: u32,
    /// True for `proxy_grpc_stream`, false for `proxy_grpc_call`.
    pub is_stream: bool,
    /// The cluster name.
    pub cluster: String,
    /// The service name.
    pub service: String,
    /// The method name.
    pub method: String,
    /// Initial metadata.
    pub initial_metadata: Vec<Pair>,
    /// Messages sent: the request message for a call, each `proxy_grpc_send` for a stream.
    pub messages: Vec<Vec<u8>>,
    /// True once the filter half-closed the stream (`end_stream`) or called `proxy_grpc_close`.
    pub local_closed: bool,
    /// The timeout of a unary call (`None` for streams).
    pub timeout: Option<Duration>,
}

/// A scripted or hand-given gRPC answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrpcResponse {
    /// Initial metadata (streams only; always delivered before the messages, possibly empty).
    pub initial_metadata: Vec<Pair>,
    /// Response messages (a unary call keeps the last, as Envoy's `AsyncRequestImpl`; OK with
    /// none is INTERNAL).
    pub messages: Vec<Vec<u8>>,
    /// Trailing metadata (streams only; always delivered before the close, possibly empty).
    pub trailing_metadata: Vec<Pair>,
    /// The gRPC status (0 = OK).
    pub status: u32,
    /// The status message `proxy_get_status` returns on failure.
    pub status_message: String,
}

impl GrpcResponse {
    /// A successful reply carrying one message.
    pub fn ok(message: impl AsRef<[u8]>) -> GrpcResponse {
        GrpcResponse {
            messages: vec![message.as_ref().to_vec()],
            ..Default::default()
        }
    }

    /// A failure with a gRPC status code and message.
    pub fn error(status: u32, message: &str) -> GrpcResponse {
        GrpcResponse {
            status,
            status_message: message.to_string(),
            ..Default::default()
        }
    }
}
