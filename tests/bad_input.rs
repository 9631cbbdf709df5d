//! Bad input never panics: every public entry point given invalid arguments (bad names
//! and configs, oversized records, out-of-range offsets and partitions), used through a
//! closed handle, or opening a data directory with corrupted or foreign files or one
//! locked by another `Broker`, returns a typed `brooklet::Error` whose message names
//! what is wrong (topic, partition, group, file). Every `Error` variant that the code
//! can return is produced here at least once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use brooklet::format::Batch;
use brooklet::streams::{KafkaStreams, StreamsBuilder, StreamsConfig, Utf8};
use brooklet::{
    Broker, CleanupPolicy, Consumer, ConsumerConfig, Error, FlushPolicy, OffsetAndMetadata,
    OffsetReset, OffsetSpec, ProducerRecord, RebalanceListener, TopicConfig, TopicPartition,
};

fn open() -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::builder(dir.path())
        .maintenance_interval(Duration::ZERO)
        .open()
        .unwrap();
    (dir, b)
}

fn tp(t: &str, p: u32) -> TopicPartition {
    TopicPartition::new(t, p)
}

/// The error of `r`, which must have failed.
#[track_caller]
fn err<T: std::fmt::Debug>(r: brooklet::Result<T>) -> Error {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// The message names every one of `what`.
#[track_caller]
fn names(e: &Error, what: &[&str]) {
    let msg = e.to_string();
    for w in what {
        assert!(msg.contains(w), "message `{msg}` does not name `{w}`");
    }
}

fn consumer(b: &Broker, group: Option<&str>) -> Consumer {
    let mut cfg = ConsumerConfig::new()
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false);
    if let Some(g) = group {
        cfg = cfg.group_id(g);
    }
    b.consumer(cfg)
}

fn produce(b: &Broker, topic: &str, partition: u32, n: usize) {
    let p = b.producer();
    for i in 0..n {
        p.send(
            ProducerRecord::new(topic)
                .partition(partition)
                .key(format!("k{i}"))
                .value(format!("value-{i}")),
        )
        .unwrap();
    }
}

// ---------------------------------------------------------------------------------
// Names and configs

const BAD_NAMES: &[&str] = &["", ".", "..", "a b", "a/b", "../x", "é", "t\0", "tab\t"];

#[test]
fn bad_topic_names_are_refused_by_every_entry_point() {
    let (_d, b) = open();
    let long = "x".repeat(250);
    let mut names_to_try: Vec<&str> = BAD_NAMES.to_vec();
    names_to_try.push(&long);
    for &name in &names_to_try {
        let e = err(b.create_topic(name, TopicConfig::new(1)));
        assert!(
            matches!(&e, Error::InvalidTopicName { name: n, .. } if n == name),
            "{e}"
        );
        if !name.is_empty() && name.len() < 100 {
            names(&e, &[name]);
        }
        let mut c = consumer(&b, Some("g"));
        let e = err(c.subscribe(&["ok", name]));
        assert!(matches!(e, Error::InvalidTopicName { .. }), "{name:?}: {e}");
        // Unknown to everything that looks a topic up.
        for e in [
            err(b.describe_topic(name)),
            err(b.delete_topic(name)),
            err(b.partition_count(name)),
            err(b.partition_log(name, 0)),
            err(b.create_partitions(name, 2)),
            err(b.producer().send(ProducerRecord::new(name).value("v"))),
        ] {
            assert!(
                matches!(&e, Error::UnknownTopic { topic } if topic == name),
                "{e}"
            );
        }
        let e = err(KafkaStreams::new(
            StreamsBuilder::new().build(),
            &b,
            StreamsConfig::new(name),
        ));
        assert!(matches!(e, Error::InvalidTopicName { .. }), "{name:?}: {e}");
    }
    // Reserved and taken names.
    let e = err(b.create_topic("__mine", TopicConfig::new(1)));
    assert!(matches!(e, Error::InvalidTopicName { .. }), "{e}");
    names(&e, &["__mine", "reserved"]);
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let e = err(b.create_topic("t", TopicConfig::new(1)));
    assert!(
        matches!(&e, Error::TopicExists { topic } if topic == "t"),
        "{e}"
    );
    names(&e, &["`t`"]);
    // Auto-creation applies the naming rules too.
    let dir = tempfile::tempdir().unwrap();
    let auto = Broker::builder(dir.path())
        .auto_create_topics(true)
        .open()
        .unwrap();
    for &name in BAD_NAMES {
        let e = err(auto.producer().send(ProducerRecord::new(name).value("v")));
        assert!(matches!(e, Error::InvalidTopicName { .. }), "{name:?}: {e}");
    }
    assert!(auto.list_topics().is_empty());
    // Internal topics cannot be deleted.
    let mut c = consumer(&b, Some("g"));
    c.assign(&[tp("t", 0)]).unwrap();
    c.commit_sync_offsets(&[(tp("t", 0), OffsetAndMetadata::new(0))])
        .unwrap();
    let e = err(b.delete_topic("__consumer_offsets"));
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    names(&e, &["__consumer_offsets"]);
    // Patterns: invalid regular expressions, and Java-only constructs (look-ahead,
    // back-references) that would otherwise match differently.
    for p in [
        "(",
        "[a-",
        "a)",
        "*",
        "a{2,1}",
        "(?=x)",
        r"(a)\1",
        r"\p{Nope}",
    ] {
        let e = err(c.subscribe_pattern(p));
        assert!(matches!(e, Error::InvalidArgument(_)), "{p}: {e}");
        names(&e, &[p, "regular expression"]);
    }
}

/// Kafka refuses a topic whose name equals an existing one once `.` is read as `_`
/// (`InvalidTopicException: Topic 'x_y' collides with existing topics: x.y`): the two
/// would share metric names. Found as a bug: brooklet created both.
#[test]
fn colliding_topic_names_are_refused() {
    let (_d, b) = open();
    b.create_topic("x.y", TopicConfig::new(1)).unwrap();
    b.create_topic("a_b.c", TopicConfig::new(1)).unwrap();
    for (name, existing) in [("x_y", "x.y"), ("a.b_c", "a_b.c"), ("a_b_c", "a_b.c")] {
        let e = err(b.create_topic(name, TopicConfig::new(1)));
        assert!(
            matches!(&e, Error::InvalidTopicName { name: n, .. } if n == name),
            "{name}: {e}"
        );
        names(
            &e,
            &[&format!("`{name}`"), "collides", &format!("`{existing}`")],
        );
    }
    // The exact name is still TopicExists; names that differ otherwise are fine.
    let e = err(b.create_topic("x.y", TopicConfig::new(1)));
    assert!(matches!(e, Error::TopicExists { .. }), "{e}");
    b.create_topic("x-y", TopicConfig::new(1)).unwrap();
    b.create_topic("xy", TopicConfig::new(1)).unwrap();
    // Auto-creation too.
    let dir = tempfile::tempdir().unwrap();
    let auto = Broker::builder(dir.path())
        .auto_create_topics(true)
        .open()
        .unwrap();
    auto.producer()
        .send(ProducerRecord::new("m.n").value("v"))
        .unwrap();
    let e = err(auto.producer().send(ProducerRecord::new("m_n").value("v")));
    assert!(matches!(e, Error::InvalidTopicName { .. }), "{e}");
    assert_eq!(auto.list_topics(), vec!["m.n"]);
    // After a deletion the name is free again.
    b.delete_topic("x.y").unwrap();
    b.create_topic("x_y", TopicConfig::new(1)).unwrap();
    let mut all = b.list_topics();
    all.sort();
    assert_eq!(all, vec!["a_b.c", "x-y", "x_y", "xy"]);
}

/// Kafka's 249-character limit is too long for brooklet's file names: a partition
/// directory marked for deletion is `<name>-<partition>.<32 hex digits>-delete`, and
/// every name must fit the file system's 255 bytes. The longest name brooklet accepts
/// is 255 - 51 = 204 characters, refused above that with `InvalidTopicName` at create
/// time. Found as a bug: a 249-character name failed with `Io` "File name too long"
/// (the metadata's `<name>.topic.tmp`).
#[test]
fn topic_names_too_long_for_the_file_system_are_invalid_topic_names() {
    const LIMIT: usize = 204;
    let (d, b) = open();
    for len in [249, 230, LIMIT + 1] {
        let name = "n".repeat(len);
        let e = err(b.create_topic(&name, TopicConfig::new(1)));
        assert!(
            matches!(&e, Error::InvalidTopicName { name: n, .. } if *n == name),
            "{len}: {e}"
        );
        names(&e, &[&len.to_string(), &LIMIT.to_string(), "255"]);
    }
    assert!(b.list_topics().is_empty());
    // A name of exactly the limit works everywhere, and its longest file name fits.
    let name = "n".repeat(LIMIT);
    b.create_topic(&name, TopicConfig::new(2)).unwrap();
    b.create_partitions(&name, 3).unwrap();
    b.producer()
        .send(ProducerRecord::new(&name).partition(2).value("v"))
        .unwrap();
    let marked = format!(
        "{name}-{}.{}-delete",
        u32::MAX,
        "0123456789abcdef".repeat(2)
    );
    assert_eq!(marked.len(), 255);
    std::fs::create_dir(d.path().join(&marked)).unwrap();
    std::fs::remove_dir(d.path().join(&marked)).unwrap();
    b.close().unwrap();
    drop(b);
    let b = Broker::open(d.path()).unwrap();
    assert_eq!(b.partition_count(&name).unwrap(), 3);
    b.delete_topic(&name).unwrap();
    // Auto-creation applies the limit too.
    let dir = tempfile::tempdir().unwrap();
    let auto = Broker::builder(dir.path())
        .auto_create_topics(true)
        .open()
        .unwrap();
    let e = err(auto
        .producer()
        .send(ProducerRecord::new("a".repeat(249)).value("v")));
    assert!(matches!(e, Error::InvalidTopicName { .. }), "{e}");
}

