//! `add-header-raw`: `add-header` written on the raw `proxy-wasm` crate, without `wasme-sdk`.
//!
//! It exists as the baseline of the SDK's cost benchmark (`sdk/benches/sdk_cost.rs`): same
//! behaviour, same configuration, hand-written root context. It is not published. Its plugin
//! configuration is either
//!
//! * a plain string — the value of the header `hello` (an empty configuration means `world`), or
//! * a JSON object `{"name": "x-my-header", "value": "some value"}`.
//!
//! A configuration it cannot use makes `on_configure` log an error naming the problem and
//! return `false`, so Envoy (and the harness) report the plugin as failed to configure instead
//! of silently serving traffic with the wrong header.

pub mod config;

pub use config::{HeaderConfig, parse_config};

#[cfg(target_arch = "wasm32")]
mod filter {
    use super::config::{HeaderConfig, parse_config};
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
            Box::new(AddHeaderRoot { header: HeaderConfig::default() })
        });
    }}

    struct AddHeaderRoot {
        header: HeaderConfig,
    }

    impl Context for AddHeaderRoot {}

    impl RootContext for AddHeaderRoot {
        fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
            let raw = self.get_plugin_configuration().unwrap_or_default();
            match parse_config(&raw) {
                Ok(header) => {
                    self.header = header;
                    true
                }
                Err(problem) => {
                    proxy_wasm::hostcalls::log(
                        LogLevel::Error,
                        &format!("add-header: invalid plugin configuration: {problem}"),
                    )
                    .ok();
                    false
                }
            }
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(AddHeader {
                header: self.header.clone(),
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    struct AddHeader {
        header: HeaderConfig,
    }

    impl Context for AddHeader {}

    impl HttpContext for AddHeader {
        fn on_http_response_headers(
            &mut self,
            _num_headers: usize,
            _end_of_stream: bool,
        ) -> Action {
            self.add_http_response_header(&self.header.name, &self.header.value);
            Action::Continue
        }
    }
}
