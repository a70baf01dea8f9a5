//! Deferred actions (run when the VM call returns) and asynchronous events: HTTP/gRPC callout
//! answers, failures and timeouts, shared-queue notifications, and ticks from the fake clock.

use super::Proxy;
use super::http::{CLOSE_STREAM_DETAILS, Dir};
use super::services::callouts::ScriptedHttp;
use super::tcp::{DOWNSTREAM_CLOSE_DETAILS, UPSTREAM_CLOSE_DETAILS};
use crate::abi::StreamType;
use crate::envoy::context::{CallData, Context, Deferred, Event};
use crate::values::HarnessError;
use crate::values::{GrpcCallRequest, GrpcResponse, HttpCallRequest, HttpCallResponse};
use crate::vm::Exports;
use std::time::Duration;

/// gRPC DEADLINE_EXCEEDED, reported when a call's timeout passes unanswered.
const GRPC_DEADLINE_EXCEEDED: u32 = 4;

impl Proxy {
    /// Runs the actions a VM call deferred.
    pub(crate) fn apply_deferred(&mut self, deferred: Vec<Deferred>) {
        for d in deferred {
            match d {
                Deferred::LocalReply { ctx, reply } => self.send_local_reply(ctx, reply),
                Deferred::Continue { ctx, stream } => match stream {
                    StreamType::HttpRequest => self.continue_direction(ctx, Dir::Request),
                    StreamType::HttpResponse => self.continue_direction(ctx, Dir::Response),
                    StreamType::Downstream => self.tcp_continue(ctx),
                    StreamType::Upstream => {}
                },
                // Envoy's `Context::closeStream` (source/extensions/common/wasm/context.cc): an
                // HTTP stream is reset through its decoder/encoder callbacks; a network filter
                // closes its connection (FlushWrite) with `wasm_downstream_close` or
                // `wasm_upstream_close`. A stream type the context has no callbacks for is a
                // no-op that still answered OK.
                Deferred::Close { ctx, stream } => {
                    match (self.vm.state().contexts.get(&ctx), stream) {
                        (
                            Some(Context::Http(_)),
                            StreamType::HttpRequest | StreamType::HttpResponse,
                        ) => self.reset_stream(ctx, CLOSE_STREAM_DETAILS),
                        (Some(Context::Tcp(_)), StreamType::Downstream) => {
                            self.tcp_closed_by_filter(ctx, DOWNSTREAM_CLOSE_DETAILS)
                        }
                        (Some(Context::Tcp(_)), StreamType::Upstream) => {
                            self.tcp_closed_by_filter(ctx, UPSTREAM_CLOSE_DETAILS)
                        }
                        _ => {}
                    }
                }
                Deferred::Done { ctx } => {
                    if let Some(f) = &self.exports.on_delete {
                        let _ = self.vm.call("proxy_on_delete", ctx, f, ctx, CallData::None);
                    }
                    self.vm.state().contexts.remove(&ctx);
                    // `Context::~Context`: the root's own callouts die with it.
                    self.vm.state().callouts.cancel_owned_by(ctx);
                }
            }
        }
    }

    /// Calls a root-level callback and applies what it deferred.
    fn root_call<P: wasmtime::WasmParams>(
        &mut self,
        name: &'static str,
        root: u32,
        pick: fn(&Exports) -> &Option<wasmtime::TypedFunc<P, ()>>,
        params: P,
        data: CallData,
    ) {
        if let Some(f) = pick(&self.exports) {
            let _ = self.vm.call(name, root, f, params, data);
            let deferred = std::mem::take(&mut self.vm.state().deferred);
            self.apply_deferred(deferred);
        }
    }

    /// Delivers queued events until none is left: callout answers and queue notifications
    /// (including those other hosts sharing the [`SharedState`](crate::SharedState) posted).
    pub(crate) fn run_events(&mut self) -> Result<(), HarnessError> {
        loop {
            if let Some(event) = self.vm.state().events.pop_front() {
                match event {
                    Event::HttpCallAnswer { token, answer } => {
                        self.deliver_http_answer(token, answer)
                    }
                    Event::GrpcAnswer { token, answer } => self.deliver_grpc_answer(token, answer),
                }
                continue;
            }
            let host_id = self.host_id;
            if !self.shared.may_have_notifications()
                || !self.shared.lock().has_notifications(host_id)
            {
                return Ok(());
            }
            let notes = self.shared.lock().take_notifications(host_id);
            for (root, queue) in notes {
                self.root_call(
                    "proxy_on_queue_ready",
                    root,
                    |e: &Exports| &e.on_queue_ready,
                    (root, queue),
                    CallData::None,
                );
            }
        }
    }

