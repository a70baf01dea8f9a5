//! What must hold after every exchange: the built-in invariants (no trap or VM failure, every
//! context deleted, no stream paused forever, an instruction budget) and the ones a user
//! declares ([`UserInvariant`]). Memory growth is judged over many exchanges, in
//! [`super::leak`].

use super::drive::Observed;
use crate::host::Host;
use crate::values::{Exchange as Outcome, FailureKind, HarnessError, VmFailure, find_header};
use std::fmt;

/// An invariant a user declares about every exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserInvariant {
    /// Every request that reaches the upstream carries this header.
    UpstreamHasHeader(String),
    /// No request reaching the upstream carries this header.
    UpstreamLacksHeader(String),
    /// Every response the client gets carries this header.
    ClientHasHeader(String),
    /// No response the client gets has a status of 500 or more, except the ones the upstream
    /// itself sent (a filter must not turn traffic into 5xx).
    NoFilter5xx,
    /// The filter never answers locally.
    NoLocalReply,
}

impl UserInvariant {
    /// Parses the command-line form: `upstream-has-header=NAME`, `upstream-lacks-header=NAME`,
    /// `client-has-header=NAME`, `no-5xx`, `no-local-reply`.
    ///
    /// ```
    /// use wasme_harness::fuzz::UserInvariant;
    /// assert_eq!(
    ///     UserInvariant::parse("upstream-has-header=X-Id"),
    ///     Ok(UserInvariant::UpstreamHasHeader("x-id".into()))
    /// );
    /// assert!(UserInvariant::parse("always-fast").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<UserInvariant, String> {
        let (kind, arg) = match text.split_once('=') {
            Some((k, a)) => (k.trim(), Some(a.trim().to_ascii_lowercase())),
            None => (text.trim(), None),
        };
        let need = |a: Option<String>| {
            a.filter(|a| !a.is_empty())
                .ok_or_else(|| format!("invariant {kind:?} needs a header name: `{kind}=NAME`"))
        };
        Ok(match kind {
            "upstream-has-header" => UserInvariant::UpstreamHasHeader(need(arg)?),
            "upstream-lacks-header" => UserInvariant::UpstreamLacksHeader(need(arg)?),
            "client-has-header" => UserInvariant::ClientHasHeader(need(arg)?),
            "no-5xx" => UserInvariant::NoFilter5xx,
            "no-local-reply" => UserInvariant::NoLocalReply,
            other => {
                return Err(format!(
                    "unknown invariant {other:?}: use upstream-has-header=NAME, \
                     upstream-lacks-header=NAME, client-has-header=NAME, no-5xx or no-local-reply"
                ));
            }
        })
    }
}

