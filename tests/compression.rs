//! Compression wired through: producer and topic `compression.type`, the read path
//! (consumer, `offsets_for_times`), reopen and recovery, with every codec.

mod support;

use std::time::Duration;

use brooklet::format::{RecordIn, encode_batch_compressed};
use brooklet::storage::AppendScratch;
use brooklet::{
    Broker, Compression, ConsumerConfig, Error, OwnedConsumerRecord, ProducerConfig,
    ProducerRecord, TimestampType, TopicCompression, TopicConfig, TopicPartition,
};
use support::{read_partition, read_topic};

const CODECS: [Compression; 5] = Compression::ALL;

/// The codec of every batch stored in `topic`'s partition `p`.
fn stored_codecs(b: &Broker, topic: &str, p: u32) -> Vec<Compression> {
    let log = b.partition_log(topic, p).unwrap();
    let mut out = Vec::new();
    let mut at = log.log_start_offset();
    while at < log.log_end_offset() {
        let f = log.read(at, 1 << 20).unwrap();
        for batch in f.batches() {
            out.push(batch.unwrap().codec().unwrap());
        }
        at = f.next_offset();
    }
    out
}

fn record(i: usize) -> ProducerRecord {
    let text = format!(
        "tweet {i}: the quick brown fox jumps over the lazy dog, again and again and again"
    );
    let mut r = ProducerRecord::new("t")
        .partition(0)
        .value(text)
        .timestamp(1_700_000_000_000 + i as i64);
    if !i.is_multiple_of(3) {
        r = r.key(format!("user-{}", i % 7));
    }
    if i.is_multiple_of(2) {
        r = r.header("source", format!("s{i}")).header_null("empty");
    }
    r
}

fn check(got: &[OwnedConsumerRecord], from: usize, n: usize) {
    assert_eq!(got.len(), n);
    for (k, g) in got.iter().enumerate() {
        let i = from + k;
        let want = record(i);
        assert_eq!(g.offset, i as i64);
        assert_eq!(g.key.as_deref(), want.key_bytes(), "key of {i}");
        assert_eq!(g.value.as_deref(), want.value_bytes(), "value of {i}");
        assert_eq!(g.timestamp, 1_700_000_000_000 + i as i64);
        assert_eq!(g.timestamp_type, TimestampType::CreateTime);
        let hs: Vec<_> = g
            .headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect();
        let want_hs: Vec<_> = want
            .headers()
            .iter()
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect();
        assert_eq!(hs, want_hs, "headers of {i}");
    }
}

#[test]
fn producer_codecs_round_trip_through_the_consumer() {
    for codec in CODECS {
        let dir = tempfile::tempdir().unwrap();
        let b = Broker::open(dir.path()).unwrap();
        b.create_topic("t", TopicConfig::new(1)).unwrap();
        let p = b.producer_with(ProducerConfig::new().compression(codec));
        // One send at a time (one-record batches), then send_batch (many per batch).
        for i in 0..10 {
            assert_eq!(p.send(record(i)).unwrap().offset(), i as i64);
        }
        let metas = p.send_batch((10..300).map(record)).unwrap();
        assert_eq!(metas.last().unwrap().offset(), 299);
        check(&read_partition(&b, "t", 0), 0, 300);
        let codecs = stored_codecs(&b, "t", 0);
        assert!(codecs.iter().all(|&c| c == codec), "{codec}: {codecs:?}");
        // A consumer starting in the middle of a compressed batch sees the rest of it.
        let mut c = b.consumer(ConsumerConfig::new());
        let tp = TopicPartition::new("t", 0);
        c.assign(std::slice::from_ref(&tp)).unwrap();
        c.seek(&tp, 150).unwrap();
        let got: Vec<_> = c
            .poll(Duration::ZERO)
            .unwrap()
            .iter()
            .map(|r| r.to_owned())
            .collect();
        check(&got, 150, got.len());
        assert!(!got.is_empty());
        // offsets_for_times reads into compressed batches.
        let found = c
            .offsets_for_times(&[(tp.clone(), 1_700_000_000_000 + 123)])
            .unwrap();
        assert_eq!(found[&tp].unwrap().offset, 123, "{codec}");
        drop(c);
        b.close().unwrap();
        // Reopened (clean), then as after a crash (no clean-shutdown marker).
        let b = Broker::open(dir.path()).unwrap();
        check(&read_topic(&b, "t"), 0, 300);
        drop(b);
        for entry in std::fs::read_dir(dir.path().join("t-0")).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == ".clean-shutdown" {
                std::fs::remove_file(path).unwrap();
            }
        }
        let b = Broker::open(dir.path()).unwrap();
        check(&read_topic(&b, "t"), 0, 300);
        assert_eq!(p_send_after_reopen(&b), 300);
    }
}

