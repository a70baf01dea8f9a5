//! TCP connections (network filters) from the test's side.

use super::Host;
use crate::abi::PeerType;
use crate::values::{FilterStatus, HarnessError};

/// A TCP connection through a network filter; dropping it closes it (remote close).
pub struct TcpConnection<'h> {
    host: &'h mut Host,
    id: u32,
    closed: bool,
}

impl std::fmt::Debug for TcpConnection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpConnection")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<'h> TcpConnection<'h> {
    pub(crate) fn new(host: &'h mut Host, id: u32) -> TcpConnection<'h> {
        TcpConnection {
            host,
            id,
            closed: false,
        }
    }

    /// The connection's context id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The host.
    pub fn host(&mut self) -> &mut Host {
        &mut *self.host
    }

    /// Sets a property for this connection only (see [`HttpStream::set_property`](crate::HttpStream::set_property)).
    pub fn set_property(
        &mut self,
        path: &str,
        value: impl Into<crate::PropertyValue>,
    ) -> Result<(), HarnessError> {
        let segments = crate::parse_property_path(path).map_err(HarnessError::Usage)?;
        self.host
            .proxy
            .set_context_property(self.id, segments, value.into())
    }

    /// This connection's addresses and TLS facts, instead of the host's.
    pub fn set_connection(
        &mut self,
        connection: crate::ConnectionInfo,
    ) -> Result<(), HarnessError> {
        self.host.proxy.set_context_connection(self.id, connection)
    }

    /// on_new_connection.
    pub fn new_connection(&mut self) -> Result<FilterStatus, HarnessError> {
        self.host.proxy.tcp_new_connection(self.id)
    }

    /// Data from the client (on_downstream_data with the whole buffered size).
    pub fn downstream_data(
        &mut self,
        data: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host.proxy.tcp_data(self.id, true, data, end_of_stream)
    }

    /// Data from the upstream (on_upstream_data).
    pub fn upstream_data(
        &mut self,
        data: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .proxy
            .tcp_data(self.id, false, data, end_of_stream)
    }

    /// Bytes forwarded to the upstream so far.
    pub fn sent_upstream(&mut self) -> Vec<u8> {
        let id = self.id;
        self.host
            .proxy
            .tcp_view(id, |t| t.to_upstream.clone())
            .unwrap_or_default()
    }

    /// Bytes forwarded to the client so far.
    pub fn sent_downstream(&mut self) -> Vec<u8> {
        let id = self.id;
        self.host
            .proxy
            .tcp_view(id, |t| t.to_downstream.clone())
            .unwrap_or_default()
    }

    /// Why the connection was closed by the host or filter (`wasm_close_stream`,
    /// `wasm_fail_stream`), if it was.
    pub fn closed_details(&mut self) -> Option<String> {
        let id = self.id;
        self.host.proxy.tcp_view(id, |t| t.closed.clone()).flatten()
    }

    /// The client closes the connection (Envoy's `RemoteClose` event): on_downstream_connection_close
    /// with peer `remote` (unless the connection was already closed), then on_done, on_log,
    /// on_delete.
    pub fn close(mut self) -> Result<(), HarnessError> {
        self.closed = true;
        let r = self.host.proxy.tcp_close(self.id, PeerType::Remote);
        self.host.proxy.http_forget(self.id);
        r
    }
}

impl TcpConnection<'_> {
    /// Envoy closes the connection itself (a `LocalClose` event: an idle timeout, another
    /// filter, a drain): on_downstream_connection_close with peer `local` (unless the connection
    /// was already closed), then on_done, on_log, on_delete.
    pub fn close_local(mut self) -> Result<(), HarnessError> {
        self.closed = true;
        let r = self.host.proxy.tcp_close(self.id, PeerType::Local);
        self.host.proxy.http_forget(self.id);
        r
    }
}

impl Drop for TcpConnection<'_> {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.host.proxy.tcp_close(self.id, PeerType::Remote);
            self.host.proxy.http_forget(self.id);
        }
    }
}
