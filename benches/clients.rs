//! Client throughput and latency against references measured in the same run
//! (DESIGN.md section 10 states its targets as ratios, because the machines are noisy).
//!
//! - `send`: `Producer::send`, one 100 B record per call, from 1, 2 and 4 threads into
//!   one partition (concurrent senders share batches), and `send_batch` of 100 records
//!   from one thread; beside `crossbeam_handoff`, the same records copied into owned
//!   `Vec<u8>`s and handed from the same number of producer threads to one consumer
//!   thread through a bounded `crossbeam-channel` (timed until the consumer has them
//!   all), one record per message or 100 per message. Every brooklet run starts on a
//!   fresh broker and writes at most [`CHUNK_RECORDS`] records to it before the next, so
//!   disk use stays small; only the sends are timed.
//! - `flush_every_append`: `send` to a `FlushPolicy::EveryAppend` topic from 1 and 8
//!   threads (target: 8 threads >= 4x one thread, through group commit).
//! - `latency` (printed, not criterion): a producer thread sends one record at a time,
//!   pausing between sends, to a consumer thread blocked in `poll`; p50 / p99 / p99.9 of
//!   send-to-receipt beside `crossbeam-channel` `recv` measured the same way.
//! - `rebalance` (printed, not criterion): time from a 10th member joining a group of 9
//!   (and leaving it again) until all 10 (9) members have picked up a stable assignment,
//!   with every member polling on its own thread, and driven round-robin from one thread.
//!
//! `cargo bench --bench clients -- <filter>` runs the parts whose name contains the
//! filter; without `--bench` (as `cargo test --benches` runs it) each part runs once,
//! briefly.
#![deny(unsafe_code)]

use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use brooklet::{
    Assignor, Broker, Consumer, ConsumerConfig, CooperativeStickyAssignor, Error, FlushPolicy,
    GroupState, OffsetReset, ProducerRecord, RangeAssignor, RebalanceListener, TopicConfig,
    TopicPartition,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

const TOPIC: &str = "bench";
const VALUE_BYTES: usize = 100;
/// Records written to one broker before the bench moves to a fresh one (about 45 MB
/// of one-record batches): no segment rolls inside a timed run, little disk.
const CHUNK_RECORDS: u64 = 250_000;
const SEGMENT_BYTES: u64 = 256 << 20;
/// Capacity of the reference channels (the storage bench uses the same).
const CAPACITY: usize = 1024;

fn value() -> Vec<u8> {
    (0..VALUE_BYTES).map(|i| (i * 7) as u8).collect()
}

fn open(dir: &Path, partitions: u32, flush: FlushPolicy) -> Broker {
    let broker = Broker::open(dir).expect("open");
    broker
        .create_topic(
            TOPIC,
            TopicConfig::new(partitions)
                .segment_bytes(SEGMENT_BYTES)
                .flush(flush),
        )
        .expect("create topic");
    broker
}

fn record(value: &[u8]) -> ProducerRecord {
    ProducerRecord::new(TOPIC)
        .partition(0)
        .value(value.to_vec())
}

/// Splits `n` over `threads` and runs `work(count)` on each, timed from when every
/// thread is ready to when the last one is done.
fn timed_threads(threads: usize, n: u64, work: impl Fn(u64) + Sync) -> Duration {
    let barrier = Barrier::new(threads + 1);
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                let count = n / threads as u64 + u64::from(t < n % threads as u64);
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    work(count);
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().expect("worker");
        }
        start.elapsed()
    })
}

/// `iters` records through `Producer::send` (`batch == 1`) or `send_batch`, from
/// `threads` threads, on fresh brokers of at most [`CHUNK_RECORDS`] records each.
fn brooklet_send(iters: u64, threads: usize, batch: u64, value: &[u8]) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK_RECORDS);
        let dir = tempfile::tempdir().expect("tempdir");
        let broker = open(dir.path(), 1, FlushPolicy::Os);
        let producer = broker.producer();
        total += timed_threads(threads, n, |count| {
            if batch == 1 {
                for _ in 0..count {
                    black_box(producer.send(record(value)).expect("send"));
                }
            } else {
                let mut sent = 0;
                while sent < count {
                    let k = batch.min(count - sent);
                    let out = producer.send_batch((0..k).map(|_| record(value)));
                    black_box(out.expect("send_batch"));
                    sent += k;
                }
            }
        });
        broker.close().expect("close");
        left -= n;
    }
    total
}

