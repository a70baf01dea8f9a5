//! Network (TCP) filters: the [`NetworkFilter`] trait, its context [`NetCx`], and the adapter
//! that drives it from `proxy-wasm`'s `StreamContext` callbacks.

use crate::Filter;
use crate::headers::Body;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, StreamContext};
use proxy_wasm::types::{Action, BufferType, PeerType};
use std::rc::Rc;

/// A network filter: one value per TCP connection, created by [`Filter::new`].
///
/// ```
/// use std::rc::Rc;
/// use wasme_sdk::{Action, Body, Filter, NetCx, NetworkFilter};
///
/// /// Closes connections whose first bytes are not a TLS record.
/// struct TlsOnly;
/// impl Filter for TlsOnly {
///     type Config = ();
///     fn new(_config: &Rc<()>) -> Self { TlsOnly }
/// }
/// impl NetworkFilter for TlsOnly {
///     fn on_downstream_data(&mut self, data: &mut Body, cx: &mut NetCx) -> Action {
///         if data.slice(0, 1).first() != Some(&0x16) {
///             cx.close();
///             return Action::Pause;
///         }
///         Action::Continue
///     }
/// }
/// wasme_sdk::export_network_filter!(TlsOnly);
/// ```
pub trait NetworkFilter: Filter {
    /// A client connected.
    fn on_new_connection(&mut self, _cx: &mut NetCx) -> Action {
        Action::Continue
    }

    /// Bytes from the client (everything buffered so far if the filter paused before).
    fn on_downstream_data(&mut self, _data: &mut Body, _cx: &mut NetCx) -> Action {
        Action::Continue
    }

    /// Bytes from the upstream.
    fn on_upstream_data(&mut self, _data: &mut Body, _cx: &mut NetCx) -> Action {
        Action::Continue
    }

    /// The client side closed (`peer` says who closed it).
    fn on_downstream_close(&mut self, _peer: PeerType, _cx: &mut NetCx) {}

    /// The upstream side closed.
    fn on_upstream_close(&mut self, _peer: PeerType, _cx: &mut NetCx) {}

    /// The connection is done (access-log time).
    fn on_log(&mut self, _cx: &mut NetCx) {}
}

/// The context of one network filter callback.
#[derive(Debug)]
pub struct NetCx {
    context_id: u32,
}

impl NetCx {
    /// The host's id of this connection.
    pub fn context_id(&self) -> u32 {
        self.context_id
    }

    /// Closes the connection (both directions).
    pub fn close(&mut self) {
        let _ = hostcalls::close_downstream();
    }

    /// Resumes data paused from the client.
    pub fn resume_downstream(&mut self) {
        let _ = hostcalls::resume_downstream();
    }
}

/// Drives a [`NetworkFilter`] from `proxy-wasm`'s callbacks (created by the export macro).
///
/// A connection of a plugin without a valid configuration (which Envoy never creates) has no
/// filter and is closed at once.
pub struct NetworkFilterContext<F: NetworkFilter> {
    cx: NetCx,
    filter: Option<F>,
}

impl<F: NetworkFilter> NetworkFilterContext<F> {
    /// A connection `context_id` of a plugin configured with `config` (`None`: not configured).
    pub fn new(config: Option<&Rc<F::Config>>, context_id: u32) -> Self {
        NetworkFilterContext {
            cx: NetCx { context_id },
            filter: config.map(F::new),
        }
    }
}

impl<F: NetworkFilter> Context for NetworkFilterContext<F> {}

impl<F: NetworkFilter> StreamContext for NetworkFilterContext<F> {
    fn on_new_connection(&mut self) -> Action {
        match &mut self.filter {
            Some(filter) => filter.on_new_connection(&mut self.cx),
            None => {
                self.cx.close();
                Action::Pause
            }
        }
    }

    fn on_downstream_data(&mut self, size: usize, end_of_stream: bool) -> Action {
        let mut data = Body::new(BufferType::DownstreamData, size, end_of_stream);
        match &mut self.filter {
            Some(filter) => filter.on_downstream_data(&mut data, &mut self.cx),
            None => Action::Pause,
        }
    }

    fn on_upstream_data(&mut self, size: usize, end_of_stream: bool) -> Action {
        let mut data = Body::new(BufferType::UpstreamData, size, end_of_stream);
        match &mut self.filter {
            Some(filter) => filter.on_upstream_data(&mut data, &mut self.cx),
            None => Action::Pause,
        }
    }

    fn on_downstream_close(&mut self, peer: PeerType) {
        if let Some(filter) = &mut self.filter {
            filter.on_downstream_close(peer, &mut self.cx);
        }
    }

    fn on_upstream_close(&mut self, peer: PeerType) {
        if let Some(filter) = &mut self.filter {
            filter.on_upstream_close(peer, &mut self.cx);
        }
    }

    fn on_log(&mut self) {
        if let Some(filter) = &mut self.filter {
            filter.on_log(&mut self.cx);
        }
    }
}
