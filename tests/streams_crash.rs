//! A streams worker killed mid-stream (child process, SIGKILL) loses no counts, and
//! double-counts none that were committed: after restarts, every key's count is at
//! least its true count, and the total over-count is bounded by the records that had
//! been processed but not yet committed at each kill (at-least-once).

use std::process::Stdio;
use std::time::{Duration, Instant};

use brooklet::streams::{I64, KafkaStreams, StreamsBuilder, StreamsConfig, Topology, Utf8};
use brooklet::{Broker, ProducerRecord, TopicConfig};

mod support;
use support::this_test_again;

const CHILD: &str = "BROOKLET_STREAMS_CRASH_CHILD";
const KEYS: u32 = 13;

fn topology() -> Topology {
    let b = StreamsBuilder::new();
    b.stream("in", Utf8, Utf8)
        .group_by(|_, v: &String| v.clone(), Utf8, Utf8)
        .count("per-key")
        .to_stream()
        .to("counts", Utf8, I64);
    b.build()
}

fn config() -> StreamsConfig {
    StreamsConfig::new("crashy")
        .num_threads(2)
        .commit_interval(Duration::from_millis(30))
        .max_poll_records(200)
}

fn committed(b: &Broker) -> i64 {
    b.list_group_offsets("crashy")
        .map(|v| {
            v.iter()
                .filter(|o| o.partition.topic() == "in")
                .map(|o| o.committed)
                .sum()
        })
        .unwrap_or(0)
}

fn final_counts(b: &Broker) -> Vec<i64> {
    let mut counts = vec![0i64; KEYS as usize];
    for p in 0..b.partition_count("counts").unwrap() {
        let log = b.partition_log("counts", p).unwrap();
        let mut off = 0;
        while off < log.log_end_offset() {
            let f = log.read(off, 1 << 20).unwrap();
            for r in f.records() {
                let r = r.unwrap();
                let k: usize = std::str::from_utf8(r.key().unwrap()).unwrap()[1..]
                    .parse()
                    .unwrap();
                counts[k] = i64::from_be_bytes(r.value().unwrap().try_into().unwrap());
            }
            off = f.next_offset();
        }
    }
    counts
}

#[test]
fn killed_worker_loses_no_counts() {
    if let Ok(dir) = std::env::var(CHILD) {
        let b = Broker::open(&dir).unwrap();
        let app = KafkaStreams::new(topology(), &b, config()).unwrap();
        app.start().unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let stress = std::env::var_os("BROOKLET_STRESS").is_some();
    let (n, kills) = if stress {
        (200_000u32, 40)
    } else {
        (30_000u32, 6)
    };
    let dir = tempfile::tempdir().unwrap();
    {
        let b = Broker::open(dir.path()).unwrap();
        b.create_topic("in", TopicConfig::new(4)).unwrap();
        b.create_topic("counts", TopicConfig::new(1)).unwrap();
        let p = b.producer();
        let batch: Vec<_> = (0..n)
            .map(|i| {
                ProducerRecord::new("in")
                    .key(format!("r{i}"))
                    .value(format!("k{}", i % KEYS))
            })
            .collect();
        p.send_batch(batch).unwrap();
        b.close().unwrap();
    }
    let mut overcount_bound = 0i64;
    for k in 0..kills {
        let mut child = this_test_again("killed_worker_loses_no_counts", CHILD, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(80 + (k as u64 * 53) % 200));
        child.kill().unwrap();
        child.wait().unwrap();
        let b = Broker::open(dir.path()).unwrap();
        // Whatever was processed beyond the committed offsets may be counted again.
        overcount_bound += n as i64 - committed(&b);
        b.close().unwrap();
    }
    // A last, clean run to the end.
    let b = Broker::open(dir.path()).unwrap();
    let app = KafkaStreams::new(topology(), &b, config()).unwrap();
    app.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !app.is_caught_up() {
        assert!(Instant::now() < deadline, "never caught up");
        std::thread::sleep(Duration::from_millis(10));
    }
    app.close().unwrap();
    let counts = final_counts(&b);
    let mut over = 0;
    for (k, &c) in counts.iter().enumerate() {
        let truth = (0..n).filter(|i| i % KEYS == k as u32).count() as i64;
        assert!(
            c >= truth,
            "key k{k}: count {c} < true {truth}: counts were lost"
        );
        over += c - truth;
    }
    assert!(
        over <= overcount_bound,
        "over-count {over} exceeds uncommitted records {overcount_bound}"
    );
    eprintln!("streams crash: {kills} kills, over-count {over} (bound {overcount_bound})");
}