/// The reference: `iters` records copied into owned `Vec<u8>`s and sent by `threads`
/// producer threads, `batch` per message (bare records when 1), to one consumer thread.
fn crossbeam_handoff(iters: u64, threads: usize, batch: u64, value: &[u8]) -> Duration {
    if batch == 1 {
        handoff(iters, threads, 1, |_| value.to_vec(), Vec::len)
    } else {
        handoff(
            iters,
            threads,
            batch,
            |k| (0..k).map(|_| value.to_vec()).collect::<Vec<_>>(),
            |b| b.iter().map(Vec::len).sum(),
        )
    }
}

/// Sends `iters` records as messages of up to `batch` made by `make(records)`, timed
/// from when every producer is ready until the consumer has received them all.
fn handoff<T: Send>(
    iters: u64,
    threads: usize,
    batch: u64,
    make: impl Fn(u64) -> T + Sync,
    size: impl Fn(&T) -> usize + Send,
) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<T>(CAPACITY);
    let barrier = Barrier::new(threads + 1);
    thread::scope(|s| {
        let consumer = s.spawn(move || rx.iter().map(|m| size(black_box(&m))).sum::<usize>());
        let producers: Vec<_> = (0..threads as u64)
            .map(|t| {
                let count = iters / threads as u64 + u64::from(t < iters % threads as u64);
                let (tx, barrier, make) = (tx.clone(), &barrier, &make);
                s.spawn(move || {
                    barrier.wait();
                    let mut sent = 0;
                    while sent < count {
                        let k = batch.min(count - sent);
                        tx.send(make(k)).expect("send");
                        sent += k;
                    }
                })
            })
            .collect();
        drop(tx);
        barrier.wait();
        let start = Instant::now();
        for p in producers {
            p.join().expect("producer");
        }
        black_box(consumer.join().expect("consumer"));
        start.elapsed()
    })
}

fn send(c: &mut Criterion) {
    let value = value();
    let mut g = c.benchmark_group("send");
    g.sampling_mode(SamplingMode::Flat);
    // One iteration is one record, so criterion reports records/s.
    g.throughput(Throughput::Elements(1));
    for threads in [1usize, 2, 4] {
        g.bench_function(BenchmarkId::new("brooklet_send", threads), |b| {
            b.iter_custom(|iters| brooklet_send(iters, threads, 1, &value))
        });
        g.bench_function(BenchmarkId::new("crossbeam_handoff", threads), |b| {
            b.iter_custom(|iters| crossbeam_handoff(iters, threads, 1, &value))
        });
    }
    g.bench_function(BenchmarkId::new("brooklet_send_batch_x100", 1), |b| {
        b.iter_custom(|iters| brooklet_send(iters, 1, 100, &value))
    });
    g.bench_function(BenchmarkId::new("crossbeam_handoff_x100", 1), |b| {
        b.iter_custom(|iters| crossbeam_handoff(iters, 1, 100, &value))
    });
    g.finish();
}

fn flush_every_append(c: &mut Criterion) {
    let value = value();
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path(), 1, FlushPolicy::EveryAppend);
    let producer = broker.producer();
    let mut g = c.benchmark_group("flush_every_append");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    for threads in [1usize, 8] {
        g.bench_function(BenchmarkId::new("brooklet_send", threads), |b| {
            b.iter_custom(|iters| {
                timed_threads(threads, iters, |count| {
                    for _ in 0..count {
                        black_box(producer.send(record(&value)).expect("send"));
                    }
                })
            })
        });
    }
    g.finish();
    broker.close().expect("close");
}

// ---------------------------------------------------------------------------
// Latency: printed percentiles
// ---------------------------------------------------------------------------

/// Nanoseconds since `base`, as sent in the first 8 bytes of a value.
fn stamp(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

/// Send-to-receipt latencies (ns) of `samples` records through brooklet: one producer
/// thread, one consumer thread blocked in `poll` on the partition.
fn brooklet_latency(samples: usize, pause: Duration) -> Vec<u64> {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path(), 1, FlushPolicy::Os);
    let producer = broker.producer();
    let mut consumer =
        broker.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest));
    consumer
        .assign(&[TopicPartition::new(TOPIC, 0)])
        .expect("assign");
    let base = Instant::now();
    let out = thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut lat = Vec::with_capacity(samples);
            while lat.len() < samples {
                let records = consumer.poll(Duration::from_secs(5)).expect("poll");
                let now = stamp(base);
                for r in records.iter() {
                    let sent =
                        u64::from_be_bytes(r.value().expect("value")[..8].try_into().unwrap());
                    lat.push(now - sent);
                }
            }
            lat
        });
        let mut v = value();
        for _ in 0..samples {
            thread::sleep(pause);
            v[..8].copy_from_slice(&stamp(base).to_be_bytes());
            producer
                .send(ProducerRecord::new(TOPIC).partition(0).value(v.clone()))
                .expect("send");
        }
        reader.join().expect("reader")
    });
    broker.close().expect("close");
    out
}

