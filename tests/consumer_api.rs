//! The consumer API a Kafka user expects: manual assign, seek, pause/resume, positions,
//! lag, offsets_for_times, auto_offset_reset (including `none`), wakeup, commit_async
//! callbacks, auto-commit, pattern subscriptions that pick up new topics, and the group
//! admin calls (list, describe, offsets and lag, reset, delete).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use brooklet::{
    Broker, ConsumerConfig, Error, GroupState, OffsetAndMetadata, OffsetAndTimestamp, OffsetReset,
    OffsetSpec, ProducerRecord, TopicConfig, TopicPartition,
};

fn setup() -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(2)).unwrap();
    let p = b.producer();
    for i in 0..100i64 {
        p.send(
            ProducerRecord::new("t")
                .partition((i % 2) as u32)
                .value(i.to_string())
                .timestamp(1000 + i),
        )
        .unwrap();
    }
    (dir, b)
}

fn tp(p: u32) -> TopicPartition {
    TopicPartition::new("t", p)
}

#[test]
fn manual_assign_seek_pause_position_lag() {
    let (_d, b) = setup();
    let mut c = b.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .max_poll_records(10),
    );
    c.assign(&[tp(0), tp(1)]).unwrap();
    assert_eq!(c.position(&tp(0)).unwrap(), 0);
    assert_eq!(c.lag(&tp(0)), Some(50));
    let r = c.poll(Duration::from_secs(1)).unwrap();
    assert_eq!(r.count(), 10);
    c.seek(&tp(0), 45).unwrap();
    c.pause(&[tp(1)]).unwrap();
    assert_eq!(c.paused(), vec![tp(1)]);
    let r = c.poll(Duration::from_secs(1)).unwrap();
    let offs: Vec<i64> = r.iter().map(|r| r.offset()).collect();
    assert_eq!(offs, vec![45, 46, 47, 48, 49]);
    assert!(r.iter().all(|r| r.partition() == 0));
    assert_eq!(c.lag(&tp(0)), Some(0));
    c.resume(&[tp(1)]).unwrap();
    c.seek_to_end(&[tp(1)]).unwrap();
    assert!(c.poll(Duration::from_millis(10)).unwrap().is_empty());
    c.seek_to_beginning(&[]).unwrap();
    assert_eq!(c.position(&tp(1)).unwrap(), 0);
    assert!(matches!(c.seek(&tp(5), 0), Err(Error::NotAssigned { .. })));
    assert!(matches!(c.seek(&tp(0), -1), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        c.assign(&[TopicPartition::new("t", 9)]),
        Err(Error::UnknownPartition { .. })
    ));
    assert!(matches!(
        c.subscribe(&["t"]),
        Err(Error::InvalidGroupId { .. })
    ));
    assert!(
        matches!(c.commit_sync(), Err(Error::InvalidGroupId { .. })),
        "no group, no commits"
    );
    let owned = r.iter().next().unwrap().to_owned();
    assert_eq!(owned.value.as_deref(), Some(&b"90"[..]));
    assert_eq!(c.beginning_offsets(&[tp(0)]).unwrap()[&tp(0)], 0);
    assert_eq!(c.end_offsets(&[tp(0)]).unwrap()[&tp(0)], 50);
}

#[test]
fn offsets_for_times_uses_record_timestamps() {
    let (_d, b) = setup();
    let c = b.consumer(ConsumerConfig::new());
    let m = c
        .offsets_for_times(&[(tp(0), 1050), (tp(1), 1051), (tp(0), 5000)])
        .unwrap();
    assert_eq!(
        m[&tp(0)],
        None,
        "the last query for tp0 (5000) wins in the map"
    );
    let m = c
        .offsets_for_times(&[(tp(0), 1050), (tp(1), 1051)])
        .unwrap();
    let at = |offset, timestamp| Some(OffsetAndTimestamp { offset, timestamp });
    assert_eq!(m[&tp(0)], at(25, 1050));
    assert_eq!(m[&tp(1)], at(25, 1051));
    assert_eq!(m[&tp(1)].unwrap().offset, 25);
}

