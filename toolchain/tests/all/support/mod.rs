//! Shared fixtures for the packaging tests: an isolated environment (WASME_HOME,
//! DOCKER_CONFIG), Debian's `docker-registry` started per test on 127.0.0.1:0, a
//! fault-injecting HTTP proxy in front of it, and small proxy-wasm modules.
#![allow(dead_code)]

pub mod hostile;
pub mod servers;
// The bench includes this module too and uses none of the servers.
#[allow(unused_imports)]
pub use servers::{
    Fault, FaultProxy, Rule, TOKEN_ISSUER, TOKEN_SERVICE, TokenServer, percent_decode,
};

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A temporary home for one test: its own store and docker config.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        TestEnv { dir }
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("wasme")
    }
    pub fn store(&self) -> PathBuf {
        self.home().join("store")
    }
    pub fn docker_config(&self) -> PathBuf {
        self.dir.path().join("docker")
    }
    /// The `cargo-wasme` binary with this environment. Retries back off from 10 ms instead
    /// of 250 ms (`WASME_RETRY_BACKOFF`): what a retry does is the same, and a test that
    /// gives up after four attempts does not sleep 1.75 s. A registry's `Retry-After` still
    /// sets the wait.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-wasme"));
        cmd.env("WASME_HOME", self.home())
            .env("WASME_RETRY_BACKOFF", "0.01")
            .env("DOCKER_CONFIG", self.docker_config())
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("RUST_LOG")
            .env_remove("KUBECTL")
            .stdin(Stdio::null());
        cmd
    }
    /// Runs `cargo-wasme args…`, expecting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, &[])
    }
    /// Runs `cargo-wasme args…`, expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        self.fails_with(args, &[])
    }
    /// Runs `cargo-wasme args…` with extra environment variables.
    pub fn run_with(&self, args: &[&str], vars: &[(&str, &OsStr)]) -> std::process::Output {
        self.cmd()
            .args(args)
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    }
    /// [`ok`](Self::ok) with extra environment variables.
    pub fn ok_with(&self, args: &[&str], vars: &[(&str, &OsStr)]) -> String {
        let out = self.run_with(args, vars);
        assert!(
            out.status.success(),
            "cargo-wasme {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
    /// [`fails`](Self::fails) with extra environment variables.
    pub fn fails_with(&self, args: &[&str], vars: &[(&str, &OsStr)]) -> String {
        let out = self.run_with(args, vars);
        assert!(
            !out.status.success(),
            "cargo-wasme {args:?} should have failed:\nstdout:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }
    /// Runs `cargo-wasme args…` with `input` on its standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> std::process::Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
    /// Writes a module to a file in the env and returns its path.
    pub fn write_module(&self, name: &str, wasm: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, wasm).unwrap();
        path
    }
    /// Every file under the store, with its bytes (to prove nothing changed).
    pub fn store_snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        snapshot(&self.store())
    }
}

/// Every file under `dir` (sorted) with its bytes, skipping the lock file.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.file_name().is_some_and(|n| n != ".wasme.lock") {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    walk(dir, &mut out);
    out.sort();
    out
}

/// Whether `text` reports HTTP status `code` the way registry errors print one, `(401 …)` or
/// `HTTP 500`; a bare `contains("404")` also matches loopback ports such as `:40461`.
pub fn says_status(text: &str, code: u16) -> bool {
    text.contains(&format!("({code}")) || text.contains(&format!("HTTP {code}"))
}

/// The first `sha256:<64 hex>` in `text`.
pub fn digest_in(text: &str) -> String {
    let i = text
        .find("sha256:")
        .unwrap_or_else(|| panic!("no digest in {text:?}"));
    let d = &text[i..i + 71];
    assert!(d[7..].bytes().all(|b| b.is_ascii_hexdigit()), "{d}");
    d.to_string()
}

/// A minimal proxy-wasm module: ABI marker, allocator, memory; `salt` makes modules differ.
pub fn filter_module(salt: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (global $salt i32 (i32.const {salt}))
            (func (export "proxy_abi_version_0_2_1"))
            (func (export "proxy_on_memory_allocate") (param i32) (result i32) (global.get $salt))
            (func (export "proxy_on_context_create") (param i32 i32))
        )"#
    ))
    .unwrap()
}

