//! The course demo, in one process: a producer streams tweets into the topic `tweets`,
//! a brooklet Streams topology scores each with the AFINN-165 word list, writes scored
//! tweets to `tweets-scored`, and counts positive / negative / neutral tweets per
//! tumbling event-time window and in total into `sentiment-counts`; a console table
//! follows the counts as they change.
//!
//! ```text
//! cargo run --release --example tweet_sentiment -- [--tweets N] [--seed S]
//!     [--window-secs W] [--partitions P] [--threads T] [--data DIR]
//!     [--input FILE] [--follow]
//! ```
//!
//! Running it again on the same `--data` directory resumes: the producer only adds the
//! tweets not yet published, and the counts continue from committed offsets and state
//! restored from the changelog topics.

mod afinn;
mod console;
mod generator;
mod input;
mod pipeline;

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use brooklet::streams::{KafkaStreams, StreamsConfig};
use brooklet::{Broker, ConsumerConfig, OffsetReset, ProducerRecord, TopicConfig, TopicPartition};
use clap::Parser;

use afinn::{Afinn, Sentiment};
use generator::{Tweet, TweetGenerator};
use pipeline::{APP_ID, COUNTS, SCORED, TWEETS};

/// The course demo: stream tweets, score them with AFINN-165, count them per window.
///
/// A producer streams tweets into `tweets`, a Streams topology scores them and counts
/// labels per tumbling event-time window and in total, and a console table follows the
/// counts. Running it again on the same `--data` resumes.
#[derive(Debug, Clone, Parser)]
struct Args {
    /// Tweets to generate (with --follow, then more at a live pace).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    tweets: u64,
    /// Seed of the tweet generator.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Length of the tumbling windows, in seconds of event time.
    #[arg(long, value_name = "W", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    window_secs: u64,
    /// Partitions of `tweets` and `tweets-scored` when they are created.
    #[arg(long, value_name = "P", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    partitions: u32,
    /// Stream threads.
    #[arg(long, value_name = "T", default_value_t = 2,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    threads: usize,
    /// The broker's data directory.
    #[arg(long, value_name = "DIR",
          default_value_os_t = std::env::temp_dir().join("brooklet-tweet-sentiment"))]
    data: PathBuf,
    /// Read tweets from FILE, one per line (JSON or plain text), instead of generating.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Keep going: tail --input FILE, or keep generating past --tweets.
    #[arg(long)]
    follow: bool,
}

/// How late (event time) a tweet may arrive and still count in its window.
const GRACE_SECS: u64 = 30;

/// Counts of the tweets the producer published, scored directly (the check).
#[derive(Default)]
struct Direct {
    counts: [AtomicU64; 3],
}

impl Direct {
    fn add(&self, s: Sentiment) {
        self.counts[console::slot(s)].fetch_add(1, Ordering::Relaxed);
    }
    fn get(&self) -> [i64; 3] {
        [0, 1, 2].map(|i| self.counts[i].load(Ordering::Relaxed) as i64)
    }
}

