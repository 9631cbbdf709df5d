//! AFINN-165 sentiment scoring, matching the reference implementation by
//! the list's author (the PyPI package `afinn` 0.1, `Afinn().score(text)`).
//!
//! # The reference method
//!
//! `afinn/afinn.py`, `Afinn.score` (= `score_with_pattern`) → `find_all`:
//!
//! 1. `re.sub(r"\s+", " ", text)`: every run of whitespace becomes one space;
//! 2. `.lower()`;
//! 3. `findall` with the pattern built by `regex_from_tokens`:
//!    `(\b(?:tok1|tok2|…)\b)`, the tokens (every entry of the list, phrases
//!    included) escaped and sorted longest first, compiled with `re.UNICODE`;
//! 4. the values of the matched tokens are summed (returned as a float).
//!
//! Python's `\w` is `str.isalnum() or "_"` (letters of categories L*, and
//! everything with a Unicode numeric type), `\s` is `str.isspace()` (which,
//! unlike Rust's `char::is_whitespace`, includes U+001C..U+001F), and `\b` is
//! a change between `\w` and not-`\w`. Every entry of AFINN-en-165 begins and
//! ends with a word character, so a match always starts at the start of a run
//! of word characters and ends at the end of one. A scan that walks the word
//! runs once, at each run trying the longest entry that starts with that
//! run's text (a phrase, whose separators must equal the text's, a whitespace
//! run in the text counting as one space) and then the run on its own, finds
//! exactly what the regular expression finds: the alternation takes, at the
//! leftmost position, the longest token followed by a word boundary, and
//! `findall` resumes after it.
//!
//! This module does that in one pass, with its own hash table keyed by the
//! first word of each entry and no regular expression. It does not allocate
//! for text whose lower-casing changes only ASCII letters (most tweets, emoji
//! included): ASCII letters are folded as the words are hashed and compared.
//! Other text is lower-cased with `str::to_lowercase` first, which (like
//! Python's `str.lower`) applies the final-sigma rule. The values are
//! integers, so the sum is an exact `i32` (the reference's float holds the
//! same integer; the sum saturates instead of overflowing).
//!
//! Characters are classified by Rust's Unicode tables (newer than Python
//! 3.11's Unicode 14), corrected by `NOT_WORD_ALNUM` to Python's notion of a
//! word character; characters assigned after the reference's Unicode version
//! follow Rust's tables.

use std::collections::HashMap;
use std::fmt;

/// A loaded AFINN word list, ready to score text.
///
/// Build it from the bundled AFINN-en-165 list with [`Afinn::builtin`], or
/// from any list in the same `word<TAB>score` format with
/// [`Afinn::from_word_list`].
pub struct Afinn {
    /// One per distinct first word run of an entry (the whole entry for a
    /// one-word entry, `"can"` for `"can't stand"`).
    entries: Vec<Entry>,
    /// Open-addressing hash table over `entries` (linear probing, at most
    /// a quarter full), looked up with the word run's ASCII-folded hash so
    /// that the scan never copies or lower-cases a word.
    slots: Box<[Slot]>,
    /// `slots.len() - 1` (a power of two minus one).
    mask: usize,
    /// The longest key in bytes: no longer word run can match anything.
    max_key_len: usize,
}

/// What the list holds for one first word run.
struct Entry {
    key: Box<str>,
    /// The value of the one-word entry equal to the key, if any.
    score: Option<i32>,
    /// Entries of more than one word run that start with the key, longest
    /// first.
    phrases: Vec<Phrase>,
}

/// A multi-word entry: the key, then `rest` (which starts with a non-word
/// character, e.g. `" stand"` or `"'t stand"`).
struct Phrase {
    rest: Box<str>,
    score: i32,
}

/// A slot of [`Afinn::slots`]: `index` is 1 + an index into `entries`, or
/// 0 for an empty slot; `tag` is the high half of the key's hash.
#[derive(Clone, Copy, Default)]
struct Slot {
    tag: u32,
    index: u32,
}

