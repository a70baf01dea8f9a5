//! WASI preview1, hand-written for a proxy: the functions filters really use, served under both
//! `wasi_snapshot_preview1` and `wasi_unstable` (as Envoy does). Hand-written rather than
//! wasmtime-wasi because the semantics differ on purpose: stdout/stderr go to the plugin log,
//! clocks come from the harness's fake clock, randomness from a seeded generator, the
//! environment from the plugin's settings, and no file system exists.

use super::VmState;
use crate::abi::LogLevel;
use crate::vm::memory;
use wasmtime::{Caller, ExternType, Linker, Module, ValType};

/// The two module names WASI preview1 is served under.
pub(crate) const MODULES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

const SUCCESS: i32 = 0;
const BADF: i32 = 8;
const FAULT: i32 = 21;
const INVAL: i32 = 28;
const NOSYS: i32 = 52;
const NOTSUP: i32 = 58;
const MAX_RANDOM: u32 = 64 * 1024;
/// `__WASI_ENOTCAPABLE`: what proxy-wasm-cpp-host's stub for a restricted WASI capability
/// answers (include/proxy-wasm/exports.h `_CREATE_WASI_STUB`).
const NOTCAPABLE: i32 = 76;

/// Returns [`NOTCAPABLE`] from the enclosing WASI function when Envoy's
/// `allowed_capabilities` does not list it.
macro_rules! gated {
    ($c:expr, $name:literal) => {
        if !$c.data().settings.capability_allowed($name) {
            return NOTCAPABLE;
        }
    };
}

fn errno(r: Result<(), crate::abi::Status>) -> i32 {
    if r.is_ok() { SUCCESS } else { FAULT }
}

fn read_u32(caller: &mut Caller<'_, VmState>, ptr: u32) -> Option<u32> {
    let b = memory::read(caller, ptr, 4).ok()?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn fd_write(
    caller: &mut Caller<'_, VmState>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> i32 {
    let level = match fd {
        1 => LogLevel::Info,
        2 => LogLevel::Error,
        _ => return BADF,
    };
    let mut bytes = Vec::new();
    for i in 0..u64::from(iovs_len) {
        let at = u64::from(iovs) + i * 8;
        let Ok(at) = u32::try_from(at) else {
            return FAULT;
        };
        let (Some(ptr), Some(len)) = (read_u32(caller, at), read_u32(caller, at.wrapping_add(4)))
        else {
            return FAULT;
        };
        match memory::read(caller, ptr, len) {
            Ok(b) => bytes.extend_from_slice(&b),
            Err(_) => return FAULT,
        }
    }
    let written = bytes.len() as u32;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    caller
        .data_mut()
        .log(level, String::from_utf8_lossy(&bytes).into_owned());
    errno(memory::write_u32(caller, nwritten, written))
}

fn environ(state: &VmState) -> Vec<Vec<u8>> {
    state
        .settings
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}\0").into_bytes())
        .collect()
}