    fn deliver_http_answer(&mut self, token: u32, answer: Option<HttpCallResponse>) {
        let Some(pending) = self.vm.state().callouts.http.remove(&token) else {
            return;
        };
        let root = pending.root;
        let f: fn(&Exports) -> &Option<_> = |e| &e.on_http_call_response;
        match answer {
            Some(resp) => {
                self.vm.state().status = (0, Vec::new());
                let args = (
                    root,
                    token,
                    resp.headers.len() as u32,
                    resp.body.len() as u32,
                    resp.trailers.len() as u32,
                );
                self.root_call(
                    "proxy_on_http_call_response",
                    root,
                    f,
                    args,
                    CallData::HttpCallResponse(resp),
                );
            }
            None => {
                self.vm.state().status = (
                    crate::abi::Status::BrokenConnection.code(),
                    b"reset".to_vec(),
                );
                self.root_call(
                    "proxy_on_http_call_response",
                    root,
                    f,
                    (root, token, 0, 0, 0),
                    CallData::None,
                );
            }
        }
    }

    fn deliver_grpc_answer(&mut self, token: u32, answer: GrpcResponse) {
        let Some(pending) = self.vm.state().callouts.grpc.get(&token) else {
            return;
        };
        let (root, is_stream) = (pending.root, pending.request.is_stream);
        let initial: fn(&Exports) -> &Option<_> = |e| &e.on_grpc_receive_initial_metadata;
        let receive: fn(&Exports) -> &Option<_> = |e| &e.on_grpc_receive;
        let trailing: fn(&Exports) -> &Option<_> = |e| &e.on_grpc_receive_trailing_metadata;
        let close: fn(&Exports) -> &Option<_> = |e| &e.on_grpc_close;
        // A unary call (`Grpc::AsyncRequestImpl`) ignores metadata and keeps only the last
        // message; OK without a message is INTERNAL with an empty message
        // (`AsyncRequestImpl::onRemoteClose`). A stream (`GrpcStreamClientHandler`) sees its
        // initial metadata (empty for a trailers-only answer), each message, its trailing
        // metadata, then the close (`AsyncStreamImpl::onHeaders` / `onTrailers`).
        let (status, status_message) =
            if !is_stream && answer.status == 0 && answer.messages.is_empty() {
                (13, String::new())
            } else {
                (answer.status, answer.status_message.clone())
            };
        if is_stream {
            let n = answer.initial_metadata.len() as u32;
            let data = CallData::GrpcMetadata {
                initial: true,
                metadata: answer.initial_metadata.clone(),
            };
            self.root_call(
                "proxy_on_grpc_receive_initial_metadata",
                root,
                initial,
                (root, token, n),
                data,
            );
        }
        if status == 0 {
            let messages = if is_stream {
                answer.messages.clone()
            } else {
                answer.messages.last().cloned().into_iter().collect()
            };
            for m in messages {
                if !self.vm.state().callouts.grpc.contains_key(&token) {
                    return; // cancelled meanwhile
                }
                let size = m.len() as u32;
                self.root_call(
                    "proxy_on_grpc_receive",
                    root,
                    receive,
                    (root, token, size),
                    CallData::GrpcMessage(m),
                );
            }
        }
        if is_stream && self.vm.state().callouts.grpc.contains_key(&token) {
            let n = answer.trailing_metadata.len() as u32;
            let data = CallData::GrpcMetadata {
                initial: false,
                metadata: answer.trailing_metadata.clone(),
            };
            self.root_call(
                "proxy_on_grpc_receive_trailing_metadata",
                root,
                trailing,
                (root, token, n),
                data,
            );
        }
        if self.vm.state().callouts.grpc.remove(&token).is_none() {
            return;
        }
        if is_stream || status != 0 {
            self.vm.state().status = (status, status_message.into_bytes());
            self.root_call(
                "proxy_on_grpc_close",
                root,
                close,
                (root, token, status),
                CallData::None,
            );
        }
    }

