//! Plays one [`Exchange`] against a [`Host`] the way Envoy would see it, and reports what came
//! out. No invariant is judged here; see [`super::invariants`].

use super::input::{CalloutAnswer, ClientEnd, Exchange, HttpExchange, TcpExchange, Traffic};
use crate::host::Host;
use crate::values::{Exchange as Outcome, GrpcResponse, HarnessError, HttpCallResponse};
use std::time::Duration;

/// Past every callout timeout a filter sets in practice: Envoy's own limit on route
/// timeouts is far below it, and proxy-wasm SDKs pass seconds.
const PAST_ANY_TIMEOUT: Duration = Duration::from_secs(3600);

/// What one exchange produced.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// The HTTP outcome (for HTTP traffic that got as far as finishing the stream).
    pub http: Option<Outcome>,
    /// The client went away on purpose (reset, early disconnect, late callout answer): a
    /// paused stream is then not the filter's fault.
    pub client_gone: bool,
    /// A harness call failed.
    pub error: Option<HarnessError>,
    /// Instructions the exchange cost (metered modules only).
    pub fuel: Option<u64>,
}

/// Runs `ex` on `host` (which was built for `ex.config`).
pub(crate) fn play(host: &mut Host, ex: &Exchange) -> Observed {
    let fuel_before = host.fuel_consumed();
    let mut seen = Observed::default();
    let result = match &ex.traffic {
        Traffic::Http(h) => http(host, h, &mut seen),
        Traffic::Tcp(t) => tcp(host, t),
    }
    .and_then(|()| {
        if ex.then_advance.is_zero() {
            Ok(())
        } else {
            host.advance_clock(ex.then_advance)?;
            // Calls a root made on a tick get answered like any other.
            answer_pending(host, CalloutAnswer::Failure)
        }
    });
    if let Err(e) = result {
        seen.error = Some(e);
    }
    seen.fuel = match (fuel_before, host.fuel_consumed()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    seen
}

fn pairs(ex: &HttpExchange) -> Vec<(&str, &str)> {
    let mut out = Vec::with_capacity(ex.headers.len() + 4);
    out.push((":method", ex.method.as_str()));
    out.push((":path", ex.path.as_str()));
    out.push((":authority", ex.authority.as_str()));
    out.push((":scheme", ex.scheme.as_str()));
    out.extend(ex.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    out
}

/// Answers every pending HTTP callout and gRPC call as `answer` says (gRPC failures and
/// timeouts as status 14, UNAVAILABLE) (a `Late` answer is given by the caller
/// after the stream ended).
fn answer_pending(host: &mut Host, answer: CalloutAnswer) -> Result<(), HarnessError> {
    // A callback answering one call may make another: a few rounds, then stop.
    for _ in 0..4 {
        let pending = host.pending_http_calls();
        let grpc = host.pending_grpc_calls();
        if pending.is_empty() && grpc.is_empty() {
            return Ok(());
        }
        for call in grpc {
            let response = match answer {
                CalloutAnswer::Success { body_len, .. } => GrpcResponse::ok(vec![b'g'; body_len]),
                CalloutAnswer::Failure | CalloutAnswer::Timeout => {
                    GrpcResponse::error(14, "upstream connect error")
                }
                CalloutAnswer::Late => continue,
            };
            host.respond_grpc_call(call.token, response)?;
        }
        match answer {
            CalloutAnswer::Success { status, body_len } => {
                for call in pending {
                    let body = vec![b'r'; body_len];
                    host.respond_http_call(call.token, HttpCallResponse::new(status).body(body))?;
                }
            }
            CalloutAnswer::Failure => {
                for call in pending {
                    host.fail_http_call(call.token)?;
                }
            }
            CalloutAnswer::Timeout => {
                let longest = pending.iter().map(|c| c.timeout).max().unwrap_or_default();
                host.advance_clock(longest.min(PAST_ANY_TIMEOUT) + Duration::from_millis(1))?;
            }
            CalloutAnswer::Late => return Ok(()),
        }
    }
    Ok(())
}

fn http(host: &mut Host, ex: &HttpExchange, seen: &mut Observed) -> Result<(), HarnessError> {
    let (nb, has_trailers) = (ex.body.len(), !ex.trailers.is_empty());
    let mut s = host.http_stream()?;
    s.request_headers(&pairs(ex), nb == 0 && !has_trailers)?;
    if ex.client == ClientEnd::ResetAfterHeaders {
        seen.client_gone = true;
        seen.http = Some(s.into_exchange()?);
        return Ok(());
    }
    for (i, chunk) in ex.body.iter().enumerate() {
        s.request_body(chunk.as_bytes(), i + 1 == nb && !has_trailers)?;
    }
    if has_trailers {
        s.request_trailers(&ex.trailers)?;
    }
    answer_pending(s.host(), ex.callouts)?;
    if ex.client == ClientEnd::DisconnectsEarly || ex.callouts == CalloutAnswer::Late {
        seen.client_gone = true;
        seen.http = Some(s.into_exchange()?);
        // The answers arrive after the stream is gone: its own callouts were cancelled with
        // it (Envoy's `Context::~Context`); what a root still waits for is answered.
        return answer_pending(
            host,
            CalloutAnswer::Success {
                status: 200,
                body_len: 8,
            },
        );
    }
    if s.request_complete() {
        let r = &ex.response;
        let status = r.status.to_string();
        let mut headers = vec![(":status", status.as_str())];
        headers.extend(r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (nb, has_trailers) = (r.body.len(), !r.trailers.is_empty());
        s.response_headers(&headers, nb == 0 && !has_trailers)?;
        for (i, chunk) in r.body.iter().enumerate() {
            s.response_body(chunk.as_bytes(), i + 1 == nb && !has_trailers)?;
        }
        if has_trailers {
            s.response_trailers(&r.trailers)?;
        }
        answer_pending(s.host(), ex.callouts)?;
    }
    seen.http = Some(s.into_exchange()?);
    Ok(())
}

fn tcp(host: &mut Host, ex: &TcpExchange) -> Result<(), HarnessError> {
    let mut c = host.tcp_connection()?;
    c.new_connection()?;
    let last_down = ex.chunks.iter().rposition(|(up, _)| !up);
    let last_up = ex.chunks.iter().rposition(|(up, _)| *up);
    for (i, (from_upstream, data)) in ex.chunks.iter().enumerate() {
        if c.closed_details().is_some() {
            break;
        }
        if *from_upstream {
            c.upstream_data(data.as_bytes(), ex.close && Some(i) == last_up)?;
        } else {
            c.downstream_data(data.as_bytes(), ex.close && Some(i) == last_down)?;
        }
    }
    // An open connection is closed anyway when the exchange ends (the connection is dropped):
    // Envoy deletes every context, and `close: false` only means no end-of-stream was sent.
    c.close()
}