#[test]
fn bad_configs_are_refused_naming_the_setting() {
    let (_d, b) = open();
    let cases: Vec<(TopicConfig, &str)> = vec![
        (TopicConfig::new(0), "partition"),
        (TopicConfig::new(100_001), "partitions"),
        (TopicConfig::new(1).segment_bytes(10), "segment_bytes"),
        (TopicConfig::new(1).segment_bytes(4 << 30), "segment_bytes"),
        (
            TopicConfig::new(1).index_interval_bytes(0),
            "index_interval_bytes",
        ),
        (
            TopicConfig::new(1).max_message_bytes(0),
            "max_message_bytes",
        ),
        (
            TopicConfig::new(1).flush(FlushPolicy::Interval(Duration::ZERO)),
            "flush interval",
        ),
        (TopicConfig::new(1).segment_ms(Duration::ZERO), "segment_ms"),
        (
            TopicConfig::new(1).min_cleanable_dirty_ratio(1.5),
            "min_cleanable_dirty_ratio",
        ),
        (
            TopicConfig::new(1).min_cleanable_dirty_ratio(f64::NAN),
            "min_cleanable_dirty_ratio",
        ),
        // Kafka's time configs are LONG milliseconds: a longer duration cannot be stored
        // (the topic file would not reopen) nor compared with a clock without wrapping.
        (TopicConfig::new(1).segment_ms(Duration::MAX), "segment_ms"),
        (
            TopicConfig::new(1).retention_ms(Some(Duration::MAX)),
            "retention_ms",
        ),
        (
            TopicConfig::new(1).delete_retention_ms(Duration::MAX),
            "delete_retention_ms",
        ),
        (
            TopicConfig::new(1).min_compaction_lag_ms(Duration::MAX),
            "min_compaction_lag_ms",
        ),
        (
            TopicConfig::new(1).flush(FlushPolicy::Interval(Duration::MAX)),
            "flush interval",
        ),
    ];
    for (cfg, setting) in cases {
        let e = err(b.create_topic("t", cfg.clone()));
        assert!(matches!(e, Error::InvalidConfig { .. }), "{cfg:?}: {e}");
        names(&e, &[setting]);
        let dir = tempfile::tempdir().unwrap();
        let e = err(Broker::builder(dir.path())
            .default_topic_config(cfg.clone())
            .open());
        assert!(matches!(e, Error::InvalidConfig { .. }), "{cfg:?}: {e}");
    }
    assert!(b.list_topics().is_empty(), "a refused topic left metadata");
    b.create_topic("t", TopicConfig::new(2)).unwrap();
    for n in [0, 1, 2] {
        let e = err(b.create_partitions("t", n));
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
        names(&e, &["`t`", "2 partitions"]);
    }
    assert_eq!(b.partition_count("t").unwrap(), 2);
    // The offsets topic keeps its partition count: each group's partition is its id's
    // hash modulo the count (Kafka's TopicCommand refuses this too).
    let mut c = b.consumer(brooklet::ConsumerConfig::new().group_id("g"));
    c.commit_sync_offsets(&[(
        brooklet::TopicPartition::new("t", 0),
        brooklet::OffsetAndMetadata::new(1),
    )])
    .unwrap();
    let before = b.partition_count("__consumer_offsets").unwrap();
    let e = err(b.create_partitions("__consumer_offsets", before + 8));
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    names(&e, &["`__consumer_offsets`", "cannot be changed"]);
    assert_eq!(b.partition_count("__consumer_offsets").unwrap(), before);
    // The directory itself: a plain file where the data directory should be.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let e = err(Broker::open(&file));
    assert!(matches!(e, Error::Io { .. }), "{e}");
    names(&e, &["not-a-dir"]);
}

// ---------------------------------------------------------------------------------
// Records

#[test]
fn oversized_and_keyless_records_are_refused_and_write_nothing() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(2).max_message_bytes(1000))
        .unwrap();
    let p = b.producer();
    let big = vec![1u8; 2000];
    let e = err(p.send(ProducerRecord::new("t").value(big.clone())));
    assert!(
        matches!(&e, Error::RecordTooLarge { topic, max: 1000, size } if topic == "t" && *size > 2000),
        "{e}"
    );
    names(&e, &["`t`", "1000"]);
    // A big header or key counts too.
    let e = err(p.send(ProducerRecord::new("t").key(big.clone()).value("v")));
    assert!(matches!(e, Error::RecordTooLarge { .. }), "{e}");
    let e = err(p.send(ProducerRecord::new("t").header("h", big.clone()).value("v")));
    assert!(matches!(e, Error::RecordTooLarge { .. }), "{e}");
    // One bad record in a batch: nothing of the batch is written.
    let batch = vec![
        ProducerRecord::new("t").partition(0).value("ok"),
        ProducerRecord::new("t").partition(1).value(big.clone()),
    ];
    let e = err(p.send_batch(batch));
    assert!(matches!(e, Error::RecordTooLarge { .. }), "{e}");
    let batch = vec![
        ProducerRecord::new("t").partition(0).value("ok"),
        ProducerRecord::new("t").partition(9).value("v"),
    ];
    let e = err(p.send_batch(batch));
    assert!(matches!(e, Error::UnknownPartition { .. }), "{e}");
    for part in 0..2 {
        assert_eq!(b.partition_log("t", part).unwrap().log_end_offset(), 0);
    }
    // A record larger than a segment (the limit allows it) fails the append cleanly.
    b.create_topic(
        "small",
        TopicConfig::new(1)
            .segment_bytes(4096)
            .max_message_bytes(1 << 20),
    )
    .unwrap();
    p.send(ProducerRecord::new("small").value("first")).unwrap();
    let e = err(p.send(ProducerRecord::new("small").value(vec![0u8; 10_000])));
    assert!(matches!(e, Error::RecordTooLarge { max: 4096, .. }), "{e}");
    names(&e, &["small", "segment_bytes"]);
    let m = p.send(ProducerRecord::new("small").value("after")).unwrap();
    assert_eq!(m.offset(), 1);
    // Compacted topics need keys.
    b.create_topic(
        "c",
        TopicConfig::new(1).cleanup_policy(CleanupPolicy::Compact),
    )
    .unwrap();
    let e = err(p.send(ProducerRecord::new("c").value("no key")));
    assert!(matches!(e, Error::InvalidRecord { .. }), "{e}");
    names(&e, &["`c`", "key"]);
    assert_eq!(b.partition_log("c", 0).unwrap().log_end_offset(), 0);
}

#[test]
fn extreme_timestamps_and_empty_fields_round_trip() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let p = b.producer();
    // Negative timestamps are refused at send (see
    // `negative_record_timestamps_are_refused_at_send`).
    let ts = [i64::MAX, 0, i64::MAX - 1, 1];
    let recs: Vec<ProducerRecord> = ts
        .iter()
        .map(|&t| {
            ProducerRecord::new("t")
                .key(Vec::new())
                .value(Vec::new())
                .header("", Vec::new())
                .timestamp(t)
        })
        .collect();
    let meta = p.send_batch(recs).unwrap();
    assert_eq!(meta.len(), ts.len());
    let f = b.partition_log("t", 0).unwrap().read(0, 1 << 20).unwrap();
    let got: Vec<i64> = f.records().map(|r| r.unwrap().timestamp()).collect();
    assert_eq!(got, ts);
    let log = b.partition_log("t", 0).unwrap();
    for t in [i64::MIN, i64::MAX, 0] {
        log.offset_for_timestamp(t).unwrap();
    }
}

