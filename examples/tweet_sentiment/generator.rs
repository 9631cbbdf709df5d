//! A seeded, deterministic source of tweet-like text for the demo.
//!
//! Tweets come from a few hundred users whose activity is Zipf-distributed
//! (a handful post a lot, most rarely), and read like microblog posts:
//! sentences built from templates that mix AFINN words of both signs,
//! multi-word AFINN phrases (`"does not work"`, `"cool stuff"`, `"can't
//! stand"`), negations, words whose values cancel out, mentions, hashtags,
//! emoji, URLs, odd capitalisation and some non-ASCII. Scored with
//! AFINN-165 the stream comes out about 40% positive, 35% negative and 25%
//! neutral.
//!
//! Event time starts at 2025-01-01T00:00:00Z and advances by a jittered gap
//! of 0–10 ms (5 ms on average, so about 200 tweets per second of event
//! time); about 2% of tweets arrive late, stamped 1–5 s before the stream's
//! current time.
//!
//! The same seed always gives the same stream (the generator has its own
//! splitmix64 PRNG and uses nothing from the environment).
//!
//! The tests score the output with the sibling module, so they expect
//! `mod afinn;` next to `mod generator;` at the crate root (as in the
//! example's `main.rs`).

/// One generated tweet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tweet {
    /// The author's handle, without the `@`.
    pub user: String,
    /// The tweet's text.
    pub text: String,
    /// Event time in milliseconds since the Unix epoch.
    pub ts_ms: i64,
}

/// A deterministic, endless stream of [`Tweet`]s.
#[derive(Debug, Clone)]
pub struct TweetGenerator {
    rng: SplitMix64,
    /// Handles, in random order; index `i` has Zipf rank `i + 1`.
    users: Vec<String>,
    /// Cumulative Zipf weights over `users`; the last is the total.
    cumulative: Vec<u64>,
    /// The stream's current event time.
    clock_ms: i64,
}

/// 2025-01-01T00:00:00Z.
const START_MS: i64 = 1_735_689_600_000;
const USERS: usize = 400;
/// Gaps between consecutive tweets are uniform in `0..=MAX_GAP_MS`.
const MAX_GAP_MS: u64 = 10;
/// Per mille of tweets stamped late.
const LATE_PER_MILLE: u64 = 20;
/// Late tweets are stamped this far (uniform) before the current time.
const LATE_MIN_MS: u64 = 1_000;
const LATE_MAX_MS: u64 = 5_000;

impl TweetGenerator {
    /// A generator whose whole stream (users, texts, timestamps) is
    /// determined by `seed`.
    pub fn new(seed: u64) -> TweetGenerator {
        let mut rng = SplitMix64(seed);
        let users = make_users(&mut rng);
        // Zipf with exponent 1: weight of rank r is proportional to 1/r.
        let mut cumulative = Vec::with_capacity(users.len());
        let mut total = 0u64;
        for rank in 1..=users.len() as u64 {
            total += 1_000_000_000 / rank;
            cumulative.push(total);
        }
        TweetGenerator {
            rng,
            users,
            cumulative,
            clock_ms: START_MS,
        }
    }

    /// The next tweet of the stream.
    pub fn next_tweet(&mut self) -> Tweet {
        self.clock_ms += self.rng.below(MAX_GAP_MS + 1) as i64;
        let ts_ms = if self.rng.below(1000) < LATE_PER_MILLE {
            self.clock_ms - (LATE_MIN_MS + self.rng.below(LATE_MAX_MS - LATE_MIN_MS + 1)) as i64
        } else {
            self.clock_ms
        };
        let user = self.pick_user();
        let user = self.users[user].clone();
        let text = self.text();
        Tweet { user, text, ts_ms }
    }

