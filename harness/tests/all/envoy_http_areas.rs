//! Conformance with Envoy's code for the areas issue 19 names (header maps, buffers, local
//! replies, metrics, gRPC, `proxy_close_stream`) and issue 20's host limit on pending callout
//! bytes and odd local-reply statuses and callback results. Each test names the Envoy (or
//! proxy-wasm-cpp-host) source it follows.

use crate::conformance_support::{
    assert_logged, assert_not_logged, callback_names, probe, probe_builder, result, results,
};
use wasme_harness::{FailureKind, FilterStatus, GrpcResponse, Host, HostLimits, Message, Module};

fn host(script: &str) -> Host {
    let module = probe();
    probe_builder(&module, script)
        .cluster("cluster")
        .build()
        .unwrap_or_else(|e| panic!("the probe starts: {e}"))
}

/// Runs one request with `headers` through `script`; returns the upstream request.
fn upstream(script: &str, headers: &[(&str, &str)]) -> (Host, Message) {
    let mut h = host(script);
    let up = {
        let mut s = h.http_stream().unwrap();
        s.request_headers(headers, true).unwrap();
        let up = s.upstream_request().expect("the request went upstream");
        s.response_headers(&[(":status", "200")], true).unwrap();
        s.finish().unwrap();
        up
    };
    (h, up)
}

