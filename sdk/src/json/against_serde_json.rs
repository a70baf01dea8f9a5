//! Differential test: on any JSON document (and on corruptions of one), this reader and
//! serde_json agree on the value and on whether the text is valid.

use super::from_str;
use proptest::prelude::*;
use serde_json::Value;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn same_value_as_serde_json(v in value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
        let ours: Value = from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(ours, v);
    }

    #[test]
    fn any_text_gives_a_value_or_an_error(text in "[ -~\\PC]{0,40}") {
        let _ = from_str::<Value>(&text);
    }

    #[test]
    fn same_verdict_on_corrupted_text(v in value(), at in any::<prop::sample::Index>(), byte in prop::sample::select(b"{}[],:\"\\ 0-eE.tfn".to_vec())) {
        let mut text = serde_json::to_string(&v).unwrap().into_bytes();
        if text.is_empty() { return Ok(()); }
        let i = at.index(text.len());
        text[i] = byte;
        let Ok(text) = String::from_utf8(text) else { return Ok(()) };
        let theirs = serde_json::from_str::<Value>(&text);
        let ours = from_str::<Value>(&text);
        // Only the verdict: serde_json's default float parsing may be off by one ulp.
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}: ours {:?} theirs {:?}", text, ours, theirs);
    }
}
