//! Checks on traffic the filter started or carried: pending HTTP callouts and TCP connections.

use super::message::check_body;
use super::mismatch::Mismatch;
use super::observation::{ObservedCall, ObservedConnection};
use crate::scenario::format::{ConnectionExpect, HttpCallExpect};
use std::fmt::Write as _;

/// `pending_http_calls`: the callouts waiting for an answer, in token order.
pub(super) fn check_calls(want: &[HttpCallExpect], got: &[ObservedCall], out: &mut Vec<Mismatch>) {
    let describe = |calls: &[ObservedCall]| {
        let mut c = String::from("    callouts pending:\n");
        if calls.is_empty() {
            c.push_str("      (none)\n");
        }
        for call in calls {
            let _ = writeln!(c, "      cluster {:?}", call.cluster);
            for (k, v) in &call.headers {
                let _ = writeln!(c, "        {k}: {v}");
            }
        }
        c
    };
    if want.len() != got.len() {
        out.push(
            Mismatch::new(
                "pending_http_calls",
                format!("{} callout(s)", want.len()),
                format!("{} callout(s)", got.len()),
            )
            .with_context(describe(got)),
        );
        return;
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if w.cluster != g.cluster {
            out.push(Mismatch::new(
                format!("pending_http_calls[{i}].cluster"),
                format!("{:?}", w.cluster),
                format!("{:?}", g.cluster),
            ));
        }
        for (name, value) in &w.headers.0 {
            if !g
                .headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == value)
            {
                out.push(
                    Mismatch::new(
                        format!("pending_http_calls[{i}].headers[{name:?}]"),
                        format!("{value:?}"),
                        "absent or different",
                    )
                    .with_context(describe(std::slice::from_ref(g))),
                );
            }
        }
        check_body(
            &format!("pending_http_calls[{i}].body"),
            None,
            &w.body_contains,
            &[],
            &g.body,
            out,
        );
    }
}

/// `connection`: what the network filter did to a TCP connection.
pub(super) fn check_connection(
    want: &ConnectionExpect,
    got: Option<&ObservedConnection>,
    out: &mut Vec<Mismatch>,
) {
    let Some(got) = got else {
        out.push(Mismatch::new(
            "connection",
            "a connection step",
            "this step opened no connection",
        ));
        return;
    };
    if let Some(c) = want.closed_by_filter
        && c != got.closed_by_filter
    {
        out.push(Mismatch::new(
            "connection.closed_by_filter",
            c.to_string(),
            got.closed_by_filter.to_string(),
        ));
    }
    if let Some(u) = &want.upstream_received {
        check_body(
            "connection.upstream_received",
            Some(u),
            &[],
            &[],
            &got.upstream_received,
            out,
        );
    }
    if let Some(d) = &want.downstream_received {
        check_body(
            "connection.downstream_received",
            Some(d),
            &[],
            &[],
            &got.downstream_received,
            out,
        );
    }
}
