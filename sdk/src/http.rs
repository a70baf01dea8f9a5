//! HTTP filters: the [`HttpFilter`] trait, its per-callback context [`HttpCx`], and the
//! adapter that drives a filter from `proxy-wasm`'s `HttpContext` callbacks.

use crate::callout::{
    CallError, CallFailure, GrpcCallResult, HttpCall, HttpCallResponse, HttpCallResult, Pending,
};
use crate::headers::{Body, Headers};
use crate::{Filter, grpc};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use std::rc::Rc;

/// An HTTP filter: one value per HTTP stream, created by [`Filter::new`].
///
/// Every method has a default that lets the stream continue; implement the ones you need.
/// Each receives the map or buffer of its phase and an [`HttpCx`] for everything else
/// (local replies, callouts, resuming).
///
/// ```
/// use std::rc::Rc;
/// use wasme_sdk::{Action, Filter, Headers, HttpCx, HttpFilter};
///
/// /// Rejects requests without an `x-api-key` header.
/// struct RequireKey;
///
/// impl Filter for RequireKey {
///     type Config = ();
///     fn new(_config: &Rc<()>) -> Self { RequireKey }
/// }
///
/// impl HttpFilter for RequireKey {
///     fn on_request_headers(&mut self, headers: &mut Headers, cx: &mut HttpCx<'_, Self>) -> Action {
///         if headers.contains("x-api-key") {
///             Action::Continue
///         } else {
///             cx.send_response(401, &[("www-authenticate", "ApiKey")], b"missing x-api-key\n")
///         }
///     }
/// }
///
/// wasme_sdk::export_http_filter!(RequireKey);
/// ```
pub trait HttpFilter: Filter {
    /// The request headers arrived. Return [`Action::Pause`] to hold the request (for instance
    /// until a callout answers; resume with [`HttpCx::resume_request`]).
    fn on_request_headers(&mut self, _headers: &mut Headers, _cx: &mut HttpCx<'_, Self>) -> Action {
        Action::Continue
    }

    /// A request body chunk arrived; [`Action::Pause`] buffers it (see [`Body`]).
    fn on_request_body(&mut self, _body: &mut Body, _cx: &mut HttpCx<'_, Self>) -> Action {
        Action::Continue
    }

    /// The request trailers arrived.
    fn on_request_trailers(
        &mut self,
        _trailers: &mut Headers,
        _cx: &mut HttpCx<'_, Self>,
    ) -> Action {
        Action::Continue
    }

    /// The response headers arrived (also for local replies).
    fn on_response_headers(
        &mut self,
        _headers: &mut Headers,
        _cx: &mut HttpCx<'_, Self>,
    ) -> Action {
        Action::Continue
    }

    /// A response body chunk arrived; [`Action::Pause`] buffers it (see [`Body`]).
    fn on_response_body(&mut self, _body: &mut Body, _cx: &mut HttpCx<'_, Self>) -> Action {
        Action::Continue
    }

    /// The response trailers arrived.
    fn on_response_trailers(
        &mut self,
        _trailers: &mut Headers,
        _cx: &mut HttpCx<'_, Self>,
    ) -> Action {
        Action::Continue
    }

