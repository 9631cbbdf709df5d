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
//! file is ignored. A malformed line is an error that names the line, the
//! column and what is wrong. The JSON reader is a small, strict RFC 8259
//! parser: all string escapes (surrogate pairs included), numbers,
//! `true`/`false`/`null`, and nested arrays and objects in ignored fields.

use std::io::BufRead;

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

/// Parses one line of input (without its line ending; a trailing `\r` is
/// dropped). `line_no` (1-based) is used in error messages only. Returns
/// `Ok(None)` for a blank line.
pub fn parse_line(line: &str, line_no: usize) -> Result<Option<InputTweet>, String> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let body = line.trim_start_matches(is_json_ws);
    if body.trim_end_matches(is_json_ws).is_empty() {
        return Ok(None);
    }
    if !body.starts_with('{') {
        return Ok(Some(InputTweet {
            text: line.to_string(),
            user: None,
            ts_ms: None,
        }));
    }
    let mut p = Parser {
        line,
        bytes: line.as_bytes(),
        pos: line.len() - body.len(),
        line_no,
    };
    p.tweet().map(Some)
}

/// An iterator over the tweets of a `BufRead` in the format above: one
/// `Ok` per non-blank line, or an `Err` naming the line. It goes on after a
/// malformed line; after a read error it ends.
#[derive(Debug)]
pub struct InputTweets<R> {
    reader: R,
    line_no: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> InputTweets<R> {
    /// Reads tweets from `reader`, e.g. a `BufReader<File>`.
    pub fn new(reader: R) -> InputTweets<R> {
        InputTweets {
            reader,
            line_no: 0,
            buf: Vec::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for InputTweets<R> {
    type Item = Result<InputTweet, String>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line_no += 1;
                    let line = match std::str::from_utf8(&self.buf) {
                        Ok(line) => line,
                        Err(e) => {
                            return Some(Err(format!(
                                "line {}: not valid UTF-8 (at byte {})",
                                self.line_no,
                                e.valid_up_to() + 1
                            )));
                        }
                    };
                    let line = if self.line_no == 1 {
                        line.strip_prefix('\u{feff}').unwrap_or(line)
                    } else {
                        line
                    };
                    match parse_line(line, self.line_no) {
                        Ok(None) => {}
                        Ok(Some(tweet)) => return Some(Ok(tweet)),
                        Err(e) => return Some(Err(e)),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(format!("line {}: read error: {e}", self.line_no + 1)));
                }
            }
        }
        None
    }
}

/// JSON's insignificant whitespace.
fn is_json_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Nested arrays and objects in ignored fields deeper than this are an
/// error (it bounds the parser's recursion).
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    line: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line_no: usize,
}

