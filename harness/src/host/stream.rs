//! [`HttpStream`]: an HTTP stream fed step by step from a test.

use super::Host;
use crate::abi::wire::Pair;
use crate::envoy::Dir;
use crate::envoy::context::Stage;
use crate::values::{
    Exchange, FilterStatus, HarnessError, HttpRequest, HttpResponse, LocalReply, Message, lowered,
};

/// An HTTP stream being fed step by step; dropping it finishes it (on_log, on_done,
/// on_delete) if [`finish`](HttpStream::finish) was not called.
pub struct HttpStream<'h> {
    host: &'h mut Host,
    id: u32,
    finished: bool,
}

impl std::fmt::Debug for HttpStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStream")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<'h> HttpStream<'h> {
    pub(crate) fn new(host: &'h mut Host, id: u32) -> HttpStream<'h> {
        HttpStream {
            host,
            id,
            finished: false,
        }
    }

    /// The stream's context id (2, 3, … on a one-plugin host).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The host (e.g. to answer a callout while the stream is paused).
    pub fn host(&mut self) -> &mut Host {
        &mut *self.host
    }

    /// Sets a property for this stream only, read before the host's (see
    /// [`HostBuilder::property`](crate::HostBuilder::property) for the path syntax): dynamic
    /// metadata (`metadata.filter_metadata[envoy.filters.http.lua].key`), a connection
    /// property (`source.address`), anything. The next stream starts without it.
    ///
    /// ```no_run
    /// use wasme_harness::{Host, HttpRequest, HttpResponse, Module};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let module = Module::from_file("filter.wasm")?;
    /// let mut host = Host::builder(&module).build()?;
    /// let mut stream = host.http_stream()?;
    /// stream.set_property("metadata.filter_metadata[envoy.filters.http.lua].uppercase", "yes")?;
    /// let with = stream.exchange(&HttpRequest::get("/"), &HttpResponse::ok())?;
    /// let without = host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())?;
    /// # Ok(()) }
    /// ```
    pub fn set_property(
        &mut self,
        path: &str,
        value: impl Into<crate::PropertyValue>,
    ) -> Result<(), HarnessError> {
        let segments = crate::parse_property_path(path).map_err(HarnessError::Usage)?;
        self.host
            .proxy
            .set_context_property(self.id, segments, value.into())
    }

    /// Sets a property for this stream only by its path segments, each taken as is.
    pub fn set_property_segments<S: AsRef<str>>(
        &mut self,
        segments: &[S],
        value: impl Into<crate::PropertyValue>,
    ) -> Result<(), HarnessError> {
        let segments = segments.iter().map(|s| s.as_ref().to_string()).collect();
        self.host
            .proxy
            .set_context_property(self.id, segments, value.into())
    }

    /// The downstream connection this stream arrives on (`source.*`, `destination.*`,
    /// `connection.*`), instead of the host's.
    pub fn set_connection(
        &mut self,
        connection: crate::ConnectionInfo,
    ) -> Result<(), HarnessError> {
        self.host.proxy.set_context_connection(self.id, connection)
    }

    /// Runs the whole exchange on this stream, as [`Host::http_exchange`] does: the request,
    /// then — unless it ended in a local reply or reset, or is still paused — the upstream
    /// `response`, then on_log, on_done, on_delete.
    pub fn exchange(
        mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Exchange, HarnessError> {
        self.send_request(request)?;
        if self.request_complete() {
            self.send_response(response)?;
        }
        self.into_exchange()
    }

    /// Request headers from the client (on_request_headers).
    pub fn request_headers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .proxy
            .http_headers(self.id, Dir::Request, headers, end_of_stream)
    }

    /// A request body chunk (on_request_body, unless withheld by a headers pause).
    pub fn request_body(
        &mut self,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .proxy
            .http_body(self.id, Dir::Request, chunk, end_of_stream)
    }

    /// Request trailers (on_request_trailers); ends the request.
    pub fn request_trailers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        trailers: &[(K, V)],
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .proxy
            .http_trailers(self.id, Dir::Request, lowered(trailers))
    }

    /// Response headers from the upstream (on_response_headers).
    pub fn response_headers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .proxy
            .http_headers(self.id, Dir::Response, headers, end_of_stream)
    }

    /// A response body chunk.
    pub fn response_body(
        &mut self,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .proxy
            .http_body(self.id, Dir::Response, chunk, end_of_stream)
    }

    /// Response trailers; ends the response.
    pub fn response_trailers<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        trailers: &[(K, V)],
    ) -> Result<FilterStatus, HarnessError> {
        self.host
            .proxy
            .http_trailers(self.id, Dir::Response, lowered(trailers))
    }

    /// Feeds a whole request: headers, then the body (one chunk) and trailers if present.
    pub fn send_request(&mut self, request: &HttpRequest) -> Result<FilterStatus, HarnessError> {
        self.send(
            Dir::Request,
            &request.headers,
            &request.body,
            &request.trailers,
        )
    }

    /// Feeds a whole upstream response.
    pub fn send_response(&mut self, response: &HttpResponse) -> Result<FilterStatus, HarnessError> {
        self.send(
            Dir::Response,
            &response.headers,
            &response.body,
            &response.trailers,
        )
    }

    /// Headers, then the body as one chunk and the trailers when present, in direction `dir`.
    fn send(
        &mut self,
        dir: Dir,
        headers: &[Pair],
        body: &[u8],
        trailers: &[Pair],
    ) -> Result<FilterStatus, HarnessError> {
        let (has_body, has_trailers) = (!body.is_empty(), !trailers.is_empty());
        let mut status =
            self.host
                .proxy
                .http_headers(self.id, dir, headers, !has_body && !has_trailers)?;
        if has_body {
            status = self
                .host
                .proxy
                .http_body(self.id, dir, body, !has_trailers)?;
        }
        if has_trailers {
            status = self
                .host
                .proxy
                .http_trailers(self.id, dir, lowered(trailers))?;
        }
        Ok(status)
    }

    /// True once the whole request went upstream (not paused, no local reply or reset).
    pub fn request_complete(&mut self) -> bool {
        let id = self.id;
        self.host.proxy.http_ctx(id).is_some_and(|h| {
            h.local_reply.is_none() && h.reset.is_none() && h.request.stage == Stage::Done
        })
    }

    /// The request direction's state now.
    pub fn request_status(&mut self) -> FilterStatus {
        self.host.proxy.http_status(self.id, Dir::Request)
    }

    /// The response direction's state now.
    pub fn response_status(&mut self) -> FilterStatus {
        self.host.proxy.http_status(self.id, Dir::Response)
    }

    /// What the upstream has received so far (`None` before the request headers went on).
    pub fn upstream_request(&mut self) -> Option<Message> {
        let id = self.id;
        self.host.proxy.http_ctx(id).and_then(|h| {
            (h.request.headers_forwarded && h.reset.is_none()).then(|| h.request.forwarded.clone())
        })
    }

    /// What the client has received so far (`None` before the response headers went on).
    pub fn client_response(&mut self) -> Option<Message> {
        let id = self.id;
        self.host.proxy.http_ctx(id).and_then(|h| {
            h.response
                .headers_forwarded
                .then(|| h.response.forwarded.clone())
        })
    }

    /// The local reply, if the stream ended in one.
    pub fn local_reply(&mut self) -> Option<LocalReply> {
        let id = self.id;
        self.host
            .proxy
            .http_ctx(id)
            .and_then(|h| h.local_reply.clone())
    }

    /// The reset details, if the stream was reset.
    pub fn reset_details(&mut self) -> Option<String> {
        let id = self.id;
        self.host.proxy.http_ctx(id).and_then(|h| h.reset.clone())
    }

    /// Ends the stream: on_log, on_done, on_delete.
    pub fn finish(mut self) -> Result<(), HarnessError> {
        self.finished = true;
        let r = self.host.proxy.http_finish(self.id);
        self.host.proxy.http_forget(self.id);
        r
    }

    /// Finishes the stream and reports what happened.
    pub fn into_exchange(mut self) -> Result<Exchange, HarnessError> {
        let id = self.id;
        let (upstream, client, local_reply, reset, stalled) = {
            let h = self
                .host
                .proxy
                .http_ctx(id)
                .ok_or_else(|| HarnessError::Usage("the stream is gone".into()))?;
            let stalled = h.local_reply.is_none()
                && h.reset.is_none()
                && (h.request.stage != Stage::Done || h.response.stage != Stage::Done);
            let upstream =
                (h.request.headers_forwarded && h.local_reply.is_none() && h.reset.is_none())
                    .then(|| h.request.forwarded.clone());
            (
                upstream,
                h.response.forwarded.clone(),
                h.local_reply.clone(),
                h.reset.clone(),
                stalled,
            )
        };
        self.finished = true;
        let r = self.host.proxy.http_finish(id);
        self.host.proxy.http_forget(id);
        r?;
        Ok(Exchange {
            upstream_request: upstream,
            client_response: client,
            local_reply,
            reset,
            stalled,
        })
    }
}

impl Drop for HttpStream<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Envoy always ends a stream; errors here have nowhere to go but the logs.
            let _ = self.host.proxy.http_finish(self.id);
            self.host.proxy.http_forget(self.id);
        }
    }
}
