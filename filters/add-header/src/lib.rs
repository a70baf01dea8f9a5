//! `add-header`: adds one header to every HTTP response.
//!
//! The demo filter from Istio's Wasm documentation, written on [`wasme_sdk`]. Its plugin
//! configuration is either
//!
//! * a plain string — the value of the header `hello` (an empty configuration means `world`), or
//! * a JSON object `{"name": "x-my-header", "value": "some value"}`.
//!
//! A configuration it cannot use makes `on_configure` log an error naming the problem and
//! return `false`, so Envoy (and the harness) report the plugin as failed to configure instead
//! of silently serving traffic with the wrong header.
//!
//! `filters/add-header-raw` is the same filter on the raw `proxy-wasm` crate; the SDK's cost
//! benchmark (`sdk/benches/sdk_cost.rs`) compares the two.

pub mod config;

pub use config::{HeaderConfig, parse_config};

use std::rc::Rc;
use wasme_sdk::{Action, Filter, Headers, HttpCx, HttpFilter};

/// The filter of one HTTP stream: adds the configured header to the response.
pub struct AddHeader {
    header: Rc<HeaderConfig>,
}

impl Filter for AddHeader {
    type Config = HeaderConfig;

    fn new(config: &Rc<HeaderConfig>) -> Self {
        AddHeader {
            header: config.clone(),
        }
    }

    fn name() -> &'static str {
        "add-header"
    }
}

impl HttpFilter for AddHeader {
    fn on_response_headers(&mut self, headers: &mut Headers, _cx: &mut HttpCx<'_, Self>) -> Action {
        headers.add(&self.header.name, &self.header.value);
        Action::Continue
    }
}

wasme_sdk::export_http_filter!(AddHeader);
wasme_sdk::export_config_schema!(HeaderConfig);