impl<'a> Parser<'a> {
    /// The top-level object and nothing after it.
    fn tweet(&mut self) -> Result<InputTweet, String> {
        let mut text = None;
        let mut user = None;
        let mut ts_ms = None;
        self.expect(b'{', "'{'")?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err(self.error_found("a field name in double quotes"));
                }
                let key = self.string()?;
                self.skip_ws();
                self.expect(b':', "':' after the field name")?;
                self.skip_ws();
                let value_at = self.pos;
                match key.as_str() {
                    "text" => match self.peek() {
                        Some(b'"') => text = Some(self.string()?),
                        _ => return Err(self.error_at(value_at, "\"text\" must be a string")),
                    },
                    "user" => match self.peek() {
                        Some(b'"') => user = Some(self.string()?),
                        Some(b'n') => {
                            self.literal("null")?;
                            user = None;
                        }
                        _ => {
                            return Err(
                                self.error_at(value_at, "\"user\" must be a string or null")
                            );
                        }
                    },
                    "ts" => match self.peek() {
                        Some(b'n') => {
                            self.literal("null")?;
                            ts_ms = None;
                        }
                        Some(b'-' | b'0'..=b'9') => ts_ms = Some(self.ts_number()?),
                        _ => {
                            return Err(self.error_at(
                                value_at,
                                "\"ts\" must be an integer (milliseconds since the epoch) or null",
                            ));
                        }
                    },
                    _ => self.skip_value(0)?,
                }
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error_found("',' or '}' after a field")),
                }
            }
        }
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(self.error_found("the end of the line after the JSON object"));
        }
        let text = text.ok_or_else(|| self.error_at(0, "the JSON object has no \"text\" field"))?;
        Ok(InputTweet { text, user, ts_ms })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error_found(what))
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error_found("a JSON value"))
        }
    }

    /// Skips any JSON value, checking that it is well formed.
    fn skip_value(&mut self, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(self.error_at(
                self.pos,
                &format!("values nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error_found("',' or ']' in an array")),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.error_found("a field name in double quotes"));
                    }
                    self.string()?;
                    self.skip_ws();
                    self.expect(b':', "':' after the field name")?;
                    self.skip_ws();
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error_found("',' or '}' after a field")),
                    }
                }
            }
            _ => Err(self.error_found("a JSON value")),
        }
    }

    /// A JSON number per RFC 8259; returns its text and whether it is an
    /// integer (no fraction, no exponent).
    fn number(&mut self) -> Result<(&'a str, bool), String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error_found("a digit")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error_found("a digit after the decimal point"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error_found("a digit in the exponent"));
            }
            self.digits();
        }
        let line: &'a str = self.line;
        Ok((&line[start..self.pos], integer))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn ts_number(&mut self) -> Result<i64, String> {
        let start = self.pos;
        let (text, integer) = self.number()?;
        if !integer {
            return Err(self.error_at(
                start,
                &format!("\"ts\" must be an integer number of milliseconds, not {text}"),
            ));
        }
        text.parse()
            .map_err(|_| self.error_at(start, &format!("\"ts\" {text} is out of range")))
    }

    /// A JSON string starting at the opening quote, unescaped.
    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Only ASCII bytes stop the run, so both ends are boundaries.
            out.push_str(&self.line[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.error_at(self.pos, "unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escape_at = self.pos;
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            out.push(self.unicode_escape(escape_at)?);
                            continue;
                        }
                        _ => {
                            return Err(self.error_at(escape_at, "invalid escape in string"));
                        }
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(b) => {
                    return Err(self.error_at(
                        self.pos,
                        &format!("unescaped control character U+{b:04X} in string"),
                    ));
                }
            }
        }
    }

    /// The rest of a `\uXXXX` escape (after the `u`), with the low half of
    /// a surrogate pair if the first is a high surrogate.
    fn unicode_escape(&mut self, escape_at: usize) -> Result<char, String> {
        let first = self.hex4(escape_at)?;
        let cp = match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(self.error_at(
                        escape_at,
                        &format!("unpaired surrogate \\u{first:04X} (a high surrogate must be followed by a \\u escape of a low one)"),
                    ));
                }
                let second_at = self.pos;
                self.pos += 2;
                let second = self.hex4(second_at)?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error_at(
                        second_at,
                        &format!("\\u{first:04X} is not followed by a low surrogate (got \\u{second:04X})"),
                    ));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(
                    self.error_at(escape_at, &format!("unpaired low surrogate \\u{first:04X}"))
                );
            }
            cp => cp,
        };
        char::from_u32(cp).ok_or_else(|| self.error_at(escape_at, "invalid \\u escape"))
    }

    fn hex4(&mut self, escape_at: usize) -> Result<u32, String> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => {
                    return Err(self.error_at(escape_at, "\\u must be followed by 4 hex digits"));
                }
            };
            value = value * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(value)
    }

    /// "expected X, found Y" at the current position.
    fn error_found(&self, expected: &str) -> String {
        let found = match self.line[self.char_floor(self.pos)..].chars().next() {
            None => "the end of the line".to_string(),
            Some(c) if c.is_control() => format!("U+{:04X}", u32::from(c)),
            Some(c) => format!("{c:?}"),
        };
        self.error_at(self.pos, &format!("expected {expected}, found {found}"))
    }

    fn error_at(&self, pos: usize, what: &str) -> String {
        let column = self.line[..self.char_floor(pos)].chars().count() + 1;
        format!("line {}, column {column}: {what}", self.line_no)
    }

    fn char_floor(&self, pos: usize) -> usize {
        let mut p = pos.min(self.line.len());
        while !self.line.is_char_boundary(p) {
            p -= 1;
        }
        p
    }
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
        parse_line(line, 1)
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
            .unwrap_or_else(|| panic!("{line:?}: blank"))
    }

    fn err(line: &str) -> String {
        match parse_line(line, 7) {
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
        assert_eq!(parse_line("", 1), Ok(None));
        assert_eq!(parse_line("  \t \r", 1), Ok(None));
        assert_eq!(parse_line("\n", 1), Ok(None));
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
        assert_eq!(ok(r#"{"text":"x","ts":0}"#), tweet("x", None, Some(0)));
        assert_eq!(ok(r#"{"text":""}"#), tweet("", None, None));
        // The last of a repeated field counts; keys are compared unescaped.
        assert_eq!(
            ok(r#"{"text":"a","\u0074ext":"b"}"#),
            tweet("b", None, None)
        );
        assert_eq!(
            ok(" {\t\"text\" :\r\"a\" , \"ts\"\n: 9 } "),
            tweet("a", None, Some(9))
        );
    }

    #[test]
    fn unknown_fields_of_every_type_are_skipped() {
        let line = r#"{"id": 123, "lang": "en", "geo": null, "rt": false, "fav": true,
            "score": -1.5e-3, "entities": {"tags": ["a", {"b": [[], {}]}], "u": "\"}"},
            "empty": [], "obj": {}, "text": "ok", "more": [1, 2.0, "3", [null]]}"#
            .replace('\n', " ");
        assert_eq!(ok(&line), tweet("ok", None, None));
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            ok(r#"{"text":"q\" b\\ s\/ \b\f\n\r\t end"}"#).text,
            "q\" b\\ s/ \u{8}\u{c}\n\r\t end"
        );
        assert_eq!(ok(r#"{"text":"caf\u00e9 \u00C9"}"#).text, "café É");
        assert_eq!(ok(r#"{"text":"\u0000"}"#).text, "\u{0}");
        // A surrogate pair: U+1F600.
        assert_eq!(ok(r#"{"text":"smile \ud83d\ude00!"}"#).text, "smile 😀!");
        assert_eq!(ok(r#"{"text":"\uD834\uDD1E"}"#).text, "𝄞");
        // Raw non-ASCII passes through.
        assert_eq!(
            ok(r#"{"text":"naïve 😀 København"}"#).text,
            "naïve 😀 København"
        );
    }

    #[test]
    fn malformed_json_names_line_and_problem() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"text": "hi""#,
                "column 14: expected ',' or '}' after a field, found the end",
            ),
            (r#"{"text": "hi}"#, "unterminated string"),
            (r#"{"text": hi}"#, "column 10: \"text\" must be a string"),
            (r#"{"user": "a"}"#, "no \"text\" field"),
            (r#"{}"#, "no \"text\" field"),
            (r#"{"text": 5}"#, "\"text\" must be a string"),
            (
                r#"{"text": "a", "user": 5}"#,
                "\"user\" must be a string or null",
            ),
            (r#"{"text": "a", "ts": "5"}"#, "\"ts\" must be an integer"),
            (
                r#"{"text": "a", "ts": 1.5}"#,
                "\"ts\" must be an integer number of milliseconds, not 1.5",
            ),
            (r#"{"text": "a", "ts": 1e3}"#, "not 1e3"),
            (
                r#"{"text": "a", "ts": 99999999999999999999}"#,
                "out of range",
            ),
            (
                r#"{"text": "a", "ts": 01}"#,
                "expected ',' or '}' after a field, found '1'",
            ),
            (r#"{"text": "a", "ts": -}"#, "expected a digit"),
            (
                r#"{"text": "a", "x": 1.}"#,
                "a digit after the decimal point",
            ),
            (r#"{"text": "a", "x": 1e}"#, "a digit in the exponent"),
            (
                r#"{"text": "a",}"#,
                "column 14: expected a field name in double quotes, found '}'",
            ),
            (r#"{text: "a"}"#, "column 2: expected a field name"),
            (
                r#"{'text': 'a'}"#,
                "expected a field name in double quotes, found '\\''",
            ),
            (r#"{"text" "a"}"#, "expected ':' after the field name"),
            (
                r#"{"text": "a"} trailing"#,
                "column 15: expected the end of the line",
            ),
            (r#"{"text": "a"}{}"#, "expected the end of the line"),
            (r#"{"text": "a\x"}"#, "column 12: invalid escape"),
            (r#"{"text": "a\u12"}"#, "4 hex digits"),
            (r#"{"text": "a\u12G4"}"#, "4 hex digits"),
            (r#"{"text": "\ud83d"}"#, "unpaired surrogate \\uD83D"),
            (r#"{"text": "\ud83d\n"}"#, "unpaired surrogate"),
            (
                r#"{"text": "\ud83d\u0041"}"#,
                "not followed by a low surrogate (got \\u0041)",
            ),
            (r#"{"text": "\ude00"}"#, "unpaired low surrogate \\uDE00"),
            (
                "{\"text\": \"tab\there\"}",
                "unescaped control character U+0009",
            ),
            (r#"{"text": "a", "x": tru}"#, "expected a JSON value"),
            (r#"{"text": "a", "x": nul}"#, "expected a JSON value"),
            (
                r#"{"text": "a", "x": [1, 2}"#,
                "expected ',' or ']' in an array, found '}'",
            ),
            (
                r#"{"text": "a", "x": [1,]}"#,
                "expected a JSON value, found ']'",
            ),
            (
                r#"{"text": "a", "x": {"y" 1}}"#,
                "expected ':' after the field name",
            ),
            (
                r#"{"text": "a", "x": +1}"#,
                "expected a JSON value, found '+'",
            ),
            (
                r#"{"text": "é", "x": ?}"#,
                "column 20: expected a JSON value, found '?'",
            ),
            (
                "{",
                "expected a field name in double quotes, found the end of the line",
            ),
        ];
        for (line, want) in cases {
            let e = err(line);
            assert!(e.starts_with("line 7, column "), "{line}: {e}");
            assert!(e.contains(want), "{line}: got {e:?}, want {want:?}");
        }
        let deep = format!(
            r#"{{"text": "a", "x": {}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(err(&deep).contains("nested deeper than 128"));
        let ok_deep = format!(
            r#"{{"text": "a", "x": {}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(ok(&ok_deep).text, "a");
    }

    #[test]
    fn reader_numbers_lines_and_goes_on_after_errors() {
        let data = "\u{feff}{\"text\": \"first\", \"ts\": 5}\r\n\
                    \n\
                    plain tweet\n\
                    {\"text\": oops}\n\
                    \t\n\
                    {\"user\": \"u\", \"text\": \"last\"}";
        let got: Vec<_> = InputTweets::new(data.as_bytes()).collect();
        assert_eq!(
            got,
            vec![
                Ok(tweet("first", None, Some(5))),
                Ok(tweet("plain tweet", None, None)),
                Err("line 4, column 10: \"text\" must be a string".to_string()),
                Ok(tweet("last", Some("u"), None)),
            ]
        );
    }

    #[test]
    fn reader_reports_invalid_utf8() {
        let data: &[u8] = b"ok line\nbad \xff byte\nafter\n";
        let got: Vec<_> = InputTweets::new(data).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Ok(tweet("ok line", None, None)));
        assert_eq!(
            got[1],
            Err("line 2: not valid UTF-8 (at byte 5)".to_string())
        );
        assert_eq!(got[2], Ok(tweet("after", None, None)));
    }

    #[test]
    fn empty_input() {
        assert_eq!(InputTweets::new(&b""[..]).count(), 0);
        assert_eq!(InputTweets::new(&b"\n\n  \n"[..]).count(), 0);
    }
}
