//! `proxy_get_property` / `proxy_set_property`: the test's properties (per stream, then per
//! host), Envoy-like defaults derived from the stream and its connection, filter state
//! (`wasm.<path>`) with Envoy's read-back rule, and `filter_state.<key>` for the state the
//! `set_envoy_filter_state` foreign function stores.

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::Status;
use crate::abi::wire::Pair;
use crate::abi::wire::{encode_pairs, split_path};
use crate::envoy::context::{Context, HttpCtx};
use crate::values::{ConnectionInfo, PropertyValue, find_header, port_of};
use crate::vm::limits::Limit;
use crate::vm::memory;
use wasmtime::Linker;

fn text(s: impl Into<String>) -> Option<Vec<u8>> {
    Some(PropertyValue::String(s.into()).encode())
}

fn int(i: i64) -> Option<Vec<u8>> {
    Some(PropertyValue::Int(i).encode())
}

/// A header map as Envoy's `HeadersWrapper` shows it (`filters/common/expr/context.cc`): one
/// entry per name, in first-seen order, repeated values joined with `,`.
fn joined(headers: &[Pair]) -> Vec<Pair> {
    let mut out: Vec<Pair> = Vec::with_capacity(headers.len());
    for (k, v) in headers {
        match out
            .iter_mut()
            .find(|(seen, _)| seen.eq_ignore_ascii_case(k))
        {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(v);
            }
            None => out.push((k.to_ascii_lowercase(), v.clone())),
        }
    }
    out
}

/// `request.headers` / `response.headers` (and trailers), or with a third segment one header
/// of it, joined the same way (`request.headers.x-a` → `1,2`).
fn header_map(headers: &[Pair], name: Option<&str>) -> Option<Vec<u8>> {
    let map = joined(headers);
    match name {
        None => Some(encode_pairs(&map)),
        Some(n) => map
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.into_bytes()),
    }
}