/// The same through a bounded `crossbeam-channel`, the consumer blocked in `recv`.
fn crossbeam_latency(samples: usize, pause: Duration) -> Vec<u64> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(CAPACITY);
    let base = Instant::now();
    thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut lat = Vec::with_capacity(samples);
            while let Ok(v) = rx.recv() {
                let now = stamp(base);
                lat.push(now - u64::from_be_bytes(v[..8].try_into().unwrap()));
            }
            lat
        });
        let mut v = value();
        for _ in 0..samples {
            thread::sleep(pause);
            v[..8].copy_from_slice(&stamp(base).to_be_bytes());
            tx.send(v.clone()).expect("send");
        }
        drop(tx);
        reader.join().expect("reader")
    })
}

/// The `q`-quantile of sorted samples (nearest rank).
fn quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(name: &str, mut ns: Vec<u64>) {
    ns.sort_unstable();
    let us = |q: f64| quantile(&ns, q) as f64 / 1000.0;
    println!(
        "latency/{name:<22} n={:<6} p50 {:>7.1} us  p99 {:>7.1} us  p99.9 {:>8.1} us  max {:>8.1} us",
        ns.len(),
        us(0.5),
        us(0.99),
        us(0.999),
        *ns.last().unwrap() as f64 / 1000.0
    );
}

fn latency(quick: bool) {
    let (samples, warmup) = if quick { (200, 20) } else { (20_000, 1_000) };
    let pause = Duration::from_micros(20);
    // Alternate the two so that a burst of load on the machine hits both alike.
    for round in 0..2 {
        let mut b = brooklet_latency(samples + warmup, pause);
        let mut x = crossbeam_latency(samples + warmup, pause);
        report(&format!("brooklet_poll[{round}]"), b.split_off(warmup));
        report(&format!("crossbeam_recv[{round}]"), x.split_off(warmup));
    }
}

// ---------------------------------------------------------------------------
// Rebalance: printed times
// ---------------------------------------------------------------------------

const GROUP: &str = "g";
const REBALANCE_PARTITIONS: u32 = 30;

/// (member, generation, when) each time a member picks up an assignment.
type Events = Arc<Mutex<Vec<(usize, i32, Instant)>>>;

struct Recorder {
    member: usize,
    events: Events,
}

impl RebalanceListener for Recorder {
    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, _: &[TopicPartition]) {
        let generation = consumer.group_metadata().map_or(-1, |m| m.1);
        self.events
            .lock()
            .unwrap()
            .push((self.member, generation, Instant::now()));
    }
}

fn member(broker: &Broker, assignor: &Arc<dyn Assignor>, i: usize, events: &Events) -> Consumer {
    let mut c = broker.consumer(
        ConsumerConfig::new()
            .group_id(GROUP)
            .enable_auto_commit(false)
            .assignors(vec![Arc::clone(assignor)]),
    );
    c.set_rebalance_listener(Recorder {
        member: i,
        events: Arc::clone(events),
    });
    c
}

/// Waits until the group is stable with `members` members holding every partition, and
/// returns its generation.
fn stable_generation(broker: &Broker, members: usize) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Unknown until the first member has joined.
        if let Ok(d) = broker.describe_group(GROUP) {
            let held: usize = d.members.iter().map(|m| m.assignment.len()).sum();
            if d.state == GroupState::Stable
                && d.members.len() == members
                && held == REBALANCE_PARTITIONS as usize
            {
                return d.generation;
            }
        }
        assert!(Instant::now() < deadline, "the group never settled");
        thread::sleep(Duration::from_micros(200));
    }
}

/// When the last of `members` picked up generation `generation` (or later).
fn picked_up(events: &Events, members: &[usize], generation: i32) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        {
            let ev = events.lock().unwrap();
            let times: Vec<Instant> = members
                .iter()
                .filter_map(|m| {
                    ev.iter()
                        .filter(|e| e.0 == *m && e.1 >= generation)
                        .map(|e| e.2)
                        .min()
                })
                .collect();
            if times.len() == members.len() {
                return times.into_iter().max().unwrap();
            }
        }
        assert!(
            Instant::now() < deadline,
            "a member never picked up its assignment"
        );
        thread::sleep(Duration::from_micros(200));
    }
}

