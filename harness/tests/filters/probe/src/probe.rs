//! The probe's contexts: every callback logs its entry and runs the script's steps for it.

use std::collections::HashMap;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext, StreamContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, PeerType};

use crate::raw::info;
use crate::script::Script;
use crate::steps::run;

proxy_wasm::main! {{
    // Installs the SDK's panic hook, which logs "panicked at …" at critical before the trap.
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|id| -> Box<dyn RootContext> {
        info(&format!("> create_root ctx={id}"));
        Box::new(ProbeRoot {
            id,
            vm_script: Script::default(),
            script: Rc::new(Script::default()),
            counts: HashMap::new(),
        })
    });
}}

/// Logs callback `callback` of context `id` and runs the script's steps for it.
fn observe(
    script: &Rc<Script>,
    counts: &mut HashMap<String, u32>,
    id: u32,
    callback: &str,
    args: &str,
) -> Option<i64> {
    info(format!("> {callback} ctx={id} {args}").trim_end());
    run(script, counts, id, callback)
}

/// The `Drop` and `Context` impls both probe contexts share: each callback is logged and
/// scripted through the context's `on`; `$extra` adds the context's own callbacks.
macro_rules! probe_context {
    ($ty:ident { $($extra:tt)* }) => {
        impl Drop for $ty {
            fn drop(&mut self) {
                info(&format!("> delete ctx={}", self.id));
            }
        }

        impl Context for $ty {
            fn on_http_call_response(&mut self, token: u32, h: usize, b: usize, t: usize) {
                self.on(
                    "http_call_response",
                    &format!("token={token} headers={h} body={b} trailers={t}"),
                );
            }
            fn on_grpc_call_response(&mut self, token: u32, status: u32, size: usize) {
                self.on(
                    "grpc_call_response",
                    &format!("token={token} status={status} size={size}"),
                );
            }
            fn on_grpc_stream_initial_metadata(&mut self, token: u32, n: u32) {
                self.on("grpc_initial_metadata", &format!("token={token} n={n}"));
            }
            fn on_grpc_stream_message(&mut self, token: u32, size: usize) {
                self.on("grpc_message", &format!("token={token} size={size}"));
            }
            fn on_grpc_stream_trailing_metadata(&mut self, token: u32, n: u32) {
                self.on("grpc_trailing_metadata", &format!("token={token} n={n}"));
            }
            fn on_grpc_stream_close(&mut self, token: u32, status: u32) {
                self.on(
                    "grpc_stream_close",
                    &format!("token={token} status={status}"),
                );
            }
            fn on_done(&mut self) -> bool {
                self.on("done", "").is_none_or(|r| r != 0)
            }
            $($extra)*
        }
    };
}

struct ProbeRoot {
    id: u32,
    vm_script: Script,
    script: Rc<Script>,
    counts: HashMap<String, u32>,
}

impl ProbeRoot {
    fn on(&mut self, callback: &str, args: &str) -> Option<i64> {
        observe(&self.script, &mut self.counts, self.id, callback, args)
    }

    /// The script is the VM configuration's steps followed by the plugin configuration's;
    /// Envoy may configure a plugin more than once, so each load starts from the VM's.
    fn load(&mut self, config: Option<Vec<u8>>, from_vm: bool) {
        let (more, problems) = Script::parse(&String::from_utf8_lossy(&config.unwrap_or_default()));
        for p in problems {
            info(&format!("script problem: {p}"));
        }
        if from_vm {
            self.vm_script = more;
            self.script = Rc::new(self.vm_script.clone());
        } else {
            let mut script = self.vm_script.clone();
            script.extend(more);
            self.script = Rc::new(script);
        }
    }
}

probe_context!(ProbeRoot {
    fn on_foreign_function(&mut self, function_id: u32, size: usize) {
        self.on(
            "foreign_function",
            &format!("function={function_id} size={size}"),
        );
    }
});