/// Kafka's `ProducerRecord` refuses a negative timestamp ("Invalid timestamp: -5.
/// Timestamp should always be non-negative or null."), -1 included: -1 is the record
/// format's "no timestamp", which a producer never sends. brooklet refuses it at send,
/// writing nothing of the batch.
#[test]
fn negative_record_timestamps_are_refused_at_send() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let p = b.producer();
    for ts in [-1, -2, i64::MIN] {
        let e = err(p.send(ProducerRecord::new("t").value("v").timestamp(ts)));
        assert!(matches!(e, Error::InvalidRecord { .. }), "{ts}: {e}");
        names(&e, &["`t`", "timestamp", &ts.to_string(), "non-negative"]);
        let batch = vec![
            ProducerRecord::new("t").value("ok").timestamp(5),
            ProducerRecord::new("t").value("bad").timestamp(ts),
        ];
        let e = err(p.send_batch(batch));
        assert!(matches!(e, Error::InvalidRecord { .. }), "{ts}: {e}");
    }
    assert_eq!(b.partition_log("t", 0).unwrap().log_end_offset(), 0);
    // Zero and the producer's clock are fine.
    p.send(ProducerRecord::new("t").value("v").timestamp(0))
        .unwrap();
    p.send(ProducerRecord::new("t").value("v")).unwrap();
}

/// Out-of-range client settings are refused as Kafka's `ConfigDef` validators refuse
/// them, naming the setting, at the first call that uses the configuration (the
/// builders cannot fail): `max.poll.records` atLeast(1), `max.poll.interval.ms`
/// atLeast(1), INT milliseconds at most `i32::MAX`, LONG ones at most `i64::MAX`,
/// `group.instance.id` non-empty and a valid id, `partition.assignment.strategy` not
/// empty. Found as bugs: `max_poll_records(0)` was silently 1, `linger(Duration::MAX)`
/// panicked in `send`, `max_poll_interval(Duration::MAX)` could never expire.
#[test]
fn out_of_range_client_configs_are_refused_naming_the_setting() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    produce(&b, "t", 0, 3);
    let base = || {
        ConsumerConfig::new()
            .group_id("g")
            .auto_offset_reset(OffsetReset::Earliest)
    };
    let cases: Vec<(ConsumerConfig, &str)> = vec![
        (base().max_poll_records(0), "max_poll_records"),
        (
            base().max_poll_interval(Duration::ZERO),
            "max_poll_interval",
        ),
        (
            base().max_poll_interval(Duration::from_micros(999)),
            "max_poll_interval",
        ),
        (base().max_poll_interval(Duration::MAX), "max_poll_interval"),
        (
            base().max_poll_interval(Duration::from_millis(i32::MAX as u64 + 1)),
            "max_poll_interval",
        ),
        (base().session_timeout(Duration::MAX), "session_timeout"),
        (
            base().auto_commit_interval(Duration::MAX),
            "auto_commit_interval",
        ),
        (base().group_instance_id(""), "group_instance_id"),
        (base().group_instance_id("a b"), "group_instance_id"),
        (
            base().group_instance_id("i".repeat(250)),
            "group_instance_id",
        ),
    ];
    for (cfg, setting) in cases {
        let mut c = b.consumer(cfg.clone());
        for e in [
            err(c.subscribe(&["t"])),
            err(c.subscribe_pattern("t")),
            err(c.assign(&[tp("t", 0)])),
            err(c.poll(Duration::ZERO)),
        ] {
            assert!(matches!(e, Error::InvalidConfig { .. }), "{setting}: {e}");
            names(&e, &[setting]);
        }
        assert!(c.assignment().is_empty());
    }
    // Group management needs an assignor; manual assignment does not (as in Kafka).
    let mut c = b.consumer(base().assignors(Vec::new()));
    let e = err(c.subscribe(&["t"]));
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    names(&e, &["assignors"]);
    c.assign(&[tp("t", 0)]).unwrap();
    assert_eq!(c.poll(Duration::ZERO).unwrap().count(), 3);
    // Limits Kafka accepts at zero keep Kafka's meaning: fetch.max.bytes and
    // max.partition.fetch.bytes are soft, the first batch is returned to make progress.
    for cfg in [
        base().fetch_max_bytes(0),
        base().max_partition_fetch_bytes(0),
        base().auto_commit_interval(Duration::ZERO),
        base().session_timeout(Duration::ZERO),
    ] {
        let mut c = b.consumer(cfg.clone());
        c.assign(&[tp("t", 0)]).unwrap();
        let mut n = 0;
        for _ in 0..3 {
            let got = c.poll(Duration::ZERO).unwrap().count();
            assert!(got >= 1, "{cfg:?}: a poll returned nothing");
            n += got;
            if n == 3 {
                break;
            }
        }
        assert_eq!(n, 3, "{cfg:?}");
    }
    // The producer: linger.ms is a LONG of milliseconds; batch.size 0 (Kafka's "no
    // batching") is allowed.
    let p = b.producer_with(brooklet::ProducerConfig::new().linger(Duration::MAX));
    let e = err(p.send(ProducerRecord::new("t").value("v")));
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    names(&e, &["linger"]);
    let e = err(p.send_batch(vec![ProducerRecord::new("t").value("v")]));
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    let p = b.producer_with(brooklet::ProducerConfig::new().batch_size(0));
    p.send(ProducerRecord::new("t").value("v")).unwrap();
    assert_eq!(b.partition_log("t", 0).unwrap().log_end_offset(), 4);
}

/// A poll may wait "forever": `poll(Duration::MAX)` must block until records, a
/// wakeup or a group change, not overflow the clock. Found as a bug: it panicked.
#[test]
fn poll_with_the_longest_timeout_waits_instead_of_panicking() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let mut c = consumer(&b, None);
    c.assign(&[tp("t", 0)]).unwrap();
    let h = c.wakeup_handle();
    let waker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        h.wakeup();
    });
    let e = within("poll(Duration::MAX)", move || {
        c.poll(Duration::MAX).map(|r| r.count())
    });
    assert!(matches!(e, Err(Error::Wakeup)), "{e:?}");
    waker.join().unwrap();
}

/// Kafka refuses an empty `group.id` (`InvalidGroupIdException`: "The configured
/// group.id should not be an empty string or whitespace."), and its group coordinator
/// answers `INVALID_GROUP_ID` to every group call naming the empty group. Found as a
/// bug: brooklet created, joined and committed for the group `""`.
#[test]
fn an_empty_group_id_is_refused_by_every_group_call() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let empty = |what: &str, e: Error| {
        assert!(matches!(e, Error::InvalidGroupId { .. }), "{what}: {e}");
        names(&e, &["group_id", "empty"]);
    };
    let mut c = b.consumer(ConsumerConfig::new().group_id(""));
    empty("subscribe", err(c.subscribe(&["t"])));
    empty("subscribe_pattern", err(c.subscribe_pattern("t")));
    empty("assign", err(c.assign(&[tp("t", 0)])));
    empty("poll", err(c.poll(Duration::ZERO)));
    empty("commit_sync", err(c.commit_sync()));
    let e = err(c.commit_sync_offsets(&[(tp("t", 0), OffsetAndMetadata::new(1))]));
    empty("commit_sync_offsets", e);
    empty("committed", err(c.committed(&[tp("t", 0)])));
    let (tx, rx) = std::sync::mpsc::channel();
    c.commit_async(move |r| {
        let _ = tx.send(r);
    });
    let _ = c.commit_sync();
    let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    empty("commit_async", r.unwrap_err());
    empty("describe_group", err(b.describe_group("")));
    empty("list_group_offsets", err(b.list_group_offsets("")));
    let e = err(b.reset_group_offsets("", &[tp("t", 0)], OffsetSpec::Earliest));
    empty("reset_group_offsets", e);
    empty(
        "commit_group_offsets",
        err(b.commit_group_offsets("", &[(tp("t", 0), 0)])),
    );
    empty("delete_group", err(b.delete_group("")));
    drop(c);
    assert!(b.list_groups().is_empty(), "{:?}", b.list_groups());
}

// ---------------------------------------------------------------------------------
// Offsets and partitions

#[test]
fn out_of_range_partitions_are_unknown_partition_everywhere() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(4)).unwrap();
    let check = |e: Error| {
        assert!(
            matches!(&e, Error::UnknownPartition { topic, partition: 7, partitions: 4 } if topic == "t"),
            "{e}"
        );
        names(&e, &["`t`", "4 partitions", "partition 7"]);
    };
    check(err(b
        .producer()
        .send(ProducerRecord::new("t").partition(7).value("v"))));
    check(err(b.partition_log("t", 7)));
    check(err(b.delete_records(&tp("t", 7), 0)));
    let mut c = consumer(&b, Some("g"));
    check(err(c.assign(&[tp("t", 0), tp("t", 7)])));
    assert!(
        c.assignment().is_empty(),
        "a failed assign assigned something"
    );
    check(err(c.offsets_for_times(&[(tp("t", 7), 0)])));
    check(err(c.beginning_offsets(&[tp("t", 7)])));
    check(err(c.end_offsets(&[tp("t", 7)])));
    check(err(b.reset_group_offsets(
        "g",
        &[tp("t", 7)],
        OffsetSpec::Earliest,
    )));
    let e = err(c.assign(&[tp("nope", 0)]));
    assert!(
        matches!(&e, Error::UnknownTopic { topic } if topic == "nope"),
        "{e}"
    );
    names(&e, &["`nope`"]);
    // Partitions that are not assigned.
    for e in [
        err(c.seek(&tp("t", 1), 0)),
        err(c.seek_to_beginning(&[tp("t", 1)])),
        err(c.seek_to_end(&[tp("t", 1)])),
        err(c.position(&tp("t", 1))),
        err(c.pause(&[tp("t", 1)])),
        err(c.resume(&[tp("t", 1)])),
    ] {
        assert!(matches!(e, Error::NotAssigned { .. }), "{e}");
        names(&e, &["t-1", "not assigned"]);
    }
}

