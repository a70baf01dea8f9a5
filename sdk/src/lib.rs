//! `wasme-sdk`: an ergonomic layer over the [`proxy_wasm`] crate for writing Envoy/Istio Wasm
//! filters.
//!
//! A filter is a type that implements [`Filter`] (its configuration and how a stream starts)
//! and [`HttpFilter`] or [`NetworkFilter`] (its callbacks), exported with one macro line. The
//! SDK writes the root context, the context factory, the configuration parsing with precise
//! errors, the token bookkeeping of callouts and the metric-id cache that raw `proxy-wasm`
//! filters write by hand; the [`proxy_wasm`] crate stays re-exported for anything else.
//!
//! ```
//! use serde::Deserialize;
//! use std::rc::Rc;
//! use wasme_sdk::{Action, Filter, Headers, HttpCx, HttpFilter, JsonConfig};
//!
//! #[derive(Deserialize)]
//! struct Config {
//!     name: String,
//!     value: String,
//! }
//! impl JsonConfig for Config {}
//!
//! struct AddHeader {
//!     config: Rc<Config>,
//! }
//!
//! impl Filter for AddHeader {
//!     type Config = Config;
//!     fn new(config: &Rc<Config>) -> Self {
//!         AddHeader { config: config.clone() }
//!     }
//! }
//!
//! impl HttpFilter for AddHeader {
//!     fn on_response_headers(&mut self, headers: &mut Headers, _cx: &mut HttpCx<'_, Self>) -> Action {
//!         headers.add(&self.config.name, &self.config.value);
//!         Action::Continue
//!     }
//! }
//!
//! wasme_sdk::export_http_filter!(AddHeader);
//! ```
//!
//! # Cost
//!
//! `benches/sdk_cost.rs` runs add-header written with this SDK (`filters/add-header`) and on
//! raw `proxy-wasm` (`filters/add-header-raw`) through the harness. As `cargo wasme build`
//! stores them (measured 2026-12-01): 90,364 bytes with the SDK vs 108,975 on raw proxy-wasm
//! with serde_json; a trivial raw filter is 67,765. The SDK avoids `str` slicing and `char`
//! escaping in its own code (their panic and `Debug` paths are kilobytes of every module).
//!
//! Host-side code: everything that talks to the host only runs inside a proxy-wasm VM; the
//! export macros expand to nothing outside `wasm32`, so a filter crate's pure logic (and its
//! configuration parsing) is unit-testable with a plain `cargo test`.

#![deny(missing_docs)]

mod callout;
pub mod config;
mod grpc;
mod headers;
mod http;
pub mod json;
pub mod metrics;
mod net;
mod root;
#[cfg(feature = "schema")]
pub mod schema;
pub mod shared_data;

pub use callout::{
    CallError, CallFailure, GrpcCallResult, HttpCall, HttpCallResponse, HttpCallResult,
};
pub use config::{ConfigError, JsonConfig, PluginConfig};
pub use grpc::GrpcCall;
pub use headers::{Body, Headers};
pub use http::{Callouts, HttpCx, HttpFilter, HttpFilterContext};
pub use net::{NetCx, NetworkFilter, NetworkFilterContext};
pub use root::FilterRootContext;

pub use log;
pub use proxy_wasm;
pub use proxy_wasm::types::{Action, LogLevel, PeerType};
#[cfg(feature = "schema")]
pub use schemars;

use std::rc::Rc;
use std::time::Duration;

/// What every filter declares: its configuration type and how a stream's filter is made.
///
/// The optional hooks run on the plugin's root context: `on_configure` after the
/// configuration parsed (to validate against the host or seed shared data), and `on_tick`
/// every [`tick_period`](Filter::tick_period).
///
/// ```
/// use std::rc::Rc;
/// use std::time::Duration;
/// use wasme_sdk::Filter;
///
/// struct Heartbeat;
/// impl Filter for Heartbeat {
///     type Config = ();
///     fn new(_config: &Rc<()>) -> Self { Heartbeat }
///     fn tick_period(_config: &()) -> Option<Duration> { Some(Duration::from_secs(5)) }
///     fn on_tick(_config: &()) {
///         wasme_sdk::metrics::Counter::named("heartbeat.ticks").increment(1);
///     }
/// }
/// ```
pub trait Filter: Sized + 'static {
    /// The plugin configuration (`()` for none; see [`config`]).
    type Config: PluginConfig;

    /// The filter of one new stream (HTTP request or TCP connection).
    fn new(config: &Rc<Self::Config>) -> Self;

    /// The name used in log messages (default: the type's name).
    fn name() -> &'static str {
        std::any::type_name::<Self>()
    }

    /// Runs after the configuration parsed; an error fails `on_configure` like a parse error.
    fn on_configure(_config: &Self::Config) -> Result<(), ConfigError> {
        Ok(())
    }

    /// How often [`on_tick`](Filter::on_tick) runs; `None` (the default) for never.
    fn tick_period(_config: &Self::Config) -> Option<Duration> {
        None
    }

    /// Runs every tick period on the root context.
    fn on_tick(_config: &Self::Config) {}
}