fn pairs(m: &Message) -> Vec<(&str, &str)> {
    m.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

// --- Header maps: source/common/http/header_map_impl.cc -----------------------------------

/// `HeaderMapImpl::setCopy` = `remove` + `addCopy` (`http_set_copy_replace_all_headers`, on
/// since Envoy 1.22 and now unconditional): every value goes and the header moves to the end.
#[test]
fn replace_removes_every_value_and_moves_the_header_to_the_end() {
    let (_, up) = upstream(
        "request_headers replace_header req x-a new",
        &[(":path", "/"), ("x-a", "1"), ("x-b", "2"), ("x-a", "3")],
    );
    assert_eq!(
        pairs(&up),
        vec![(":path", "/"), ("x-b", "2"), ("x-a", "new")]
    );
}

/// `HeaderMapImpl::insertByKey`: adding to an inline header already present (`user-agent`)
/// appends with `delimiterByHeader` (`,`) instead of a second entry; an ordinary header
/// gets a second entry.
#[test]
fn add_to_an_inline_header_appends_with_a_comma() {
    let (_, up) = upstream(
        "request_headers add_header req user-agent b\nrequest_headers add_header req x-c 2",
        &[(":path", "/"), ("user-agent", "a"), ("x-c", "1")],
    );
    assert_eq!(
        pairs(&up),
        vec![
            (":path", "/"),
            ("user-agent", "a,b"),
            ("x-c", "1"),
            ("x-c", "2")
        ]
    );
}

/// `HeaderList::insert`: a pseudo-header added by the filter goes before every ordinary
/// header, after the existing pseudo-headers.
#[test]
fn an_added_pseudo_header_stays_before_ordinary_headers() {
    let (_, up) = upstream(
        "request_headers add_header req :scheme https",
        &[(":path", "/"), ("x-a", "1")],
    );
    assert_eq!(
        pairs(&up),
        vec![(":path", "/"), (":scheme", "https"), ("x-a", "1")]
    );
}

/// `Context::setHeaderMapPairs`: every key removed, each pair `addCopy`'d — pseudo-headers
/// first whatever their order, repeated inline headers merged.
#[test]
fn set_pairs_puts_pseudo_headers_first_and_merges_inline_headers() {
    let (_, up) = upstream(
        "request_headers set_pairs req x-a=1 :path=/new user-agent=a user-agent=b :method=GET",
        &[(":path", "/"), ("x-old", "1")],
    );
    assert_eq!(
        pairs(&up),
        vec![
            (":path", "/new"),
            (":method", "GET"),
            ("x-a", "1"),
            ("user-agent", "a,b")
        ]
    );
}

/// `Context::getHeaderMapSize` is `getMap(type)->byteSize()`: keys plus values of a live HTTP
/// map; BAD_ARGUMENT for a map outside its phase and for callout/gRPC maps (`getMap` has
/// only the four HTTP maps).
#[test]
fn header_map_size_is_byte_size_of_a_mutable_map_only() {
    let script = "
request_headers map_size req
request_body map_size req
request_headers http_call cluster 1000 :method=GET :path=/ :authority=a
http_call_response map_size call_headers
http_call_response get_pairs call_headers
";
    let mut h = host(script);
    {
        let mut s = h.http_stream().unwrap();
        s.request_headers(&[(":path", "/ab"), ("x", "yz")], false)
            .unwrap();
        s.request_body(b"x", true).unwrap();
        let token = s.host().pending_http_calls()[0].token;
        s.host()
            .respond_http_call(token, wasme_harness::HttpCallResponse::new(200))
            .unwrap();
        s.response_headers(&[(":status", "200")], true).unwrap();
        s.finish().unwrap();
    }
    // ":path" + "/ab" + "x" + "yz" = 5 + 3 + 1 + 2
    assert_eq!(result(&h, "request_headers.map_size req"), "0 11");
    assert_eq!(result(&h, "request_body.map_size req"), "2 0");
    assert!(result(&h, "http_call_response.map_size call_headers").starts_with("2 "));
    assert!(result(&h, "http_call_response.get_pairs call_headers").starts_with("0 hex="));
}

// --- Buffers: source/extensions/common/wasm/context.cc Buffer::copyFrom ---------------------

/// `Buffer::copyFrom`: a start inside the buffer other than 0 is BAD_ARGUMENT and changes
/// nothing; (0, n) drains n bytes and prepends.
#[test]
fn set_buffer_in_the_middle_is_bad_argument() {
    let script = "
request_body set_buffer req_body 2 1 x
request_body set_buffer req_body 0 2 AB
";
    let mut h = host(script);
    let body = {
        let mut s = h.http_stream().unwrap();
        s.request_headers(&[(":path", "/")], false).unwrap();
        s.request_body(b"hello", true).unwrap();
        let b = s.upstream_request().unwrap().body;
        s.response_headers(&[(":status", "200")], true).unwrap();
        s.finish().unwrap();
        b
    };
    assert_eq!(result(&h, "request_body.set_buffer req_body 2 1 x"), "2");
    assert_eq!(result(&h, "request_body.set_buffer req_body 0 2 AB"), "0");
    assert_eq!(body, b"ABllo");
}

// --- Local replies: context.cc sendLocalResponse, source/common/http/utility.cc -------------

fn local_reply_client(script: &str, request: &[(&str, &str)]) -> (Host, Message, String) {
    let mut h = host(script);
    let (client, details) = {
        let mut s = h.http_stream().unwrap();
        assert_eq!(
            s.request_headers(request, true).unwrap(),
            FilterStatus::LocalReply
        );
        let details = s.local_reply().unwrap().details;
        let c = s.client_response().unwrap();
        s.finish().unwrap();
        (c, details)
    };
    (h, client, details)
}

/// `StringUtil::replaceAllEmptySpace`: the details Envoy records have each space replaced by
/// `_`.
#[test]
fn local_reply_details_have_spaces_replaced() {
    let (_, _, details) = local_reply_client(
        "request_headers local_reply 403 access%20denied%09now -",
        &[(":path", "/")],
    );
    assert_eq!(details, "access_denied_now");
}

/// `Utility::prepareLocalReply`: an empty body removes `content-length` and `content-type`
/// (even ones the filter set); the filter's other headers stay.
#[test]
fn empty_local_reply_has_no_content_length_or_type() {
    let (_, client, _) = local_reply_client(
        "request_headers local_reply 204 d - content-type=text/html x-a=1",
        &[(":path", "/")],
    );
    assert_eq!(pairs(&client), vec![(":status", "204"), ("x-a", "1")]);
    assert_eq!(client.body, b"");
}

/// `Utility::prepareLocalReply`: a body sets `content-length`, and `content-type:
/// text/plain` only when the filter gave none.
#[test]
fn local_reply_with_a_body_keeps_the_filters_content_type() {
    let (_, client, _) = local_reply_client(
        "request_headers local_reply 403 d denied content-type=application/json",
        &[(":path", "/")],
    );
    assert_eq!(
        pairs(&client),
        vec![
            (":status", "403"),
            ("content-type", "application/json"),
            ("content-length", "6")
        ]
    );
}

/// `sendLocalResponse`: a gRPC status outside 0..=16 is no status (`grpc_status_code`
/// stays `nullopt`); for a gRPC request Envoy then maps the HTTP status
/// (`httpToGrpcStatus(403)` = PERMISSION_DENIED 7), and `~` is percent-encoded in
/// `grpc-message` (`PercentEncoding::encode`: `ch >= '~'`).
#[test]
fn grpc_local_reply_with_an_invalid_grpc_status_maps_the_http_status() {
    let (_, client, _) = local_reply_client(
        "request_headers local_reply_grpc 403 99 d a~b",
        &[(":path", "/"), ("content-type", "application/grpc")],
    );
    assert_eq!(
        pairs(&client),
        vec![
            (":status", "200"),
            ("content-type", "application/grpc"),
            ("grpc-status", "7"),
            ("grpc-message", "a%7Eb")
        ]
    );
}

/// `sendLocalResponse` passes the status on unchecked (`static_cast<Http::Code>`), and
/// `prepareLocalReply` writes it as `std::to_string(enumToInt(code))`: a status of 0 is
/// `:status: 0`.
#[test]
fn local_reply_status_zero_is_passed_on_as_is() {
    let (_, client, _) = local_reply_client("request_headers local_reply 0 d -", &[(":path", "/")]);
    assert_eq!(pairs(&client), vec![(":status", "0")]);
}

/// The same for 4294967295 (the largest u32): `:status: 4294967295`.
#[test]
fn local_reply_status_u32_max_is_passed_on_as_is() {
    let (_, client, _) = local_reply_client(
        "request_headers local_reply 4294967295 d -",
        &[(":path", "/")],
    );
    assert_eq!(pairs(&client), vec![(":status", "4294967295")]);
}

// --- Callback results outside the enum: proxy-wasm-cpp-host src/context.cc ----------------

fn raw_results_module(headers: u32, body: u32) -> Module {
    let body = format!(
        r#"
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const {headers}))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) (i32.const {body}))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))
"#
    );
    let w = crate::conformance_support::wat::Wat {
        body: &body,
        ..Default::default()
    };
    Module::from_bytes(crate::conformance_support::wat::bytes(&w)).unwrap()
}

