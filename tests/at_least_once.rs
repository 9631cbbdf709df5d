//! At-least-once delivery under group churn, as a model test: random sequences of
//! consumers joining, polling, committing after processing, crashing before
//! processing, leaving, stalling until evicted (then committing as zombies) and broker
//! restarts never move a committed offset backwards or past a record nobody processed,
//! and a fresh consumer draining the group afterwards leaves every record processed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brooklet::{
    Assignor, Broker, Consumer, ConsumerConfig, CooperativeStickyAssignor, Error, OffsetReset,
    Producer, ProducerRecord, RangeAssignor, RoundRobinAssignor, StickyAssignor, TopicConfig,
    TopicPartition,
};
use proptest::prelude::*;

const TOPIC: &str = "orders";
const GROUP: &str = "billing";
/// Members that do not poll within this are evicted; `Op::Stall` sleeps past it.
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(50);
const STALL: Duration = Duration::from_millis(70);
const POLL: Duration = Duration::from_millis(2);

#[derive(Debug, Clone)]
enum Op {
    /// A new consumer subscribes.
    Join,
    /// Consumer `i` polls and processes what it got (no commit).
    Poll(usize),
    /// Consumer `i` polls, processes and commits.
    PollCommit(usize),
    /// Consumer `i` commits what it processed so far.
    Commit(usize),
    /// Consumer `i` polls and dies before processing: dropped, nothing committed.
    PollCrash(usize),
    /// Consumer `i` closes.
    Close(usize),
    /// Consumer `i` is dropped.
    Drop(usize),
    /// Consumer `i` stops polling past `max_poll_interval` while the others poll,
    /// process and commit; then it commits (a zombie, if it was evicted).
    Stall(usize),
    /// Every consumer polls once, processes and commits (round-robin).
    Tick,
    /// Records produced during the run, to these partitions (taken modulo the count).
    Produce(Vec<u32>),
    /// Every consumer dropped, the broker closed and reopened, the consumers recreated.
    Restart,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Join),
        8 => any::<usize>().prop_map(Op::Poll),
        4 => any::<usize>().prop_map(Op::PollCommit),
        4 => any::<usize>().prop_map(Op::Commit),
        1 => any::<usize>().prop_map(Op::PollCrash),
        1 => any::<usize>().prop_map(Op::Close),
        1 => any::<usize>().prop_map(Op::Drop),
        1 => any::<usize>().prop_map(Op::Stall),
        4 => Just(Op::Tick),
        3 => proptest::collection::vec(any::<u32>(), 1..20).prop_map(Op::Produce),
        1 => Just(Op::Restart),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    partitions: u32,
    /// Records produced before any consumer starts, by partition (modulo the count).
    preloaded: Vec<u32>,
    max_poll_records: usize,
    assignor: usize,
    ops: Vec<Op>,
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        3u32..=4,
        proptest::collection::vec(any::<u32>(), 0..200),
        1usize..40,
        0usize..4,
        proptest::collection::vec(arb_op(), 1..60),
    )
        .prop_map(
            |(partitions, preloaded, max_poll_records, assignor, ops)| Case {
                partitions,
                preloaded,
                max_poll_records,
                assignor,
                ops,
            },
        )
}

struct World {
    dir: tempfile::TempDir,
    broker: Broker,
    producer: Producer,
    consumers: Vec<Consumer>,
    config: ConsumerConfig,
    partitions: u32,
    /// Value of every record produced, by partition and offset.
    produced: Vec<Vec<u64>>,
    /// How often each record was processed, by partition and offset.
    processed: Vec<Vec<u32>>,
    /// Per partition: every offset below it was processed at least once.
    frontier: Vec<i64>,
    /// Per partition: the highest committed offset seen so far.
    committed: Vec<i64>,
    next_value: u64,
}

impl World {
    fn new(case: &Case) -> World {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(dir.path()).unwrap();
        broker
            .create_topic(
                TOPIC,
                TopicConfig::new(case.partitions).segment_bytes(1 << 20),
            )
            .unwrap();
        let assignor: Arc<dyn Assignor> = match case.assignor {
            0 => Arc::new(RangeAssignor),
            1 => Arc::new(RoundRobinAssignor),
            2 => Arc::new(StickyAssignor),
            _ => Arc::new(CooperativeStickyAssignor),
        };
        let config = ConsumerConfig::new()
            .group_id(GROUP)
            .auto_offset_reset(OffsetReset::Earliest)
            .enable_auto_commit(false)
            .max_poll_records(case.max_poll_records)
            .max_poll_interval(MAX_POLL_INTERVAL)
            .assignors(vec![assignor]);
        let producer = broker.producer();
        let n = case.partitions as usize;
        let mut w = World {
            dir,
            broker,
            producer,
            consumers: Vec::new(),
            config,
            partitions: case.partitions,
            produced: vec![Vec::new(); n],
            processed: vec![Vec::new(); n],
            frontier: vec![0; n],
            committed: vec![0; n],
            next_value: 0,
        };
        w.produce(&case.preloaded);
        w
    }

