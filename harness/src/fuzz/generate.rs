//! Proptest strategies for Envoy-realistic traffic. Every strategy shrinks towards the plain
//! case (no headers, no body, a completed client, a successful callout, no clock advance), so
//! a shrunk failure keeps only what matters.

use super::input::{
    CalloutAnswer, ClientEnd, Exchange, HttpExchange, TcpExchange, Traffic, UpstreamReply,
};
use proptest::prelude::*;
use proptest::sample::select;
use std::time::Duration;

/// Which kind of traffic to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrafficKind {
    /// HTTP/1.1 and HTTP/2 requests of every shape.
    #[default]
    Http,
    /// gRPC requests (`POST /pkg.Service/Method`, `content-type: application/grpc`, framed
    /// messages split across body chunks, `grpc-status` trailers) for gRPC filters.
    Grpc,
    /// TCP byte streams for network filters.
    Tcp,
}

const NAMES: &[&str] = &[
    "user-agent",
    "accept",
    "accept-encoding",
    "authorization",
    "content-type",
    "content-length",
    "cookie",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-envoy-original-path",
    "x-b3-traceid",
    "traceparent",
    "te",
    "x-custom",
];

const VALUE_CHARS: &[char] = &[
    'a', 'b', 'Z', 'Q', '0', '9', ' ', '-', '_', '/', '=', ';', ',', '"', '*', '.', ':', 'é', 'ü',
    '€', '\t',
];

const PATH_CHARS: &[char] = &['a', 'b', 'z', '0', '-', '_', '.', '~', '%', '2', 'F', '+'];

const BODY_CHARS: &[char] = &[
    'a', 'b', '0', ' ', '{', '}', '"', ':', ',', '\n', '\r', '\0', 'é', '日',
];

/// A string of `len` characters from `chars`, drawn from a seed: two value trees (length and
/// seed) instead of one per character keeps generation cheap, and it still shrinks — the
/// length towards the minimum, the seed towards 0, which gives the plainest text (the first
/// character repeated).
fn text(chars: &'static [char], len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    (len, any::<u64>())
        .prop_map(move |(n, seed)| {
            let mut x = seed;
            (0..n)
                .map(|_| {
                    // xorshift64*: a fixed, portable sequence per seed.
                    let pick = if x == 0 {
                        0
                    } else {
                        x ^= x >> 12;
                        x ^= x << 25;
                        x ^= x >> 27;
                        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize
                    };
                    chars[pick % chars.len()]
                })
                .collect()
        })
        .boxed()
}

fn token(len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    const TOKEN: &[char] = &['a', 'b', 'c', 'x', 'y', '0', '1', '-', '_', '.'];
    text(TOKEN, len).prop_map(|s| format!("x{s}")).boxed()
}

fn header_name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(NAMES).prop_map(String::from),
        1 => token(0..24),
    ]
    .boxed()
}

/// Values: ordinary, empty, mixed-case, non-ASCII, and very long (a single repeated character,
/// so shrinking finds the exact length that matters).
fn header_value() -> BoxedStrategy<String> {
    prop_oneof![
        6 => text(VALUE_CHARS, 0..40),
        1 => Just(String::new()),
        1 => (1usize..6000, select(&['v', 'W', '7', 'é'][..]))
            .prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
    .boxed()
}

fn headers(max: usize) -> BoxedStrategy<Vec<(String, String)>> {
    prop::collection::vec((header_name(), header_value()), 0..max)
        .prop_map(|mut hs| {
            // Repeat the first header now and then, as clients do with cookies or x-forwarded-for.
            if hs.len() > 2 && hs[1].1.len() % 3 == 0 {
                let first = hs[0].clone();
                hs.push(first);
            }
            hs
        })
        .boxed()
}

fn path() -> BoxedStrategy<String> {
    let segment = text(PATH_CHARS, 0..12);
    let query = prop::collection::vec((token(0..8), text(PATH_CHARS, 0..12)), 0..4);
    prop_oneof![
        3 => select(&["/", "/index.html", "/api/v1/users", "/healthz", "/a/../b", "//x"][..])
            .prop_map(String::from),
        2 => (prop::collection::vec(segment, 0..5), query).prop_map(|(segs, q)| {
            let mut p = format!("/{}", segs.join("/"));
            if !q.is_empty() {
                let pairs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
                p.push('?');
                p.push_str(&pairs.join("&"));
            }
            p
        }),
        1 => (1usize..4000).prop_map(|n| format!("/{}", "p".repeat(n))),
    ]
    .boxed()
}

fn chunks(chars: &'static [char]) -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        3 => Just(Vec::new()),
        3 => prop::collection::vec(text(chars, 0..200), 1..5),
        1 => (1usize..70_000).prop_map(|n| vec!["b".repeat(n)]),
    ]
    .boxed()
}

fn trailers() -> BoxedStrategy<Vec<(String, String)>> {
    prop_oneof![
        5 => Just(Vec::new()),
        1 => prop::collection::vec((header_name(), text(VALUE_CHARS, 0..20)), 1..3),
    ]
    .boxed()
}

fn client_end() -> BoxedStrategy<ClientEnd> {
    prop_oneof![
        10 => Just(ClientEnd::Completes),
        1 => Just(ClientEnd::ResetAfterHeaders),
        1 => Just(ClientEnd::DisconnectsEarly),
    ]
    .boxed()
}