/// `ContextBase::convertVmCallResultToFilterHeadersStatus`: a headers result above
/// StopAllIterationAndWatermark (4) is StopAllIterationAndWatermark — the request is held,
/// without an error (Envoy logs nothing either).
#[test]
fn headers_result_outside_the_enum_stops_all_iteration() {
    let module = raw_results_module(7, 0);
    let mut h = Host::builder(&module).build().unwrap();
    let mut s = h.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], true).unwrap(),
        FilterStatus::Pause
    );
    assert!(s.upstream_request().is_none());
    s.finish().unwrap();
    assert!(h.failure().is_none());
}

/// `ContextBase::convertVmCallResultToFilterDataStatus`: a body result above
/// StopIterationNoBuffer (3) is StopIterationNoBuffer — the body is held.
#[test]
fn body_result_outside_the_enum_stops_iteration() {
    let module = raw_results_module(0, 4_294_967_295);
    let mut h = Host::builder(&module).build().unwrap();
    let mut s = h.http_stream().unwrap();
    s.request_headers(&[(":path", "/")], false).unwrap();
    assert_eq!(s.request_body(b"x", true).unwrap(), FilterStatus::Pause);
    assert_eq!(s.upstream_request().unwrap().body, b"");
    s.finish().unwrap();
    assert!(h.failure().is_none());
}