    fn produce(&mut self, targets: &[u32]) {
        if targets.is_empty() {
            return;
        }
        let records: Vec<ProducerRecord> = targets
            .iter()
            .map(|t| {
                self.next_value += 1;
                ProducerRecord::new(TOPIC)
                    .partition(t % self.partitions)
                    .value(self.next_value.to_be_bytes().to_vec())
            })
            .collect();
        let values: Vec<u64> = records
            .iter()
            .map(|r| u64::from_be_bytes(r.value_bytes().unwrap().try_into().unwrap()))
            .collect();
        for (meta, v) in self
            .producer
            .send_batch(records)
            .unwrap()
            .iter()
            .zip(values)
        {
            let log = &mut self.produced[meta.partition() as usize];
            assert_eq!(meta.offset(), log.len() as i64, "offsets are dense");
            log.push(v);
        }
    }

    fn join(&mut self) {
        let mut c = self.broker.consumer(self.config.clone());
        c.subscribe(&[TOPIC]).unwrap();
        self.consumers.push(c);
    }

    fn pick(&self, i: usize) -> Option<usize> {
        (!self.consumers.is_empty()).then(|| i % self.consumers.len())
    }

    /// Polls consumer `i`; processing records each (partition, offset) it got.
    fn poll(&mut self, i: usize, process: bool) {
        let records = self.consumers[i].poll(POLL).unwrap();
        if !process {
            return;
        }
        for r in records.iter() {
            assert_eq!(r.topic(), TOPIC);
            let (p, o) = (r.partition() as usize, r.offset());
            let value = u64::from_be_bytes(r.value().unwrap().try_into().unwrap());
            assert_eq!(
                value, self.produced[p][o as usize],
                "{p}@{o} holds its record"
            );
            let counts = &mut self.processed[p];
            if counts.len() <= o as usize {
                counts.resize(o as usize + 1, 0);
            }
            counts[o as usize] += 1;
        }
        for p in 0..self.partitions as usize {
            let counts = &self.processed[p];
            while counts
                .get(self.frontier[p] as usize)
                .is_some_and(|&n| n > 0)
            {
                self.frontier[p] += 1;
            }
        }
    }

    /// A commit may be refused because the member was fenced; nothing else may fail.
    fn commit(&mut self, i: usize) {
        match self.consumers[i].commit_sync() {
            Ok(()) | Err(Error::StaleGeneration { .. }) => {}
            Err(e) => panic!("commit_sync failed: {e}"),
        }
    }

    fn stall(&mut self, i: usize) {
        let until = Instant::now() + STALL;
        while Instant::now() < until {
            let others: Vec<usize> = (0..self.consumers.len()).filter(|&j| j != i).collect();
            if others.is_empty() {
                std::thread::sleep(until - Instant::now());
            }
            for j in others {
                self.poll(j, true);
                self.commit(j);
            }
        }
        self.commit(i);
    }

    fn restart(&mut self) {
        let n = self.consumers.len();
        self.consumers.clear();
        self.broker.close().unwrap();
        self.broker = Broker::open(self.dir.path()).unwrap();
        self.producer = self.broker.producer();
        for p in 0..self.partitions {
            let log = self.broker.partition_log(TOPIC, p).unwrap();
            assert_eq!(
                log.log_end_offset(),
                self.produced[p as usize].len() as i64,
                "every record survives a clean restart"
            );
        }
        for _ in 0..n {
            self.join();
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Join => self.join(),
            Op::Poll(i) => {
                if let Some(i) = self.pick(i) {
                    self.poll(i, true);
                }
            }
            Op::PollCommit(i) => {
                if let Some(i) = self.pick(i) {
                    self.poll(i, true);
                    self.commit(i);
                }
            }
            Op::Commit(i) => {
                if let Some(i) = self.pick(i) {
                    self.commit(i);
                }
            }
            Op::PollCrash(i) => {
                if let Some(i) = self.pick(i) {
                    self.poll(i, false);
                    drop(self.consumers.remove(i));
                }
            }
            Op::Close(i) => {
                if let Some(i) = self.pick(i) {
                    let mut c = self.consumers.remove(i);
                    c.close().unwrap();
                }
            }
            Op::Drop(i) => {
                if let Some(i) = self.pick(i) {
                    drop(self.consumers.remove(i));
                }
            }
            Op::Stall(i) => {
                if let Some(i) = self.pick(i) {
                    self.stall(i);
                }
            }
            Op::Tick => {
                for i in 0..self.consumers.len() {
                    self.poll(i, true);
                    self.commit(i);
                }
            }
            Op::Produce(ref targets) => self.produce(targets),
            Op::Restart => self.restart(),
        }
    }

