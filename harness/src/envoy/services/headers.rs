//! `proxy_{get,set}_header_map_pairs`, `proxy_get_header_map_size`,
//! `proxy_{get,add,replace,remove}_header_map_value`, with Envoy's availability rules (§5):
//! outside its phase a map answers BAD_ARGUMENT for get-value (NOT_FOUND in on_log) and for
//! mutations, and an empty map for get-pairs; keys are lower-cased.
//!
//! The maps behave as Envoy's `HeaderMapImpl` (`source/common/http/header_map_impl.cc`), which
//! `Context::{add,replace,remove}HeaderMapValue` and `setHeaderMapPairs`
//! (`source/extensions/common/wasm/context.cc`) call: `addCopy` appends to an existing *inline*
//! header with `delimiterByHeader` (`,`; `; ` for cookie) instead of adding a second entry;
//! `setCopy` (replace) is `remove` + `addCopy`, so the header moves to the end (the pre-1.22
//! in-place replacement behind `envoy.reloadable_features.http_set_copy_replace_all_headers`
//! is gone); `HeaderList::insert` keeps pseudo-headers (`:…`) before every other header;
//! `proxy_set_header_map_pairs` removes every key and `addCopy`s each pair; and
//! `proxy_get_header_map_size` is `getMap(type)->byteSize()` (keys + values of the four
//! mutable HTTP maps; BAD_ARGUMENT for every other map and outside the map's phase).

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
    op: impl FnOnce(&mut Vec<Pair>, MapType, String, String),
) -> HostResult {
    let key = state.pool.lowered(&text(key));
    let value = state.pool.string(&text(value));
    note(state, || {
        format!(
            "{}, {key:?}, {value:?}",
            crate::envoy::trace::decoded(MapType::from_u32(mt))
        )
    });
    let map_type = MapType::from_u32(mt);
    mutate(state, mt, |map| {
        if let Some(map_type) = map_type {
            op(map, map_type, key, value)
        }
    })
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
    // `Context::onHeadersModified`: any change to the request headers clears the route cache.
    if mt == MapType::RequestHeaders {
        state.route_cache_clears += 1;
    }
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
                let map_type = MapType::from_u32(mt);
                note(state, || {
                    format!(
                        "{}, {pairs:?}",
                        crate::envoy::trace::decoded(MapType::from_u32(mt))
                    )
                });
                mutate(state, mt, |map| {
                    map.clear();
                    if let Some(map_type) = map_type {
                        for (k, v) in pairs {
                            add_copy(map, map_type, k, v);
                        }
                    }
                })
            })
        }
    );
    hostcall!(
        linker,
        "proxy_get_header_map_size",
        |caller, mt: u32, ret_ptr: u32| {
            let map_type = MapType::from_u32(mt).ok_or(Status::BadArgument)?;
            // `getMap`, not `getConstMap`: only a mutable HTTP map has a size.
            let size = match map_ref(caller.data_mut(), map_type) {
                MapRef::Present { map, mutable: true } => byte_size(map),
                _ => return Err(Status::BadArgument.into()),
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
                |key, value, state| set_value(state, mt, key, value, add_copy),
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
                |key, value, state| set_value(state, mt, key, value, set_copy),
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

/// Headers Envoy keeps inline in a map of this type (the `INLINE_*_HEADERS` lists of
/// `envoy/http/header_map.h`, Envoy's defaults for the `x-envoy-` prefix). Custom inline
/// headers other extensions register at start-up (`CustomInlineHeaderRegistry`) depend on the
/// build and are not modelled.
fn is_inline(mt: MapType, key: &str) -> bool {
    const REQ: &[&str] = &[
        "x-client-trace-id",
        "x-envoy-downstream-service-cluster",
        "x-envoy-downstream-service-node",
        "x-envoy-external-address",
        "x-envoy-force-trace",
        "x-envoy-hedge-on-per-try-timeout",
        "x-envoy-internal",
        "x-envoy-ip-tags",
        "x-envoy-retry-on",
        "x-envoy-retry-grpc-on",
        "x-envoy-retriable-status-codes",
        "x-envoy-retriable-header-names",
        "x-envoy-original-path",
        "x-envoy-original-url",
        "x-envoy-upstream-alt-stat-name",
        "x-envoy-upstream-rq-timeout-alt-response",
        "expect",
        "x-forwarded-client-cert",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "grpc-timeout",
        ":authority",
        ":method",
        ":path",
        ":protocol",
        ":scheme",
        "te",
        "user-agent",
        "x-envoy-expected-rq-timeout-ms",
        "x-envoy-max-retries",
        "x-envoy-upstream-rq-timeout-ms",
        "x-envoy-upstream-rq-per-try-timeout-ms",
        "x-envoy-upstream-stream-duration-ms",
    ];
    const REQ_RESP: &[&str] = &[
        "connection",
        "content-type",
        "x-envoy-decorator-operation",
        "keep-alive",
        "proxy-connection",
        "proxy-status",
        "x-request-id",
        "transfer-encoding",
        "upgrade",
        "via",
        "content-length",
        "x-envoy-attempt-count",
    ];
    const RESP: &[&str] = &[
        "date",
        "x-envoy-degraded",
        "x-envoy-immediate-health-check-fail",
        "x-envoy-ratelimited",
        "x-envoy-upstream-canary",
        "x-envoy-upstream-healthchecked-cluster",
        "location",
        "server",
        "x-envoy-upstream-service-time",
        ":status",
    ];
    const RESP_AND_TRAILERS: &[&str] = &["grpc-status", "grpc-message"];
    match mt {
        MapType::RequestHeaders => REQ.contains(&key) || REQ_RESP.contains(&key),
        MapType::ResponseHeaders => {
            RESP.contains(&key) || REQ_RESP.contains(&key) || RESP_AND_TRAILERS.contains(&key)
        }
        MapType::ResponseTrailers => RESP_AND_TRAILERS.contains(&key),
        _ => false,
    }
}

/// `delimiterByHeader` (`source/common/http/header_map_impl.cc`).
fn delimiter(key: &str) -> &'static str {
    if key == "cookie" { "; " } else { "," }
}

/// `HeaderList::insert`: a pseudo-header goes after the last pseudo-header (before the first
/// ordinary one), any other header at the end.
fn insert(map: &mut Vec<Pair>, key: String, value: String) {
    if key.starts_with(':') {
        let at = map
            .iter()
            .position(|(k, _)| !k.starts_with(':'))
            .unwrap_or(map.len());
        map.insert(at, (key, value));
    } else {
        map.push((key, value));
    }
}

/// Envoy's `HeaderMapImpl::addCopy` (`insertByKey`): an inline header already present takes
/// the value appended with its delimiter; anything else is a new entry.
pub(crate) fn add_copy(map: &mut Vec<Pair>, mt: MapType, key: String, value: String) {
    if is_inline(mt, &key)
        && let Some((_, v)) = map.iter_mut().find(|(k, _)| *k == key)
    {
        // `appendToHeader`: an empty addition changes nothing; no delimiter after an empty value.
        if value.is_empty() {
            return;
        }
        if !v.is_empty() {
            v.push_str(delimiter(&key));
        }
        v.push_str(&value);
        return;
    }
    insert(map, key, value);
}

/// Envoy's `HeaderMapImpl::setCopy`: `remove(key)` then `addCopy(key, value)` (the header
/// moves to the end, or to the end of the pseudo-headers).
pub(crate) fn set_copy(map: &mut Vec<Pair>, mt: MapType, key: String, value: String) {
    map.retain(|(k, _)| *k != key);
    add_copy(map, mt, key, value);
}

/// An inline header's `setInline`/`setReference…`: the value is replaced where the header
/// stands, or the header inserted when absent (as `setContentLength`, `setStatus`).
pub(crate) fn set_inline(map: &mut Vec<Pair>, key: &str, value: String) {
    match map.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => insert(map, key.to_string(), value),
    }
}

/// `HeaderMap::byteSize`: the bytes of every key and value.
pub(crate) fn byte_size(map: &[Pair]) -> usize {
    map.iter().map(|(k, v)| k.len() + v.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<Pair> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn add_copy_merges_inline_headers_and_keeps_pseudo_headers_first() {
        let mut m = p(&[(":path", "/"), ("user-agent", "a"), ("x-b", "1")]);
        add_copy(
            &mut m,
            MapType::RequestHeaders,
            "user-agent".into(),
            "b".into(),
        );
        add_copy(&mut m, MapType::RequestHeaders, "x-b".into(), "2".into());
        add_copy(
            &mut m,
            MapType::RequestHeaders,
            ":scheme".into(),
            "http".into(),
        );
        assert_eq!(
            m,
            p(&[
                (":path", "/"),
                (":scheme", "http"),
                ("user-agent", "a,b"),
                ("x-b", "1"),
                ("x-b", "2")
            ])
        );
    }

    #[test]
    fn set_copy_moves_the_header_to_the_end() {
        let mut m = p(&[(":path", "/"), ("x-a", "1"), ("x-b", "2"), ("x-a", "3")]);
        set_copy(&mut m, MapType::RequestHeaders, "x-a".into(), "9".into());
        assert_eq!(m, p(&[(":path", "/"), ("x-b", "2"), ("x-a", "9")]));
    }
}
