//! Envoy's network-filter Wasm tests, mirrored one for one:
//! `test/extensions/filters/network/wasm/wasm_filter_test.cc` (`WasmNetworkFilterTest`), driving
//! the network-filter half of `source/extensions/common/wasm/context.cc` (`onNewConnection`,
//! `onData`, `onWrite`, `onEvent`, `onCloseTCP`, `closeStream`, `failStream`) and
//! proxy-wasm-cpp-host `src/context.cc` (`CHECK_FAIL_NET`, `onDownstreamConnectionClose`,
//! `onDone`, `onLog`, `onDelete`).
//!
//! Envoy's test filters (`logging_rust.rs`, `close_stream_rust.rs`, `panic_rust.rs`,
//! `resume_call_rust.rs`) are replaced by the scriptable probe (harness/tests/filters/probe),
//! whose log shows every callback it entered (`> name ctx=N …`) and every hostcall's status;
//! the capability tests use a hand-written module (WAT), as Envoy's C++ variant of them does.
//!
//! `BadCode` and `BadCodeFailOpen` drive a filter whose plugin has no usable VM. Envoy's
//! `PluginConfig::createContext` (source/extensions/common/wasm/wasm.cc) treats "no VM" and "a
//! failed VM" as one case (`!wasm || wasm->isFailed()`); the harness refuses undecodable bytes
//! when the module is loaded ([`Module::from_bytes`]), so these tests reach that case with a VM
//! that failed on the worker (on_configure refused), as an Envoy worker does.

use crate::conformance_support::wat::{self, Wat};
use crate::conformance_support::{
    assert_logged, assert_not_logged, callback_names, probe, probe_builder, probe_host,
    probe_unknown_unknown, result,
};
use wasme_harness::{FailurePolicy, FilterStatus, Host, HttpCallResponse, Module};

/// The logging filter of Envoy's `HappyPath`: logs every callback; replaces the downstream data
/// with `write`.
const LOGGING: &str = "mode tcp
     downstream_data set_buffer downstream 0 4 write";

/// A probe host whose plugin failed on the worker (`Host::reconfigure` refused): what a
/// connection meets when `PluginConfig::createContext` finds no usable VM.
fn failed_vm_host(policy: FailurePolicy) -> Host {
    let module = probe();
    let mut host = probe_builder(&module, LOGGING)
        .failure_policy(policy)
        .build()
        .unwrap();
    assert!(
        !host
            .reconfigure(0, Some(b"configure return 0".as_slice()))
            .unwrap()
    );
    assert!(host.failure().is_some(), "the VM has failed");
    host.clear_logs();
    host
}

/// `BadCode`: bad code gives no VM (`wasm_ == nullptr`: here, the module does not load); under
/// fail-closed the connection gets Envoy's empty `Context`, whose `onNewConnection` fails the
/// stream (`CHECK_FAIL_NET` → `failStream`: the connection closed with FlushWrite) and stops
/// iteration. No callback reaches a VM.
#[test]
fn bad_code() {
    assert!(Module::from_bytes(b"bad code").is_err());
    let mut host = failed_vm_host(FailurePolicy::FailClosed);
    let mut c = host.tcp_connection().unwrap();
    let id = c.id();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Reset);
    assert_eq!(c.closed_details().as_deref(), Some("wasm_fail_stream"));
    assert_eq!(
        c.downstream_data(b"Fake", false).unwrap(),
        FilterStatus::Reset
    );
    assert!(
        c.sent_upstream().is_empty(),
        "nothing passes a closed connection"
    );
    drop(c);
    assert!(callback_names(&host, id).is_empty(), "{:?}", host.logs());
}

