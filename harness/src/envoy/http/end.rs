//! How an HTTP stream ends: local replies (run through the filter's response callbacks when
//! the response has not started), resets, and on_log → on_done → on_delete.

use super::Dir;
use crate::envoy::Proxy;
use crate::envoy::state::{Avail, CallData, Context, Direction, Stage};
use crate::values::{HarnessError, LocalReply};

impl Proxy {
    /// Sends a local reply for stream `id` (first one wins). Before the response started it runs
    /// through this filter's response callbacks; otherwise it goes straight to the client.
    pub(crate) fn send_local_reply(&mut self, id: u32, reply: LocalReply) {
        let vm_failed = self.vm.failure.is_some();
        let Some(h) = self.http_ctx(id) else { return };
        if h.local_reply.is_some() || h.reset.is_some() {
            return;
        }
        let mut headers = vec![(":status".to_string(), reply.status.to_string())];
        headers.extend(reply.headers.iter().cloned());
        headers.retain(|(k, _)| k != "content-length");
        headers.push(("content-length".into(), reply.body.len().to_string()));
        if !reply.body.is_empty() && !headers.iter().any(|(k, _)| k == "content-type") {
            headers.push(("content-type".into(), "text/plain".into()));
        }
        if let Some(g) = reply.grpc_status
            && !headers.iter().any(|(k, _)| k == "grpc-status")
        {
            headers.push(("grpc-status".into(), g.to_string()));
        }
        let body = reply.body.clone();
        h.local_reply = Some(reply);
        if h.request.stage != Stage::Done {
            h.request.stage = Stage::Done;
        }
        let through_filter = h.response.headers_avail == Avail::Absent && !h.bypass && !vm_failed;
        if through_filter {
            h.response = Direction::default();
            let eos = body.is_empty();
            self.headers_inner(id, Dir::Response, headers, eos);
            if !eos
                && self
                    .dir_mut(id, Dir::Response)
                    .is_some_and(|d| d.stage == Stage::Flowing)
            {
                if let Some(d) = self.dir_mut(id, Dir::Response) {
                    d.body.extend_from_slice(&body);
                    d.body_size += body.len() as u64;
                    d.end_seen = true;
                }
                self.deliver_body(id, Dir::Response);
            } else if !eos && let Some(d) = self.dir_mut(id, Dir::Response) {
                d.body.extend_from_slice(&body);
                d.body_size += body.len() as u64;
                d.end_seen = true;
                d.withheld_body = true;
            }
        } else {
            h.response.headers = headers.clone();
            h.response.forwarded.headers = headers;
            h.response.forwarded.body = body;
            h.response.forwarded.trailers.clear();
            h.response.headers_forwarded = true;
            h.response.stage = Stage::Done;
        }
    }

    /// Resets the stream (`proxy_close_stream` on HTTP).
    pub(crate) fn reset_stream(&mut self, id: u32, details: &str) {
        if let Some(h) = self.http_ctx(id)
            && h.reset.is_none()
            && h.local_reply.is_none()
        {
            h.reset = Some(details.to_string());
            h.request.stage = Stage::Done;
            h.response.stage = Stage::Done;
        }
    }

    /// Ends the stream: on_log, on_done, on_delete (Envoy's order), then forgets it.
    pub(crate) fn http_finish(&mut self, id: u32) -> Result<(), HarnessError> {
        let Some(h) = self.http_ctx(id) else {
            return Ok(());
        };
        if h.finished {
            return Ok(());
        }
        h.finished = true;
        let bypass = h.bypass && self.vm.failure.is_some();
        if !bypass {
            if let Some(h) = self.http_ctx(id) {
                for d in [&mut h.request, &mut h.response] {
                    d.headers_avail = Avail::Final;
                    d.trailers_avail = Avail::Final;
                    d.body_avail = Avail::Absent;
                    if d.headers.is_empty() && d.headers_forwarded {
                        // The stream's report was taken before finishing; move, don't copy.
                        d.headers = std::mem::take(&mut d.forwarded.headers);
                    }
                }
            }
            if let Some(f) = &self.exports.on_log {
                let _ = self.vm.call("proxy_on_log", id, f, id, CallData::None);
            }
            if let Some(f) = &self.exports.on_done {
                let _ = self.vm.call("proxy_on_done", id, f, id, CallData::None);
            }
            if let Some(f) = &self.exports.on_delete {
                let _ = self.vm.call("proxy_on_delete", id, f, id, CallData::None);
            }
            self.vm.state().deferred.clear();
        }
        self.run_events()
    }

    /// Removes a finished stream's state (keeping a few boxes for the next streams).
    pub(crate) fn http_forget(&mut self, id: u32) {
        const SPARE: usize = 8;
        let state = self.vm.state();
        if let Some(Context::Http(h)) = state.contexts.remove(&id)
            && state.spare_http.len() < SPARE
        {
            state.spare_http.push(h);
        }
    }
}
