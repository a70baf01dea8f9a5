//! Conformance: header maps — the wire format (the golden vector), key lower-casing, missing
//! and repeated headers (reference §3, §5).

use crate::conformance_support;

use conformance_support::{assert_logged, header, probe_host, result};
use wasme_harness::{HttpRequest, HttpResponse};

/// The golden vector of reference §3, with the key `Powered-By` as Envoy stores it (lower-case:
/// Envoy's header maps only hold lower-case keys).
fn golden(powered_by: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [4u32, 7, 3, 5, 8, 10, 11, 10, 10] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.extend_from_slice(b":method\0GET\0:path\0/bytes/1\0:authority\0httpbin.org\0");
    v.extend_from_slice(powered_by.as_bytes());
    v.extend_from_slice(b"\0proxy-wasm\0");
    v
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn golden_vector_words_match_the_reference_hex() {
    // The reference gives the words as hex; make sure the helper above is that vector.
    let words = "04000000070000000300000005000000080000000a0000000b0000000a0000000a000000";
    assert!(hex(&golden("Powered-By")).starts_with(words));
}

#[test]
fn get_header_map_pairs_encodes_the_golden_vector() {
    let mut host = probe_host("request_headers get_pairs req");
    // Exactly the four headers of the vector, in order, through the step-by-step stream.
    let mut s = host.http_stream().unwrap();
    s.request_headers(
        &[
            (":method", "GET"),
            (":path", "/bytes/1"),
            (":authority", "httpbin.org"),
            ("powered-by", "proxy-wasm"),
        ],
        true,
    )
    .unwrap();
    s.response_headers(&[(":status", "200")], true).unwrap();
    s.finish().unwrap();
    let got = result(&host, "request_headers.get_pairs req");
    let want = format!("0 hex={}", hex(&golden("powered-by")));
    assert!(
        got.starts_with(&want),
        "get_header_map_pairs returned\n  {got}\nexpected the golden vector\n  {want}"
    );
}

#[test]
fn set_header_map_pairs_decodes_the_golden_vector_and_lower_cases_keys() {
    let script = format!(
        "request_headers set_pairs_hex req {}",
        hex(&golden("Powered-By"))
    );
    let mut host = probe_host(&script);
    let ex = host
        .http_exchange(
            &HttpRequest::get("/original").header("x-dropped", "1"),
            &HttpResponse::ok(),
        )
        .unwrap();
    assert_logged(
        &host,
        &format!(
            "request_headers.set_pairs_hex req {} = 0",
            hex(&golden("Powered-By"))
        ),
    );
    let up = ex
        .upstream_request
        .expect("the request reaches the upstream");
    let headers = up.headers.clone();
    assert_eq!(header(&headers, ":method"), Some("GET"));
    assert_eq!(header(&headers, ":path"), Some("/bytes/1"));
    assert_eq!(header(&headers, ":authority"), Some("httpbin.org"));
    assert_eq!(
        header(&headers, "x-dropped"),
        None,
        "set replaces the whole map"
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "powered-by" && v == "proxy-wasm"),
        "the key is lower-cased: {headers:?}"
    );
}

#[test]
fn header_keys_are_lower_cased_on_add_replace_and_remove() {
    let mut host = probe_host(
        "request_headers add_header req X-Added v1
         request_headers replace_header req X-Replaced v2
         request_headers remove_header req X-Remove-Me
         response_headers add_header resp X-Resp-Added r1",
    );
    let ex = host
        .http_exchange(
            &HttpRequest::get("/").header("x-remove-me", "gone"),
            &HttpResponse::ok(),
        )
        .unwrap();
    assert_logged(&host, "request_headers.add_header req X-Added v1 = 0");
    assert_logged(
        &host,
        "request_headers.replace_header req X-Replaced v2 = 0",
    );
    assert_logged(&host, "request_headers.remove_header req X-Remove-Me = 0");
    let up = ex
        .upstream_request
        .expect("the request reaches the upstream");
    let keys: Vec<&str> = up.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"x-added"), "{keys:?}");
    assert!(keys.contains(&"x-replaced"), "{keys:?}");
    assert!(
        !keys.contains(&"X-Added") && !keys.contains(&"X-Replaced"),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.eq_ignore_ascii_case("x-remove-me")),
        "{keys:?}"
    );
    let client: Vec<&str> = ex
        .client_response
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(client.contains(&"x-resp-added"), "{client:?}");
}

#[test]
fn a_missing_header_is_not_found_in_abi_0_2() {
    let mut host = probe_host("request_headers get_header req x-missing");
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_logged(&host, "request_headers.get_header req x-missing = 1");
}

#[test]
fn get_value_returns_the_first_of_repeated_headers() {
    let mut host = probe_host(
        "request_headers get_header req x-rep
         request_headers map_size req",
    );
    host.http_exchange(
        &HttpRequest::get("/")
            .header("x-rep", "first")
            .header("x-rep", "second"),
        &HttpResponse::ok(),
    )
    .unwrap();
    assert_logged(&host, "request_headers.get_header req x-rep = 0 \"first\"");
}

#[test]
fn get_value_is_exact_for_present_headers_and_reads_pseudo_headers() {
    let mut host = probe_host(
        "request_headers get_header req :path
         request_headers get_header req :method
         response_headers get_header resp :status
         response_headers get_header resp content-type",
    );
    host.http_exchange(
        &HttpRequest::get("/some/path?x=1"),
        &HttpResponse::ok().header("content-type", "text/plain"),
    )
    .unwrap();
    assert_logged(
        &host,
        "request_headers.get_header req :path = 0 \"/some/path?x=1\"",
    );
    assert_logged(&host, "request_headers.get_header req :method = 0 \"GET\"");
    assert_logged(
        &host,
        "response_headers.get_header resp :status = 0 \"200\"",
    );
    assert_logged(
        &host,
        "response_headers.get_header resp content-type = 0 \"text/plain\"",
    );
}

#[test]
fn malformed_pairs_are_treated_as_an_empty_map() {
    // Count says two pairs, but no sizes follow: Envoy treats it as an empty map, so the
    // whole request header map is replaced by nothing.
    let mut host = probe_host("request_headers set_pairs_hex req 02000000ffff");
    let ex = host
        .http_exchange(
            &HttpRequest::get("/").header("x-a", "1"),
            &HttpResponse::ok(),
        )
        .unwrap();
    let up = ex
        .upstream_request
        .expect("the request reaches the upstream");
    assert_eq!(header(&up.headers, "x-a"), None, "{:?}", up.headers);
}