    /// Moves the fake clock forward, firing ticks and callout timeouts (a 504 answer for HTTP,
    /// DEADLINE_EXCEEDED for gRPC) in time order.
    pub(crate) fn advance(&mut self, by: Duration) -> Result<(), HarnessError> {
        let target = self
            .vm
            .state()
            .clock
            .elapsed_ns()
            .saturating_add(by.as_nanos() as u64);
        loop {
            self.run_events()?;
            let state = self.vm.state();
            let next_tick = state
                .contexts
                .values()
                .filter_map(|c| match c {
                    Context::Root(r) if r.tick_period_ns > 0 => Some(r.next_tick_ns),
                    _ => None,
                })
                .min();
            let next_deadline = state.callouts.earliest_deadline();
            let next = match (next_tick, next_deadline) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(n) => n,
                    None => break,
                },
            };
            if next > target {
                break;
            }
            state.clock.set_elapsed(next);
            let now = next;
            // Timeouts first: a reply scheduled for the same instant arrived too late.
            let expired_http: Vec<u32> = state
                .callouts
                .http
                .iter()
                .filter(|(_, p)| p.deadline_ns <= now)
                .map(|(t, _)| *t)
                .collect();
            let expired_grpc: Vec<u32> = state
                .callouts
                .grpc
                .iter()
                .filter(|(_, p)| p.deadline_ns.is_some_and(|d| d <= now))
                .map(|(t, _)| *t)
                .collect();
            // Envoy's async client answers a timeout with the router's 504 local reply.
            for token in expired_http {
                self.deliver_http_answer(token, Some(HttpCallResponse::upstream_timeout()));
            }
            for token in expired_grpc {
                self.deliver_grpc_answer(
                    token,
                    GrpcResponse::error(GRPC_DEADLINE_EXCEEDED, "timeout"),
                );
            }
            let due: Vec<u32> = self
                .vm
                .state()
                .contexts
                .iter_mut()
                .filter_map(|(id, c)| match c {
                    Context::Root(r) if r.tick_period_ns > 0 && r.next_tick_ns <= now => {
                        r.next_tick_ns = now + r.tick_period_ns;
                        Some(*id)
                    }
                    _ => None,
                })
                .collect();
            for root in due {
                self.root_call(
                    "proxy_on_tick",
                    root,
                    |e: &Exports| &e.on_tick,
                    root,
                    CallData::None,
                );
            }
        }
        self.vm.state().clock.set_elapsed(target);
        self.run_events()
    }

    /// Calls `proxy_on_foreign_function(root, function_id, args_size)` with the arguments in
    /// buffer 8.
    pub(crate) fn foreign_callback(
        &mut self,
        plugin: usize,
        function_id: u32,
        args: &[u8],
    ) -> Result<(), HarnessError> {
        let root = *self
            .roots
            .get(plugin)
            .ok_or_else(|| HarnessError::Usage(format!("no plugin number {plugin}")))?;
        self.root_call(
            "proxy_on_foreign_function",
            root,
            |e: &Exports| &e.on_foreign_function,
            (root, function_id, args.len() as u32),
            CallData::Foreign(args.to_vec()),
        );
        self.run_events()
    }

    /// Shuts the plugins down: on_done(root); true → on_delete, false → on_delete after the
    /// filter calls proxy_done.
    pub(crate) fn shutdown_roots(&mut self) -> Result<(), HarnessError> {
        for root in self.roots.clone() {
            if let Some(Context::Root(r)) = self.vm.state().contexts.get_mut(&root) {
                r.done_called = true;
            } else {
                continue;
            }
            let done = match &self.exports.on_done {
                Some(f) => self
                    .vm
                    .call("proxy_on_done", root, f, root, CallData::None)
                    .unwrap_or(1),
                None => 1,
            };
            let deferred = std::mem::take(&mut self.vm.state().deferred);
            self.apply_deferred(deferred);
            if done != 0 && self.vm.state().contexts.contains_key(&root) {
                if let Some(f) = &self.exports.on_delete {
                    let _ = self
                        .vm
                        .call("proxy_on_delete", root, f, root, CallData::None);
                }
                self.vm.state().contexts.remove(&root);
                self.vm.state().callouts.cancel_owned_by(root);
            }
        }
        self.run_events()
    }
}

/// Callouts from the test's side: what is pending, answers, scripts.
impl Proxy {
    /// HTTP callouts waiting for an answer, by token.
    pub(crate) fn pending_http_calls(&self) -> Vec<HttpCallRequest> {
        let callouts = &self.vm.store.data().callouts;
        callouts.http.values().map(|p| p.request.clone()).collect()
    }

    /// Answers (or, with `None`, fails) HTTP callout `token`, then delivers it.
    pub(crate) fn answer_http(
        &mut self,
        token: u32,
        answer: Option<HttpCallResponse>,
    ) -> Result<(), HarnessError> {
        if !self.vm.state().callouts.http.contains_key(&token) {
            return Err(HarnessError::Usage(format!(
                "no pending HTTP callout with token {token}"
            )));
        }
        self.vm
            .state()
            .events
            .push_back(Event::HttpCallAnswer { token, answer });
        self.run_events()
    }

    /// Scripts how later HTTP callouts to `cluster` are answered.
    pub(crate) fn script_http(&mut self, cluster: &str, script: ScriptedHttp) {
        let callouts = &mut self.vm.state().callouts;
        callouts.scripted_http.insert(cluster.into(), script);
    }

    /// gRPC calls and streams still open, by token.
    pub(crate) fn pending_grpc_calls(&self) -> Vec<GrpcCallRequest> {
        let callouts = &self.vm.store.data().callouts;
        callouts.grpc.values().map(|p| p.request.clone()).collect()
    }

    /// Answers gRPC call or stream `token`, then delivers it.
    pub(crate) fn answer_grpc(
        &mut self,
        token: u32,
        answer: GrpcResponse,
    ) -> Result<(), HarnessError> {
        if !self.vm.state().callouts.grpc.contains_key(&token) {
            return Err(HarnessError::Usage(format!(
                "no pending gRPC call with token {token}"
            )));
        }
        self.vm
            .state()
            .events
            .push_back(Event::GrpcAnswer { token, answer });
        self.run_events()
    }

    /// Scripts how later gRPC calls and streams to `cluster` are answered.
    pub(crate) fn script_grpc(&mut self, cluster: &str, response: GrpcResponse) {
        let callouts = &mut self.vm.state().callouts;
        callouts.scripted_grpc.insert(cluster.into(), response);
    }
}
