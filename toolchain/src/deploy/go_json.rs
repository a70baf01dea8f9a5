//! JSON text as the Go control planes write it, so the configuration check runs the filter on
//! the bytes it will really receive.
//!
//! Istio turns a WasmPlugin's `pluginConfig` (a `google.protobuf.Struct`) into the filter's
//! configuration with `protomarshal.ToJSON` (`github.com/golang/protobuf/jsonpb`, no indent):
//! compact, object keys sorted, every number a `float64` (so `9007199254740993` arrives as
//! `9007199254740992`), strings and numbers written by Go's `encoding/json`. Higress hands its
//! merged `pluginConfig` to the same code. Envoy Gateway passes the `config` field's raw JSON,
//! which the Kubernetes API server re-encodes with `encoding/json` from its unstructured form:
//! compact, sorted keys, integers kept as `int64`, other numbers `float64`.
//!
//! Hand-written because serde_json's formatter differs from Go's in exactly the details that
//! matter here (`<`, `>`, `&`, U+2028/2029 escaping; `1e+21` against `1e21`; float rounding).

use serde_json::{Number, Value};

/// How numbers survive the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// Every number becomes a `float64` (protobuf `Struct`: Istio, Higress).
    Float64,
    /// Integers that fit in `int64` stay exact, others become `float64` (the API server's
    /// unstructured JSON: Envoy Gateway).
    Int64OrFloat64,
}

/// `value` as the Go side encodes it.
///
/// ```
/// use cargo_wasme::deploy::go_json::{encode, Numbers};
/// let v = serde_json::json!({"b": "<x>", "a": 1e21, "c": 9007199254740993u64});
/// assert_eq!(
///     encode(&v, Numbers::Float64),
///     r#"{"a":1e+21,"b":"\u003cx\u003e","c":9007199254740992}"#
/// );
/// ```
pub fn encode(value: &Value, numbers: Numbers) -> String {
    let mut out = String::new();
    write(&mut out, value, numbers);
    out
}

fn write(out: &mut String, value: &Value, numbers: Numbers) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n, numbers),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, numbers);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Go sorts map keys bytewise; a Rust `str` compares the same way.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write(out, &map[key.as_str()], numbers);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &Number, numbers: Numbers) {
    if numbers == Numbers::Int64OrFloat64
        && let Some(i) = n.as_i64()
    {
        out.push_str(&i.to_string());
        return;
    }
    // serde_json holds every number it parsed; as f64 is what the Go side keeps.
    let f = n.as_f64().unwrap_or(0.0);
    out.push_str(&go_float(f));
}

/// Go's `encoding/json` float64 format: the shortest representation, `%f`-style for
/// 1e-6 <= |f| < 1e21, else exponent form with at least two exponent digits cleaned to
/// `e-7` / `e+21`.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        // Rust's Display is the shortest round-trip form without an exponent, as Go's 'f', -1.
        let s = format!("{f}");
        return if s == "-0" { "-0".into() } else { s };
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        _ => s,
    }
}

fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
                let code = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((code >> shift) & 0xf) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_as_go_writes_them() {
        for (f, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (123456789.125, "123456789.125"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn strings_escaped_as_go_does() {
        let v = json!("a\"b\\c\n\u{1}<>&\u{2028}é");
        assert_eq!(
            encode(&v, Numbers::Float64),
            r#""a\"b\\c\n\u0001\u003c\u003e\u0026\u2028é""#
        );
    }

    #[test]
    fn integers_by_mode() {
        let v = json!({"n": 9007199254740993u64, "m": -3});
        assert_eq!(
            encode(&v, Numbers::Float64),
            r#"{"m":-3,"n":9007199254740992}"#
        );
        assert_eq!(
            encode(&v, Numbers::Int64OrFloat64),
            r#"{"m":-3,"n":9007199254740993}"#
        );
    }
}
