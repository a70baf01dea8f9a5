//! Planted defect: a request-body scanner that, for every body chunk, re-reads the whole
//! buffered body and compares every byte with every earlier one: quadratic in the body size.
//! Fine on a 1 KiB test body, ruinous on a 1 MiB upload. `cargo wasme bench --baseline` must
//! flag it.

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
        Some(Box::new(Filter { repeats: 0 }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    repeats: u64,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        // The defect: O(n²) "repeated byte" count over the whole body, for every chunk.
        let mut repeats = 0u64;
        for i in 0..body.len() {
            for j in 0..i {
                repeats += u64::from(body[i] == body[j]);
            }
        }
        self.repeats = repeats;
        if end_of_stream {
            proxy_wasm::hostcalls::log(LogLevel::Debug, &format!("repeats: {}", self.repeats)).ok();
        }
        Action::Continue
    }
}
