//! Running a step's action against the host, and snapshotting what happened into an
//! [`Observation`].

use crate::scenario::bridge::{self as host};
use crate::scenario::expect::{self, Observation};
use crate::scenario::format::{Action, Chunk, Connection, Expect, UpstreamResponse};
use std::collections::BTreeMap;
use wasme_harness::{HarnessError, Host};

/// What an action itself produced (the rest of the observation comes from the host).
#[derive(Default)]
pub(super) struct Partial {
    upstream: Option<expect::ObservedMessage>,
    client: Option<expect::ObservedMessage>,
    local_reply: Option<expect::ObservedLocalReply>,
    connection: Option<expect::ObservedConnection>,
    reset: Option<String>,
    stalled: bool,
    http_exchange: bool,
    /// An HTTP step's callouts still waiting when its exchange was over, read before its
    /// stream ended (which cancels them); other steps read the host's.
    pending_http_calls: Option<Vec<wasme_harness::HttpCallRequest>>,
    /// The harness's record of an HTTP exchange, for the scenario's `invariants`.
    pub(super) harness: Option<wasme_harness::Exchange>,
}

/// Runs the action of a step.
pub(super) fn run_action(host: &mut Host, action: &Action) -> Result<Partial, HarnessError> {
    match action {
        Action::Http { request, response } => {
            let ex = host::exchange(
                host,
                request,
                request.body.as_deref().map(str::as_bytes),
                response_parts(response),
            )?;
            // The harness reports "nothing reached the client" (a reset before headers, a
            // stream still held) as a response without headers: that is no response at all,
            // so `client:` expectations on it fail instead of checking an empty message.
            let client = (!ex.client.headers.is_empty()).then_some(ex.client);
            Ok(Partial {
                upstream: ex.upstream,
                client,
                local_reply: ex.local_reply,
                connection: None,
                reset: ex.reset,
                stalled: ex.stalled,
                http_exchange: true,
                pending_http_calls: Some(ex.pending_http_calls),
                harness: Some(ex.harness),
            })
        }
        Action::Connection(c) => Ok(Partial {
            connection: Some(connection(host, c)?),
            ..Default::default()
        }),
        Action::AdvanceClock(d) => {
            host.advance_clock(*d)?;
            Ok(Partial::default())
        }
        Action::Check => Ok(Partial::default()),
    }
}

fn response_parts(r: &UpstreamResponse) -> host::UpstreamParts<'_> {
    host::UpstreamParts {
        status: r.status,
        headers: &r.headers.0,
        body: r.body.as_deref().map(str::as_bytes),
        trailers: &r.trailers.0,
    }
}

fn connection(host: &mut Host, c: &Connection) -> Result<expect::ObservedConnection, HarnessError> {
    let chunks: Vec<host::TcpChunk<'_>> = c
        .data
        .iter()
        .filter_map(
            |Chunk {
                 downstream,
                 upstream,
                 end,
             }| match (downstream, upstream) {
                (Some(d), _) => Some(host::TcpChunk::Downstream(d.as_bytes(), *end)),
                (None, Some(u)) => Some(host::TcpChunk::Upstream(u.as_bytes(), *end)),
                (None, None) => None,
            },
        )
        .collect();
    host::tcp(host, &chunks, c.close)
}

/// What the step's expectations look at: the action's results plus the host's state.
pub(super) fn observe(
    host: &Host,
    partial: Partial,
    logs_before: usize,
    trace: &[String],
    want: &Expect,
) -> Observation {
    let logs = host.logs();
    let metrics = host::metrics(host);
    let shared_data: BTreeMap<String, Option<Vec<u8>>> = want
        .shared_data
        .keys()
        .map(|k| (k.clone(), host.shared_data(k).map(|(v, _cas)| v)))
        .collect();
    let mut pending = partial
        .pending_http_calls
        .unwrap_or_else(|| host.pending_http_calls());
    pending.sort_by_key(|c| c.token);
    let pending_http_calls = pending
        .iter()
        .map(|c| expect::ObservedCall {
            cluster: c.cluster.clone(),
            headers: c.headers.clone(),
            body: c.body.clone(),
        })
        .collect();
    Observation {
        upstream: partial.upstream,
        client: partial.client,
        local_reply: partial.local_reply,
        logs: host::log_lines(logs.get(logs_before..).unwrap_or_default()),
        metrics,
        shared_data,
        trace: trace.to_vec(),
        pending_http_calls,
        reset: partial.reset,
        stalled: partial.stalled,
        http_exchange: partial.http_exchange,
        vm_failure: host.failure().map(|f| f.to_string()),
        connection: partial.connection,
        instructions: None,
    }
}