fn add_module(linker: &mut Linker<VmState>, m: &'static str) -> wasmtime::Result<()> {
    linker.func_wrap(
        m,
        "fd_write",
        |mut c: Caller<'_, VmState>, fd: u32, iovs: u32, n: u32, out: u32| {
            gated!(c, "fd_write");
            fd_write(&mut c, fd, iovs, n, out)
        },
    )?;
    linker.func_wrap(
        m,
        "clock_time_get",
        |mut c: Caller<'_, VmState>, id: u32, _precision: u64, out: u32| {
            gated!(c, "clock_time_get");
            let now = match id {
                0 => c.data().clock.realtime_ns(),
                1 => c.data().clock.monotonic_ns(),
                _ => return NOTSUP,
            };
            errno(memory::write_u64(&mut c, out, now))
        },
    )?;
    linker.func_wrap(
        m,
        "clock_res_get",
        |mut c: Caller<'_, VmState>, id: u32, out: u32| {
            gated!(c, "clock_res_get");
            if id > 1 {
                return NOTSUP;
            }
            errno(memory::write_u64(&mut c, out, 1))
        },
    )?;
    linker.func_wrap(
        m,
        "random_get",
        |mut c: Caller<'_, VmState>, buf: u32, len: u32| {
            gated!(c, "random_get");
            if len > MAX_RANDOM {
                return INVAL;
            }
            let mut bytes = vec![0u8; len as usize];
            c.data_mut().rng.fill(&mut bytes);
            errno(memory::write(&mut c, buf, &bytes))
        },
    )?;
    linker.func_wrap(
        m,
        "environ_sizes_get",
        |mut c: Caller<'_, VmState>, count: u32, size: u32| {
            gated!(c, "environ_sizes_get");
            let env = environ(c.data());
            let total: usize = env.iter().map(Vec::len).sum();
            errno(
                memory::write_u32(&mut c, count, env.len() as u32)
                    .and_then(|_| memory::write_u32(&mut c, size, total as u32)),
            )
        },
    )?;
    linker.func_wrap(
        m,
        "environ_get",
        |mut c: Caller<'_, VmState>, ptrs: u32, buf: u32| {
            gated!(c, "environ_get");
            let env = environ(c.data());
            let mut at = u64::from(buf);
            for (i, entry) in env.iter().enumerate() {
                let (Ok(slot), Ok(ptr)) = (
                    u32::try_from(u64::from(ptrs) + 4 * i as u64),
                    u32::try_from(at),
                ) else {
                    return FAULT;
                };
                if memory::write_u32(&mut c, slot, ptr)
                    .and_then(|_| memory::write(&mut c, ptr, entry))
                    .is_err()
                {
                    return FAULT;
                }
                at += entry.len() as u64;
            }
            SUCCESS
        },
    )?;
    linker.func_wrap(
        m,
        "args_sizes_get",
        |mut c: Caller<'_, VmState>, count: u32, size: u32| {
            gated!(c, "args_sizes_get");
            errno(
                memory::write_u32(&mut c, count, 0)
                    .and_then(|_| memory::write_u32(&mut c, size, 0)),
            )
        },
    )?;
    linker.func_wrap(
        m,
        "args_get",
        |c: Caller<'_, VmState>, _argv: u32, _buf: u32| {
            gated!(c, "args_get");
            SUCCESS
        },
    )?;
    linker.func_wrap(
        m,
        "proc_exit",
        |mut c: Caller<'_, VmState>, code: u32| -> wasmtime::Result<()> {
            if !c.data().settings.capability_allowed("proc_exit") {
                return Ok(());
            }
            c.data_mut().vm.exit_code = Some(code as i32);
            Err(wasmtime::Error::msg(format!(
                "the module called proc_exit({})",
                code as i32
            )))
        },
    )?;
    linker.func_wrap(m, "sched_yield", |c: Caller<'_, VmState>| {
        gated!(c, "sched_yield");
        SUCCESS
    })?;
    linker.func_wrap(
        m,
        "poll_oneoff",
        |mut c: Caller<'_, VmState>, _in: u32, _out: u32, _n: u32, events: u32| {
            gated!(c, "poll_oneoff");
            errno(memory::write_u32(&mut c, events, 0))
        },
    )?;
    linker.func_wrap(
        m,
        "fd_read",
        |c: Caller<'_, VmState>, _fd: u32, _iovs: u32, _n: u32, _out: u32| {
            gated!(c, "fd_read");
            BADF
        },
    )?;
    linker.func_wrap(m, "fd_close", |c: Caller<'_, VmState>, _fd: u32| {
        gated!(c, "fd_close");
        BADF
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_get",
        |c: Caller<'_, VmState>, _fd: u32, _out: u32| {
            gated!(c, "fd_fdstat_get");
            BADF
        },
    )?;
    linker.func_wrap(
        m,
        "fd_prestat_get",
        |c: Caller<'_, VmState>, _fd: u32, _out: u32| {
            gated!(c, "fd_prestat_get");
            BADF
        },
    )?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        |c: Caller<'_, VmState>, _fd: u32, _p: u32, _l: u32| {
            gated!(c, "fd_prestat_dir_name");
            BADF
        },
    )?;
    linker.func_wrap(
        m,
        "fd_seek",
        |c: Caller<'_, VmState>, _fd: u32, _off: i64, _whence: u32, _out: u32| {
            gated!(c, "fd_seek");
            BADF
        },
    )?;
    Ok(())
}

/// Adds the hand-written WASI functions under both module names.
pub(crate) fn add_to_linker(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    for m in MODULES {
        add_module(linker, m)?;
    }
    Ok(())
}

/// Defines every other WASI import `module` has as an errno stub (`fd_*`/`path_*` → BADF, the
/// rest → NOSYS) when it returns one i32; anything else it imports and the linker lacks traps
/// when called, with a message naming the import. Imports Envoy does not provide at all were
/// refused at load already ([`crate::vm::imports`]); these are the ones Envoy registers and
/// the harness does not emulate.
pub(crate) fn define_remaining(linker: &mut Linker<VmState>, module: &Module) {
    linker.allow_shadowing(false);
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        let (m, name) = (import.module().to_string(), import.name().to_string());
        let is_wasi = MODULES.contains(&m.as_str());
        let returns_errno =
            ty.results().len() == 1 && matches!(ty.results().next(), Some(ValType::I32));
        if is_wasi && returns_errno {
            let code = if name.starts_with("fd_") || name.starts_with("path_") {
                BADF
            } else {
                NOSYS
            };
            // Fails only when the name is already defined (the linker refuses shadowing).
            let _ = linker.func_new(&m, &name.clone(), ty.clone(), move |c, _params, results| {
                let allowed = c.data().settings.capability_allowed(&name);
                results[0] = wasmtime::Val::I32(if allowed { code } else { NOTCAPABLE });
                Ok(())
            });
        } else {
            let what = format!("{m}.{name}");
            let _ = linker.func_new(&m, &name, ty.clone(), move |_c, _params, _results| {
                Err(wasmtime::Error::msg(format!(
                    "the module called the import {what}, which this host does not provide"
                )))
            });
        }
    }
}

/// SplitMix64: a tiny, seedable, reproducible generator. Hand-written because a test harness
/// needs only reproducibility, not a cryptographic or statistically tuned source, and this
/// avoids a dependency for ten lines.
#[derive(Debug, Clone)]
pub(crate) struct SeededRng(u64);

impl SeededRng {
    pub(crate) fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        let mut c = SeededRng::new(8);
        c.fill(&mut y);
        assert_ne!(x, y);
    }
}
