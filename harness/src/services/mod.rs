//! Host-side services: the state behind the hostcalls, independent of wasmtime.
//!
//! * [`shared`] — shared data, shared queues and metric values, shared by every VM built from the
//!   same [`SharedState`] (Envoy's process-wide stores).
//! * [`metrics`] — per-VM metric ids and Envoy's rules for each metric type.
//! * [`callouts`] — pending HTTP and gRPC callouts, their tokens, scripted answers and timeouts.
//! * [`properties`] — the attribute tree `proxy_get_property` reads.
//! * [`clock`] — the fake, test-controlled clock and the seeded random generator.

pub mod callouts;
pub mod clock;
pub mod metrics;
pub mod properties;
pub mod shared;

pub use shared::SharedState;