    /// A user index drawn from the Zipf distribution.
    fn pick_user(&mut self) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = self.rng.below(total);
        self.cumulative.partition_point(|&c| c <= x)
    }

    fn text(&mut self) -> String {
        // Which kind of sentence. Each template family's AFINN sign is fixed
        // by construction (see the tests), so the mix follows these odds.
        // Some templates lean on AFINN's quirks: "don't like mornings but
        // ..." is positive because "don't like" is not the entry "dont
        // like", and "good news and bad news" cancels out to neutral.
        let roll = self.rng.below(1000);
        let (mood, templates) = if roll < 400 {
            (Mood::Positive, POSITIVE_TEMPLATES)
        } else if roll < 750 {
            (Mood::Negative, NEGATIVE_TEMPLATES)
        } else {
            (Mood::Neutral, NEUTRAL_TEMPLATES)
        };
        let template = self.pick(templates);
        let mut out = String::with_capacity(160);
        self.expand(template, &mut out);
        self.decorate(&mut out, mood);
        out
    }

    /// Appends `template` to `out` with each `{slot}` replaced by a random
    /// choice from the slot's word list.
    fn expand(&mut self, template: &str, out: &mut String) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}').unwrap_or(after.len());
            self.fill(&after[..close], out);
            rest = after.get(close + 1..).unwrap_or("");
        }
        out.push_str(rest);
    }

    fn fill(&mut self, slot: &str, out: &mut String) {
        let words: &[&str] = match slot {
            "thing" => THINGS,
            "place" => PLACES,
            "time" => TIMES,
            "pos" => POS,
            "pos_strong" => POS_STRONG,
            "pos_verb" => POS_VERBS,
            "pos_phrase" => POS_PHRASES,
            "neg" => NEG,
            "neg_mild" => NEG_MILD,
            "neg_phrase" => NEG_PHRASES,
            "neutral_adj" => NEUTRAL_ADJ,
            "excl" => EXCLAIM,
            "mention" => {
                out.push('@');
                let u = self.rng.below(self.users.len() as u64) as usize;
                out.push_str(&self.users[u]);
                return;
            }
            _ => &[],
        };
        let word = self.pick(words);
        // Now and then shout the sentiment word.
        if matches!(slot, "pos" | "pos_strong" | "pos_verb" | "neg") && self.rng.below(100) < 6 {
            out.push_str(&word.to_uppercase());
        } else {
            out.push_str(word);
        }
    }

    /// Capitalises the first letter now and then, and appends hashtags,
    /// mentions, emoji and links.
    fn decorate(&mut self, out: &mut String, mood: Mood) {
        if self.rng.below(100) < 55
            && let Some(first) = out.chars().next()
        {
            let upper: String = first.to_uppercase().collect();
            out.replace_range(..first.len_utf8(), &upper);
        }
        let (emoji, tags): (&[&str], &[&str]) = match mood {
            Mood::Positive => (POS_EMOJI, POS_TAGS),
            Mood::Negative => (NEG_EMOJI, NEG_TAGS),
            Mood::Neutral => (NEUTRAL_EMOJI, NEUTRAL_TAGS),
        };
        if self.rng.below(100) < 45 {
            out.push(' ');
            let e = self.pick(emoji);
            out.push_str(e);
            if self.rng.below(100) < 30 {
                out.push_str(e);
            }
        }
        let tag_count = match self.rng.below(100) {
            0..=54 => 0,
            55..=84 => 1,
            _ => 2,
        };
        for _ in 0..tag_count {
            out.push_str(" #");
            // A sentiment-bearing tag a third of the time, else a topic.
            let tag = if self.rng.below(3) == 0 {
                self.pick(tags)
            } else {
                self.pick(NEUTRAL_TAGS)
            };
            out.push_str(tag);
        }
        if self.rng.below(100) < 12 {
            out.push(' ');
            self.fill("mention", out);
        }
        if self.rng.below(100) < 15 {
            out.push_str(" https://t.co/");
            // Starts with a digit, so it is never an AFINN word.
            out.push(char::from(b'0' + self.rng.below(10) as u8));
            for _ in 0..9 {
                out.push(char::from(SLUG[self.rng.below(SLUG.len() as u64) as usize]));
            }
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy)]
enum Mood {
    Positive,
    Negative,
    Neutral,
}

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough here.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below
    /// 2^-40 for the small `n` used here). `n` must be positive.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// `USERS` distinct handles in random order.
fn make_users(rng: &mut SplitMix64) -> Vec<String> {
    let mut users: Vec<String> = Vec::with_capacity(USERS);
    let mut seen = std::collections::HashSet::with_capacity(USERS);
    while users.len() < USERS {
        let first = HANDLE_FIRST[rng.below(HANDLE_FIRST.len() as u64) as usize];
        let second = HANDLE_SECOND[rng.below(HANDLE_SECOND.len() as u64) as usize];
        let handle = match rng.below(4) {
            0 => format!("{first}_{second}"),
            1 => format!("{first}{second}"),
            2 => format!("{first}_{second}{}", rng.below(100)),
            _ => format!("{first}{}", 1 + rng.below(999)),
        };
        if seen.insert(handle.clone()) {
            users.push(handle);
        }
    }
    users
}

