//! The host services, one file each: the hostcalls of an area and the state behind them.
//!
//! | service | file |
//! |---|---|
//! | headers (`proxy_*_header_map_*`) | [`headers`] |
//! | buffers (`proxy_{get,set}_buffer_*`) | [`buffers`] |
//! | properties (`proxy_{get,set}_property`) and the attribute tree | [`properties`], [`properties_calls`] |
//! | shared data (`proxy_{get,set}_shared_data`) | [`shared_data`] (store: [`shared`]) |
//! | shared queues | [`queues`] (store: [`shared`]) |
//! | metrics | [`metrics`] (state), [`metrics_calls`] (hostcalls) |
//! | HTTP callouts (`proxy_http_call`) | [`http_call`] (tokens, pending calls: [`callouts`]) |
//! | gRPC | [`grpc`] (tokens, pending calls: [`callouts`]) |
//! | timers and clock (`proxy_set_tick_period_milliseconds`, time) | [`timers`], [`clock`] |
//! | stream control (continue, close, local reply, effective context, status) | [`stream_control`] |
//! | foreign functions | [`foreign`] |
//! | log (`proxy_log`, `proxy_get_log_level`) | [`log`] |
//! | WASI preview1 | [`wasi`] |

pub(crate) mod buffers;
pub(crate) mod callouts;
pub(crate) mod clock;
pub(crate) mod foreign;
pub(crate) mod grpc;
pub(crate) mod headers;
pub(crate) mod http_call;
pub(crate) mod log;
pub(crate) mod metrics;
pub(crate) mod metrics_calls;
pub(crate) mod properties;
pub(crate) mod properties_calls;
pub(crate) mod queues;
pub(crate) mod shared;
pub(crate) mod shared_data;
pub(crate) mod stream_control;
pub(crate) mod timers;
pub(crate) mod wasi;
