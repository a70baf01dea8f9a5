//! A compiled proxy-wasm module, ready to instantiate cheaply many times.

use crate::abi::AbiVersion;
use crate::envoy::{self, VmState};
use crate::values::HarnessError;
use crate::vm;
use crate::vm::limits::MAX_MODULE_BYTES;
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
    /// Compiles a module from its bytes: binary wasm, or WAT text (bytes that look like a
    /// module in the text format: `(module`, after blanks and comments). Anything else is
    /// refused as "not a WebAssembly module". Identical bytes compiled before in this process
    /// are reused.
    ///
    /// The module is checked at load as Envoy checks it: a known ABI version, every import one
    /// Envoy provides, and at most [`MAX_MODULE_BYTES`](crate::MAX_MODULE_BYTES); building a
    /// [`Host`](crate::Host) from it then requires an allocator export (`malloc` or
    /// `proxy_on_memory_allocate`), as creating a VM does in Envoy.
    pub fn from_bytes(bytes: impl AsRef<[u8]>) -> Result<Module, HarnessError> {
        let bytes = bytes.as_ref();
        if !bytes.starts_with(WASM_MAGIC) && looks_like_wat(bytes) {
            let binary = wat::parse_bytes(bytes)
                .map_err(|e| HarnessError::Compile(format!("invalid WAT text: {e}")))?;
            return Module::from_binary(&binary);
        }
        Module::from_binary(bytes)
    }

    fn from_binary(bytes: &[u8]) -> Result<Module, HarnessError> {
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

    /// Reads and compiles a module file: a `.wat` file is WAT text; any other file (`.wasm`)
    /// must be binary wasm and is never parsed as text.
    ///
    /// ```no_run
    /// use wasme_harness::Module;
    /// # fn main() -> Result<(), wasme_harness::HarnessError> {
    /// let module = Module::from_file("target/wasm32-wasip1/release/add_header.wasm")?;
    /// assert!(module.abi().is_v0_2());
    /// # Ok(()) }
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Module, HarnessError> {
        Module::from_binary(&read_module_file(path.as_ref())?)
    }

    /// [`Module::from_file`] on the instruction-counting engine
    /// ([`Module::from_bytes_metered`]).
    pub fn from_file_metered(path: impl AsRef<Path>) -> Result<Module, HarnessError> {
        Module::from_bytes_metered(read_module_file(path.as_ref())?)
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
        check_binary(bytes, "the module")?;
        let (module, abi) = vm::module::compile(engine, bytes)?;
        vm::imports::check(&module, abi)?;
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

/// A module file's binary: size-checked before reading, a `.wat` file parsed as WAT text, any
/// other file checked to be binary wasm (never parsed as text).
fn read_module_file(path: &Path) -> Result<Vec<u8>, HarnessError> {
    let io = |message: String| HarnessError::Io {
        path: path.display().to_string(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| io(e.to_string()))?
        .len();
    if size > MAX_MODULE_BYTES as u64 {
        return Err(too_big(size));
    }
    let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wat"))
    {
        return wat::parse_bytes(&bytes)
            .map(|b| b.into_owned())
            .map_err(|e| {
                HarnessError::Compile(format!("invalid WAT text in {}: {e}", path.display()))
            });
    }
    check_binary(&bytes, &path.display().to_string())?;
    Ok(bytes)
}

/// The first four bytes of every binary wasm module.
const WASM_MAGIC: &[u8] = b"\0asm";

/// Whether text looks like a WAT module: UTF-8 whose first token, after blanks and `;;` line
/// or `(; ;)` block comments, is `(module` (or a bare `(`, which the text format allows for an
/// inline module's fields).
fn looks_like_wat(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut rest = text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix(";;") {
            rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("(;") {
            rest = after.split_once(";)").map_or("", |(_, r)| r).trim_start();
        } else {
            return rest.starts_with('(');
        }
    }
}

fn too_big(size: u64) -> HarnessError {
    HarnessError::Load(format!(
        "the module is {size} bytes, over the limit of {MAX_MODULE_BYTES} bytes"
    ))
}

/// Refuses what is not binary wasm (or is too big) before wasmtime sees it, with a message
/// that says so rather than a parser error.
fn check_binary(bytes: &[u8], what: &str) -> Result<(), HarnessError> {
    if bytes.len() > MAX_MODULE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    if !bytes.starts_with(WASM_MAGIC) {
        let head: String = bytes
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(HarnessError::Compile(format!(
            "not a WebAssembly module: {what} does not start with the wasm magic bytes \
             00 61 73 6d (found {}); a WAT text file must end in .wat",
            if head.is_empty() {
                "nothing".to_string()
            } else {
                head
            }
        )));
    }
    Ok(())
}
