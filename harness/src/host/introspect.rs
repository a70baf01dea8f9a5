//! What fuzzing and benchmarking read back from a [`Host`] besides traffic: instructions
//! executed, guest memory, live stream contexts.

use super::Host;
use crate::envoy::context::Context;

impl Host {
    /// Wasm instructions the VM has executed so far (wasmtime fuel), when the module was compiled
    /// with [`Module::from_bytes_metered`](crate::Module::from_bytes_metered); `None` otherwise.
    pub fn fuel_consumed(&self) -> Option<u64> {
        self.proxy.vm.fuel_consumed()
    }

    /// The guest's linear memory size now, in bytes (it only grows, in 64 KiB pages).
    pub fn guest_memory_bytes(&self) -> usize {
        self.proxy.vm.memory_bytes()
    }

    /// HTTP streams and TCP connections the host still holds (created and not yet deleted).
    pub fn live_stream_contexts(&self) -> usize {
        self.proxy
            .vm
            .store
            .data()
            .contexts
            .values()
            .filter(|c| !matches!(c, Context::Root(_)))
            .count()
    }
}