/// `BadCodeFailOpen`: the same plugin without a VM under the test's `fail_open: true`
/// (`FailurePolicy::LegacyFailOpen`): `createContext` adds no filter, so the connection goes on
/// (`Continue`) and its data flows untouched, with no callback.
#[test]
fn bad_code_fail_open() {
    assert!(Module::from_bytes(b"bad code").is_err());
    let mut host = failed_vm_host(FailurePolicy::LegacyFailOpen);
    let mut c = host.tcp_connection().unwrap();
    let id = c.id();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Continue);
    assert_eq!(c.closed_details(), None);
    assert_eq!(
        c.downstream_data(b"Fake", false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(c.sent_upstream(), b"Fake", "passed through, not replaced");
    drop(c);
    assert!(callback_names(&host, id).is_empty(), "{:?}", host.logs());
}

/// `HappyPath`: callbacks in Envoy's order, the data replaced, end of stream from the upstream
/// reported as the upstream connection closing (peer unknown = 0), Envoy's own close as peer
/// local (1), then on_done, on_log and on_delete once (`onCloseTCP`).
#[test]
fn happy_path() {
    let mut host = probe_host(LOGGING);
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Continue);
    assert_eq!(
        c.downstream_data(b"Fake", false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(c.sent_upstream(), b"write");
    assert_eq!(
        c.upstream_data(b"Done", true).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(c.sent_downstream(), b"Done");
    c.close_local().unwrap();
    assert_logged(&host, "> downstream_data ctx=2 size=4 eos=false");
    assert_logged(&host, "> upstream_data ctx=2 size=4 eos=true");
    assert_logged(&host, "> upstream_close ctx=2 peer=0");
    assert_logged(&host, "> downstream_close ctx=2 peer=1");
    assert_eq!(
        callback_names(&host, 2),
        [
            "create",
            "new_connection",
            "downstream_data",
            "upstream_data",
            "upstream_close",
            "downstream_close",
            "done",
            "log",
            "delete"
        ]
    );
}

/// `CloseDownstreamFirst`: Envoy closing the downstream connection raises one
/// on_downstream_connection_close with peer local.
#[test]
fn close_downstream_first() {
    let mut host = probe_host(LOGGING);
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    c.close_local().unwrap();
    assert_logged(&host, "> downstream_close ctx=2 peer=1");
    let closes = callback_names(&host, 2)
        .iter()
        .filter(|n| n.ends_with("_close"))
        .count();
    assert_eq!(closes, 1, "one close callback, no upstream close");
}

/// `CloseStream`: the client closing the connection (`RemoteClose`) is peer remote (2).
/// (Its first half — events before the context exists — has no counterpart: the harness
/// creates the context with the connection.)
#[test]
fn close_stream_remote_close() {
    let mut host = probe_host(LOGGING);
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    c.close().unwrap();
    assert_logged(&host, "> downstream_close ctx=2 peer=2");
    assert_not_logged(&host, "> upstream_close");
}

/// `SegvFailOpen`: the VM crashes in a callback; with the test's (legacy) `fail_open: true` the
/// connection's data then flows untouched and no callback runs any more.
#[test]
fn segv_fail_open() {
    let module = probe();
    let mut host = probe_builder(&module, &format!("{LOGGING}\n foreign_function panic segv"))
        .failure_policy(FailurePolicy::LegacyFailOpen)
        .build()
        .unwrap();
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Continue);
    c.host().call_on_foreign_function(0, 0, b"").unwrap();
    assert!(c.host().failure().is_some(), "the VM failed");
    assert_eq!(
        c.downstream_data(b"Fake", false).unwrap(),
        FilterStatus::Continue
    );
    assert_eq!(c.sent_upstream(), b"Fake", "passed through, not replaced");
    drop(c);
    assert_not_logged(&host, "> downstream_data");
    assert_not_logged(&host, "> downstream_close");
    assert_not_logged(&host, "> done");
}

/// A module that logs `onNewConnection <ctx>` and `onDownstreamConnectionClose` (Envoy's C++
/// test filter `test_cpp.cc`, as far as these tests read it).
fn logging_module() -> Module {
    Module::from_bytes(wat::bytes(&Wat {
        body: &format!(
            r#"{lifecycle}
  (func (export "proxy_on_new_connection") (param $ctx i32) (result i32)
    (call $log_num STR("onNewConnection ") (local.get $ctx))
    (i32.const 0))
  (func (export "proxy_on_downstream_connection_close") (param $ctx i32) (param $peer i32)
    (call $log_num STR("onDownstreamConnectionClose peer=") (local.get $peer)))"#,
            lifecycle = wat::LIFECYCLE
        ),
        ..Default::default()
    }))
    .unwrap()
}

fn restricted_host(allowed: &[&str]) -> Host {
    Host::builder(&logging_module())
        .allowed_capabilities(allowed.iter().copied())
        .build()
        .unwrap()
}

/// The messages logged over one connection (opened, which continues, then closed locally) on
/// a host whose filter may use only `allowed`.
fn logs_of_a_connection(allowed: &[&str]) -> Vec<String> {
    let mut host = restricted_host(allowed);
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Continue);
    c.close_local().unwrap();
    host.logs().iter().map(|l| l.message.clone()).collect()
}

/// `RestrictOnNewConnection`: with proxy_on_new_connection allowed and
/// proxy_on_downstream_connection_close not, only the first is called (proxy-wasm-cpp-host
/// `getFunctions` treats a restricted callback as missing).
#[test]
fn restrict_on_new_connection() {
    let logs = logs_of_a_connection(&[
        "proxy_on_context_create",
        "proxy_get_property",
        "proxy_log",
        "proxy_on_new_connection",
    ]);
    assert_eq!(logs, ["onNewConnection 2"]);
}

/// `RestrictOnDownstreamConnectionClose`: the other way round.
#[test]
fn restrict_on_downstream_connection_close() {
    let logs = logs_of_a_connection(&[
        "proxy_on_context_create",
        "proxy_get_property",
        "proxy_log",
        "proxy_on_downstream_connection_close",
    ]);
    assert_eq!(logs, ["onDownstreamConnectionClose peer=1"]);
}

/// `RestrictLog` (its C++ variant: the filter ignores the status): both callbacks run, but
/// proxy_log is a stub answering INTERNAL_FAILURE, so nothing is logged and the connection
/// continues.
#[test]
fn restrict_log() {
    let logs = logs_of_a_connection(&[
        "proxy_on_context_create",
        "proxy_get_property",
        "proxy_on_new_connection",
        "proxy_on_downstream_connection_close",
    ]);
    assert!(logs.is_empty(), "{logs:?}");
}

/// `RestrictLog`'s status itself, seen by a guest that reports it: INTERNAL_FAILURE (10).
#[test]
fn restricted_hostcall_answers_internal_failure() {
    let module = Module::from_file(probe_unknown_unknown()).unwrap();
    let mut host = probe_builder(
        &module,
        "mode tcp
         new_connection get_property source.port",
    )
    .allowed_capabilities([
        "proxy_on_vm_start",
        "proxy_on_configure",
        "proxy_get_buffer_bytes",
        "proxy_on_context_create",
        "proxy_on_new_connection",
        "proxy_log",
    ])
    .build()
    .unwrap();
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    drop(c);
    assert!(
        result(&host, "new_connection.get_property source.port").starts_with("10"),
        "{}",
        result(&host, "new_connection.get_property source.port")
    );
}

/// The resume filter of Envoy's `StopAndResume*ViaAsyncCall`: data pauses the connection and
/// starts a callout; its answer continues the named stream.
fn resume_script(data_callback: &str, stream: &str) -> String {
    format!(
        "mode tcp
         {data_callback} http_call cluster 1000 :method=POST :path=/ :authority=foo body=resume
         {data_callback} return 1
         http_call_response continue {stream}"
    )
}

/// `StopAndResumeDownstreamViaAsyncCall`: the callout's answer continues the downstream
/// (continueReading, deferred until the callback returned): the held data flows on.
#[test]
fn stop_and_resume_downstream_via_async_call() {
    let module = probe();
    let mut host = probe_builder(&module, &resume_script("downstream_data", "downstream"))
        .cluster("cluster")
        .build()
        .unwrap();
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Continue);
    assert_eq!(
        c.downstream_data(b"held", false).unwrap(),
        FilterStatus::Pause
    );
    assert!(
        c.sent_upstream().is_empty(),
        "held while the callout is pending"
    );
    let calls = c.host().pending_http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.header(":method"), Some("POST"));
    assert_eq!(call.header(":path"), Some("/"));
    assert_eq!(call.header(":authority"), Some("foo"));
    assert_eq!(call.body, b"resume");
    c.host()
        .respond_http_call(call.token, HttpCallResponse::new(200))
        .unwrap();
    assert_eq!(
        c.sent_upstream(),
        b"held",
        "continued after the callout's answer"
    );
    drop(c);
    assert_logged(&host, "http_call_response.continue downstream = 0");
}

