//! A mirror that was stopped while its source kept being written, with both brokers
//! closed and reopened in between, resumes where it left off: afterwards every
//! mirrored topic equals its source record for record (keys, values, headers,
//! timestamps, partition and order), a topic created meanwhile is mirrored too,
//! topics that do not match are not, and the lag it reports goes from the records
//! written while stopped to zero.

use std::time::{Duration, Instant};

use brooklet::connect::{Mirror, MirrorConfig};
use brooklet::{Broker, ProducerRecord, TopicConfig};

mod support;
use support::read_partition;

const PATTERN: &str = "orders|clicks.*";

/// Writes `n` records to `topic`: keyed and keyless, with headers, explicit
/// timestamps, and a few null values.
fn write(b: &Broker, topic: &str, from: usize, n: usize) {
    let p = b.producer();
    let recs = (from..from + n).map(|i| {
        let mut r = ProducerRecord::new(topic)
            .timestamp(1_700_000_000_000 + (i as i64 * 7919) % 100_000)
            .header("seq", i.to_string())
            .header("src", topic);
        if i % 5 != 0 {
            r = r.key(format!("k{}", i % 97));
        } else {
            r = r.partition((i % 2) as u32);
        }
        if i % 13 != 0 {
            r = r.value(format!("{topic}-value-{i}"));
        }
        r
    });
    p.send_batch(recs).unwrap();
}

fn assert_mirrored(src: &Broker, tgt: &Broker, topic: &str) -> usize {
    let n = src.partition_count(topic).unwrap();
    assert_eq!(
        tgt.partition_count(topic).unwrap(),
        n,
        "{topic}: partition count"
    );
    let mut total = 0;
    for p in 0..n {
        let a = read_partition(src, topic, p);
        let b = read_partition(tgt, topic, p);
        assert_eq!(a.len(), b.len(), "{topic}-{p}: record count");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (&x.key, &x.value, &x.headers, x.timestamp),
                (&y.key, &y.value, &y.headers, y.timestamp),
                "{topic}-{p}: source offset {} vs target offset {}",
                x.offset,
                y.offset
            );
        }
        total += a.len();
    }
    total
}

fn wait_caught_up(m: &Mirror, topics: &[&str], src: &Broker) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lag = m.lag().unwrap();
        let want: usize = topics
            .iter()
            .map(|t| src.partition_count(t).unwrap() as usize)
            .sum();
        let covered = lag
            .iter()
            .filter(|l| topics.contains(&l.source.topic()))
            .count();
        if covered == want && lag.iter().all(|l| l.lag == 0) {
            return;
        }
        let st = m.status().unwrap();
        assert!(st.error.is_none(), "{st:?}");
        assert!(Instant::now() < deadline, "not caught up: {lag:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn mirror_resumes_after_a_stop_and_reopened_brokers() {
    let stress = std::env::var_os("BROOKLET_STRESS").is_some();
    let n = if stress { 100_000 } else { 4_000 };
    let dir = tempfile::tempdir().unwrap();
    let (sdir, tdir) = (dir.path().join("dc1"), dir.path().join("dc2"));
    let config = || {
        MirrorConfig::new("dc1-dc2", PATTERN)
            .tasks(2)
            .max_poll_records(300)
    };

    // Phase 1: mirror what is there.
    let src = Broker::open(&sdir).unwrap();
    let tgt = Broker::open(&tdir).unwrap();
    src.create_topic("orders", TopicConfig::new(3)).unwrap();
    src.create_topic("clicks", TopicConfig::new(2)).unwrap();
    src.create_topic("other", TopicConfig::new(2)).unwrap();
    write(&src, "orders", 0, n);
    write(&src, "clicks", 0, n / 2);
    write(&src, "other", 0, 10);
    let m = Mirror::new(&src, &tgt, config()).unwrap();
    m.start().unwrap();
    wait_caught_up(&m, &["orders", "clicks"], &src);
    m.stop().unwrap();

    // Written while the mirror is stopped.
    write(&src, "orders", n, n);
    write(&src, "clicks", n / 2, n / 2);
    src.create_topic("clicks-eu", TopicConfig::new(2)).unwrap();
    write(&src, "clicks-eu", 0, n / 4);
    let lag: i64 = m
        .lag()
        .unwrap()
        .iter()
        .filter(|l| l.source.topic() != "clicks-eu")
        .map(|l| l.lag)
        .sum();
    assert_eq!(lag, (n + n / 2) as i64, "lag while stopped");
    drop(m);

    // Both sides restart.
    src.close().unwrap();
    tgt.close().unwrap();
    let src = Broker::open(&sdir).unwrap();
    let tgt = Broker::open(&tdir).unwrap();
    let m = Mirror::new(&src, &tgt, config()).unwrap();
    m.start().unwrap();
    wait_caught_up(&m, &["orders", "clicks", "clicks-eu"], &src);
    m.stop().unwrap();

    assert_eq!(assert_mirrored(&src, &tgt, "orders"), 2 * n);
    assert_eq!(assert_mirrored(&src, &tgt, "clicks"), n);
    assert_eq!(assert_mirrored(&src, &tgt, "clicks-eu"), n / 4);
    assert!(
        !tgt.list_topics().contains(&"other".to_string()),
        "a topic that does not match is not mirrored"
    );
    let st = m.status().unwrap();
    assert!(!st.running && st.error.is_none(), "{st:?}");
}
