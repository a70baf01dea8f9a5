//! The test-facing API: [`Host`] (one emulated Envoy VM running a real module), its
//! [`HostBuilder`], the compiled [`Module`], and the handles a test drives: [`HttpStream`] and
//! [`TcpConnection`]. Thin by design: every behaviour lives in [`crate::envoy`].

mod builder;
mod connection;
mod introspect;
mod module;
mod stream;

pub use builder::HostBuilder;
pub use connection::TcpConnection;
pub use module::Module;
pub use stream::HttpStream;

use crate::abi::{LogLevel, Status};
use crate::envoy::services::callouts::ScriptedHttp;
use crate::envoy::{MetricValue, Proxy, SharedState};
use crate::values::{
    Exchange, GrpcCallRequest, GrpcResponse, HarnessError, HttpCallRequest, HttpCallResponse,
    HttpRequest, HttpResponse, LogEntry, VmFailure,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// One emulated Envoy VM running a real proxy-wasm module, driven from a test.
///
/// ```no_run
/// use wasme_harness::{Host, HttpRequest, HttpResponse, Module};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let module = Module::from_file("target/wasm32-wasip1/release/add_header.wasm")?;
/// let mut host = Host::builder(&module)
///     .root_id("add_header")
///     .plugin_config(r#"{"name": "x-demo", "value": "1"}"#)
///     .build()?;
/// let ex = host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())?;
/// assert_eq!(ex.client_response.header("x-demo"), Some("1"));
/// # Ok(()) }
/// ```
pub struct Host {
    module: Module,
    proxy: Proxy,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("abi", &self.module.abi())
            .field("vm_id", &self.proxy.vm_id())
            .field("failure", &self.proxy.failure())
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Starts building a host for `module`.
    ///
    /// ```no_run
    /// use wasme_harness::{FailurePolicy, Host, LogLevel, Module};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let module = Module::from_file("target/wasm32-wasip1/release/my_filter.wasm")?;
    /// let host = Host::builder(&module)
    ///     .root_id("my_root")
    ///     .plugin_config(r#"{"header": "x-demo"}"#)
    ///     .failure_policy(FailurePolicy::FailOpen)
    ///     .log_level(LogLevel::Info)
    ///     .build()?;
    /// assert!(host.failure().is_none());
    /// # Ok(()) }
    /// ```
    pub fn builder(module: &Module) -> HostBuilder {
        HostBuilder::new(module)
    }

    /// The module this host runs.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A new HTTP stream on the first plugin (on_context_create runs now).
    ///
    /// ```no_run
    /// use wasme_harness::{FilterStatus, Host, Module};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let module = Module::from_file("filter.wasm")?;
    /// let mut host = Host::builder(&module).build()?;
    /// let mut stream = host.http_stream()?;
    /// let status = stream.request_headers(&[(":method", "GET"), (":path", "/")], true)?;
    /// assert_eq!(status, FilterStatus::Continue);
    /// stream.response_headers(&[(":status", "200")], true)?;
    /// let upstream = stream.upstream_request().expect("the request went upstream");
    /// assert_eq!(upstream.header(":path"), Some("/"));
    /// stream.finish()?;
    /// # Ok(()) }
    /// ```
    pub fn http_stream(&mut self) -> Result<HttpStream<'_>, HarnessError> {
        self.http_stream_for(0)
    }

    /// A new HTTP stream on plugin number `plugin` (0 = the first; see
    /// [`HostBuilder::add_plugin`]).
    pub fn http_stream_for(&mut self, plugin: usize) -> Result<HttpStream<'_>, HarnessError> {
        let id = self.proxy.http_create(plugin)?;
        Ok(HttpStream::new(self, id))
    }

    /// Runs one whole exchange the way Envoy would: the request (headers, body, trailers) through
    /// the filter, then — unless it ended in a local reply or reset, or is still paused — the
    /// upstream `response` through it, then on_log, on_done, on_delete.
    ///
    /// ```no_run
    /// use wasme_harness::{Host, HttpRequest, HttpResponse, Module};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let module = Module::from_file("filter.wasm")?;
    /// let mut host = Host::builder(&module).build()?;
    /// let ex = host.http_exchange(
    ///     &HttpRequest::post("/upload", "data").header("x-user", "ada"),
    ///     &HttpResponse::ok().body("done"),
    /// )?;
    /// assert!(ex.local_reply.is_none());
    /// assert_eq!(ex.client_response.status(), Some(200));
    /// # Ok(()) }
    /// ```
    pub fn http_exchange(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Exchange, HarnessError> {
        self.http_stream()?.exchange(request, response)
    }

    /// A new TCP connection on the first plugin (on_context_create runs now; call
    /// [`TcpConnection::new_connection`] next).
    ///
    /// ```no_run
    /// use wasme_harness::{FilterStatus, Host, Module};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let module = Module::from_file("network_filter.wasm")?;
    /// let mut host = Host::builder(&module).build()?;
    /// let mut conn = host.tcp_connection()?;
    /// assert_eq!(conn.new_connection()?, FilterStatus::Continue);
    /// conn.downstream_data(b"ping", false)?;
    /// assert_eq!(conn.sent_upstream(), b"ping");
    /// conn.close()?;
    /// # Ok(()) }
    /// ```
    pub fn tcp_connection(&mut self) -> Result<TcpConnection<'_>, HarnessError> {
        self.tcp_connection_for(0)
    }

    /// A new TCP connection on plugin number `plugin`.
    pub fn tcp_connection_for(&mut self, plugin: usize) -> Result<TcpConnection<'_>, HarnessError> {
        let id = self.proxy.tcp_create(plugin)?;
        Ok(TcpConnection::new(self, id))
    }

    /// Everything the VM logged (proxy_log, WASI stdout at info, stderr at error, and the
    /// host's own critical line when the VM fails), in order.
    pub fn logs(&self) -> &[LogEntry] {
        self.proxy.logs()
    }

    /// The log entries at exactly `level`.
    pub fn logs_at(&self, level: LogLevel) -> Vec<LogEntry> {
        self.logs()
            .iter()
            .filter(|l| l.level == level)
            .cloned()
            .collect()
    }

    /// Forgets the captured logs.
    pub fn clear_logs(&mut self) {
        self.proxy.clear_logs();
    }

    /// The hostcall trace (empty unless [`HostBuilder::trace`] is on): `[host->vm]` callbacks,
    /// `[vm->host] env.proxy_x(args) # decoded` and `[vm<-host] env.proxy_x return: N # NAME`.
    /// Borrowed, not copied: reading its length or its last lines costs nothing.
    pub fn trace(&self) -> &[String] {
        self.proxy.trace()
    }

    /// Why the VM failed, if it did (kept for good; under fail-reload, the last failure).
    pub fn failure(&self) -> Option<&VmFailure> {
        self.proxy.failure()
    }

    /// How many times fail-reload replaced the VM.
    pub fn reloads(&self) -> u32 {
        self.proxy.reloads()
    }

    /// How many new streams found the failed VM inside the fail-reload backoff and failed
    /// closed instead of reloading (Envoy's `wasm.<plugin>.vm_reload_backoff`).
    pub fn reload_backoffs(&self) -> u32 {
        self.proxy.reload_backoffs()
    }

    /// A metric's value by name: a counter's total, a gauge's value, or a histogram's number of
    /// samples.
    pub fn metric(&self, name: &str) -> Option<i64> {
        self.proxy
            .shared
            .lock()
            .metric_values
            .get(name)
            .map(|v| match v {
                MetricValue::Counter(c) => *c as i64,
                MetricValue::Gauge(g) => *g,
                MetricValue::Histogram(h) => h.len() as i64,
            })
    }

    /// Every metric by name.
    pub fn metrics(&self) -> BTreeMap<String, MetricValue> {
        self.proxy
            .shared
            .lock()
            .metric_values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Shared data of this host's vm_id: value and CAS.
    pub fn shared_data(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.proxy.shared.get_shared_data(self.proxy.vm_id(), key)
    }

    /// Writes shared data of this host's vm_id (Envoy's CAS rules).
    pub fn set_shared_data(&self, key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
        self.proxy
            .shared
            .set_shared_data(self.proxy.vm_id(), key, value, cas)
    }

    /// The shared state this host uses.
    pub fn shared_state(&self) -> &SharedState {
        &self.proxy.shared
    }

    /// Puts an item on a shared queue from outside the VM (notifying its root), then delivers
    /// pending notifications. `Err(NotFound)` for an unknown queue.
    pub fn enqueue(&mut self, queue_id: u32, data: &[u8]) -> Result<(), HarnessError> {
        self.proxy
            .shared
            .lock()
            .enqueue(queue_id, data)
            .map_err(|_| HarnessError::Usage(format!("no shared queue with id {queue_id}")))?;
        self.proxy.run_events()
    }

    /// The id of queue `name` of this host's vm_id, if registered.
    pub fn queue_id(&self, name: &str) -> Option<u32> {
        self.proxy
            .shared
            .lock()
            .resolve_queue(self.proxy.vm_id(), name)
    }

    /// Delivers what is pending for this host: queue notifications posted by other hosts,
    /// scripted answers.
    pub fn run_pending(&mut self) -> Result<(), HarnessError> {
        self.proxy.run_events()
    }

    /// HTTP callouts waiting for an answer, by token.
    pub fn pending_http_calls(&self) -> Vec<HttpCallRequest> {
        self.proxy.pending_http_calls()
    }

    /// Answers HTTP callout `token`: on_http_call_response runs (with Envoy's effective-context
    /// rules, so the filter can continue or reply on its stream).
    pub fn respond_http_call(
        &mut self,
        token: u32,
        response: HttpCallResponse,
    ) -> Result<(), HarnessError> {
        self.proxy.answer_http(token, Some(response))
    }

    /// Fails HTTP callout `token` the way Envoy's wasm context reports a failure of the
    /// callout's own stream (`Context::onHttpCallFailure`: a reset, a buffer overflow): the
    /// filter sees `(token, 0, 0, 0)` and `proxy_get_status` = (11, "reset"). An upstream that
    /// cannot be connected to is not this: it answers with a 503 (see
    /// [`connect_failure_http_call`](Host::connect_failure_http_call)), and a timeout with a 504
    /// (let [`advance_clock`](Host::advance_clock) pass the callout's timeout).
    pub fn fail_http_call(&mut self, token: u32) -> Result<(), HarnessError> {
        self.proxy.answer_http(token, None)
    }

    /// Answers HTTP callout `token` as Envoy does when the cluster's upstream cannot be
    /// connected to: [`HttpCallResponse::connect_failure`] (503).
    pub fn connect_failure_http_call(&mut self, token: u32) -> Result<(), HarnessError> {
        self.proxy
            .answer_http(token, Some(HttpCallResponse::connect_failure()))
    }

    /// Answers every later HTTP callout to `cluster` as an unreachable upstream does: 503
    /// [`HttpCallResponse::connect_failure`] (registers the cluster).
    pub fn script_http_connect_failure(&mut self, cluster: &str) {
        self.proxy
            .script_http(cluster, ScriptedHttp::ConnectFailure);
    }

    /// Makes `cluster` a cluster without a healthy host (registers it): Envoy's async client
    /// fails such a callout inline (the router's 503 "no healthy upstream" before `send`
    /// returns), so `proxy_http_call` answers INTERNAL_FAILURE and no callback ever follows
    /// (Envoy's `AsyncCallBadCall` and `AsyncCallBadCluster`).
    pub fn script_http_no_healthy_upstream(&mut self, cluster: &str) {
        self.proxy
            .script_http(cluster, ScriptedHttp::NoHealthyUpstream);
    }

    /// Configures plugin `plugin` again, as Envoy does on each worker thread after the main
    /// thread's VM started (and on a configuration update): on_configure runs with `config`, or
    /// with the plugin's own configuration when `None`. Returns whether it succeeded. Unlike a
    /// failure while [`HostBuilder::build`] runs (Envoy rejects that configuration), a failure
    /// here leaves a working host whose VM has failed: [`Host::failure`] says why and every
    /// stream gets the failure policy (fail-closed: a 503 local reply, details
    /// `wasm_fail_stream`), as on an Envoy worker.
    ///
    /// ```no_run
    /// use wasme_harness::{FailureKind, Host, HttpRequest, HttpResponse, Module};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let module = Module::from_file("filter.wasm")?;
    /// let mut host = Host::builder(&module).plugin_config("good").build()?;
    /// assert!(!host.reconfigure(0, Some(b"bad"))?);
    /// assert_eq!(host.failure().map(|f| f.kind), Some(FailureKind::ConfigureFailed));
    /// let ex = host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())?;
    /// assert_eq!(ex.client_response.status(), Some(503));
    /// # Ok(()) }
    /// ```
    pub fn reconfigure(
        &mut self,
        plugin: usize,
        config: Option<&[u8]>,
    ) -> Result<bool, HarnessError> {
        self.proxy.reconfigure(plugin, config.map(<[u8]>::to_vec))
    }

    /// How often the filter cleared the route cache (the `clear_route_cache` foreign function,
    /// or 0.1.0's `proxy_clear_route_cache`).
    pub fn route_cache_clears(&self) -> u32 {
        self.proxy.route_cache_clears()
    }

    /// Answers every later HTTP callout to `cluster` with `response` (registers the cluster).
    pub fn script_http_response(&mut self, cluster: &str, response: HttpCallResponse) {
        self.proxy
            .script_http(cluster, ScriptedHttp::Respond(response));
    }

    /// Fails every later HTTP callout to `cluster` (registers the cluster).
    pub fn script_http_failure(&mut self, cluster: &str) {
        self.proxy.script_http(cluster, ScriptedHttp::Fail);
    }

    /// gRPC calls and streams still open, by token.
    pub fn pending_grpc_calls(&self) -> Vec<GrpcCallRequest> {
        self.proxy.pending_grpc_calls()
    }

    /// Answers gRPC call or stream `token`: a call gets on_grpc_receive (status 0) or
    /// on_grpc_close(status); a stream gets initial metadata, each message, trailing metadata
    /// and close.
    pub fn respond_grpc_call(
        &mut self,
        token: u32,
        response: GrpcResponse,
    ) -> Result<(), HarnessError> {
        self.proxy.answer_grpc(token, response)
    }

    /// Answers every later gRPC call or stream to `cluster` (registers the cluster).
    pub fn script_grpc_response(&mut self, cluster: &str, response: GrpcResponse) {
        self.proxy.script_grpc(cluster, response);
    }

    /// Advances the fake clock: fires on_tick for each elapsed period and answers callouts
    /// whose timeout passed (HTTP: Envoy's 504 `upstream request timeout`; gRPC:
    /// DEADLINE_EXCEEDED), in time order.
    pub fn advance_clock(&mut self, by: Duration) -> Result<(), HarnessError> {
        self.proxy.advance(by)
    }

    /// The fake clock: time elapsed since the host was built.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.proxy.elapsed_ns())
    }

    /// Calls the filter's `proxy_on_foreign_function(root, function_id, args_size)` on plugin
    /// `plugin`, with `args` in buffer 8.
    pub fn call_on_foreign_function(
        &mut self,
        plugin: usize,
        function_id: u32,
        args: &[u8],
    ) -> Result<(), HarnessError> {
        self.proxy.foreign_callback(plugin, function_id, args)
    }

    /// Shuts the plugins down (on_done on each root; on_delete once done).
    pub fn shutdown(&mut self) -> Result<(), HarnessError> {
        self.proxy.shutdown_roots()
    }

    /// The root context id of plugin number `plugin`.
    pub fn root_context_id(&self, plugin: usize) -> Option<u32> {
        self.proxy.roots.get(plugin).copied()
    }
}
