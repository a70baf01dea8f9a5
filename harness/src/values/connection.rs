//! [`ConnectionInfo`]: the downstream connection a stream or network connection arrives on,
//! behind the `source.*`, `destination.*` and `connection.*` properties.

/// The downstream connection behind the `source.*`, `destination.*` and `connection.*`
/// properties. Every property is derived from these fields, so `source.address` and
/// `source.port` always agree. Set it for every stream with
/// [`HostBuilder::connection`](crate::HostBuilder::connection) and for one stream or network
/// connection with [`HttpStream::set_connection`](crate::HttpStream::set_connection) /
/// [`TcpConnection::set_connection`](crate::TcpConnection::set_connection).
///
/// ```
/// use wasme_harness::ConnectionInfo;
/// let c = ConnectionInfo::default().source("10.0.0.7:40000").mtls(true);
/// assert_eq!(c.source_address, "10.0.0.7:40000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address with its port (`source.address`; `source.port` is its port).
    pub source_address: String,
    /// The listener's address with its port (`destination.address`, `destination.port`).
    pub destination_address: String,
    /// `connection.id`; `None`: the stream's context id (connections are not shared by
    /// default).
    pub id: Option<u64>,
    /// `connection.mtls`: the client presented a certificate.
    pub mtls: bool,
    /// `connection.requested_server_name` (SNI); `None`: not present.
    pub requested_server_name: Option<String>,
    /// `connection.tls_version`; `None`: not present (plain text).
    pub tls_version: Option<String>,
}

impl Default for ConnectionInfo {
    fn default() -> Self {
        ConnectionInfo {
            source_address: "127.0.0.1:54321".into(),
            destination_address: "127.0.0.1:8080".into(),
            id: None,
            mtls: false,
            requested_server_name: None,
            tls_version: None,
        }
    }
}

impl ConnectionInfo {
    /// The client address, `ip:port` (`[v6]:port` for IPv6).
    pub fn source(mut self, address: &str) -> Self {
        self.source_address = address.into();
        self
    }

    /// The listener address, `ip:port`.
    pub fn destination(mut self, address: &str) -> Self {
        self.destination_address = address.into();
        self
    }

    /// `connection.id`.
    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// `connection.mtls`.
    pub fn mtls(mut self, mtls: bool) -> Self {
        self.mtls = mtls;
        self
    }

    /// `connection.requested_server_name`.
    pub fn requested_server_name(mut self, sni: &str) -> Self {
        self.requested_server_name = Some(sni.into());
        self
    }

    /// `connection.tls_version` (e.g. `TLSv1.3`).
    pub fn tls_version(mut self, version: &str) -> Self {
        self.tls_version = Some(version.into());
        self
    }
}

/// The port of an `ip:port` address.
pub(crate) fn port_of(address: &str) -> Option<u16> {
    address.rsplit_once(':')?.1.parse().ok()
}