/// Members polling on their own threads: returns (join, leave) times of the 10th member.
fn rebalance_threads(assignor: Arc<dyn Assignor>, reps: usize) -> (Vec<Duration>, Vec<Duration>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path(), REBALANCE_PARTITIONS, FlushPolicy::Os);
    let events: Events = Arc::default();
    let run = |mut c: Consumer, joined: Option<crossbeam_channel::Sender<Instant>>| {
        move || {
            if let Some(tx) = joined {
                tx.send(Instant::now()).unwrap();
            }
            c.subscribe(&[TOPIC]).expect("subscribe");
            loop {
                match c.poll(Duration::from_secs(1)) {
                    Ok(_) => {}
                    Err(Error::Wakeup) => break,
                    Err(e) => panic!("poll: {e}"),
                }
            }
            Instant::now()
        }
    };
    let mut wakeups = Vec::new();
    let mut threads = Vec::new();
    for i in 0..9 {
        let c = member(&broker, &assignor, i, &events);
        wakeups.push(c.wakeup_handle());
        threads.push(thread::spawn(run(c, None)));
    }
    stable_generation(&broker, 9);
    let (mut joins, mut leaves) = (Vec::new(), Vec::new());
    let all: Vec<usize> = (0..10).collect();
    for _ in 0..reps {
        let c = member(&broker, &assignor, 9, &events);
        let wake = c.wakeup_handle();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let t = thread::spawn(run(c, Some(tx)));
        let start = rx.recv().unwrap();
        let generation = stable_generation(&broker, 10);
        joins.push(picked_up(&events, &all, generation) - start);

        // The 10th member leaves: from the start of its close.
        wake.wakeup();
        let start = t.join().expect("member");
        let generation = stable_generation(&broker, 9);
        leaves.push(picked_up(&events, &all[..9], generation) - start);
        events.lock().unwrap().clear();
    }
    for w in wakeups {
        w.wakeup();
    }
    for t in threads {
        t.join().expect("member");
    }
    broker.close().expect("close");
    (joins, leaves)
}

/// Members driven round-robin from this thread with `poll(0)`: the coordinator's own
/// cost without thread wake-ups. Returns join times of the 10th member.
fn rebalance_round_robin(assignor: Arc<dyn Assignor>, reps: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path(), REBALANCE_PARTITIONS, FlushPolicy::Os);
    let events: Events = Arc::default();
    let mut members: Vec<Consumer> = (0..9)
        .map(|i| {
            let mut c = member(&broker, &assignor, i, &events);
            c.subscribe(&[TOPIC]).expect("subscribe");
            c
        })
        .collect();
    let settled = |members: &mut [Consumer]| {
        let d = broker.describe_group(GROUP).expect("describe");
        let held: usize = members.iter().map(|c| c.assignment().len()).sum();
        d.state == GroupState::Stable
            && held == REBALANCE_PARTITIONS as usize
            && members
                .iter()
                .all(|c| c.group_metadata().map(|m| m.1) == Some(d.generation))
    };
    let drive = |members: &mut [Consumer]| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !settled(members) {
            for c in members.iter_mut() {
                c.poll(Duration::ZERO).expect("poll");
            }
            assert!(Instant::now() < deadline, "the group never settled");
        }
    };
    drive(&mut members);
    let mut joins = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        let mut c = member(&broker, &assignor, 9, &events);
        c.subscribe(&[TOPIC]).expect("subscribe");
        members.push(c);
        drive(&mut members);
        joins.push(start.elapsed());
        members.pop().unwrap().close().expect("close");
        drive(&mut members);
    }
    drop(members);
    broker.close().expect("close");
    joins
}

fn print_times(name: &str, mut d: Vec<Duration>) {
    d.sort_unstable();
    let us = |x: Duration| x.as_secs_f64() * 1e6;
    let p = |q: f64| {
        let rank = ((q * d.len() as f64).ceil() as usize).clamp(1, d.len());
        us(d[rank - 1])
    };
    println!(
        "rebalance/{name:<40} n={:<4} p50 {:>8.1} us  p90 {:>8.1} us  max {:>8.1} us",
        d.len(),
        p(0.5),
        p(0.9),
        us(*d.last().unwrap())
    );
}

fn rebalance(quick: bool) {
    let reps = if quick { 2 } else { 50 };
    let assignors: [(&str, Arc<dyn Assignor>); 2] = [
        ("range", Arc::new(RangeAssignor)),
        ("cooperative-sticky", Arc::new(CooperativeStickyAssignor)),
    ];
    for (name, a) in assignors {
        let (joins, leaves) = rebalance_threads(Arc::clone(&a), reps);
        print_times(&format!("{name}/threads/10th_joins"), joins);
        print_times(&format!("{name}/threads/10th_leaves"), leaves);
        print_times(
            &format!("{name}/round_robin/10th_joins"),
            rebalance_round_robin(a, reps),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = !args.iter().any(|a| a == "--bench");
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .configure_from_args();
    send(&mut c);
    flush_every_append(&mut c);
    if wanted("latency") {
        latency(quick);
    }
    if wanted("rebalance") {
        rebalance(quick);
    }
    c.final_summary();
}
