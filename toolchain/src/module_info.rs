//! What a Wasm module is (validity, proxy-wasm ABI, allocator, features, imports, exports):
//! the harness's build pipeline owns the type, this path names it for the toolchain.
pub use wasme_build::module_info::{Item, ModuleError, ModuleInfo};