const SLUG: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789";

const HANDLE_FIRST: &[&str] = &[
    "anna", "bjorn", "carla", "dev", "emma", "finn", "gus", "hana", "ivan", "jo", "kai", "lena",
    "mads", "nora", "oskar", "pia", "quinn", "rosa", "sam", "tove", "uma", "viggo", "wen", "yusuf",
    "zoe", "data", "rust", "coffee", "pixel", "metro", "night", "urban", "indie",
];

const HANDLE_SECOND: &[&str] = &[
    "codes", "writes", "runs", "otter", "heron", "fox", "lab", "dk", "de", "ops", "jazz", "bikes",
    "reads", "films", "kitchen", "rider", "owl", "cat", "nerd", "daily", "north",
];

/// Templates whose AFINN score is positive.
const POSITIVE_TEMPLATES: &[&str] = &[
    "I {pos_verb} {thing}{excl}",
    "{thing} is {pos}{excl}",
    "{thing} is {pos_strong}, honestly",
    "what a {pos} day at {place}{excl}",
    "{pos_phrase} from {mention}, thanks{excl}",
    "just tried {thing} and it is {pos_strong}",
    "{thing} was lame at first but now it is {pos_strong}",
    "not bad at all, {thing} is actually {pos_strong}",
    "{thing} is kind of {pos}",
    "finally some {pos_phrase} {time}",
    "{thing} is a step in the right direction",
    "Danke {mention}, {thing} ist wunderbar and {pos}",
    "naïve question but {thing} looks {pos_strong}",
    "{pos}!!! {thing} {time}",
    "{time} at {place}: {pos_phrase}, {pos}",
    "can't stop smiling, {thing} is {pos_strong}",
    "don't like mornings but {thing} made it {pos}",
    "i dont like {thing}, i love it",
];

/// Templates whose AFINN score is negative.
const NEGATIVE_TEMPLATES: &[&str] = &[
    "{thing} {neg_phrase}{excl}",
    "{thing} is {neg} {time}",
    "I hate {thing}{excl}",
    "the queue at {place} {time} was {neg}",
    "can't stand {thing} anymore",
    "no fun at {place} {time}",
    "{thing} is not good",
    "{thing} is the worst{excl}",
    "that was a disaster {time}",
    "fed up with {thing}, it {neg_phrase}",
    "i dont like {thing}",
    "{thing} looked ok but it is {neg}",
    "why is {thing} so {neg}?",
    "{thing} {neg_phrase} and the helpdesk is {neg_mild}",
    "ugh. {thing}. {neg}",
    "the café at {place} screwed up my order {time}",
    "{thing}: cover-up or just {neg_mild}?",
    "3 hours waiting for {thing}, {neg}",
];

/// Templates whose AFINN score is zero: no sentiment words, or words whose
/// values cancel (`good`/`bad`, `love`/`hate`), or `kind of` (0, while
/// `kind` alone is +2).
const NEUTRAL_TEMPLATES: &[&str] = &[
    "{thing} update out {time}",
    "anyone at {place} {time}? {mention}",
    "{thing} is kind of {neutral_adj}",
    "waiting for {thing} at {place} {time}",
    "{thing} vs {thing}: thoughts?",
    "good news and bad news about {thing}",
    "love it or hate it, {thing} is here",
    "reading about {thing} {time}",
    "Café {place} opens at 8 {time}",
    "{thing} at {place}, 14:30, room 2B",
    "heading to {place} {time}",
    "some kind of festival at {place} {time}",
];

const THINGS: &[&str] = &[
    "the new update",
    "this coffee",
    "my phone",
    "the train",
    "the wifi",
    "the keynote",
    "the new album",
    "this game",
    "the weather",
    "our deploy",
    "the build",
    "the match",
    "the new season",
    "the hotel",
    "customer service",
    "the airline",
    "the movie",
    "this book",
    "the concert",
    "the beta",
    "the API",
    "the docs",
    "the office",
    "lunch",
    "the release",
    "the smørrebrød",
    "the Straßenbahn",
    "version 2.0",
];

const PLACES: &[&str] = &[
    "the office",
    "the airport",
    "the stadium",
    "Berlin",
    "Copenhagen",
    "the harbour",
    "København",
    "Zürich",
    "Malmö",
    "the station",
    "home",
    "Ærø",
];

