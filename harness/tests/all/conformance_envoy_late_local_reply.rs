//! Conformance (issue 15, Envoy behaviour 7): a local reply sent while the response is being
//! processed, as `FilterManager::sendLocalReply` (`source/common/http/filter_manager.cc`)
//! handles it: before the response headers reached the client it goes straight to the client
//! without re-entering the filter; after they did, the stream is reset and the client keeps
//! the status it already got.

use crate::conformance_support;

use conformance_support::{callback_names, header, probe_host};
use wasme_harness::{HttpRequest, HttpResponse};

#[test]
fn a_local_reply_after_the_response_headers_were_sent_resets_the_stream() {
    let mut host = probe_host("response_body local_reply 500 too-late oops");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("payload"))
        .unwrap();
    assert_eq!(ex.reset.as_deref(), Some("too-late"), "{ex:?}");
    assert!(ex.local_reply.is_none(), "{ex:?}");
    // The client keeps the 200 it already got; the local reply's body never reaches it.
    assert_eq!(ex.client_response.status(), Some(200), "{ex:?}");
    assert!(!ex.client_response.body.starts_with(b"oops"), "{ex:?}");
}

#[test]
fn a_local_reply_from_response_headers_goes_straight_to_the_client() {
    let mut host = probe_host("response_headers local_reply 502 replaced bad-upstream");
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("payload"))
        .unwrap();
    let resp = &ex.client_response;
    assert_eq!(resp.status(), Some(502), "{ex:?}");
    assert_eq!(resp.body.to_vec(), b"bad-upstream");
    assert_eq!(header(&resp.headers, "content-length"), Some("12"));
    assert!(ex.reset.is_none());
    // Not re-entering the filter: one on_response_headers (the upstream's), no body callback
    // for the reply.
    let names = callback_names(&host, 2);
    assert_eq!(
        names.iter().filter(|n| *n == "response_headers").count(),
        1,
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == "response_body"), "{names:?}");
}

#[test]
fn a_local_reply_while_the_response_headers_are_paused_still_reaches_the_client() {
    // Paused headers have not reached the client yet: the reply replaces them.
    let mut host = probe_host(
        "response_headers return 1
         response_headers local_reply 503 paused-reply later",
    );
    let ex = host
        .http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(ex.client_response.status(), Some(503), "{ex:?}");
    assert!(ex.reset.is_none(), "{ex:?}");
}
