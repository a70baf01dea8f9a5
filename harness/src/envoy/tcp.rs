//! Network (TCP) filters, as Envoy's `Context` drives them (source/extensions/common/wasm/
//! context.cc: `onNewConnection`, `onData`, `onWrite`, `onEvent`, `onCloseTCP`, `closeStream`,
//! `failStream`; proxy-wasm-cpp-host src/context.cc: `CHECK_FAIL_NET`):
//!
//! * on_new_connection → on_downstream_data / on_upstream_data*; Pause keeps the data buffered
//!   until `proxy_continue_stream(Downstream)`;
//! * upstream data with end of stream is followed by on_upstream_connection_close with peer
//!   `unknown` (Envoy sees no upstream connection event, only end_stream);
//! * the downstream connection closing raises on_downstream_connection_close once, with peer
//!   `local` (Envoy or the filter closed it) or `remote` (the client did);
//! * the filter's end (`onCloseTCP`): on_done, on_log, on_delete, once;
//! * a failed VM: fail-closed closes the connection (no callbacks any more), fail-open lets the
//!   data through untouched.

use super::Proxy;
use crate::abi::{Action, PeerType};
use crate::envoy::context::{CallData, Context, TcpCtx};
use crate::values::FilterStatus;
use crate::values::HarnessError;

/// Details of a connection closed because its plugin failed (fail-closed).
pub(crate) const FAIL_CONNECTION_DETAILS: &str = "wasm_fail_stream";
/// The close reason Envoy gives `proxy_close_stream(Downstream)` (context.cc `closeStream`).
pub(crate) const DOWNSTREAM_CLOSE_DETAILS: &str = "wasm_downstream_close";
/// The close reason Envoy gives `proxy_close_stream(Upstream)` (context.cc `closeStream`).
pub(crate) const UPSTREAM_CLOSE_DETAILS: &str = "wasm_upstream_close";

/// Which side of a proxied connection closed.
#[derive(Debug, Clone, Copy)]
enum Side {
    Downstream,
    Upstream,
}

