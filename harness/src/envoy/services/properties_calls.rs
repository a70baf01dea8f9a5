//! `proxy_get_property` / `proxy_set_property`: the test's properties, Envoy-like defaults
//! derived from the stream, and filter state (`wasm.<path>`) with Envoy's read-back rule.

use super::properties::PropertyValue;
use crate::abi::Status;
use crate::abi::wire::{encode_pairs, split_path};
use crate::envoy::hostcalls::{hostcall, note};
use crate::envoy::state::{Context, HttpCtx, VmState};
use crate::values::find_header;
use crate::vm::limits::Limit;
use crate::vm::memory;
use wasmtime::Linker;

/// The default downstream peer and local address of every stream.
pub(crate) const SOURCE_ADDRESS: &str = "127.0.0.1:54321";
/// The default listener address.
pub(crate) const DESTINATION_ADDRESS: &str = "127.0.0.1:8080";

fn text(s: impl Into<String>) -> Option<Vec<u8>> {
    Some(PropertyValue::String(s.into()).encode())
}

fn int(i: i64) -> Option<Vec<u8>> {
    Some(PropertyValue::Int(i).encode())
}

fn request_property(h: &HttpCtx, field: &str, now_ns: u64, start_real_ns: u64) -> Option<Vec<u8>> {
    let headers = h.request.current_headers();
    let get = |k: &str| find_header(headers, k).map(str::to_string);
    let path = get(":path");
    match field {
        "path" => text(path?),
        "url_path" => text(path?.split('?').next().unwrap_or_default()),
        "query" => text(
            path?
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default(),
        ),
        "host" => text(get(":authority")?),
        "scheme" => text(get(":scheme").unwrap_or_else(|| "http".into())),
        "method" => text(get(":method")?),
        "headers" => Some(encode_pairs(headers)),
        "referer" => text(get("referer")?),
        "useragent" => text(get("user-agent")?),
        "id" => text(get("x-request-id")?),
        "protocol" => text("HTTP/1.1"),
        "time" => int((start_real_ns) as i64),
        "duration" => int(now_ns.saturating_sub(h.start_ns) as i64),
        "size" => int(h.request.body_size as i64),
        "total_size" => int((h.request.body_size
            + headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>() as u64) as i64),
        _ => None,
    }
}

fn response_property(h: &HttpCtx, field: &str) -> Option<Vec<u8>> {
    let headers = h.response.current_headers();
    match field {
        "code" => int(find_header(headers, ":status")?.parse().ok()?),
        "code_details" => text(match (&h.local_reply, &h.reset) {
            (Some(r), _) => r.details.clone(),
            (_, Some(d)) => d.clone(),
            _ if h.response.headers_avail != crate::envoy::state::Avail::Absent => {
                "via_upstream".into()
            }
            _ => return None,
        }),
        "flags" => int(0),
        "grpc_status" => int(find_header(headers, "grpc-status")
            .or_else(|| find_header(&h.response.trailers, "grpc-status"))?
            .parse()
            .ok()?),
        "headers" => Some(encode_pairs(headers)),
        "trailers" => Some(encode_pairs(&h.response.trailers)),
        "size" => int(h.response.body_size as i64),
        "total_size" => int((h.response.body_size
            + headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>() as u64) as i64),
        _ => None,
    }
}

fn address(addr: &str, field: &str) -> Option<Vec<u8>> {
    match field {
        "address" => text(addr),
        "port" => int(addr.rsplit_once(':')?.1.parse().ok()?),
        _ => None,
    }
}

