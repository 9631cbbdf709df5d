//! The demo's Streams topology: score each tweet with AFINN, write scored tweets, and
//! count labels per tumbling event-time window and in total.

use std::sync::Arc;
use std::time::Duration;

use brooklet::streams::{FnSerde, I64, StreamsBuilder, TimeWindows, Topology, Utf8};
use serde::Serialize;

use crate::afinn::{Afinn, Sentiment};

/// Input topic: key = user, value = tweet text, timestamp = event time.
pub const TWEETS: &str = "tweets";
/// Output: key = user, value = JSON `{"score":..,"label":..,"text":..}`.
pub const SCORED: &str = "tweets-scored";
/// Output: key = `<label>@<window start ms>` or `<label>@total`, value = count (i64).
pub const COUNTS: &str = "sentiment-counts";
/// The Streams application id (its consumer group and internal-topic prefix).
pub const APP_ID: &str = "tweet-sentiment";

/// A tweet with its AFINN score, written to `tweets-scored` as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scored {
    /// AFINN sum.
    pub score: i32,
    /// Its sign.
    pub label: Sentiment,
    /// The text.
    pub text: String,
}

/// Splits a `sentiment-counts` key into its label and window start (`None` = total).
pub fn parse_count_key(key: &str) -> Option<(Sentiment, Option<i64>)> {
    let (label, rest) = key.split_once('@')?;
    let label = match label {
        "positive" => Sentiment::Positive,
        "negative" => Sentiment::Negative,
        "neutral" => Sentiment::Neutral,
        _ => return None,
    };
    if rest == "total" {
        return Some((label, None));
    }
    rest.parse().ok().map(|start| (label, Some(start)))
}

/// Builds the topology. `grace` is how late (in event time) a tweet may arrive and still
/// count in its window.
pub fn topology(afinn: Arc<Afinn>, window: Duration, grace: Duration) -> Topology {
    let b = StreamsBuilder::new();
    let scored = b
        .stream(TWEETS, Utf8, Utf8)
        .map_values(move |text: &String| {
            let score = afinn.score(text);
            Scored {
                score,
                label: Sentiment::of(score),
                text: text.clone(),
            }
        });
    let json = FnSerde::new(
        |s: &Scored| serde_json::to_vec(s).expect("a Scored always serializes"),
        |_| Err("tweets-scored is write-only in this demo".to_string()),
    );
    scored.to(SCORED, Utf8, json);
    let labels = scored
        .map_values(|s: &Scored| s.label.as_str().to_string())
        .group_by(|_, label: &String| label.clone(), Utf8, Utf8);
    labels
        .windowed_by(TimeWindows::tumbling(window).grace(grace))
        .count("window-counts")
        .to_stream()
        .map(|w, n: &i64| (format!("{}@{}", w.key, w.start), *n))
        .to(COUNTS, Utf8, I64);
    labels
        .count("total-counts")
        .to_stream()
        .map(|label: &String, n: &i64| (format!("{label}@total"), *n))
        .to(COUNTS, Utf8, I64);
    b.build()
}