const TIMES: &[&str] = &[
    "today",
    "this morning",
    "tonight",
    "right now",
    "again",
    "this weekend",
    "on Monday",
    "at 3am",
];

/// Positive words of value 1 to 4.
const POS: &[&str] = &[
    "love",
    "great",
    "awesome",
    "amazing",
    "happy",
    "excellent",
    "fantastic",
    "wonderful",
    "beautiful",
    "nice",
    "perfect",
    "brilliant",
    "lovely",
    "super",
    "impressive",
    "sweet",
    "cool",
    "good",
    "glad",
    "excited",
];

/// Positive verbs.
const POS_VERBS: &[&str] = &["love", "adore", "enjoy", "like", "recommend"];

/// Positive words of value 4 or 5: they outweigh one -3 word.
const POS_STRONG: &[&str] = &[
    "amazing",
    "awesome",
    "fantastic",
    "brilliant",
    "superb",
    "outstanding",
    "breathtaking",
    "wonderful",
    "stunning",
    "terrific",
];

/// Positive multi-word AFINN entries.
const POS_PHRASES: &[&str] = &[
    "cool stuff",
    "damn good news",
    "best damn show",
    "game-changing results",
    "once-in-a-lifetime views",
    "damn cute photos",
    "fun",
];

/// Negative words of value -2 to -3.
const NEG: &[&str] = &[
    "awful",
    "terrible",
    "bad",
    "sad",
    "boring",
    "useless",
    "horrible",
    "lame",
    "ugly",
    "pathetic",
    "disappointing",
    "annoying",
    "stupid",
    "worse",
];

/// Negative words of value -1 to -2.
const NEG_MILD: &[&str] = &[
    "useless", "lame", "delayed", "broken", "annoying", "garbage",
];

/// Negative AFINN phrases (and sentences ending in one).
const NEG_PHRASES: &[&str] = &[
    "does not work",
    "is not working",
    "does  not\twork",
    "is screwed up",
    "is messing up my day",
    "has side-effects",
    "feels like a cover-up",
    "is short-sighted",
    "keeps crashing, total fail",
    "is broken",
];

const NEUTRAL_ADJ: &[&str] = &["different", "quiet", "new", "blue", "loud", "early", "long"];

const EXCLAIM: &[&str] = &["", "!", "!!", ".", "!!!", " ..."];

const POS_EMOJI: &[&str] = &["😀", "😍", "🎉", "🔥", "👍", "❤️", "🙌", "✨"];
const NEG_EMOJI: &[&str] = &["😡", "😭", "🙄", "👎", "💀", "😤"];
const NEUTRAL_EMOJI: &[&str] = &["☕", "📱", "🚆", "⚽", "🎧", "📷", "🤔"];

