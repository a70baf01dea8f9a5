//! HTTP streams as Envoy drives them (`proxy-wasm-host.md` §4–§5, §7).
//!
//! Order: on_context_create → on_request_headers → on_request_body* → on_request_trailers →
//! on_response_headers → on_response_body* → on_response_trailers → on_log → on_done →
//! on_delete. Pause from a headers callback is StopAllIterationAndWatermark (body and trailers
//! are withheld from the filter until the stream continues); pause from a body callback is
//! StopIterationAndBuffer (the next body callback sees the whole buffered size). Local replies,
//! continues and closes run after the VM call returns; a local reply forces "stop" and, when
//! sent before the response started, runs through this filter's response callbacks.

mod end;

use super::Proxy;
use crate::abi::Action;
use crate::abi::wire::Pair;
use crate::envoy::context::{Avail, CallData, Context, Deferred, Direction, HttpCtx, Stage};
use crate::values::HarnessError;
use crate::values::{FilterStatus, LocalReply};
use crate::vm::HeadersFn;

/// A direction of an HTTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Request,
    Response,
}

/// Details of the local reply a failed plugin produces under fail-closed.
pub(crate) const FAIL_STREAM_DETAILS: &str = "wasm_fail_stream";
/// Details of a stream reset by `proxy_close_stream`.
pub(crate) const CLOSE_STREAM_DETAILS: &str = "wasm_close_stream";

impl Proxy {
    pub(crate) fn http_ctx(&mut self, id: u32) -> Option<&mut HttpCtx> {
        match self.vm.state().contexts.get_mut(&id) {
            Some(Context::Http(h)) => Some(h),
            _ => None,
        }
    }

    fn dir_mut(&mut self, id: u32, dir: Dir) -> Option<&mut Direction> {
        self.http_ctx(id).map(|h| match dir {
            Dir::Request => &mut h.request,
            Dir::Response => &mut h.response,
        })
    }

    /// What the stream's state means for the caller of a stream operation.
    pub(crate) fn http_status(&mut self, id: u32, dir: Dir) -> FilterStatus {
        let Some(h) = self.http_ctx(id) else {
            return FilterStatus::Reset;
        };
        if h.reset.is_some() {
            return FilterStatus::Reset;
        }
        if h.local_reply.is_some() {
            return FilterStatus::LocalReply;
        }
        let d = match dir {
            Dir::Request => &h.request,
            Dir::Response => &h.response,
        };
        match d.stage {
            Stage::PausedAtHeaders | Stage::PausedInBody | Stage::PausedAtTrailers => {
                FilterStatus::Pause
            }
            Stage::Flowing | Stage::Done => FilterStatus::Continue,
        }
    }

    fn ended(&mut self, id: u32) -> bool {
        self.http_ctx(id)
            .is_none_or(|h| h.reset.is_some() || h.local_reply.is_some() || h.finished)
    }

    /// Creates a stream context for plugin root `root` (applying the failure policy when the
    /// VM has failed). Returns the context id.
    pub(crate) fn http_create(&mut self, plugin: usize) -> Result<u32, HarnessError> {
        self.before_stream()?;
        let id = self.next_context_id;
        self.next_context_id += 1;
        let root = self.roots.get(plugin).copied().ok_or_else(|| {
            HarnessError::Usage(format!("no plugin number {plugin} on this host"))
        })?;
        let start_ns = self.vm.state().clock.elapsed_ns();
        let failed = self.vm.failure.is_some();
        let state = self.vm.state();
        let mut ctx = state.spare_http.pop().unwrap_or_default();
        ctx.recycle(root, start_ns, &mut state.pool);
        state.contexts.insert(id, Context::Http(ctx));
        if failed {
            self.fail_stream(id, true);
        } else if let Some(f) = &self.exports.on_context_create
            && self
                .vm
                .call("proxy_on_context_create", id, f, (id, root), CallData::None)
                .is_err()
        {
            self.fail_stream(id, false);
        }
        Ok(id)
    }