    /// Committed offsets never move backwards, never pass the log end, and never pass
    /// a record that was not processed.
    fn check(&mut self, step: usize, op: &Op) {
        for g in self.broker.list_group_offsets(GROUP).unwrap() {
            assert_eq!(g.partition.topic(), TOPIC);
            let p = g.partition.partition() as usize;
            assert!(
                g.committed >= self.committed[p],
                "step {step} ({op:?}): committed offset of partition {p} moved back from {} to {}",
                self.committed[p],
                g.committed
            );
            assert!(
                g.committed <= self.produced[p].len() as i64,
                "step {step} ({op:?}): committed {} past the log end {} of partition {p}",
                g.committed,
                self.produced[p].len()
            );
            assert!(
                g.committed <= self.frontier[p],
                "step {step} ({op:?}): partition {p} committed at {} but offset {} was never processed",
                g.committed,
                self.frontier[p]
            );
            self.committed[p] = g.committed;
        }
    }

    /// Drops every consumer, then one fresh consumer reads the group to the log end.
    fn drain(&mut self) {
        self.consumers.clear();
        self.join();
        let all: Vec<TopicPartition> = (0..self.partitions)
            .map(|p| TopicPartition::new(TOPIC, p))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.poll(0, true);
            let c = &mut self.consumers[0];
            if c.assignment() == all && all.iter().all(|tp| c.lag(tp) == Some(0)) {
                break;
            }
            assert!(Instant::now() < deadline, "the drain did not finish");
        }
        self.commit(0);
        self.check(usize::MAX, &Op::Tick);
    }
}

fn run(case: Case) {
    let mut w = World::new(&case);
    for (step, op) in case.ops.iter().enumerate() {
        w.apply(op);
        w.check(step, op);
    }
    w.drain();
    for p in 0..case.partitions as usize {
        assert_eq!(
            w.frontier[p],
            w.produced[p].len() as i64,
            "partition {p}: record {} was never processed",
            w.frontier[p]
        );
    }
}

fn cases() -> u32 {
    if std::env::var_os("BROOKLET_STRESS").is_some() {
        1_000
    } else {
        24
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Shrinking replays whole runs with sleeps in them; keep it bounded.
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_record_is_processed_and_commits_never_rewind(case in arb_case()) {
        run(case);
    }
}

/// A `poll` that fails for one partition (here `NoOffset` under
/// `auto_offset_reset = none`) must not consume records of the others: Kafka resolves
/// every position before it fetches anything, so nothing is skipped when the caller
/// handles the error (seeks) and polls again.
#[test]
fn a_failed_poll_consumes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open(dir.path()).unwrap();
    broker.create_topic(TOPIC, TopicConfig::new(2)).unwrap();
    let producer = broker.producer();
    for p in 0..2 {
        let batch = (0..10u32).map(|i| {
            ProducerRecord::new(TOPIC)
                .partition(p)
                .value(i.to_be_bytes().to_vec())
        });
        producer.send_batch(batch).unwrap();
    }
    let (p0, p1) = (TopicPartition::new(TOPIC, 0), TopicPartition::new(TOPIC, 1));
    let config = ConsumerConfig::new()
        .group_id(GROUP)
        .enable_auto_commit(false)
        .auto_offset_reset(OffsetReset::None);
    // The group has a committed offset for partition 1 only.
    let mut admin = broker.consumer(config.clone());
    admin
        .commit_sync_offsets(&[(p1.clone(), brooklet::OffsetAndMetadata::new(0))])
        .unwrap();
    drop(admin);

    let mut c = broker.consumer(config);
    c.assign(&[p0.clone(), p1.clone()]).unwrap();
    let mut got: Vec<(u32, i64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while got.len() < 20 {
        match c.poll(POLL) {
            Ok(records) => got.extend(records.iter().map(|r| (r.partition(), r.offset()))),
            Err(Error::NoOffset { .. }) => {
                // What Kafka's docs tell the caller to do: choose a position, poll again.
                c.seek(&p0, 0).unwrap();
            }
            Err(e) => panic!("poll: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "records went missing: got {got:?}, position of partition 1 is {:?}",
            c.position(&p1)
        );
    }
    got.sort_unstable();
    let want: Vec<(u32, i64)> = (0..2).flat_map(|p| (0..10).map(move |o| (p, o))).collect();
    assert_eq!(got, want);
}