/// Not an Envoy `TEST_P` of its own: the network-filter side of `Context::~Context`
/// (source/extensions/common/wasm/context.cc), which cancels a context's callouts when the
/// connection's filter is destroyed; an answer arriving later has nothing to reach.
#[test]
fn a_closed_connection_cancels_its_callouts() {
    let module = probe();
    let mut host = probe_builder(&module, &resume_script("downstream_data", "downstream"))
        .cluster("cluster")
        .build()
        .unwrap();
    let mut c = host.tcp_connection().unwrap();
    c.new_connection().unwrap();
    c.downstream_data(b"held", false).unwrap();
    let token = c.host().pending_http_calls()[0].token;
    c.close().unwrap();
    assert!(host.pending_http_calls().is_empty());
    assert!(
        host.respond_http_call(token, HttpCallResponse::new(200))
            .is_err()
    );
    assert_not_logged(&host, "> http_call_response");
}

/// `StopAndResumeUpstreamViaAsyncCall`: continuing the upstream is not implemented in Envoy
/// (`continueStream(Upstream)` = UNIMPLEMENTED, 12); the held data stays held.
#[test]
fn stop_and_resume_upstream_via_async_call() {
    let module = probe();
    let mut host = probe_builder(&module, &resume_script("upstream_data", "upstream"))
        .cluster("cluster")
        .build()
        .unwrap();
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Continue);
    assert_eq!(
        c.upstream_data(b"held", false).unwrap(),
        FilterStatus::Pause
    );
    let token = c.host().pending_http_calls()[0].token;
    c.host()
        .respond_http_call(token, HttpCallResponse::new(200))
        .unwrap();
    assert!(c.sent_downstream().is_empty(), "still held");
    drop(c);
    assert_logged(&host, "http_call_response.continue upstream = 12");
}

