//! Retention and maintenance: segments past `retention_ms` or beyond `retention_bytes`
//! are deleted (never the active one) while a consumer reads, which loses nothing the
//! policy keeps and never crashes; `delete_records` moves the start (persisted), and a
//! consumer before it gets `auto_offset_reset` (or `OffsetOutOfRange` under `none`);
//! keyless records are refused on compacted topics; and `__consumer_offsets`, compacted,
//! stays small under many commits.

use std::time::Duration;

use brooklet::{
    Broker, CleanupPolicy, ConsumerConfig, Error, OffsetAndMetadata, OffsetReset, ProducerRecord,
    TopicConfig, TopicPartition,
};

fn broker(dir: &std::path::Path) -> Broker {
    Broker::builder(dir)
        .maintenance_interval(Duration::ZERO)
        .open()
        .unwrap()
}

#[test]
fn retention_by_time_deletes_old_segments_under_a_reader() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic(
        "t",
        TopicConfig::new(1)
            .segment_bytes(4096)
            .retention_ms(Some(Duration::from_secs(3600))),
    )
    .unwrap();
    let p = b.producer();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // 300 old records (two hours ago), then 300 fresh ones.
    for i in 0..600i64 {
        let ts = if i < 300 { now - 2 * 3600 * 1000 } else { now };
        p.send(
            ProducerRecord::new("t")
                .value(i.to_be_bytes().to_vec())
                .timestamp(ts),
        )
        .unwrap();
    }
    let mut c = b.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .max_poll_records(50),
    );
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let first = c.poll(Duration::from_secs(1)).unwrap();
    assert_eq!(first.iter().next().unwrap().offset(), 0);
    let report = b.run_maintenance().unwrap();
    assert!(report.segments_deleted > 0, "{report:?}");
    let d = b.describe_topic("t").unwrap();
    let start = d.partitions[0].log_start_offset;
    assert!(start > 0 && start <= 300, "start {start}");
    // The reader's batch is still valid; its next poll resets to the new start.
    assert!(first.iter().all(|r| r.value().is_some()));
    let mut seen = Vec::new();
    loop {
        let r = c.poll(Duration::from_millis(50)).unwrap();
        if r.is_empty() {
            break;
        }
        seen.extend(r.iter().map(|r| r.offset()));
    }
    assert_eq!(seen.first(), Some(&start.max(50)));
    assert_eq!(*seen.last().unwrap(), 599);
    // Every fresh record is kept.
    assert!((300..600).all(|o| seen.contains(&o)));
}

#[test]
fn retention_by_size_keeps_the_newest_bytes_and_the_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic(
        "t",
        TopicConfig::new(1)
            .segment_bytes(4096)
            .retention_ms(None)
            .retention_bytes(Some(10_000)),
    )
    .unwrap();
    let p = b.producer();
    for i in 0..1000u32 {
        p.send(ProducerRecord::new("t").value(vec![i as u8; 50]))
            .unwrap();
    }
    b.run_maintenance().unwrap();
    let d = &b.describe_topic("t").unwrap().partitions[0];
    assert!(
        d.size_bytes >= 10_000 - 4096 && d.size_bytes < 10_000 + 4096,
        "{d:?}"
    );
    assert_eq!(d.log_end_offset, 1000);
    assert!(d.segments >= 2);
    // A tiny limit never deletes the active segment.
    b.delete_topic("t").unwrap();
    b.create_topic(
        "u",
        TopicConfig::new(1)
            .segment_bytes(4096)
            .retention_bytes(Some(1)),
    )
    .unwrap();
    for _ in 0..10 {
        p.send(ProducerRecord::new("u").value("x")).unwrap();
    }
    b.run_maintenance().unwrap();
    assert_eq!(
        b.describe_topic("u").unwrap().partitions[0].log_end_offset,
        10
    );
    assert_eq!(
        b.partition_log("u", 0)
            .unwrap()
            .read(0, 1 << 20)
            .unwrap()
            .records()
            .count(),
        10
    );
}

