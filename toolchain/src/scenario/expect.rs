//! Checking a step's expectations against what the harness observed, and describing every
//! mismatch readably (bodies as unified diffs, headers with the whole actual header list).
//!
//! The checks work on [`Observation`], a plain snapshot taken by [`super::exec`] after each
//! step, so they do not depend on how the harness represents things.

use super::format::{
    ConnectionExpect, Expect, FailedExpect, LevelName, LocalReplyExpect, MessageExpect,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// An HTTP message as observed (a request the upstream received or a response the client got).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedMessage {
    /// `:status` for responses.
    pub status: Option<u16>,
    /// Headers in order (pseudo-headers included).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Trailers.
    pub trailers: Vec<(String, String)>,
}

impl ObservedMessage {
    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A local reply sent by the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedLocalReply {
    /// Status code.
    pub status: u16,
    /// Response-code details.
    pub details: String,
    /// Body.
    pub body: Vec<u8>,
    /// Headers the filter added.
    pub headers: Vec<(String, String)>,
}

/// An HTTP callout the filter made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedCall {
    /// The cluster.
    pub cluster: String,
    /// Its headers.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: Vec<u8>,
}

/// What a TCP connection looked like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedConnection {
    /// The filter closed the connection.
    pub closed_by_filter: bool,
    /// Bytes the upstream received.
    pub upstream_received: Vec<u8>,
    /// Bytes the client received.
    pub downstream_received: Vec<u8>,
}

/// Everything a step's expectations may look at.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// What the upstream received (`None`: the request never reached it).
    pub upstream: Option<ObservedMessage>,
    /// What the client received.
    pub client: Option<ObservedMessage>,
    /// The filter's local reply, if any.
    pub local_reply: Option<ObservedLocalReply>,
    /// Log lines emitted during the step.
    pub logs: Vec<(LevelName, String)>,
    /// All metrics after the step.
    pub metrics: BTreeMap<String, i64>,
    /// Shared data for the keys the expectations name.
    pub shared_data: BTreeMap<String, Option<Vec<u8>>>,
    /// Hostcall trace lines of the step.
    pub trace: Vec<String>,
    /// HTTP callouts waiting for an answer after the step.
    pub pending_http_calls: Vec<ObservedCall>,
    /// Reset details, if the stream was reset.
    pub reset: Option<String>,
    /// The filter still held the request or response at the end.
    pub stalled: bool,
    /// The VM failure message, if the VM has failed.
    pub vm_failure: Option<String>,
    /// For connection steps.
    pub connection: Option<ObservedConnection>,
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What was checked, e.g. `client.headers["x-demo"]`.
    pub field: String,
    /// What the scenario expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// Extra context (e.g. all headers of the message), already indented text.
    pub context: Option<String>,
}

impl Mismatch {
    fn new(
        field: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Mismatch {
            field: field.into(),
            expected: expected.into(),
            actual: actual.into(),
            context: None,
        }
    }

    fn with_context(mut self, context: String) -> Self {
        self.context = Some(context);
        self
    }

    /// Renders the mismatch for a terminal: one line for short values, a unified diff for
    /// multi-line ones, then the context.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.expected.contains('\n') || self.actual.contains('\n') {
            let _ = writeln!(out, "{}: differs (-expected +actual):", self.field);
            let diff = similar::TextDiff::from_lines(&self.expected, &self.actual);
            for change in diff.iter_all_changes() {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let line = change.value();
                let _ = write!(out, "    {sign}{line}");
                if !line.ends_with('\n') {
                    out.push_str("\n    \\ no newline at end\n");
                }
            }
        } else {
            let _ = writeln!(out, "{}:", self.field);
            let _ = writeln!(out, "    expected: {}", self.expected);
            let _ = writeln!(out, "    actual:   {}", self.actual);
        }
        if let Some(c) = &self.context {
            out.push_str(c);
        }
        out
    }
}

fn quote(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.contains('\n') => s.to_string(),
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("{} bytes of binary data: {bytes:02x?}", bytes.len()),
    }
}

fn list_headers(title: &str, headers: &[(String, String)]) -> String {
    let mut out = format!("    {title}:\n");
    if headers.is_empty() {
        out.push_str("      (none)\n");
    }
    for (k, v) in headers {
        let _ = writeln!(out, "      {k}: {v}");
    }
    out
}

