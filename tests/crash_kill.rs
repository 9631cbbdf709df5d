//! SIGKILL at any instant (mid-append, mid-roll, mid-recovery, mid-topic-creation) never
//! loses an acknowledged record, never returns a corrupt one, and leaves every partition a
//! dense prefix of what was written, to which the next process appends.
//!
//! A child process (this test binary, re-executed) produces keyed records from two threads
//! to a topic with `FlushPolicy::EveryAppend` and 8 KiB segments (a roll every ~50
//! records of a partition), printing each acknowledgement as soon as `send` returns. The
//! parent kills it with SIGKILL after a random number of acknowledgements plus a random
//! sub-millisecond delay, reopens the directory and checks everything it was told against
//! what is on disk. Most cycles are checked at once; some are not, so that the next child
//! recovers the crashed directory itself and can be killed during recovery.
//!
//! Default: 1,000 kills (plus 100 in the topic-creation variant); `BROOKLET_STRESS=1`
//! scales to 10,000 (1,000). A failing run prints its seed; `BROOKLET_SEED=<n>` replays
//! it. `BROOKLET_CRASH_DIR` puts the data directories somewhere else than the temp dir.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use brooklet::format::murmur2::partition_for_key;
use brooklet::{Broker, Error, FlushPolicy, ProducerRecord, TopicConfig};

mod support;
use support::{SplitMix64, this_test_again};

/// Selects the child role; holds `<role> <dir> <generation>`.
const CHILD: &str = "BROOKLET_CRASH_KILL_CHILD";
const TOPIC: &str = "events";
const PARTITIONS: u32 = 3;
const THREADS: u32 = 2;
const SEGMENT_BYTES: u64 = 8 * 1024;

/// The two scenarios run one after the other: in parallel they only slow each other down
/// (each child runs three threads, and checks are fsync-bound).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn topic_config(partitions: u32) -> TopicConfig {
    TopicConfig::new(partitions)
        .flush(FlushPolicy::EveryAppend)
        .segment_bytes(SEGMENT_BYTES)
        // Several index entries per segment, so recovery starts from a real entry.
        .index_interval_bytes(1024)
}

fn stress() -> bool {
    std::env::var_os("BROOKLET_STRESS").is_some_and(|v| v != "0")
}

// ---------------------------------------------------------------------------------------
// Record contents: everything about a record can be recomputed from its identity.

fn key(thread: u32, seq: u64) -> String {
    format!("k{thread}-{}", seq % 7)
}

fn value(generation: u64, thread: u32, seq: u64) -> String {
    // Varying sizes, so batches straddle index intervals and segment ends differently.
    let pad = ((seq * 37 + u64::from(thread) * 11) % 160) as usize;
    format!("g{generation} t{thread} s{seq} {}", "x".repeat(pad))
}

/// The identity `(generation, thread, seq)` of a value written by [`value`].
fn parse_value(v: &[u8]) -> Option<(u64, u32, u64)> {
    let s = std::str::from_utf8(v).ok()?;
    let mut it = s.splitn(4, ' ');
    let g = it.next()?.strip_prefix('g')?.parse().ok()?;
    let t = it.next()?.strip_prefix('t')?.parse().ok()?;
    let q = it.next()?.strip_prefix('s')?.parse().ok()?;
    (value(g, t, q) == s).then_some((g, t, q))
}

// ---------------------------------------------------------------------------------------
// Child side.

/// Prints a line the parent turns into a test failure, and exits.
fn child_fail(what: &str, e: &dyn std::fmt::Display) -> ! {
    println!("fail {what}: {e}");
    std::process::exit(3);
}

