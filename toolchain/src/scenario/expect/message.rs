//! Checks on HTTP messages: the upstream request, the client response, and local replies.

use super::mismatch::{Mismatch, list_headers, quote};
use super::observation::{ObservedLocalReply, ObservedMessage};
use crate::scenario::format::{LocalReplyExpect, MessageExpect};

/// Checks the upstream request or the client response (`side`); `why_none` says why the
/// message is missing, when the caller knows.
pub(super) fn check_message(
    side: &str,
    want: &MessageExpect,
    got: Option<&ObservedMessage>,
    why_none: Option<String>,
    out: &mut Vec<Mismatch>,
) {
    let Some(got) = got else {
        if !want.absent {
            let why = why_none.unwrap_or_else(|| {
                if side == "upstream" {
                    "the request never reached the upstream".to_string()
                } else {
                    "the client received no response".to_string()
                }
            });
            out.push(Mismatch::new(side, "a message", why));
        }
        return;
    };
    if want.absent {
        out.push(
            Mismatch::new(
                side,
                format!("no {side} message (`{side}: false`)"),
                format!("the {side} received a message"),
            )
            .with_context(list_headers(&format!("{side} headers"), &got.headers)),
        );
        return;
    }
    let headers_ctx = || list_headers(&format!("{side} headers were"), &got.headers);
    if let Some(status) = want.status {
        let actual = got
            .status
            .map_or("no :status".to_string(), |s| s.to_string());
        if got.status != Some(status) {
            out.push(Mismatch::new(
                format!("{side}.status"),
                status.to_string(),
                actual,
            ));
        }
    }
    for (name, value) in &want.headers.0 {
        let values: Vec<&str> = got
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if !values.contains(&value.as_str()) {
            let actual = if values.is_empty() {
                "header absent".to_string()
            } else {
                values
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(
                Mismatch::new(
                    format!("{side}.headers[{name:?}]"),
                    format!("{value:?}"),
                    actual,
                )
                .with_context(headers_ctx()),
            );
        }
    }
    for name in &want.headers_present {
        if got.header(name).is_none() {
            out.push(
                Mismatch::new(
                    format!("{side}.headers_present[{name:?}]"),
                    "header present",
                    "header absent",
                )
                .with_context(headers_ctx()),
            );
        }
    }
    for name in &want.headers_absent {
        if let Some(v) = got.header(name) {
            out.push(Mismatch::new(
                format!("{side}.headers_absent[{name:?}]"),
                "header absent",
                format!("present with value {v:?}"),
            ));
        }
    }
    check_body(
        &format!("{side}.body"),
        want.body.as_deref(),
        &want.body_contains,
        &want.body_absent,
        &got.body,
        out,
    );
}

/// Checks a body: exact, substrings present, substrings absent.
pub(super) fn check_body(
    field: &str,
    exact: Option<&str>,
    contains: &[String],
    absent: &[String],
    got: &[u8],
    out: &mut Vec<Mismatch>,
) {
    let text = String::from_utf8_lossy(got);
    if let Some(want) = exact
        && want.as_bytes() != got
    {
        let (e, a) = if want.contains('\n') || text.contains('\n') {
            (want.to_string(), text.to_string())
        } else {
            (format!("{want:?}"), quote(got))
        };
        out.push(Mismatch::new(field, e, a));
    }
    for s in contains {
        if !text.contains(s.as_str()) {
            out.push(Mismatch::new(
                format!("{field}_contains"),
                format!("a body containing {s:?}"),
                quote(got),
            ));
        }
    }
    for s in absent {
        if text.contains(s.as_str()) {
            out.push(Mismatch::new(
                format!("{field}_absent"),
                format!("a body without {s:?}"),
                quote(got),
            ));
        }
    }
}

/// Checks the filter's local reply (or its absence).
pub(super) fn check_local_reply(
    want: &LocalReplyExpect,
    got: Option<&ObservedLocalReply>,
    out: &mut Vec<Mismatch>,
) {
    match (want.absent, got) {
        (true, None) => {}
        (true, Some(r)) => out.push(Mismatch::new(
            "local_reply",
            "no local reply",
            format!(
                "local reply {} ({}) with body {}",
                r.status,
                r.details,
                quote(&r.body)
            ),
        )),
        (false, None) => out.push(Mismatch::new(
            "local_reply",
            "a local reply",
            "the filter did not answer locally",
        )),
        (false, Some(r)) => {
            if let Some(s) = want.status
                && u32::from(s) != r.status
            {
                out.push(Mismatch::new(
                    "local_reply.status",
                    s.to_string(),
                    r.status.to_string(),
                ));
            }
            if let Some(d) = &want.details
                && !r.details.contains(d.as_str())
            {
                out.push(Mismatch::new(
                    "local_reply.details",
                    format!("containing {d:?}"),
                    format!("{:?}", r.details),
                ));
            }
            for (name, value) in &want.headers.0 {
                let has = r
                    .headers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == value);
                if !has {
                    out.push(
                        Mismatch::new(
                            format!("local_reply.headers[{name:?}]"),
                            format!("{value:?}"),
                            "absent or different",
                        )
                        .with_context(list_headers("local reply headers were", &r.headers)),
                    );
                }
            }
            check_body(
                "local_reply.body",
                want.body.as_deref(),
                &want.body_contains,
                &[],
                &r.body,
                out,
            );
        }
    }
}
