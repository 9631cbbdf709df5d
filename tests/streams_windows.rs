//! Streams semantics: stateless operators, event-time windows with late and
//! out-of-order records (grace honoured, later ones dropped), update vs final
//! (window-close) emission, hopping windows, reduce/aggregate, and a restart that
//! restores state from the changelog instead of counting again.

use std::collections::BTreeMap;
use std::time::Duration;

use brooklet::streams::{
    EmitStrategy, I64, KafkaStreams, StreamsBuilder, StreamsConfig, TimeWindows, Utf8,
};
use brooklet::{Broker, ProducerRecord, TopicConfig};

mod support;
use support::wait;

fn broker() -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    for t in ["in", "out", "counts"] {
        b.create_topic(t, TopicConfig::new(1)).unwrap();
    }
    (dir, b)
}

fn send(b: &Broker, recs: &[(&str, &str, i64)]) {
    let p = b.producer();
    for (k, v, ts) in recs {
        p.send(ProducerRecord::new("in").key(*k).value(*v).timestamp(*ts))
            .unwrap();
    }
}

/// Every (key, value) written to `topic`, in order.
fn read_all(b: &Broker, topic: &str) -> Vec<(String, Vec<u8>, i64)> {
    let log = b.partition_log(topic, 0).unwrap();
    let mut out = Vec::new();
    let mut off = 0;
    while off < log.log_end_offset() {
        let f = log.read(off, 1 << 20).unwrap();
        for r in f.records() {
            let r = r.unwrap();
            out.push((
                String::from_utf8(r.key().unwrap().to_vec()).unwrap(),
                r.value().unwrap_or_default().to_vec(),
                r.timestamp(),
            ));
        }
        off = f.next_offset();
    }
    out
}

fn long(v: &[u8]) -> i64 {
    i64::from_be_bytes(v.try_into().unwrap())
}

fn config(app: &str) -> StreamsConfig {
    StreamsConfig::new(app)
        .commit_interval(Duration::from_millis(20))
        .max_event_time_skew(None)
}

#[test]
fn stateless_operators() {
    let (_d, b) = broker();
    let builder = StreamsBuilder::new();
    let s = builder.stream("in", Utf8, Utf8);
    let branches = s
        .filter(|_, v: &String| !v.is_empty())
        .flat_map(|k: &String, v: &String| {
            v.split(' ')
                .map(|w| (k.clone(), w.to_string()))
                .collect::<Vec<_>>()
        })
        .branch(vec![
            Box::new(|_, w: &String| w.starts_with('a')),
            Box::new(|_, _| true),
        ]);
    branches[0]
        .map_values(|w: &String| w.to_uppercase())
        .merge(&branches[1])
        .to("out", Utf8, Utf8);
    let app = KafkaStreams::new(builder.build(), &b, config("stateless")).unwrap();
    app.start().unwrap();
    send(
        &b,
        &[("k", "apple pie", 1), ("k", "", 2), ("k", "avocado", 3)],
    );
    wait("the streams app to catch up", || app.is_caught_up());
    app.close().unwrap();
    let got: Vec<String> = read_all(&b, "out")
        .into_iter()
        .map(|(_, v, _)| String::from_utf8(v).unwrap())
        .collect();
    assert_eq!(got, vec!["APPLE", "pie", "AVOCADO"]);
}

#[test]
fn windowed_counts_with_late_and_out_of_order_records() {
    let (_d, b) = broker();
    let builder = StreamsBuilder::new();
    builder
        .stream("in", Utf8, Utf8)
        .group_by_key(Utf8, Utf8)
        .windowed_by(TimeWindows::tumbling(Duration::from_secs(10)).grace(Duration::from_secs(2)))
        .count("w")
        .to_stream()
        .map(|w, n: &i64| (format!("{}@{}", w.key, w.start), *n))
        .to("counts", Utf8, I64);
    let app = KafkaStreams::new(builder.build(), &b, config("win")).unwrap();
    app.start().unwrap();
    send(
        &b,
        &[
            ("a", "x", 1_000),
            ("a", "x", 9_000),
            ("a", "x", 5_000),  // out of order, same window: counted
            ("a", "x", 11_000), // window 10 s; stream time 11 s
            ("a", "x", 8_000),  // late but within grace (window 0 closes at 12 s): counted
            ("a", "x", 13_000), // stream time 13 s: window 0 is now closed
            ("a", "x", 2_000),  // too late: dropped
            ("b", "y", 14_000),
        ],
    );
    wait("the streams app to catch up", || app.is_caught_up());
    assert_eq!(app.dropped_late_records(), 1);
    app.close().unwrap();
    let mut last = BTreeMap::new();
    for (k, v, _) in read_all(&b, "counts") {
        last.insert(k, long(&v));
    }
    assert_eq!(last.get("a@0"), Some(&4));
    assert_eq!(last.get("a@10000"), Some(&2));
    assert_eq!(last.get("b@10000"), Some(&1));
}