    /// The stream is complete (access-log time): final request and response headers are
    /// readable through [`HttpCx::request_headers`] / [`HttpCx::response_headers`].
    fn on_log(&mut self, _cx: &mut HttpCx<'_, Self>) {}
}

type HttpCallback<F> = Box<dyn FnOnce(&mut F, HttpCallResult, &mut HttpCx<'_, F>)>;
type GrpcCallback<F> = Box<dyn FnOnce(&mut F, GrpcCallResult, &mut HttpCx<'_, F>)>;

/// What the SDK keeps per stream besides the filter: the callouts still waiting.
pub struct Callouts<F: ?Sized> {
    http: Pending<HttpCallback<F>>,
    grpc: Pending<GrpcCallback<F>>,
}

impl<F: ?Sized> Default for Callouts<F> {
    fn default() -> Self {
        Callouts {
            http: Pending::default(),
            grpc: Pending::default(),
        }
    }
}

/// The context of one HTTP filter callback: local replies, callouts, resuming the stream and
/// access to the other phase's headers.
pub struct HttpCx<'a, F: ?Sized> {
    context_id: u32,
    callouts: &'a mut Callouts<F>,
}

impl<F: HttpFilter> HttpCx<'_, F> {
    /// The host's id of this stream.
    pub fn context_id(&self) -> u32 {
        self.context_id
    }

    /// The request headers (mutable while the request is paused in its headers phase, readable
    /// again in `on_log`).
    pub fn request_headers(&self) -> Headers {
        Headers::new(MapType::HttpRequestHeaders, false)
    }

    /// The response headers (mutable during the response headers phase, readable in `on_log`).
    pub fn response_headers(&self) -> Headers {
        Headers::new(MapType::HttpResponseHeaders, false)
    }

    /// Sends a local reply instead of forwarding the stream, and returns [`Action::Pause`] for
    /// the callback to return. Envoy adds `content-length` and `content-type: text/plain`.
    pub fn send_response(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]) -> Action {
        let body = if body.is_empty() { None } else { Some(body) };
        let _ = hostcalls::send_http_response(status, headers.to_vec(), body);
        Action::Pause
    }

    /// Resumes a request paused in `on_request_headers` or `on_request_body`.
    pub fn resume_request(&mut self) {
        let _ = hostcalls::resume_http_request();
    }

    /// Resumes a response paused in `on_response_headers` or `on_response_body`.
    pub fn resume_response(&mut self) {
        let _ = hostcalls::resume_http_response();
    }

    /// Resets the stream (the client sees the connection reset).
    pub fn reset(&mut self) {
        let _ = hostcalls::reset_http_request();
    }

    /// Sends `call` to `cluster`; `on_response` runs when it answers, fails or times out.
    ///
    /// The closure gets the filter, the response (or the [`CallFailure`]) and a context on
    /// this stream, so it can [`resume_request`](Self::resume_request) or
    /// [`send_response`](Self::send_response). Returns the host's token.
    ///
    /// ```no_run
    /// # use std::rc::Rc;
    /// # use wasme_sdk::{Action, Filter, Headers, HttpCall, HttpCx, HttpFilter};
    /// # struct Auth;
    /// # impl Filter for Auth { type Config = (); fn new(_: &Rc<()>) -> Self { Auth } }
    /// impl HttpFilter for Auth {
    ///     fn on_request_headers(&mut self, _h: &mut Headers, cx: &mut HttpCx<'_, Self>) -> Action {
    ///         let sent = cx.http_call("auth", HttpCall::get("auth", "/check"), |_filter, result, cx| {
    ///             match result.ok().and_then(|r| r.status()) {
    ///                 Some(200) => cx.resume_request(),
    ///                 _ => { cx.send_response(403, &[], b"denied"); }
    ///             }
    ///         });
    ///         match sent {
    ///             Ok(_) => Action::Pause,
    ///             Err(_) => cx.send_response(503, &[], b"auth unavailable"),
    ///         }
    ///     }
    /// }
    /// ```
    pub fn http_call(
        &mut self,
        cluster: &str,
        call: HttpCall,
        on_response: impl FnOnce(&mut F, HttpCallResult, &mut HttpCx<'_, F>) + 'static,
    ) -> Result<u32, CallError> {
        let token = call.dispatch(cluster)?;
        self.callouts.http.insert(token, Box::new(on_response));
        Ok(token)
    }

    /// Sends a unary gRPC call (`service`/`method`, serialized protobuf `message`) to
    /// `cluster`; `on_response` gets the serialized response or the failure (gRPC status).
    pub fn grpc_call(
        &mut self,
        cluster: &str,
        call: grpc::GrpcCall<'_>,
        on_response: impl FnOnce(&mut F, GrpcCallResult, &mut HttpCx<'_, F>) + 'static,
    ) -> Result<u32, CallError> {
        let token = call.dispatch(cluster)?;
        self.callouts.grpc.insert(token, Box::new(on_response));
        Ok(token)
    }
}

/// Drives an [`HttpFilter`] from `proxy-wasm`'s callbacks (created by the export macro).
///
/// A stream of a plugin without a valid configuration (which Envoy never creates) has no
/// filter and fails closed: its request gets a 503 local reply.
pub struct HttpFilterContext<F: HttpFilter> {
    context_id: u32,
    filter: Option<F>,
    callouts: Callouts<F>,
}

impl<F: HttpFilter> HttpFilterContext<F> {
    /// A stream `context_id` of a plugin configured with `config` (`None`: not configured).
    pub fn new(config: Option<&Rc<F::Config>>, context_id: u32) -> Self {
        HttpFilterContext {
            context_id,
            filter: config.map(F::new),
            callouts: Callouts::default(),
        }
    }

    /// Runs `f` with the filter and a context, or `unconfigured` when there is no filter.
    #[inline]
    fn with(
        &mut self,
        unconfigured: Action,
        f: impl FnOnce(&mut F, &mut HttpCx<'_, F>) -> Action,
    ) -> Action {
        match &mut self.filter {
            Some(filter) => f(
                filter,
                &mut HttpCx {
                    context_id: self.context_id,
                    callouts: &mut self.callouts,
                },
            ),
            None => unconfigured,
        }
    }
}

impl<F: HttpFilter> Context for HttpFilterContext<F> {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    ) {
        let Some(callback) = self.callouts.http.take(token) else {
            return;
        };
        // Envoy reports a failed call (reset, timeout) as a response without headers.
        let result = if num_headers == 0 {
            Err(CallFailure::read(0))
        } else {
            Ok(HttpCallResponse::read(num_headers, body_size, num_trailers))
        };
        self.with(Action::Continue, |filter, cx| {
            callback(filter, result, cx);
            Action::Continue
        });
    }

    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, response_size: usize) {
        let Some(callback) = self.callouts.grpc.take(token) else {
            return;
        };
        let result = if status_code == 0 {
            Ok(
                hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, 0, response_size)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            )
        } else {
            Err(CallFailure::read(status_code))
        };
        self.with(Action::Continue, |filter, cx| {
            callback(filter, result, cx);
            Action::Continue
        });
    }
}

