//! Everything at once: several producer threads write keyed records to a plain topic, a
//! size-retained topic and a compacted topic while two consumer groups (one eager
//! range, one cooperative-sticky) read the plain topic with members joining and
//! leaving, a reader tails the compacted topic, and `run_maintenance` applies
//! retention and compaction in a loop. At the end: every record produced is in the
//! log exactly once and each key's records are in production order; each group saw
//! every offset (at least once), each poll's records contiguous within a generation;
//! retention left a dense suffix; compaction left the latest record of every key.
//!
//! Quick by default; `BROOKLET_STRESS=1` scales it up.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use brooklet::{
    Broker, CleanupPolicy, ConsumerConfig, CooperativeStickyAssignor, Error, OffsetReset,
    ProducerRecord, RangeAssignor, TopicConfig,
};

const EVENTS: &str = "events";
const RETAINED: &str = "retained";
const COMPACTED: &str = "compacted";
const PARTITIONS: u32 = 4;
const KEYS_PER_PRODUCER: usize = 8;

struct Size {
    producers: usize,
    records_per_producer: usize,
    deadline: Duration,
}

fn stress() -> bool {
    std::env::var_os("BROOKLET_STRESS").is_some()
}

fn size() -> Size {
    if stress() {
        Size {
            producers: 8,
            records_per_producer: 200_000,
            deadline: Duration::from_secs(600),
        }
    } else {
        Size {
            producers: 4,
            records_per_producer: 30_000,
            deadline: Duration::from_secs(120),
        }
    }
}

/// Key `p<producer>-k<j>`, value `<producer>:<seq>:<padding>` where `seq` counts that key's
/// records (so per-key order is checkable), or a tombstone on the compacted topic.
fn key(p: usize, j: usize) -> String {
    format!("p{p}-k{j}")
}

fn parse_value(v: &[u8]) -> (usize, u64) {
    let s = std::str::from_utf8(v).unwrap();
    let mut parts = s.split(':');
    let p = parts.next().unwrap().parse().unwrap();
    let seq = parts.next().unwrap().parse().unwrap();
    (p, seq)
}