impl UserInvariant {
    /// Judges one finished HTTP exchange: `Err` says what broke the invariant. The fuzzer
    /// calls it after every exchange, and `cargo wasme test` after every HTTP step of a
    /// scenario that declares `invariants:`, so both apply the same rule.
    ///
    /// ```
    /// use wasme_harness::fuzz::UserInvariant;
    /// use wasme_harness::{Exchange, Message};
    /// let ex = Exchange {
    ///     upstream_request: Some(Message {
    ///         headers: vec![(":path".into(), "/".into())],
    ///         ..Message::default()
    ///     }),
    ///     client_response: Message::default(),
    ///     local_reply: None,
    ///     reset: None,
    ///     stalled: false,
    /// };
    /// assert!(UserInvariant::parse("upstream-lacks-header=x-id").unwrap().check(&ex).is_ok());
    /// let broken = UserInvariant::parse("upstream-has-header=x-id").unwrap().check(&ex);
    /// assert_eq!(broken, Err("the upstream request has no \"x-id\" header".to_string()));
    /// ```
    pub fn check(&self, out: &Outcome) -> Result<(), String> {
        match self {
            UserInvariant::UpstreamHasHeader(h) => {
                if let Some(up) = &out.upstream_request
                    && find_header(&up.headers, h).is_none()
                {
                    return Err(format!("the upstream request has no {h:?} header"));
                }
            }
            UserInvariant::UpstreamLacksHeader(h) => {
                if let Some(up) = &out.upstream_request
                    && let Some(v) = find_header(&up.headers, h)
                {
                    return Err(format!("the upstream request has {h}: {v:?}"));
                }
            }
            UserInvariant::ClientHasHeader(h) => {
                if out.client_response.status().is_some()
                    && find_header(&out.client_response.headers, h).is_none()
                {
                    return Err(format!("the client response has no {h:?} header"));
                }
            }
            UserInvariant::NoFilter5xx => {
                if let Some(l) = &out.local_reply
                    && l.status >= 500
                {
                    return Err(format!("the filter replied {} ({})", l.status, l.details));
                }
            }
            UserInvariant::NoLocalReply => {
                if let Some(l) = &out.local_reply {
                    return Err(format!("the filter replied {} ({})", l.status, l.details));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for UserInvariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserInvariant::UpstreamHasHeader(h) => write!(f, "upstream-has-header={h}"),
            UserInvariant::UpstreamLacksHeader(h) => write!(f, "upstream-lacks-header={h}"),
            UserInvariant::ClientHasHeader(h) => write!(f, "client-has-header={h}"),
            UserInvariant::NoFilter5xx => f.write_str("no-5xx"),
            UserInvariant::NoLocalReply => f.write_str("no-local-reply"),
        }
    }
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// The VM trapped, ran past its deadline (the per-callback time budget) or hit its memory
    /// cap: Envoy answers 503 (fail-closed) or skips the filter (fail-open) from then on.
    VmFailed(VmFailure),
    /// The host refused a step (a harness-level error other than a VM failure).
    HostError(String),
    /// Streams or connections were still alive after the exchange ended.
    ContextsLeft(usize),
    /// The filter paused the stream and never resumed, replied or reset it, though every
    /// callout was answered and the client stayed.
    StreamStalled,
    /// The exchange cost more wasm instructions than the budget.
    OverBudget {
        /// Instructions executed.
        fuel: u64,
        /// The budget.
        budget: u64,
    },
    /// Guest memory kept growing across repeats of the same exchange.
    Leak {
        /// The growth rate.
        bytes_per_exchange: f64,
    },
    /// A user-declared invariant failed.
    User {
        /// The invariant.
        invariant: UserInvariant,
        /// What was seen.
        detail: String,
    },
}

impl Violation {
    /// A short stable name of the kind of violation (shrinking keeps to the same kind).
    pub fn kind(&self) -> String {
        match self {
            Violation::VmFailed(f) => match f.kind {
                FailureKind::Deadline => "deadline".into(),
                FailureKind::MemoryLimit => "memory-limit".into(),
                _ => "vm-failed".into(),
            },
            Violation::HostError(_) => "host-error".into(),
            Violation::ContextsLeft(_) => "contexts-left".into(),
            Violation::StreamStalled => "stream-stalled".into(),
            Violation::OverBudget { .. } => "over-budget".into(),
            Violation::Leak { .. } => "leak".into(),
            Violation::User { invariant, .. } => format!("invariant {invariant}"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::VmFailed(v) => write!(f, "the VM failed: {v}"),
            Violation::HostError(e) => write!(f, "the host refused a step: {e}"),
            Violation::ContextsLeft(n) => {
                write!(f, "{n} stream context(s) still alive after the exchange")
            }
            Violation::StreamStalled => f.write_str(
                "the stream stayed paused: every callout was answered and the client waited, \
                 but the filter never resumed, replied or reset it",
            ),
            Violation::OverBudget { fuel, budget } => write!(
                f,
                "the exchange executed {fuel} wasm instructions, over the budget of {budget}"
            ),
            Violation::Leak { bytes_per_exchange } => write!(
                f,
                "guest memory grows by {bytes_per_exchange:.0} bytes per exchange when the same \
                 exchange repeats (a leak)"
            ),
            Violation::User { invariant, detail } => {
                write!(f, "invariant {invariant} failed: {detail}")
            }
        }
    }
}

/// The built-in and user invariants, judged after one exchange.
pub(crate) fn check(
    host: &Host,
    seen: &Observed,
    fuel_budget: Option<u64>,
    user: &[UserInvariant],
) -> Result<(), Violation> {
    if let Some(f) = host.failure() {
        return Err(Violation::VmFailed(f.clone()));
    }
    match &seen.error {
        Some(HarnessError::Trap(f)) => return Err(Violation::VmFailed(f.clone())),
        Some(e) => return Err(Violation::HostError(e.to_string())),
        None => {}
    }
    let live = host.live_stream_contexts();
    if live > 0 {
        return Err(Violation::ContextsLeft(live));
    }
    if let (Some(fuel), Some(budget)) = (seen.fuel, fuel_budget)
        && fuel > budget
    {
        return Err(Violation::OverBudget { fuel, budget });
    }
    let Some(out) = &seen.http else {
        return Ok(());
    };
    if out.stalled && !seen.client_gone {
        return Err(Violation::StreamStalled);
    }
    for inv in user {
        inv.check(out).map_err(|detail| Violation::User {
            invariant: inv.clone(),
            detail,
        })?;
    }
    Ok(())
}
