//! Consumer groups with members joining and leaving mid-stream: every record is
//! processed, assignments stay disjoint and cover every partition, a consumer dropped
//! mid-batch leaves at once and its partitions resume from the last commit, and two
//! groups on one topic each see every record (fan-out) while one consumer reads several
//! topics (fan-in).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brooklet::{Broker, ConsumerConfig, OffsetReset, ProducerRecord, TopicConfig, TopicPartition};

fn setup(partitions: u32, records: u32) -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(partitions).segment_bytes(64 * 1024))
        .unwrap();
    let p = b.producer();
    let batch: Vec<_> = (0..records)
        .map(|i| {
            ProducerRecord::new("t")
                .key(format!("k{i}"))
                .value(i.to_be_bytes().to_vec())
        })
        .collect();
    p.send_batch(batch).unwrap();
    (dir, b)
}

fn cfg(group: &str) -> ConsumerConfig {
    ConsumerConfig::new()
        .group_id(group)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_records(50)
}

fn value(v: Option<&[u8]>) -> u32 {
    u32::from_be_bytes(v.unwrap().try_into().unwrap())
}

#[test]
fn members_join_and_leave_mid_stream_without_losing_records() {
    let (_d, b) = setup(6, 3000);
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spawn = |name: &'static str, lifetime: Duration| {
        let b = b.clone();
        let seen = Arc::clone(&seen);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut c = b.consumer(cfg("g"));
            c.subscribe(&["t"]).unwrap();
            let start = Instant::now();
            while start.elapsed() < lifetime && !stop.load(std::sync::atomic::Ordering::Acquire) {
                let recs = c.poll(Duration::from_millis(20)).unwrap();
                for r in recs.iter() {
                    seen.lock().unwrap().insert(value(r.value()));
                }
                // Slow processing so that rebalances happen mid-stream.
                std::thread::sleep(Duration::from_millis(2));
                if !recs.is_empty() {
                    c.commit_sync().unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            c.close().unwrap();
        })
    };
    let a = spawn("a", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(100));
    let bb = spawn("b", Duration::from_millis(400));
    std::thread::sleep(Duration::from_millis(100));
    let c = spawn("c", Duration::from_secs(60));
    bb.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().len() < 3000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    a.join().unwrap();
    c.join().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3000);
    // Everything was committed: the group's lag is zero.
    let lag: i64 = b
        .list_group_offsets("g")
        .unwrap()
        .iter()
        .map(|o| o.lag)
        .sum();
    assert_eq!(lag, 0);
}

#[test]
fn assignments_are_disjoint_and_complete() {
    let (_d, b) = setup(7, 10);
    let mut consumers: Vec<_> = (0..3).map(|_| b.consumer(cfg("g2"))).collect();
    for c in &mut consumers {
        c.subscribe(&["t"]).unwrap();
    }
    // Poll round-robin from one thread until the group is stable.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for c in &mut consumers {
            c.poll(Duration::from_millis(5)).unwrap();
        }
        let total: usize = consumers.iter().map(|c| c.assignment().len()).sum();
        let d = b.describe_group("g2").unwrap();
        if total == 7 && d.state == brooklet::GroupState::Stable {
            break;
        }
        assert!(Instant::now() < deadline, "group never stabilised");
    }
    let mut all = BTreeSet::new();
    for c in &consumers {
        let a = c.assignment();
        assert!((2..=3).contains(&a.len()), "unbalanced: {a:?}");
        for tp in a {
            assert!(all.insert(tp), "partition assigned twice");
        }
    }
    assert_eq!(all.len(), 7);
    let d = b.describe_group("g2").unwrap();
    assert_eq!(d.members.len(), 3);
    assert_eq!(d.assignor.as_deref(), Some("range"));
}

#[test]
fn a_consumer_dropped_mid_batch_leaves_at_once() {
    let (_d, b) = setup(2, 400);
    let mut a = b.consumer(cfg("g3"));
    a.subscribe(&["t"]).unwrap();
    let mut processed: HashMap<u32, u32> = HashMap::new();
    // `a` takes both partitions, processes and commits one batch, then reads another
    // batch and is dropped before committing it.
    let r = a.poll(Duration::from_secs(5)).unwrap();
    for rec in r.iter() {
        *processed.entry(value(rec.value())).or_default() += 1;
    }
    a.commit_sync().unwrap();
    let in_flight = a.poll(Duration::from_secs(5)).unwrap().count();
    assert!(in_flight > 0);
    drop(a);
    let d = b.describe_group("g3").unwrap();
    assert!(d.members.is_empty(), "dropped consumer still a member");
    let mut c = b.consumer(cfg("g3"));
    c.subscribe(&["t"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while processed.len() < 400 && Instant::now() < deadline {
        for rec in c.poll(Duration::from_millis(50)).unwrap().iter() {
            *processed.entry(value(rec.value())).or_default() += 1;
        }
        c.commit_sync().unwrap();
    }
    assert_eq!(processed.len(), 400, "every record processed");
    // Only the uncommitted in-flight batch was processed twice.
    let twice = processed.values().filter(|&&n| n > 1).count();
    assert!(
        twice <= in_flight,
        "{twice} duplicates > in-flight {in_flight}"
    );
}

#[test]
fn fan_out_to_two_groups_and_fan_in_from_two_topics() {
    let (_d, b) = setup(3, 300);
    b.create_topic("u", TopicConfig::new(2)).unwrap();
    let p = b.producer();
    for i in 0..100u32 {
        p.send(ProducerRecord::new("u").value((10_000 + i).to_be_bytes().to_vec()))
            .unwrap();
    }
    let drain = |group: &str, topics: &[&str], want: usize| {
        let mut c = b.consumer(cfg(group));
        c.subscribe(topics).unwrap();
        let mut got = HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < want && Instant::now() < deadline {
            for r in c.poll(Duration::from_millis(50)).unwrap().iter() {
                got.insert(value(r.value()));
            }
        }
        got
    };
    assert_eq!(drain("fan-1", &["t"], 300).len(), 300);
    assert_eq!(drain("fan-2", &["t"], 300).len(), 300);
    let both = drain("fan-in", &["t", "u"], 400);
    assert_eq!(both.len(), 400);
    assert!(both.contains(&10_099) && both.contains(&0));
    let _ = TopicPartition::new("t", 0);
}