/// What a producer wrote: per topic, per key, the last seq (None: a tombstone).
type Produced = HashMap<(&'static str, String), (u64, bool)>;

fn producer_thread(b: Broker, p: usize, n: usize, stop: Arc<AtomicBool>) -> Produced {
    let prod = b.producer();
    let mut seqs: HashMap<(&'static str, String), u64> = HashMap::new();
    let mut out = Produced::new();
    let mut rng = 0x9E37_79B9_u64 ^ (p as u64 * 0x1000_0001);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..n {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let topic = match i % 4 {
            0 | 1 => EVENTS,
            2 => RETAINED,
            _ => COMPACTED,
        };
        let k = key(p, (next() % KEYS_PER_PRODUCER as u64) as usize);
        let seq = seqs.entry((topic, k.clone())).or_insert(0);
        *seq += 1;
        let tombstone = topic == COMPACTED && next() % 10 == 0;
        let mut rec = ProducerRecord::new(topic).key(k.clone());
        if !tombstone {
            // Some padding so segments roll and retention/compaction have work.
            let pad = "x".repeat((next() % 200) as usize);
            rec = rec.value(format!("{p}:{seq}:{pad}"));
        }
        // Now and then a batch of several records for one key (group append covers
        // the single sends).
        if i % 97 == 0 && !tombstone {
            let mut batch = vec![rec];
            for _ in 0..3 {
                *seq += 1;
                batch.push(
                    ProducerRecord::new(topic)
                        .key(k.clone())
                        .value(format!("{p}:{seq}:")),
                );
            }
            prod.send_batch(batch).unwrap();
        } else {
            prod.send(rec).unwrap();
        }
        out.insert((topic, k), (*seq, tombstone));
    }
    out
}

/// One delivered record: partition, offset, key, value.
type Delivered = (u32, i64, Vec<u8>, Vec<u8>);

struct GroupLog {
    delivered: Mutex<Vec<Delivered>>,
    members_started: AtomicU64,
    continuity_checks: AtomicU64,
}

/// A member: polls for `polls` rounds (or until `until` says stop), checking that
/// within one generation each partition's records follow each other without a gap or
/// a rewind, commits after each poll, then leaves the group.
fn member(
    b: Broker,
    group: &'static str,
    cooperative: bool,
    log: Arc<GroupLog>,
    polls: usize,
    until: impl Fn(&brooklet::Consumer) -> bool,
    deadline: Instant,
) {
    log.members_started.fetch_add(1, Ordering::Relaxed);
    let cfg = ConsumerConfig::new()
        .group_id(group)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_records(300)
        .assignors(if cooperative {
            vec![Arc::new(CooperativeStickyAssignor)]
        } else {
            vec![Arc::new(RangeAssignor)]
        });
    let mut c = b.consumer(cfg);
    c.subscribe(&[EVENTS]).unwrap();
    let mut last: HashMap<u32, (i32, i64)> = HashMap::new();
    let mut round = 0;
    while round < polls && !until(&c) {
        assert!(Instant::now() < deadline, "{group}: member never finished");
        let recs = c.poll(Duration::from_millis(5)).unwrap();
        let generation = c.group_metadata().map_or(-1, |(_, g)| g);
        let mut got = Vec::with_capacity(recs.count());
        for r in recs.iter() {
            got.push((
                r.partition(),
                r.offset(),
                r.key().unwrap().to_vec(),
                r.value().unwrap().to_vec(),
            ));
        }
        for (p, off, ..) in &got {
            if let Some(&(g, prev)) = last.get(p)
                && g == generation
            {
                assert_eq!(
                    *off,
                    prev + 1,
                    "{group}: partition {p} jumped from {prev} to {off} inside generation {g}"
                );
                log.continuity_checks.fetch_add(1, Ordering::Relaxed);
            }
            last.insert(*p, (generation, *off));
        }
        log.delivered.lock().unwrap().extend(got);
        match c.commit_sync() {
            // A rebalance can fence a commit; the next owner re-reads (at least once).
            Ok(()) | Err(Error::StaleGeneration { .. } | Error::RebalanceInProgress { .. }) => {}
            Err(e) => panic!("{group}: commit failed: {e}"),
        }
        round += 1;
    }
    c.close().unwrap();
}

/// Runs a group: members with random lifetimes join and leave while producers run,
/// then one last member reads until the group has committed the log end everywhere.
fn group_thread(
    b: Broker,
    group: &'static str,
    cooperative: bool,
    producing: Arc<AtomicBool>,
    deadline: Instant,
) -> Arc<GroupLog> {
    let log = Arc::new(GroupLog {
        delivered: Mutex::new(Vec::new()),
        members_started: AtomicU64::new(0),
        continuity_checks: AtomicU64::new(0),
    });
    let mut rng = if cooperative { 7u64 } else { 11u64 };
    let mut members = Vec::new();
    while producing.load(Ordering::Acquire) {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Join the members that left, so that a failed check in one fails the test.
        let (done, running): (Vec<_>, Vec<_>) = members
            .into_iter()
            .partition(|h: &thread::JoinHandle<()>| h.is_finished());
        for h in done {
            h.join().unwrap();
        }
        members = running;
        if members.len() < 3 {
            let polls = 5 + (rng >> 33) as usize % 40;
            let (b, log) = (b.clone(), Arc::clone(&log));
            members.push(thread::spawn(move || {
                member(b, group, cooperative, log, polls, |_| false, deadline)
            }));
        }
        thread::sleep(Duration::from_millis(5 + (rng >> 40) % 20));
    }
    for h in members {
        h.join().unwrap();
    }
    // The last member stays until the group is caught up on every partition.
    let caught_up = {
        let b = b.clone();
        move |c: &brooklet::Consumer| {
            c.assignment().len() == PARTITIONS as usize
                && b.list_group_offsets(group)
                    .unwrap()
                    .iter()
                    .filter(|o| o.partition.topic() == EVENTS)
                    .map(|o| o.lag)
                    .sum::<i64>()
                    == 0
                && b.list_group_offsets(group).unwrap().len() == PARTITIONS as usize
        }
    };
    member(
        b,
        group,
        cooperative,
        Arc::clone(&log),
        usize::MAX,
        caught_up,
        deadline,
    );
    log
}

/// A record as read back: offset, key, value (None: a tombstone).
type Row = (i64, Vec<u8>, Option<Vec<u8>>);

/// Every record of one partition, from the log start.
fn read_partition(b: &Broker, topic: &str, p: u32) -> Vec<Row> {
    let log = b.partition_log(topic, p).unwrap();
    let mut out = Vec::new();
    let mut off = log.log_start_offset();
    while off < log.log_end_offset() {
        let f = log.read(off, 1 << 20).unwrap();
        for r in f.records() {
            let r = r.unwrap();
            out.push((
                r.offset(),
                r.key().unwrap().to_vec(),
                r.value().map(<[u8]>::to_vec),
            ));
        }
        assert!(f.next_offset() > off, "{topic}-{p}: read made no progress");
        off = f.next_offset();
    }
    out
}

/// Per key, the seqs of the records with a value must increase along the offsets.
fn check_key_order(topic: &str, p: u32, rows: &[Row]) {
    let mut last: HashMap<&[u8], u64> = HashMap::new();
    for (off, k, v) in rows {
        let Some(v) = v else { continue };
        let (_, seq) = parse_value(v);
        if let Some(&prev) = last.get(k.as_slice()) {
            assert!(
                seq > prev,
                "{topic}-{p}: key {} goes from seq {prev} to {seq} at offset {off}",
                String::from_utf8_lossy(k)
            );
        }
        last.insert(k, seq);
    }
}

/// Tails the compacted topic from its start while it is being compacted: every read
/// succeeds and per-key order holds in every pass.
fn tailer(b: Broker, stop: Arc<AtomicBool>) -> u64 {
    let mut passes = 0;
    while !stop.load(Ordering::Acquire) {
        for p in 0..PARTITIONS {
            let rows = read_partition(&b, COMPACTED, p);
            check_key_order(COMPACTED, p, &rows);
        }
        passes += 1;
    }
    passes
}

#[test]
fn producers_groups_and_maintenance_together() {
    let sz = size();
    let deadline = Instant::now() + sz.deadline;
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::builder(dir.path())
        .maintenance_interval(Duration::ZERO)
        .open()
        .unwrap();
    b.create_topic(EVENTS, TopicConfig::new(PARTITIONS).segment_bytes(64 << 10))
        .unwrap();
    b.create_topic(
        RETAINED,
        TopicConfig::new(PARTITIONS)
            .segment_bytes(16 << 10)
            .retention_bytes(Some(48 << 10)),
    )
    .unwrap();
    b.create_topic(
        COMPACTED,
        TopicConfig::new(PARTITIONS)
            .segment_bytes(8 << 10)
            .cleanup_policy(CleanupPolicy::Compact)
            .min_cleanable_dirty_ratio(0.0),
    )
    .unwrap();

    let producing = Arc::new(AtomicBool::new(true));
    let stop = Arc::new(AtomicBool::new(false));
    let groups: Vec<_> = [("eager", false), ("coop", true)]
        .into_iter()
        .map(|(g, coop)| {
            let (b, producing) = (b.clone(), Arc::clone(&producing));
            thread::spawn(move || group_thread(b, g, coop, producing, deadline))
        })
        .collect();
    let maint = {
        let (b, stop) = (b.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let mut total = brooklet::MaintenanceReport::default();
            let mut passes = 0u64;
            while !stop.load(Ordering::Acquire) {
                let r = b.run_maintenance().unwrap();
                total.segments_deleted += r.segments_deleted;
                total.segments_compacted += r.segments_compacted;
                total.records_compacted += r.records_compacted;
                passes += 1;
                thread::sleep(Duration::from_millis(2));
            }
            (total, passes)
        })
    };
    let tail = {
        let (b, stop) = (b.clone(), Arc::clone(&stop));
        thread::spawn(move || tailer(b, stop))
    };
    let producers: Vec<_> = (0..sz.producers)
        .map(|p| {
            let (b, stop) = (b.clone(), Arc::clone(&stop));
            let n = sz.records_per_producer;
            thread::spawn(move || producer_thread(b, p, n, stop))
        })
        .collect();
    let produced: Vec<Produced> = producers.into_iter().map(|h| h.join().unwrap()).collect();
    producing.store(false, Ordering::Release);
    let group_logs: Vec<Arc<GroupLog>> = groups.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::Release);
    let (maint_total, maint_passes) = maint.join().unwrap();
    let tail_passes = tail.join().unwrap();
    // A last pass over the quiet log.
    b.run_maintenance().unwrap();

    // Expected per topic: total records and each key's last seq.
    let mut expect_last: BTreeMap<(&str, String), (u64, bool)> = BTreeMap::new();
    for m in &produced {
        for (k, v) in m {
            expect_last.insert(k.clone(), *v);
        }
    }
    let total = |t: &str| -> u64 {
        expect_last
            .iter()
            .filter(|((topic, _), _)| *topic == t)
            .map(|(_, (seq, _))| seq)
            .sum()
    };

    // The plain topic: every record exactly once, dense, per-key order.
    let mut events_rows = HashMap::new();
    let mut seen = 0u64;
    for p in 0..PARTITIONS {
        let rows = read_partition(&b, EVENTS, p);
        for (i, (off, ..)) in rows.iter().enumerate() {
            assert_eq!(*off, i as i64, "{EVENTS}-{p}: offsets are not dense");
        }
        check_key_order(EVENTS, p, &rows);
        let mut keys: HashMap<Vec<u8>, u64> = HashMap::new();
        for (_, k, v) in &rows {
            let (_, seq) = parse_value(v.as_ref().unwrap());
            let n = keys.entry(k.clone()).or_insert(0);
            *n += 1;
            assert_eq!(seq, *n, "{EVENTS}-{p}: a record is missing or repeated");
        }
        seen += rows.len() as u64;
        events_rows.insert(p, rows);
    }
    assert_eq!(seen, total(EVENTS), "records in {EVENTS}");

    // Each group saw every offset, each as it is in the log.
    for (g, log) in ["eager", "coop"].iter().zip(&group_logs) {
        let delivered = log.delivered.lock().unwrap();
        let mut covered: HashMap<u32, Vec<bool>> = events_rows
            .iter()
            .map(|(p, rows)| (*p, vec![false; rows.len()]))
            .collect();
        for (p, off, k, v) in delivered.iter() {
            let row = &events_rows[p][*off as usize];
            assert_eq!((&row.1, row.2.as_ref()), (k, Some(v)), "{g}: {p}@{off}");
            covered.get_mut(p).unwrap()[*off as usize] = true;
        }
        for (p, c) in &covered {
            let missing = c.iter().filter(|x| !**x).count();
            assert_eq!(
                missing, 0,
                "group {g} never saw {missing} records of partition {p}"
            );
        }
        eprintln!(
            "group {g}: {} members, {} deliveries for {seen} records, {} continuity checks",
            log.members_started.load(Ordering::Relaxed),
            delivered.len(),
            log.continuity_checks.load(Ordering::Relaxed)
        );
        assert!(log.members_started.load(Ordering::Relaxed) >= 2);
    }

    // Retention: a dense suffix, per-key order, everything produced counted.
    let mut retained_end = 0;
    for p in 0..PARTITIONS {
        let log = b.partition_log(RETAINED, p).unwrap();
        let rows = read_partition(&b, RETAINED, p);
        for (i, (off, ..)) in rows.iter().enumerate() {
            assert_eq!(*off, log.log_start_offset() + i as i64, "{RETAINED}-{p}");
        }
        check_key_order(RETAINED, p, &rows);
        retained_end += log.log_end_offset() as u64;
    }
    assert_eq!(retained_end, total(RETAINED), "records in {RETAINED}");

    // Compaction: the latest record of every key, per-key order, offsets increasing.
    let mut latest: HashMap<Vec<u8>, (u64, bool)> = HashMap::new();
    let mut compacted_end = 0;
    for p in 0..PARTITIONS {
        let rows = read_partition(&b, COMPACTED, p);
        check_key_order(COMPACTED, p, &rows);
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0));
        for (_, k, v) in &rows {
            let e = latest.entry(k.clone()).or_insert((0, false));
            match v {
                Some(v) => *e = (parse_value(v).1, false),
                None => e.1 = true,
            }
        }
        compacted_end += b.partition_log(COMPACTED, p).unwrap().log_end_offset() as u64;
    }
    assert_eq!(compacted_end, total(COMPACTED), "records in {COMPACTED}");
    for ((topic, k), (seq, tombstone)) in &expect_last {
        if *topic != COMPACTED {
            continue;
        }
        let got = latest
            .get(k.as_bytes())
            .unwrap_or_else(|| panic!("key {k} vanished from {COMPACTED}"));
        if *tombstone {
            // Tombstones are young (delete.retention.ms is a day): the key ends deleted.
            assert!(got.1, "key {k}: the tombstone is gone");
        } else {
            assert_eq!(got.0, *seq, "key {k}: not the latest value");
        }
    }
    eprintln!(
        "maintenance: {maint_passes} passes, {} segments deleted, {} compacted, {} records compacted; {tail_passes} tail passes",
        maint_total.segments_deleted, maint_total.segments_compacted, maint_total.records_compacted
    );
    assert!(maint_total.segments_deleted > 0, "retention never ran");
    assert!(maint_total.records_compacted > 0, "compaction never ran");
    b.close().unwrap();
}