/// Kafka refuses offset commits for partitions that do not exist
/// (UNKNOWN_TOPIC_OR_PARTITION); a commit that is accepted must survive a reopen.
#[test]
fn commits_for_unknown_partitions_are_refused() {
    let (d, b) = open();
    b.create_topic("t", TopicConfig::new(2)).unwrap();
    let mut c = consumer(&b, Some("g"));
    c.assign(&[tp("t", 0)]).unwrap();
    let e = err(c.commit_sync_offsets(&[(tp("nope", 0), OffsetAndMetadata::new(1))]));
    assert!(matches!(e, Error::UnknownTopic { .. }), "{e}");
    let e = err(c.commit_sync_offsets(&[(tp("t", u32::MAX), OffsetAndMetadata::new(1))]));
    assert!(matches!(e, Error::UnknownPartition { .. }), "{e}");
    drop(c);
    b.close().unwrap();
    drop(b);
    let b = Broker::open(d.path()).unwrap();
    assert!(b.list_group_offsets("g").unwrap().is_empty());
}

/// Kafka's offset commit schema has 16-bit string lengths: a group id or metadata
/// longer than 32767 bytes cannot be stored. brooklet must refuse it (or store it
/// whole): a commit acknowledged and then read back different after a reopen is lost.
#[test]
fn oversized_group_ids_and_metadata_are_refused_or_kept_whole() {
    let (d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let long_group = "g".repeat(40_000);
    let mut meta = OffsetAndMetadata::new(3);
    meta.metadata = "m".repeat(40_000);
    let mut accepted = Vec::new();
    for (group, m) in [
        (long_group.as_str(), OffsetAndMetadata::new(5)),
        ("g", meta.clone()),
    ] {
        let mut c = consumer(&b, Some(group));
        c.assign(&[tp("t", 0)]).unwrap();
        match c.commit_sync_offsets(&[(tp("t", 0), m.clone())]) {
            Err(e) if group == long_group => {
                assert!(matches!(e, Error::InvalidGroupId { .. }), "{e}");
            }
            Err(e) => assert!(matches!(e, Error::InvalidArgument(_)), "{e}"),
            Ok(()) => accepted.push((group.to_string(), m)),
        }
    }
    b.close().unwrap();
    drop(b);
    let b = Broker::open(d.path()).unwrap();
    let mut lost = Vec::new();
    for (group, m) in accepted {
        let c = consumer(&b, Some(&group));
        let got = c.committed(&[tp("t", 0)]).unwrap()[&tp("t", 0)].clone();
        let got = got.map(|o| (o.offset, o.metadata.len()));
        if got != Some((m.offset, m.metadata.len())) {
            lost.push(format!(
                "group id of {} bytes, metadata of {} bytes: committed {:?}, read back {got:?}",
                group.len(),
                m.metadata.len(),
                (m.offset, m.metadata.len())
            ));
        }
    }
    assert!(lost.is_empty(), "acknowledged commits changed: {lost:#?}");
}

#[test]
fn out_of_range_offsets_are_typed_errors_or_reset() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    produce(&b, "t", 0, 10);
    let log = b.partition_log("t", 0).unwrap();
    for off in [-1, 11, i64::MAX, i64::MIN] {
        let e = err(log.read(off, 100));
        assert!(
            matches!(&e, Error::OffsetOutOfRange { partition, offset, log_start: 0, log_end: 10 } if *partition == tp("t", 0) && *offset == off),
            "{e}"
        );
        names(&e, &["t-0", &off.to_string(), "0..=10"]);
        let e = err(b.delete_records(&tp("t", 0), off));
        assert!(matches!(e, Error::OffsetOutOfRange { .. }), "{off}: {e}");
        names(&e, &["t-0"]);
    }
    // Consumer seek: negative refused, beyond the end handled by auto_offset_reset.
    let mut c = b.consumer(
        ConsumerConfig::new()
            .group_id("strict")
            .auto_offset_reset(OffsetReset::None),
    );
    c.assign(&[tp("t", 0)]).unwrap();
    let e = err(c.position(&tp("t", 0)));
    assert!(matches!(e, Error::NoOffset { .. }), "{e}");
    names(&e, &["`strict`", "t-0"]);
    let e = err(c.poll(Duration::ZERO));
    assert!(matches!(e, Error::NoOffset { .. }), "{e}");
    let e = err(c.seek(&tp("t", 0), -5));
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    names(&e, &["t-0", "-5"]);
    c.seek(&tp("t", 0), 1_000).unwrap();
    let e = err(c.poll(Duration::ZERO));
    assert!(
        matches!(e, Error::OffsetOutOfRange { offset: 1000, .. }),
        "{e}"
    );
    names(&e, &["t-0", "1000"]);
    let mut c = consumer(&b, Some("lenient"));
    c.assign(&[tp("t", 0)]).unwrap();
    c.seek(&tp("t", 0), i64::MAX).unwrap();
    let got = c.poll(Duration::from_millis(100)).unwrap();
    assert_eq!(got.count(), 10, "Earliest resets an out-of-range seek");
    // Commits: negative refused; beyond the end accepted (Kafka does), reset on use.
    let e = err(c.commit_sync_offsets(&[(tp("t", 0), OffsetAndMetadata::new(-1))]));
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    names(&e, &["negative"]);
    c.commit_sync_offsets(&[(tp("t", 0), OffsetAndMetadata::new(50))])
        .unwrap();
    drop(c);
    let mut c = consumer(&b, Some("lenient"));
    c.assign(&[tp("t", 0)]).unwrap();
    assert_eq!(c.position(&tp("t", 0)).unwrap(), 0);
    drop(c);
    // Admin reset clamps to the log, as kafka-consumer-groups.sh does.
    for (spec, want) in [
        (OffsetSpec::Offset(-100), 0),
        (OffsetSpec::Offset(1_000), 10),
        (OffsetSpec::Timestamp(i64::MAX), 10),
        (OffsetSpec::Timestamp(i64::MIN), 0),
    ] {
        let got = b
            .reset_group_offsets("lenient", &[tp("t", 0)], spec)
            .unwrap();
        assert_eq!(got, vec![(tp("t", 0), want)], "{spec:?}");
    }
    // Groups that do not exist or have members.
    let e = err(b.describe_group("ghost"));
    assert!(matches!(e, Error::UnknownGroup { .. }), "{e}");
    names(&e, &["`ghost`"]);
    let e = err(b.delete_group("ghost"));
    names(&e, &["`ghost`"]);
    let mut member = consumer(&b, Some("busy"));
    member.subscribe(&["t"]).unwrap();
    member.poll(Duration::from_millis(10)).unwrap();
    for e in [
        err(b.reset_group_offsets("busy", &[], OffsetSpec::Earliest)),
        err(b.delete_group("busy")),
    ] {
        assert!(matches!(e, Error::GroupNotEmpty { .. }), "{e}");
        names(&e, &["`busy`", "members"]);
    }
    // Without a group.
    let mut solo = consumer(&b, None);
    for e in [
        err(solo.subscribe(&["t"])),
        err(solo.committed(&[tp("t", 0)])),
    ] {
        assert!(matches!(e, Error::InvalidGroupId { .. }), "{e}");
        names(&e, &["group_id"]);
    }
    solo.assign(&[tp("t", 0)]).unwrap();
    let e = err(solo.commit_sync());
    names(&e, &["group_id"]);
    // Mixing subscribe and assign.
    let e = err(member.assign(&[tp("t", 0)]));
    names(&e, &["unsubscribe"]);
    let e = err(solo.subscribe_pattern("t.*"));
    assert!(matches!(e, Error::InvalidGroupId { .. }), "{e}");
}

// ---------------------------------------------------------------------------------
// Closed handles

/// Runs `f` on a thread and fails if it does not return within 20 s (a hang).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} hung or panicked"))
}