fn p_send_after_reopen(b: &Broker) -> i64 {
    b.producer_with(ProducerConfig::new().compression(Compression::Zstd))
        .send(record(300))
        .unwrap()
        .offset()
}

#[test]
fn concurrent_senders_share_compressed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let p = b.producer_with(
        ProducerConfig::new()
            .compression(Compression::Lz4)
            .linger(Duration::from_millis(2)),
    );
    std::thread::scope(|s| {
        for t in 0..4 {
            let p = p.clone();
            s.spawn(move || {
                for i in 0..100 {
                    p.send(
                        ProducerRecord::new("t")
                            .key(format!("{t}"))
                            .value(format!("{t}-{i}")),
                    )
                    .unwrap();
                }
            });
        }
    });
    let got = read_partition(&b, "t", 0);
    assert_eq!(got.len(), 400);
    for t in 0..4 {
        let mine: Vec<_> = got
            .iter()
            .filter(|r| r.key.as_deref() == Some(format!("{t}").as_bytes()))
            .map(|r| r.value.clone().unwrap())
            .collect();
        let want: Vec<_> = (0..100).map(|i| format!("{t}-{i}").into_bytes()).collect();
        assert_eq!(mine, want);
    }
    assert!(
        stored_codecs(&b, "t", 0)
            .iter()
            .all(|&c| c == Compression::Lz4)
    );
}

#[test]
fn topic_compression_type_recompresses() {
    let cases = [
        (Compression::Lz4, TopicCompression::Zstd, Compression::Zstd),
        (
            Compression::Zstd,
            TopicCompression::Uncompressed,
            Compression::None,
        ),
        (Compression::None, TopicCompression::Gzip, Compression::Gzip),
        (
            Compression::Snappy,
            TopicCompression::Producer,
            Compression::Snappy,
        ),
        (Compression::Gzip, TopicCompression::Gzip, Compression::Gzip),
    ];
    for (producer, topic, stored) in cases {
        let dir = tempfile::tempdir().unwrap();
        let b = Broker::open(dir.path()).unwrap();
        b.create_topic("t", TopicConfig::new(1).compression_type(topic))
            .unwrap();
        let p = b.producer_with(ProducerConfig::new().compression(producer));
        p.send_batch((0..50).map(record)).unwrap();
        p.send(record(50)).unwrap();
        check(&read_partition(&b, "t", 0), 0, 51);
        assert!(
            stored_codecs(&b, "t", 0).iter().all(|&c| c == stored),
            "{producer} into {topic}"
        );
        // The setting survives a reopen.
        b.close().unwrap();
        let b = Broker::open(dir.path()).unwrap();
        assert_eq!(
            b.describe_topic("t").unwrap().config.get_compression_type(),
            topic
        );
    }
}

