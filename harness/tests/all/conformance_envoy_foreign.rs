//! Conformance (issue 15, Envoy behaviour 2): the foreign functions Envoy registers by default
//! (`source/extensions/common/wasm/foreign.cc`) with their argument encodings and effects, and
//! a test's own functions taking precedence.

use crate::conformance_support;

use conformance_support::{probe, probe_builder, probe_host, result, results};
use wasme_harness::{HttpRequest, HttpResponse};

/// `%XX` for every byte: how the probe's script takes binary arguments.
fn escaped(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// A protobuf length-delimited field (tag `n`, wire type 2) holding `value`.
fn pb_bytes(n: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![(n << 3) | 2, value.len() as u8];
    out.extend_from_slice(value);
    out
}

/// `SetEnvoyFilterStateArguments { path = 1; value = 2; span = 3 }`.
fn filter_state_args(path: &str, value: &str) -> String {
    let mut m = pb_bytes(1, path.as_bytes());
    m.extend(pb_bytes(2, value.as_bytes()));
    m.extend([3 << 3, 1]); // span: DownstreamRequest
    escaped(&m)
}

fn exchange(script: &str) -> wasme_harness::Host {
    let mut host = probe_host(script);
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    host
}

#[test]
fn uncompress_reads_zlib_and_compress_round_trips() {
    // zlib.compress(b"hello") from Python's zlib: an independent vector.
    let hello_z = [
        0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15,
    ];
    let host = exchange(&format!(
        "request_headers foreign uncompress {}
         request_headers foreign uncompress not-zlib
         request_headers foreign compress hello",
        escaped(&hello_z)
    ));
    assert_eq!(
        result(
            &host,
            &format!("request_headers.foreign uncompress {}", escaped(&hello_z))
        ),
        "0 \"hello\""
    );
    // Envoy: bad input → SERIALIZATION_FAILURE (3).
    assert_eq!(
        result(&host, "request_headers.foreign uncompress not-zlib"),
        "3"
    );
    let compressed = result(&host, "request_headers.foreign compress hello");
    assert!(
        compressed.starts_with("0 \"x"),
        "zlib stream header: {compressed}"
    );
}

#[test]
fn compressed_output_uncompresses_to_the_input() {
    use std::io::Read;
    let module = probe();
    let text = "the quick brown fox jumps over the lazy dog";
    let mut h = probe_builder(
        &module,
        &format!(
            "request_headers foreign compress {}",
            escaped(text.as_bytes())
        ),
    )
    .trace(true)
    .build()
    .unwrap();
    h.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    let shown = result(
        &h,
        &format!(
            "request_headers.foreign compress {}",
            escaped(text.as_bytes())
        ),
    );
    assert!(shown.starts_with("0 "), "{shown}");
    // The bytes themselves: compress with the same zlib format and compare after inflating.
    let mut z = flate2::read::ZlibEncoder::new(text.as_bytes(), flate2::Compression::default());
    let mut expected = Vec::new();
    z.read_to_end(&mut expected).unwrap();
    assert_eq!(
        shown,
        format!("0 {:?}", String::from_utf8_lossy(&expected)),
        "the filter got a zlib stream of its input"
    );
}

#[test]
fn set_envoy_filter_state_is_readable_as_a_filter_state_property() {
    let args = filter_state_args("envoy.tcp_proxy.cluster", "backend-b");
    let host = exchange(&format!(
        "request_headers foreign set_envoy_filter_state {args}
         request_headers get_property filter_state%00envoy.tcp_proxy.cluster"
    ));
    assert_eq!(
        result(
            &host,
            &format!("request_headers.foreign set_envoy_filter_state {args}")
        ),
        "0 \"\""
    );
    assert_eq!(
        result(
            &host,
            "request_headers.get_property filter_state%00envoy.tcp_proxy.cluster"
        ),
        "0 \"backend-b\""
    );
}

#[test]
fn set_envoy_filter_state_refuses_unknown_keys_and_bad_arguments_like_envoy() {
    let unknown = filter_state_args("my.own.key", "v");
    let host = exchange(&format!(
        "request_headers foreign set_envoy_filter_state {unknown}
         request_headers foreign set_envoy_filter_state %FF%FF"
    ));
    // No object factory for the key: NOT_FOUND (1); unparsable protobuf: BAD_ARGUMENT (2).
    assert_eq!(
        result(
            &host,
            &format!("request_headers.foreign set_envoy_filter_state {unknown}")
        ),
        "1"
    );
    assert_eq!(
        result(
            &host,
            "request_headers.foreign set_envoy_filter_state %FF%FF"
        ),
        "2"
    );
}

#[test]
fn filter_state_is_per_stream() {
    // Each stream reads, sets, reads: the second stream must not see the first one's state.
    let args = filter_state_args("envoy.string", "first");
    let mut host = probe_host(&format!(
        "request_headers get_property filter_state%00envoy.string
         request_headers foreign set_envoy_filter_state {args}
         request_headers get_property filter_state%00envoy.string"
    ));
    for _ in 0..2 {
        host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
            .unwrap();
    }
    let got = results(
        &host,
        "request_headers.get_property filter_state%00envoy.string",
    );
    assert_eq!(got, ["1", "0 \"first\"", "1", "0 \"first\""]);
}

#[test]
fn a_read_only_declared_property_can_be_set_once() {
    // DeclarePropertyArguments { name = 1; readonly = 2; … }
    let mut decl = pb_bytes(1, b"my_prop");
    decl.extend([2 << 3, 1]);
    let decl = escaped(&decl);
    let host = exchange(&format!(
        "request_headers foreign declare_property {decl}
         request_headers set_property my_prop v1
         request_headers set_property my_prop v2
         request_headers get_property my_prop"
    ));
    assert_eq!(
        result(&host, "request_headers.set_property my_prop v1"),
        "0"
    );
    // Envoy's CelState refuses to overwrite a read-only value: BAD_ARGUMENT.
    assert_eq!(
        result(&host, "request_headers.set_property my_prop v2"),
        "2"
    );
    assert_eq!(
        result(&host, "request_headers.get_property my_prop"),
        "0 \"v1\""
    );
}

#[test]
fn clear_route_cache_answers_ok_and_is_counted() {
    let host = exchange("request_headers foreign clear_route_cache -");
    assert_eq!(
        result(&host, "request_headers.foreign clear_route_cache -"),
        "0 \"\""
    );
    assert_eq!(host.route_cache_clears(), 1);
}

#[test]
fn a_test_registered_function_takes_precedence_and_unknown_names_are_not_found() {
    let mut host = probe_builder(
        &probe(),
        "request_headers foreign compress hello
         request_headers foreign no_such_function x",
    )
    .foreign_function("compress", |args| Ok([b"mine:".as_slice(), args].concat()))
    .build()
    .unwrap();
    host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())
        .unwrap();
    assert_eq!(
        result(&host, "request_headers.foreign compress hello"),
        "0 \"mine:hello\""
    );
    assert_eq!(
        result(&host, "request_headers.foreign no_such_function x"),
        "1"
    );
}