#[test]
fn closed_broker_under_every_handle() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(2)).unwrap();
    b.create_topic("in", TopicConfig::new(1)).unwrap();
    produce(&b, "t", 0, 5);
    let producer = b.producer();
    let mut subscribed = consumer(&b, Some("g"));
    subscribed.subscribe(&["t"]).unwrap();
    subscribed.poll(Duration::from_millis(50)).unwrap();
    let mut assigned = consumer(&b, Some("h"));
    assigned.assign(&[tp("t", 0)]).unwrap();
    assigned.poll(Duration::from_millis(50)).unwrap();
    assigned.commit_sync().unwrap();
    let log = b.partition_log("t", 0).unwrap();
    let builder = StreamsBuilder::new();
    builder
        .stream("in", Utf8, Utf8)
        .group_by_key(Utf8, Utf8)
        .count("counts");
    let app = KafkaStreams::new(builder.build(), &b, StreamsConfig::new("app")).unwrap();
    app.start().unwrap();
    b.producer()
        .send(ProducerRecord::new("in").key("k").value("v"))
        .unwrap();

    b.close().unwrap();
    let closed = |e: Error| assert!(matches!(e, Error::Closed), "{e}");
    closed(err(producer.send(ProducerRecord::new("t").value("v"))));
    closed(err(
        producer.send_batch(vec![ProducerRecord::new("t").value("v")])
    ));
    closed(err(producer.flush()));
    closed(err(b.producer().send(ProducerRecord::new("t").value("v"))));
    closed(err(subscribed.poll(Duration::from_millis(10))));
    closed(err(subscribed.subscribe(&["t"])));
    closed(err(assigned.poll(Duration::from_millis(10))));
    closed(err(assigned.assign(&[tp("t", 1)])));
    let e = err(assigned.commit_sync_offsets(&[(tp("t", 0), OffsetAndMetadata::new(1))]));
    closed(e);
    closed(err(b.consumer(ConsumerConfig::new()).poll(Duration::ZERO)));
    closed(err(b.create_topic("u", TopicConfig::new(1))));
    closed(err(b.delete_topic("t")));
    closed(err(b.create_partitions("t", 3)));
    closed(err(b.delete_records(&tp("t", 0), 1)));
    closed(err(b.run_maintenance()));
    closed(err(b.reset_group_offsets(
        "h",
        &[tp("t", 0)],
        OffsetSpec::Earliest,
    )));
    closed(err(log.append(&[brooklet::format::RecordIn {
        key: None,
        value: Some(b"v"),
        timestamp: 0,
        headers: &[],
    }])));
    closed(err(log.roll()));
    // Reads of what is there keep working; the data is intact.
    assert_eq!(log.read(0, 1 << 20).unwrap().records().count(), 5);
    // Opening it again works: the lock was released.
    let again = Broker::open(b.dir()).unwrap();
    assert_eq!(again.partition_log("t", 0).unwrap().log_end_offset(), 5);
    drop(again);
    // The streams app stops, reporting the closed broker or nothing, never hanging.
    let r = within("KafkaStreams::close after Broker::close", move || {
        app.close()
    });
    if let Err(e) = r {
        closed(e);
    }
    // Closing twice is fine; the consumers close without panicking.
    b.close().unwrap();
    subscribed.close().unwrap();
    assigned.close().unwrap();
    let e = err(assigned.poll(Duration::ZERO));
    closed(e);
    let e = err(assigned.commit_sync());
    closed(e);
}

/// Every `Consumer` call after `close` fails with `Closed`, as Kafka's closed consumer
/// throws `IllegalStateException("This consumer has already been closed.")` from every
/// method. Found as a bug: `seek` and friends said the partition was not assigned
/// (`InvalidArgument`), and the offset look-ups answered as if the consumer were open.
#[test]
fn every_consumer_call_after_close_is_closed() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(2)).unwrap();
    produce(&b, "t", 0, 3);
    let mut c = consumer(&b, Some("g"));
    c.assign(&[tp("t", 0)]).unwrap();
    c.poll(Duration::from_millis(10)).unwrap();
    c.close().unwrap();
    let t0 = tp("t", 0);
    let one = std::slice::from_ref(&t0);
    let closed = |what: &str, e: Error| assert!(matches!(e, Error::Closed), "{what}: {e}");
    closed("seek", err(c.seek(&t0, 1)));
    closed("seek_to_beginning", err(c.seek_to_beginning(one)));
    closed("seek_to_beginning(all)", err(c.seek_to_beginning(&[])));
    closed("seek_to_end", err(c.seek_to_end(one)));
    closed("position", err(c.position(&t0)));
    closed("pause", err(c.pause(one)));
    closed("resume", err(c.resume(one)));
    closed("committed", err(c.committed(one)));
    closed(
        "offsets_for_times",
        err(c.offsets_for_times(&[(t0.clone(), 0)])),
    );
    closed("beginning_offsets", err(c.beginning_offsets(one)));
    closed("end_offsets", err(c.end_offsets(one)));
    closed("subscribe", err(c.subscribe(&["t"])));
    closed("subscribe_pattern", err(c.subscribe_pattern("t")));
    closed("assign", err(c.assign(one)));
    closed("unsubscribe", err(c.unsubscribe()));
    closed("poll", err(c.poll(Duration::ZERO)));
    closed("commit_sync", err(c.commit_sync()));
    let e = err(c.commit_sync_offsets(&[(t0.clone(), OffsetAndMetadata::new(1))]));
    closed("commit_sync_offsets", e);
    // The read-only views have nothing to report; closing again is a no-op.
    assert!(c.assignment().is_empty() && c.paused().is_empty());
    assert!(c.subscription().is_empty() && c.subscription_pattern().is_none());
    assert_eq!(c.lag(&t0), None);
    assert!(c.group_metadata().is_none());
    c.close().unwrap();
}

/// Kafka's `poll` without a subscription or an assignment throws
/// `IllegalStateException("Consumer is not subscribed to any topics or assigned any
/// partitions")`, and mixing `subscribe` with `assign` throws `IllegalStateException`
/// too. Found as a bug: such a poll returned nothing, forever, without a word.
#[test]
fn poll_without_subscription_or_assignment_is_illegal_state() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let not_subscribed = |e: Error| {
        assert!(matches!(e, Error::IllegalState(_)), "{e}");
        names(&e, &["not subscribed", "assigned"]);
    };
    let mut solo = consumer(&b, None);
    not_subscribed(err(solo.poll(Duration::ZERO)));
    let mut member = consumer(&b, Some("g"));
    not_subscribed(err(member.poll(Duration::from_millis(10))));
    // assign(&[]) is unsubscribe, in Kafka and here.
    solo.assign(&[tp("t", 0)]).unwrap();
    solo.poll(Duration::ZERO).unwrap();
    solo.assign(&[]).unwrap();
    not_subscribed(err(solo.poll(Duration::ZERO)));
    member.subscribe(&["t"]).unwrap();
    member.poll(Duration::from_millis(10)).unwrap();
    member.unsubscribe().unwrap();
    not_subscribed(err(member.poll(Duration::ZERO)));
    // A pattern that matches nothing yet is a subscription: poll waits for topics.
    member.subscribe_pattern("nothing-yet-.*").unwrap();
    assert!(member.poll(Duration::from_millis(10)).unwrap().is_empty());
    // Subscribing and assigning exclude each other.
    let e = err(member.assign(&[tp("t", 0)]));
    assert!(matches!(e, Error::IllegalState(_)), "{e}");
    names(&e, &["unsubscribe"]);
    let mut assigned = consumer(&b, Some("h"));
    assigned.assign(&[tp("t", 0)]).unwrap();
    for e in [
        err(assigned.subscribe(&["t"])),
        err(assigned.subscribe_pattern("t")),
    ] {
        assert!(matches!(e, Error::IllegalState(_)), "{e}");
        names(&e, &["unsubscribe"]);
    }
}

/// Kafka's `offsetsForTimes` refuses a negative target time
/// (`IllegalArgumentException: The target time for partition ... cannot be negative`):
/// the ListOffsets sentinels -1 (latest) and -2 (earliest) are `end_offsets` and
/// `beginning_offsets`, so that a returned timestamp is always a record's. Found as a
/// bug: -1 and -2 were searched as times, answering offset 0 with a record's timestamp.
#[test]
fn offsets_for_times_refuses_negative_targets() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    produce(&b, "t", 0, 3);
    let c = consumer(&b, None);
    for ts in [-1, -2, -3, i64::MIN] {
        let e = err(c.offsets_for_times(&[(tp("t", 0), 0), (tp("t", 0), ts)]));
        assert!(matches!(e, Error::InvalidArgument(_)), "{ts}: {e}");
        names(&e, &["t-0", &ts.to_string(), "negative"]);
    }
    let got = c.offsets_for_times(&[(tp("t", 0), 0)]).unwrap();
    let hit = got[&tp("t", 0)].expect("every record is at or after time 0");
    assert_eq!(hit.offset, 0);
    assert!(hit.timestamp >= 0);
    let got = c.offsets_for_times(&[(tp("t", 0), i64::MAX)]).unwrap();
    assert_eq!(got[&tp("t", 0)], None, "no record at or after i64::MAX");
}

