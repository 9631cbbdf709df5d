//! Keyed records land where Kafka's Java client puts them: the producer's partition for
//! every key of `tests/fixtures/murmur2_vectors.txt` (computed by kafka-python and
//! checked against Kafka's own `Utils.murmur2`) for 1, 3, 7, 12 and 100 partitions.

use brooklet::{Broker, ProducerRecord, TopicConfig};

mod support;
use support::unhex;

#[test]
fn producer_partitions_match_kafka() {
    let text = include_str!("fixtures/murmur2_vectors.txt");
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    let counts = [1u32, 3, 7, 12, 100];
    for n in counts {
        b.create_topic(
            &format!("p{n}"),
            TopicConfig::new(n).segment_bytes(64 * 1024),
        )
        .unwrap();
    }
    let producer = b.producer();
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let key = unhex(cols[0]);
        for (i, n) in counts.iter().enumerate() {
            let want: u32 = cols[2 + i].parse().unwrap();
            let m = producer
                .send(
                    ProducerRecord::new(format!("p{n}"))
                        .key(key.clone())
                        .value("v"),
                )
                .unwrap();
            assert_eq!(m.partition(), want, "key {} with {n} partitions", cols[0]);
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} vectors");
}
