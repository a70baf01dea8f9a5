//! The probe's script steps: each step is one hostcall (or a check on one), logged with its
//! status and result; `run` executes a callback's steps for a context.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use crate::raw::{self, info, take};
use crate::script::{
    Script, Step, decode, decode_pairs, encode_pairs, hex, kv_args, show_pairs, unhex,
};

thread_local! {
    /// Values earlier steps remembered (`$q`, `$m`, `$t`, `$g`, `$s`).
    static VARS: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
}

fn remember(name: &str, value: u64) {
    VARS.with(|v| v.borrow_mut().insert(name.to_string(), value));
}

/// Runs the steps of `callback` for context `ctx`; returns the value of a `return` step.
pub(crate) fn run(
    script: &Script,
    counts: &mut HashMap<String, u32>,
    ctx: u32,
    callback: &str,
) -> Option<i64> {
    let n = counts.entry(callback.to_string()).or_insert(0);
    *n += 1;
    let n = *n;
    let mut ret = None;
    for step in script.steps.iter().filter(|s| s.callback == callback) {
        if step.nth.is_some_and(|want| want != n) {
            continue;
        }
        if let Some(r) = exec(step, ctx) {
            ret = Some(r);
        }
    }
    ret
}

fn arg(step: &Step, i: usize, ctx: u32) -> String {
    let a = step.args.get(i).map(String::as_str).unwrap_or("-");
    if a == "$ctx" {
        return ctx.to_string();
    }
    if let Some(name) = a.strip_prefix('$') {
        return VARS
            .with(|v| v.borrow().get(name).copied().unwrap_or(0))
            .to_string();
    }
    a.to_string()
}

fn bytes(step: &Step, i: usize, ctx: u32) -> Vec<u8> {
    decode(&arg(step, i, ctx))
}

fn num(step: &Step, i: usize, ctx: u32) -> i64 {
    arg(step, i, ctx).parse().unwrap_or(0)
}

fn map_type(name: &str) -> u32 {
    match name {
        "req" => 0,
        "req_trailers" => 1,
        "resp" => 2,
        "resp_trailers" => 3,
        "grpc_initial" => 4,
        "grpc_trailing" => 5,
        "call_headers" => 6,
        "call_trailers" => 7,
        n => n.parse().unwrap_or(u32::MAX),
    }
}

fn buffer_type(name: &str) -> u32 {
    match name {
        "req_body" => 0,
        "resp_body" => 1,
        "downstream" => 2,
        "upstream" => 3,
        "call_body" => 4,
        "grpc" => 5,
        "vm_config" => 6,
        "plugin_config" => 7,
        "foreign_args" => 8,
        n => n.parse().unwrap_or(u32::MAX),
    }
}

fn stream_type(name: &str) -> u32 {
    match name {
        "request" => 0,
        "response" => 1,
        "downstream" => 2,
        "upstream" => 3,
        n => n.parse().unwrap_or(u32::MAX),
    }
}

