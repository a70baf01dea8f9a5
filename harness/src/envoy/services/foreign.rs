//! `proxy_call_foreign_function`: functions the test registered by name, else Envoy's built-in
//! ones (`source/extensions/common/wasm/foreign.cc`), else NOT_FOUND.
//!
//! Built in: `compress` / `uncompress` (zlib stream format, as zlib's `compress()` /
//! `uncompress()`), `set_envoy_filter_state`, `declare_property` and `clear_route_cache`.
//! Not built in: `sign` / `verify_signature` (Envoy's crypto) and `expr_*` (CEL), see the
//! README's list of what the harness does not reproduce.

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::Status;
use crate::envoy::context::Context;
use crate::vm::memory;
use std::io::{Read, Write};
use wasmtime::Linker;

/// Filter-state keys Envoy has an object factory for (its "well known filter state" list):
/// `set_envoy_filter_state` answers NOT_FOUND for any other key, as Envoy does.
pub(crate) const KNOWN_FILTER_STATE_KEYS: &[&str] = &[
    "envoy.string",
    "envoy.hashable_string",
    "envoy.tcp_proxy.cluster",
    "envoy.tcp_proxy.per_connection_idle_timeout_ms",
    "envoy.network.upstream_server_name",
    "envoy.network.upstream_subject_alt_names",
    "envoy.network.application_protocols",
    "envoy.network.transport_socket.original_dst_address",
    "envoy.network.upstream_bind_override.network_namespace",
    "envoy.upstream.dynamic_host",
    "envoy.upstream.dynamic_port",
    "envoy.filters.listener.original_dst.local_ip",
    "envoy.filters.listener.original_dst.remote_ip",
    "envoy.network.ip",
    "envoy.network.network_namespace",
];

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_call_foreign_function",
        |caller,
         name_ptr: u32,
         name_size: u32,
         args_ptr: u32,
         args_size: u32,
         ret_ptr: u32,
         ret_size: u32| {
            let name = memory::read_string(&mut caller, name_ptr, name_size)?;
            let args = memory::read(&mut caller, args_ptr, args_size)?;
            let state = caller.data_mut();
            note(state, || {
                format!("{name:?}, {:?}", String::from_utf8_lossy(&args))
            });
            let result = match state.settings.foreign.get(&name).cloned() {
                Some(f) => f(&args)?,
                None => built_in(state, &name, &args)?,
            };
            memory::return_bytes(&mut caller, &result, ret_ptr, ret_size)
        }
    );
    Ok(())
}

/// Envoy's built-in foreign functions.
fn built_in(state: &mut VmState, name: &str, args: &[u8]) -> Result<Vec<u8>, Status> {
    match name {
        "compress" => {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(args)
                .map_err(|_| Status::SerializationFailure)?;
            z.finish().map_err(|_| Status::SerializationFailure)
        }
        "uncompress" => {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(args)
                .read_to_end(&mut out)
                .map_err(|_| Status::SerializationFailure)?;
            Ok(out)
        }
        "clear_route_cache" => {
            state.route_cache_clears += 1;
            Ok(Vec::new())
        }
        "set_envoy_filter_state" => {
            let fields = protobuf::fields(args).ok_or(Status::BadArgument)?;
            let path = protobuf::string(&fields, 1).ok_or(Status::BadArgument)?;
            let value = protobuf::string(&fields, 2).ok_or(Status::BadArgument)?;
            if !KNOWN_FILTER_STATE_KEYS.contains(&path.as_str()) {
                return Err(Status::NotFound);
            }
            // Span 2 (DownstreamConnection) lives as long as the connection; the harness has
            // one connection per stream, so every span is kept on the effective context.
            let fs = match state.contexts.get_mut(&state.call.effective_id) {
                Some(Context::Http(h)) => &mut h.filter_state,
                Some(Context::Tcp(t)) => &mut t.filter_state,
                _ => return Err(Status::BadArgument),
            };
            fs.insert(path.into_bytes(), value.into_bytes());
            Ok(Vec::new())
        }
        "declare_property" => {
            let fields = protobuf::fields(args).ok_or(Status::BadArgument)?;
            let name = protobuf::string(&fields, 1).ok_or(Status::BadArgument)?;
            let readonly = protobuf::varint_field(&fields, 2).unwrap_or(0) != 0;
            state.declared.insert(name.into_bytes(), readonly);
            Ok(Vec::new())
        }
        _ => Err(Status::NotFound),
    }
}

/// Just enough protobuf decoding for the built-ins' argument messages (a few scalar fields):
/// hand-written because a protobuf crate would bring code generation or a derive macro for
/// two three-field messages.
mod protobuf {
    /// A field value: a varint or a length-delimited byte string.
    pub(super) enum Value<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
    }

    fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *data.get(*at)?;
            *at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Every field as (number, value); `None` for malformed input (Envoy's ParseFromArray
    /// failing) or wire types other than varint, 64-bit, length-delimited and 32-bit.
    pub(super) fn fields(data: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let key = varint(data, &mut at)?;
            let (number, wire) = (key >> 3, key & 7);
            if number == 0 {
                return None;
            }
            let value = match wire {
                0 => Value::Varint(varint(data, &mut at)?),
                1 | 5 => {
                    at = at.checked_add(if wire == 1 { 8 } else { 4 })?;
                    if at > data.len() {
                        return None;
                    }
                    continue;
                }
                2 => {
                    let len = usize::try_from(varint(data, &mut at)?).ok()?;
                    let end = at.checked_add(len)?;
                    let bytes = data.get(at..end)?;
                    at = end;
                    Value::Bytes(bytes)
                }
                _ => return None,
            };
            out.push((number, value));
        }
        Some(out)
    }

    /// The last string field `number` (empty when absent, as proto3); `None`: not UTF-8.
    pub(super) fn string(fields: &[(u64, Value<'_>)], number: u64) -> Option<String> {
        let last = fields.iter().rev().find_map(|(n, v)| match v {
            Value::Bytes(b) if *n == number => Some(*b),
            _ => None,
        });
        String::from_utf8(last.unwrap_or_default().to_vec()).ok()
    }

    /// The last varint field `number`.
    pub(super) fn varint_field(fields: &[(u64, Value<'_>)], number: u64) -> Option<u64> {
        fields.iter().rev().find_map(|(n, v)| match v {
            Value::Varint(x) if *n == number => Some(*x),
            _ => None,
        })
    }
}