    /// The failure policy applied to a stream whose plugin failed. `on_failed_vm`: the stream
    /// began after the VM had failed. Envoy (source/extensions/common/wasm/wasm.cc
    /// `PluginConfig::createContext`) skips the filter for such a stream under `FAIL_OPEN`; a
    /// stream whose own callback failed the VM is failed (503, `wasm_fail_stream`) under every
    /// policy, since proxy-wasm-cpp-host's `CHECK_FAIL` lets it continue only for the legacy
    /// `fail_open: true` field, which Istio no longer sets since 1.25.
    fn fail_stream(&mut self, id: u32, on_failed_vm: bool) {
        let policy = self.settings.failure_policy;
        let Some(h) = self.http_ctx(id) else { return };
        if h.bypass {
            return;
        }
        h.bypass = true;
        match policy {
            _ if policy.skips_plugin(on_failed_vm) => {
                // Skip the plugin: whatever it held back now flows on unchanged.
                for d in [&mut h.request, &mut h.response] {
                    if d.headers_avail != Avail::Absent && !d.headers_forwarded {
                        d.forwarded.headers = d.headers.clone();
                        d.headers_forwarded = true;
                    }
                    d.forwarded.body.append(&mut d.body);
                    if let Some(t) = d.withheld_trailers.take() {
                        d.forwarded.trailers = t;
                    }
                    d.stage = if d.end_seen {
                        Stage::Done
                    } else {
                        Stage::Flowing
                    };
                }
            }
            _ => {
                let reply = LocalReply {
                    status: 503,
                    details: FAIL_STREAM_DETAILS.into(),
                    body: Vec::new(),
                    headers: Vec::new(),
                    grpc_status: None,
                };
                self.send_local_reply(id, reply);
            }
        }
    }

    fn call_headers(&mut self, id: u32, dir: Dir, n: u32, eos: bool) -> Result<Action, ()> {
        let (f, name) = match dir {
            Dir::Request => (&self.exports.on_request_headers, "proxy_on_request_headers"),
            Dir::Response => (
                &self.exports.on_response_headers,
                "proxy_on_response_headers",
            ),
        };
        let r = match f {
            None => return Ok(Action::Continue),
            Some(HeadersFn::V1(f)) => self.vm.call(name, id, f, (id, n), CallData::None),
            Some(HeadersFn::V2(f)) => {
                self.vm
                    .call(name, id, f, (id, n, u32::from(eos)), CallData::None)
            }
        };
        r.map(Action::from_headers_status).map_err(|_| ())
    }

    /// Takes the deferred actions and whether one is a local reply for `id` (which forces stop).
    fn take_deferred(&mut self, id: u32) -> (Vec<Deferred>, bool) {
        let deferred = std::mem::take(&mut self.vm.state().deferred);
        let forced = deferred
            .iter()
            .any(|d| matches!(d, Deferred::LocalReply { ctx, .. } if *ctx == id));
        (deferred, forced)
    }