fn request_property(
    h: &HttpCtx,
    field: &str,
    name: Option<&str>,
    now_ns: u64,
    start_real_ns: u64,
) -> Option<Vec<u8>> {
    let headers = h.request.current_headers();
    if field == "headers" {
        return header_map(headers, name);
    }
    if name.is_some() {
        return None;
    }
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

fn response_property(h: &HttpCtx, field: &str, name: Option<&str>) -> Option<Vec<u8>> {
    let headers = h.response.current_headers();
    match field {
        "headers" => return header_map(headers, name),
        "trailers" => return header_map(&h.response.trailers, name),
        _ if name.is_some() => return None,
        _ => {}
    }
    match field {
        "code" => int(find_header(headers, ":status")?.parse().ok()?),
        "code_details" => text(match (&h.local_reply, &h.reset) {
            (Some(r), _) => r.details.clone(),
            (_, Some(d)) => d.clone(),
            _ if h.response.headers_avail != crate::envoy::context::Avail::Absent => {
                "via_upstream".into()
            }
            _ => return None,
        }),
        "flags" => int(0),
        "grpc_status" => int(find_header(headers, "grpc-status")
            .or_else(|| find_header(&h.response.trailers, "grpc-status"))?
            .parse()
            .ok()?),
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
        "port" => int(i64::from(port_of(addr)?)),
        _ => None,
    }
}

/// The connection of the effective context: its own, else the host's (`None` on a root).
fn connection_of(state: &VmState) -> Option<&ConnectionInfo> {
    let own = match state.effective()? {
        Context::Root(_) => return None,
        Context::Http(h) => h.connection.as_deref(),
        Context::Tcp(t) => t.connection.as_deref(),
    };
    Some(own.unwrap_or(&state.settings.connection))
}

fn connection_property(state: &VmState, field: &str) -> Option<Vec<u8>> {
    let c = connection_of(state)?;
    match field {
        "id" => {
            Some(PropertyValue::Uint(c.id.unwrap_or(u64::from(state.call.effective_id))).encode())
        }
        "mtls" => Some(PropertyValue::Bool(c.mtls).encode()),
        "requested_server_name" => text(c.requested_server_name.clone()?),
        "tls_version" => text(c.tls_version.clone()?),
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
    let third = path.get(2).map(String::as_str);
    match (first, second, path.len()) {
        ("plugin_name", None, 1) => text(plugin?.name.clone()),
        ("plugin_root_id", None, 1) => text(plugin?.root_id.clone()),
        ("plugin_vm_id", None, 1) => text(state.settings.vm_id.clone()),
        ("request", Some(f), 2 | 3) => match ctx? {
            Context::Http(h) => request_property(
                h,
                f,
                third,
                state.clock.elapsed_ns(),
                state.clock.realtime_ns() - (state.clock.elapsed_ns() - h.start_ns),
            ),
            _ => None,
        },
        ("response", Some(f), 2 | 3) => match ctx? {
            Context::Http(h) => response_property(h, f, third),
            _ => None,
        },
        ("source", Some(f), 2) => address(&connection_of(state)?.source_address, f),
        ("destination", Some(f), 2) => address(&connection_of(state)?.destination_address, f),
        ("connection", Some(f), 2) => connection_property(state, f),
        ("filter_state", Some(key), 2) => {
            let fs = match ctx? {
                Context::Http(h) => &h.filter_state,
                Context::Tcp(t) => &t.filter_state,
                Context::Root(_) => return None,
            };
            fs.get(key.as_bytes()).cloned()
        }
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
    let own = match state.effective() {
        Some(Context::Http(h)) => h.properties.get(&path),
        Some(Context::Tcp(t)) => t.properties.get(&path),
        _ => None,
    };
    if let Some(v) = own {
        return Ok(v);
    }
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
                    let readonly = state.declared.get(path).copied().unwrap_or(false);
                    let key = [b"wasm.".as_slice(), path].concat();
                    let fs = filter_state(state).ok_or(Status::NotFound)?;
                    // Envoy's CelState refuses a second write to a read-only declared property.
                    if readonly && fs.contains_key(&key) {
                        return Err(Status::BadArgument.into());
                    }
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

/// Applies a property set by path (`source.port: 4000`, `connection.mtls: true`) to the
/// field behind it, so the related properties stay consistent. `Ok(false)`: the path is
/// not a connection property; `Err`: it is, but the value does not fit.
pub(crate) fn apply_connection_property(
    info: &mut ConnectionInfo,
    path: &[String],
    value: &PropertyValue,
) -> Result<bool, String> {
    let [first, second] = path else {
        return Ok(false);
    };
    let number = || match value {
        PropertyValue::Int(i) => u16::try_from(*i).ok(),
        PropertyValue::Uint(u) => u16::try_from(*u).ok(),
        other => text_of(other)?.parse().ok(),
    };
    let bad = |what: &str| Err(format!("property {first}.{second}: {what}"));
    match (first.as_str(), second.as_str()) {
        ("source" | "destination", field) => {
            let addr = if first == "source" {
                &mut info.source_address
            } else {
                &mut info.destination_address
            };
            match field {
                "address" => match text_of(value) {
                    Some(a) if port_of(&a).is_some() => *addr = a,
                    _ => return bad("expected `ip:port`, e.g. 10.0.0.1:8080"),
                },
                "port" => match number() {
                    Some(p) => {
                        let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
                        *addr = format!("{host}:{p}");
                    }
                    None => return bad("expected a port number 0..=65535"),
                },
                _ => return Ok(false),
            }
        }
        ("connection", "id") => match value {
            PropertyValue::Int(i) if *i >= 0 => info.id = Some(*i as u64),
            PropertyValue::Uint(u) => info.id = Some(*u),
            other => match text_of(other).and_then(|t| t.parse().ok()) {
                Some(id) => info.id = Some(id),
                None => return bad("expected a non-negative integer"),
            },
        },
        ("connection", "mtls") => match value {
            PropertyValue::Bool(b) => info.mtls = *b,
            other => match text_of(other).as_deref() {
                Some("true") => info.mtls = true,
                Some("false") => info.mtls = false,
                _ => return bad("expected true or false"),
            },
        },
        ("connection", "requested_server_name") => match text_of(value) {
            Some(s) => info.requested_server_name = Some(s),
            None => return bad("expected a string"),
        },
        ("connection", "tls_version") => match text_of(value) {
            Some(s) => info.tls_version = Some(s),
            None => return bad("expected a string"),
        },
        _ => return Ok(false),
    }
    Ok(true)
}

fn text_of(value: &PropertyValue) -> Option<String> {
    match value {
        PropertyValue::String(s) => Some(s.clone()),
        PropertyValue::Bytes(b) => String::from_utf8(b.clone()).ok(),
        _ => None,
    }
}
