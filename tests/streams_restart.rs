//! A streams application stopped and restarted between batches of input gives the same
//! outputs, and drops the same late records, as one that ran without a stop: windows
//! emitted on close give each final result exactly once, stream time survives the
//! restart (also from commits written without stream time, as older versions did), and
//! merged co-partitioned topics share one task and one state store per partition.
//! Sources of one sub-topology with different partition counts are refused.

use std::time::Duration;

use brooklet::streams::{
    EmitStrategy, I64, KafkaStreams, StreamsBuilder, StreamsConfig, TimeWindows, Topology, Utf8,
};
use brooklet::{Broker, Error, ProducerRecord, TopicConfig};

mod support;
use support::wait;

/// One input record: topic, key, timestamp.
type Input = (&'static str, &'static str, i64);

const APP: &str = "restarty";

fn config() -> StreamsConfig {
    StreamsConfig::new(APP)
        .num_threads(2)
        .commit_interval(Duration::from_millis(20))
        .max_event_time_skew(None)
}

fn create_topics(b: &Broker, topics: &[(&str, u32)]) {
    for (t, n) in topics {
        b.create_topic(t, TopicConfig::new(*n)).unwrap();
    }
}

fn send(b: &Broker, recs: &[Input]) {
    let p = b.producer();
    for (topic, k, ts) in recs {
        p.send(ProducerRecord::new(*topic).key(*k).value("").timestamp(*ts))
            .unwrap();
    }
}

/// Every (key, i64 value) written to `topic`, partition by partition, in offset order.
fn read_counts(b: &Broker, topic: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for p in 0..b.partition_count(topic).unwrap() {
        let log = b.partition_log(topic, p).unwrap();
        let mut off = 0;
        while off < log.log_end_offset() {
            let f = log.read(off, 1 << 20).unwrap();
            for r in f.records() {
                let r = r.unwrap();
                out.push((
                    String::from_utf8(r.key().unwrap().to_vec()).unwrap(),
                    i64::from_be_bytes(r.value().unwrap().try_into().unwrap()),
                ));
            }
            off = f.next_offset();
        }
    }
    out
}

/// What a run produced: the output records and the late records dropped.
#[derive(Debug, PartialEq)]
struct Outcome {
    out: Vec<(String, i64)>,
    dropped_late: u64,
}

/// How a run is interrupted between batches.
#[derive(Clone, Copy, PartialEq)]
enum Between {
    /// One application processes every batch.
    Nothing,
    /// The application and the broker are closed and opened again.
    Restart,
    /// As `Restart`, and the committed offsets are then rewritten without commit
    /// metadata, as versions that did not store stream time left them.
    RestartFromOldCommits,
}

/// Feeds `batches` to `topology`, waiting for each to be processed, with `between`
/// after every batch but the last.
fn run(
    topics: &[(&str, u32)],
    topology: fn() -> Topology,
    batches: &[&[Input]],
    between: Between,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mut b = Broker::open(dir.path()).unwrap();
    create_topics(&b, topics);
    create_topics(&b, &[("out", 1)]);
    let mut app = KafkaStreams::new(topology(), &b, config()).unwrap();
    app.start().unwrap();
    let mut dropped_late = 0;
    for (i, batch) in batches.iter().enumerate() {
        send(&b, batch);
        wait("the streams app to catch up", || app.is_caught_up());
        if between == Between::Nothing || i + 1 == batches.len() {
            continue;
        }
        dropped_late += app.dropped_late_records();
        app.close().unwrap();
        drop(app);
        if between == Between::RestartFromOldCommits {
            let offsets: Vec<_> = b
                .list_group_offsets(APP)
                .unwrap()
                .into_iter()
                .map(|o| (o.partition, o.committed))
                .collect();
            assert!(!offsets.is_empty(), "the application committed nothing");
            b.commit_group_offsets(APP, &offsets).unwrap();
        }
        b.close().unwrap();
        drop(b);
        b = Broker::open(dir.path()).unwrap();
        app = KafkaStreams::new(topology(), &b, config()).unwrap();
        app.start().unwrap();
    }
    dropped_late += app.dropped_late_records();
    app.close().unwrap();
    Outcome {
        out: read_counts(&b, "out"),
        dropped_late,
    }
}

fn window_close_topology() -> Topology {
    let builder = StreamsBuilder::new();
    builder
        .stream("in", Utf8, Utf8)
        .group_by_key(Utf8, Utf8)
        .windowed_by(TimeWindows::tumbling(Duration::from_secs(10)).grace(Duration::from_secs(1)))
        .emit(EmitStrategy::OnWindowClose)
        .count("finals")
        .to_stream()
        .map(|w, n: &i64| (format!("{}@{}", w.key, w.start), *n))
        .to("out", Utf8, I64);
    builder.build()
}

/// Window 0 closes (end 10 s + grace 1 s) in the first batch; window 10 s is open at
/// the first restart and closes in the second batch; window 20 s is open at the second
/// restart and closes in the third.
const WINDOW_CLOSE_BATCHES: &[&[Input]] = &[
    &[
        ("in", "a", 1_000),
        ("in", "a", 2_000),
        ("in", "a", 10_500),
        ("in", "a", 11_500),
    ],
    &[("in", "a", 15_000), ("in", "a", 21_500)],
    &[("in", "a", 40_000)],
];