impl Proxy {
    fn tcp(&mut self, id: u32) -> Option<&mut TcpCtx> {
        match self.vm.state().contexts.get_mut(&id) {
            Some(Context::Tcp(t)) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn tcp_status(&mut self, id: u32, paused: bool) -> FilterStatus {
        match self.tcp(id) {
            Some(t) if t.closed.is_none() => {
                if paused {
                    FilterStatus::Pause
                } else {
                    FilterStatus::Continue
                }
            }
            _ => FilterStatus::Reset,
        }
    }

    pub(crate) fn tcp_create(&mut self, plugin: usize) -> Result<u32, HarnessError> {
        self.before_stream()?;
        let id = self.next_context_id;
        self.next_context_id += 1;
        let root = *self
            .roots
            .get(plugin)
            .ok_or_else(|| HarnessError::Usage(format!("no plugin number {plugin}")))?;
        self.vm.state().contexts.insert(
            id,
            Context::Tcp(Box::new(TcpCtx {
                root,
                ..Default::default()
            })),
        );
        if self.vm.failure.is_some() {
            self.tcp_fail(id, true);
        } else if let Some(f) = &self.exports.on_context_create
            && self
                .vm
                .call("proxy_on_context_create", id, f, (id, root), CallData::None)
                .is_err()
        {
            self.tcp_fail(id, false);
        }
        Ok(id)
    }

    /// The failure policy applied to a connection whose plugin failed (`on_failed_vm`: the
    /// connection began after the VM had failed). As for HTTP streams (see `fail_stream`):
    /// under `FAIL_OPEN` only a connection opened on an already failed VM skips the filter; the
    /// connection whose callback failed is closed (`CHECK_FAIL_NET` → `failStream`).
    fn tcp_fail(&mut self, id: u32, on_failed_vm: bool) {
        let policy = self.settings.failure_policy;
        if let Some(t) = self.tcp(id) {
            t.bypass = true;
            match policy {
                _ if policy.skips_plugin(on_failed_vm) => {
                    let d = std::mem::take(&mut t.downstream);
                    t.to_upstream.extend_from_slice(&d);
                    let u = std::mem::take(&mut t.upstream);
                    t.to_downstream.extend_from_slice(&u);
                }
                _ => {
                    if t.closed.is_none() {
                        t.closed = Some(FAIL_CONNECTION_DETAILS.into());
                    }
                }
            }
        }
    }

    /// The filter closed the connection (`proxy_close_stream`, deferred until its call
    /// returned): Envoy closes the downstream connection with `details` (the read and the write
    /// filter callbacks share that one connection), which raises `LocalClose`, so the filter
    /// sees on_downstream_connection_close with peer `local` right away.
    pub(crate) fn tcp_closed_by_filter(&mut self, id: u32, details: &str) {
        match self.tcp(id) {
            Some(t) if t.closed.is_none() && !t.finished => t.closed = Some(details.to_string()),
            _ => return,
        }
        self.tcp_close_callback(id, Side::Downstream, PeerType::Local);
    }

    /// A connection-close callback, skipped once the VM failed, with what it defers applied
    /// after it returns: on_downstream_connection_close (Envoy's `onEvent` for
    /// `LocalClose`/`RemoteClose`) or on_upstream_connection_close (`onWrite` with
    /// end_stream).
    fn tcp_close_callback(&mut self, id: u32, side: Side, peer: PeerType) {
        if self.vm.failure.is_some() {
            return;
        }
        let (f, name) = match side {
            Side::Downstream => (
                &self.exports.on_downstream_connection_close,
                "proxy_on_downstream_connection_close",
            ),
            Side::Upstream => (
                &self.exports.on_upstream_connection_close,
                "proxy_on_upstream_connection_close",
            ),
        };
        if let Some(f) = f {
            let _ = self.vm.call(name, id, f, (id, peer as u32), CallData::None);
            let deferred = std::mem::take(&mut self.vm.state().deferred);
            self.apply_deferred(deferred);
        }
    }

    /// `proxy_continue_stream(Downstream)`: the buffered downstream data flows on.
    pub(crate) fn tcp_continue(&mut self, id: u32) {
        if let Some(t) = self.tcp(id) {
            let d = std::mem::take(&mut t.downstream);
            t.to_upstream.extend_from_slice(&d);
        }
    }

    pub(crate) fn tcp_new_connection(&mut self, id: u32) -> Result<FilterStatus, HarnessError> {
        if self.tcp(id).is_none_or(|t| t.bypass || t.closed.is_some()) {
            return Ok(self.tcp_status(id, false));
        }
        let mut paused = false;
        if let Some(f) = &self.exports.on_new_connection {
            match self
                .vm
                .call("proxy_on_new_connection", id, f, id, CallData::None)
            {
                Ok(a) => paused = Action::from_data_status(a) == Action::Pause,
                Err(_) => self.tcp_fail(id, false),
            }
        }
        let deferred = std::mem::take(&mut self.vm.state().deferred);
        self.apply_deferred(deferred);
        self.run_events()?;
        Ok(self.tcp_status(id, paused))
    }

    pub(crate) fn tcp_data(
        &mut self,
        id: u32,
        downstream: bool,
        data: &[u8],
        eos: bool,
    ) -> Result<FilterStatus, HarnessError> {
        let Some(t) = self.tcp(id) else {
            return Ok(FilterStatus::Reset);
        };
        if t.closed.is_some() {
            return Ok(FilterStatus::Reset);
        }
        if t.bypass {
            if downstream {
                t.to_upstream.extend_from_slice(data);
            } else {
                t.to_downstream.extend_from_slice(data);
            }
            return Ok(FilterStatus::Continue);
        }
        let size = if downstream {
            t.downstream.extend_from_slice(data);
            t.in_downstream = true;
            t.downstream.len()
        } else {
            t.upstream.extend_from_slice(data);
            t.in_upstream = true;
            t.upstream.len()
        } as u32;
        let (f, name) = if downstream {
            (&self.exports.on_downstream_data, "proxy_on_downstream_data")
        } else {
            (&self.exports.on_upstream_data, "proxy_on_upstream_data")
        };
        let result = match f {
            None => Ok(0),
            Some(f) => self
                .vm
                .call(name, id, f, (id, size, u32::from(eos)), CallData::None),
        };
        let mut paused = false;
        match result {
            Err(_) => self.tcp_fail(id, false),
            Ok(a) => {
                paused = Action::from_data_status(a) == Action::Pause;
                if let Some(t) = self.tcp(id) {
                    t.in_downstream = false;
                    t.in_upstream = false;
                    if !paused {
                        if downstream {
                            let d = std::mem::take(&mut t.downstream);
                            t.to_upstream.extend_from_slice(&d);
                        } else {
                            let u = std::mem::take(&mut t.upstream);
                            t.to_downstream.extend_from_slice(&u);
                        }
                    }
                }
            }
        }
        if let Some(t) = self.tcp(id) {
            t.in_downstream = false;
            t.in_upstream = false;
        }
        let deferred = std::mem::take(&mut self.vm.state().deferred);
        self.apply_deferred(deferred);
        // Envoy's `onWrite`: end of stream from the upstream is reported as the upstream
        // connection closing, peer unknown, after the data callback's deferred actions ran.
        if !downstream && eos {
            self.tcp_close_callback(id, Side::Upstream, PeerType::Unknown);
        }
        self.run_events()?;
        Ok(self.tcp_status(id, paused))
    }

    /// The connection closes (`peer`: who closed it) and the filter ends: the close callback
    /// unless the connection was already closed (by the filter or a failure), then Envoy's
    /// `onCloseTCP`: on_done, on_log, on_delete, once. Nothing is called on a failed VM.
    pub(crate) fn tcp_close(&mut self, id: u32, peer: PeerType) -> Result<(), HarnessError> {
        let Some(t) = self.tcp(id) else { return Ok(()) };
        if t.finished {
            return Ok(());
        }
        let already_closed = t.closed.is_some();
        if !already_closed {
            self.tcp_close_callback(id, Side::Downstream, peer);
        }
        if let Some(t) = self.tcp(id) {
            t.finished = true;
        }
        if self.vm.failure.is_none() {
            if let Some(f) = &self.exports.on_done {
                let _ = self.vm.call("proxy_on_done", id, f, id, CallData::None);
            }
            if let Some(f) = &self.exports.on_log {
                let _ = self.vm.call("proxy_on_log", id, f, id, CallData::None);
            }
            if let Some(f) = &self.exports.on_delete {
                let _ = self.vm.call("proxy_on_delete", id, f, id, CallData::None);
            }
            self.vm.state().deferred.clear();
        }
        // The filter is destroyed with the connection: `Context::~Context` cancels its
        // pending callouts, and no callback follows.
        self.vm.state().callouts.cancel_owned_by(id);
        self.run_events()
    }

    /// Reads a connection's state.
    pub(crate) fn tcp_view<R>(&mut self, id: u32, f: impl FnOnce(&TcpCtx) -> R) -> Option<R> {
        match self.vm.state().contexts.get(&id) {
            Some(Context::Tcp(t)) => Some(f(t)),
            _ => None,
        }
    }
}
