//! The root context the SDK writes for every filter: configuration, ticks, stream factory.

use crate::http::HttpFilterContext;
use crate::net::NetworkFilterContext;
use crate::{Filter, HttpFilter, NetworkFilter, PluginConfig};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext, StreamContext};
use proxy_wasm::types::{ContextType, LogLevel};
use std::rc::Rc;
use std::time::Duration;

type NewHttp<F> = fn(Option<&Rc<<F as Filter>::Config>>, u32) -> Box<dyn HttpContext>;
type NewNet<F> = fn(Option<&Rc<<F as Filter>::Config>>, u32) -> Box<dyn StreamContext>;

/// The root context of a plugin made of filter `F` (created by the export macros).
///
/// It parses the plugin configuration in `on_configure` (logging the problem and returning
/// `false` when it is invalid), runs [`Filter::on_configure`], sets the tick period and creates
/// one filter per stream.
pub struct FilterRootContext<F: Filter> {
    config: Option<Rc<F::Config>>,
    new_http: Option<NewHttp<F>>,
    new_net: Option<NewNet<F>>,
}

impl<F: HttpFilter> FilterRootContext<F> {
    /// The root of an HTTP filter.
    pub fn http() -> Self {
        FilterRootContext {
            config: None,
            new_http: Some(|config, id| Box::new(HttpFilterContext::<F>::new(config, id))),
            new_net: None,
        }
    }
}

impl<F: NetworkFilter> FilterRootContext<F> {
    /// The root of a network filter.
    pub fn network() -> Self {
        FilterRootContext {
            config: None,
            new_http: None,
            new_net: Some(|config, id| Box::new(NetworkFilterContext::<F>::new(config, id))),
        }
    }
}

impl<F: Filter> Context for FilterRootContext<F> {}

impl<F: Filter> RootContext for FilterRootContext<F> {
    fn on_configure(&mut self, _size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let parsed = F::Config::parse(&raw).and_then(|config| {
            F::on_configure(&config)?;
            Ok(config)
        });
        match parsed {
            Ok(config) => {
                let period = F::tick_period(&config).unwrap_or(Duration::ZERO);
                let _ = hostcalls::set_tick_period(period);
                self.config = Some(Rc::new(config));
                true
            }
            Err(problem) => {
                let _ = hostcalls::log(
                    LogLevel::Error,
                    &format!("{}: invalid plugin configuration: {problem}", F::name()),
                );
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(config) = &self.config {
            F::on_tick(config);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Envoy creates no stream for a plugin that failed to configure; another host might:
        // the stream then fails closed (503) instead of running without a configuration.
        Some((self.new_http?)(self.config.as_ref(), context_id))
    }

    fn create_stream_context(&self, context_id: u32) -> Option<Box<dyn StreamContext>> {
        Some((self.new_net?)(self.config.as_ref(), context_id))
    }

    fn get_type(&self) -> Option<ContextType> {
        if self.new_http.is_some() {
            Some(ContextType::HttpContext)
        } else {
            Some(ContextType::StreamContext)
        }
    }
}
