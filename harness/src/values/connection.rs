//! [`ConnectionInfo`]: the downstream connection a stream or network connection arrives on,
//! behind the `source.*`, `destination.*` and `connection.*` properties.

use crate::envoy::PropertyValue;

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

    /// Applies a property set by path (`source.port: 4000`, `connection.mtls: true`) to the
    /// field behind it, so the related properties stay consistent. `Ok(false)`: the path is
    /// not a connection property; `Err`: it is, but the value does not fit.
    pub(crate) fn apply(&mut self, path: &[String], value: &PropertyValue) -> Result<bool, String> {
        let [first, second] = path else {
            return Ok(false);
        };
        let number = || match value {
            PropertyValue::Int(i) => u16::try_from(*i).ok(),
            PropertyValue::Uint(u) => u16::try_from(*u).ok(),
            other => text_of(other)?.parse().ok(),
        };
        let bad = |what: &str| Err(format!("property {first}.{second}: {what}"));
        match (first.as_str(), second.as_str()) {
            ("source" | "destination", field) => {
                let addr = if first == "source" {
                    &mut self.source_address
                } else {
                    &mut self.destination_address
                };
                match field {
                    "address" => match text_of(value) {
                        Some(a) if port_of(&a).is_some() => *addr = a,
                        _ => return bad("expected `ip:port`, e.g. 10.0.0.1:8080"),
                    },
                    "port" => match number() {
                        Some(p) => {
                            let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
                            *addr = format!("{host}:{p}");
                        }
                        None => return bad("expected a port number 0..=65535"),
                    },
                    _ => return Ok(false),
                }
            }
            ("connection", "id") => match value {
                PropertyValue::Int(i) if *i >= 0 => self.id = Some(*i as u64),
                PropertyValue::Uint(u) => self.id = Some(*u),
                other => match text_of(other).and_then(|t| t.parse().ok()) {
                    Some(id) => self.id = Some(id),
                    None => return bad("expected a non-negative integer"),
                },
            },
            ("connection", "mtls") => match value {
                PropertyValue::Bool(b) => self.mtls = *b,
                other => match text_of(other).as_deref() {
                    Some("true") => self.mtls = true,
                    Some("false") => self.mtls = false,
                    _ => return bad("expected true or false"),
                },
            },
            ("connection", "requested_server_name") => match text_of(value) {
                Some(s) => self.requested_server_name = Some(s),
                None => return bad("expected a string"),
            },
            ("connection", "tls_version") => match text_of(value) {
                Some(s) => self.tls_version = Some(s),
                None => return bad("expected a string"),
            },
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn text_of(value: &PropertyValue) -> Option<String> {
    match value {
        PropertyValue::String(s) => Some(s.clone()),
        PropertyValue::Bytes(b) => String::from_utf8(b.clone()).ok(),
        _ => None,
    }
}

/// The port of an `ip:port` address.
pub(crate) fn port_of(address: &str) -> Option<u16> {
    address.rsplit_once(':')?.1.parse().ok()
}
