//! Planted defect: an authorization filter that asks cluster `auth` on every request and
//! pauses; it resumes on a 2xx answer, but on anything else — a failed or timed-out callout, a
//! 403, a 5xx — it only logs and forgets the stream, which stays paused forever (the client
//! hangs until Envoy's stream timeout). Fuzzing must report a stalled stream.

use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn create_http_context(&self, _: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter;

impl Context for Filter {
    fn on_http_call_response(&mut self, _token: u32, headers: usize, _body: usize, _: usize) {
        // A failed callout has no response headers to read (Envoy answers BadArgument, which
        // proxy-wasm turns into a panic): that trap is not the defect planted here.
        let status = if headers > 0 {
            self.get_http_call_response_header(":status")
        } else {
            None
        };
        if status.as_deref().is_some_and(|s| s.starts_with('2')) {
            self.resume_http_request();
        } else {
            // The defect: neither resume_http_request nor send_http_response.
            proxy_wasm::hostcalls::log(
                LogLevel::Warn,
                &format!("authorization failed: {status:?}"),
            )
            .ok();
        }
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        match self.dispatch_http_call(
            "auth",
            vec![
                (":method", "GET"),
                (":path", "/check"),
                (":authority", "auth"),
                ("x-original-path", path.as_str()),
            ],
            None,
            vec![],
            Duration::from_secs(5),
        ) {
            Ok(_) => Action::Pause,
            Err(status) => {
                self.send_http_response(503, vec![], Some(format!("{status:?}").as_bytes()));
                Action::Pause
            }
        }
    }
}