/// No configuration: any plugin configuration is accepted and ignored.
impl PluginConfig for () {
    fn parse(_raw: &[u8]) -> Result<Self, ConfigError> {
        Ok(())
    }
}

/// Reads an Envoy attribute (`["request", "path"]`, `["node", "metadata", "KEY"]`, …).
///
/// Returns `None` when the host does not know the attribute.
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    proxy_wasm::hostcalls::get_property(path.to_vec())
        .ok()
        .flatten()
}

/// The host's current wall-clock time (Envoy's time source; the harness's test clock).
pub fn current_time() -> Option<std::time::SystemTime> {
    proxy_wasm::hostcalls::get_current_time().ok()
}

/// Sets the lowest level the filter's `log` macros send to the host (default: info).
pub fn set_log_level(level: LogLevel) {
    proxy_wasm::set_log_level(level);
}

/// Exports an [`HttpFilter`] as the module's proxy-wasm entry points.
///
/// Expands to nothing when not compiling for `wasm32`, so the crate's host-side tests build.
///
/// ```
/// # use std::rc::Rc;
/// # struct MyFilter;
/// # impl wasme_sdk::Filter for MyFilter { type Config = (); fn new(_: &Rc<()>) -> Self { MyFilter } }
/// # impl wasme_sdk::HttpFilter for MyFilter {}
/// wasme_sdk::export_http_filter!(MyFilter);
/// ```
#[macro_export]
macro_rules! export_http_filter {
    ($filter:ty) => {
        #[cfg(target_arch = "wasm32")]
        $crate::proxy_wasm::main! {{
            $crate::__private::register_http::<$filter>();
        }}
    };
}

/// Exports a [`NetworkFilter`] as the module's proxy-wasm entry points.
///
/// ```
/// # use std::rc::Rc;
/// # struct MyFilter;
/// # impl wasme_sdk::Filter for MyFilter { type Config = (); fn new(_: &Rc<()>) -> Self { MyFilter } }
/// # impl wasme_sdk::NetworkFilter for MyFilter {}
/// wasme_sdk::export_network_filter!(MyFilter);
/// ```
#[macro_export]
macro_rules! export_network_filter {
    ($filter:ty) => {
        #[cfg(target_arch = "wasm32")]
        $crate::proxy_wasm::main! {{
            $crate::__private::register_network::<$filter>();
        }}
    };
}

/// Exports the JSON Schema of a configuration type (feature `schema`) for `cargo wasme build`
/// to record in the image; see [`schema`](crate::schema) for how and the ABI.
///
/// The type implements [`JsonConfig`] and derives `JsonSchema` (through the re-exported
/// `wasme_sdk::schemars`, with `#[schemars(crate = "wasme_sdk::schemars")]`). In an ordinary
/// build this writes only a one-byte custom section saying the schema exists (the pipeline
/// strips it); `cargo wasme build` then builds the crate once more with the SDK's
/// `schema-export` feature, where it writes the export, runs that module and discards it.
#[cfg(feature = "schema")]
#[macro_export]
macro_rules! export_config_schema {
    ($config:ty) => {
        // Type-checks `$config` in every build (a function pointer nothing calls: no code).
        const _: fn() -> u64 = $crate::schema::__export::<$config>;
        $crate::__config_schema_export!($config);
    };
}

/// The export itself (feature `schema-export`); not a public API.
#[cfg(feature = "schema-export")]
#[doc(hidden)]
#[macro_export]
macro_rules! __config_schema_export {
    ($config:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn wasme_config_schema() -> u64 {
            $crate::schema::__export::<$config>()
        }
    };
}

/// The marker of an ordinary build (no `schema-export`); not a public API.
#[cfg(all(feature = "schema", not(feature = "schema-export")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __config_schema_export {
    ($config:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            #[used]
            #[unsafe(link_section = "wasme.config_schema.export")]
            static WASME_CONFIG_SCHEMA_MARKER: [u8; 1] = [1];
        };
    };
}

/// Exports the JSON Schema of a configuration type: needs the SDK's `schema` feature.
#[cfg(not(feature = "schema"))]
#[macro_export]
macro_rules! export_config_schema {
    ($config:ty) => {
        compile_error!(
            "export_config_schema! needs wasme-sdk's `schema` feature: \
             wasme-sdk = { version = \"…\", features = [\"schema\"] }"
        );
    };
}

/// Used by the export macros; not a public API.
#[doc(hidden)]
pub mod __private {
    use crate::root::FilterRootContext;
    use crate::{HttpFilter, NetworkFilter};
    use proxy_wasm::traits::RootContext;

    pub fn register_http<F: HttpFilter>() {
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
            Box::new(FilterRootContext::<F>::http())
        });
    }

    pub fn register_network<F: NetworkFilter>() {
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
            Box::new(FilterRootContext::<F>::network())
        });
    }
}
