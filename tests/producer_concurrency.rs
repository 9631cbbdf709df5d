//! Concurrent sends: N threads sending to one topic (and to one partition) lose
//! nothing, duplicate nothing, every partition's offsets are dense, and each thread's
//! records keep their order within a partition, with and without linger.

use std::collections::HashMap;
use std::time::Duration;

use brooklet::{Broker, ProducerConfig, ProducerRecord, TopicConfig};

fn scale() -> u32 {
    if std::env::var_os("BROOKLET_STRESS").is_some() {
        50_000
    } else {
        2_000
    }
}

fn run(partitions: u32, config: ProducerConfig, keyed: bool) {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(partitions).segment_bytes(256 * 1024))
        .unwrap();
    let producer = b.producer_with(config);
    let threads = 4u32;
    let n = scale();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let p = producer.clone();
            std::thread::spawn(move || {
                let mut metas = Vec::new();
                for i in 0..n {
                    let mut r = ProducerRecord::new("t").value(format!("{t}:{i}"));
                    if keyed {
                        r = r.key(format!("k{}", i % 16));
                    }
                    metas.push((i, p.send(r).unwrap()));
                }
                metas
            })
        })
        .collect();
    let mut acked = 0;
    for h in handles {
        acked += h.join().unwrap().len() as u32;
    }
    assert_eq!(acked, threads * n);
    // Read everything back: dense offsets, every record exactly once, per-thread order.
    let mut seen: HashMap<(u32, u32), (u32, i64)> = HashMap::new();
    let mut last_per_thread_partition: HashMap<(u32, u32), u32> = HashMap::new();
    let mut total = 0u32;
    for part in 0..partitions {
        let log = b.partition_log("t", part).unwrap();
        let mut offset = 0;
        while offset < log.log_end_offset() {
            let f = log.read(offset, 1 << 20).unwrap();
            for r in f.records() {
                let r = r.unwrap();
                assert_eq!(r.offset(), offset, "dense offsets in partition {part}");
                offset += 1;
                let v = std::str::from_utf8(r.value().unwrap()).unwrap();
                let (t, i) = v.split_once(':').unwrap();
                let (t, i): (u32, u32) = (t.parse().unwrap(), i.parse().unwrap());
                assert!(
                    seen.insert((t, i), (part, r.offset())).is_none(),
                    "duplicate {v}"
                );
                if let Some(prev) = last_per_thread_partition.insert((t, part), i) {
                    assert!(
                        prev < i,
                        "thread {t} order broken in partition {part}: {prev} then {i}"
                    );
                }
                total += 1;
            }
        }
    }
    assert_eq!(total, threads * n, "records lost");
}

#[test]
fn many_threads_one_partition() {
    run(1, ProducerConfig::new(), false);
}

#[test]
fn many_threads_keyed_over_partitions() {
    run(6, ProducerConfig::new(), true);
}

#[test]
fn many_threads_keyless_sticky_with_linger() {
    run(
        3,
        ProducerConfig::new()
            .linger(Duration::from_micros(200))
            .batch_size(4096),
        false,
    );
}

#[test]
fn concurrent_sends_share_batches() {
    // With linger, concurrent senders must end up in shared batches: fewer batches than
    // records proves group append happened.
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    let producer = b.producer_with(
        ProducerConfig::new()
            .linger(Duration::from_millis(2))
            .batch_size(1 << 20),
    );
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let p = producer.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    p.send(ProducerRecord::new("t").value(format!("{t}-{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let log = b.partition_log("t", 0).unwrap();
    assert_eq!(log.log_end_offset(), 400);
    let f = log.read(0, 1 << 30).unwrap();
    let batches = f.batches().count();
    assert!(
        batches < 400,
        "{batches} batches for 400 records: no group append"
    );
}