fn callout_answer() -> BoxedStrategy<CalloutAnswer> {
    prop_oneof![
        5 => (
            select(&[200u16, 200, 403, 500, 503][..]),
            select(&[0usize, 16, 1024, 300_000][..]),
        )
            .prop_map(|(status, body_len)| CalloutAnswer::Success { status, body_len }),
        2 => Just(CalloutAnswer::Failure),
        1 => Just(CalloutAnswer::Timeout),
        1 => Just(CalloutAnswer::Late),
    ]
    .boxed()
}

fn advance() -> BoxedStrategy<Duration> {
    prop_oneof![
        12 => Just(Duration::ZERO),
        2 => select(&[10u64, 1000, 5000, 60_000][..]).prop_map(Duration::from_millis),
        1 => Just(Duration::from_secs(3600)),
    ]
    .boxed()
}

fn upstream_reply(grpc: bool) -> BoxedStrategy<UpstreamReply> {
    let status = select(&[200u16, 200, 200, 204, 301, 404, 500, 503][..]);
    if grpc {
        (grpc_messages(), select(&["0", "0", "2", "14"][..]))
            .prop_map(|(body, code)| UpstreamReply {
                status: 200,
                headers: vec![("content-type".into(), "application/grpc".into())],
                body,
                trailers: vec![("grpc-status".into(), code.into())],
            })
            .boxed()
    } else {
        (status, headers(6), chunks(BODY_CHARS), trailers())
            .prop_map(|(status, headers, body, trailers)| UpstreamReply {
                status,
                headers,
                body,
                trailers,
            })
            .boxed()
    }
}

/// gRPC length-prefixed messages (each under 128 bytes, so the frame stays valid text), cut
/// into chunks at arbitrary points.
fn grpc_messages() -> BoxedStrategy<Vec<String>> {
    (
        prop::collection::vec(text(BODY_CHARS, 0..60), 0..4),
        prop::collection::vec(1usize..40, 0..4),
    )
        .prop_map(|(messages, cuts)| {
            let mut stream = String::new();
            for m in messages {
                let m: String = m.chars().take(100).collect();
                let len = m.len() as u32;
                stream.push('\0');
                for b in len.to_be_bytes() {
                    stream.push(char::from(b));
                }
                stream.push_str(&m);
            }
            split_at_chars(&stream, &cuts)
        })
        .boxed()
}

fn split_at_chars(s: &str, cuts: &[usize]) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let end = (at + c).min(chars.len());
        if end > at {
            out.push(chars[at..end].iter().collect());
            at = end;
        }
    }
    if at < chars.len() {
        out.push(chars[at..].iter().collect());
    }
    out
}

fn http(grpc: bool) -> BoxedStrategy<HttpExchange> {
    let (method, path, body) = if grpc {
        (
            Just("POST".to_string()).boxed(),
            select(&["/pkg.Service/Method", "/grpc.health.v1.Health/Check"][..])
                .prop_map(String::from)
                .boxed(),
            grpc_messages(),
        )
    } else {
        (
            select(
                &[
                    "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT",
                ][..],
            )
            .prop_map(String::from)
            .boxed(),
            path(),
            chunks(BODY_CHARS),
        )
    };
    let authority = select(&["example.com", "api.internal:8080", "[::1]:443", ""][..]);
    let scheme = select(&["http", "https"][..]);
    (
        (method, path, authority, scheme),
        (headers(10), body, trailers()),
        (client_end(), callout_answer(), upstream_reply(grpc)),
    )
        .prop_map(
            move |(
                (method, path, authority, scheme),
                (mut headers, body, trailers),
                (client, callouts, response),
            )| {
                if grpc {
                    headers.insert(0, ("content-type".into(), "application/grpc".into()));
                    headers.insert(1, ("te".into(), "trailers".into()));
                }
                HttpExchange {
                    method,
                    path,
                    authority: authority.into(),
                    scheme: scheme.into(),
                    headers,
                    body,
                    trailers,
                    client,
                    callouts,
                    response,
                }
            },
        )
        .boxed()
}

fn tcp() -> BoxedStrategy<TcpExchange> {
    (
        prop::collection::vec((any::<bool>(), text(BODY_CHARS, 0..300)), 0..6),
        prop_oneof![4 => Just(true), 1 => Just(false)],
    )
        .prop_map(|(chunks, close)| TcpExchange { chunks, close })
        .boxed()
}

/// The strategy for one [`Exchange`] of `kind` on one of `config_variants` configurations.
pub fn exchange(kind: TrafficKind, config_variants: usize) -> BoxedStrategy<Exchange> {
    let traffic = match kind {
        TrafficKind::Http => http(false).prop_map(|h| Traffic::Http(Box::new(h))).boxed(),
        TrafficKind::Grpc => http(true).prop_map(|h| Traffic::Http(Box::new(h))).boxed(),
        TrafficKind::Tcp => tcp().prop_map(Traffic::Tcp).boxed(),
    };
    (0..config_variants.max(1), traffic, advance())
        .prop_map(|(config, traffic, then_advance)| Exchange {
            config,
            traffic,
            then_advance,
        })
        .boxed()
}