/// Checks every expectation of a step; an empty result means the step passed.
pub fn check(expect: &Expect, obs: &Observation) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(m) = &expect.upstream {
        check_message("upstream", m, obs.upstream.as_ref(), &mut out);
    }
    if let Some(m) = &expect.client {
        check_message("client", m, obs.client.as_ref(), &mut out);
    }
    if let Some(l) = &expect.local_reply {
        check_local_reply(l, obs.local_reply.as_ref(), &mut out);
    }
    check_logs(expect, obs, &mut out);
    for (name, want) in &expect.metrics {
        match obs.metrics.get(name) {
            Some(got) if got == want => {}
            got => {
                let mut ctx = String::from("    metrics:\n");
                for (k, v) in &obs.metrics {
                    let _ = writeln!(ctx, "      {k} = {v}");
                }
                if obs.metrics.is_empty() {
                    ctx.push_str("      (none defined)\n");
                }
                out.push(
                    Mismatch::new(
                        format!("metrics[{name:?}]"),
                        want.to_string(),
                        got.map_or("not defined".into(), |v| v.to_string()),
                    )
                    .with_context(ctx),
                );
            }
        }
    }
    for (key, want) in &expect.shared_data {
        let got = obs.shared_data.get(key).cloned().flatten();
        let matches = match (want, &got) {
            (None, None) => true,
            (Some(w), Some(g)) => w.as_bytes() == g.as_slice(),
            _ => false,
        };
        if !matches {
            out.push(Mismatch::new(
                format!("shared_data[{key:?}]"),
                want.as_ref().map_or("not set".into(), |w| format!("{w:?}")),
                got.as_ref().map_or("not set".into(), |g| quote(g)),
            ));
        }
    }
    check_trace(expect, obs, &mut out);
    if let Some(calls) = &expect.pending_http_calls {
        check_calls(calls, &obs.pending_http_calls, &mut out);
    }
    if let Some(r) = &expect.stream_reset {
        let ok = match (r, &obs.reset) {
            (FailedExpect::Flag(want), got) => *want == got.is_some(),
            (FailedExpect::Message(s), Some(d)) => d.contains(s.as_str()),
            (FailedExpect::Message(_), None) => false,
        };
        if !ok {
            out.push(Mismatch::new(
                "stream_reset",
                match r {
                    FailedExpect::Flag(true) => "the stream was reset".to_string(),
                    FailedExpect::Flag(false) => "no reset".to_string(),
                    FailedExpect::Message(s) => format!("a reset with details containing {s:?}"),
                },
                obs.reset
                    .as_ref()
                    .map_or("no reset".to_string(), |d| format!("reset ({d})")),
            ));
        }
    }
    if let Some(want) = expect.stalled
        && want != obs.stalled
    {
        out.push(Mismatch::new(
            "stalled",
            want.to_string(),
            format!(
                "{} (the filter {} the stream)",
                obs.stalled,
                if obs.stalled {
                    "still held"
                } else {
                    "released"
                }
            ),
        ));
    }
    if let Some(f) = &expect.vm_failed {
        let ok = match (f, &obs.vm_failure) {
            (FailedExpect::Flag(want), got) => *want == got.is_some(),
            (FailedExpect::Message(s), Some(msg)) => msg.contains(s.as_str()),
            (FailedExpect::Message(_), None) => false,
        };
        if !ok {
            let expected = match f {
                FailedExpect::Flag(true) => "the VM has failed".to_string(),
                FailedExpect::Flag(false) => "the VM is healthy".to_string(),
                FailedExpect::Message(s) => {
                    format!("the VM failed with a message containing {s:?}")
                }
            };
            let actual = obs
                .vm_failure
                .as_ref()
                .map_or("the VM is healthy".to_string(), |m| format!("failed: {m}"));
            out.push(Mismatch::new("vm_failed", expected, actual));
        }
    }
    if let Some(c) = &expect.connection {
        check_connection(c, obs.connection.as_ref(), &mut out);
    }
    out
}

fn check_message(
    side: &str,
    want: &MessageExpect,
    got: Option<&ObservedMessage>,
    out: &mut Vec<Mismatch>,
) {
    let Some(got) = got else {
        if !want.absent {
            let why = if side == "upstream" {
                "the request never reached the upstream"
            } else {
                "the client received no response"
            };
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

fn check_body(
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

fn check_local_reply(
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
                && s != r.status
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

fn level_matches(want: Option<LevelName>, got: LevelName) -> bool {
    want.is_none_or(|w| w == got)
}

fn logs_context(logs: &[(LevelName, String)]) -> String {
    let mut ctx = String::from("    logs of the step:\n");
    if logs.is_empty() {
        ctx.push_str("      (none)\n");
    }
    for (level, msg) in logs {
        let _ = writeln!(ctx, "      [{level:?}] {msg}");
    }
    ctx
}

fn check_logs(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    for want in &expect.logs {
        let found = obs
            .logs
            .iter()
            .any(|(l, m)| level_matches(want.level, *l) && m.contains(want.contains.as_str()));
        if !found {
            let level = want
                .level
                .map_or(String::new(), |l| format!(" at level {l:?}"));
            out.push(
                Mismatch::new(
                    "logs",
                    format!("a line containing {:?}{level}", want.contains),
                    "no such line",
                )
                .with_context(logs_context(&obs.logs)),
            );
        }
    }
    for s in &expect.logs_absent {
        if let Some((_, line)) = obs.logs.iter().find(|(_, m)| m.contains(s.as_str())) {
            out.push(Mismatch::new(
                "logs_absent",
                format!("no line containing {s:?}"),
                format!("{line:?}"),
            ));
        }
    }
}

fn check_trace(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    let ctx = || {
        let mut c = String::from("    hostcall trace of the step (last 40 lines):\n");
        let skip = obs.trace.len().saturating_sub(40);
        for line in &obs.trace[skip..] {
            let _ = writeln!(c, "      {line}");
        }
        c
    };
    for s in &expect.trace {
        if !obs.trace.iter().any(|l| l.contains(s.as_str())) {
            out.push(
                Mismatch::new("trace", format!("a hostcall matching {s:?}"), "none")
                    .with_context(ctx()),
            );
        }
    }
    for s in &expect.trace_absent {
        if let Some(line) = obs.trace.iter().find(|l| l.contains(s.as_str())) {
            out.push(Mismatch::new(
                "trace_absent",
                format!("no hostcall matching {s:?}"),
                line.clone(),
            ));
        }
    }
}

fn check_calls(
    want: &[super::format::HttpCallExpect],
    got: &[ObservedCall],
    out: &mut Vec<Mismatch>,
) {
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

fn check_connection(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::format::Headers;

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
            ..Default::default()
        };
        obs.metrics.insert("requests".into(), 1);
        let m = check(&expect, &obs);
        assert_eq!(m.len(), 2);
        assert!(m[1].render().contains("requests = 1"));
    }
}