fn child_produce(dir: &str, generation: u64) {
    let b = Broker::open(dir).unwrap_or_else(|e| child_fail("open", &e));
    if !b.list_topics().iter().any(|t| t == TOPIC) {
        match b.create_topic(TOPIC, topic_config(PARTITIONS)) {
            Ok(()) | Err(Error::TopicExists { .. }) => {}
            Err(e) => child_fail("create_topic", &e),
        }
    }
    let producer = b.producer();
    std::thread::scope(|s| {
        for thread in 0..THREADS {
            let producer = producer.clone();
            s.spawn(move || {
                for seq in 0.. {
                    let r = ProducerRecord::new(TOPIC)
                        .key(key(thread, seq))
                        .value(value(generation, thread, seq));
                    match producer.send(r) {
                        Ok(m) => println!("ack {} {} {thread} {seq}", m.partition(), m.offset()),
                        Err(e) => child_fail("send", &e),
                    }
                }
            });
        }
    });
}

/// Creates topics in a loop (acknowledging each, then one record in each partition) while
/// another thread produces to the main topic.
fn child_create_topics(dir: &str, generation: u64) {
    let b = Broker::open(dir).unwrap_or_else(|e| child_fail("open", &e));
    if !b.list_topics().iter().any(|t| t == TOPIC) {
        match b.create_topic(TOPIC, topic_config(PARTITIONS)) {
            Ok(()) | Err(Error::TopicExists { .. }) => {}
            Err(e) => child_fail("create_topic", &e),
        }
    }
    let producer = b.producer();
    std::thread::scope(|s| {
        let p = producer.clone();
        s.spawn(move || {
            for seq in 0.. {
                let r = ProducerRecord::new(TOPIC)
                    .key(key(0, seq))
                    .value(value(generation, 0, seq));
                match p.send(r) {
                    Ok(m) => println!("ack {} {} 0 {seq}", m.partition(), m.offset()),
                    Err(e) => child_fail("send", &e),
                }
            }
        });
        s.spawn(move || {
            for i in 0.. {
                let name = created_topic_name(generation, i);
                let n = created_topic_partitions(i);
                if let Err(e) = b.create_topic(&name, topic_config(n)) {
                    child_fail("create_topic", &e);
                }
                println!("created {name}");
                for p in 0..n {
                    let r = ProducerRecord::new(name.clone())
                        .partition(p)
                        .value(name.clone());
                    match producer.send(r) {
                        Ok(m) => println!("tack {name} {p} {}", m.offset()),
                        Err(e) => child_fail("send", &e),
                    }
                }
            }
        });
    });
}

fn created_topic_name(generation: u64, i: u64) -> String {
    format!("c{generation}-{i}")
}

fn created_topic_partitions(i: u64) -> u32 {
    1 + (i % 3) as u32
}

/// Runs the child role when this process is one; true if it was.
fn run_child() -> bool {
    let Ok(spec) = std::env::var(CHILD) else {
        return false;
    };
    let mut it = spec.splitn(3, ' ');
    let (role, generation, dir) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    let generation: u64 = generation.parse().unwrap();
    // The test harness printed `test <name> ... ` without a newline: end that line so
    // that every line the parent reads is ours.
    println!();
    match role {
        "produce" => child_produce(dir, generation),
        "topics" => child_create_topics(dir, generation),
        _ => panic!("unknown child role {role}"),
    }
    true
}

// ---------------------------------------------------------------------------------------
// Parent side.

/// A record as the parent identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Id {
    generation: u64,
    thread: u32,
    seq: u64,
}

/// What the parent was told about one data directory, and what it has seen in it.
#[derive(Default)]
struct Model {
    /// Acknowledged records: (partition, offset) -> identity.
    acked: Vec<((u32, i64), Id)>,
    /// Acknowledgements per (generation, thread): the printed seqs are 0..count.
    ack_counts: HashMap<(u64, u32), u64>,
    /// Every record seen by the last check, per partition, in offset order: a later
    /// check must find them again (a process crash loses nothing the page cache held).
    seen: Vec<Vec<Id>>,
    /// Topics the children acknowledged creating, and records acknowledged in them.
    created: Vec<String>,
    /// Topics found whole although no child acknowledged creating them.
    unacked_topics: std::collections::HashSet<String>,
    topic_acks: Vec<(String, u32, i64)>,
}