impl RootContext for ProbeRoot {
    fn on_vm_start(&mut self, size: usize) -> bool {
        let config = proxy_wasm::hostcalls::get_buffer(
            proxy_wasm::types::BufferType::VmConfiguration,
            0,
            usize::MAX,
        )
        .ok()
        .flatten();
        self.load(config, true);
        self.on("vm_start", &format!("size={size}"))
            .is_none_or(|r| r != 0)
    }

    fn on_configure(&mut self, size: usize) -> bool {
        let config = proxy_wasm::hostcalls::get_buffer(
            proxy_wasm::types::BufferType::PluginConfiguration,
            0,
            usize::MAX,
        )
        .ok()
        .flatten();
        self.load(config, false);
        self.on("configure", &format!("size={size}"))
            .is_none_or(|r| r != 0)
    }

    fn on_tick(&mut self) {
        self.on("tick", "");
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        self.on("queue_ready", &format!("queue={queue_id}"));
    }

    fn create_http_context(&self, id: u32) -> Option<Box<dyn HttpContext>> {
        info(&format!("> create ctx={id} root={}", self.id));
        Some(Box::new(Probe::new(id, self.script.clone())))
    }

    fn create_stream_context(&self, id: u32) -> Option<Box<dyn StreamContext>> {
        info(&format!("> create ctx={id} root={}", self.id));
        Some(Box::new(Probe::new(id, self.script.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(if self.script.tcp {
            ContextType::StreamContext
        } else {
            ContextType::HttpContext
        })
    }
}

struct Probe {
    id: u32,
    script: Rc<Script>,
    counts: HashMap<String, u32>,
}

impl Probe {
    fn new(id: u32, script: Rc<Script>) -> Self {
        Probe {
            id,
            script,
            counts: HashMap::new(),
        }
    }

    fn on(&mut self, callback: &str, args: &str) -> Option<i64> {
        observe(&self.script, &mut self.counts, self.id, callback, args)
    }

    fn action(&mut self, callback: &str, args: &str) -> Action {
        match self.on(callback, args) {
            Some(r) if r != 0 => Action::Pause,
            _ => Action::Continue,
        }
    }
}

probe_context!(Probe {});

impl HttpContext for Probe {
    fn on_http_request_headers(&mut self, n: usize, eos: bool) -> Action {
        self.action("request_headers", &format!("n={n} eos={eos}"))
    }
    fn on_http_request_body(&mut self, size: usize, eos: bool) -> Action {
        self.action("request_body", &format!("size={size} eos={eos}"))
    }
    fn on_http_request_trailers(&mut self, n: usize) -> Action {
        self.action("request_trailers", &format!("n={n}"))
    }
    fn on_http_response_headers(&mut self, n: usize, eos: bool) -> Action {
        self.action("response_headers", &format!("n={n} eos={eos}"))
    }
    fn on_http_response_body(&mut self, size: usize, eos: bool) -> Action {
        self.action("response_body", &format!("size={size} eos={eos}"))
    }
    fn on_http_response_trailers(&mut self, n: usize) -> Action {
        self.action("response_trailers", &format!("n={n}"))
    }
    fn on_log(&mut self) {
        self.on("log", "");
    }
}

impl StreamContext for Probe {
    fn on_new_connection(&mut self) -> Action {
        self.action("new_connection", "")
    }
    fn on_downstream_data(&mut self, size: usize, eos: bool) -> Action {
        self.action("downstream_data", &format!("size={size} eos={eos}"))
    }
    fn on_downstream_close(&mut self, peer: PeerType) {
        self.on("downstream_close", &format!("peer={}", peer as u32));
    }
    fn on_upstream_data(&mut self, size: usize, eos: bool) -> Action {
        self.action("upstream_data", &format!("size={size} eos={eos}"))
    }
    fn on_upstream_close(&mut self, peer: PeerType) {
        self.on("upstream_close", &format!("peer={}", peer as u32));
    }
    fn on_log(&mut self) {
        self.on("log", "");
    }
}