impl Afinn {
    /// Parses a word list: one `entry<TAB>score` per line, UTF-8, as read by
    /// the reference's `read_word_file` (each line stripped, then split at
    /// the tab; a later duplicate replaces an earlier one). Blank lines are
    /// skipped. An entry must begin and end with a word character (every
    /// AFINN word list does); errors name the 1-based line.
    pub fn from_word_list(text: &str) -> Result<Afinn, String> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut by_key: HashMap<&str, usize> = HashMap::new();
        for (index, raw) in text.split('\n').enumerate() {
            let line_no = index + 1;
            let line = raw.trim_matches(is_py_space);
            if line.is_empty() {
                continue;
            }
            let (word, score) = match line.split_once('\t') {
                Some((w, s)) if !s.contains('\t') => (w, s),
                _ => {
                    return Err(format!(
                        "line {line_no}: expected `entry<TAB>score`, got {line:?}"
                    ));
                }
            };
            let score: i32 = score.trim_matches(is_py_space).parse().map_err(|_| {
                format!("line {line_no}: score {score:?} of {word:?} is not an integer")
            })?;
            let (first, last) = match (word.chars().next(), word.chars().next_back()) {
                (Some(f), Some(l)) => (f, l),
                _ => return Err(format!("line {line_no}: empty entry")),
            };
            if !is_word(first) || !is_word(last) {
                return Err(format!(
                    "line {line_no}: entry {word:?} must begin and end with a letter, \
                     digit or '_' (entries are matched between word boundaries)"
                ));
            }
            let split = word.find(|c: char| !is_word(c)).unwrap_or(word.len());
            let (key, rest) = word.split_at(split);
            let slot = *by_key.entry(key).or_insert_with(|| {
                entries.push(Entry {
                    key: key.into(),
                    score: None,
                    phrases: Vec::new(),
                });
                entries.len() - 1
            });
            let entry = &mut entries[slot];
            if rest.is_empty() {
                entry.score = Some(score);
            } else if let Some(p) = entry.phrases.iter_mut().find(|p| &*p.rest == rest) {
                p.score = score;
            } else if can_match(rest) {
                entry.phrases.push(Phrase {
                    rest: rest.into(),
                    score,
                });
            }
        }
        if entries.len() >= (u32::MAX / 4) as usize {
            return Err("the word list has too many entries".to_string());
        }
        for entry in &mut entries {
            // Longest first; among phrases that can match at one place, one
            // is a prefix of the other, so byte length orders them as the
            // reference's character length does.
            entry
                .phrases
                .sort_by_key(|p| std::cmp::Reverse(p.rest.len()));
        }
        let size = (entries.len() * 4).next_power_of_two().max(16);
        let mask = size - 1;
        let mut slots = vec![Slot::default(); size].into_boxed_slice();
        for (index, entry) in entries.iter().enumerate() {
            let hash = fold_hash(entry.key.as_bytes());
            let mut pos = hash as usize & mask;
            while slots[pos].index != 0 {
                pos = (pos + 1) & mask;
            }
            slots[pos] = Slot {
                tag: (hash >> 32) as u32,
                index: index as u32 + 1,
            };
        }
        let max_key_len = entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
        Ok(Afinn {
            entries,
            slots,
            mask,
            max_key_len,
        })
    }

    /// The AFINN-en-165 list bundled in `examples/data/AFINN-en-165.txt`
    /// (3,382 entries, © Finn Årup Nielsen, ODbL 1.0).
    pub fn builtin() -> Afinn {
        Afinn::from_word_list(include_str!("../data/AFINN-en-165.txt"))
            .expect("the bundled AFINN-en-165 list parses")
    }

    /// The AFINN score of `text`: the sum of the values of the list's
    /// entries found in it as whole words, case-insensitively, longest
    /// phrase first. Equal to the reference's `Afinn().score(text)`.
    pub fn score(&self, text: &str) -> i32 {
        if needs_lowercasing(text) {
            self.scan(&text.to_lowercase())
        } else {
            // ASCII letters are folded during the scan.
            self.scan(text)
        }
    }

    /// Scores `s`, which is lower-case except perhaps for ASCII letters.
    fn scan(&self, s: &str) -> i32 {
        let b = s.as_bytes();
        let n = b.len();
        let mut total: i32 = 0;
        let mut i = 0;
        while i < n {
            // Skip to the next word run.
            match BYTE_CLASS[usize::from(b[i])] {
                NON_WORD => {
                    i += 1;
                    continue;
                }
                NON_ASCII => {
                    let (c, len) = char_at(b, i);
                    if !is_word(c) {
                        i += len;
                        continue;
                    }
                }
                _ => {}
            }
            // Find its end.
            let start = i;
            while i < n {
                match BYTE_CLASS[usize::from(b[i])] {
                    WORD => i += 1,
                    NON_WORD => break,
                    _ => {
                        let (c, len) = char_at(b, i);
                        if !is_word(c) {
                            break;
                        }
                        i += len;
                    }
                }
            }
            let Some(entry) = self.find(&b[start..i]) else {
                continue;
            };
            let phrase = entry
                .phrases
                .iter()
                .find_map(|p| match_rest(b, i, p.rest.as_bytes()).map(|end| (end, p.score)));
            if let Some((end, score)) = phrase {
                total = total.saturating_add(score);
                i = end;
            } else if let Some(score) = entry.score {
                total = total.saturating_add(score);
            }
        }
        total
    }

    /// The entry whose key equals `run` with ASCII letters lower-cased.
    #[inline]
    fn find(&self, run: &[u8]) -> Option<&Entry> {
        if run.len() > self.max_key_len {
            return None;
        }
        let hash = fold_hash(run);
        let tag = (hash >> 32) as u32;
        let mut pos = hash as usize & self.mask;
        loop {
            let slot = self.slots[pos];
            if slot.index == 0 {
                return None;
            }
            if slot.tag == tag {
                let entry = &self.entries[slot.index as usize - 1];
                let key = entry.key.as_bytes();
                if key.len() == run.len()
                    && key
                        .iter()
                        .zip(run)
                        .all(|(&k, &r)| k == r.to_ascii_lowercase())
                {
                    return Some(entry);
                }
            }
            pos = (pos + 1) & self.mask;
        }
    }
}

