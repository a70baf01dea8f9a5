//! Checking a step's expectations against what the harness observed, and describing every
//! mismatch readably (bodies as unified diffs, headers with the whole actual header list).
//!
//! The checks work on [`Observation`], a plain snapshot taken by [`super::exec`] after each
//! step, so they do not depend on how the harness represents things.
//!
//! ```
//! use cargo_wasme::scenario::expect::{Observation, check};
//! use cargo_wasme::scenario::format::Expect;
//! let expect: Expect = serde_norway::from_str("{upstream: false, metrics: {hits: 1}}")?;
//! // A request that never reached the upstream, and no metrics defined:
//! let observed = Observation { http_exchange: true, ..Observation::default() };
//! let mismatches = check(&expect, &observed);
//! assert_eq!(mismatches.len(), 1);
//! assert!(mismatches[0].render().contains("metrics[\"hits\"]"));
//! // The same expectations on a step that sent no request: `upstream: false` is not true of
//! // a request that does not exist, so it fails too.
//! assert_eq!(check(&expect, &Observation::default()).len(), 2);
//! # Ok::<(), serde_norway::Error>(())
//! ```

mod calls;
mod cost;
mod logs;
mod message;
mod mismatch;
mod observation;
mod state;

pub use cost::check_guest_memory;
pub use mismatch::Mismatch;
pub use observation::{
    Observation, ObservedCall, ObservedConnection, ObservedLocalReply, ObservedMessage,
};

use super::format::Expect;

/// Checks every expectation of a step (of one repeat of it) but `guest_memory`, which judges
/// all the repeats together ([`check_guest_memory`]); an empty result means the step passed.
///
/// No expectation passes without having been checked: one about an HTTP request's fate on a
/// step that sent none, about a connection on a step that opened none, or about a message
/// that never arrived fails and says so, whatever its form (`upstream: false` included).
pub fn check(expect: &Expect, obs: &Observation) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if obs.http_exchange {
        if let Some(m) = &expect.upstream {
            message::check_message("upstream", m, obs.upstream.as_ref(), None, &mut out);
        }
        if let Some(m) = &expect.client {
            let why = match (&obs.reset, obs.stalled) {
                (Some(d), _) => Some(format!(
                    "the client received no response: the stream was reset ({d})"
                )),
                (None, true) => Some(
                    "the client received no response: the filter still holds the stream"
                        .to_string(),
                ),
                (None, false) => None,
            };
            message::check_message("client", m, obs.client.as_ref(), why, &mut out);
        }
        if let Some(l) = &expect.local_reply {
            message::check_local_reply(l, obs.local_reply.as_ref(), &mut out);
        }
        state::check_reset(expect, obs, &mut out);
        state::check_stalled(expect, obs, &mut out);
    } else {
        let named = [
            ("upstream", expect.upstream.is_some()),
            ("client", expect.client.is_some()),
            ("local_reply", expect.local_reply.is_some()),
            ("stream_reset", expect.stream_reset.is_some()),
            ("stalled", expect.stalled.is_some()),
        ];
        for (field, _) in named.iter().filter(|(_, given)| *given) {
            out.push(Mismatch::new(
                *field,
                "an HTTP request in this step to check it against",
                "this step sent no request (add `request:` to the step, or move the \
                 expectation to the step that sends it)",
            ));
        }
    }
    logs::check_logs(expect, obs, &mut out);
    state::check_metrics(expect, obs, &mut out);
    state::check_shared_data(expect, obs, &mut out);
    logs::check_trace(expect, obs, &mut out);
    if let Some(calls) = &expect.pending_http_calls {
        calls::check_calls(calls, &obs.pending_http_calls, &mut out);
    }
    state::check_vm_failed(expect, obs, &mut out);
    if let Some(c) = &expect.connection {
        calls::check_connection(c, obs.connection.as_ref(), &mut out);
    }
    cost::check_instructions(expect, obs, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::format::{Headers, MessageExpect};

    fn msg(headers: &[(&str, &str)], body: &str) -> ObservedMessage {
        ObservedMessage {
            status: Some(200),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            trailers: vec![],
        }
    }

    #[test]
    fn header_mismatch_lists_actual_headers() {
        let expect = Expect {
            client: Some(MessageExpect {
                status: Some(200),
                headers: Headers(vec![("x-demo".into(), "1".into())]),
                headers_absent: vec!["server".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let obs = Observation {
            client: Some(msg(
                &[(":status", "200"), ("x-demo", "2"), ("server", "e")],
                "",
            )),
            http_exchange: true,
            ..Default::default()
        };
        let m = check(&expect, &obs);
        assert_eq!(m.len(), 2, "{m:?}");
        let r = m[0].render();
        assert!(r.contains("client.headers[\"x-demo\"]"), "{r}");
        assert!(r.contains("expected: \"1\""), "{r}");
        assert!(r.contains("actual:   \"2\""), "{r}");
        assert!(r.contains("server: e"), "{r}");
        let ok = Observation {
            client: Some(msg(&[(":status", "200"), ("x-demo", "1")], "")),
            http_exchange: true,
            ..Default::default()
        };
        assert!(check(&expect, &ok).is_empty());
    }

    #[test]
    fn multi_line_bodies_diff() {
        let expect = Expect {
            upstream: Some(MessageExpect {
                body: Some("a\nb\nc\n".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let obs = Observation {
            upstream: Some(msg(&[], "a\nB\nc\n")),
            http_exchange: true,
            ..Default::default()
        };
        let r = check(&expect, &obs)[0].render();
        assert!(
            r.contains("-b") && r.contains("+B") && r.contains("  a"),
            "{r}"
        );
    }

    #[test]
    fn absent_upstream_and_metrics() {
        let mut expect = Expect {
            upstream: Some(MessageExpect {
                absent: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        expect.metrics.insert("requests".into(), 2);
        let mut obs = Observation {
            upstream: Some(msg(&[], "")),
            http_exchange: true,
            ..Default::default()
        };
        obs.metrics.insert("requests".into(), 1);
        let m = check(&expect, &obs);
        assert_eq!(m.len(), 2);
        assert!(m[1].render().contains("requests = 1"));
    }
}