/// A batch encoded elsewhere (as a Kafka client sends it) goes through
/// `append_batch`: recompressed when the topic names another codec, stamped under
/// LogAppendTime without recompression.
#[test]
fn pre_encoded_batches_are_recompressed_as_the_topic_says() {
    let headers = [brooklet::Header::new("h", "v")];
    let ins: Vec<RecordIn> = (0..20)
        .map(|i| RecordIn {
            key: Some(b"k"),
            value: Some(b"a value, a value, a value"),
            timestamp: 1000 + i,
            headers: &headers,
        })
        .collect();
    let (mut lz4, mut tmp) = (Vec::new(), Vec::new());
    encode_batch_compressed(
        &mut lz4,
        &mut tmp,
        0,
        TimestampType::CreateTime,
        &ins,
        Compression::Lz4,
        None,
    )
    .unwrap();
    for (topic, ts_type, stored) in [
        (
            TopicCompression::Zstd,
            TimestampType::CreateTime,
            Compression::Zstd,
        ),
        (
            TopicCompression::Producer,
            TimestampType::LogAppendTime,
            Compression::Lz4,
        ),
        (
            TopicCompression::Uncompressed,
            TimestampType::LogAppendTime,
            Compression::None,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let b = Broker::open(dir.path()).unwrap();
        b.create_topic(
            "t",
            TopicConfig::new(1)
                .compression_type(topic)
                .message_timestamp_type(ts_type),
        )
        .unwrap();
        let log = b.partition_log("t", 0).unwrap();
        let mut scratch = AppendScratch::default();
        log.append_batch(&lz4, &mut scratch).unwrap();
        let info = log.append_batch(&lz4, &mut scratch).unwrap();
        assert_eq!((info.base_offset, info.last_offset), (20, 39));
        assert_eq!(stored_codecs(&b, "t", 0), [stored, stored]);
        let got = read_partition(&b, "t", 0);
        assert_eq!(got.len(), 40);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g.offset, i as i64);
            assert_eq!(g.value.as_deref(), Some(&b"a value, a value, a value"[..]));
            assert_eq!(g.headers, headers);
            match ts_type {
                TimestampType::CreateTime => assert_eq!(g.timestamp, 1000 + (i as i64 % 20)),
                TimestampType::LogAppendTime => {
                    assert_eq!(g.timestamp, info.log_append_time.unwrap().min(g.timestamp));
                    assert_eq!(g.timestamp_type, TimestampType::LogAppendTime);
                }
            }
        }
        // Damage is refused, never stored.
        let mut bad = lz4.clone();
        let n = bad.len();
        bad[n - 3] ^= 0xff;
        assert!(log.append_batch(&bad, &mut scratch).is_err());
        assert_eq!(log.log_end_offset(), 40);
    }
}

#[test]
fn max_message_bytes_applies_to_the_batch_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(1).max_message_bytes(10_000))
        .unwrap();
    let big = "all work and no play makes jack a dull boy. ".repeat(1000);
    let plain = b.producer();
    assert!(matches!(
        plain.send(ProducerRecord::new("t").value(big.clone())),
        Err(Error::RecordTooLarge { .. })
    ));
    let zstd = b.producer_with(ProducerConfig::new().compression(Compression::Zstd));
    zstd.send(ProducerRecord::new("t").value(big.clone()))
        .unwrap();
    // Incompressible records larger than the limit stay refused, compressed or not.
    let noise = support::SplitMix64::new(7).bytes(20_000);
    assert!(matches!(
        zstd.send(ProducerRecord::new("t").value(noise.clone())),
        Err(Error::RecordTooLarge { .. })
    ));
    // Records that fit one by one but not together once compressed are split.
    let recs: Vec<_> = (0..30)
        .map(|i| {
            let v: Vec<u8> = noise[i * 300..i * 300 + 320].to_vec();
            ProducerRecord::new("t").value(v)
        })
        .collect();
    let metas = zstd.send_batch(recs).unwrap();
    assert_eq!(metas.len(), 30);
    let got = read_partition(&b, "t", 0);
    assert_eq!(got.len(), 31);
    assert_eq!(got[0].value.as_deref(), Some(big.as_bytes()));
}

#[test]
fn producer_compression_level_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    for (codec, level, ok) in [
        (Compression::Gzip, 9, true),
        (Compression::Gzip, 10, false),
        (Compression::Lz4, 17, true),
        (Compression::Zstd, 23, false),
        (Compression::Zstd, -5, true),
        (Compression::Snappy, 1, false),
        (Compression::None, 1, false),
    ] {
        let cfg = ProducerConfig::new()
            .compression(codec)
            .compression_level(level);
        assert_eq!(cfg.validate().is_ok(), ok, "{codec} {level}");
        let sent = b.producer_with(cfg).send(record(0));
        match sent {
            Ok(_) => assert!(ok),
            Err(Error::InvalidArgument(m)) => {
                assert!(!ok);
                assert!(m.contains("compression"), "{m}");
            }
            Err(e) => panic!("{e}"),
        }
    }
}
