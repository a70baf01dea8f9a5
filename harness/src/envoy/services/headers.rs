//! `proxy_{get,set}_header_map_pairs`, `proxy_get_header_map_size`,
//! `proxy_{get,add,replace,remove}_header_map_value`, with Envoy's availability rules (§5):
//! outside its phase a map answers BAD_ARGUMENT for get-value (NOT_FOUND in on_log) and for
//! mutations, and an empty map for get-pairs; keys are lower-cased.

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::wire::{Pair, decode_pairs, encode_pairs};
use crate::abi::{AbiVersion, MapType, Status};
use crate::envoy::context::{Avail, CallData, Context};
use crate::vm::limits::{Limit, map_bytes};
use crate::vm::{HostResult, memory};
use wasmtime::Linker;

/// A header map as the current call sees it.
enum MapRef<'a> {
    /// Readable; mutable when `mutable`.
    Present {
        map: &'a mut Vec<Pair>,
        mutable: bool,
    },
    /// Not available in this phase; `in_log` changes get-value's status.
    Unavailable { in_log: bool },
}

fn map_ref(state: &mut VmState, mt: MapType) -> MapRef<'_> {
    let in_log = state.call.callback == "proxy_on_log";
    let effective = state.call.effective_id;
    match mt {
        MapType::RequestHeaders
        | MapType::RequestTrailers
        | MapType::ResponseHeaders
        | MapType::ResponseTrailers => {
            let Some(Context::Http(h)) = state.contexts.get_mut(&effective) else {
                return MapRef::Unavailable { in_log };
            };
            let (map, avail) = match mt {
                MapType::RequestHeaders => (&mut h.request.headers, h.request.headers_avail),
                MapType::RequestTrailers => (&mut h.request.trailers, h.request.trailers_avail),
                MapType::ResponseHeaders => (&mut h.response.headers, h.response.headers_avail),
                _ => (&mut h.response.trailers, h.response.trailers_avail),
            };
            match avail {
                Avail::Live => MapRef::Present { map, mutable: true },
                Avail::Final => MapRef::Present {
                    map,
                    mutable: false,
                },
                Avail::Absent | Avail::Forgotten => MapRef::Unavailable { in_log },
            }
        }
        MapType::HttpCallResponseHeaders | MapType::HttpCallResponseTrailers => {
            match &mut state.call.data {
                CallData::HttpCallResponse(r) => MapRef::Present {
                    map: if mt == MapType::HttpCallResponseHeaders {
                        &mut r.headers
                    } else {
                        &mut r.trailers
                    },
                    mutable: false,
                },
                _ => MapRef::Unavailable { in_log },
            }
        }
        MapType::GrpcInitialMetadata | MapType::GrpcTrailingMetadata => {
            match &mut state.call.data {
                CallData::GrpcMetadata { initial, metadata }
                    if *initial == (mt == MapType::GrpcInitialMetadata) =>
                {
                    MapRef::Present {
                        map: metadata,
                        mutable: false,
                    }
                }
                _ => MapRef::Unavailable { in_log },
            }
        }
    }
}

/// Guest bytes as text: borrowed when valid UTF-8 (the usual case, checked with the fast
/// validator), else with invalid sequences replaced as Envoy does.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn lower(key: &[u8]) -> String {
    String::from_utf8_lossy(key).to_ascii_lowercase()
}

/// The shared body of add and replace: lower-cases the key, traces the pair and applies `op`
/// to the map (with the phase rules of [`mutate`]).
fn set_value(
    state: &mut VmState,
    mt: u32,
    key: &[u8],
    value: &[u8],
    op: impl FnOnce(&mut Vec<Pair>, String, String),
) -> HostResult {
    let key = state.pool.lowered(&text(key));
    let value = state.pool.string(&text(value));
    note(state, || {
        format!(
            "{}, {key:?}, {value:?}",
            crate::envoy::trace::decoded(MapType::from_u32(mt))
        )
    });
    mutate(state, mt, |map| op(map, key, value))
}