/// Envoy-like defaults derived from the effective context.
fn derived(state: &VmState, path: &[String]) -> Option<Vec<u8>> {
    let first = path.first()?.as_str();
    let second = path.get(1).map(String::as_str);
    let root = state.effective_root();
    let plugin = state.plugin_of_root(root);
    let ctx = state.effective();
    match (first, second, path.len()) {
        ("plugin_name", None, 1) => text(plugin?.name.clone()),
        ("plugin_root_id", None, 1) => text(plugin?.root_id.clone()),
        ("plugin_vm_id", None, 1) => text(state.settings.vm_id.clone()),
        ("request", Some(f), 2) => match ctx? {
            Context::Http(h) => request_property(
                h,
                f,
                state.clock.elapsed_ns(),
                state.clock.realtime_ns() - (state.clock.elapsed_ns() - h.start_ns),
            ),
            _ => None,
        },
        ("response", Some(f), 2) => match ctx? {
            Context::Http(h) => response_property(h, f),
            _ => None,
        },
        ("source", Some(f), 2) => match ctx? {
            Context::Root(_) => None,
            _ => address(SOURCE_ADDRESS, f),
        },
        ("destination", Some(f), 2) => match ctx? {
            Context::Root(_) => None,
            _ => address(DESTINATION_ADDRESS, f),
        },
        ("connection", Some(f), 2) => match (ctx?, f) {
            (Context::Root(_), _) => None,
            (_, "id") => Some(PropertyValue::Uint(u64::from(state.call.effective_id)).encode()),
            (_, "mtls") => Some(PropertyValue::Bool(false).encode()),
            _ => None,
        },
        ("xds", Some("cluster_name"), 2) | ("cluster_name", None, 1) => match ctx? {
            Context::Root(_) => None,
            _ => text("outbound|8080||upstream"),
        },
        ("xds", Some("listener_direction"), 2) | ("listener_direction", None, 1) => int(1),
        _ => None,
    }
}

fn filter_state(state: &mut VmState) -> Option<&mut std::collections::HashMap<Vec<u8>, Vec<u8>>> {
    match state.contexts.get_mut(&state.call.effective_id)? {
        Context::Http(h) => Some(&mut h.filter_state),
        Context::Tcp(t) => Some(&mut t.filter_state),
        Context::Root(_) => None,
    }
}

fn get(state: &mut VmState, raw: &[u8]) -> Result<Vec<u8>, Status> {
    let path = split_path(raw);
    if let Some(v) = state.settings.properties.get(&path) {
        return Ok(v);
    }
    // `xds.node.*` and the legacy `node.*` are the same tree.
    if path.first().is_some_and(|f| f == "xds")
        && path.get(1).is_some_and(|s| s == "node")
        && let Some(v) = state.settings.properties.get(&path[1..])
    {
        return Ok(v);
    }
    if let Some(v) = derived(state, &path) {
        return Ok(v);
    }
    // Unknown top-level names are looked up as filter state `wasm.<first segment>`.
    let first = path.first().cloned().unwrap_or_default();
    if !state.settings.properties.has_root(&first) && path.len() == 1 {
        let key = [b"wasm.".as_slice(), first.as_bytes()].concat();
        if let Some(v) = filter_state(state).and_then(|fs| fs.get(&key)) {
            return Ok(v.clone());
        }
    }
    Err(Status::NotFound)
}

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_get_property",
        |caller, path_ptr: u32, path_size: u32, ret_ptr: u32, ret_size: u32| {
            let value = memory::with_bytes(&mut caller, path_ptr, path_size, |raw, state| {
                note(state, || format!("{:?}", split_path(raw).join(".")));
                Ok(get(state, raw)?)
            })?;
            memory::return_bytes(&mut caller, &value, ret_ptr, ret_size)
        }
    );
    hostcall!(
        linker,
        "proxy_set_property",
        |caller, path_ptr: u32, path_size: u32, value_ptr: u32, value_size: u32| {
            memory::with_two(
                &mut caller,
                (path_ptr, path_size),
                (value_ptr, value_size),
                |path, value, state| {
                    note(state, || {
                        format!(
                            "{:?}, {:?}",
                            split_path(path).join("."),
                            String::from_utf8_lossy(value)
                        )
                    });
                    let key = [b"wasm.".as_slice(), path].concat();
                    let fs = filter_state(state).ok_or(Status::NotFound)?;
                    let held: usize = fs
                        .iter()
                        .filter(|(k, _)| **k != key)
                        .map(|(k, v)| k.len() + v.len())
                        .sum();
                    let after = held + key.len() + value.len();
                    state.vm.enforce(Limit::PropertyBytes, after)?;
                    if let Some(fs) = filter_state(state) {
                        fs.insert(key, value.to_vec());
                    }
                    Ok(())
                },
            )
        }
    );
    Ok(())
}
