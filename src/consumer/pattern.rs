//! Topic patterns for `subscribe_pattern`, matched as Kafka matches them: the whole
//! topic name against the pattern (Java's `Pattern.matcher(topic).matches()`, not
//! `find()`), so `logs-\d{4}` matches `logs-2024` but not `logs-20245`.
//!
//! The engine is `regex-lite`: its syntax covers what topic patterns use (`\d`, `\w`,
//! classes, anchors, alternation, counted repetition, inline flags such as `(?i)`), with
//! ASCII `\d` and `\w` as in Java's default mode. Java-only constructs (look-around,
//! back-references, possessive quantifiers) are refused with an error instead of being
//! matched differently.

use crate::error::{Error, Result};

/// Bytes of compiled program one pattern may take: far above any topic pattern, low
/// enough that a hostile pattern cannot take the process's memory.
const SIZE_LIMIT: usize = 1 << 20;

/// A compiled topic pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    source: String,
    regex: regex_lite::Regex,
}

impl Pattern {
    /// Compiles `source` for full-name matching.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the pattern and what is wrong with it.
    pub(crate) fn new(source: &str) -> Result<Pattern> {
        // Check the pattern alone first, so that an unbalanced `)` is reported as such
        // rather than closing the group the anchoring adds.
        let build = |p: &str| {
            regex_lite::RegexBuilder::new(p)
                .size_limit(SIZE_LIMIT)
                .build()
        };
        let bad = |e: regex_lite::Error| {
            Error::InvalidArgument(format!(
                "topic pattern `{source}` is not a valid regular expression: {e}"
            ))
        };
        build(source).map_err(bad)?;
        // `$` matches only at the very end without the `m` flag, as Java's `matches()`.
        let regex = build(&format!("^(?:{source})$")).map_err(bad)?;
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `topic` matches.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_java_matches() {
        let cases = [
            ("tweets.*", "tweets-scored", true),
            ("tweets.*", "tweet", false),
            ("tweets", "tweets-x", false),
            ("tweets", "my-tweets", false),
            ("(orders|payments)-v[0-9]+", "payments-v12", true),
            ("(orders|payments)-v[0-9]+", "payments-v", false),
            ("orders|payments", "orders", true),
            ("orders|payments", "orders-payments", false),
            ("a\\.b", "a.b", true),
            ("a\\.b", "axb", false),
            ("[^_].*", "_x", false),
            ("[^_].*", "x_", true),
            ("x?y", "y", true),
            ("\\w+-\\d", "ab_c-7", true),
            ("logs-\\d{4}", "logs-2024", true),
            ("logs-\\d{4}", "logs-20245", false),
            ("^logs-.*$", "logs-eu", true),
            ("^logs-.*$", "xlogs-eu", false),
            ("(?i)LOGS", "logs", true),
            (".*", "", true),
        ];
        for (p, s, want) in cases {
            assert_eq!(Pattern::new(p).unwrap().matches(s), want, "{p} ~ {s}");
        }
    }

    #[test]
    fn bad_patterns_are_errors_naming_the_pattern() {
        for p in [
            "(ab", "ab)", "[ab", "*a", "a\\", "a{2,1}", "(?=a)", "(a)\\1",
        ] {
            match Pattern::new(p) {
                Err(Error::InvalidArgument(m)) => assert!(m.contains(p), "{m}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }
}
