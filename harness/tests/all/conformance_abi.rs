//! Conformance: ABI versions and targets — 0.1.0 (hand-written WAT), the marker rules, and a
//! filter built for `wasm32-unknown-unknown` (reference §1, §5).

use crate::conformance_support;

use conformance_support::wat::{self, Wat};
use conformance_support::{assert_logged, callbacks, header, probe};
use wasme_harness::{AbiVersion, Host, HttpRequest, HttpResponse, Module};

/// An ABI 0.1.0 filter: two-argument on_request_headers, proxy_get_configuration, a missing
/// header read, and the 0.1.0 continue hostcall imported as `() -> i32`.
const V0_1_0: &str = r#"
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (call $log_num STR("config_status=") (call $get_configuration (i32.const 512) (i32.const 520)))
    (call $log_num STR("config_size=") (i32.load (i32.const 520)))
    (drop (call $proxy_log (i32.const 2) (i32.load (i32.const 512)) (i32.load (i32.const 520))))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (result i32)
    (call $log_num STR("headers=") (local.get $n))
    (i32.store (i32.const 528) (i32.const 77))
    (call $log_num STR("missing_status=")
      (call $get_value (i32.const 0) STR("x-missing") (i32.const 524) (i32.const 528)))
    (call $log_num STR("missing_size=") (i32.load (i32.const 528)))
    (call $log_num STR("path_status=")
      (call $get_value (i32.const 0) STR(":path") (i32.const 524) (i32.const 528)))
    (drop (call $proxy_log (i32.const 2) (i32.load (i32.const 524)) (i32.load (i32.const 528))))
    (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))
  (func (export "unused_continue") (result i32) (call $continue_request))
"#;

const V0_1_0_IMPORTS: &str = r#"
  (import "env" "proxy_get_configuration" (func $get_configuration (param i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_continue_request" (func $continue_request (result i32)))"#;

fn v0_1_0() -> Module {
    Module::from_bytes(wat::bytes(&Wat {
        marker: "proxy_abi_version_0_1_0",
        imports: V0_1_0_IMPORTS,
        body: V0_1_0,
        ..Wat::default()
    }))
    .expect("an ABI 0.1.0 module loads")
}

#[test]
fn abi_0_1_0_is_detected_and_served() {
    let module = v0_1_0();
    assert_eq!(module.abi(), AbiVersion::V0_1_0);
    let mut host = Host::builder(&module)
        .plugin_config("old-style-config")
        .build()
        .unwrap();
    assert_logged(&host, "config_status=0");
    assert_logged(&host, "config_size=16");
    assert_logged(&host, "old-style-config");
    let ex = host
        .http_exchange(&HttpRequest::get("/legacy"), &HttpResponse::ok())
        .unwrap();
    assert!(ex.upstream_request.is_some());
    // A missing header in 0.1.0: OK with an empty value (0.2.x says NOT_FOUND).
    assert_logged(&host, "missing_status=0");
    assert_logged(&host, "missing_size=0");
    assert_logged(&host, "path_status=0");
    assert_logged(&host, "/legacy");
}

#[test]
fn the_sdk_probe_is_abi_0_2_1() {
    assert_eq!(probe().abi(), AbiVersion::V0_2_1);
}

#[test]
fn abi_0_2_0_is_accepted() {
    let module = Module::from_bytes(wat::bytes(&Wat {
        marker: "proxy_abi_version_0_2_0",
        body: wat::LIFECYCLE,
        ..Wat::default()
    }))
    .unwrap();
    assert_eq!(module.abi(), AbiVersion::V0_2_0);
    Host::builder(&module).build().unwrap();
}

#[test]
fn a_module_without_a_marker_is_refused_clearly() {
    let bytes = wat::bytes(&Wat {
        marker: "",
        body: wat::LIFECYCLE,
        ..Wat::default()
    });
    let err = Module::from_bytes(&bytes).expect_err("no marker, no module");
    assert!(
        err.to_string()
            .contains("missing or unknown Proxy-Wasm ABI version"),
        "{err}"
    );
}

#[test]
fn the_vnext_marker_is_refused_like_envoy_does() {
    let bytes = wat::bytes(&Wat {
        marker: "proxy_abi_version_0_x_x",
        body: wat::LIFECYCLE,
        ..Wat::default()
    });
    let err = Module::from_bytes(&bytes).expect_err("vNEXT is not accepted");
    assert!(err.to_string().contains("ABI"), "{err}");
}

#[test]
fn garbage_is_not_a_module() {
    let err = Module::from_bytes(b"\0asm\x01\0\0\0garbage").expect_err("not wasm");
    assert!(!err.to_string().is_empty());
}

#[test]
fn a_filter_built_for_wasm32_unknown_unknown_runs_without_wasi() {
    let path = conformance_support::probe_unknown_unknown();
    let bytes = std::fs::read(&path).unwrap();
    // No WASI import at all: the harness must not need one.
    let imports: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .filter_map(Result::ok)
        .filter_map(|p| match p {
            wasmparser::Payload::ImportSection(r) => Some(
                r.into_imports()
                    .filter_map(Result::ok)
                    .map(|i| format!("{}.{}", i.module, i.name))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        !imports.iter().any(|i| i.starts_with("wasi")),
        "{imports:?}"
    );
    let module = Module::from_file(&path).unwrap();
    assert_eq!(module.abi(), AbiVersion::V0_2_1);
    let mut host = conformance_support::probe_builder(
        &module,
        "response_headers add_header resp x-target unknown-unknown
         request_headers get_header req :path",
    )
    .build()
    .unwrap();
    let ex = host
        .http_exchange(&HttpRequest::get("/uu"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(
        header(&ex.client_response.headers, "x-target"),
        Some("unknown-unknown")
    );
    assert_logged(&host, "request_headers.get_header req :path = 0 \"/uu\"");
    assert!(callbacks(&host).contains(&"> log ctx=2".to_string()));
}
