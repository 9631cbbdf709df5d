//! Broker and topic administration: the directory lock, create / list / describe /
//! grow / delete, Kafka's naming rules, reopening, auto-creation, and deleting a topic
//! under a reader.

use brooklet::{Broker, Error, ProducerRecord, TopicConfig};

#[test]
fn second_opener_gets_locked_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    let e = Broker::open(dir.path()).unwrap_err();
    match &e {
        Error::Locked { dir: d, holder } => {
            assert_eq!(d, dir.path());
            assert!(holder.contains(&std::process::id().to_string()), "{holder}");
        }
        other => panic!("expected Locked, got {other}"),
    }
    assert!(e.to_string().contains("locked"), "{e}");
    b.close().unwrap();
    // Released on close.
    Broker::open(dir.path()).unwrap();
}

#[test]
fn second_process_gets_locked() {
    if std::env::var_os("BROOKLET_LOCK_CHILD").is_some() {
        let dir = std::env::var("BROOKLET_LOCK_CHILD").unwrap();
        match Broker::open(&dir) {
            Err(Error::Locked { holder, .. }) => {
                println!("LOCKED by {holder}");
                std::process::exit(0)
            }
            other => {
                println!("UNEXPECTED {other:?}");
                std::process::exit(1)
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let _b = Broker::open(dir.path()).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "second_process_gets_locked",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BROOKLET_LOCK_CHILD", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("LOCKED by process {}", std::process::id())),
        "{stdout}"
    );
}

#[test]
fn topics_are_created_listed_described_grown_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("b-topic", TopicConfig::new(2)).unwrap();
    b.create_topic("a.topic_1", TopicConfig::new(1)).unwrap();
    assert_eq!(
        b.list_topics(),
        vec!["a.topic_1".to_string(), "b-topic".to_string()]
    );
    assert!(matches!(
        b.create_topic("b-topic", TopicConfig::new(1)),
        Err(Error::TopicExists { .. })
    ));
    let p = b.producer();
    for i in 0..10 {
        p.send(
            ProducerRecord::new("b-topic")
                .partition(i % 2)
                .value(vec![i as u8]),
        )
        .unwrap();
    }
    let d = b.describe_topic("b-topic").unwrap();
    assert_eq!(d.partitions.len(), 2);
    assert_eq!(
        d.partitions.iter().map(|p| p.log_end_offset).sum::<i64>(),
        10
    );
    assert!(!d.internal);
    assert!(matches!(
        b.create_partitions("b-topic", 2),
        Err(Error::InvalidArgument(_))
    ));
    b.create_partitions("b-topic", 5).unwrap();
    assert_eq!(b.partition_count("b-topic").unwrap(), 5);
    p.send(ProducerRecord::new("b-topic").partition(4).value("new"))
        .unwrap();
    b.close().unwrap();

    let b = Broker::open(dir.path()).unwrap();
    assert_eq!(b.list_topics().len(), 2);
    let d = b.describe_topic("b-topic").unwrap();
    assert_eq!(d.partitions.len(), 5);
    assert_eq!(d.partitions[4].log_end_offset, 1);
    assert_eq!(
        d.partitions.iter().map(|p| p.log_end_offset).sum::<i64>(),
        11
    );
    b.delete_topic("b-topic").unwrap();
    assert!(matches!(
        b.describe_topic("b-topic"),
        Err(Error::UnknownTopic { .. })
    ));
    assert!(matches!(
        b.delete_topic("b-topic"),
        Err(Error::UnknownTopic { .. })
    ));
    assert!(!dir.path().join("b-topic-0").exists());
    // Re-creating starts empty.
    b.create_topic("b-topic", TopicConfig::new(1)).unwrap();
    assert_eq!(
        b.describe_topic("b-topic").unwrap().partitions[0].log_end_offset,
        0
    );
}

#[test]
fn names_and_configs_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    for bad in ["", ".", "..", "has space", "slash/y", &"x".repeat(250)] {
        assert!(
            matches!(
                b.create_topic(bad, TopicConfig::new(1)),
                Err(Error::InvalidTopicName { .. })
            ),
            "{bad:?}"
        );
    }
    let e = b
        .create_topic("__consumer_offsets", TopicConfig::new(1))
        .unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
    assert!(matches!(
        b.create_topic("zero", TopicConfig::new(0)),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        b.create_topic("tiny", TopicConfig::new(1).segment_bytes(10)),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn auto_create_is_off_by_default_and_works_when_on() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    let e = b
        .producer()
        .send(ProducerRecord::new("nope").value("x"))
        .unwrap_err();
    assert!(matches!(e, Error::UnknownTopic { .. }));
    assert!(e.to_string().contains("auto_create_topics"), "{e}");
    b.close().unwrap();
    let b = Broker::builder(dir.path())
        .auto_create_topics(true)
        .default_topic_config(TopicConfig::new(3))
        .open()
        .unwrap();
    let m = b
        .producer()
        .send(ProducerRecord::new("auto").value("x"))
        .unwrap();
    assert_eq!(m.offset(), 0);
    assert_eq!(b.partition_count("auto").unwrap(), 3);
}

#[test]
fn deleting_a_topic_under_a_reader_does_not_crash_it() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(1).segment_bytes(4096))
        .unwrap();
    let p = b.producer();
    for i in 0..200u32 {
        p.send(ProducerRecord::new("t").value(i.to_be_bytes().to_vec()))
            .unwrap();
    }
    let log = b.partition_log("t", 0).unwrap();
    let fetched = log.read(0, 1 << 20).unwrap();
    b.delete_topic("t").unwrap();
    // The reader's batches stay valid; new appends to the closed log are refused.
    assert!(fetched.records().all(|r| r.is_ok()));
    assert!(fetched.records().count() > 0);
    assert!(matches!(
        p.send(ProducerRecord::new("t").value("x")),
        Err(Error::UnknownTopic { .. })
    ));
    assert!(log.read(0, 100).is_ok());
}

#[test]
fn foreign_directories_named_like_partitions_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    // An operator's directory that happens to look like `<topic>-<n>`.
    let backup = dir.path().join("backup-1");
    std::fs::create_dir_all(&backup).unwrap();
    std::fs::write(backup.join("notes.txt"), "keep me").unwrap();
    // A real leftover of a deleted topic: marked for deletion as Kafka marks it.
    let leftover = dir
        .path()
        .join("gone-0.00112233445566778899aabbccddeeff-delete");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join(format!("{:020}.log", 0)), b"").unwrap();
    // Brooklet's files without metadata and without that mark are never taken for a
    // deleted topic's leftovers (issue 12, item 3): the topic is rebuilt.
    let unmarked = dir.path().join("kept-0");
    std::fs::create_dir_all(&unmarked).unwrap();
    std::fs::write(unmarked.join(format!("{:020}.log", 0)), b"").unwrap();
    let b = Broker::open(dir.path()).unwrap();
    assert!(
        unmarked.exists(),
        "an unmarked partition directory was deleted"
    );
    assert_eq!(b.list_topics(), vec!["kept".to_string()]);
    assert!(
        backup.join("notes.txt").exists(),
        "an operator's files were deleted"
    );
    assert!(
        !leftover.exists(),
        "a deleted topic's partition directory stayed"
    );
    drop(b);
}