/// Totals for the summary line.
#[derive(Default)]
struct Totals {
    kills: u64,
    checks: u64,
    /// Acknowledgements the children printed.
    acks: u64,
    /// Acknowledged records looked up (each check looks up all of its directory's).
    acked_checked: u64,
    records_read: u64,
    truncated_bytes: u64,
    torn_tails: u64,
    trimmed_segments: u64,
    /// Kills that found a partition inside a roll: its newest segment created but not yet
    /// allocated, missing an index, or still without its first batch.
    in_roll: u64,
    /// Topics found after a kill that the child had not acknowledged creating.
    unacked_topics: u64,
    child_ms: f64,
    check_ms: f64,
}

/// One killed child: what it printed, in order.
struct Run {
    lines: Vec<String>,
}

/// Reads one complete line; `None` at EOF or on a line cut by the kill.
fn read_line(r: &mut BufReader<ChildStdout>) -> Option<String> {
    let mut s = String::new();
    match r.read_line(&mut s) {
        Ok(n) if n > 0 && s.ends_with('\n') => {
            s.pop();
            Some(s)
        }
        _ => None,
    }
}

/// Starts a child in `role`, lets it print `acks` acknowledgements (`ack` lines), waits
/// `delay`, SIGKILLs it and collects everything it printed.
fn run_and_kill(
    test: &str,
    role: &str,
    generation: u64,
    dir: &Path,
    acks: u64,
    delay: Duration,
) -> Run {
    let mut c: Child = this_test_again(
        test,
        CHILD,
        format!("{role} {generation} {}", dir.display()),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut seen = 0;
    let mut eof = false;
    while seen < acks {
        match read_line(&mut out) {
            Some(l) => {
                seen += u64::from(l.starts_with("ack ") || l.starts_with("tack "));
                let failed = l.starts_with("fail ");
                lines.push(l);
                if failed {
                    break;
                }
            }
            None => {
                eof = true;
                break;
            }
        }
    }
    // Spin rather than sleep: sleeps this short overshoot by tens of microseconds.
    let until = Instant::now() + delay;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    c.kill().unwrap();
    c.wait().unwrap();
    // Everything printed before the kill counts: an acknowledgement the child printed
    // is one the application was given.
    while let Some(l) = read_line(&mut out) {
        lines.push(l);
    }
    let mut stderr = String::new();
    let _ = c.stderr.take().unwrap().read_to_string(&mut stderr);
    if let Some(f) = lines.iter().find(|l| l.starts_with("fail ")) {
        panic!("child {generation} failed: {f}\n{stderr}");
    }
    if eof {
        // The child never stops on its own: it died (a panic, a signal) before the kill.
        panic!("child {generation} exited early\nstdout: {lines:?}\n{stderr}");
    }
    Run { lines }
}

impl Model {
    fn absorb(&mut self, generation: u64, run: &Run) {
        for l in &run.lines {
            let f: Vec<&str> = l.split(' ').collect();
            match f[0] {
                "ack" => {
                    let (p, off, thread, seq) = (
                        f[1].parse().unwrap(),
                        f[2].parse().unwrap(),
                        f[3].parse().unwrap(),
                        f[4].parse().unwrap(),
                    );
                    let id = Id {
                        generation,
                        thread,
                        seq,
                    };
                    let n = self.ack_counts.entry((generation, thread)).or_insert(0);
                    assert_eq!(*n, seq, "acks of one thread come in order: {l}");
                    *n += 1;
                    self.acked.push(((p, off), id));
                }
                "created" => self.created.push(f[1].to_string()),
                "tack" => self.topic_acks.push((
                    f[1].to_string(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                )),
                _ => {} // the test harness's own output
            }
        }
    }
}

/// Reads partition `p` of `topic` from offset 0 and returns its records' values, checking
/// that every batch is valid (CRC, framing) and that offsets are dense from 0.
fn read_partition(b: &Broker, topic: &str, p: u32) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    let log = b.partition_log(topic, p).unwrap();
    assert_eq!(log.log_start_offset(), 0, "{topic}-{p}: log start moved");
    let end = log.log_end_offset();
    let mut out = Vec::new();
    let mut off = 0;
    while off < end {
        let f = log
            .read(off, 64 * 1024)
            .unwrap_or_else(|e| panic!("{topic}-{p}: read at {off} of {end} failed: {e}"));
        for batch in f.batches() {
            let batch = batch.unwrap_or_else(|e| panic!("{topic}-{p}: corrupt batch: {e}"));
            batch
                .validate()
                .unwrap_or_else(|e| panic!("{topic}-{p}: invalid batch: {e}"));
        }
        for r in f.records() {
            let r = r.unwrap_or_else(|e| panic!("{topic}-{p}: corrupt record: {e}"));
            assert_eq!(
                r.offset(),
                out.len() as i64,
                "{topic}-{p}: offsets not dense"
            );
            out.push((
                r.key().map(<[u8]>::to_vec),
                r.value().unwrap_or_default().to_vec(),
            ));
        }
        assert!(
            f.next_offset() > off,
            "{topic}-{p}: read made no progress at {off}"
        );
        off = f.next_offset();
    }
    assert_eq!(
        out.len() as i64,
        end,
        "{topic}-{p}: records below the log end missing"
    );
    out
}

/// Reopens `dir` and checks it against the model; see the module docs.
fn check(dir: &Path, model: &mut Model, totals: &mut Totals) {
    let started = Instant::now();
    let b = Broker::open(dir).unwrap_or_else(|e| panic!("reopen after kill failed: {e}"));
    if !b.list_topics().iter().any(|t| t == TOPIC) {
        // Killed before the topic existed: nothing can have been acknowledged.
        assert!(model.acked.is_empty(), "topic `{TOPIC}` lost");
        b.close().unwrap();
        return;
    }
    assert_eq!(b.partition_count(TOPIC).unwrap(), PARTITIONS);
    let mut seen: Vec<Vec<Id>> = Vec::new();
    // (generation, thread) -> the seqs of it on disk.
    let mut present: BTreeMap<(u64, u32), Vec<u64>> = BTreeMap::new();
    for p in 0..PARTITIONS {
        let log = b.partition_log(TOPIC, p).unwrap();
        let report = log.recovery_report();
        totals.truncated_bytes += report.truncated_bytes;
        totals.torn_tails += u64::from(report.truncated_at.is_some());
        totals.trimmed_segments += report.trimmed_segments as u64;
        let records = read_partition(&b, TOPIC, p);
        totals.records_read += records.len() as u64;
        let mut ids = Vec::with_capacity(records.len());
        let mut last: HashMap<(u64, u32), u64> = HashMap::new();
        let mut last_gen = 0;
        for (off, (k, v)) in records.iter().enumerate() {
            let (generation, thread, seq) = parse_value(v).unwrap_or_else(|| {
                panic!(
                    "{TOPIC}-{p}@{off}: value {:?} was never written",
                    String::from_utf8_lossy(v)
                )
            });
            let want_key = key(thread, seq);
            assert_eq!(
                k.as_deref(),
                Some(want_key.as_bytes()),
                "{TOPIC}-{p}@{off}: key"
            );
            assert_eq!(
                partition_for_key(want_key.as_bytes(), PARTITIONS),
                p,
                "{TOPIC}-{p}@{off}: record in the wrong partition"
            );
            assert!(
                generation >= last_gen,
                "{TOPIC}-{p}@{off}: generations out of order"
            );
            last_gen = generation;
            if let Some(prev) = last.insert((generation, thread), seq) {
                assert!(
                    seq > prev,
                    "{TOPIC}-{p}@{off}: g{generation} t{thread} seq {seq} after {prev}"
                );
            }
            present.entry((generation, thread)).or_default().push(seq);
            ids.push(Id {
                generation,
                thread,
                seq,
            });
        }
        if let Some(before) = model.seen.get(p as usize) {
            assert!(
                ids.len() >= before.len() && ids[..before.len()] == before[..],
                "{TOPIC}-{p}: records seen by an earlier check changed or vanished ({} then, {} now)",
                before.len(),
                ids.len()
            );
        }
        seen.push(ids);
    }
    for &((p, off), id) in &model.acked {
        let got = seen[p as usize].get(off as usize);
        assert_eq!(
            got,
            Some(&id),
            "acknowledged record {id:?} at {TOPIC}-{p}@{off} is missing or different"
        );
    }
    totals.acked_checked += model.acked.len() as u64;
    // A thread sends one record at a time: what is on disk of it is exactly the acked
    // prefix, plus at most the one record in flight when it was killed.
    for (&(generation, thread), seqs) in &mut present {
        seqs.sort_unstable();
        let acked = model
            .ack_counts
            .get(&(generation, thread))
            .copied()
            .unwrap_or(0);
        let n = seqs.len() as u64;
        assert!(
            seqs.iter().copied().eq(0..n) && (n == acked || n == acked + 1),
            "g{generation} t{thread}: {acked} acked, but on disk {seqs:?}"
        );
    }
    for (&(generation, thread), &acked) in &model.ack_counts {
        if acked > 0 {
            assert!(
                present.contains_key(&(generation, thread)),
                "g{generation} t{thread}: {acked} acked, none on disk"
            );
        }
    }
    totals.unacked_topics += check_created_topics(&b, model);
    model.seen = seen;
    b.close().unwrap();
    totals.checks += 1;
    totals.check_ms += started.elapsed().as_secs_f64() * 1e3;
}

/// Topics acknowledged as created exist whole; every other topic is a whole topic some
/// child started creating; records acknowledged in them are there. Returns how many
/// topics exist, for the first time, that no child acknowledged.
fn check_created_topics(b: &Broker, model: &mut Model) -> u64 {
    let topics = b.list_topics();
    for t in &model.created {
        assert!(topics.contains(t), "acknowledged topic `{t}` lost");
    }
    for t in topics.iter().filter(|t| *t != TOPIC) {
        let i: u64 = t
            .rsplit_once('-')
            .and_then(|(_, i)| i.parse().ok())
            .unwrap_or_else(|| panic!("unexpected topic `{t}`"));
        let n = created_topic_partitions(i);
        assert_eq!(b.partition_count(t).unwrap(), n, "topic `{t}` is not whole");
        for p in 0..n {
            for (_, v) in read_partition(b, t, p) {
                assert_eq!(v, t.as_bytes(), "{t}-{p}: a record that was never written");
            }
            assert!(b.dir().join(format!("{t}-{p}")).is_dir());
        }
        assert!(
            !b.dir().join(format!("{t}-{n}")).exists(),
            "`{t}`: stray partition"
        );
    }
    for (t, p, off) in &model.topic_acks {
        let log = b.partition_log(t, *p).unwrap();
        assert!(
            log.log_end_offset() > *off,
            "acknowledged record {t}-{p}@{off} lost"
        );
    }
    let mut new = 0;
    for t in topics
        .iter()
        .filter(|t| *t != TOPIC && !model.created.contains(t))
    {
        new += u64::from(model.unacked_topics.insert(t.clone()));
    }
    new
}

/// Whether the kill left some partition of the main topic inside a roll (see
/// [`Totals::in_roll`]), judged from the files alone, before anything reopens them.
fn killed_in_roll(dir: &Path) -> bool {
    (0..PARTITIONS).any(|p| {
        let pdir = dir.join(format!("{TOPIC}-{p}"));
        let Ok(entries) = std::fs::read_dir(&pdir) else {
            return false;
        };
        let mut logs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        let Some(newest) = logs.last() else {
            return false;
        };
        let len = std::fs::metadata(newest).map_or(0, |m| m.len());
        let mut first = [0u8; 12];
        let empty = std::fs::File::open(newest)
            .and_then(|mut f| f.read_exact(&mut first))
            .map_or(true, |()| first.iter().all(|&b| b == 0));
        logs.len() > 1
            && (len < SEGMENT_BYTES
                || empty
                || !newest.with_extension("index").exists()
                || !newest.with_extension("timeindex").exists())
    })
}

fn crash_dir_root() -> tempfile::TempDir {
    match std::env::var_os("BROOKLET_CRASH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

/// The kill loop shared by both scenarios.
/// A fresh directory every `kills_per_dir` kills keeps each full check cheap.
fn kill_loop(test: &str, role: &str, kills: u64, kills_per_dir: u64, max_acks: u64) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (mut rng, seed) = SplitMix64::from_env_or_clock();
    eprintln!("{test}: seed {seed} (replay with BROOKLET_SEED={seed})");
    let root = crash_dir_root();
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut model = Model::default();
    let mut dir = PathBuf::new();
    for k in 0..kills {
        if k % kills_per_dir == 0 {
            if k > 0 {
                std::fs::remove_dir_all(&dir).unwrap();
            }
            dir = root.path().join(format!("d{}", k / kills_per_dir));
            model = Model::default();
        }
        // Mostly kills during steady production (a roll every ~50 records); some right
        // at start-up, during open and recovery.
        let acks = match rng.below_u64(10) {
            0 => 0,
            1..=2 => rng.below_u64(10),
            _ => rng.below_u64(max_acks),
        };
        let delay = Duration::from_nanos(rng.below_u64(1_000_000));
        let t = Instant::now();
        let run = run_and_kill(test, role, k, &dir, acks, delay);
        totals.child_ms += t.elapsed().as_secs_f64() * 1e3;
        totals.kills += 1;
        totals.in_roll += u64::from(killed_in_roll(&dir));
        let before = model.acked.len() + model.topic_acks.len();
        model.absorb(k, &run);
        totals.acks += (model.acked.len() + model.topic_acks.len() - before) as u64;
        // Leave one crash in three unchecked: the next child then recovers it itself (and
        // may be killed while doing so). The last kill of a directory is always checked.
        let last_of_dir = k % kills_per_dir == kills_per_dir - 1 || k == kills - 1;
        if last_of_dir || rng.below_u64(3) != 0 {
            check(&dir, &mut model, &mut totals);
        }
    }
    let total = started.elapsed();
    eprintln!(
        "{test}: {} kills ({} inside a segment roll), {} checks, {} acknowledged records \
         ({} acknowledged-record lookups), {} records read, {} torn tails cut ({} bytes truncated by recovery), {} \
         sealed segments trimmed, {} unacknowledged topics found whole; \
         {:.1} s total, {:.1} ms per kill cycle ({:.1} ms child, {:.1} ms per check)",
        totals.kills,
        totals.in_roll,
        totals.checks,
        totals.acks,
        totals.acked_checked,
        totals.records_read,
        totals.torn_tails,
        totals.truncated_bytes,
        totals.trimmed_segments,
        totals.unacked_topics,
        total.as_secs_f64(),
        total.as_secs_f64() * 1e3 / totals.kills.max(1) as f64,
        totals.child_ms / totals.kills.max(1) as f64,
        totals.check_ms / totals.checks.max(1) as f64,
    );
}

#[test]
fn sigkill_during_produce_keeps_every_acknowledged_record() {
    if run_child() {
        return;
    }
    let kills = if stress() { 10_000 } else { 1_000 };
    kill_loop(
        "sigkill_during_produce_keeps_every_acknowledged_record",
        "produce",
        kills,
        20,
        160,
    );
}

#[test]
fn sigkill_during_topic_creation_keeps_topics_whole() {
    if run_child() {
        return;
    }
    let kills = if stress() { 1_000 } else { 100 };
    kill_loop(
        "sigkill_during_topic_creation_keeps_topics_whole",
        "topics",
        kills,
        4,
        30,
    );
}