/// A module of about `size` bytes (a data segment of pseudo-random bytes). Encoded directly
/// (the same bytes `wat` makes of the equivalent text): going through text escaped every byte
/// as `\xx` and lexed it back in an unoptimised `wast`, over a second per 6 MiB.
pub fn big_module(size: usize) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
        MemorySection, MemoryType, Module, TypeSection, ValType,
    };
    let mut state = 0x1234_5678_u32;
    let data: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let pages = (size / 65536 + 2) as u64;
    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([ValType::I32], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0).function(1);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: pages,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports
        .export("memory", ExportKind::Memory, 0)
        .export("proxy_abi_version_0_2_1", ExportKind::Func, 0)
        .export("malloc", ExportKind::Func, 1);
    let mut code = CodeSection::new();
    let mut nothing = Function::new([]);
    nothing.instructions().end();
    let mut zero = Function::new([]);
    zero.instructions().i32_const(0).end();
    code.function(&nothing).function(&zero);
    let mut segments = DataSection::new();
    segments.active(0, &ConstExpr::i32_const(0), data);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&segments);
    module.finish()
}

/// The text form [`big_module`] encodes, parsed by `wat` (checked to give the same bytes).
#[cfg(test)]
fn big_module_via_text(size: usize) -> Vec<u8> {
    let mut state = 0x1234_5678_u32;
    let data: String = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            format!("\\{:02x}", state as u8)
        })
        .collect();
    let pages = size / 65536 + 2;
    wat::parse_str(format!(
        r#"(module (memory (export "memory") {pages}) (data (i32.const 0) "{data}")
            (func (export "proxy_abi_version_0_2_1"))
            (func (export "malloc") (param i32) (result i32) (i32.const 0)))"#
    ))
    .unwrap()
}

#[test]
fn big_module_is_the_module_its_text_describes() {
    for size in [0, 1, 1000, 70_000] {
        assert_eq!(big_module(size), big_module_via_text(size), "{size}");
    }
}

/// The path of Debian's docker-registry; fails the test (never skips) when missing.
pub fn docker_registry_bin() -> PathBuf {
    for p in ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"] {
        if Path::new(p).is_file() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "docker-registry is not installed: these tests need Debian's registry \
         (`apt-get install -y docker-registry`; .ci/run installs it)"
    );
}

/// Debian's docker-registry on 127.0.0.1:<free port>, killed on drop.
/// How a test registry authenticates clients.
enum Auth<'a> {
    Anonymous,
    Basic(&'a str, &'a str),
    Token(&'a TokenServer),
}

pub struct DockerRegistry {
    child: Child,
    pub addr: String,
    pub storage: tempfile::TempDir,
    _config: tempfile::TempDir,
    pub log: Arc<Mutex<String>>,
}

impl DockerRegistry {
    /// Anonymous access.
    pub fn start() -> Self {
        Self::start_with(Auth::Anonymous)
    }

    /// Basic auth with one user (bcrypt htpasswd).
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::start_with(Auth::Basic(user, password))
    }

    /// Bearer-token auth through `tokens`.
    pub fn start_with_tokens(tokens: &TokenServer) -> Self {
        Self::start_with(Auth::Token(tokens))
    }

    fn start_with(auth: Auth<'_>) -> Self {
        let bin = docker_registry_bin();
        let config_dir = tempfile::tempdir().unwrap();
        let storage = tempfile::tempdir().unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: wasme-test-secret\n",
            storage.path().display()
        );
        if let Auth::Token(tokens) = auth {
            config.push_str(&format!(
                "auth:\n  token:\n    realm: {}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                tokens.realm,
                tokens.cert_pem.display()
            ));
        }
        if let Auth::Basic(user, password) = auth {
            let hash = bcrypt::hash_with_result(password, 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoA);
            let htpasswd = config_dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: wasme-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = config_dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start docker-registry");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                // Keep draining stderr for the registry's whole life, or it blocks on a full pipe.
                let mut sent = false;
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if !sent && let Some(i) = line.find("listening on ") {
                        let rest = &line[i + "listening on ".len()..];
                        let addr: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                            .collect();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "docker-registry did not report its port; its log:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        DockerRegistry {
            child,
            addr,
            storage,
            _config: config_dir,
            log,
        }
    }

    /// The file holding blob `digest` in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.storage
            .path()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `f` is true (for background effects), failing after `secs`.
pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stores module `salt` under `tag` in `env`'s store, in `format`, with root id `rid`.
pub fn package(env: &TestEnv, salt: u32, tag: &str, format: &str) -> String {
    let wasm = env.write_module(&format!("m{salt}.wasm"), &filter_module(salt));
    digest_in(&env.ok(&[
        "package",
        wasm.to_str().unwrap(),
        "--tag",
        tag,
        "--format",
        format,
        "--root-id",
        "rid",
    ]))
}