#[test]
fn window_close_emits_each_final_result_once_across_restarts() {
    let topics = [("in", 1)];
    let reference = run(
        &topics,
        window_close_topology,
        WINDOW_CLOSE_BATCHES,
        Between::Nothing,
    );
    let restarted = run(
        &topics,
        window_close_topology,
        WINDOW_CLOSE_BATCHES,
        Between::Restart,
    );
    let mut windows: Vec<&str> = restarted.out.iter().map(|(k, _)| k.as_str()).collect();
    windows.sort_unstable();
    let before = windows.len();
    windows.dedup();
    assert_eq!(before, windows.len(), "a final result was emitted twice");
    assert_eq!(
        restarted, reference,
        "a restart changed the final results emitted on window close"
    );
    // The scenario closes a window in every batch, two of them open at a restart.
    assert_eq!(reference.out.len(), WINDOW_CLOSE_BATCHES.len());
}

fn late_topology() -> Topology {
    let builder = StreamsBuilder::new();
    builder
        .stream("in", Utf8, Utf8)
        .group_by_key(Utf8, Utf8)
        .windowed_by(TimeWindows::tumbling(Duration::from_secs(10)).grace(Duration::from_secs(2)))
        .count("late")
        .to_stream()
        .map(|w, n: &i64| (format!("{}@{}", w.key, w.start), *n))
        .to("out", Utf8, I64);
    builder.build()
}

/// Stream time reaches 13 s before the restart, closing window 0 (end 10 s + grace
/// 2 s); the record at 2 s after it is late, the one at 11 s is not.
const LATE_BATCHES: &[&[Input]] = &[
    &[("in", "a", 1_000), ("in", "a", 13_000)],
    &[("in", "a", 2_000), ("in", "a", 11_000)],
];

#[test]
fn a_record_late_before_a_restart_is_dropped_after_it() {
    let topics = [("in", 1)];
    let reference = run(&topics, late_topology, LATE_BATCHES, Between::Nothing);
    assert_eq!(
        reference.dropped_late, 1,
        "the scenario has one late record"
    );
    let restarted = run(&topics, late_topology, LATE_BATCHES, Between::Restart);
    assert_eq!(
        restarted, reference,
        "a restart let a late record into a closed window"
    );
}

#[test]
fn commits_without_stream_time_still_restore_it() {
    let topics = [("in", 1)];
    let reference = run(&topics, late_topology, LATE_BATCHES, Between::Nothing);
    let restarted = run(
        &topics,
        late_topology,
        LATE_BATCHES,
        Between::RestartFromOldCommits,
    );
    assert_eq!(restarted, reference);
    let restarted = run(
        &topics,
        window_close_topology,
        WINDOW_CLOSE_BATCHES,
        Between::RestartFromOldCommits,
    );
    let reference = run(
        &topics,
        window_close_topology,
        WINDOW_CLOSE_BATCHES,
        Between::Nothing,
    );
    assert_eq!(restarted, reference);
}

fn merge_topology() -> Topology {
    let builder = StreamsBuilder::new();
    builder
        .stream("a", Utf8, Utf8)
        .merge(&builder.stream("b", Utf8, Utf8))
        .group_by_key(Utf8, Utf8)
        .count("merged")
        .to_stream()
        .to("out", Utf8, I64);
    builder.build()
}

/// The same keys on both topics: each key's records of `a` and `b` land in the same
/// partition number, so one task counts them.
const MERGE_BATCHES: &[&[Input]] = &[
    &[
        ("a", "k", 1),
        ("b", "k", 2),
        ("a", "k", 3),
        ("b", "j", 4),
        ("a", "j", 5),
    ],
    &[("b", "k", 6), ("a", "j", 7)],
];

/// Each key's counts, in the order they were written.
fn per_key(out: &[(String, i64)], key: &str) -> Vec<i64> {
    out.iter()
        .filter(|(k, _)| k == key)
        .map(|&(_, n)| n)
        .collect()
}

#[test]
fn merged_co_partitioned_topics_share_one_store_per_partition() {
    let topics = [("a", 2), ("b", 2)];
    for between in [Between::Nothing, Between::Restart] {
        let got = run(&topics, merge_topology, MERGE_BATCHES, between);
        for key in ["k", "j"] {
            let records = MERGE_BATCHES
                .iter()
                .flat_map(|b| b.iter())
                .filter(|(_, k, _)| *k == key)
                .count() as i64;
            assert_eq!(
                per_key(&got.out, key),
                (1..=records).collect::<Vec<_>>(),
                "key `{key}`: every record of either topic adds one to the same count"
            );
        }
    }
}

#[test]
fn sources_of_one_sub_topology_must_be_co_partitioned() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    create_topics(&b, &[("a", 2), ("b", 3), ("out", 1)]);
    let err = KafkaStreams::new(merge_topology(), &b, config()).unwrap_err();
    assert!(
        matches!(err, Error::NotCoPartitioned { .. }),
        "expected NotCoPartitioned, got {err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("`a`") && msg.contains("`b`"),
        "the message names both topics: {msg}"
    );
    // Topics read by separate sub-topologies may differ.
    let builder = StreamsBuilder::new();
    builder.stream("a", Utf8, Utf8).to("out", Utf8, Utf8);
    builder.stream("b", Utf8, Utf8).to("out", Utf8, Utf8);
    KafkaStreams::new(builder.build(), &b, config()).unwrap();
}
