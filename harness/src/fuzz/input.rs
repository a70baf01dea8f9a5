//! The fuzzer's input model: one [`Exchange`] is what a client, an upstream, the callout
//! clusters and the clock do during one request (or one TCP connection). Plain data, so a
//! failing input can be printed, shrunk, replayed and written as a scenario file.

use std::time::Duration;

/// One generated exchange: traffic through a plugin configured with variant `config`, then a
/// clock advance (ticks, callout timeouts, clock jumps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Which plugin configuration variant the host runs (an index into the caller's list).
    pub config: usize,
    /// The traffic.
    pub traffic: Traffic,
    /// How far the fake clock moves after the traffic (zero: not at all).
    pub then_advance: Duration,
}

/// HTTP (plain or gRPC) or a TCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// One HTTP stream.
    Http(Box<HttpExchange>),
    /// One TCP connection through a network filter.
    Tcp(TcpExchange),
}

/// One HTTP stream as the client, the upstream and the callout clusters play it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpExchange {
    /// `:method`.
    pub method: String,
    /// `:path`, with its query string.
    pub path: String,
    /// `:authority`.
    pub authority: String,
    /// `:scheme`.
    pub scheme: String,
    /// Other request headers, in order (repeats allowed; names lower-case, as Envoy's codecs
    /// deliver them).
    pub headers: Vec<(String, String)>,
    /// The request body, in the chunks the client sends (empty: no body).
    pub body: Vec<String>,
    /// Request trailers (empty: none).
    pub trailers: Vec<(String, String)>,
    /// Whether the client stays until the end.
    pub client: ClientEnd,
    /// How the clusters answer the filter's HTTP callouts during this stream.
    pub callouts: CalloutAnswer,
    /// What the upstream answers if the request reaches it.
    pub response: UpstreamReply,
}

/// How the client's side of a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEnd {
    /// The client waits for the whole response.
    Completes,
    /// The client resets the stream right after its request headers.
    ResetAfterHeaders,
    /// The client disconnects after sending its request, before any response.
    DisconnectsEarly,
}

/// How HTTP callouts made during a stream are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalloutAnswer {
    /// A response with this status and a body of `body_len` bytes.
    Success {
        /// `:status`.
        status: u16,
        /// Body size in bytes (large ones test huge answers).
        body_len: usize,
    },
    /// The callout fails (connection reset).
    Failure,
    /// Nobody answers: the clock passes the callout's timeout.
    Timeout,
    /// The answer arrives after the client went away and the stream ended. As in Envoy, the
    /// stream's end cancelled its callouts (`Context::~Context`), so only calls its root made
    /// are still answered; the filter must cope with a stream that ends while it waits.
    Late,
}

/// The upstream's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamReply {
    /// `:status`.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The body in chunks.
    pub body: Vec<String>,
    /// Response trailers.
    pub trailers: Vec<(String, String)>,
}

/// One TCP connection: data chunks in order, then (maybe) a close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpExchange {
    /// `(from_upstream, bytes)` in order.
    pub chunks: Vec<(bool, String)>,
    /// Close the connection at the end.
    pub close: bool,
}

impl Exchange {
    /// A plain `GET /` that the upstream answers `200` with no body, on configuration 0.
    pub fn get() -> Exchange {
        Exchange {
            config: 0,
            traffic: Traffic::Http(Box::new(HttpExchange {
                method: "GET".into(),
                path: "/".into(),
                authority: "example.com".into(),
                scheme: "http".into(),
                headers: Vec::new(),
                body: Vec::new(),
                trailers: Vec::new(),
                client: ClientEnd::Completes,
                callouts: CalloutAnswer::Success {
                    status: 200,
                    body_len: 0,
                },
                response: UpstreamReply {
                    status: 200,
                    headers: Vec::new(),
                    body: Vec::new(),
                    trailers: Vec::new(),
                },
            })),
            then_advance: Duration::ZERO,
        }
    }
}