#[test]
fn auto_offset_reset_latest_and_none() {
    let (_d, b) = setup();
    let mut latest = b.consumer(ConsumerConfig::new().group_id("l"));
    latest.assign(&[tp(0)]).unwrap();
    assert_eq!(
        latest.position(&tp(0)).unwrap(),
        50,
        "Kafka's default is latest"
    );
    let mut none = b.consumer(
        ConsumerConfig::new()
            .group_id("n")
            .auto_offset_reset(OffsetReset::None),
    );
    none.assign(&[tp(0)]).unwrap();
    let e = none.poll(Duration::from_millis(10)).unwrap_err();
    assert!(matches!(e, Error::NoOffset { .. }), "{e}");
    assert!(e.to_string().contains("auto_offset_reset"), "{e}");
    none.commit_sync_offsets(&[(tp(0), OffsetAndMetadata::new(7))])
        .unwrap();
    assert_eq!(none.position(&tp(0)).unwrap(), 7);
    none.seek(&tp(0), 500).unwrap();
    assert!(matches!(
        none.poll(Duration::from_millis(10)),
        Err(Error::OffsetOutOfRange { offset: 500, .. })
    ));
}

#[test]
fn wakeup_interrupts_a_blocked_poll() {
    let (_d, b) = setup();
    let mut c = b.consumer(ConsumerConfig::new());
    c.assign(&[tp(0)]).unwrap();
    c.seek_to_end(&[]).unwrap();
    let h = c.wakeup_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        h.wakeup();
    });
    let start = Instant::now();
    assert!(matches!(
        c.poll(Duration::from_secs(30)),
        Err(Error::Wakeup)
    ));
    assert!(start.elapsed() < Duration::from_secs(30));
    t.join().unwrap();
    // Only once.
    assert!(c.poll(Duration::from_millis(5)).unwrap().is_empty());
}

#[test]
fn a_blocked_poll_is_woken_by_an_append() {
    let (_d, b) = setup();
    let mut c = b.consumer(ConsumerConfig::new());
    c.assign(&[tp(1)]).unwrap();
    c.seek_to_end(&[]).unwrap();
    let p = b.producer();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        p.send(ProducerRecord::new("t").partition(1).value("late"))
            .unwrap();
    });
    let r = c.poll(Duration::from_secs(30)).unwrap();
    assert_eq!(r.iter().next().unwrap().value(), Some(&b"late"[..]));
    t.join().unwrap();
}

