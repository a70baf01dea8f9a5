//! Unary gRPC callouts (see [`HttpCx::grpc_call`](crate::HttpCx::grpc_call)).

use crate::callout::CallError;
use proxy_wasm::hostcalls;
use std::time::Duration;

/// A unary gRPC call: service, method, metadata and the serialized request message.
///
/// ```
/// let call = wasme_sdk::GrpcCall::new("envoy.service.auth.v3.Authorization", "Check", b"\x0a\x00")
///     .metadata("x-tenant", b"blue");
/// assert_eq!(call.method, "Check");
/// ```
#[derive(Debug, Clone)]
pub struct GrpcCall<'a> {
    /// Fully qualified service name.
    pub service: &'a str,
    /// Method name.
    pub method: &'a str,
    /// Initial metadata.
    pub metadata: Vec<(&'a str, &'a [u8])>,
    /// Serialized protobuf request.
    pub message: &'a [u8],
    /// How long the host waits before failing the call.
    pub timeout: Duration,
}

impl<'a> GrpcCall<'a> {
    /// A call with a 1 s timeout and no metadata.
    pub fn new(service: &'a str, method: &'a str, message: &'a [u8]) -> Self {
        GrpcCall {
            service,
            method,
            metadata: Vec::new(),
            message,
            timeout: Duration::from_secs(1),
        }
    }

    /// Adds initial metadata.
    pub fn metadata(mut self, key: &'a str, value: &'a [u8]) -> Self {
        self.metadata.push((key, value));
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn dispatch(&self, cluster: &str) -> Result<u32, CallError> {
        Ok(hostcalls::dispatch_grpc_call(
            cluster,
            self.service,
            self.method,
            self.metadata.clone(),
            Some(self.message),
            self.timeout,
        )?)
    }
}