/// A mutation: `f` runs on the map when it is mutable. A map the guest grows past the
/// header-map limits fails the VM ([`crate::HostLimits`]).
fn mutate(state: &mut VmState, mt: u32, f: impl FnOnce(&mut Vec<Pair>)) -> HostResult {
    let mt = MapType::from_u32(mt).ok_or(Status::BadArgument)?;
    let (before, after) = match map_ref(state, mt) {
        MapRef::Present { map, mutable: true } => {
            let before = (map_bytes(map), map.len());
            f(map);
            (before, (map_bytes(map), map.len()))
        }
        _ => return Err(Status::BadArgument.into()),
    };
    if after.0 > before.0 {
        state.vm.enforce(Limit::HeaderMapBytes, after.0)?;
    }
    if after.1 > before.1 {
        state.vm.enforce(Limit::HeaderMapCount, after.1)?;
    }
    Ok(())
}

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_get_header_map_pairs",
        |caller, mt: u32, ret_ptr: u32, ret_size: u32| {
            let Some(map_type) = MapType::from_u32(mt) else {
                return Err(Status::BadArgument.into());
            };
            let state = caller.data_mut();
            note(state, || format!("{map_type:?}"));
            let bytes = match map_ref(state, map_type) {
                MapRef::Present { map, .. } if !map.is_empty() => encode_pairs(map),
                _ => Vec::new(),
            };
            memory::return_bytes(&mut caller, &bytes, ret_ptr, ret_size)
        }
    );
    hostcall!(
        linker,
        "proxy_set_header_map_pairs",
        |caller, mt: u32, ptr: u32, size: u32| {
            memory::with_bytes(&mut caller, ptr, size, |data, state| {
                // Envoy treats a malformed map as an empty one.
                let pairs: Vec<Pair> = decode_pairs(data)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect();
                note(state, || {
                    format!(
                        "{}, {pairs:?}",
                        crate::envoy::trace::decoded(MapType::from_u32(mt))
                    )
                });
                mutate(state, mt, |map| *map = pairs)
            })
        }
    );
    hostcall!(
        linker,
        "proxy_get_header_map_size",
        |caller, mt: u32, ret_ptr: u32| {
            let map_type = MapType::from_u32(mt).ok_or(Status::BadArgument)?;
            let size = match map_ref(caller.data_mut(), map_type) {
                MapRef::Present { map, .. } => {
                    map.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
                }
                MapRef::Unavailable { .. } => return Err(Status::BadArgument.into()),
            };
            Ok(memory::write_u32(&mut caller, ret_ptr, size as u32)?)
        }
    );
    hostcall!(
        linker,
        "proxy_get_header_map_value",
        |caller, mt: u32, key_ptr: u32, key_size: u32, ret_ptr: u32, ret_size: u32| {
            let map_type = MapType::from_u32(mt).ok_or(Status::BadArgument)?;
            let value = memory::with_bytes(&mut caller, key_ptr, key_size, |key, state| {
                let key = lower(key);
                note(state, || format!("{map_type:?}, {key:?}"));
                let v0_1 = state.abi == AbiVersion::V0_1_0;
                Ok(match map_ref(state, map_type) {
                    MapRef::Present { map, .. } => match map.iter().find(|(k, _)| *k == key) {
                        Some((_, v)) => v.clone().into_bytes(),
                        None if v0_1 => Vec::new(),
                        None => return Err(Status::NotFound.into()),
                    },
                    MapRef::Unavailable { in_log: true } => return Err(Status::NotFound.into()),
                    MapRef::Unavailable { in_log: false } => {
                        return Err(Status::BadArgument.into());
                    }
                })
            })?;
            memory::return_bytes(&mut caller, &value, ret_ptr, ret_size)
        }
    );
    hostcall!(
        linker,
        "proxy_add_header_map_value",
        |caller, mt: u32, key_ptr: u32, key_size: u32, value_ptr: u32, value_size: u32| {
            memory::with_two(
                &mut caller,
                (key_ptr, key_size),
                (value_ptr, value_size),
                |key, value, state| {
                    set_value(state, mt, key, value, |map, key, value| {
                        map.push((key, value))
                    })
                },
            )
        }
    );
    hostcall!(
        linker,
        "proxy_replace_header_map_value",
        |caller, mt: u32, key_ptr: u32, key_size: u32, value_ptr: u32, value_size: u32| {
            memory::with_two(
                &mut caller,
                (key_ptr, key_size),
                (value_ptr, value_size),
                |key, value, state| set_value(state, mt, key, value, replace),
            )
        }
    );
    hostcall!(
        linker,
        "proxy_remove_header_map_value",
        |caller, mt: u32, key_ptr: u32, key_size: u32| {
            memory::with_bytes(&mut caller, key_ptr, key_size, |key, state| {
                let key = lower(key);
                note(state, || {
                    format!(
                        "{}, {key:?}",
                        crate::envoy::trace::decoded(MapType::from_u32(mt))
                    )
                });
                mutate(state, mt, |map| map.retain(|(k, _)| *k != key))
            })
        }
    );
    Ok(())
}

/// Envoy's `setCopy`: the first entry takes the value, later duplicates go; appended if absent.
fn replace(map: &mut Vec<Pair>, key: String, value: String) {
    let mut seen = false;
    map.retain_mut(|(k, v)| {
        if *k != key {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        *v = value.clone();
        true
    });
    if !seen {
        map.push((key, value));
    }
}