impl fmt::Debug for Afinn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phrases: usize = self.entries.iter().map(|e| e.phrases.len()).sum();
        let words = self.entries.iter().filter(|e| e.score.is_some()).count();
        f.debug_struct("Afinn")
            .field("words", &words)
            .field("phrases", &phrases)
            .finish()
    }
}

/// The sign of a score: what the demo counts per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    /// The score is above zero.
    Positive,
    /// The score is below zero.
    Negative,
    /// The score is zero (no entry found, or they cancel out).
    Neutral,
}

impl Sentiment {
    /// Classifies an AFINN score: `> 0` positive, `< 0` negative, else
    /// neutral.
    pub fn of(score: i32) -> Sentiment {
        match score {
            s if s > 0 => Sentiment::Positive,
            s if s < 0 => Sentiment::Negative,
            _ => Sentiment::Neutral,
        }
    }

    /// The lower-case name: `"positive"`, `"negative"` or `"neutral"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
        }
    }
}

impl fmt::Display for Sentiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// [`BYTE_CLASS`] of an ASCII non-word character.
const NON_WORD: u8 = 0;
/// [`BYTE_CLASS`] of an ASCII word character.
const WORD: u8 = 1;
/// [`BYTE_CLASS`] of a byte of a multi-byte UTF-8 sequence.
const NON_ASCII: u8 = 2;

/// The class of each byte value, for the scan's fast ASCII path.
const BYTE_CLASS: [u8; 256] = {
    let mut class = [NON_ASCII; 256];
    let mut b = 0;
    while b < 128 {
        class[b] = if (b as u8).is_ascii_alphanumeric() || b == b'_' as usize {
            WORD
        } else {
            NON_WORD
        };
        b += 1;
    }
    class
};

