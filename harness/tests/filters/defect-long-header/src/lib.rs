//! Planted defect: request header values are copied into a fixed 255-byte buffer, so a value
//! longer than 255 bytes panics (a trap: Envoy fails the VM). Fuzzing must find it and shrink
//! it to one header of 256 bytes.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    // The SDK's panic hook logs "panicked at …" at critical before the trap.
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

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let mut longest = 0;
        for (_, value) in self.get_http_request_headers() {
            // The defect: "header values are short".
            let mut buf = [0u8; 255];
            buf[..value.len()].copy_from_slice(value.as_bytes());
            longest = longest.max(value.len());
        }
        self.set_http_request_header("x-longest-header", Some(&longest.to_string()));
        Action::Continue
    }
}
