//! The ABI's enumerations with their exact wire values (`proxy-wasm-host.md` §2).

/// A hostcall result status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The thing asked for does not exist.
    NotFound = 1,
    /// An argument is wrong (or the call is not allowed in this phase).
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// A bad expression.
    BadExpression = 5,
    /// A guest pointer or the guest allocator failed.
    InvalidMemoryAccess = 6,
    /// Nothing to return (an empty queue).
    Empty = 7,
    /// Compare-and-swap mismatch on shared data.
    CasMismatch = 8,
    /// Result mismatch.
    ResultMismatch = 9,
    /// Something failed inside the host, or an unsupported path.
    InternalFailure = 10,
    /// The connection broke (`proxy_get_status` after a failed callout).
    BrokenConnection = 11,
    /// Not implemented.
    Unimplemented = 12,
}

impl Status {
    /// The wire value.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// A log level of `proxy_log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogLevel {
    /// 0
    Trace,
    /// 1
    Debug,
    /// 2
    Info,
    /// 3
    Warn,
    /// 4
    Error,
    /// 5
    Critical,
}

impl LogLevel {
    /// Decodes a wire value; above 5 is `None` (the hostcall answers BAD_ARGUMENT).
    pub fn from_u32(v: u32) -> Option<LogLevel> {
        Some(match v {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }

    /// The wire value.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// Envoy's lower-case name of the level.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
        }
    }
}

/// A buffer of `proxy_get_buffer_bytes` / `proxy_set_buffer_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BufferType {
    /// 0
    RequestBody,
    /// 1
    ResponseBody,
    /// 2
    DownstreamData,
    /// 3
    UpstreamData,
    /// 4
    HttpCallResponseBody,
    /// 5
    GrpcReceiveBuffer,
    /// 6 (0.2.0+)
    VmConfiguration,
    /// 7 (0.2.0+)
    PluginConfiguration,
    /// 8 (0.2.0+)
    CallData,
}

impl BufferType {
    /// Decodes a wire value; above 8 is `None` (BAD_ARGUMENT).
    pub fn from_u32(v: u32) -> Option<BufferType> {
        Some(match v {
            0 => BufferType::RequestBody,
            1 => BufferType::ResponseBody,
            2 => BufferType::DownstreamData,
            3 => BufferType::UpstreamData,
            4 => BufferType::HttpCallResponseBody,
            5 => BufferType::GrpcReceiveBuffer,
            6 => BufferType::VmConfiguration,
            7 => BufferType::PluginConfiguration,
            8 => BufferType::CallData,
            _ => return None,
        })
    }
}

/// A header map of the `proxy_*_header_map_*` hostcalls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapType {
    /// 0
    RequestHeaders,
    /// 1
    RequestTrailers,
    /// 2
    ResponseHeaders,
    /// 3
    ResponseTrailers,
    /// 4
    GrpcInitialMetadata,
    /// 5
    GrpcTrailingMetadata,
    /// 6
    HttpCallResponseHeaders,
    /// 7
    HttpCallResponseTrailers,
}

impl MapType {
    /// Decodes a wire value; above 7 is `None` (BAD_ARGUMENT).
    pub fn from_u32(v: u32) -> Option<MapType> {
        Some(match v {
            0 => MapType::RequestHeaders,
            1 => MapType::RequestTrailers,
            2 => MapType::ResponseHeaders,
            3 => MapType::ResponseTrailers,
            4 => MapType::GrpcInitialMetadata,
            5 => MapType::GrpcTrailingMetadata,
            6 => MapType::HttpCallResponseHeaders,
            7 => MapType::HttpCallResponseTrailers,
            _ => return None,
        })
    }
}

/// A stream of `proxy_continue_stream` / `proxy_close_stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamType {
    /// 0
    HttpRequest,
    /// 1
    HttpResponse,
    /// 2
    Downstream,
    /// 3
    Upstream,
}

impl StreamType {
    /// Decodes a wire value.
    pub fn from_u32(v: u32) -> Option<StreamType> {
        Some(match v {
            0 => StreamType::HttpRequest,
            1 => StreamType::HttpResponse,
            2 => StreamType::Downstream,
            3 => StreamType::Upstream,
            _ => return None,
        })
    }
}

/// Who closed a connection (`proxy_on_*_connection_close`).
// Every wire value is listed, as the ABI defines them; the harness itself closes as `Remote`.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerType {
    /// 0
    Unknown = 0,
    /// 1
    Local = 1,
    /// 2
    Remote = 2,
}

/// A metric type of `proxy_define_metric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// 0: only goes up.
    Counter,
    /// 1: up and down, `record` sets.
    Gauge,
    /// 2: `record` only.
    Histogram,
}

impl MetricType {
    /// Decodes a wire value; above 2 is `None` (BAD_ARGUMENT).
    pub fn from_u32(v: u32) -> Option<MetricType> {
        Some(match v {
            0 => MetricType::Counter,
            1 => MetricType::Gauge,
            2 => MetricType::Histogram,
            _ => return None,
        })
    }
}

/// The result of a headers/body/trailers callback, as Envoy reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 0 (and 2, ContinueAndEndStream, for headers).
    Continue,
    /// Any stop status (1, 3, 4 for headers; 1, 2, 3 for data; 1 for trailers).
    Pause,
}

impl Action {
    /// Decodes a headers callback result: 0 and 2 (ContinueAndEndStream) continue, the rest
    /// (StopIteration, StopAllIterationAndBuffer, StopAllIterationAndWatermark) stop.
    pub fn from_headers_status(v: u32) -> Action {
        match v {
            0 | 2 => Action::Continue,
            _ => Action::Pause,
        }
    }

    /// Decodes a body, trailers or network-data callback result: 0 continues, the rest stop.
    pub fn from_data_status(v: u32) -> Action {
        if v == 0 {
            Action::Continue
        } else {
            Action::Pause
        }
    }
}
