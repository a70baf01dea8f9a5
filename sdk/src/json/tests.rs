//! Unit tests of the reader: values, errors and their positions.

use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Config {
    name: String,
    #[serde(default)]
    limit: u32,
    #[serde(default)]
    ratio: Option<f64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    extra: BTreeMap<String, i64>,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Allow,
    Deny,
    Limit(u32),
}

fn err(text: &str) -> String {
    from_str::<Config>(text).unwrap_err().to_string()
}

#[test]
fn every_value_kind() {
    let c: Config = from_str(
        r#" { "name": "a\"b\\c\/\n\u00e9\ud83d\ude00", "limit": 7, "ratio": -1.5e2,
              "tags": ["x", "y"], "mode": {"limit": 3}, "extra": {"k": -4} } "#,
    )
    .unwrap();
    assert_eq!(c.name, "a\"b\\c/\né😀");
    assert_eq!((c.limit, c.ratio), (7, Some(-150.0)));
    assert_eq!(c.tags, ["x", "y"]);
    assert_eq!(c.mode, Mode::Limit(3));
    assert_eq!(c.extra["k"], -4);
    let c: Config = from_str(r#"{"name":"n","mode":"deny","ratio":null}"#).unwrap();
    assert_eq!((c.mode, c.ratio), (Mode::Deny, None));
    assert_eq!(
        from_str::<Vec<bool>>("[true,false]").unwrap(),
        [true, false]
    );
    assert_eq!(
        from_str::<(u8, String)>(r#"[1,"a"]"#).unwrap(),
        (1, "a".into())
    );
}

#[test]
fn errors_have_serde_messages_and_positions() {
    let e = err(r#"{"name": 1}"#);
    assert_eq!(
        e,
        "invalid type: integer `1`, expected a string at line 1 column 10"
    );
    let e = err("{\"name\": \"n\",\n \"limt\": 1}");
    assert!(
        e.starts_with("unknown field `limt`, expected one of"),
        "{e}"
    );
    assert!(e.ends_with("at line 2 column 7"), "{e}");
    assert_eq!(err("{}"), "missing field `name` at line 1 column 2");
    assert!(
        err(r#"{"name":"n","limit":-1}"#).contains("invalid value: integer `-1`, expected u32")
    );
    assert!(err(r#"{"name":"n","limit":1.5}"#).contains("invalid type: floating point number"));
    assert!(err(r#"{"name":"n","mode":"maybe"}"#).contains("unknown variant `maybe`"));
    assert!(err(r#"{"name":"n","limit":99999999999}"#).contains("expected u32"));
}

#[test]
fn syntax_errors_are_refused_with_positions() {
    for (text, message) in [
        (r#"{"name":"n",}"#, "trailing comma"),
        (r#"{"name":"n"} x"#, "trailing characters"),
        (r#"{"name" "n"}"#, "expected `:`"),
        (r#"{"name":"n" "limit":1}"#, "expected `,` or `}`"),
        (r#"{"name":"n"#, "EOF while parsing a string"),
        (r#"{"name":"n","#, "EOF while parsing an object"),
        (r#"{"name":"\x"}"#, "invalid escape"),
        (r#"{"name":"\ud800"}"#, "unexpected end of hex escape"),
        (r#"{"name":"n","limit":01}"#, "invalid number"),
        (r#"{"name":"n","limit":-}"#, "invalid number"),
        (r#"{name:1}"#, "key must be a string"),
        ("{\"name\":\"a\u{1}\"}", "control character"),
        (r#"{"name":"n","tags":["a",]}"#, "trailing comma"),
        (r#"{"name":tru}"#, "expected ident"),
        ("", "EOF while parsing a value"),
    ] {
        let e = err(text);
        assert!(
            e.contains(message) && e.contains(" at line 1 column "),
            "{text}: {e}"
        );
    }
}

#[test]
fn ignored_values_are_skipped() {
    #[derive(Deserialize)]
    struct Loose {
        a: u8,
    }
    let l: Loose = from_str(r#"{"x": [1, {"y": [null, true, "s"]}, -2.5e-3], "a": 4}"#).unwrap();
    assert_eq!(l.a, 4);
}
