//! Conformance: gRPC calls and streams (reference §6).

use crate::conformance_support;

use conformance_support::{assert_logged, callbacks, probe, probe_builder};
use wasme_harness::{GrpcResponse, Host};

fn host(script: &str) -> Host {
    let module = probe();
    probe_builder(&module, script)
        .cluster("grpc-backend")
        .build()
        .unwrap()
}

#[test]
fn a_unary_call_is_answered_with_its_message() {
    let mut h = host(
        "configure grpc_call grpc-backend pkg.Echo Say hello 1000
         grpc_call_response get_buffer grpc 0 100",
    );
    assert_logged(
        &h,
        "configure.grpc_call grpc-backend pkg.Echo Say hello 1000 = 0 token=5",
    );
    let calls = h.pending_grpc_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!((call.token, call.is_stream), (5, false));
    assert_eq!(call.service, "pkg.Echo");
    assert_eq!(call.method, "Say");
    assert_eq!(call.messages, [b"hello".to_vec()]);
    h.respond_grpc_call(5, GrpcResponse::ok("world")).unwrap();
    assert!(
        callbacks(&h).contains(&"> grpc_call_response ctx=1 token=5 status=0 size=5".to_string()),
        "{:?}",
        callbacks(&h)
    );
    assert_logged(&h, "grpc_call_response.get_buffer grpc 0 100 = 0 \"world\"");
}

#[test]
fn a_failed_unary_call_closes_with_its_status_and_message() {
    let mut h = host(
        "configure grpc_call grpc-backend pkg.Echo Say hello 1000
         grpc_call_response get_status",
    );
    h.respond_grpc_call(5, GrpcResponse::error(14, "unavailable"))
        .unwrap();
    assert!(
        callbacks(&h).contains(&"> grpc_call_response ctx=1 token=5 status=14 size=0".to_string()),
        "{:?}",
        callbacks(&h)
    );
    assert_logged(
        &h,
        "grpc_call_response.get_status = 0 code=14 msg=\"unavailable\"",
    );
}

#[test]
fn a_stream_delivers_metadata_messages_trailers_then_close() {
    let mut h = host(
        "configure grpc_stream grpc-backend pkg.Chat Talk
         configure grpc_send $s first 0
         configure grpc_send $s last 1
         grpc_initial_metadata get_header grpc_initial x-init
         grpc_message get_buffer grpc 0 100
         grpc_trailing_metadata get_header grpc_trailing x-trail",
    );
    assert_logged(
        &h,
        "configure.grpc_stream grpc-backend pkg.Chat Talk = 0 token=6",
    );
    assert_logged(&h, "configure.grpc_send 6 first 0 = 0");
    assert_logged(&h, "configure.grpc_send 6 last 1 = 0");
    let calls = h.pending_grpc_calls();
    let stream = calls
        .iter()
        .find(|c| c.token == 6)
        .expect("the stream is pending");
    assert!(stream.is_stream);
    assert_eq!(stream.messages, [b"first".to_vec(), b"last".to_vec()]);
    assert!(stream.local_closed);
    let reply = GrpcResponse {
        initial_metadata: vec![("x-init".into(), "i".into())],
        messages: vec![b"m1".to_vec(), b"m2".to_vec()],
        trailing_metadata: vec![("x-trail".into(), "t".into())],
        status: 0,
        status_message: String::new(),
    };
    h.respond_grpc_call(6, reply).unwrap();
    let order: Vec<String> = callbacks(&h)
        .into_iter()
        .filter(|e| e.starts_with("> grpc_"))
        .collect();
    assert_eq!(
        order,
        [
            "> grpc_initial_metadata ctx=1 token=6 n=1",
            "> grpc_message ctx=1 token=6 size=2",
            "> grpc_message ctx=1 token=6 size=2",
            "> grpc_trailing_metadata ctx=1 token=6 n=1",
            "> grpc_stream_close ctx=1 token=6 status=0",
        ]
    );
    assert_logged(
        &h,
        "grpc_initial_metadata.get_header grpc_initial x-init = 0 \"i\"",
    );
    assert_eq!(
        conformance_support::results(&h, "grpc_message.get_buffer grpc 0 100"),
        ["0 \"m1\"", "0 \"m2\""]
    );
    assert_logged(
        &h,
        "grpc_trailing_metadata.get_header grpc_trailing x-trail = 0 \"t\"",
    );
}

/// Envoy's `Context::grpcCancel`/`grpcClose`: an unknown token of the call kind (low bits 1)
/// is NOT_FOUND, a token of neither gRPC kind (low bits 3, as 999) BAD_ARGUMENT. (This test
/// once expected NOT_FOUND for 999; Envoy's code checks the kind first.)
#[test]
fn send_only_on_streams_and_cancel_or_close_of_unknown_tokens_is_not_found() {
    let h = host(
        "configure grpc_call grpc-backend pkg.Echo Say hello 1000
         configure grpc_send $g more 0
         configure grpc_cancel 997
         configure grpc_close 997
         configure grpc_cancel 999
         configure grpc_close 999
         configure grpc_stream grpc-backend pkg.Chat Talk
         configure grpc_call grpc-backend pkg.Echo Say again 1000",
    );
    assert_logged(&h, "configure.grpc_send 5 more 0 = 2");
    assert_logged(&h, "configure.grpc_cancel 997 = 1");
    assert_logged(&h, "configure.grpc_close 997 = 1");
    assert_logged(&h, "configure.grpc_cancel 999 = 2");
    assert_logged(&h, "configure.grpc_close 999 = 2");
    // Calls 5, 9, …; streams 6, 10, ….
    assert_logged(
        &h,
        "configure.grpc_stream grpc-backend pkg.Chat Talk = 0 token=6",
    );
    assert_logged(
        &h,
        "configure.grpc_call grpc-backend pkg.Echo Say again 1000 = 0 token=9",
    );
}
