//! JSON for Connect: JSON Lines input, the `key_from_field` transform and the text
//! records of brooklet's internal Connect topics. `serde_json` parses and writes it
//! (strict RFC 8259: no trailing commas, no leading zeros, paired surrogates, no raw
//! control characters in strings); `Json` is the crate's view of a parsed document,
//! which the callers match on. Parsing is total: any input gives a value or a message,
//! never a panic, and serde_json's recursion limit (128 levels) keeps hostile nesting
//! from exhausting the stack.

use serde_json::Value;

/// A parsed JSON value. Numbers are kept as serde_json writes them: integers exactly
/// (within `i64`/`u64`), other numbers as the shortest text of their `f64`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object (the last one when repeated, as most parsers do).
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Num(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// Compact JSON text of the value.
    pub(crate) fn to_text(&self) -> String {
        Value::from(self).to_string()
    }
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Num(n.to_string()),
            Value::String(s) => Json::Str(s),
            Value::Array(a) => Json::Arr(a.into_iter().map(Json::from).collect()),
            Value::Object(m) => Json::Obj(m.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

impl From<&Json> for Value {
    fn from(j: &Json) -> Value {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            // Always serde_json's own text (see `From<Value>`), so it parses back.
            Json::Num(n) => n.parse().map_or(Value::Null, Value::Number),
            Json::Str(s) => Value::String(s.clone()),
            Json::Arr(a) => Value::Array(a.iter().map(Value::from).collect()),
            Json::Obj(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.into())).collect()),
        }
    }
}

/// `s` as a JSON string literal.
pub(crate) fn quote(s: &str) -> String {
    Value::from(s).to_string()
}

/// Parses one JSON document (surrounding whitespace allowed).
pub(crate) fn parse(bytes: &[u8]) -> Result<Json, String> {
    serde_json::from_slice::<Value>(bytes)
        .map(Json::from)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_back() {
        let text = r#"{"a":[1,-2.5e3,true,null],"b":"x\"y\u00e9\ud83d\ude00","c":{}}"#;
        let v = parse(text.as_bytes()).unwrap();
        assert_eq!(v.get("b").and_then(Json::as_str), Some("x\"yé😀"));
        assert_eq!(parse(v.to_text().as_bytes()).unwrap(), v);
        assert_eq!(
            parse(b" 42 ").unwrap().as_i64(),
            Some(42),
            "whitespace around a value"
        );
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        for bad in [
            &b""[..],
            b"{",
            b"[1,]",
            b"{\"a\" 1}",
            b"01",
            b"\"\\ud800\"",
            b"tru",
            b"\"\x01\"",
            b"1 2",
            b"-",
            b"\"\\u12\"",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(10_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn quotes_control_characters() {
        assert_eq!(quote("a\nb\u{1}"), "\"a\\nb\\u0001\"");
        assert_eq!(
            parse(quote("tab\there").as_bytes()).unwrap(),
            Json::Str("tab\there".into())
        );
    }
}