/// A hash of `bytes` with ASCII letters lower-cased, eight bytes at a time
/// (FxHash's step, then a murmur3 finaliser so that both halves are
/// usable). Keys are fixed, so a non-keyed hash is fine.
#[inline]
fn fold_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ fold_ascii(u64::from_le_bytes(word))).wrapping_mul(K);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut word = 0u64;
        for (k, &byte) in tail.iter().enumerate() {
            word |= u64::from(byte) << (8 * k);
        }
        h = (h.rotate_left(5) ^ fold_ascii(word)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// `to_ascii_lowercase` on each of the eight bytes of `x` (bytes >= 0x80
/// unchanged).
#[inline]
fn fold_ascii(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // With the high bits cleared no byte carries into the next.
    let low = x & !HIGH;
    let ge_a = low.wrapping_add(ONES * (0x80 - u64::from(b'A')));
    let gt_z = low.wrapping_add(ONES * (0x7f - u64::from(b'Z')));
    let upper = ge_a & !gt_z & !x & HIGH;
    x | (upper >> 2)
}

/// Matches a phrase's `rest` against `b` from `at` (the end of the first
/// word run), folding ASCII case in `b`; a space in `rest` matches a run of
/// whitespace. Returns the end of the match if it ends at a word boundary.
fn match_rest(b: &[u8], at: usize, rest: &[u8]) -> Option<usize> {
    let mut j = at;
    for &r in rest {
        if r == b' ' {
            let start = j;
            while j < b.len() {
                let (c, len) = char_at(b, j);
                if !is_py_space(c) {
                    break;
                }
                j += len;
            }
            if j == start {
                return None;
            }
        } else if j < b.len() && b[j].to_ascii_lowercase() == r {
            j += 1;
        } else {
            return None;
        }
    }
    // `rest` ends with a word character; the next one must not be one.
    if j < b.len() && is_word(char_at(b, j).0) {
        None
    } else {
        Some(j)
    }
}

/// Whether a phrase's `rest` can ever match text in which whitespace runs
/// have become single spaces: other whitespace, or two spaces in a row,
/// cannot.
fn can_match(rest: &str) -> bool {
    let mut prev_space = false;
    for c in rest.chars() {
        if c == ' ' {
            if prev_space {
                return false;
            }
            prev_space = true;
        } else if is_py_space(c) {
            return false;
        } else {
            prev_space = false;
        }
    }
    true
}

/// Whether lower-casing `text` changes more than ASCII letters.
fn needs_lowercasing(text: &str) -> bool {
    if text.is_ascii() {
        return false;
    }
    text.chars().any(|c| {
        if c.is_ascii() || is_emoji(c) {
            return false;
        }
        let mut lower = c.to_lowercase();
        !(lower.next() == Some(c) && lower.next().is_none())
    })
}

/// Decodes the character starting at byte `i` of the valid UTF-8 `b`,
/// returning it and its length in bytes.
#[inline]
fn char_at(b: &[u8], i: usize) -> (char, usize) {
    let b0 = b[i];
    if b0 < 0x80 {
        return (b0 as char, 1);
    }
    let (len, init) = match b0 {
        0xC0..=0xDF => (2, u32::from(b0 & 0x1F)),
        0xE0..=0xEF => (3, u32::from(b0 & 0x0F)),
        _ => (4, u32::from(b0 & 0x07)),
    };
    let mut cp = init;
    for &cont in &b[i + 1..i + len] {
        cp = (cp << 6) | u32::from(cont & 0x3F);
    }
    (
        char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER),
        len,
    )
}

/// Python's `\w` in a `str` pattern: `c.isalnum() or c == "_"`.
#[inline]
fn is_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        !is_emoji(c) && c.is_alphanumeric() && !in_ranges(NOT_WORD_ALNUM, c as u32)
    }
}

/// A quick answer for the commonest non-ASCII characters in tweets: emoji,
/// pictographs, dingbats (less the circled digits), the emoji variation
/// selector and the zero-width joiner are neither word characters nor
/// changed by lower-casing.
#[inline]
fn is_emoji(c: char) -> bool {
    matches!(
        c,
        '\u{1F300}'..='\u{1FAFF}'
            | '\u{2600}'..='\u{2775}'
            | '\u{2794}'..='\u{27BF}'
            | '\u{FE0F}'
            | '\u{200D}'
    )
}

/// Python's `\s` / `str.isspace()`: Unicode whitespace plus U+001C..U+001F.
#[inline]
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