fn quoted(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// `a.b.c` → `a\0b\0c`; a path already holding NULs (`%00`) is taken as is, so a segment
/// may contain dots (`metadata%00filter_metadata%00envoy.lua%00k`).
fn property_path(path: &str) -> Vec<u8> {
    let raw = decode(path);
    if raw.contains(&0) {
        return raw;
    }
    raw.split(|b| *b == b'.').collect::<Vec<_>>().join(&0u8)
}

/// Executes one step and logs `<callback>.<op> <args> = <status>[ <result>]`.
fn exec(step: &Step, ctx: u32) -> Option<i64> {
    let mut ret = None;
    let (status, result): (i64, String) = unsafe { exec_raw(step, ctx, &mut ret) };
    let shown: Vec<String> = (0..step.args.len()).map(|i| arg(step, i, ctx)).collect();
    let mut line = format!("{}.{}", step.callback, step.op);
    if !shown.is_empty() {
        line.push(' ');
        line.push_str(&shown.join(" "));
    }
    line.push_str(&format!(" = {status}"));
    if !result.is_empty() {
        line.push(' ');
        line.push_str(&result);
    }
    info(&line);
    ret
}

unsafe fn exec_raw(step: &Step, ctx: u32, ret: &mut Option<i64>) -> (i64, String) {
    let a = |i| arg(step, i, ctx);
    let b = |i| bytes(step, i, ctx);
    let n = |i| num(step, i, ctx);
    let mut ptr: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    unsafe {
        match step.op.as_str() {
            "return" => {
                *ret = Some(n(0));
                (0, String::new())
            }
            "log" => {
                let msg = b(1);
                let s = raw::proxy_log(n(0) as u32, msg.as_ptr(), msg.len());
                (s as i64, String::new())
            }
            "log_level" => {
                let mut level = 99;
                let s = raw::proxy_get_log_level(&mut level);
                (s as i64, level.to_string())
            }
            "get_header" => {
                let key = b(1);
                let s = raw::proxy_get_header_map_value(
                    map_type(&a(0)),
                    key.as_ptr(),
                    key.len(),
                    &mut ptr,
                    &mut size,
                );
                let v = take(ptr, size);
                (s as i64, if s == 0 { quoted(&v) } else { String::new() })
            }
            "get_pairs" => {
                let s = raw::proxy_get_header_map_pairs(map_type(&a(0)), &mut ptr, &mut size);
                let v = take(ptr, size);
                let pairs = decode_pairs(&v)
                    .map(|p| show_pairs(&p))
                    .unwrap_or_else(|| "MALFORMED".into());
                (s as i64, format!("hex={} pairs={pairs}", hex(&v)))
            }
            "map_size" => {
                let s = raw::proxy_get_header_map_size(map_type(&a(0)), &mut size);
                (s as i64, size.to_string())
            }
            "add_header" | "replace_header" => {
                let (k, v) = (b(1), b(2));
                let f = if step.op == "add_header" {
                    raw::proxy_add_header_map_value
                } else {
                    raw::proxy_replace_header_map_value
                };
                let s = f(map_type(&a(0)), k.as_ptr(), k.len(), v.as_ptr(), v.len());
                (s as i64, String::new())
            }
            "remove_header" => {
                let k = b(1);
                let s = raw::proxy_remove_header_map_value(map_type(&a(0)), k.as_ptr(), k.len());
                (s as i64, String::new())
            }
            "set_pairs" | "set_pairs_hex" => {
                let data = if step.op == "set_pairs" {
                    encode_pairs(&kv_args(&step.args[1.min(step.args.len())..]))
                } else {
                    unhex(&a(1)).unwrap_or_default()
                };
                let s = raw::proxy_set_header_map_pairs(map_type(&a(0)), data.as_ptr(), data.len());
                (s as i64, String::new())
            }
            "get_buffer" => {
                let s = raw::proxy_get_buffer_bytes(
                    buffer_type(&a(0)),
                    n(1) as usize,
                    n(2) as u32 as usize,
                    &mut ptr,
                    &mut size,
                );
                let v = take(ptr, size);
                (s as i64, if s == 0 { quoted(&v) } else { String::new() })
            }
            "set_buffer" => {
                let data = b(3);
                let s = raw::proxy_set_buffer_bytes(
                    buffer_type(&a(0)),
                    n(1) as usize,
                    n(2) as usize,
                    data.as_ptr(),
                    data.len(),
                );
                (s as i64, String::new())
            }
            "buffer_status" => {
                let mut flags = 0;
                let s = raw::proxy_get_buffer_status(buffer_type(&a(0)), &mut size, &mut flags);
                (s as i64, format!("size={size} flags={flags}"))
            }
            "local_reply" => {
                let (details, body) = (b(1), b(2));
                let headers = encode_pairs(&kv_args(&step.args[3.min(step.args.len())..]));
                let s = raw::proxy_send_local_response(
                    n(0) as u32,
                    details.as_ptr(),
                    details.len(),
                    body.as_ptr(),
                    body.len(),
                    headers.as_ptr(),
                    headers.len(),
                    -1,
                );
                (s as i64, String::new())
            }
            // `local_reply_grpc STATUS GRPC_STATUS DETAILS BODY [K=V…]`
            "local_reply_grpc" => {
                let (details, body) = (b(2), b(3));
                let headers = encode_pairs(&kv_args(&step.args[4.min(step.args.len())..]));
                let s = raw::proxy_send_local_response(
                    n(0) as u32,
                    details.as_ptr(),
                    details.len(),
                    body.as_ptr(),
                    body.len(),
                    headers.as_ptr(),
                    headers.len(),
                    n(1) as i32,
                );
                (s as i64, String::new())
            }
            "continue" => (
                raw::proxy_continue_stream(stream_type(&a(0))) as i64,
                String::new(),
            ),
            "close" => (
                raw::proxy_close_stream(stream_type(&a(0))) as i64,
                String::new(),
            ),
            "effective" => (
                raw::proxy_set_effective_context(n(0) as u32) as i64,
                String::new(),
            ),
            "proxy_done" => (raw::proxy_done() as i64, String::new()),
            "tick_period" => (
                raw::proxy_set_tick_period_milliseconds(n(0) as u32) as i64,
                String::new(),
            ),
            "now" => {
                let mut t = 0u64;
                let s = raw::proxy_get_current_time_nanoseconds(&mut t);
                (s as i64, t.to_string())
            }
            "get_status" => {
                let mut code = 0u32;
                let s = raw::proxy_get_status(&mut code, &mut ptr, &mut size);
                let msg = take(ptr, size);
                (s as i64, format!("code={code} msg={}", quoted(&msg)))
            }
            // Through the SDK, so its dispatcher routes the answer to this context.
            "http_call" => {
                let kv = kv_args(&step.args[2.min(step.args.len())..]);
                let mut headers = Vec::new();
                let mut body = None;
                for (k, v) in &kv {
                    if k.as_slice() == b"body" {
                        body = Some(v.clone());
                    } else {
                        headers.push((
                            String::from_utf8_lossy(k).into_owned(),
                            String::from_utf8_lossy(v).into_owned(),
                        ));
                    }
                }
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let upstream = String::from_utf8_lossy(&b(0)).into_owned();
                match proxy_wasm::hostcalls::dispatch_http_call(
                    &upstream,
                    headers,
                    body.as_deref(),
                    vec![],
                    Duration::from_millis(n(1) as u64),
                ) {
                    Ok(token) => {
                        remember("t", token as u64);
                        (0, format!("token={token}"))
                    }
                    Err(status) => (status as i64, String::new()),
                }
            }
            // Raw, with any timeout (even a negative one); the token is not registered.
            "http_call_raw" => {
                let upstream = b(0);
                let headers = encode_pairs(&kv_args(&step.args[2.min(step.args.len())..]));
                let mut token = 0u32;
                let s = raw::proxy_http_call(
                    upstream.as_ptr(),
                    upstream.len(),
                    headers.as_ptr(),
                    headers.len(),
                    std::ptr::null(),
                    0,
                    std::ptr::null(),
                    0,
                    n(1) as i32 as u32,
                    &mut token,
                );
                (s as i64, format!("token={token}"))
            }
            "grpc_call" => {
                let (cluster, service, method) = (a(0), a(1), a(2));
                let msg = b(3);
                match proxy_wasm::hostcalls::dispatch_grpc_call(
                    &cluster,
                    &service,
                    &method,
                    vec![],
                    Some(&msg),
                    Duration::from_millis(n(4) as u64),
                ) {
                    Ok(token) => {
                        remember("g", token as u64);
                        (0, format!("token={token}"))
                    }
                    Err(status) => (status as i64, String::new()),
                }
            }
            "grpc_stream" => {
                let (cluster, service, method) = (a(0), a(1), a(2));
                match proxy_wasm::hostcalls::open_grpc_stream(&cluster, &service, &method, vec![]) {
                    Ok(token) => {
                        remember("s", token as u64);
                        (0, format!("token={token}"))
                    }
                    Err(status) => (status as i64, String::new()),
                }
            }
            "grpc_send" => {
                let msg = b(1);
                let s = raw::proxy_grpc_send(n(0) as u32, msg.as_ptr(), msg.len(), n(2) as u32);
                (s as i64, String::new())
            }
            "grpc_cancel" => (raw::proxy_grpc_cancel(n(0) as u32) as i64, String::new()),
            "grpc_close" => (raw::proxy_grpc_close(n(0) as u32) as i64, String::new()),
            "get_shared" => {
                let key = b(0);
                let mut cas = 0u32;
                let s = raw::proxy_get_shared_data(
                    key.as_ptr(),
                    key.len(),
                    &mut ptr,
                    &mut size,
                    &mut cas,
                );
                let v = take(ptr, size);
                (
                    s as i64,
                    if s == 0 {
                        format!("{} cas={cas}", quoted(&v))
                    } else {
                        String::new()
                    },
                )
            }
            "set_shared" => {
                let (key, value) = (b(0), b(1));
                let s = raw::proxy_set_shared_data(
                    key.as_ptr(),
                    key.len(),
                    value.as_ptr(),
                    value.len(),
                    n(2) as u32,
                );
                (s as i64, String::new())
            }
            "register_queue" => {
                let name = b(0);
                let mut id = 0u32;
                let s = raw::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id);
                remember("q", id as u64);
                (s as i64, format!("id={id}"))
            }
            "resolve_queue" => {
                let (vm, name) = (b(0), b(1));
                let mut id = 0u32;
                let s = raw::proxy_resolve_shared_queue(
                    vm.as_ptr(),
                    vm.len(),
                    name.as_ptr(),
                    name.len(),
                    &mut id,
                );
                if s == 0 {
                    remember("q", id as u64);
                }
                (s as i64, format!("id={id}"))
            }
            "enqueue" => {
                let data = b(1);
                let s = raw::proxy_enqueue_shared_queue(n(0) as u32, data.as_ptr(), data.len());
                (s as i64, String::new())
            }
            "dequeue" => {
                let s = raw::proxy_dequeue_shared_queue(n(0) as u32, &mut ptr, &mut size);
                let v = take(ptr, size);
                (s as i64, if s == 0 { quoted(&v) } else { String::new() })
            }
            "define_metric" => {
                let name = b(1);
                let mut id = 0u32;
                let s = raw::proxy_define_metric(n(0) as u32, name.as_ptr(), name.len(), &mut id);
                remember("m", id as u64);
                (s as i64, format!("id={id}"))
            }
            "incr" => (
                raw::proxy_increment_metric(n(0) as u32, n(1)) as i64,
                String::new(),
            ),
            "record" => (
                raw::proxy_record_metric(n(0) as u32, n(1) as u64) as i64,
                String::new(),
            ),
            "get_metric" => {
                let mut v = 0u64;
                let s = raw::proxy_get_metric(n(0) as u32, &mut v);
                (s as i64, v.to_string())
            }
            "get_property" | "get_property_int" => {
                let path = property_path(&a(0));
                let s = raw::proxy_get_property(path.as_ptr(), path.len(), &mut ptr, &mut size);
                let v = take(ptr, size);
                let shown = if s != 0 {
                    String::new()
                } else if step.op == "get_property_int" {
                    match <[u8; 8]>::try_from(v.as_slice()) {
                        Ok(le) => i64::from_le_bytes(le).to_string(),
                        Err(_) => format!("NOT_8_BYTES hex={}", hex(&v)),
                    }
                } else {
                    quoted(&v)
                };
                (s as i64, shown)
            }
            "set_property" => {
                let (path, value) = (property_path(&a(0)), b(1));
                let s =
                    raw::proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len());
                (s as i64, String::new())
            }
            "foreign" => {
                let (name, args) = (b(0), b(1));
                let s = raw::proxy_call_foreign_function(
                    name.as_ptr(),
                    name.len(),
                    args.as_ptr(),
                    args.len(),
                    &mut ptr,
                    &mut size,
                );
                let v = take(ptr, size);
                (s as i64, if s == 0 { quoted(&v) } else { String::new() })
            }
            "panic" => panic!("probe panic: {}", a(0)),
            // Panics only when the map holds the key: lets one stream crash and the next not.
            "panic_if" => {
                let key = b(1);
                let s = raw::proxy_get_header_map_value(
                    map_type(&a(0)),
                    key.as_ptr(),
                    key.len(),
                    &mut ptr,
                    &mut size,
                );
                let v = take(ptr, size);
                if s == 0 && !v.is_empty() {
                    panic!("probe panic: {} is {}", a(1), quoted(&v));
                }
                (s as i64, String::new())
            }
            "spin" => {
                let mut i = 0u64;
                loop {
                    i = std::hint::black_box(i.wrapping_add(1));
                }
            }
            "grow" => {
                let r = core::arch::wasm32::memory_grow::<0>(n(0) as usize);
                (r as isize as i64, String::new())
            }
            "alloc" => {
                let mut v: Vec<u8> = Vec::new();
                match v.try_reserve_exact(n(0) as usize) {
                    Ok(()) => {
                        v.resize(n(0) as usize, 1);
                        (0, format!("len={}", std::hint::black_box(&v).len()))
                    }
                    Err(_) => (-1, "alloc failed".into()),
                }
            }
            "print" => {
                println!("{}", String::from_utf8_lossy(&b(0)));
                (0, String::new())
            }
            "eprint" => {
                eprintln!("{}", String::from_utf8_lossy(&b(0)));
                (0, String::new())
            }
            "env" => match std::env::var(a(0)) {
                Ok(v) => (0, format!("{v:?}")),
                Err(_) => (1, "missing".into()),
            },
            #[cfg(target_os = "wasi")]
            "random" => {
                let mut buf = vec![0u8; n(0) as usize];
                let e = raw::random_get(buf.as_mut_ptr(), buf.len());
                (e as i64, hex(&buf[..buf.len().min(16)]))
            }
            #[cfg(target_os = "wasi")]
            "clock" => {
                let mut t = 0u64;
                let e = raw::clock_time_get(n(0) as u32, 1, &mut t);
                (e as i64, t.to_string())
            }
            other => (-1, format!("UNKNOWN OP {other}")),
        }
    }
}
