//! Conformance: what is available in which phase, with Envoy's statuses (reference §5, §6).

use crate::conformance_support;

use conformance_support::{assert_logged, header, probe_host, result};
use wasme_harness::{HttpRequest, HttpResponse};

#[test]
fn request_headers_are_forgotten_after_continue() {
    let mut host = probe_host(
        "response_headers get_header req :path
         response_headers get_pairs req
         response_headers add_header req x-late v
         response_headers map_size req",
    );
    host.http_exchange(&HttpRequest::get("/p"), &HttpResponse::ok())
        .unwrap();
    // get-value: BAD_ARGUMENT (the SDK panics "unexpected status: 2"); get-pairs: OK, empty.
    assert_logged(&host, "response_headers.get_header req :path = 2");
    assert_logged(&host, "response_headers.get_pairs req = 0 hex= pairs=[]");
    assert_logged(&host, "response_headers.add_header req x-late v = 2");
}

#[test]
fn on_log_reads_the_final_request_and_response_headers() {
    let mut host = probe_host(
        "request_headers replace_header req x-final from-filter
         log get_header req :path
         log get_header req x-final
         log get_header resp :status
         log get_header resp x-up
         log get_header req x-missing
         log add_header req x-in-log v",
    );
    host.http_exchange(
        &HttpRequest::get("/logged"),
        &HttpResponse::ok().header("x-up", "u"),
    )
    .unwrap();
    assert_logged(&host, "log.get_header req :path = 0 \"/logged\"");
    assert_logged(&host, "log.get_header req x-final = 0 \"from-filter\"");
    assert_logged(&host, "log.get_header resp :status = 0 \"200\"");
    assert_logged(&host, "log.get_header resp x-up = 0 \"u\"");
    assert_logged(&host, "log.get_header req x-missing = 1");
    assert_logged(&host, "log.add_header req x-in-log v = 2");
}

#[test]
fn response_headers_are_mutable_in_on_response_headers_only() {
    let mut host = probe_host(
        "request_headers add_header resp x-early v
         response_headers add_header resp x-resp v",
    );
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_logged(&host, "request_headers.add_header resp x-early v = 2");
    assert_logged(&host, "response_headers.add_header resp x-resp v = 0");
    assert_eq!(header(&ex.client_response.headers, "x-resp"), Some("v"));
    assert_eq!(header(&ex.client_response.headers, "x-early"), None);
}

#[test]
fn body_buffers_outside_their_phase_are_not_found() {
    let mut host = probe_host(
        "request_headers get_buffer req_body 0 100
         response_headers get_buffer req_body 0 100
         response_headers get_buffer resp_body 0 100",
    );
    host.http_exchange(
        &HttpRequest::post("/", "request-body"),
        &HttpResponse::ok().body("response-body"),
    )
    .unwrap();
    assert_logged(&host, "request_headers.get_buffer req_body 0 100 = 1");
    assert_logged(&host, "response_headers.get_buffer req_body 0 100 = 1");
    assert_logged(&host, "response_headers.get_buffer resp_body 0 100 = 1");
}

#[test]
fn plugin_configuration_is_readable_only_in_on_configure_and_vm_configuration_always() {
    let script = "configure get_buffer plugin_config 0 4294967295
         request_headers get_buffer plugin_config 0 4294967295
         request_headers get_buffer vm_config 0 4294967295";
    let module = conformance_support::probe();
    let mut host = conformance_support::probe_builder(&module, script)
        .vm_config("vm-config-bytes")
        .build()
        .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let configured = result(&host, "configure.get_buffer plugin_config 0 4294967295");
    assert!(
        configured.starts_with("0 \"configure get_buffer plugin_config"),
        "{configured}"
    );
    assert_logged(
        &host,
        "request_headers.get_buffer plugin_config 0 4294967295 = 1",
    );
    // The vm configuration is the VM script: "vm-config-bytes" is no step, the probe only
    // reports it as a problem; reading it back must give the bytes.
    assert_logged(
        &host,
        "request_headers.get_buffer vm_config 0 4294967295 = 0 \"vm-config-bytes\"",
    );
}

#[test]
fn request_trailers_can_be_added_from_the_last_request_body_callback() {
    let mut host = probe_host("request_body add_header req_trailers x-added-trailer t");
    let ex = host
        .http_exchange(&HttpRequest::post("/", "payload"), &HttpResponse::ok())
        .unwrap();
    assert_logged(
        &host,
        "request_body.add_header req_trailers x-added-trailer t = 0",
    );
    let up = ex
        .upstream_request
        .expect("the request reaches the upstream");
    assert_eq!(header(&up.trailers, "x-added-trailer"), Some("t"), "{up:?}");
}

#[test]
fn http_call_response_maps_exist_only_inside_on_http_call_response() {
    let mut host = probe_host(
        "request_headers get_header call_headers :status
         request_headers get_pairs call_headers
         request_headers get_buffer call_body 0 10",
    );
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_logged(&host, "request_headers.get_header call_headers :status = 2");
    assert_logged(
        &host,
        "request_headers.get_pairs call_headers = 0 hex= pairs=[]",
    );
    assert_logged(&host, "request_headers.get_buffer call_body 0 10 = 1");
}

#[test]
fn a_map_type_or_buffer_type_out_of_range_is_bad_argument() {
    let mut host = probe_host(
        "request_headers get_header 8 x
         request_headers get_buffer 9 0 10
         request_headers log 6 too-high",
    );
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_logged(&host, "request_headers.get_header 8 x = 2");
    assert_logged(&host, "request_headers.get_buffer 9 0 10 = 2");
    assert_logged(&host, "request_headers.log 6 too-high = 2");
}
