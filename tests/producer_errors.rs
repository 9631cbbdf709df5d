//! Every error the producer can return, each with an actionable message: unknown topic,
//! unknown partition (explicit and from a custom partitioner), record too large,
//! poisoned partition after a failed flush, closed broker.

use std::sync::Arc;

use brooklet::{
    Broker, Error, FlushPolicy, Partitioner, PartitionerKind, ProducerConfig, ProducerRecord,
    TopicConfig,
};

fn broker() -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(3).max_message_bytes(1000))
        .unwrap();
    (dir, b)
}

#[test]
fn unknown_topic() {
    let (_d, b) = broker();
    let e = b
        .producer()
        .send(ProducerRecord::new("missing").value("x"))
        .unwrap_err();
    assert!(
        matches!(&e, Error::UnknownTopic { topic } if topic == "missing"),
        "{e}"
    );
    let e = b
        .producer()
        .send_batch(vec![
            ProducerRecord::new("t").value("a"),
            ProducerRecord::new("missing"),
        ])
        .unwrap_err();
    assert!(matches!(e, Error::UnknownTopic { .. }));
    // Nothing of a rejected batch was written.
    assert_eq!(
        b.describe_topic("t")
            .unwrap()
            .partitions
            .iter()
            .map(|p| p.log_end_offset)
            .sum::<i64>(),
        0
    );
}

#[test]
fn unknown_partition() {
    let (_d, b) = broker();
    let e = b
        .producer()
        .send(ProducerRecord::new("t").partition(3).value("x"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnknownPartition {
                partition: 3,
                partitions: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("has 3 partitions; partition 3 does not exist"),
        "{e}"
    );

    #[derive(Debug)]
    struct Broken;
    impl Partitioner for Broken {
        fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, n: u32) -> u32 {
            n + 5
        }
    }
    let p = b.producer_with(
        ProducerConfig::new().partitioner(PartitionerKind::Custom(Arc::new(Broken))),
    );
    assert!(matches!(
        p.send(ProducerRecord::new("t").value("x")),
        Err(Error::UnknownPartition { partition: 8, .. })
    ));
}

#[test]
fn record_too_large() {
    let (_d, b) = broker();
    let e = b
        .producer()
        .send(ProducerRecord::new("t").value(vec![0u8; 2000]))
        .unwrap_err();
    match &e {
        Error::RecordTooLarge { size, max, .. } => assert!(*size > 2000 && *max == 1000),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("max_message_bytes"), "{e}");
    // Records that fit individually are split into several batches by send_batch.
    let many: Vec<_> = (0..20)
        .map(|i| {
            ProducerRecord::new("t")
                .partition(0)
                .value(vec![i as u8; 300])
        })
        .collect();
    let metas = b.producer().send_batch(many).unwrap();
    assert_eq!(
        metas.iter().map(|m| m.offset()).collect::<Vec<_>>(),
        (0..20).collect::<Vec<i64>>()
    );
}

#[test]
fn poisoned_partition_after_a_failed_flush() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("d", TopicConfig::new(1).flush(FlushPolicy::EveryAppend))
        .unwrap();
    let p = b.producer();
    p.send(ProducerRecord::new("d").value("ok")).unwrap();
    b.partition_log("d", 0)
        .unwrap()
        .inject_flush_error(std::io::Error::other("EIO from a failing disk"));
    let e = p.send(ProducerRecord::new("d").value("lost?")).unwrap_err();
    assert!(
        matches!(&e, Error::Poisoned { partition, reason } if *partition == Some(brooklet::TopicPartition::new("d", 0)) && reason.contains("EIO")),
        "{e}"
    );
    // Sticky: a retry must not report success.
    let e = p.send(ProducerRecord::new("d").value("again")).unwrap_err();
    assert!(matches!(e, Error::Poisoned { .. }));
    assert!(e.to_string().contains("reopen"), "{e}");
    assert!(matches!(p.flush(), Err(Error::Poisoned { .. })));
    b.close().ok();
    drop(b);
    // Reopening recovers; what was acknowledged is there.
    let b = Broker::open(dir.path()).unwrap();
    let log = b.partition_log("d", 0).unwrap();
    let first = log
        .read(0, 1000)
        .unwrap()
        .records()
        .next()
        .unwrap()
        .unwrap()
        .value()
        .map(<[u8]>::to_vec);
    assert_eq!(first.as_deref(), Some(&b"ok"[..]));
    b.producer()
        .send(ProducerRecord::new("d").value("after"))
        .unwrap();
}

#[test]
fn closed_broker() {
    let (_d, b) = broker();
    let p = b.producer();
    b.close().unwrap();
    let e = p.send(ProducerRecord::new("t").value("x")).unwrap_err();
    assert!(matches!(e, Error::Closed), "{e}");
    assert!(matches!(p.flush(), Err(Error::Closed)));
    assert!(matches!(
        b.create_topic("u", TopicConfig::new(1)),
        Err(Error::Closed)
    ));
}