/// ContinueAndEndStream (2) passes through cpp-host and is `default:` Continue in Envoy's
/// `convertFilterHeadersStatus`.
#[test]
fn headers_result_continue_and_end_stream_continues() {
    let module = raw_results_module(2, 0);
    let mut h = Host::builder(&module).build().unwrap();
    let mut s = h.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], true).unwrap(),
        FilterStatus::Continue
    );
    s.finish().unwrap();
}

// --- Metrics: context.cc incrementMetric / recordMetric / getMetric -------------------------

/// The type in a metric id's low bits decides before the lookup: increment and get on a
/// histogram id (defined or not) or type 3 are BAD_ARGUMENT; an undefined counter or gauge
/// id is NOT_FOUND; record on any undefined id (even type 3) is NOT_FOUND.
#[test]
fn metric_operations_on_ids_of_the_wrong_type() {
    let script = "
configure define_metric 2 h
configure incr $m 1
configure get_metric $m
configure record $m 5
configure incr 10 1
configure get_metric 10
configure incr 7 1
configure get_metric 7
configure record 7 1
configure incr 100 1
configure get_metric 101
configure record 102 1
";
    let h = host(script);
    let id: u32 = result(&h, "configure.define_metric 2 h")
        .trim_start_matches("0 id=")
        .parse()
        .unwrap();
    assert_eq!(id & 3, 2);
    assert_eq!(result(&h, &format!("configure.incr {id} 1")), "2");
    assert!(result(&h, &format!("configure.get_metric {id}")).starts_with("2"));
    assert_eq!(result(&h, &format!("configure.record {id} 5")), "0");
    assert_eq!(result(&h, "configure.incr 10 1"), "2");
    assert!(result(&h, "configure.get_metric 10").starts_with("2"));
    assert_eq!(result(&h, "configure.incr 7 1"), "2");
    assert!(result(&h, "configure.get_metric 7").starts_with("2"));
    assert_eq!(result(&h, "configure.record 7 1"), "1");
    assert_eq!(result(&h, "configure.incr 100 1"), "1");
    assert!(result(&h, "configure.get_metric 101").starts_with("1"));
    assert_eq!(result(&h, "configure.record 102 1"), "1");
}

// --- gRPC: source/common/grpc/async_client_impl.cc, context.cc ------------------------------

/// Opens the call or stream of `script` on a stream and answers it with `answer` while the
/// stream is alive; returns the host and the token.
fn grpc_host(script: &str, answer: GrpcResponse) -> (Host, u32) {
    let mut h = host(script);
    let token = {
        let mut s = h.http_stream().unwrap();
        s.request_headers(&[(":path", "/")], false).unwrap();
        let token = s.host().pending_grpc_calls()[0].token;
        s.host().respond_grpc_call(token, answer).unwrap();
        token
    };
    (h, token)
}

/// `AsyncRequestImpl::onRemoteClose`: a unary call answered OK without a message fails with
/// INTERNAL (13) and an empty message.
#[test]
fn unary_grpc_ok_without_a_message_is_internal() {
    let (h, token) = grpc_host(
        "request_headers grpc_call cluster s m req 0\ngrpc_call_response get_status",
        GrpcResponse::default(),
    );
    assert_logged(
        &h,
        &format!("> grpc_call_response ctx=2 token={token} status=13 size=0"),
    );
    assert_eq!(
        result(&h, "grpc_call_response.get_status"),
        "0 code=13 msg=\"\""
    );
}