#[test]
fn window_close_emits_one_final_result_per_window() {
    let (_d, b) = broker();
    let builder = StreamsBuilder::new();
    builder
        .stream("in", Utf8, Utf8)
        .group_by_key(Utf8, Utf8)
        .windowed_by(TimeWindows::tumbling(Duration::from_secs(10)).grace(Duration::from_secs(1)))
        .emit(EmitStrategy::OnWindowClose)
        .count("final")
        .to_stream()
        .map(|w, n: &i64| (format!("{}@{}", w.key, w.start), *n))
        .to("counts", Utf8, I64);
    let app = KafkaStreams::new(builder.build(), &b, config("final")).unwrap();
    app.start().unwrap();
    send(
        &b,
        &[
            ("a", "", 1_000),
            ("a", "", 2_000),
            ("a", "", 10_500),
            ("a", "", 11_500),
            ("a", "", 30_000),
        ],
    );
    wait("the streams app to catch up", || app.is_caught_up());
    app.close().unwrap();
    let got: Vec<(String, i64)> = read_all(&b, "counts")
        .into_iter()
        .map(|(k, v, _)| (k, long(&v)))
        .collect();
    // Window 0 closed at stream time 11 s (end 10 s + grace 1 s), window 10 s at 21 s;
    // window 30 s is still open: no result for it yet.
    assert_eq!(
        got,
        vec![("a@0".to_string(), 2), ("a@10000".to_string(), 2)]
    );
}

#[test]
fn hopping_windows_reduce_and_aggregate() {
    let (_d, b) = broker();
    let builder = StreamsBuilder::new();
    let grouped = builder.stream("in", Utf8, Utf8).group_by_key(Utf8, Utf8);
    grouped
        .windowed_by(TimeWindows::hopping(
            Duration::from_secs(10),
            Duration::from_secs(5),
        ))
        .count("hop")
        .to_stream()
        .map(|w, n: &i64| (format!("hop:{}@{}", w.key, w.start), *n))
        .to("counts", Utf8, I64);
    grouped
        .reduce("longest", |a: &String, b: &String| {
            if b.len() > a.len() {
                b.clone()
            } else {
                a.clone()
            }
        })
        .to_stream()
        .map(|k: &String, v: &String| (format!("longest:{k}"), v.len() as i64))
        .to("counts", Utf8, I64);
    grouped
        .aggregate(
            "chars",
            || 0i64,
            |_, v: &String, acc| acc + v.len() as i64,
            I64,
        )
        .to_stream()
        .map(|k: &String, n: &i64| (format!("chars:{k}"), *n))
        .to("counts", Utf8, I64);
    let app = KafkaStreams::new(builder.build(), &b, config("hop")).unwrap();
    app.start().unwrap();
    send(
        &b,
        &[
            ("a", "xx", 7_000),
            ("a", "xxxxx", 8_000),
            ("a", "x", 12_000),
        ],
    );
    wait("the streams app to catch up", || app.is_caught_up());
    app.close().unwrap();
    let mut last = BTreeMap::new();
    for (k, v, _) in read_all(&b, "counts") {
        last.insert(k, long(&v));
    }
    assert_eq!(last["hop:a@0"], 2);
    assert_eq!(last["hop:a@5000"], 3);
    assert_eq!(last["hop:a@10000"], 1);
    assert_eq!(last["longest:a"], 5);
    assert_eq!(last["chars:a"], 8);
}

#[test]
fn restart_restores_state_from_the_changelog() {
    let (dir, b) = broker();
    let topology = || {
        let builder = StreamsBuilder::new();
        builder
            .stream("in", Utf8, Utf8)
            .group_by(|_, v: &String| v.clone(), Utf8, Utf8)
            .count("per-value")
            .to_stream()
            .to("counts", Utf8, I64);
        builder.build()
    };
    let app = KafkaStreams::new(topology(), &b, config("restart")).unwrap();
    app.start().unwrap();
    send(&b, &[("1", "red", 1), ("2", "red", 2), ("3", "blue", 3)]);
    wait("the streams app to catch up", || app.is_caught_up());
    app.close().unwrap();
    drop(app);
    b.close().unwrap();
    drop(b);
    let b = Broker::open(dir.path()).unwrap();
    assert!(
        b.list_topics()
            .contains(&"restart-per-value-changelog".to_string())
    );
    let app = KafkaStreams::new(topology(), &b, config("restart")).unwrap();
    app.start().unwrap();
    send(&b, &[("4", "red", 4)]);
    wait("the streams app to catch up", || app.is_caught_up());
    assert_eq!(
        app.processed_records(),
        2,
        "only the new record (and its repartitioned copy) is processed"
    );
    app.close().unwrap();
    let last = read_all(&b, "counts")
        .into_iter()
        .rfind(|(k, _, _)| k == "red")
        .unwrap();
    assert_eq!(long(&last.1), 3, "the count continued from restored state");
}
