//! Compression: bytes on disk and produce / consume throughput per codec, beside the
//! uncompressed path in the same run (ratios, as DESIGN.md section 10 asks, because
//! the machines are noisy).
//!
//! Two data sets of [`RECORDS`] records each: the demo's tweets (the
//! `tweet_sentiment` example's seeded generator: user handle as key, text as value)
//! and random 100 B values (incompressible, the codecs' worst case). For each codec:
//!
//! - `produce/<data>/<codec>` (criterion): `send_batch` of [`BATCH`] records per call
//!   into a fresh one-partition topic, producer `compression(codec)`.
//! - `consume/<data>/<codec>` (criterion): a group-less consumer polls the whole
//!   topic from the start, touching every value.
//! - a printed table: bytes of the partition's segment, and produce / consume
//!   records per second (best of 3 passes), each as a ratio to the uncompressed path.
//!
//! `cargo bench --bench compression -- <filter>` runs the criterion parts whose name
//! contains the filter; without `--bench` (as `cargo test --benches` runs it) each part
//! runs once, briefly.
#![deny(unsafe_code)]

#[allow(dead_code, unused_imports)]
#[path = "../examples/tweet_sentiment/generator.rs"]
mod generator;
// The generator's tests score its output with the example's AFINN module.
#[cfg(test)]
#[allow(dead_code, unused_imports)]
#[path = "../examples/tweet_sentiment/afinn.rs"]
mod afinn;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use brooklet::{
    Broker, Compression, ConsumerConfig, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};
use criterion::{BenchmarkId, Criterion, Throughput};

const TOPIC: &str = "bench";
/// Records per data set.
const RECORDS: usize = 20_000;
/// Records per `send_batch` call.
const BATCH: usize = 100;

/// (key, value) records of one data set.
type Data = Vec<(Option<Vec<u8>>, Vec<u8>)>;

fn tweets() -> Data {
    let mut g = generator::TweetGenerator::new(42);
    (0..RECORDS)
        .map(|_| {
            let t = g.next_tweet();
            (Some(t.user.into_bytes()), t.text.into_bytes())
        })
        .collect()
}

fn random_100b() -> Data {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..RECORDS)
        .map(|_| {
            let v = (0..100)
                .map(|_| {
                    // SplitMix64.
                    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = x;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    (z ^ (z >> 31)) as u8
                })
                .collect();
            (None, v)
        })
        .collect()
}

fn open(dir: &Path) -> Broker {
    let b = Broker::open(dir).expect("open");
    b.create_topic(TOPIC, TopicConfig::new(1).segment_bytes(256 << 20))
        .expect("create topic");
    b
}

/// Writes `data` with `codec`; returns the time the sends took.
fn produce(b: &Broker, data: &Data, codec: Compression) -> Duration {
    let p = b.producer_with(ProducerConfig::new().compression(codec));
    let start = Instant::now();
    for chunk in data.chunks(BATCH) {
        p.send_batch(chunk.iter().map(|(k, v)| {
            let r = ProducerRecord::new(TOPIC).partition(0).value(v.clone());
            match k {
                Some(k) => r.key(k.clone()),
                None => r,
            }
        }))
        .expect("send_batch");
    }
    start.elapsed()
}

/// Reads the whole topic; returns the time it took.
fn consume(b: &Broker) -> Duration {
    let start = Instant::now();
    let mut c = b.consumer(ConsumerConfig::new().max_poll_records(5000));
    c.assign(&[TopicPartition::new(TOPIC, 0)]).expect("assign");
    c.seek_to_beginning(&[]).expect("seek");
    let (mut n, mut bytes) = (0usize, 0usize);
    while n < RECORDS {
        for r in &c.poll(Duration::ZERO).expect("poll") {
            bytes += r.value().map_or(0, <[u8]>::len);
            n += 1;
        }
    }
    black_box(bytes);
    start.elapsed()
}

fn stored_bytes(b: &Broker) -> u64 {
    b.partition_log(TOPIC, 0).expect("log").size_bytes()
}

fn criterion_parts(c: &mut Criterion, name: &str, data: &Data) {
    let mut g = c.benchmark_group(format!("produce/{name}"));
    g.throughput(Throughput::Elements(RECORDS as u64));
    for codec in Compression::ALL {
        g.bench_function(BenchmarkId::from_parameter(codec), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let b = open(dir.path());
                    total += produce(&b, data, codec);
                }
                total
            });
        });
    }
    g.finish();
    let mut g = c.benchmark_group(format!("consume/{name}"));
    g.throughput(Throughput::Elements(RECORDS as u64));
    for codec in Compression::ALL {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = open(dir.path());
        produce(&b, data, codec);
        g.bench_function(BenchmarkId::from_parameter(codec), |bench| {
            bench.iter_custom(|iters| (0..iters).map(|_| consume(&b)).sum());
        });
    }
    g.finish();
}

/// The printed table: bytes on disk and best-of-`passes` throughput, as ratios to
/// the uncompressed path.
fn table(name: &str, data: &Data, passes: usize) {
    let raw: usize = data
        .iter()
        .map(|(k, v)| k.as_ref().map_or(0, Vec::len) + v.len())
        .sum();
    println!("\n{name}: {RECORDS} records, {raw} B of keys and values, send_batch of {BATCH}");
    println!(
        "{:<7} {:>10} {:>6} {:>13} {:>6} {:>13} {:>6}",
        "codec", "disk B", "ratio", "produce rec/s", "ratio", "consume rec/s", "ratio"
    );
    let mut base = None;
    for codec in Compression::ALL {
        let (mut prod, mut cons, mut bytes) = (Duration::MAX, Duration::MAX, 0);
        for _ in 0..passes {
            let dir = tempfile::tempdir().expect("tempdir");
            let b = open(dir.path());
            prod = prod.min(produce(&b, data, codec));
            bytes = stored_bytes(&b);
            cons = cons.min(consume(&b));
        }
        let rate = |d: Duration| RECORDS as f64 / d.as_secs_f64();
        let (b0, p0, c0) = *base.get_or_insert((bytes, rate(prod), rate(cons)));
        println!(
            "{:<7} {:>10} {:>6.2} {:>13.0} {:>6.2} {:>13.0} {:>6.2}",
            codec.name(),
            bytes,
            bytes as f64 / b0 as f64,
            rate(prod),
            rate(prod) / p0,
            rate(cons),
            rate(cons) / c0,
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = !args.iter().any(|a| a == "--bench");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .configure_from_args();
    let sets = [("tweets", tweets()), ("random_100b", random_100b())];
    for (name, data) in &sets {
        criterion_parts(&mut c, name, data);
    }
    for (name, data) in &sets {
        table(name, data, if quick { 1 } else { 3 });
    }
    c.final_summary();
}
