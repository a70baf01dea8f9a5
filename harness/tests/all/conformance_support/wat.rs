//! Hand-written modules for what a Rust filter cannot express (ABI 0.1.0, out-of-bounds
//! pointers, a broken allocator, an endless loop, a huge memory, unknown imports, a missing
//! ABI marker), assembled from WAT with the `wat` crate.
//!
//! [`module`] wraps a body in a skeleton: `memory`, a bump allocator exported as `malloc`,
//! `proxy_log` imported as `$proxy_log`, and `$log_num(ptr, len, n)`, which logs a static
//! prefix followed by `n` in decimal at info. In the body, `STR("text")` becomes
//! `(i32.const ptr) (i32.const len)` of a static copy of `text`.

/// Where the skeleton's scratch buffer for `$log_num` lives.
const SCRATCH: u32 = 4096;
/// Where `STR` strings start.
const STRINGS: u32 = 256;

/// The parts of a test module.
pub struct Wat<'a> {
    /// The ABI marker export, e.g. `proxy_abi_version_0_2_1` (empty: none).
    pub marker: &'a str,
    /// Extra imports (`(import "env" ... )` lines).
    pub imports: &'a str,
    /// The body of the allocator `(func (param $n i32) (result i32) …)`; empty: a bump allocator.
    pub malloc: &'a str,
    /// Initial memory in 64 KiB pages.
    pub pages: u32,
    /// Functions and exports.
    pub body: &'a str,
}

impl Default for Wat<'_> {
    fn default() -> Self {
        Wat {
            marker: "proxy_abi_version_0_2_1",
            imports: "",
            malloc: "",
            pages: 17,
            body: "",
        }
    }
}

/// Replaces each `STR("text")` with its address and length and returns the data segments.
fn strings(body: &str) -> (String, String) {
    let mut out = String::new();
    let mut data = String::new();
    let mut at = STRINGS;
    let mut rest = body;
    while let Some(i) = rest.find("STR(\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 5..];
        let end = after.find("\")").expect("STR(\"…\") is closed");
        let text = &after[..end];
        out.push_str(&format!("(i32.const {at}) (i32.const {})", text.len()));
        data.push_str(&format!("  (data (i32.const {at}) \"{text}\")\n"));
        at += text.len() as u32 + 1;
        assert!(at < SCRATCH, "too many STR strings for the static area");
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    (out, data)
}

/// Assembles the module text.
pub fn text(w: &Wat) -> String {
    let (body, data) = strings(w.body);
    let marker = if w.marker.is_empty() {
        String::new()
    } else {
        format!("  (func (export \"{}\"))", w.marker)
    };
    let malloc = if w.malloc.is_empty() {
        "(local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p)"
    } else {
        w.malloc
    };
    format!(
        r#"(module
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
{imports}
  (memory (export "memory") {pages})
  (global $heap (mut i32) (i32.const 65536))
  (func $malloc (export "malloc") (param $n i32) (result i32)
    {malloc})
  (func $log_num (param $p i32) (param $len i32) (param $n i32)
    (local $end i32) (local $i i32) (local $digits i32) (local $v i32)
    (memory.copy (i32.const {SCRATCH}) (local.get $p) (local.get $len))
    (local.set $v (local.get $n))
    (local.set $digits (i32.const 1))
    (block $b (loop $l
      (br_if $b (i32.lt_u (local.get $v) (i32.const 10)))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (br $l)))
    (local.set $end (i32.add (i32.add (i32.const {SCRATCH}) (local.get $len)) (local.get $digits)))
    (local.set $i (local.get $end))
    (local.set $v (local.get $n))
    (loop $w
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $w (i32.ne (local.get $v) (i32.const 0))))
    (drop (call $proxy_log (i32.const 2) (i32.const {SCRATCH}) (i32.sub (local.get $end) (i32.const {SCRATCH})))))
{marker}
{body}
{data})"#,
        imports = w.imports,
        pages = w.pages,
    )
}

/// Assembles the module into wasm bytes.
pub fn bytes(w: &Wat) -> Vec<u8> {
    let text = text(w);
    wat::parse_str(&text).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{text}"))
}

/// The callbacks every module needs to live through a stream: a root that starts and
/// configures, and contexts that are created, logged, done and deleted.
pub const LIFECYCLE: &str = r#"
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))
"#;
