//! Planted defect: every request's path is remembered in a 1 KiB record that is never freed
//! ("for debugging"), so each worker's VM grows by about 1 KiB per request until Envoy kills
//! it. Fuzzing must see guest memory climbing and report a bytes-per-exchange slope.

use std::cell::RefCell;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

thread_local! {
    /// The defect: one `Vec` per request, never removed.
    static SEEN: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

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
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let mut record = vec![0u8; 1024];
        let n = path.len().min(record.len());
        record[..n].copy_from_slice(&path.as_bytes()[..n]);
        let count = SEEN.with(|s| {
            let mut s = s.borrow_mut();
            s.push(record);
            s.len()
        });
        self.set_http_request_header("x-request-number", Some(&count.to_string()));
        Action::Continue
    }
}
