//! Compiling a module and detecting its proxy-wasm ABI version.

use crate::abi::AbiVersion;
use crate::values::HarnessError;
use wasmtime::Engine;

/// Compiles binary wasm with `engine` and reads the ABI marker it exports.
pub(crate) fn compile(
    engine: &Engine,
    bytes: &[u8],
) -> Result<(wasmtime::Module, AbiVersion), HarnessError> {
    let module = wasmtime::Module::new(engine, bytes)
        .map_err(|e| HarnessError::Compile(format!("{e:#}")))?;
    let abi =
        AbiVersion::detect(module.exports().map(|e| e.name())).ok_or(HarnessError::UnknownAbi)?;
    Ok((module, abi))
}