/// Kafka's `commitAsync` on a closed consumer fails at once. Found as a bug: brooklet
/// queued the callback for the next poll/commit/close, none of which runs on a closed
/// consumer, so the callback was dropped uncalled.
#[test]
fn commit_async_on_a_closed_consumer_calls_back() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let mut c = consumer(&b, Some("g"));
    c.assign(&[tp("t", 0)]).unwrap();
    c.close().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    c.commit_async(move |r| {
        let _ = tx.send(r);
    });
    let _ = c.commit_sync();
    let _ = c.poll(Duration::ZERO);
    c.close().unwrap();
    drop(c);
    let r = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the commit_async callback was dropped without being called");
    assert!(matches!(r, Err(Error::Closed)), "{r:?}");
}

#[test]
fn poll_inside_a_rebalance_listener_and_wakeup_are_typed() {
    struct Nested(Arc<AtomicBool>);
    impl RebalanceListener for Nested {
        fn on_partitions_assigned(&mut self, c: &mut Consumer, _: &[TopicPartition]) {
            let e = c.poll(Duration::ZERO).unwrap_err();
            assert!(matches!(e, Error::IllegalState(_)), "{e}");
            assert!(e.to_string().contains("rebalance listener"), "{e}");
            self.0.store(true, Ordering::Release);
        }
    }
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let seen = Arc::new(AtomicBool::new(false));
    let mut c = consumer(&b, Some("g"));
    c.set_rebalance_listener(Nested(Arc::clone(&seen)));
    c.subscribe(&["t"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.load(Ordering::Acquire) {
        c.poll(Duration::from_millis(10)).unwrap();
        assert!(Instant::now() < deadline, "no assignment");
    }
    c.wakeup_handle().wakeup();
    let e = err(c.poll(Duration::from_secs(10)));
    assert!(matches!(e, Error::Wakeup), "{e}");
    names(&e, &["wakeup"]);
    c.poll(Duration::ZERO).unwrap();
}

#[test]
fn a_fenced_member_gets_stale_generation() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(2)).unwrap();
    let cfg = ConsumerConfig::new()
        .group_id("g")
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_interval(Duration::from_millis(200));
    let mut zombie = b.consumer(cfg.clone());
    zombie.subscribe(&["t"]).unwrap();
    let mut healthy = b.consumer(cfg);
    healthy.subscribe(&["t"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while zombie.assignment().len() + healthy.assignment().len() < 2
        || zombie.assignment().is_empty()
    {
        zombie.poll(Duration::from_millis(5)).unwrap();
        healthy.poll(Duration::from_millis(5)).unwrap();
        assert!(Instant::now() < deadline, "no stable assignment");
    }
    let mine = zombie.assignment()[0].clone();
    while healthy.assignment().len() < 2 {
        healthy.poll(Duration::from_millis(20)).unwrap();
        assert!(Instant::now() < deadline, "zombie never evicted");
    }
    let e = err(zombie.commit_sync_offsets(&[(mine, OffsetAndMetadata::new(0))]));
    assert!(matches!(e, Error::StaleGeneration { .. }), "{e}");
    names(&e, &["`g`", "generation"]);
}

#[test]
fn a_failed_flush_poisons_with_a_typed_error() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    produce(&b, "t", 0, 1);
    b.partition_log("t", 0)
        .unwrap()
        .inject_flush_error(std::io::Error::other("EIO injected"));
    let e = err(b.producer().flush());
    assert!(matches!(e, Error::Poisoned { .. }), "{e}");
    names(&e, &["t-0", "EIO injected", "reopen"]);
    let e = err(b.producer().send(ProducerRecord::new("t").value("v")));
    assert!(matches!(e, Error::Poisoned { .. }), "{e}");
}

#[test]
fn malformed_batches_are_format_errors() {
    for bad in [&b""[..], b"garbage", &[0u8; 61], &[0xffu8; 100]] {
        let e = err(Batch::parse(bad));
        assert!(matches!(e, Error::Format { .. }), "{e}");
        names(&e, &["malformed record batch"]);
    }
}

// ---------------------------------------------------------------------------------
// The data directory

#[test]
fn a_directory_locked_by_another_broker() {
    let (d, b) = open();
    let e = err(Broker::open(d.path()));
    assert!(
        matches!(&e, Error::Locked { dir, .. } if dir == d.path()),
        "{e}"
    );
    names(
        &e,
        &[
            &d.path().display().to_string(),
            &std::process::id().to_string(),
        ],
    );
    drop(b);
    Broker::open(d.path()).unwrap();
}

/// A data directory with two topics: "t" (1 partition, 3+ sealed segments) and "u".
fn populated() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let b = Broker::open(d.path()).unwrap();
    b.create_topic(
        "t",
        TopicConfig::new(1)
            .segment_bytes(4096)
            .index_interval_bytes(256),
    )
    .unwrap();
    b.create_topic("u", TopicConfig::new(2)).unwrap();
    produce(&b, "t", 0, 300);
    produce(&b, "u", 1, 10);
    assert!(b.partition_log("t", 0).unwrap().segment_count() >= 4);
    b.close().unwrap();
    let path = d.path().to_path_buf();
    (d, path)
}

fn seg(dir: &Path, topic_dir: &str, n: usize, ext: &str) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir.join(topic_dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    logs[n].with_extension(ext)
}

/// Reads every partition of `topic` to its end; Ok(records) or the first error.
fn read_all(b: &Broker, topic: &str) -> brooklet::Result<usize> {
    let mut n = 0;
    for p in 0..b.partition_count(topic)? {
        let log = b.partition_log(topic, p)?;
        let mut off = log.log_start_offset();
        while off < log.log_end_offset() {
            let f = log.read(off, 1 << 16)?;
            if f.is_empty() {
                // Nothing readable up to the log end (a gap that a foreign segment
                // file's name opened): stop rather than spin.
                break;
            }
            for r in f.records() {
                r?;
                n += 1;
            }
            off = f.next_offset();
        }
    }
    Ok(n)
}

/// What reading a damaged topic may give when the broker opens.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// A `Corrupt` error naming the file (the damage is inside the data).
    Error,
    /// Exactly this many records (the damage does not touch them).
    Records(usize),
    /// Any number of records, or `Corrupt` naming the file.
    Any,
}

/// Opening `dir` either fails with a typed error naming `file`, or succeeds and reading
/// `topic` gives what `want` says; the topic stays writable.
#[track_caller]
fn opens_or_names(dir: &Path, file: &Path, topic: &str, want: Want) {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    match Broker::open(dir) {
        Err(e) => {
            assert!(matches!(e, Error::Corrupt { .. } | Error::Io { .. }), "{e}");
            names(&e, &[&name]);
        }
        Ok(b) => {
            // A partition the damage kept from opening is refused naming the file,
            // as a failed open was before the broker opened its healthy partitions.
            let offline = b
                .open_report()
                .failed_partitions
                .iter()
                .any(|(tp, _)| tp.topic() == topic);
            match (read_all(&b, topic), want) {
                (Err(e), _) if offline => {
                    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
                    names(&e, &[&name]);
                }
                (Err(e), Want::Error | Want::Any) => {
                    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
                    names(&e, &[&name]);
                }
                (Ok(n), Want::Records(w)) => assert_eq!(n, w, "records of `{topic}`"),
                (Ok(_), Want::Any) => {}
                (r, w) => panic!("{name}: reading `{topic}` gave {r:?}, expected {w:?}"),
            }
            // Still writable, unless the damage kept the partition from opening: then
            // it is listed in the open report and refuses sends with the same error.
            let send = b
                .producer()
                .send(ProducerRecord::new(topic).partition(0).key("k").value("v"));
            match send {
                Err(e @ Error::Corrupt { .. }) if offline => names(&e, &[&name]),
                other => {
                    assert!(!offline, "an offline partition took a send: {other:?}");
                    other.unwrap();
                }
            }
        }
    }
}

#[test]
fn garbage_in_segment_files_is_reported_or_cut_never_a_panic() {
    let mut rng = 0x1234_5678_u64;
    let mut garbage = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect()
    };
    // A sealed segment overwritten with garbage: Corrupt naming it, at open or read.
    for cut in [0usize, 61, 1000] {
        let (_d, dir) = populated();
        let f = seg(&dir, "t-0", 1, "log");
        let mut data = std::fs::read(&f).unwrap();
        let n = data.len() - cut;
        data[cut..].copy_from_slice(&garbage(n));
        std::fs::write(&f, &data).unwrap();
        opens_or_names(&dir, &f, "t", Want::Error);
    }
    // The active segment full of garbage: a torn tail, cut at open.
    let (_d, dir) = populated();
    let f = seg(&dir, "u-1", 0, "log");
    let len = std::fs::metadata(&f).unwrap().len() as usize;
    std::fs::write(&f, garbage(len)).unwrap();
    let b = Broker::open(&dir).unwrap();
    let log = b.partition_log("u", 1).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    assert!(log.recovery_report().truncated_bytes > 0);
    drop(b);
    // Sealed segment truncated in the middle of a batch.
    let (_d, dir) = populated();
    let f = seg(&dir, "t-0", 0, "log");
    let len = std::fs::metadata(&f).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    opens_or_names(&dir, &f, "t", Want::Error);
    // Empty sealed segment file.
    let (_d, dir) = populated();
    let f = seg(&dir, "t-0", 2, "log");
    std::fs::write(&f, b"").unwrap();
    opens_or_names(&dir, &f, "t", Want::Any);
}