/// `PanicOnNewConnection`: the VM fails in the callback; fail-closed closes the connection
/// (StopIteration: the harness reports Reset) and nothing more is called.
#[test]
fn panic_on_new_connection() {
    let mut host = probe_host("mode tcp\n new_connection panic boom");
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(c.new_connection().unwrap(), FilterStatus::Reset);
    assert_eq!(c.closed_details().as_deref(), Some("wasm_fail_stream"));
    assert_eq!(
        c.downstream_data(b"late", false).unwrap(),
        FilterStatus::Reset
    );
    assert!(c.sent_upstream().is_empty());
    drop(c);
    assert_not_logged(&host, "> downstream_close");
    assert_not_logged(&host, "> done");
}

/// `PanicOnDownstreamData`: the same from the downstream data callback, without
/// on_new_connection first.
#[test]
fn panic_on_downstream_data() {
    let mut host = probe_host("mode tcp\n downstream_data panic boom");
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(
        c.downstream_data(b"Fake", false).unwrap(),
        FilterStatus::Reset
    );
    assert_eq!(c.closed_details().as_deref(), Some("wasm_fail_stream"));
    assert!(c.sent_upstream().is_empty());
}

/// `PanicOnUpstreamData`: the same from the upstream data callback.
#[test]
fn panic_on_upstream_data() {
    let mut host = probe_host("mode tcp\n upstream_data panic boom");
    let mut c = host.tcp_connection().unwrap();
    assert_eq!(
        c.upstream_data(b"Fake", false).unwrap(),
        FilterStatus::Reset
    );
    assert_eq!(c.closed_details().as_deref(), Some("wasm_fail_stream"));
    assert!(c.sent_downstream().is_empty());
}

/// `CloseDownstream`: proxy_close_stream(Downstream) answers OK, the callback's data still
/// flows (its filter status is Continue in Envoy), and after the call the connection is closed
/// with `wasm_downstream_close`, which the filter sees as a local close.
#[test]
fn close_downstream() {
    let mut host = probe_host("mode tcp\n downstream_data close downstream");
    let mut c = host.tcp_connection().unwrap();
    c.downstream_data(b"Fake", false).unwrap();
    assert_eq!(c.closed_details().as_deref(), Some("wasm_downstream_close"));
    assert_eq!(c.sent_upstream(), b"Fake");
    c.close().unwrap();
    assert_logged(&host, "downstream_data.close downstream = 0");
    assert_logged(&host, "> downstream_close ctx=2 peer=1");
    assert_eq!(
        callback_names(&host, 2),
        [
            "create",
            "downstream_data",
            "downstream_close",
            "done",
            "log",
            "delete"
        ],
        "one close callback: the client's later close finds the connection closed"
    );
}

/// `CloseUpstream`: proxy_close_stream(Upstream) closes through the write filter callbacks'
/// connection with `wasm_upstream_close` (in Envoy that is the same downstream connection).
#[test]
fn close_upstream() {
    let mut host = probe_host("mode tcp\n upstream_data close upstream");
    let mut c = host.tcp_connection().unwrap();
    c.upstream_data(b"Fake", false).unwrap();
    assert_eq!(c.closed_details().as_deref(), Some("wasm_upstream_close"));
    assert_eq!(c.sent_downstream(), b"Fake");
    drop(c);
    assert_logged(&host, "upstream_data.close upstream = 0");
    assert_logged(&host, "> downstream_close ctx=2 peer=1");
}
