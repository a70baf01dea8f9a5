//! Conformance: module start-up — `_initialize` then `main`, or `_start`; what may be called
//! during start-up and inside the allocator; the log level (reference §1, §4, §7).

use crate::conformance_support;

use conformance_support::wat::{self, LIFECYCLE, Wat};
use conformance_support::{assert_logged, messages, probe, probe_builder};
use wasme_harness::{Host, HttpRequest, HttpResponse, LogLevel, Module};

fn load(w: &Wat) -> Module {
    Module::from_bytes(wat::bytes(w)).expect("the module loads")
}

#[test]
fn a_reactor_runs_initialize_then_main_before_the_root_is_created() {
    let module = load(&Wat {
        body: &format!(
            "{LIFECYCLE}{}",
            r#"
  (func (export "_initialize") (call $log_num STR("init=") (i32.const 1)))
  (func (export "main") (param i32 i32) (result i32)
    (call $log_num STR("main_argc=") (local.get 0))
    (i32.const 0))"#
        ),
        ..Wat::default()
    });
    let host = Host::builder(&module).build().unwrap();
    let logs = messages(&host);
    assert_eq!(logs[..2], ["init=1", "main_argc=0"], "{logs:?}");
}

#[test]
fn a_command_module_runs_start() {
    let module = load(&Wat {
        body: &format!(
            "{LIFECYCLE}{}",
            r#"
  (func (export "_start") (call $log_num STR("start=") (i32.const 1)))"#
        ),
        ..Wat::default()
    });
    let host = Host::builder(&module).build().unwrap();
    assert_logged(&host, "start=1");
}

#[test]
fn a_proxy_hostcall_during_start_up_fails_the_vm() {
    let module = load(&Wat {
        imports: r#"(import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))"#,
        body: &format!(
            "{LIFECYCLE}{}",
            r#"
  (func (export "_initialize")
    (call $log_num STR("logging_is_fine=") (i32.const 1))
    (drop (call $set_shared STR("k") STR("v") (i32.const 0))))"#
        ),
        ..Wat::default()
    });
    let err = Host::builder(&module)
        .build()
        .expect_err("only logging, WASI basics and memory growth are allowed at start-up");
    let text = err.to_string();
    assert!(
        text.contains("proxy_set_shared_data"),
        "the error names the call: {text}"
    );
}

#[test]
fn a_proxy_hostcall_inside_the_allocator_fails_the_vm() {
    let module = load(&Wat {
        imports: r#"(import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_value (param i32 i32 i32 i32 i32) (result i32)))"#,
        malloc: r#"(drop (call $set_shared (i32.const 300) (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 0)))
    (i32.const 65536)"#,
        body: &format!(
            "{LIFECYCLE}{}",
            r#"
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $get_value (i32.const 0) STR(":path") (i32.const 512) (i32.const 520)))
    (i32.const 0))"#
        ),
        ..Wat::default()
    });
    let mut host = Host::builder(&module).build().unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert!(host.failure().is_some(), "the VM failed");
    assert_eq!(ex.client_response.status(), Some(503));
}

#[test]
fn get_log_level_reports_the_configured_level() {
    let module = probe();
    // The probe reports at info, so the level is info here (warn would hide the report).
    let host = probe_builder(&module, "configure log_level")
        .log_level(LogLevel::Info)
        .build()
        .unwrap();
    assert_logged(&host, "configure.log_level = 0 2");
}

#[test]
fn messages_below_the_log_level_are_dropped_like_envoys_logger_does() {
    let module = probe();
    let host = probe_builder(
        &module,
        "configure log 1 quiet-debug\nconfigure log 3 loud-warn\nconfigure log 5 loud-critical",
    )
    .log_level(LogLevel::Info)
    .build()
    .unwrap();
    let logged = |text: &str| host.logs().iter().any(|l| l.message == text);
    assert!(!logged("quiet-debug"), "debug is below info: dropped");
    assert!(logged("loud-warn") && logged("loud-critical"));
    // proxy_log still answers OK for a dropped message, as Envoy's does.
    assert_logged(&host, "configure.log 1 quiet-debug = 0");
    let all = Host::builder(&module)
        .root_id("probe")
        .plugin_config("configure log 1 quiet-debug")
        .build()
        .unwrap();
    assert!(
        all.logs().iter().any(|l| l.message == "quiet-debug"),
        "the default level (trace) keeps everything"
    );
}