#[test]
fn damaged_index_files_are_rebuilt() {
    for (n, ext, how) in [
        (0, "index", "truncated"),
        (0, "timeindex", "truncated"),
        (1, "index", "garbage"),
        (1, "timeindex", "garbage"),
        (2, "index", "missing"),
        (3, "index", "truncated"),
        (3, "timeindex", "garbage"),
    ] {
        let (_d, dir) = populated();
        let f = seg(&dir, "t-0", n, ext);
        match how {
            "truncated" => {
                let len = std::fs::metadata(&f).unwrap().len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&f)
                    .unwrap()
                    .set_len(len.saturating_sub(3))
                    .unwrap();
            }
            "garbage" => {
                let len = std::fs::metadata(&f).unwrap().len() as usize;
                std::fs::write(&f, vec![0xa5; len.max(24)]).unwrap();
            }
            _ => std::fs::remove_file(&f).unwrap(),
        }
        let b = Broker::open(&dir).unwrap_or_else(|e| panic!("{how} {ext} of segment {n}: {e}"));
        assert_eq!(
            read_all(&b, "t").unwrap(),
            300,
            "{how} {ext} of segment {n}"
        );
        let log = b.partition_log("t", 0).unwrap();
        for (i, want) in [(0, 0), (150, 150), (299, 299)] {
            let f = log.read(i, 1).unwrap();
            let first = f.records().next().unwrap().unwrap();
            assert_eq!(first.offset(), want);
        }
    }
}

#[test]
fn corrupt_topic_metadata_is_corrupt_naming_the_file() {
    for text in [
        &b""[..],
        b"garbage",
        b"brooklet-topic v1\nname=t\n",
        b"brooklet-topic v1\nname=t\npartitions=-3\n",
        b"brooklet-topic v1\nname=t\npartitions=1\nsegment.bytes=12\n",
        b"brooklet-topic v1\nname=t\npartitions=1\nflush=sometimes\n",
        b"\xff\xfe\x00binary",
    ] {
        let (_d, dir) = populated();
        let f = dir.join("topics").join("t.topic");
        std::fs::write(&f, text).unwrap();
        let e = err(Broker::open(&dir));
        assert!(
            matches!(e, Error::Corrupt { .. } | Error::Io { .. }),
            "{:?}: {e}",
            String::from_utf8_lossy(text)
        );
        names(&e, &["t.topic"]);
    }
    // A directory where a topic file should be.
    let (_d, dir) = populated();
    std::fs::create_dir(dir.join("topics").join("v.topic")).unwrap();
    let e = err(Broker::open(&dir));
    assert!(matches!(e, Error::Io { .. }), "{e}");
    names(&e, &["v.topic"]);
}

/// A copy of a topic's metadata file under another name (an operator's backup) must
/// not open the topic's partitions twice: two writers on one set of files.
#[test]
fn a_duplicate_topic_file_does_not_open_a_topic_twice() {
    let (_d, dir) = populated();
    std::fs::copy(
        dir.join("topics").join("t.topic"),
        dir.join("topics").join("t-backup.topic"),
    )
    .unwrap();
    let b = match Broker::open(&dir) {
        Err(e) => {
            // Refusing is fine, if it names the files.
            assert!(matches!(e, Error::Corrupt { .. }), "{e}");
            names(&e, &["t-backup.topic"]);
            return;
        }
        Ok(b) => b,
    };
    // The first `Topic` opened was dropped when the second replaced it, closing (and
    // trimming) the partition files the second one has mapped for writing.
    for i in 0..2000 {
        b.producer()
            .send(ProducerRecord::new("t").value(vec![i as u8; 100]))
            .unwrap();
    }
    assert_eq!(read_all(&b, "t").unwrap(), 2300);
    b.close().unwrap();
    let b = Broker::open(&dir).unwrap();
    assert_eq!(read_all(&b, "t").unwrap(), 2300);
}

#[test]
fn foreign_files_and_directories_are_ignored_or_named() {
    let (_d, dir) = populated();
    // Things an operator or another tool might leave around.
    std::fs::write(dir.join("notes.txt"), b"hello").unwrap();
    std::fs::create_dir(dir.join("random dir")).unwrap();
    std::fs::create_dir(dir.join("backup")).unwrap();
    std::fs::write(dir.join("backup").join("x.log"), b"junk").unwrap();
    std::fs::write(dir.join("topics").join("README"), b"not a topic").unwrap();
    std::fs::write(dir.join("topics").join("t.topic.bak"), b"junk").unwrap();
    std::fs::create_dir(dir.join("topics").join("subdir")).unwrap();
    let t0 = dir.join("t-0");
    std::fs::write(t0.join("notes.txt"), b"hello").unwrap();
    std::fs::write(t0.join("foo.log"), b"junk").unwrap();
    std::fs::write(t0.join("123.log"), b"junk").unwrap();
    std::fs::write(t0.join("00000000000000000000.log.bak"), b"junk").unwrap();
    std::fs::write(t0.join("0000000000000000000x.log"), b"junk").unwrap();
    std::fs::create_dir(t0.join("subdir")).unwrap();
    let b = Broker::open(&dir).unwrap();
    assert_eq!(read_all(&b, "t").unwrap(), 300);
    assert_eq!(read_all(&b, "u").unwrap(), 10);
    assert_eq!(b.list_topics(), vec!["t", "u"]);
    b.producer()
        .send(ProducerRecord::new("t").value("more"))
        .unwrap();
    b.close().unwrap();
    drop(b);
    assert!(dir.join("notes.txt").exists() && dir.join("random dir").is_dir());
    assert!(dir.join("backup").join("x.log").exists());

    // A segment-named directory, or a file named like a segment of another offset,
    // is either refused naming it or has no effect on the data.
    // (A segment file starting at 99999 leaves offsets 300..99999 unexplained:
    // `Corrupt` naming it, since item 4 of issue 12; the log end no longer jumps.)
    segment_named_want("00000000000000099999.log", Want::Any);
    segment_named("00000000000000000005.log");
    // The lock file replaced by a directory.
    let (_d, dir) = populated();
    std::fs::remove_file(dir.join(".lock")).unwrap();
    std::fs::create_dir(dir.join(".lock")).unwrap();
    let e = err(Broker::open(&dir));
    assert!(matches!(e, Error::Io { .. }), "{e}");
    names(&e, &[".lock"]);
}

/// Plants `name` in `t-0` as a copy of the first segment, an empty file and a
/// directory: opening refuses it naming it, or the data is unaffected.
fn segment_named(name: &str) {
    segment_named_want(name, Want::Records(300));
}

fn segment_named_want(name: &str, want: Want) {
    let (_d, dir) = populated();
    let f = dir.join("t-0").join(name);
    let first = seg(&dir, "t-0", 0, "log");
    std::fs::copy(&first, &f).unwrap();
    opens_or_names(&dir, &f, "t", want);
    let (_d, dir) = populated();
    let f = dir.join("t-0").join(name);
    std::fs::write(&f, b"").unwrap();
    opens_or_names(&dir, &f, "t", want);
    let (_d, dir) = populated();
    let f = dir.join("t-0").join(name);
    std::fs::create_dir(&f).unwrap();
    opens_or_names(&dir, &f, "t", want);
}

/// Kafka's segment names are 20 digits. Found as a bug: `-0000000000000000001.log`
/// and `+0000000000000000010.log` parsed as offsets -1 and 10; the first became a
/// segment with base offset -1 (its copy failed the open with an error naming the
/// *next* segment), the second made the broker fail to open
/// `00000000000000000010.log`, a file that does not exist.
#[test]
fn signed_segment_names_are_foreign() {
    segment_named("-0000000000000000001.log");
    segment_named("+0000000000000000010.log");
}