/// Readers must never see a batch before the partition's log end covers it: `read`
/// returns batches up to the segment's own watermark, which the writer publishes
/// before it advances the log end. A reader in that window gets `next_offset()` past
/// `log_end_offset()`; a consumer then holds a position beyond the log end, and its
/// next poll treats it as out of range: `auto_offset_reset` rewinds it to the start
/// (the whole partition is delivered again) or, under `none`, poll fails with
/// `OffsetOutOfRange`. Found as a bug by `producers_groups_and_maintenance_together`
/// (a member rewound to offset 0 inside one generation).
#[test]
fn reads_never_pass_the_log_end() {
    use brooklet::format::RecordIn;
    use brooklet::storage::{LogConfig, PartitionLog};
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path().join("r-0"), LogConfig::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let (log, stop) = (log.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let rec = RecordIn {
                        key: None,
                        value: Some(b"v"),
                        timestamp: 0,
                        headers: &[],
                    };
                    log.append(&[rec]).unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (log, stop) = (log.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let mut pos = 0;
                let mut past = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let f = log.read(pos, 1 << 20).unwrap();
                    let end = log.log_end_offset();
                    if f.next_offset() > end {
                        past.push((f.next_offset(), end));
                    }
                    pos = f.next_offset().min(end);
                }
                past
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(if stress() { 60 } else { 3 });
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for h in writers {
        h.join().unwrap();
    }
    let past: Vec<(i64, i64)> = readers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(
        past.is_empty(),
        "{} reads returned batches past the log end, (next offset, log end): {:?}",
        past.len(),
        &past[..past.len().min(5)]
    );
}
