//! Record and admin details a Kafka user relies on: null header values survive a round
//! trip, `send_batch` splits batches that would not fit a segment, topic settings can
//! be read back, and a group's offsets can be set exactly (`alterConsumerGroupOffsets`)
//! only while it has no members.

use std::time::Duration;

use brooklet::{
    Broker, CleanupPolicy, ConsumerConfig, Error, Header, OffsetReset, ProducerRecord, TopicConfig,
    TopicPartition,
};

#[test]
fn null_header_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    b.producer()
        .send(
            ProducerRecord::new("t")
                .value("v")
                .header_null("trace")
                .headers_from([Header::new("a", "1")]),
        )
        .unwrap();
    let mut c = b.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest));
    c.assign(&[TopicPartition::new("t", 0)]).unwrap();
    let recs = c.poll(Duration::from_secs(1)).unwrap();
    let r = recs.iter().next().unwrap().to_owned();
    assert_eq!(
        r.headers,
        vec![
            Header {
                key: "trace".into(),
                value: None
            },
            Header::new("a", "1")
        ]
    );
}

#[test]
fn send_batch_splits_batches_larger_than_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("small", TopicConfig::new(1).segment_bytes(8 * 1024))
        .unwrap();
    let recs: Vec<_> = (0..100u32)
        .map(|i| ProducerRecord::new("small").value(vec![i as u8; 300]))
        .collect();
    let metas = b.producer().send_batch(recs).unwrap();
    assert_eq!(metas.last().unwrap().offset(), 99);
    assert!(b.describe_topic("small").unwrap().partitions[0].segments > 3);
    // One record larger than a segment is refused up front.
    let e = b
        .producer()
        .send(ProducerRecord::new("small").value(vec![0; 9000]))
        .unwrap_err();
    assert!(matches!(e, Error::RecordTooLarge { max: 8192, .. }), "{e}");
}

#[test]
fn topic_settings_can_be_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    let cfg = TopicConfig::new(2)
        .cleanup_policy(CleanupPolicy::Compact)
        .max_message_bytes(5000)
        .retention_ms(None);
    b.create_topic("c", cfg).unwrap();
    let d = b.describe_topic("c").unwrap();
    assert_eq!(d.config.get_cleanup_policy(), CleanupPolicy::Compact);
    assert_eq!(d.config.get_max_message_bytes(), 5000);
    assert_eq!(d.config.get_retention_ms(), None);
}

#[test]
fn group_offsets_are_set_exactly_only_without_members() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(2)).unwrap();
    let tp = |p| TopicPartition::new("t", p);
    b.commit_group_offsets("g", &[(tp(0), 0), (tp(1), 0)])
        .unwrap();
    b.commit_group_offsets("g", &[(tp(1), 7)]).unwrap();
    let offs: Vec<i64> = b
        .list_group_offsets("g")
        .unwrap()
        .iter()
        .map(|o| o.committed)
        .collect();
    assert_eq!(offs, vec![0, 7]);
    assert!(matches!(
        b.commit_group_offsets("g", &[(tp(5), 1)]),
        Err(Error::UnknownPartition { .. })
    ));
    assert!(matches!(
        b.commit_group_offsets("g", &[(tp(0), -1)]),
        Err(Error::InvalidArgument(_))
    ));
    let mut member = b.consumer(ConsumerConfig::new().group_id("g"));
    member.subscribe(&["t"]).unwrap();
    member.poll(Duration::from_millis(10)).unwrap();
    let e = b.commit_group_offsets("g", &[(tp(0), 3)]).unwrap_err();
    assert!(e.to_string().contains("active members"), "{e}");
    // A consumer without membership gets a clear message too.
    let mut outsider = b.consumer(ConsumerConfig::new().group_id("g"));
    outsider.assign(&[tp(0)]).unwrap();
    let e = outsider
        .commit_sync_offsets(&[(tp(0), brooklet::OffsetAndMetadata::new(1))])
        .unwrap_err();
    assert!(e.to_string().contains("active members"), "{e}");
}