/// A batch's `baseOffset` is outside its CRC (as in Kafka). Damaged after a clean
/// close (bit rot: no recovery runs), it must surface as `Corrupt` naming the file,
/// never as an empty read below the log end (a consumer would wait there forever with
/// lag and no error) nor as an offset outside the log from `offset_for_timestamp`.
#[test]
fn a_damaged_base_offset_is_corrupt_not_an_empty_read() {
    use brooklet::format::RecordIn;
    use brooklet::storage::{LogConfig, PartitionLog};
    for batch in [0usize, 5] {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t-0");
        let cfg = LogConfig {
            index_interval_bytes: 64,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(&path, cfg.clone()).unwrap();
        let mut starts = Vec::new();
        for i in 0..10i64 {
            starts.push(log.size_bytes());
            let rec = RecordIn {
                key: Some(b"k"),
                value: Some(b"some value"),
                timestamp: 1000 + i,
                headers: &[],
            };
            log.append(&[rec, rec]).unwrap();
        }
        log.close().unwrap();
        drop(log);
        let file = path.join(format!("{:020}.log", 0));
        let mut data = std::fs::read(&file).unwrap();
        data[starts[batch] as usize + 2] ^= 0x40; // baseOffset += 2^45
        std::fs::write(&file, &data).unwrap();
        let log = match PartitionLog::open(&path, cfg) {
            Err(e) => {
                assert!(matches!(e, Error::Corrupt { .. }), "{e}");
                names(&e, &["00000000000000000000.log"]);
                continue;
            }
            Ok(log) => log,
        };
        let end = log.log_end_offset();
        let at = 2 * batch as i64;
        match log.read(at, 1 << 20) {
            Err(e) => {
                assert!(matches!(e, Error::Corrupt { .. }), "{e}");
                names(&e, &["00000000000000000000.log"]);
            }
            Ok(f) => {
                assert!(
                    !f.is_empty(),
                    "batch {batch}: read({at}) of 0..{end} is empty, without an error"
                );
                for r in f.records().flatten() {
                    assert!(
                        r.offset() < end,
                        "record at {} past the end {end}",
                        r.offset()
                    );
                }
            }
        }
        for ts in [0, 1000 + batch as i64, i64::MAX] {
            if let Ok(Some((off, _))) = log.offset_for_timestamp(ts) {
                assert!(
                    (0..end).contains(&off),
                    "batch {batch}: offset_for_timestamp({ts}) = {off}, log 0..{end}"
                );
            }
        }
    }
}

/// The variants that replaced `InvalidArgument` where a caller has something to match
/// (a group's protocol, a connector's name, an application's own failure), each
/// produced by a real call and naming what is wrong. The others (`InvalidConfig`,
/// `NotAssigned`, `InvalidGroupId`, `UnknownGroup`, `GroupNotEmpty`, `InvalidRecord`)
/// are asserted where their situations are tested above.
#[test]
fn groups_connectors_and_tasks_have_their_own_variants() {
    let (_d, b) = open();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    // A member whose assignors share none with the group's.
    let with = |a: Arc<dyn brooklet::Assignor>| {
        b.consumer(
            ConsumerConfig::new()
                .group_id("mixed")
                .enable_auto_commit(false)
                .assignors(vec![a]),
        )
    };
    let mut first = with(Arc::new(brooklet::RangeAssignor));
    first.subscribe(&["t"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while first.assignment().is_empty() {
        first.poll(Duration::from_millis(10)).unwrap();
        assert!(Instant::now() < deadline, "never assigned");
    }
    let mut other = with(Arc::new(brooklet::RoundRobinAssignor));
    let e = err(other
        .subscribe(&["t"])
        .and_then(|()| other.poll(Duration::from_millis(10))));
    assert!(
        matches!(&e, Error::InconsistentGroupProtocol { group } if group == "mixed"),
        "{e}"
    );
    names(&e, &["`mixed`", "assignor"]);
    drop(other);
    drop(first);
    // Connect: unknown and duplicate connector names.
    let w = brooklet::connect::Worker::new(&b).unwrap();
    let e = err(w.status("nope"));
    assert!(
        matches!(&e, Error::UnknownConnector { name } if name == "nope"),
        "{e}"
    );
    names(&e, &["`nope`"]);
    let e = err(w.pause("nope"));
    assert!(matches!(e, Error::UnknownConnector { .. }), "{e}");
    let source = || brooklet::connect::StdinSource::from_reader("t", &b"line\n"[..]);
    w.start_source(source(), brooklet::connect::ConnectorConfig::new("lines"))
        .unwrap();
    let e = err(w.start_source(source(), brooklet::connect::ConnectorConfig::new("lines")));
    assert!(
        matches!(&e, Error::ConnectorExists { name } if name == "lines"),
        "{e}"
    );
    names(&e, &["`lines`", "already exists"]);
    w.stop("lines").unwrap();
    // Streams: a serde that cannot read an input record stops the application with
    // `Task`, carrying the serde's own error as the source.
    b.create_topic("in", TopicConfig::new(1)).unwrap();
    b.create_topic("out", TopicConfig::new(1)).unwrap();
    b.producer()
        .send(ProducerRecord::new("in").key("k").value(vec![0xff, 0xfe]))
        .unwrap();
    let builder = StreamsBuilder::new();
    builder.stream("in", Utf8, Utf8).to("out", Utf8, Utf8);
    let app = KafkaStreams::new(builder.build(), &b, StreamsConfig::new("serde-app")).unwrap();
    app.start().unwrap();
    let e = err(app.start());
    assert!(matches!(e, Error::IllegalState(_)), "{e}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.state() != brooklet::streams::StreamsState::Error {
        assert!(
            Instant::now() < deadline,
            "the bad record did not stop the app"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let e = err(app.close());
    match &e {
        Error::Task { task, source, .. } => {
            assert!(task.contains("`in`"), "{e}");
            assert!(source.to_string().contains("UTF-8"), "{e}");
        }
        other => panic!("expected Error::Task, got {other:?}"),
    }
    names(&e, &["`in`", "value", "UTF-8"]);
    // `Error` is `Clone`: a copy keeps the source.
    let copy = e.clone();
    assert_eq!(copy.to_string(), e.to_string());
    assert!(std::error::Error::source(&copy).is_some());
}

/// A compressed batch in a segment whose records decompress past the log's limit (a
/// decompression bomb, 64 MiB of zeros in a few KiB of zstd) passes recovery, which
/// checks compressed batches by CRC, and is `Corrupt` when read: by `read`,
/// `offset_for_timestamp` and compaction alike, after allocating at most the limit.
/// A read before it stops at the batch before.
#[test]
fn a_decompression_bomb_in_a_segment_is_corrupt_when_read() {
    use brooklet::format::batch::seal_crc;
    use brooklet::format::{
        Compression, RecordIn, TimestampType, compress, encode_batch_compressed,
    };
    use brooklet::storage::{CompactionConfig, LogConfig, MIN_DECOMPRESSED_BYTES, PartitionLog};
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("t-0");
    let cfg = LogConfig::default();
    let log = PartitionLog::open(&path, cfg.clone()).unwrap();
    let rec = RecordIn {
        key: Some(b"k"),
        value: Some(b"v"),
        timestamp: 1000,
        headers: &[],
    };
    log.append(&[rec]).unwrap();
    let at = log.size_bytes();
    log.close().unwrap();
    drop(log);
    let (mut bomb, mut tmp) = (Vec::new(), Vec::new());
    encode_batch_compressed(
        &mut bomb,
        &mut tmp,
        1,
        TimestampType::CreateTime,
        &[RecordIn {
            timestamp: 2000,
            ..rec
        }],
        Compression::Zstd,
        None,
    )
    .unwrap();
    bomb.truncate(61);
    compress(
        Compression::Zstd,
        None,
        &vec![0u8; MIN_DECOMPRESSED_BYTES + 1],
        &mut bomb,
    )
    .unwrap();
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let batch_length = (bomb.len() - 12) as i32;
    bomb[8..12].copy_from_slice(&batch_length.to_be_bytes());
    seal_crc(&mut bomb).unwrap();
    let file = path.join(format!("{:020}.log", 0));
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &bomb, at).unwrap();
    drop(f);
    // As after a crash: recovery validates the segment (CRC, no decompression).
    std::fs::remove_file(path.join(".clean-shutdown")).unwrap();
    let log = PartitionLog::open(&path, cfg).unwrap();
    assert_eq!(log.log_end_offset(), 2);
    let before = log.read(0, 1 << 20).unwrap();
    assert_eq!(before.records().count(), 1);
    assert_eq!(before.next_offset(), 1);
    let corrupt = |r: brooklet::Result<_>| match r {
        Err(Error::Corrupt { reason, .. }) => assert!(reason.contains("more than"), "{reason}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a decompression bomb was read"),
    };
    corrupt(log.read(1, 1 << 20).map(|_| ()));
    corrupt(log.offset_for_timestamp(1500).map(|_| ()));
    log.roll().unwrap();
    let all = CompactionConfig {
        delete_retention_ms: 0,
        min_compaction_lag_ms: 0,
        min_cleanable_dirty_ratio: 0.0,
    };
    corrupt(log.compact(&all, i64::MAX / 2).map(|_| ()));
}
