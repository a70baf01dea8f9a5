//! Proptest strategies for Envoy-realistic traffic. Every strategy shrinks towards the plain
//! case (no headers, no body, a completed client, a successful callout, no clock advance), so
//! a shrunk failure keeps only what matters.

use super::input::{
    CalloutAnswer, ClientEnd, Exchange, HttpExchange, TcpExchange, Traffic, UpstreamReply,
};
use proptest::prelude::*;
use proptest::sample::select;
use std::ops::Range;
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

/// The length and seed of a generated string. Alternatives are generated as such numbers and
/// only the chosen one is rendered (in the `prop_map` that picks it): proptest's `prop_oneof!`
/// clones the test runner and reseeds its RNG for every arm it does not take, which cost more
/// than running the filter (profiled: generation was three quarters of a fuzzing run).
type TextSeed = (usize, u64);

/// Two value trees (length and seed) instead of one per character keeps generation cheap, and
/// it still shrinks — the length towards the minimum, the seed towards 0, which gives the
/// plainest text (the first character repeated).
fn text_seed(len: Range<usize>) -> impl Strategy<Value = TextSeed> + Clone {
    (len, any::<u64>())
}

/// The text of `seed`: `n` characters from `chars`.
fn render(chars: &[char], (n, seed): TextSeed) -> String {
    let mut x = seed;
    let mut out = String::with_capacity(n);
    for _ in 0..n {
        // xorshift64*: a fixed, portable sequence per seed.
        let pick = if x == 0 {
            0
        } else {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            // The high 32 bits scaled to the table (no division in the hot loop).
            (((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) * chars.len() as u64) >> 32) as usize
        };
        out.push(chars[pick]);
    }
    out
}

/// A weighted choice among alternatives: a number below the weights' sum, which shrinks
/// towards 0 and so towards the first (plainest) alternative, as `prop_oneof!` does.
fn choice(weights: &'static [u32]) -> impl Strategy<Value = usize> + Clone {
    (0..weights.iter().sum::<u32>()).prop_map(move |mut x| {
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    })
}

const TOKEN: &[char] = &['a', 'b', 'c', 'x', 'y', '0', '1', '-', '_', '.'];

fn token(t: TextSeed) -> String {
    format!("x{}", render(TOKEN, t))
}

fn header_name() -> impl Strategy<Value = String> + Clone {
    (choice(&[4, 1]), 0..NAMES.len(), text_seed(0..24)).prop_map(|(arm, i, t)| match arm {
        0 => NAMES[i].to_string(),
        _ => token(t),
    })
}

/// Values: ordinary, empty, mixed-case, non-ASCII, and very long (a single repeated character,
/// so shrinking finds the exact length that matters).
fn header_value() -> impl Strategy<Value = String> + Clone {
    const LONG: &[char] = &['v', 'W', '7', 'é'];
    (
        choice(&[6, 1, 1]),
        text_seed(0..40),
        1usize..6000,
        0..LONG.len(),
    )
        .prop_map(|(arm, t, n, c)| match arm {
            0 => render(VALUE_CHARS, t),
            1 => String::new(),
            _ => LONG[c].to_string().repeat(n),
        })
}

fn headers(max: usize) -> impl Strategy<Value = Vec<(String, String)>> + Clone {
    prop::collection::vec((header_name(), header_value()), 0..max).prop_map(|mut hs| {
        // Repeat the first header now and then, as clients do with cookies or x-forwarded-for.
        if hs.len() > 2 && hs[1].1.len() % 3 == 0 {
            let first = hs[0].clone();
            hs.push(first);
        }
        hs
    })
}

fn path() -> impl Strategy<Value = String> + Clone {
    const FIXED: &[&str] = &[
        "/",
        "/index.html",
        "/api/v1/users",
        "/healthz",
        "/a/../b",
        "//x",
    ];
    (
        choice(&[3, 2, 1]),
        0..FIXED.len(),
        prop::collection::vec(text_seed(0..12), 0..5),
        prop::collection::vec((text_seed(0..8), text_seed(0..12)), 0..4),
        1usize..4000,
    )
        .prop_map(|(arm, i, segs, query, n)| match arm {
            0 => FIXED[i].to_string(),
            1 => {
                let segs: Vec<String> = segs.into_iter().map(|t| render(PATH_CHARS, t)).collect();
                let mut p = format!("/{}", segs.join("/"));
                if !query.is_empty() {
                    let pairs: Vec<String> = query
                        .into_iter()
                        .map(|(k, v)| format!("{}={}", token(k), render(PATH_CHARS, v)))
                        .collect();
                    p.push('?');
                    p.push_str(&pairs.join("&"));
                }
                p
            }
            _ => format!("/{}", "p".repeat(n)),
        })
}

fn chunks(chars: &'static [char]) -> impl Strategy<Value = Vec<String>> + Clone {
    (
        choice(&[3, 3, 1]),
        prop::collection::vec(text_seed(0..200), 1..5),
        1usize..70_000,
    )
        .prop_map(move |(arm, parts, n)| match arm {
            0 => Vec::new(),
            1 => parts.into_iter().map(|t| render(chars, t)).collect(),
            _ => vec!["b".repeat(n)],
        })
}

fn trailers() -> impl Strategy<Value = Vec<(String, String)>> + Clone {
    (
        choice(&[5, 1]),
        prop::collection::vec((header_name(), text_seed(0..20)), 1..3),
    )
        .prop_map(|(arm, ts)| match arm {
            0 => Vec::new(),
            _ => ts
                .into_iter()
                .map(|(k, v)| (k, render(VALUE_CHARS, v)))
                .collect(),
        })
}

fn client_end() -> impl Strategy<Value = ClientEnd> + Clone {
    choice(&[10, 1, 1]).prop_map(|arm| match arm {
        0 => ClientEnd::Completes,
        1 => ClientEnd::ResetAfterHeaders,
        _ => ClientEnd::DisconnectsEarly,
    })
}

fn callout_answer() -> impl Strategy<Value = CalloutAnswer> + Clone {
    (
        choice(&[5, 2, 1, 1]),
        select(&[200u16, 200, 403, 500, 503][..]),
        select(&[0usize, 16, 1024, 300_000][..]),
    )
        .prop_map(|(arm, status, body_len)| match arm {
            0 => CalloutAnswer::Success { status, body_len },
            1 => CalloutAnswer::Failure,
            2 => CalloutAnswer::Timeout,
            _ => CalloutAnswer::Late,
        })
}

fn advance() -> impl Strategy<Value = Duration> + Clone {
    (
        choice(&[12, 2, 1]),
        select(&[10u64, 1000, 5000, 60_000][..]),
    )
        .prop_map(|(arm, ms)| match arm {
            0 => Duration::ZERO,
            1 => Duration::from_millis(ms),
            _ => Duration::from_secs(3600),
        })
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
        prop::collection::vec(text_seed(0..60), 0..4),
        prop::collection::vec(1usize..40, 0..4),
    )
        .prop_map(|(messages, cuts)| {
            let mut stream = String::new();
            for m in messages {
                let m: String = render(BODY_CHARS, m).chars().take(100).collect();
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
            path().boxed(),
            chunks(BODY_CHARS).boxed(),
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
        prop::collection::vec((any::<bool>(), text_seed(0..300)), 0..6),
        choice(&[4, 1]),
    )
        .prop_map(|(chunks, close)| TcpExchange {
            chunks: chunks
                .into_iter()
                .map(|(up, t)| (up, render(BODY_CHARS, t)))
                .collect(),
            close: close == 0,
        })
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