    /// Feeds headers, keys already lower-cased (public entry: ignored once the stream ended).
    pub(crate) fn http_headers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        id: u32,
        dir: Dir,
        headers: &[(K, V)],
        eos: bool,
    ) -> Result<FilterStatus, HarnessError> {
        // One context lookup: whether the stream ended (as `ended`), and the direction's own
        // header vector, filled with strings reused from finished streams.
        let state = self.vm.state();
        let pairs = match state.contexts.get_mut(&id) {
            Some(Context::Http(h))
                if h.reset.is_none() && h.local_reply.is_none() && !h.finished =>
            {
                let d = match dir {
                    Dir::Request => &mut h.request,
                    Dir::Response => &mut h.response,
                };
                Some(match std::mem::take(&mut d.headers) {
                    v if v.is_empty() => std::mem::take(&mut d.spare),
                    v => v,
                })
            }
            _ => None,
        };
        if let Some(mut pairs) = pairs {
            state.pool.fill(&mut pairs, headers);
            self.headers_inner(id, dir, pairs, eos);
            self.run_events()?;
        }
        Ok(self.http_status(id, dir))
    }

    fn headers_inner(&mut self, id: u32, dir: Dir, headers: Vec<Pair>, eos: bool) {
        let n = headers.len() as u32;
        let bypass = self
            .http_ctx(id)
            .is_some_and(|h| h.skips_vm(dir == Dir::Request));
        let Some(d) = self.dir_mut(id, dir) else {
            return;
        };
        d.headers = headers;
        d.headers_avail = Avail::Live;
        d.end_seen = eos;
        if bypass {
            self.forward_headers(id, dir);
            return;
        }
        let result = self.call_headers(id, dir, n, eos);
        self.after_callback(
            id,
            dir,
            result,
            Proxy::forward_headers,
            Stage::PausedAtHeaders,
        );
    }

    /// What Envoy does when a stream callback returns: a trap fails the stream (failure
    /// policy); Continue, unless a local reply sent during the call forced a stop, runs
    /// `forward`; anything else leaves the direction at `paused`. Deferred actions (continue,
    /// close, local reply) run last, after the VM call returned.
    fn after_callback(
        &mut self,
        id: u32,
        dir: Dir,
        result: Result<Action, ()>,
        forward: fn(&mut Proxy, u32, Dir),
        paused: Stage,
    ) {
        let Ok(action) = result else {
            self.fail_stream(id, false);
            return;
        };
        let (deferred, forced) = self.take_deferred(id);
        if action == Action::Continue && !forced {
            forward(self, id, dir);
        } else if let Some(d) = self.dir_mut(id, dir) {
            d.stage = paused;
        }
        self.apply_deferred(deferred);
    }

    fn forward_headers(&mut self, id: u32, dir: Dir) {
        let Some(d) = self.dir_mut(id, dir) else {
            return;
        };
        // Moved, not copied: Envoy forgets forwarded headers; on_log reads them back from here.
        d.forwarded.headers = std::mem::take(&mut d.headers);
        d.headers_forwarded = true;
        d.headers_avail = Avail::Forgotten;
        d.stage = if d.end_seen && !d.withheld_body && d.withheld_trailers.is_none() {
            Stage::Done
        } else {
            Stage::Flowing
        };
    }

    /// Feeds a body chunk.
    pub(crate) fn http_body(
        &mut self,
        id: u32,
        dir: Dir,
        chunk: &[u8],
        eos: bool,
    ) -> Result<FilterStatus, HarnessError> {
        if self.ended(id) {
            return Ok(self.http_status(id, dir));
        }
        let bypass = self.http_ctx(id).is_some_and(|h| h.skips_vm(false));
        let Some(d) = self.dir_mut(id, dir) else {
            return Ok(FilterStatus::Reset);
        };
        d.body_size += chunk.len() as u64;
        d.end_seen |= eos;
        if bypass {
            d.forwarded.body.extend_from_slice(chunk);
            if eos {
                d.stage = Stage::Done;
            }
            return Ok(self.http_status(id, dir));
        }
        d.body.extend_from_slice(chunk);
        if d.stage == Stage::PausedAtHeaders {
            d.withheld_body = true;
        } else {
            self.deliver_body(id, dir);
        }
        self.run_events()?;
        Ok(self.http_status(id, dir))
    }

    fn deliver_body(&mut self, id: u32, dir: Dir) {
        let Some(d) = self.dir_mut(id, dir) else {
            return;
        };
        let size = d.body.len() as u32;
        let eos = d.end_seen && d.withheld_trailers.is_none() && d.trailers_avail == Avail::Absent;
        d.body_avail = Avail::Live;
        if eos {
            // `Context::getMap`: the last body callback of either direction may add trailers
            // (`addDecodedTrailers` / `addEncodedTrailers`).
            d.trailers_avail = Avail::Live;
        }
        let (f, name) = match dir {
            Dir::Request => (&self.exports.on_request_body, "proxy_on_request_body"),
            Dir::Response => (&self.exports.on_response_body, "proxy_on_response_body"),
        };
        let result = match f {
            None => Ok(0),
            Some(f) => self
                .vm
                .call(name, id, f, (id, size, u32::from(eos)), CallData::None),
        };
        let result = result.map(Action::from_data_status).map_err(drop);
        self.after_callback(id, dir, result, Proxy::flush_body, Stage::PausedInBody);
    }

    /// Forwards the buffered body (and trailers received or added) to the next hop.
    fn flush_body(&mut self, id: u32, dir: Dir) {
        let Some(d) = self.dir_mut(id, dir) else {
            return;
        };
        let body = std::mem::take(&mut d.body);
        d.forwarded.body.extend_from_slice(&body);
        d.body_avail = Avail::Forgotten;
        d.stage = Stage::Flowing;
        if d.end_seen && d.withheld_trailers.is_none() {
            if d.trailers_avail == Avail::Live {
                if !d.trailers.is_empty() {
                    d.forwarded.trailers = d.trailers.clone();
                }
                d.trailers_avail = if d.trailers.is_empty() {
                    Avail::Absent
                } else {
                    Avail::Forgotten
                };
            }
            d.stage = Stage::Done;
        }
    }

    /// Feeds trailers, keys already lower-cased (the end of that direction).
    pub(crate) fn http_trailers(
        &mut self,
        id: u32,
        dir: Dir,
        trailers: Vec<Pair>,
    ) -> Result<FilterStatus, HarnessError> {
        if self.ended(id) {
            return Ok(self.http_status(id, dir));
        }
        let bypass = self.http_ctx(id).is_some_and(|h| h.skips_vm(false));
        let Some(d) = self.dir_mut(id, dir) else {
            return Ok(FilterStatus::Reset);
        };
        d.end_seen = true;
        if bypass {
            d.forwarded.trailers = trailers;
            d.stage = Stage::Done;
            return Ok(self.http_status(id, dir));
        }
        if d.stage == Stage::PausedAtHeaders {
            d.withheld_trailers = Some(trailers);
        } else {
            self.deliver_trailers(id, dir, trailers);
        }
        self.run_events()?;
        Ok(self.http_status(id, dir))
    }

    fn deliver_trailers(&mut self, id: u32, dir: Dir, trailers: Vec<Pair>) {
        let n = trailers.len() as u32;
        let Some(d) = self.dir_mut(id, dir) else {
            return;
        };
        d.trailers = trailers;
        d.trailers_avail = Avail::Live;
        let (f, name) = match dir {
            Dir::Request => (
                &self.exports.on_request_trailers,
                "proxy_on_request_trailers",
            ),
            Dir::Response => (
                &self.exports.on_response_trailers,
                "proxy_on_response_trailers",
            ),
        };
        let result = match f {
            None => Ok(0),
            Some(f) => self.vm.call(name, id, f, (id, n), CallData::None),
        };
        let result = result.map(Action::from_data_status).map_err(drop);
        self.after_callback(
            id,
            dir,
            result,
            Proxy::flush_trailers,
            Stage::PausedAtTrailers,
        );
    }

    fn flush_trailers(&mut self, id: u32, dir: Dir) {
        let Some(d) = self.dir_mut(id, dir) else {
            return;
        };
        let body = std::mem::take(&mut d.body);
        d.forwarded.body.extend_from_slice(&body);
        d.body_avail = Avail::Forgotten;
        d.forwarded.trailers = d.trailers.clone();
        d.trailers_avail = Avail::Forgotten;
        d.stage = Stage::Done;
    }

    /// `proxy_continue_stream` for one direction, after the VM call returned.
    pub(crate) fn continue_direction(&mut self, id: u32, dir: Dir) {
        if self.ended(id)
            && !self
                .http_ctx(id)
                .is_some_and(|h| h.local_reply.is_some() && dir == Dir::Response)
        {
            return;
        }
        let Some(d) = self.dir_mut(id, dir) else {
            return;
        };
        match d.stage {
            Stage::PausedAtHeaders => {
                let withheld_body = std::mem::take(&mut d.withheld_body);
                let withheld_trailers = d.withheld_trailers.take();
                let has_trailers = withheld_trailers.is_some();
                d.withheld_trailers = None;
                self.forward_headers(id, dir);
                if let Some(d) = self.dir_mut(id, dir)
                    && (withheld_body || has_trailers)
                {
                    d.stage = Stage::Flowing;
                    // The body callback must not claim end_of_stream when trailers follow.
                    d.withheld_trailers = withheld_trailers.clone();
                }
                if withheld_body {
                    self.deliver_body(id, dir);
                    if self
                        .dir_mut(id, dir)
                        .is_some_and(|d| d.stage == Stage::PausedInBody)
                    {
                        return;
                    }
                }
                if let Some(t) = withheld_trailers
                    && let Some(d) = self.dir_mut(id, dir)
                {
                    d.withheld_trailers = None;
                    self.deliver_trailers(id, dir, t);
                }
            }
            Stage::PausedInBody => self.flush_body(id, dir),
            Stage::PausedAtTrailers => self.flush_trailers(id, dir),
            Stage::Flowing | Stage::Done => {}
        }
    }
}