fn in_ranges(ranges: &[(u32, u32)], cp: u32) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Characters Rust calls alphanumeric that are not Python word characters:
/// the `Other_Alphabetic` combining marks (Mn, Mc) and circled letters (So).
/// Generated by comparing `char::is_alphanumeric` with Python 3.11 and 3.13
/// `str.isalnum()` over every code point (assigned characters; a range may
/// span code points neither calls alphanumeric).
#[rustfmt::skip]
const NOT_WORD_ALNUM: &[(u32, u32)] = &[
    (0x0345, 0x036F), (0x05B0, 0x05C7), (0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670),
    (0x06D6, 0x06E4), (0x06E7, 0x06ED), (0x0711, 0x0711), (0x0730, 0x073F), (0x07A6, 0x07B0),
    (0x0816, 0x0817), (0x081B, 0x0823), (0x0825, 0x0827), (0x0829, 0x082C), (0x08D4, 0x0903),
    (0x093A, 0x093B), (0x093E, 0x094F), (0x0955, 0x0957), (0x0962, 0x0963), (0x0981, 0x0983),
    (0x09BE, 0x09CC), (0x09D7, 0x09D7), (0x09E2, 0x09E3), (0x0A01, 0x0A03), (0x0A3E, 0x0A51),
    (0x0A70, 0x0A71), (0x0A75, 0x0A83), (0x0ABE, 0x0ACC), (0x0AE2, 0x0AE3), (0x0AFA, 0x0B03),
    (0x0B3E, 0x0B57), (0x0B62, 0x0B63), (0x0B82, 0x0B82), (0x0BBE, 0x0BCC), (0x0BD7, 0x0BD7),
    (0x0C00, 0x0C04), (0x0C3E, 0x0C56), (0x0C62, 0x0C63), (0x0C81, 0x0C83), (0x0CBE, 0x0CD6),
    (0x0CE2, 0x0CE3), (0x0CF3, 0x0D03), (0x0D3E, 0x0D4C), (0x0D57, 0x0D57), (0x0D62, 0x0D63),
    (0x0D81, 0x0D83), (0x0DCF, 0x0DDF), (0x0DF2, 0x0DF3), (0x0E31, 0x0E31), (0x0E34, 0x0E3A),
    (0x0E4D, 0x0E4D), (0x0EB1, 0x0EB1), (0x0EB4, 0x0EBC), (0x0ECD, 0x0ECD), (0x0F71, 0x0F83),
    (0x0F8D, 0x0FBC), (0x102B, 0x103E), (0x1056, 0x1059), (0x105E, 0x1060), (0x1062, 0x1064),
    (0x1067, 0x106D), (0x1071, 0x1074), (0x1082, 0x108D), (0x108F, 0x108F), (0x109A, 0x109D),
    (0x1712, 0x1713), (0x1732, 0x1733), (0x1752, 0x1753), (0x1772, 0x1773), (0x17B6, 0x17C8),
    (0x1885, 0x1886), (0x18A9, 0x18A9), (0x1920, 0x1938), (0x1A17, 0x1A1B), (0x1A55, 0x1A74),
    (0x1ABF, 0x1B04), (0x1B35, 0x1B43), (0x1B80, 0x1B82), (0x1BA1, 0x1BAD), (0x1BE7, 0x1BF1),
    (0x1C24, 0x1C36), (0x1DD3, 0x1DF4), (0x24B6, 0x24E9), (0x2DE0, 0x2DFF), (0xA674, 0xA67B),
    (0xA69E, 0xA69F), (0xA802, 0xA802), (0xA80B, 0xA80B), (0xA823, 0xA827), (0xA880, 0xA881),
    (0xA8B4, 0xA8C5), (0xA8FF, 0xA8FF), (0xA926, 0xA92A), (0xA947, 0xA952), (0xA980, 0xA983),
    (0xA9B4, 0xA9BF), (0xA9E5, 0xA9E5), (0xAA29, 0xAA36), (0xAA43, 0xAA43), (0xAA4C, 0xAA4D),
    (0xAA7B, 0xAA7D), (0xAAB0, 0xAAB0), (0xAAB2, 0xAAB4), (0xAAB7, 0xAAB8), (0xAABE, 0xAABE),
    (0xAAEB, 0xAAEF), (0xAAF5, 0xAAF5), (0xABE3, 0xABEA), (0xFB1E, 0xFB1E), (0x10376, 0x1037A),
    (0x10A01, 0x10A0F), (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x11000, 0x11002),
    (0x11038, 0x11045), (0x11073, 0x11074), (0x11080, 0x11082), (0x110B0, 0x110C2),
    (0x11100, 0x11102), (0x11127, 0x11132), (0x11145, 0x11146), (0x11180, 0x11182),
    (0x111B3, 0x111BF), (0x111CE, 0x111CF), (0x1122C, 0x1123E), (0x11241, 0x11241),
    (0x112DF, 0x112E8), (0x11300, 0x11303), (0x1133E, 0x1134C), (0x11357, 0x11357),
    (0x11362, 0x11363), (0x11435, 0x11445), (0x114B0, 0x114C1), (0x115AF, 0x115BE),
    (0x115DC, 0x115DD), (0x11630, 0x11640), (0x116AB, 0x116B5), (0x1171D, 0x1172A),
    (0x1182C, 0x11838), (0x11930, 0x1193C), (0x11940, 0x11940), (0x11942, 0x11942),
    (0x119D1, 0x119DF), (0x119E4, 0x119E4), (0x11A01, 0x11A0A), (0x11A35, 0x11A39),
    (0x11A3B, 0x11A3E), (0x11A51, 0x11A5B), (0x11A8A, 0x11A97), (0x11C2F, 0x11C3E),
    (0x11C92, 0x11CB6), (0x11D31, 0x11D43), (0x11D47, 0x11D47), (0x11D8A, 0x11D96),
    (0x11EF3, 0x11F01), (0x11F03, 0x11F03), (0x11F34, 0x11F40), (0x16F4F, 0x16F4F),
    (0x16F51, 0x16F92), (0x16FF0, 0x16FF1), (0x1BC9E, 0x1BC9E), (0x1E000, 0x1E02A),
    (0x1E08F, 0x1E08F), (0x1E947, 0x1E947), (0x1F130, 0x1F189),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Undoes the fixture's escaping (see its header).
    fn unescape(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    assert_eq!(chars.next(), Some('{'), "in {text:?}");
                    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let cp = u32::from_str_radix(&hex, 16).expect("hex escape");
                    out.push(char::from_u32(cp).expect("escaped code point"));
                }
                other => panic!("bad escape {other:?} in {text:?}"),
            }
        }
        out
    }

    #[test]
    fn matches_the_reference_on_every_fixture_row() {
        let afinn = Afinn::builtin();
        let fixture = include_str!("../data/afinn_cases.tsv");
        let mut rows = 0;
        let mut failures = Vec::new();
        for (i, line) in fixture.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let (want, text) = line.split_once('\t').expect("score<TAB>text");
            let want: i32 = want.parse().expect("integer score");
            let text = unescape(text);
            let got = afinn.score(&text);
            if got != want {
                failures.push(format!("line {}: {text:?}: got {got}, want {want}", i + 1));
            }
            rows += 1;
        }
        assert!(rows >= 350, "only {rows} rows");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn builtin_has_every_entry() {
        let afinn = Afinn::builtin();
        let words = afinn.entries.iter().filter(|e| e.score.is_some()).count();
        let phrases: usize = afinn.entries.iter().map(|e| e.phrases.len()).sum();
        assert_eq!(words + phrases, 3382);
        assert_eq!(afinn.score("can't stand"), -3);
        assert_eq!(afinn.score("naïve"), -2);
        assert_eq!(afinn.score("once-in-a-lifetime"), 3);
    }

    #[test]
    fn fast_path_agrees_with_lowercasing_everything() {
        let afinn = Afinn::builtin();
        let texts = include_str!("../data/afinn_cases.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(_, t)| unescape(t));
        for text in texts {
            assert_eq!(
                afinn.score(&text),
                afinn.scan(&text.to_lowercase()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn custom_lists_and_their_errors() {
        let a = Afinn::from_word_list("good\t3\n\nbad\t-3\r\nnot good\t-2\ngood\t1\n").unwrap();
        assert_eq!(a.score("Good, not good, BAD"), 1 - 2 - 3);
        // Leading/trailing whitespace of a line is stripped, as the
        // reference's read_word_file does.
        let a = Afinn::from_word_list("  meh\t-1  \n").unwrap();
        assert_eq!(a.score("meh"), -1);
        // An entry with upper case never matches lower-cased text.
        let a = Afinn::from_word_list("Yay\t2\n").unwrap();
        assert_eq!(a.score("Yay yay YAY"), 0);
        // A phrase with a tab or two spaces cannot match collapsed text.
        let a = Afinn::from_word_list("a  b\t5\na\u{a0}b\t5\n").unwrap();
        assert_eq!(a.score("a  b a\u{a0}b"), 0);
        // A long entry (past the key buffer) still matches.
        let long = "x".repeat(100);
        let a = Afinn::from_word_list(&format!("{long}\t2\n")).unwrap();
        assert_eq!(a.score(&long.to_uppercase()), 2);

        let err = |list: &str| Afinn::from_word_list(list).unwrap_err();
        assert!(err("good\t3\nbad -3\n").starts_with("line 2: expected `entry<TAB>score`"));
        assert!(err("good\t3\t4\n").starts_with("line 1: expected"));
        assert!(err("good\t3\nbad\tvery\n").starts_with("line 2: score \"very\""));
        assert!(err("a\t1\nb\t2\n:)\t2\n").starts_with("line 3: entry \":)\" must begin"));
        assert!(err("ok\t1\nwow!\t2\n").starts_with("line 2: entry \"wow!\""));
        assert!(err("\t3\n").starts_with("line 1: expected"));
    }

    #[test]
    fn sentiment_of_score() {
        assert_eq!(Sentiment::of(3), Sentiment::Positive);
        assert_eq!(Sentiment::of(-1), Sentiment::Negative);
        assert_eq!(Sentiment::of(0), Sentiment::Neutral);
        assert_eq!(Sentiment::Positive.as_str(), "positive");
        assert_eq!(Sentiment::Negative.to_string(), "negative");
        assert_eq!(format!("{}", Sentiment::Neutral), "neutral");
    }

    #[test]
    fn ascii_folding_hash() {
        for b in 0..=255u8 {
            for shift in 0..8 {
                let x = 0x41_5a_80_ff_7a_40_5b_61u64 ^ (u64::from(b) << (8 * shift));
                let want = u64::from_le_bytes(x.to_le_bytes().map(|b| b.to_ascii_lowercase()));
                assert_eq!(fold_ascii(x), want, "{x:#x}");
            }
        }
        for (a, b) in [
            ("Hello", "hello"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"),
        ] {
            assert_eq!(fold_hash(a.as_bytes()), fold_hash(b.as_bytes()));
        }
        assert_ne!(fold_hash(b"good"), fold_hash(b"good\0"));
        assert_ne!(fold_hash(b"naive"), fold_hash("naïve".as_bytes()));
    }

    #[test]
    fn word_characters_follow_python() {
        for c in [
            'a', 'Z', '0', '_', 'é', 'ß', 'ª', 'µ', '²', '½', 'Ⅻ', '٣', '一', 'ʰ',
        ] {
            assert!(is_word(c), "{c:?}");
        }
        for c in [
            ' ', '-', '\'', '\u{301}', '\u{345}', '\u{947}', 'ⓐ', '😀', '\u{fe0f}', '·',
        ] {
            assert!(!is_word(c), "{c:?}");
        }
        for c in ['\u{1c}', '\u{1f}', '\u{85}', '\u{a0}', '\u{3000}', '\u{b}'] {
            assert!(is_py_space(c), "{c:?}");
        }
        assert!(!is_py_space('\u{200b}'));
        // The table is sorted and disjoint, as the binary search needs.
        assert!(NOT_WORD_ALNUM.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(NOT_WORD_ALNUM.iter().all(|&(lo, hi)| lo <= hi));
    }
}
