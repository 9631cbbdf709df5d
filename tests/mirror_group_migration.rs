//! A consumer group moved to a mirror with translated offsets continues there with
//! exactly the records it had not committed on the source: nothing is skipped, and the
//! only records it sees twice are the batch it had read but not committed when it
//! moved. The source topic is compacted, so its offsets have gaps and the target's
//! offsets differ from the source's; a plain topic moves along with it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use brooklet::connect::{Mirror, MirrorConfig};
use brooklet::{
    Broker, CleanupPolicy, ConsumerConfig, OffsetAndMetadata, OffsetReset, ProducerRecord,
    TopicConfig, TopicPartition,
};

mod support;
use support::read_partition;

const GROUP: &str = "billing";

fn consumer(b: &Broker) -> brooklet::Consumer {
    let mut c = b.consumer(
        ConsumerConfig::new()
            .group_id(GROUP)
            .auto_offset_reset(OffsetReset::Earliest)
            .enable_auto_commit(false)
            .max_poll_records(40),
    );
    c.subscribe(&["accounts", "payments"]).unwrap();
    c
}

type Seen = BTreeMap<(String, u32), Vec<String>>;

fn value(r: &brooklet::ConsumerRecord<'_>) -> String {
    String::from_utf8(r.value().unwrap().to_vec()).unwrap()
}

/// The values of `records`, in order.
fn values(records: &[brooklet::OwnedConsumerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap())
        .collect()
}

fn wait_caught_up(m: &Mirror, partitions: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lag = m.lag().unwrap();
        if lag.len() == partitions && lag.iter().all(|l| l.lag == 0) {
            return;
        }
        assert!(m.status().unwrap().error.is_none());
        assert!(Instant::now() < deadline, "{lag:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_group_moved_to_the_mirror_neither_skips_nor_repeats_committed_records() {
    let stress = std::env::var_os("BROOKLET_STRESS").is_some();
    let n = if stress { 60_000 } else { 3_000 };
    let dir = tempfile::tempdir().unwrap();
    let src = Broker::open(dir.path().join("dc1")).unwrap();
    let tgt = Broker::open(dir.path().join("dc2")).unwrap();
    src.create_topic(
        "accounts",
        TopicConfig::new(2)
            .cleanup_policy(CleanupPolicy::Compact)
            .segment_bytes(8 * 1024)
            .min_cleanable_dirty_ratio(0.0),
    )
    .unwrap();
    src.create_topic("payments", TopicConfig::new(3)).unwrap();
    let p = src.producer();
    // Values are unique; keys repeat, so compaction leaves gaps in the offsets.
    // Small batches: each must fit the small segments.
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        p.send_batch(chunk.iter().map(|i| {
            ProducerRecord::new("accounts")
                .key(format!("acct{}", i % 150))
                .value(format!("a{i}"))
        }))
        .unwrap();
    }
    p.send_batch((0..n).map(|i| {
        ProducerRecord::new("payments")
            .key(format!("p{i}"))
            .value(format!("p{i}"))
    }))
    .unwrap();
    let report = src.run_maintenance().unwrap();
    assert!(report.records_compacted > 0, "{report:?}");

    let m = Mirror::new(
        &src,
        &tgt,
        MirrorConfig::new("dc1-dc2", "accounts|payments"),
    )
    .unwrap();
    m.start().unwrap();
    wait_caught_up(&m, 5);
    let accounts_end = tgt.partition_log("accounts", 0).unwrap().log_end_offset();
    assert!(
        accounts_end < src.partition_log("accounts", 0).unwrap().log_end_offset(),
        "compaction gaps make target offsets differ from the source's"
    );

    // The group reads about half on the source, committing after every batch but the
    // last one it read (in flight when it moves).
    let mut committed_seen: Seen = BTreeMap::new();
    let mut in_flight: Seen = BTreeMap::new();
    {
        let mut c = consumer(&src);
        let mut read = 0;
        // Offsets after the previous batch, committed once the next one is read.
        let mut previous: Vec<(TopicPartition, OffsetAndMetadata)> = Vec::new();
        while read < n {
            let recs = c.poll(Duration::from_millis(200)).unwrap();
            if recs.is_empty() {
                continue;
            }
            c.commit_sync_offsets(&previous).unwrap();
            for (k, v) in std::mem::take(&mut in_flight) {
                committed_seen.entry(k).or_default().extend(v);
            }
            let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
            for r in recs.iter() {
                in_flight
                    .entry((r.topic().to_string(), r.partition()))
                    .or_default()
                    .push(value(&r));
                next.insert(
                    TopicPartition::new(r.topic(), r.partition()),
                    r.offset() + 1,
                );
                read += 1;
            }
            previous = next
                .into_iter()
                .map(|(tp, o)| (tp, OffsetAndMetadata::new(o)))
                .collect();
        }
        // Leave without committing the last batch.
        drop(c);
    }
    assert!(
        in_flight.values().map(Vec::len).sum::<usize>() > 0,
        "a batch is in flight when the group moves"
    );
    // The source moves on after the group left; the mirror follows.
    p.send_batch((n..n + 500).map(|i| {
        ProducerRecord::new("payments")
            .key(format!("p{i}"))
            .value(format!("p{i}"))
    }))
    .unwrap();
    wait_caught_up(&m, 5);

    let moved = m.migrate_group(GROUP).unwrap();
    assert_eq!(moved.len(), 5, "{moved:?}");
    let accounts: Vec<_> = moved
        .iter()
        .filter(|t| t.source.topic() == "accounts")
        .collect();
    assert!(
        accounts.iter().any(|t| t.target_offset != t.source_offset),
        "compacted partitions translate to different offsets: {moved:?}"
    );

    // The group continues on the target.
    let mut target_seen: Seen = BTreeMap::new();
    {
        let mut c = consumer(&tgt);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut idle = 0;
        // Read until the target has nothing more for a while.
        while idle < 5 {
            assert!(Instant::now() < deadline, "target group never went idle");
            let recs = c.poll(Duration::from_millis(50)).unwrap();
            if recs.is_empty() {
                idle += 1;
            } else {
                idle = 0;
            }
            for r in recs.iter() {
                target_seen
                    .entry((r.topic().to_string(), r.partition()))
                    .or_default()
                    .push(value(&r));
            }
        }
    }

    // Per partition: committed-on-source ++ read-on-target == the whole log, and what
    // was read twice is exactly the in-flight batch.
    for (topic, parts) in [("accounts", 2u32), ("payments", 3)] {
        for p in 0..parts {
            let k = (topic.to_string(), p);
            let log = values(&read_partition(&tgt, topic, p));
            assert_eq!(
                log,
                values(&read_partition(&src, topic, p)),
                "{topic}-{p}: mirror equals source"
            );
            let before = committed_seen.get(&k).cloned().unwrap_or_default();
            let after = target_seen.get(&k).cloned().unwrap_or_default();
            let flight = in_flight.get(&k).cloned().unwrap_or_default();
            let mut joined = before.clone();
            joined.extend(after.iter().cloned());
            assert_eq!(
                joined, log,
                "{topic}-{p}: skipped or repeated committed records"
            );
            assert!(
                after.starts_with(&flight),
                "{topic}-{p}: in-flight batch read again first"
            );
        }
    }
    m.stop().unwrap();
}