/// Publishes tweets; returns how many it published in this run.
fn produce(
    broker: &Broker,
    args: &Args,
    afinn: &Afinn,
    direct: &Direct,
    stop: &AtomicBool,
) -> Result<u64, String> {
    let producer = broker.producer();
    let already: i64 = broker
        .describe_topic(TWEETS)
        .map_err(|e| e.to_string())?
        .partitions
        .iter()
        .map(|p| p.log_end_offset)
        .sum();
    let already = already.max(0) as u64;
    let mut published = 0u64;
    let mut batch = Vec::with_capacity(512);
    let flush = |batch: &mut Vec<ProducerRecord>| -> Result<(), String> {
        if !batch.is_empty() {
            producer
                .send_batch(std::mem::take(batch))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let mut emit = |i: u64, t: Tweet, batch: &mut Vec<ProducerRecord>| -> Result<(), String> {
        direct.add(Sentiment::of(afinn.score(&t.text)));
        // Tweets published by an earlier run are only scored for the check.
        if i >= already {
            batch.push(
                ProducerRecord::new(TWEETS)
                    .key(t.user)
                    .value(t.text)
                    .timestamp(t.ts_ms),
            );
            published += 1;
        }
        Ok(())
    };
    let now = brooklet_now();
    match &args.input {
        None => {
            let mut g = TweetGenerator::new(args.seed);
            let mut i = 0u64;
            while (i < args.tweets || args.follow) && !stop.load(Ordering::Relaxed) {
                emit(i, g.next_tweet(), &mut batch)?;
                i += 1;
                if batch.len() >= 500 {
                    flush(&mut batch)?;
                    if args.follow && i >= args.tweets {
                        // Past the requested count, stream at a live-looking pace.
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            let mut reader = std::io::BufReader::new(file);
            let (mut i, mut line_no, mut line) = (0u64, 0, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| e.to_string())?;
                if args.follow && !line.ends_with(b"\n") {
                    // Tailing: wait for the rest of the line to be appended.
                    flush(&mut batch)?;
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                if n == 0 {
                    break;
                }
                line_no += 1;
                match input::parse_line(&line, line_no) {
                    Ok(Some(t)) => {
                        let t = Tweet {
                            user: t.user.unwrap_or_else(|| format!("anonymous-{}", i % 97)),
                            text: t.text,
                            ts_ms: t.ts_ms.unwrap_or(now + i as i64),
                        };
                        emit(i, t, &mut batch)?;
                        i += 1;
                    }
                    Ok(None) => {}
                    Err(e) => eprintln!("skipping bad input: {e}"),
                }
                line.clear();
                if batch.len() >= 500 {
                    flush(&mut batch)?;
                }
            }
        }
    }
    flush(&mut batch)?;
    Ok(published)
}

fn brooklet_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn ensure(broker: &Broker, topic: &str, partitions: u32) -> Result<(), String> {
    match broker.create_topic(topic, TopicConfig::new(partitions).retention_ms(None)) {
        Ok(()) | Err(brooklet::Error::TopicExists { .. }) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn run(args: Args) -> Result<(), String> {
    println!(
        "brooklet tweet sentiment: data directory {}",
        args.data.display()
    );
    let broker = Broker::open(&args.data).map_err(|e| e.to_string())?;
    ensure(&broker, TWEETS, args.partitions)?;
    ensure(&broker, SCORED, args.partitions)?;
    ensure(&broker, COUNTS, 1)?;
    let afinn = Arc::new(Afinn::builtin());
    let window = Duration::from_secs(args.window_secs);
    // A replay runs event time ~1000x faster than the clock: a few milliseconds of
    // scheduling skew between workers is seconds of event time, so grace is generous.
    let topology = pipeline::topology(Arc::clone(&afinn), window, Duration::from_secs(GRACE_SECS));
    let app = KafkaStreams::new(
        topology,
        &broker,
        StreamsConfig::new(APP_ID)
            .num_threads(args.threads)
            .commit_interval(Duration::from_millis(500)),
    )
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    app.start().map_err(|e| e.to_string())?;

    let direct = Arc::new(Direct::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut producer = Some({
        let (broker, args, afinn, direct, stop) = (
            broker.clone(),
            args.clone(),
            Arc::clone(&afinn),
            Arc::clone(&direct),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || produce(&broker, &args, &afinn, &direct, &stop))
    });

    // The console sink: follow `sentiment-counts` from the start.
    let mut display = broker.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .max_poll_records(10_000),
    );
    let counts_tp = TopicPartition::new(COUNTS, 0);
    display
        .assign(std::slice::from_ref(&counts_tp))
        .map_err(|e| e.to_string())?;
    let mut dash = console::Dashboard::new(window.as_millis() as i64);
    let mut published = None;
    loop {
        for r in display
            .poll(Duration::from_millis(50))
            .map_err(|e| e.to_string())?
            .iter()
        {
            if let (Some(k), Some(v)) = (r.key(), r.value())
                && let (Ok(k), Ok(v)) = (std::str::from_utf8(k), <[u8; 8]>::try_from(v))
            {
                dash.apply(k, i64::from_be_bytes(v));
            }
        }
        if producer.as_ref().is_some_and(|p| p.is_finished())
            && let Some(p) = producer.take()
        {
            published = Some(
                p.join()
                    .map_err(|_| "producer thread panicked".to_string())??,
            );
        }
        let status = format!(
            "tweets processed: {}   late (dropped): {}   {}",
            app.processed_records(),
            app.dropped_late_records(),
            if published.is_some() {
                "input done, draining"
            } else {
                "streaming..."
            }
        );
        dash.draw(&status, false);
        if let Err(e) = app_error(&app) {
            stop.store(true, Ordering::Relaxed);
            return Err(e);
        }
        let end = display
            .end_offsets(std::slice::from_ref(&counts_tp))
            .map_err(|e| e.to_string())?[&counts_tp];
        let shown = display.position(&counts_tp).map_err(|e| e.to_string())?;
        if published.is_some() && app.is_caught_up() && shown >= end {
            break;
        }
    }
    let elapsed = started.elapsed();
    let processed = app.processed_records();
    let dropped = app.dropped_late_records();
    app.close().map_err(|e| e.to_string())?;
    dash.draw("final counts", true);
    let totals = dash.totals();
    let expected = direct.get();
    println!();
    let published = published.unwrap_or(0);
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!("published this run:  {published} tweets");
    println!(
        "processed this run:  {published} tweets in {secs:.2} s: {:.0} tweets/s ({processed} stream records incl. repartitioned labels)",
        published as f64 / secs
    );
    println!(
        "windows:             {} of {} s; late tweets dropped from windows: {dropped}",
        dash.window_count(),
        args.window_secs
    );
    println!(
        "totals:              positive {} / negative {} / neutral {}",
        totals[0], totals[1], totals[2]
    );
    if totals == expected {
        println!("check:               totals equal scoring the same tweets directly with AFINN");
    } else {
        println!(
            "check:               direct AFINN scoring gives {} / {} / {} (differs: an earlier run was interrupted and at-least-once recounted, or another input was used)",
            expected[0], expected[1], expected[2]
        );
    }
    broker.close().map_err(|e| e.to_string())
}

fn app_error(app: &KafkaStreams) -> Result<(), String> {
    if app.state() == brooklet::streams::StreamsState::Error {
        return Err(match app.close() {
            Err(e) => format!("streams application failed: {e}"),
            Ok(()) => "streams application failed".to_string(),
        });
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The topology's totals equal an independent count: scoring the generator's
    /// tweets directly.
    #[test]
    fn topology_totals_equal_direct_scoring() {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(dir.path()).unwrap();
        for (t, p) in [(TWEETS, 3), (SCORED, 3), (COUNTS, 1)] {
            broker.create_topic(t, TopicConfig::new(p)).unwrap();
        }
        let afinn = Arc::new(Afinn::builtin());
        let app = KafkaStreams::new(
            pipeline::topology(
                Arc::clone(&afinn),
                Duration::from_secs(10),
                Duration::from_secs(5),
            ),
            &broker,
            StreamsConfig::new(APP_ID)
                .num_threads(2)
                .commit_interval(Duration::from_millis(100)),
        )
        .unwrap();
        app.start().unwrap();
        let args = Args {
            tweets: 5_000,
            seed: 7,
            window_secs: 10,
            partitions: 3,
            threads: 2,
            data: dir.path().to_path_buf(),
            input: None,
            follow: false,
        };
        let direct = Direct::default();
        assert_eq!(
            produce(&broker, &args, &afinn, &direct, &AtomicBool::new(false)).unwrap(),
            5_000
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while !app.is_caught_up() {
            assert!(Instant::now() < deadline, "topology never caught up");
            std::thread::sleep(Duration::from_millis(10));
        }
        app.close().unwrap();
        let mut dash = console::Dashboard::new(10_000);
        let log = broker.partition_log(COUNTS, 0).unwrap();
        let mut off = 0;
        while off < log.log_end_offset() {
            let f = log.read(off, 1 << 20).unwrap();
            for r in f.records() {
                let r = r.unwrap();
                let k = std::str::from_utf8(r.key().unwrap()).unwrap();
                dash.apply(
                    k,
                    i64::from_be_bytes(r.value().unwrap().try_into().unwrap()),
                );
            }
            off = f.next_offset();
        }
        assert_eq!(dash.totals(), direct.get());
        assert_eq!(dash.totals().iter().sum::<i64>(), 5_000);
        assert!(dash.window_count() > 1);
        // Every tweet was also written scored.
        let scored: i64 = broker
            .describe_topic(SCORED)
            .unwrap()
            .partitions
            .iter()
            .map(|p| p.log_end_offset)
            .sum();
        assert_eq!(scored, 5_000);
    }

    #[test]
    fn count_keys_parse() {
        assert_eq!(
            pipeline::parse_count_key("positive@total"),
            Some((Sentiment::Positive, None))
        );
        assert_eq!(
            pipeline::parse_count_key("neutral@1000"),
            Some((Sentiment::Neutral, Some(1000)))
        );
        assert_eq!(pipeline::parse_count_key("x@1"), None);
        let s = pipeline::Scored {
            score: 2,
            label: Sentiment::Positive,
            text: "a \"b\"\n".into(),
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"score":2,"label":"positive","text":"a \"b\"\n"}"#
        );
    }
}
