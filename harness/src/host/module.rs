//! A compiled proxy-wasm module, ready to instantiate cheaply many times.

use crate::abi::AbiVersion;
use crate::envoy::{self, VmState};
use crate::values::HarnessError;
use crate::vm;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::InstancePre;

/// A compiled filter module (core wasm for `wasm32-wasip1` or `wasm32-unknown-unknown`) with its
/// detected ABI version and a pre-linked instance template. Cloning is cheap (an `Arc`).
///
/// Compilation happens once per distinct module per process (and wasmtime's on-disk cache
/// makes later processes faster still); every [`Host`](crate::Host) built from a `Module` only
/// instantiates it.
///
/// ```
/// # fn main() -> Result<(), wasme_harness::HarnessError> {
/// let wat = r#"(module
///     (memory (export "memory") 1)
///     (func (export "proxy_abi_version_0_2_1"))
///     (func (export "malloc") (param i32) (result i32) i32.const 1024))"#;
/// let module = wasme_harness::Module::from_bytes(wat::parse_str(wat).expect("valid WAT"))?;
/// assert_eq!(module.abi(), wasme_harness::AbiVersion::V0_2_1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {
    pre: InstancePre<VmState>,
    abi: AbiVersion,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("abi", &self.inner.abi)
            .finish_non_exhaustive()
    }
}

type Memo = Mutex<HashMap<u64, Vec<(Arc<Vec<u8>>, Module)>>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

impl Module {
    /// Compiles a module from its bytes (binary wasm; parse WAT text with the `wat` crate first). Identical
    /// bytes compiled before in this process are reused.
    pub fn from_bytes(bytes: impl AsRef<[u8]>) -> Result<Module, HarnessError> {
        let bytes = bytes.as_ref();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        let key = hasher.finish();
        if let Some(found) = memo()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .and_then(|v| v.iter().find(|(b, _)| b.as_slice() == bytes))
        {
            return Ok(found.1.clone());
        }
        let module = Module::compile(vm::engine::shared(), bytes)?;
        memo()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .push((Arc::new(bytes.to_vec()), module.clone()));
        Ok(module)
    }

    /// Reads and compiles a `.wasm` file.
    ///
    /// ```no_run
    /// use wasme_harness::Module;
    /// # fn main() -> Result<(), wasme_harness::HarnessError> {
    /// let module = Module::from_file("target/wasm32-wasip1/release/add_header.wasm")?;
    /// assert!(module.abi().is_v0_2());
    /// # Ok(()) }
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Module, HarnessError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| HarnessError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Module::from_bytes(bytes)
    }

    /// Compiles without any cache (neither this process's nor wasmtime's on-disk cache): what a
    /// cold start costs. Meant for benchmarks.
    pub fn compile_uncached(bytes: impl AsRef<[u8]>) -> Result<Module, HarnessError> {
        Module::compile(vm::engine::uncached(), bytes.as_ref())
    }

    /// Compiles a module on the instruction-counting engine (wasmtime fuel, not cached in this
    /// process): hosts built from it report [`Host::fuel_consumed`](crate::Host::fuel_consumed).
    /// Metered code runs a little slower; meant for benchmarks and instruction budgets.
    pub fn from_bytes_metered(bytes: impl AsRef<[u8]>) -> Result<Module, HarnessError> {
        Module::compile(vm::engine::metered(), bytes.as_ref())
    }

    fn compile(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Module, HarnessError> {
        let (module, abi) = vm::module::compile(engine, bytes)?;
        let pre = envoy::link(engine, &module, abi)?;
        Ok(Module {
            inner: Arc::new(ModuleInner { pre, abi }),
        })
    }

    /// The proxy-wasm ABI version the module announces.
    pub fn abi(&self) -> AbiVersion {
        self.inner.abi
    }

    /// The compiled wasmtime module, on the engine (and configuration) every [`Host`](crate::Host)
    /// uses: for embedding the same compiled code elsewhere, e.g. the do-nothing baseline host
    /// the lifecycle benchmark compares against.
    pub fn wasmtime_module(&self) -> &wasmtime::Module {
        self.inner.pre.module()
    }

    /// The pre-linked instance template.
    pub(crate) fn instance_pre(&self) -> &InstancePre<VmState> {
        &self.inner.pre
    }
}