/// `AsyncRequestImpl::onReceiveMessageRaw` keeps the last message: a unary call answered with
/// several gets one on_grpc_receive with the last.
#[test]
fn unary_grpc_with_several_messages_delivers_the_last() {
    let answer = GrpcResponse {
        messages: vec![b"first".to_vec(), b"second!".to_vec()],
        ..Default::default()
    };
    let (h, _) = grpc_host(
        "request_headers grpc_call cluster s m req 0\ngrpc_call_response get_buffer grpc 0 -1",
        answer,
    );
    assert_eq!(
        results(&h, "grpc_call_response.get_buffer grpc 0 -1"),
        vec!["0 \"second!\""]
    );
}

/// `AsyncStreamImpl::onTrailers` / `streamError`: a stream that ends in an error still
/// delivers its initial and trailing metadata before on_grpc_close; a unary call
/// (`AsyncRequestImpl`) never delivers metadata.
#[test]
fn stream_error_delivers_metadata_before_close() {
    let (h, token) = grpc_host(
        "request_headers grpc_stream cluster s m",
        GrpcResponse::error(14, "unavailable"),
    );
    let names: Vec<String> = callback_names(&h, 2)
        .into_iter()
        .filter(|n| n.starts_with("grpc_"))
        .collect();
    assert_eq!(
        names,
        vec![
            "grpc_initial_metadata",
            "grpc_trailing_metadata",
            "grpc_stream_close"
        ]
    );
    assert_logged(
        &h,
        &format!("> grpc_stream_close ctx=2 token={token} status=14"),
    );
}

/// A unary call's error reaches only the close.
#[test]
fn unary_grpc_error_delivers_no_metadata() {
    let answer = GrpcResponse {
        initial_metadata: vec![("a".into(), "1".into())],
        trailing_metadata: vec![("b".into(), "2".into())],
        ..GrpcResponse::error(14, "x")
    };
    let (h, token) = grpc_host("request_headers grpc_call cluster s m req 0", answer);
    assert_not_logged(&h, "> grpc_initial_metadata");
    assert_not_logged(&h, "> grpc_trailing_metadata");
    assert_logged(
        &h,
        &format!("> grpc_call_response ctx=2 token={token} status=14 size=0"),
    );
}

/// Envoy's `GrpcCall` test: a service name that is neither a GrpcService nor a known cluster
/// is PARSE_FAILURE, for calls and streams.
#[test]
fn grpc_to_an_unknown_cluster_is_parse_failure() {
    let h = host("configure grpc_call nowhere s m req 0\nconfigure grpc_stream nowhere s m");
    assert_eq!(result(&h, "configure.grpc_call nowhere s m req 0"), "4");
    assert_eq!(result(&h, "configure.grpc_stream nowhere s m"), "4");
}

/// `Context::grpcCancel`/`grpcClose` on an HTTP callout's token (kind 0) or kind 3 are
/// BAD_ARGUMENT; `grpcSend` on a call's token is BAD_ARGUMENT.
#[test]
fn grpc_cancel_and_close_on_a_token_of_another_kind() {
    let h = host(
        "
configure http_call cluster 1000 :method=GET :path=/ :authority=a
configure grpc_call cluster s m req 0
configure grpc_cancel $t
configure grpc_close $t
configure grpc_cancel 7
configure grpc_close 7
configure grpc_send $g x 0
",
    );
    let t: u32 = result(
        &h,
        "configure.http_call cluster 1000 :method=GET :path=/ :authority=a",
    )
    .trim_start_matches("0 token=")
    .parse()
    .unwrap();
    let g: u32 = result(&h, "configure.grpc_call cluster s m req 0")
        .trim_start_matches("0 token=")
        .parse()
        .unwrap();
    assert_eq!(result(&h, &format!("configure.grpc_cancel {t}")), "2");
    assert_eq!(result(&h, &format!("configure.grpc_close {t}")), "2");
    assert_eq!(result(&h, "configure.grpc_cancel 7"), "2");
    assert_eq!(result(&h, "configure.grpc_close 7"), "2");
    assert_eq!(result(&h, &format!("configure.grpc_send {g} x 0")), "2");
    assert_eq!(h.pending_http_calls().len(), 1);
    assert_eq!(h.pending_grpc_calls().len(), 1);
}

