//! The user's own tweets, for `--input FILE`.
//!
//! One tweet per line, in either form:
//!
//! * a JSON object (a line whose first non-blank character is `{`):
//!   `{"text": "...", "user": "...", "ts": 1735689600000}`. Only `text` is
//!   required; `user` is a string, `ts` an integer of milliseconds since the
//!   Unix epoch, and either may be `null` or absent. Other fields, of any
//!   JSON type, are ignored; if a field appears twice the last one counts.
//! * plain text: the whole line (without its line ending) is the text.
//!
//! Blank lines are skipped, and a UTF-8 byte-order mark at the start of the
//! file is ignored. A malformed line is an error that names the line and what
//! is wrong (with the column, for JSON syntax). `serde_json` reads the JSON.

use serde_json::{Map, Value};

/// A tweet read from the input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputTweet {
    /// The tweet's text.
    pub text: String,
    /// The author, if the line gave one.
    pub user: Option<String>,
    /// Event time in milliseconds since the Unix epoch, if the line gave one.
    pub ts_ms: Option<i64>,
}

/// JSON's insignificant whitespace.
const JSON_WS: [char; 4] = [' ', '\t', '\n', '\r'];

/// Parses line `line_no` (1-based) of the input, with or without its line
/// ending. Returns `Ok(None)` for a blank line.
pub fn parse_line(line: &[u8], line_no: usize) -> Result<Option<InputTweet>, String> {
    let err = |what: String| format!("line {line_no}: {what}");
    let line = std::str::from_utf8(line)
        .map_err(|e| err(format!("not valid UTF-8 (at byte {})", e.valid_up_to() + 1)))?;
    let line = if line_no == 1 {
        line.strip_prefix('\u{feff}').unwrap_or(line)
    } else {
        line
    };
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim_matches(JSON_WS).is_empty() {
        return Ok(None);
    }
    if !line.trim_start_matches(JSON_WS).starts_with('{') {
        return Ok(Some(InputTweet {
            text: line.to_string(),
            user: None,
            ts_ms: None,
        }));
    }
    let mut fields: Map<String, Value> = serde_json::from_str(line).map_err(|e| {
        // serde_json ends its message with "at line 1 column C"; the line is ours.
        let msg = e.to_string();
        let msg = msg.rsplit_once(" at line ").map_or(&*msg, |(m, _)| m);
        format!("line {line_no}, column {}: {msg}", e.column())
    })?;
    let text = match fields.remove("text") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(err("\"text\" must be a string".into())),
        None => return Err(err("the JSON object has no \"text\" field".into())),
    };
    let user = match fields.remove("user") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(err("\"user\" must be a string or null".into())),
    };
    let ts_ms = match fields.remove("ts") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_f64() => {
            return Err(err(format!(
                "\"ts\" must be an integer number of milliseconds, not {n}"
            )));
        }
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .ok_or_else(|| err(format!("\"ts\" {n} is out of range")))?,
        ),
        Some(_) => {
            return Err(err(
                "\"ts\" must be an integer (milliseconds since the epoch) or null".into(),
            ));
        }
    };
    Ok(Some(InputTweet { text, user, ts_ms }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(text: &str, user: Option<&str>, ts_ms: Option<i64>) -> InputTweet {
        InputTweet {
            text: text.to_string(),
            user: user.map(str::to_string),
            ts_ms,
        }
    }

    fn ok(line: &str) -> InputTweet {
        parse_line(line.as_bytes(), 1)
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
            .unwrap_or_else(|| panic!("{line:?}: blank"))
    }

    fn err(line: &str) -> String {
        match parse_line(line.as_bytes(), 7) {
            Err(e) => e,
            Ok(t) => panic!("{line:?} parsed as {t:?}"),
        }
    }

    #[test]
    fn plain_text_and_blank_lines() {
        assert_eq!(ok("I love this"), tweet("I love this", None, None));
        assert_eq!(ok("  spaced out  \r"), tweet("  spaced out  ", None, None));
        assert_eq!(
            ok("not json { at all }"),
            tweet("not json { at all }", None, None)
        );
        assert_eq!(ok("[1, 2]"), tweet("[1, 2]", None, None));
        for blank in ["", "  \t \r", "\n"] {
            assert_eq!(parse_line(blank.as_bytes(), 1), Ok(None));
        }
        // A byte-order mark starts the file only.
        assert_eq!(ok("\u{feff}hi\r\n"), tweet("hi", None, None));
        assert_eq!(
            parse_line("\u{feff}hi".as_bytes(), 2)
                .unwrap()
                .unwrap()
                .text,
            "\u{feff}hi"
        );
        assert_eq!(
            parse_line(b"bad \xff byte\n", 2),
            Err("line 2: not valid UTF-8 (at byte 5)".to_string())
        );
    }

    #[test]
    fn json_fields() {
        assert_eq!(ok(r#"{"text": "hi"}"#), tweet("hi", None, None));
        assert_eq!(
            ok(r#"  {"user":"ann","ts":1735689600123,"text":"good day"}  "#),
            tweet("good day", Some("ann"), Some(1_735_689_600_123))
        );
        assert_eq!(
            ok(r#"{"text":"x","user":null,"ts":null}"#),
            tweet("x", None, None)
        );
        assert_eq!(ok(r#"{"text":"x","ts":-5}"#), tweet("x", None, Some(-5)));
        assert_eq!(ok(r#"{"text":""}"#), tweet("", None, None));
        // The last of a repeated field counts; keys are compared unescaped.
        assert_eq!(
            ok(r#"{"text":"a","\u0074ext":"b"}"#),
            tweet("b", None, None)
        );
        assert_eq!(ok(r#"{"text":"smile \ud83d\ude00!"}"#).text, "smile 😀!");
        let other_fields = r#"{"id": 123, "geo": null, "rt": false, "score": -1.5e-3,
            "entities": {"tags": ["a", {"b": [[], {}]}], "u": "\"}"}, "text": "ok"}"#;
        assert_eq!(
            ok(&other_fields.replace('\n', " ")),
            tweet("ok", None, None)
        );
    }

    #[test]
    fn malformed_lines_name_line_and_problem() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"text": "hi""#,
                "line 7, column 13: EOF while parsing an object",
            ),
            (r#"{"text": hi}"#, "line 7, column 10: expected value"),
            (r#"{"text": "a",}"#, "line 7, column 14: trailing comma"),
            (
                r#"{"text": "a"} trailing"#,
                "line 7, column 15: trailing characters",
            ),
            (
                r#"{"text": "\ud83d"}"#,
                "column 17: unexpected end of hex escape",
            ),
            (
                r#"{"user": "a"}"#,
                "line 7: the JSON object has no \"text\" field",
            ),
            (r#"{"text": 5}"#, "line 7: \"text\" must be a string"),
            (
                r#"{"text": "a", "user": 5}"#,
                "\"user\" must be a string or null",
            ),
            (r#"{"text": "a", "ts": "5"}"#, "\"ts\" must be an integer"),
            (
                r#"{"text": "a", "ts": 1.5}"#,
                "integer number of milliseconds, not 1.5",
            ),
            (
                r#"{"text": "a", "ts": 9223372036854775808}"#,
                "out of range",
            ),
        ];
        for (line, want) in cases {
            let e = err(line);
            assert!(e.contains(want), "{line}: got {e:?}, want {want:?}");
        }
    }
}