const POS_TAGS: &[&str] = &["love", "happy", "winning", "fun", "Awesome"];
const NEG_TAGS: &[&str] = &["fail", "sad", "annoyed", "ugh", "Worst"];
const NEUTRAL_TAGS: &[&str] = &[
    "rustlang",
    "monday",
    "coffee",
    "tech",
    "news",
    "weekend",
    "music",
    "football",
    "nowplaying",
    "cph",
    "travel",
    "dev",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::afinn::{Afinn, Sentiment};

    #[test]
    fn same_seed_same_stream() {
        let mut a = TweetGenerator::new(7);
        let mut b = TweetGenerator::new(7);
        for _ in 0..5_000 {
            assert_eq!(a.next_tweet(), b.next_tweet());
        }
        let mut a = TweetGenerator::new(7);
        let mut c = TweetGenerator::new(8);
        let differs = (0..20).any(|_| a.next_tweet() != c.next_tweet());
        assert!(differs, "another seed gives another stream");
    }

    #[test]
    fn sentiment_mix_is_in_range() {
        let afinn = Afinn::builtin();
        for seed in [1, 42, 2025] {
            let mut g = TweetGenerator::new(seed);
            let n = 20_000;
            let (mut pos, mut neg, mut neu) = (0, 0, 0);
            for _ in 0..n {
                match Sentiment::of(afinn.score(&g.next_tweet().text)) {
                    Sentiment::Positive => pos += 1,
                    Sentiment::Negative => neg += 1,
                    Sentiment::Neutral => neu += 1,
                }
            }
            let pct = |x: i32| f64::from(x) * 100.0 / f64::from(n);
            let (p, m, z) = (pct(pos), pct(neg), pct(neu));
            assert!((36.0..=44.0).contains(&p), "seed {seed}: {p:.1}% positive");
            assert!((31.0..=39.0).contains(&m), "seed {seed}: {m:.1}% negative");
            assert!((21.0..=29.0).contains(&z), "seed {seed}: {z:.1}% neutral");
        }
    }

    #[test]
    fn vocabulary_has_the_intended_sign() {
        let afinn = Afinn::builtin();
        for w in POS
            .iter()
            .chain(POS_STRONG)
            .chain(POS_VERBS)
            .chain(POS_PHRASES)
            .chain(POS_TAGS)
        {
            assert!(afinn.score(w) > 0, "{w:?}");
        }
        for w in POS_STRONG {
            assert!(afinn.score(w) >= 4, "{w:?}");
        }
        for w in NEG
            .iter()
            .chain(NEG_MILD)
            .chain(NEG_PHRASES)
            .chain(NEG_TAGS)
        {
            assert!(afinn.score(w) < 0, "{w:?}");
        }
        for w in NEG.iter().chain(NEG_MILD) {
            assert!(afinn.score(w) >= -3, "{w:?}");
        }
        for w in THINGS
            .iter()
            .chain(PLACES)
            .chain(TIMES)
            .chain(NEUTRAL_ADJ)
            .chain(NEUTRAL_TAGS)
            .chain(EXCLAIM)
            .chain(POS_EMOJI)
            .chain(NEG_EMOJI)
            .chain(NEUTRAL_EMOJI)
        {
            assert_eq!(afinn.score(w), 0, "{w:?}");
        }
        let g = TweetGenerator::new(3);
        for u in &g.users {
            assert_eq!(afinn.score(&format!("@{u}")), 0, "{u:?}");
        }
    }

    #[test]
    fn templates_score_with_their_sign() {
        // Every template, filled many times, has its family's sign.
        let afinn = Afinn::builtin();
        let mut g = TweetGenerator::new(11);
        for (templates, want) in [
            (POSITIVE_TEMPLATES, Sentiment::Positive),
            (NEGATIVE_TEMPLATES, Sentiment::Negative),
            (NEUTRAL_TEMPLATES, Sentiment::Neutral),
        ] {
            for t in templates {
                for _ in 0..200 {
                    let mut s = String::new();
                    g.expand(t, &mut s);
                    assert_eq!(Sentiment::of(afinn.score(&s)), want, "{t:?} gave {s:?}");
                }
            }
        }
    }

    #[test]
    fn users_are_zipf_skewed() {
        let mut g = TweetGenerator::new(42);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..50_000 {
            *counts.entry(g.next_tweet().user).or_insert(0u32) += 1;
        }
        let mut v: Vec<u32> = counts.values().copied().collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        assert!(v.len() > 300, "most of the {USERS} users post: {}", v.len());
        // Rank 1 has about 1/H(400) ≈ 15% of the tweets.
        assert!(v[0] > 5_000 && v[0] < 10_000, "top user {}", v[0]);
        assert!(v[0] > 5 * v[20], "skewed: {} vs {}", v[0], v[20]);
    }

    #[test]
    fn timestamps_advance_with_a_few_late_ones() {
        let mut g = TweetGenerator::new(42);
        let n = 100_000;
        let mut max_seen = i64::MIN;
        let mut late = 0;
        let mut first = None;
        for _ in 0..n {
            let t = g.next_tweet();
            first.get_or_insert(t.ts_ms);
            if t.ts_ms < max_seen {
                late += 1;
                assert!(max_seen - t.ts_ms <= LATE_MAX_MS as i64 + MAX_GAP_MS as i64 * 2);
            }
            max_seen = max_seen.max(t.ts_ms);
        }
        assert!(first.unwrap() >= START_MS);
        let span = max_seen - START_MS;
        assert!((450_000..550_000).contains(&span), "span {span} ms");
        assert!((1_500..2_500).contains(&late), "{late} late");
    }

    /// Prints generated texts for `examples/data/make_afinn_cases.py
    /// --generated FILE` (backslash, tab, newline and CR escaped).
    /// Run with `cargo test ... dump_generated_texts -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn dump_generated_texts() {
        let mut g = TweetGenerator::new(2024);
        for _ in 0..200 {
            let t = g.next_tweet().text;
            let escaped = t
                .replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r");
            println!("GEN\t{escaped}");
        }
    }
}