impl<F: HttpFilter> HttpContext for HttpFilterContext<F> {
    fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        let mut headers = Headers::new(MapType::HttpRequestHeaders, end_of_stream);
        let refuse = || {
            let _ = hostcalls::send_http_response(503, vec![], Some(b"filter not configured\n"));
            Action::Pause
        };
        match &self.filter {
            Some(_) => self.with(Action::Continue, |f, cx| {
                f.on_request_headers(&mut headers, cx)
            }),
            None => refuse(),
        }
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        let mut body = Body::new(BufferType::HttpRequestBody, size, end_of_stream);
        self.with(Action::Continue, |f, cx| f.on_request_body(&mut body, cx))
    }

    fn on_http_request_trailers(&mut self, _n: usize) -> Action {
        let mut trailers = Headers::new(MapType::HttpRequestTrailers, true);
        self.with(Action::Continue, |f, cx| {
            f.on_request_trailers(&mut trailers, cx)
        })
    }

    fn on_http_response_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        let mut headers = Headers::new(MapType::HttpResponseHeaders, end_of_stream);
        self.with(Action::Continue, |f, cx| {
            f.on_response_headers(&mut headers, cx)
        })
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        let mut body = Body::new(BufferType::HttpResponseBody, size, end_of_stream);
        self.with(Action::Continue, |f, cx| f.on_response_body(&mut body, cx))
    }

    fn on_http_response_trailers(&mut self, _n: usize) -> Action {
        let mut trailers = Headers::new(MapType::HttpResponseTrailers, true);
        self.with(Action::Continue, |f, cx| {
            f.on_response_trailers(&mut trailers, cx)
        })
    }

    fn on_log(&mut self) {
        self.with(Action::Continue, |f, cx| {
            f.on_log(cx);
            Action::Continue
        });
    }
}
