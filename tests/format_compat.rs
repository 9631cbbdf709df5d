//! A data directory written by the previous release (brooklet 0.1.0 as landed before
//! issue 12: `tests/fixtures/datadir-v0.1.0`, closed cleanly) opens with today's code,
//! cleanly and after a simulated crash, with every record, the compacted state, the
//! log start set by `delete_records` and the group's commits, and takes new writes.
//!
//! The fixture was written by a program that made: topic `events` (3 partitions, 8 KiB
//! segments) with 600 records, record `i` in partition `i % 3` with key `k{i % 17}`,
//! value `value("events", i)`, timestamp `1_700_000_000_000 + i` and header `n = i`;
//! `delete_records(events-1, 50)`; topic `state` (compacted, 4 KiB segments) with 300
//! records of keys `key-{i % 10}` and a tombstone for `key-3`, then one maintenance
//! pass; topic `stamped` (LogAppendTime) with 5 records; group `readers` committing
//! `events-0` at 120 and `events-2` at 77 with metadata `m`.

mod support;

use std::collections::HashMap;
use std::path::Path;

use brooklet::{
    Broker, ConsumerConfig, OwnedConsumerRecord, ProducerRecord, TimestampType, TopicPartition,
};

fn value(t: &str, i: u64) -> Vec<u8> {
    let mut v = format!("{t}-{i:05}-").into_bytes();
    v.extend(std::iter::repeat_n(
        b'a' + (i % 26) as u8,
        (i % 97) as usize,
    ));
    v
}

fn fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("data");
    support::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/datadir-v0.1.0"),
        &dir,
    );
    (d, dir)
}

/// Every record of `tp` from its log start, through the public consumer.
fn read(b: &Broker, tp: &TopicPartition) -> Vec<OwnedConsumerRecord> {
    support::read_partition(b, tp.topic(), tp.partition())
}

fn check(b: &Broker) {
    assert_eq!(b.list_topics(), vec!["events", "stamped", "state"]);
    assert!(b.open_report().is_clean(), "{:?}", b.open_report());
    for p in 0..3u32 {
        let tp = TopicPartition::new("events", p);
        let recs = read(b, &tp);
        let start = if p == 1 { 50 } else { 0 };
        assert_eq!(recs.len(), 200 - start, "{tp}");
        for (n, r) in recs.iter().enumerate() {
            let off = (start + n) as u64;
            let i = off * 3 + u64::from(p);
            assert_eq!(r.offset, off as i64);
            assert_eq!(r.key.as_deref(), Some(format!("k{}", i % 17).as_bytes()));
            assert_eq!(r.value.as_deref(), Some(&value("events", i)[..]));
            assert_eq!(r.timestamp, 1_700_000_000_000 + i as i64);
            let h = &r.headers[0];
            assert_eq!(
                (h.key.as_str(), h.value.as_deref()),
                ("n", Some(i.to_string().as_bytes()))
            );
        }
    }
    // The compacted topic: the latest value of every key (key-3 deleted).
    let mut latest: HashMap<Vec<u8>, Option<Vec<u8>>> = HashMap::new();
    for r in read(b, &TopicPartition::new("state", 0)) {
        latest.insert(r.key.unwrap(), r.value);
    }
    for k in 0..10u64 {
        let want = (k != 3).then(|| value("state", 290 + k));
        let got = latest.get(format!("key-{k}").as_bytes()).cloned().flatten();
        assert_eq!(got, want, "key-{k}");
    }
    let stamped = read(b, &TopicPartition::new("stamped", 0));
    assert_eq!(stamped.len(), 5);
    assert!(stamped.iter().all(
        |r| r.timestamp_type == TimestampType::LogAppendTime && r.timestamp > 1_700_000_000_000
    ));
    // The group's commits.
    let c = b.consumer(ConsumerConfig::new().group_id("readers"));
    let tps = [
        TopicPartition::new("events", 0),
        TopicPartition::new("events", 1),
        TopicPartition::new("events", 2),
    ];
    let committed = c.committed(&tps).unwrap();
    assert_eq!(committed[&tps[0]].as_ref().unwrap().offset, 120);
    assert!(committed[&tps[1]].is_none());
    let m = committed[&tps[2]].as_ref().unwrap();
    assert_eq!((m.offset, m.metadata.as_str()), (77, "m"));
}

#[test]
fn the_previous_release_directory_opens_with_everything_in_it() {
    let (_d, dir) = fixture();
    let b = Broker::open(&dir).unwrap();
    check(&b);
    let m = b
        .producer()
        .send(ProducerRecord::new("events").partition(0).value("new"))
        .unwrap();
    assert_eq!(m.offset(), 200);
    b.close().unwrap();
    drop(b);
    let b = Broker::open(&dir).unwrap();
    assert_eq!(read(&b, &TopicPartition::new("events", 0)).len(), 201);
}

/// The same directory as a crash would leave it (no clean-shutdown markers): recovery
/// validates from the old recovery points and keeps everything.
#[test]
fn the_previous_release_directory_recovers_after_a_crash() {
    let (_d, dir) = fixture();
    for e in std::fs::read_dir(&dir).unwrap() {
        let marker = e.unwrap().path().join(".clean-shutdown");
        if marker.exists() {
            std::fs::remove_file(marker).unwrap();
        }
    }
    let b = Broker::open(&dir).unwrap();
    check(&b);
}