#[test]
fn delete_records_moves_the_start_and_consumers_reset() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", TopicConfig::new(1).segment_bytes(4096))
        .unwrap();
    let p = b.producer();
    for i in 0..500u32 {
        p.send(ProducerRecord::new("t").value(i.to_be_bytes().to_vec()))
            .unwrap();
    }
    let tp = TopicPartition::new("t", 0);
    assert_eq!(b.delete_records(&tp, 123).unwrap(), 123);
    assert!(matches!(
        b.delete_records(&tp, 501),
        Err(Error::OffsetOutOfRange { .. })
    ));
    let log = b.partition_log("t", 0).unwrap();
    assert!(matches!(
        log.read(100, 100),
        Err(Error::OffsetOutOfRange { log_start: 123, .. })
    ));
    let mut none = b.consumer(
        ConsumerConfig::new()
            .group_id("n")
            .auto_offset_reset(OffsetReset::None),
    );
    none.assign(std::slice::from_ref(&tp)).unwrap();
    none.commit_sync_offsets(&[(tp.clone(), OffsetAndMetadata::new(5))])
        .unwrap();
    assert!(matches!(
        none.poll(Duration::from_millis(10)),
        Err(Error::OffsetOutOfRange { offset: 5, .. })
    ));
    let mut earliest = b.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest));
    earliest.assign(std::slice::from_ref(&tp)).unwrap();
    let r = earliest.poll(Duration::from_secs(1)).unwrap();
    assert_eq!(r.iter().next().unwrap().offset(), 123);
    drop((none, earliest));
    b.close().unwrap();
    drop(b);
    // Persisted.
    let b = broker(dir.path());
    assert_eq!(
        b.describe_topic("t").unwrap().partitions[0].log_start_offset,
        123
    );
}

#[test]
fn compacted_topics_refuse_keyless_records_and_compact_in_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic(
        "c",
        TopicConfig::new(1)
            .segment_bytes(2048)
            .cleanup_policy(CleanupPolicy::Compact),
    )
    .unwrap();
    let p = b.producer();
    let e = p
        .send(ProducerRecord::new("c").value("no key"))
        .unwrap_err();
    assert!(e.to_string().contains("needs a key"), "{e}");
    for i in 0..400u32 {
        p.send(
            ProducerRecord::new("c")
                .key(format!("k{}", i % 4))
                .value(i.to_string()),
        )
        .unwrap();
    }
    let r = b.run_maintenance().unwrap();
    assert!(r.records_compacted > 0, "{r:?}");
    let log = b.partition_log("c", 0).unwrap();
    let mut n = 0;
    let mut off = log.log_start_offset();
    while off < log.log_end_offset() {
        let f = log.read(off, 1 << 20).unwrap();
        n += f.records().count();
        off = f.next_offset();
    }
    assert!(n < 100, "{n} records left after compaction");
}

#[test]
fn consumer_offsets_stay_small_under_many_commits() {
    let commits: u32 = if std::env::var_os("BROOKLET_STRESS").is_some() {
        2_000_000
    } else {
        60_000
    };
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", TopicConfig::new(4)).unwrap();
    let mut c = b.consumer(ConsumerConfig::new().group_id("g"));
    let tps: Vec<TopicPartition> = (0..4).map(|p| TopicPartition::new("t", p)).collect();
    c.assign(&tps).unwrap();
    let mut max_size = 0;
    for i in 0..commits {
        let tp = &tps[(i % 4) as usize];
        c.commit_sync_offsets(&[(tp.clone(), OffsetAndMetadata::new(i as i64))])
            .unwrap();
        if i % 5_000 == 4_999 {
            b.run_maintenance().unwrap();
            let size: u64 = b
                .describe_topic("__consumer_offsets")
                .unwrap()
                .partitions
                .iter()
                .map(|p| p.size_bytes)
                .sum();
            max_size = max_size.max(size);
        }
    }
    // ~60 bytes per commit: without compaction the topic would hold commits * 60 bytes.
    // Compacted, it stays within about two segments (1 MiB each) of one partition.
    assert!(
        max_size < 3 << 20,
        "__consumer_offsets grew to {max_size} bytes after {commits} commits"
    );
    let committed = c.committed(&tps).unwrap();
    assert_eq!(
        committed[&tps[3]].as_ref().unwrap().offset,
        (commits - 1) as i64
    );
    drop(c);
    b.close().unwrap();
    drop(b);
    // Replay after compaction still yields the latest offsets.
    let b = broker(dir.path());
    let offs = b.list_group_offsets("g").unwrap();
    assert_eq!(
        offs.iter().map(|o| o.committed).max(),
        Some((commits - 1) as i64)
    );
    eprintln!("__consumer_offsets: {commits} commits, at most {max_size} bytes");
}