#[test]
fn commit_async_reports_on_the_next_poll_and_auto_commit_commits() {
    let (_d, b) = setup();
    let mut c = b.consumer(
        ConsumerConfig::new()
            .group_id("a")
            .auto_offset_reset(OffsetReset::Earliest)
            .auto_commit_interval(Duration::ZERO),
    );
    c.assign(&[tp(0)]).unwrap();
    c.poll(Duration::from_secs(1)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d2 = Arc::clone(&done);
    c.commit_async(move |r| {
        r.unwrap();
        d2.store(true, Ordering::Release);
    });
    assert!(
        !done.load(Ordering::Acquire),
        "callbacks run inside poll, as Kafka"
    );
    c.poll(Duration::from_millis(1)).unwrap();
    assert!(done.load(Ordering::Acquire));
    let committed = c.committed(&[tp(0)]).unwrap();
    assert_eq!(committed[&tp(0)].as_ref().unwrap().offset, 50);
    drop(c);
    // Committed offsets survive a broker reopen.
    let dir = b.dir().to_path_buf();
    b.close().unwrap();
    drop(b);
    let b = Broker::open(&dir).unwrap();
    let offs = b.list_group_offsets("a").unwrap();
    assert_eq!(offs.len(), 1);
    assert_eq!((offs[0].committed, offs[0].lag), (50, 0));
}

#[test]
fn pattern_subscription_picks_up_new_topics() {
    let (_d, b) = setup();
    let mut c = b.consumer(
        ConsumerConfig::new()
            .group_id("p")
            .auto_offset_reset(OffsetReset::Earliest),
    );
    c.subscribe_pattern("orders-.*").unwrap();
    assert!(c.poll(Duration::from_millis(20)).unwrap().is_empty());
    b.create_topic("orders-eu", TopicConfig::new(1)).unwrap();
    b.producer()
        .send(ProducerRecord::new("orders-eu").value("o1"))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = c.poll(Duration::from_millis(20)).unwrap();
        if let Some(rec) = r.iter().next() {
            assert_eq!((rec.topic(), rec.value()), ("orders-eu", Some(&b"o1"[..])));
            break;
        }
        assert!(Instant::now() < deadline, "new topic never assigned");
    }
    assert_eq!(c.subscription(), vec!["orders-eu".to_string()]);
    assert!(matches!(
        c.subscribe_pattern("(bad"),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn group_admin_lists_describes_resets_and_deletes() {
    let (_d, b) = setup();
    let mut c = b.consumer(
        ConsumerConfig::new()
            .group_id("adm")
            .auto_offset_reset(OffsetReset::Earliest)
            .enable_auto_commit(false),
    );
    c.subscribe(&["t"]).unwrap();
    while c.assignment().len() < 2 {
        c.poll(Duration::from_millis(10)).unwrap();
    }
    c.commit_sync_offsets(&[
        (tp(0), OffsetAndMetadata::new(10)),
        (tp(1), OffsetAndMetadata::new(20)),
    ])
    .unwrap();
    assert!(b.list_groups().contains(&"adm".to_string()));
    let d = b.describe_group("adm").unwrap();
    assert_eq!((d.state, d.members.len()), (GroupState::Stable, 1));
    assert_eq!(d.members[0].assignment.len(), 2);
    let lags: Vec<i64> = b
        .list_group_offsets("adm")
        .unwrap()
        .iter()
        .map(|o| o.lag)
        .collect();
    assert_eq!(lags, vec![40, 30]);
    assert!(matches!(
        b.reset_group_offsets("adm", &[], OffsetSpec::Earliest),
        Err(Error::GroupNotEmpty { .. })
    ));
    assert!(matches!(
        b.delete_group("adm"),
        Err(Error::GroupNotEmpty { .. })
    ));
    c.close().unwrap();
    let reset = b
        .reset_group_offsets("adm", &[], OffsetSpec::Timestamp(1060))
        .unwrap();
    assert_eq!(reset, vec![(tp(0), 30), (tp(1), 30)]);
    b.reset_group_offsets("adm", &[tp(1)], OffsetSpec::Offset(1_000))
        .unwrap();
    assert_eq!(
        b.list_group_offsets("adm").unwrap()[1].committed,
        50,
        "clamped to the log end"
    );
    b.delete_group("adm").unwrap();
    assert!(!b.list_groups().contains(&"adm".to_string()));
    assert!(matches!(
        b.describe_group("adm"),
        Err(Error::UnknownGroup { .. })
    ));
}

/// Kafka matches a subscription pattern with `java.util.regex` and a full match
/// (`Pattern.matcher(topic).matches()`), so `\d{4}`, anchors, classes and inline flags
/// work, and a pattern never matches part of a name. Internal topics never match, as
/// with Kafka's default `exclude.internal.topics=true`.
#[test]
fn pattern_subscription_is_a_java_full_match() {
    let (_d, b) = setup();
    for t in [
        "logs-2024",
        "logs-20245",
        "logs-abcd",
        "xlogs-2024",
        "metrics.eu",
    ] {
        b.create_topic(t, TopicConfig::new(1)).unwrap();
    }
    // __consumer_offsets exists once a group commits.
    let mut c = b.consumer(ConsumerConfig::new().group_id("committer"));
    c.assign(&[tp(0)]).unwrap();
    c.commit_sync_offsets(&[(tp(0), OffsetAndMetadata::new(1))])
        .unwrap();
    drop(c);
    assert!(b.partition_count("__consumer_offsets").unwrap() > 0);
    let cases: &[(&str, &[&str])] = &[
        (r"logs-\d{4}", &["logs-2024"]),
        ("^logs-.*$", &["logs-2024", "logs-20245", "logs-abcd"]),
        ("logs-[0-9]+", &["logs-2024", "logs-20245"]),
        ("logs", &[]),
        ("2024", &[]),
        (r"metrics\.eu|t", &["metrics.eu", "t"]),
        ("(?i)LOGS-ABCD", &["logs-abcd"]),
        (r"[^_].*-\d+", &["logs-2024", "logs-20245", "xlogs-2024"]),
        (
            ".*",
            &[
                "logs-2024",
                "logs-20245",
                "logs-abcd",
                "metrics.eu",
                "t",
                "xlogs-2024",
            ],
        ),
        ("__.*", &[]),
        ("__consumer_offsets", &[]),
    ];
    for (pattern, want) in cases {
        let mut c = b.consumer(ConsumerConfig::new().group_id("p"));
        c.subscribe_pattern(pattern).unwrap();
        assert_eq!(c.subscription(), *want, "pattern `{pattern}`");
        assert_eq!(c.subscription_pattern(), Some(*pattern));
        c.poll(Duration::from_millis(10)).unwrap();
        assert!(
            c.assignment()
                .iter()
                .all(|tp| !tp.topic().starts_with("__")),
            "pattern `{pattern}` assigned an internal topic: {:?}",
            c.assignment()
        );
    }
}