// --- proxy_close_stream in an HTTP filter: context.cc closeStream ---------------------------

/// Downstream/upstream on an HTTP stream: no network callbacks, so OK and nothing happens.
#[test]
fn close_downstream_or_upstream_in_an_http_filter_is_ok_and_does_nothing() {
    let mut h = host("request_headers close downstream\nrequest_headers close upstream");
    let mut s = h.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], true).unwrap(),
        FilterStatus::Continue
    );
    assert!(s.reset_details().is_none());
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    assert_eq!(result(&h, "request_headers.close downstream"), "0");
    assert_eq!(result(&h, "request_headers.close upstream"), "0");
}

/// `closeStream(Response)` from a request callback resets the whole stream too (both use the
/// stream's `resetStream`).
#[test]
fn close_response_from_the_request_path_resets_the_stream() {
    let mut h = host("request_headers close response");
    let mut s = h.http_stream().unwrap();
    assert_eq!(
        s.request_headers(&[(":path", "/")], true).unwrap(),
        FilterStatus::Reset
    );
    assert_eq!(s.reset_details().as_deref(), Some("wasm_close_stream"));
    s.finish().unwrap();
}

// --- Issue 20 item 3: the total bytes of pending callouts per VM ----------------------------

/// Many large callouts to a cluster that never answers: the sum of pending bodies is bounded
/// by `pending_callout_bytes`; crossing it fails the VM with a message naming the limit.
#[test]
fn pending_callout_bytes_are_bounded_in_total() {
    let module = probe();
    let body = "x".repeat(64 * 1024);
    let mut script = String::new();
    for _ in 0..20 {
        script.push_str(&format!(
            "request_headers http_call cluster 0 :method=POST :path=/ :authority=a body={body}\n"
        ));
    }
    let limits = HostLimits {
        pending_callout_bytes: 512 * 1024,
        ..HostLimits::default()
    };
    let mut h = probe_builder(&module, &script)
        .cluster("cluster")
        .limits(limits)
        .build()
        .unwrap();
    let pending = {
        let mut s = h.http_stream().unwrap();
        let _ = s.request_headers(&[(":path", "/")], true);
        let calls = s.host().pending_http_calls();
        assert!(
            calls.len() >= 7,
            "{} callouts made before the limit",
            calls.len()
        );
        calls.iter().map(|c| c.body.len()).sum::<usize>()
    };
    assert!(pending <= 512 * 1024, "{pending} bytes pending");
    let failure = h.failure().expect("the VM failed at the limit");
    assert_eq!(failure.kind, FailureKind::HostLimit);
    assert!(
        failure.message.contains("pending_callout_bytes"),
        "{}",
        failure.message
    );
}

// --- proxy-wasm-cpp-host test/stop_iteration_test.cc ---------------------------------------

/// `TestVm.AllowOnRequestHeadersStopIteration` (its default half): without Envoy's opt-in
/// `allow_on_headers_stop_iteration` (default false, `context.cc`
/// `DefaultAllowOnHeadersStopIteration`), StopIteration (1) from on_request_headers becomes
/// StopAllIterationAndWatermark (`convertVmCallResultToFilterHeadersStatus`): the body is
/// withheld from the filter and the upstream until the stream continues. The opt-in itself
/// (StopIteration passed through) is not modelled.
#[test]
fn headers_stop_iteration_withholds_the_body_by_default() {
    let mut h = host("request_headers return 1\nrequest_body log 2 body-seen");
    {
        let mut s = h.http_stream().unwrap();
        assert_eq!(
            s.request_headers(&[(":path", "/")], false).unwrap(),
            FilterStatus::Pause
        );
        assert_eq!(s.request_body(b"abc", true).unwrap(), FilterStatus::Pause);
        assert!(s.upstream_request().is_none());
        s.finish().unwrap();
    }
    assert_not_logged(&h, "request_body.log");
    assert!(h.failure().is_none());
}
