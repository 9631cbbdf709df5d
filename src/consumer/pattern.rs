//! A small regular-expression matcher for `subscribe_pattern` (the crate takes no regex
//! dependency): literals, `.`, classes `[a-z0-9_]` and `[^...]`, escapes `\.` `\d`
//! `\w`, quantifiers `*` `+` `?`, groups `( )` and alternation `|`. The whole topic name
//! must match, as Java's `Pattern.matcher(topic).matches()` in Kafka.

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
enum Node {
    Any,
    Char(char),
    Class(Vec<(char, char)>, bool),
    Group(Vec<Vec<Piece>>),
}

#[derive(Debug, Clone)]
struct Piece {
    node: Node,
    min: usize,
    max: usize,
}

/// A compiled topic pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    source: String,
    alts: Vec<Vec<Piece>>,
}

impl Pattern {
    pub(crate) fn new(source: &str) -> Result<Pattern> {
        let chars: Vec<char> = source.chars().collect();
        let mut pos = 0;
        let alts = parse_alts(&chars, &mut pos, source)?;
        if pos != chars.len() {
            return Err(bad(source, "unbalanced `)`"));
        }
        Ok(Pattern {
            source: source.to_string(),
            alts,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        match_alts(&self.alts, &chars, 0, &mut |end| end == chars.len())
    }
}

fn bad(source: &str, why: &str) -> Error {
    Error::InvalidArgument(format!("topic pattern `{source}`: {why}"))
}

fn parse_alts(c: &[char], pos: &mut usize, src: &str) -> Result<Vec<Vec<Piece>>> {
    let mut alts = vec![Vec::new()];
    while *pos < c.len() {
        match c[*pos] {
            ')' => break,
            '|' => {
                *pos += 1;
                alts.push(Vec::new());
            }
            _ => {
                let node = parse_atom(c, pos, src)?;
                let (min, max) = match c.get(*pos) {
                    Some('*') => (0, usize::MAX),
                    Some('+') => (1, usize::MAX),
                    Some('?') => (0, 1),
                    _ => (1, 1),
                };
                if (min, max) != (1, 1) {
                    *pos += 1;
                }
                if let Some(a) = alts.last_mut() {
                    a.push(Piece { node, min, max });
                }
            }
        }
    }
    Ok(alts)
}

fn parse_atom(c: &[char], pos: &mut usize, src: &str) -> Result<Node> {
    let ch = c[*pos];
    *pos += 1;
    Ok(match ch {
        '.' => Node::Any,
        '(' => {
            let alts = parse_alts(c, pos, src)?;
            if c.get(*pos) != Some(&')') {
                return Err(bad(src, "missing `)`"));
            }
            *pos += 1;
            Node::Group(alts)
        }
        '[' => {
            let negate = c.get(*pos) == Some(&'^');
            if negate {
                *pos += 1;
            }
            let mut ranges = Vec::new();
            loop {
                let Some(&a) = c.get(*pos) else {
                    return Err(bad(src, "missing `]`"));
                };
                *pos += 1;
                if a == ']' && !ranges.is_empty() {
                    break;
                }
                let a = if a == '\\' { escaped(c, pos, src)? } else { a };
                if c.get(*pos) == Some(&'-') && c.get(*pos + 1).is_some_and(|&b| b != ']') {
                    let b = c[*pos + 1];
                    *pos += 2;
                    ranges.push((a, b));
                } else {
                    ranges.push((a, a));
                }
            }
            Node::Class(ranges, negate)
        }
        '\\' => match c.get(*pos) {
            Some('d') => {
                *pos += 1;
                Node::Class(vec![('0', '9')], false)
            }
            Some('w') => {
                *pos += 1;
                Node::Class(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false)
            }
            _ => Node::Char(escaped(c, pos, src)?),
        },
        '*' | '+' | '?' => return Err(bad(src, "quantifier with nothing before it")),
        other => Node::Char(other),
    })
}

fn escaped(c: &[char], pos: &mut usize, src: &str) -> Result<char> {
    let e = *c.get(*pos).ok_or_else(|| bad(src, "trailing `\\`"))?;
    *pos += 1;
    Ok(e)
}

fn match_node(n: &Node, s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match n {
        Node::Any => i < s.len() && k(i + 1),
        Node::Char(c) => s.get(i) == Some(c) && k(i + 1),
        Node::Class(r, neg) => {
            s.get(i)
                .is_some_and(|ch| r.iter().any(|&(a, b)| a <= *ch && *ch <= b) != *neg)
                && k(i + 1)
        }
        Node::Group(alts) => match_alts(alts, s, i, k),
    }
}

fn match_alts(alts: &[Vec<Piece>], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    alts.iter().any(|seq| match_seq(seq, s, i, k))
}

fn match_seq(seq: &[Piece], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    let Some((first, rest)) = seq.split_first() else {
        return k(i);
    };
    match_repeat(first, 0, rest, s, i, k)
}

fn match_repeat(
    p: &Piece,
    count: usize,
    rest: &[Piece],
    s: &[char],
    i: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    // Greedy: try one more repetition first, then stop if the minimum is met.
    if count < p.max
        && match_node(&p.node, s, i, &mut |j| {
            j > i && match_repeat(p, count + 1, rest, s, j, k)
        })
    {
        return true;
    }
    count >= p.min && match_seq(rest, s, i, k)
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
            ("(orders|payments)-v[0-9]+", "payments-v12", true),
            ("(orders|payments)-v[0-9]+", "payments-v", false),
            ("a\\.b", "a.b", true),
            ("a\\.b", "axb", false),
            ("[^_].*", "_x", false),
            ("[^_].*", "x_", true),
            ("x?y", "y", true),
            ("\\w+-\\d", "ab_c-7", true),
            (".*", "", true),
        ];
        for (p, s, want) in cases {
            assert_eq!(Pattern::new(p).unwrap().matches(s), want, "{p} ~ {s}");
        }
    }

    #[test]
    fn bad_patterns_are_errors() {
        for p in ["(ab", "ab)", "[ab", "*a", "a\\"] {
            assert!(Pattern::new(p).is_err(), "{p}");
        }
    }
}
