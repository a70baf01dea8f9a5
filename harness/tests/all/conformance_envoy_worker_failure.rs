//! Conformance (issue 15, Envoy behaviour 4): a plugin whose VM fails after start. Envoy
//! configures a plugin again on every worker (`source/extensions/common/wasm/wasm.cc`,
//! `getOrCreateThreadLocalPlugin`) after the main thread's VM started; when that configure fails
//! (or the VM traps later) the listener is already accepted, so each request meets the failure
//! policy (`source/extensions/filters/http/wasm/wasm_filter.h`: fail-closed → 503
//! `wasm_fail_stream`, fail-open → skipped).

use crate::conformance_support;

use conformance_support::{probe, probe_builder, probe_host};
use wasme_harness::{FailureKind, FailurePolicy, HttpRequest, HttpResponse};

#[test]
fn a_worker_that_refuses_its_configuration_fails_every_request_closed() {
    let mut host = probe_host("");
    assert!(host.failure().is_none());
    let ok = host
        .reconfigure(0, Some(b"configure return 0".as_slice()))
        .unwrap();
    assert!(!ok, "on_configure returned false");
    let failure = host.failure().expect("the VM has failed").clone();
    assert_eq!(failure.kind, FailureKind::ConfigureFailed);
    assert_eq!(failure.callback, "proxy_on_configure");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert!(ex.upstream_request.is_none());
    let reply = ex.local_reply.expect("fail-closed answers");
    assert_eq!(
        (reply.status, reply.details.as_str()),
        (503, "wasm_fail_stream")
    );
    assert_eq!(ex.client_response.status(), Some(503));
}

#[test]
fn a_worker_that_refuses_its_configuration_is_skipped_under_fail_open() {
    let mut host = probe_builder(&probe(), "")
        .failure_policy(FailurePolicy::FailOpen)
        .build()
        .unwrap();
    assert!(
        !host
            .reconfigure(0, Some(b"configure return 0".as_slice()))
            .unwrap()
    );
    let ex = host
        .http_exchange(&HttpRequest::get("/ok"), &HttpResponse::ok())
        .unwrap();
    assert!(ex.local_reply.is_none(), "{ex:?}");
    let up = ex.upstream_request.expect("the request goes on unfiltered");
    assert_eq!(up.header(":path"), Some("/ok"));
}

#[test]
fn a_worker_configure_that_traps_fails_the_vm_too() {
    let mut host = probe_host("");
    assert!(
        !host
            .reconfigure(0, Some(b"configure panic boom".as_slice()))
            .unwrap()
    );
    assert_eq!(host.failure().map(|f| f.kind), Some(FailureKind::Trap));
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(503));
}

#[test]
fn reconfiguring_with_a_good_configuration_keeps_the_plugin_working() {
    let mut host = probe_host("");
    assert!(host.reconfigure(0, None).unwrap());
    assert!(host.failure().is_none());
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert!(ex.upstream_request.is_some());
    assert!(host.reconfigure(7, None).is_err(), "no plugin 7");
}
