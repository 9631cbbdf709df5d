//! [`KafkaStreams`]: runs a topology with worker threads over a consumer group.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::commit::CommitMetadata;
use super::topology::{Ctx, Graph, Shard, Topology, changelog_topic};
use super::window::EmitStrategy;
use crate::{
    Broker, CleanupPolicy, Consumer, ConsumerConfig, Error, OffsetAndMetadata, OffsetReset,
    ProducerRecord, RangeAssignor, RebalanceListener, Result, TopicConfig, TopicPartition,
    WakeupHandle,
};

/// What to do with a record that cannot be deserialised or processed (Kafka Streams'
/// `default.deserialization.exception.handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop the application with the error (Kafka's default, `LogAndFail`).
    #[default]
    Fail,
    /// Skip the record and count it (`LogAndContinue`).
    Continue,
}

/// Settings of a streams application.
///
/// ```
/// use brooklet::streams::StreamsConfig;
/// use std::time::Duration;
/// let cfg = StreamsConfig::new("sentiment").num_threads(2).commit_interval(Duration::from_secs(1));
/// # let _ = cfg;
/// ```
#[derive(Debug, Clone)]
pub struct StreamsConfig {
    pub(crate) application_id: String,
    pub(crate) num_threads: usize,
    pub(crate) commit_interval: Duration,
    pub(crate) poll_timeout: Duration,
    pub(crate) max_poll_records: usize,
    pub(crate) on_error: OnError,
    pub(crate) max_event_time_skew: Option<Duration>,
}

impl StreamsConfig {
    /// Settings for `application_id`: the consumer group, and the prefix of internal
    /// topics (`<application_id>-<store>-changelog`, `...-repartition-N`).
    pub fn new(application_id: impl Into<String>) -> Self {
        StreamsConfig {
            application_id: application_id.into(),
            num_threads: 1,
            commit_interval: Duration::from_secs(30),
            poll_timeout: Duration::from_millis(100),
            max_poll_records: 1000,
            on_error: OnError::Fail,
            max_event_time_skew: Some(Duration::from_secs(1)),
        }
    }
    /// Worker threads (`num.stream.threads`). Default: 1.
    #[must_use]
    pub fn num_threads(mut self, n: usize) -> Self {
        self.num_threads = n.max(1);
        self
    }
    /// How often input offsets are committed (`commit.interval.ms`). Default: 30 s, as
    /// Kafka Streams under at-least-once.
    #[must_use]
    pub fn commit_interval(mut self, d: Duration) -> Self {
        self.commit_interval = d;
        self
    }
    /// Records per poll. Default: 1000.
    #[must_use]
    pub fn max_poll_records(mut self, n: usize) -> Self {
        self.max_poll_records = n.max(1);
        self
    }
    /// Event-time alignment across a worker's input partitions while it works through a
    /// backlog: a partition whose last record is more than `skew` ahead (in event time)
    /// of the slowest partition that still has records is paused until the others catch
    /// up, so windows are not closed early by a partition that happens to run ahead.
    /// Kafka Streams aligns only the partitions of one task (`max.task.idle.ms`); this
    /// extends it to the worker. `None` turns it off. Default: 1 s.
    #[must_use]
    pub fn max_event_time_skew(mut self, skew: Option<Duration>) -> Self {
        self.max_event_time_skew = skew;
        self
    }

    /// Error policy. Default: fail.
    #[must_use]
    pub fn on_error(mut self, p: OnError) -> Self {
        self.on_error = p;
        self
    }
}

/// Life cycle of a [`KafkaStreams`] application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamsState {
    /// Built, not started.
    Created,
    /// Threads are processing.
    Running,
    /// A thread stopped with an error; see [`KafkaStreams::close`].
    Error,
    /// Closed.
    NotRunning,
}

struct Shared {
    broker: Broker,
    graph: Arc<Graph>,
    config: StreamsConfig,
    /// Resolved source topic names, index-aligned with the graph's sources.
    sources: Vec<String>,
    /// The sub-topology of each source, index-aligned with `sources`.
    sub_of_source: Vec<usize>,
    /// The resolved topics of each sub-topology, sorted.
    sub_topics: Vec<Vec<String>>,
    stop: AtomicBool,
    state: Mutex<StreamsState>,
    error: Mutex<Option<Error>>,
    processed: AtomicU64,
    skipped: AtomicU64,
    dropped_late: AtomicU64,
    positions: Mutex<HashMap<TopicPartition, i64>>,
    wakeups: Mutex<Vec<WakeupHandle>>,
    /// Per worker: event time of its slowest partition with records left.
    slowest: Mutex<HashMap<usize, i64>>,
}

/// Runs a [`Topology`] (Kafka Streams' `KafkaStreams`): `num_threads` workers, each a
/// member of the consumer group `application_id`, process the partitions assigned to
/// them, write outputs and state changelogs, and commit input offsets only after those
/// writes are appended (at-least-once). State stores are restored from their changelog
/// topics when a task is assigned, and stream time from the metadata of the committed
/// offsets, so a restart continues where the last commit left: late records are still
/// dropped and windows still emit on close.
///
/// ```
/// use brooklet::{Broker, ConsumerConfig, OffsetReset, ProducerRecord, TopicConfig, TopicPartition};
/// use brooklet::streams::{KafkaStreams, StreamsBuilder, StreamsConfig, Utf8};
/// use std::time::Duration;
///
/// let dir = tempfile::tempdir().unwrap();
/// let broker = Broker::open(dir.path())?;
/// broker.create_topic("in", TopicConfig::new(1))?;
/// broker.create_topic("out", TopicConfig::new(1))?;
/// let b = StreamsBuilder::new();
/// b.stream("in", Utf8, Utf8).map_values(|v: &String| v.to_uppercase()).to("out", Utf8, Utf8);
/// let app = KafkaStreams::new(b.build(), &broker, StreamsConfig::new("upper"))?;
/// app.start()?;
/// broker.producer().send(ProducerRecord::new("in").key("k").value("hi"))?;
/// while !app.is_caught_up() { std::thread::sleep(std::time::Duration::from_millis(5)); }
/// app.close()?;
/// let mut reader = broker.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest));
/// reader.assign(&[TopicPartition::new("out", 0)])?;
/// let out = reader.poll(Duration::from_secs(5))?;
/// assert_eq!(out.iter().next().unwrap().value(), Some(&b"HI"[..]));
/// # Ok::<(), brooklet::Error>(())
/// ```
pub struct KafkaStreams {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for KafkaStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaStreams")
            .field("application_id", &self.shared.config.application_id)
            .field("state", &self.state())
            .finish()
    }
}

impl KafkaStreams {
    /// Prepares the application: checks that source topics exist and creates the
    /// internal repartition and changelog topics.
    ///
    /// The topology is cut into sub-topologies as in Kafka Streams: sources whose
    /// records meet (through `merge`) form one, and a repartition topic starts a new
    /// one. Task `x_N` of sub-topology `x` owns partition N of each of its topics and
    /// one instance of each of its state stores, whose changelog partition is N.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] for a missing source topic (Kafka's
    /// `MissingSourceTopicException`); [`Error::NotCoPartitioned`] when topics of one
    /// sub-topology have different partition counts; [`Error::InvalidTopicName`] for an
    /// application id or store name that cannot be part of a topic name; [`Error::Io`].
    pub fn new(topology: Topology, broker: &Broker, config: StreamsConfig) -> Result<KafkaStreams> {
        let app = config.application_id.clone();
        Broker::validate_topic_name(&app)?;
        let graph = topology.graph;
        let sub_of_source = graph.sub_topologies();
        let subs = sub_of_source.iter().max().map_or(0, |m| m + 1);
        let sources: Vec<String> = graph
            .sources
            .iter()
            .map(|s| {
                if s.internal {
                    format!("{app}-{}", s.topic)
                } else {
                    s.topic.clone()
                }
            })
            .collect();
        let mut sub_topics: Vec<Vec<String>> = vec![Vec::new(); subs];
        for (name, &sub) in sources.iter().zip(&sub_of_source) {
            sub_topics[sub].push(name.clone());
        }
        for topics in &mut sub_topics {
            topics.sort_unstable();
            topics.dedup();
        }
        // Partition counts of the user's topics, per sub-topology.
        let mut external: Vec<Vec<(String, u32)>> = vec![Vec::new(); subs];
        let mut max_parts = 1;
        for (s, &sub) in graph.sources.iter().zip(&sub_of_source) {
            if !s.internal {
                let n = broker.partition_count(&s.topic)?;
                max_parts = max_parts.max(n);
                external[sub].push((s.topic.clone(), n));
            }
        }
        for (sub, ext) in external.iter().enumerate() {
            check_co_partitioned(&app, sub, ext)?;
        }
        // A repartition topic takes the partition count of the topics it meets in its
        // sub-topology, else the largest count of the input topics (as Kafka Streams'
        // `CopartitionedTopicsEnforcer` and repartition sizing do).
        for ((s, name), &sub) in graph.sources.iter().zip(&sources).zip(&sub_of_source) {
            if s.internal {
                let parts = external[sub].first().map_or(max_parts, |&(_, n)| n);
                ensure_topic(broker, name, TopicConfig::new(parts))?;
            }
        }
        // Internal topics created earlier may have another count.
        let mut sub_parts = Vec::with_capacity(subs);
        for (sub, topics) in sub_topics.iter().enumerate() {
            let counts = topics
                .iter()
                .map(|t| Ok((t.clone(), broker.partition_count(t)?)))
                .collect::<Result<Vec<_>>>()?;
            check_co_partitioned(&app, sub, &counts)?;
            sub_parts.push(counts.first().map_or(1, |&(_, n)| n));
        }
        for store in &graph.stores {
            let parts = sub_parts[sub_of_source[store.source]];
            let cfg = TopicConfig::new(parts)
                .cleanup_policy(CleanupPolicy::Compact)
                .retention_ms(None);
            ensure_topic(broker, &changelog_topic(&app, &store.name), cfg)?;
        }
        Ok(KafkaStreams {
            shared: Arc::new(Shared {
                broker: broker.clone(),
                graph,
                config,
                sources,
                sub_of_source,
                sub_topics,
                stop: AtomicBool::new(false),
                state: Mutex::new(StreamsState::Created),
                error: Mutex::new(None),
                processed: AtomicU64::new(0),
                skipped: AtomicU64::new(0),
                dropped_late: AtomicU64::new(0),
                positions: Mutex::new(HashMap::new()),
                wakeups: Mutex::new(Vec::new()),
                slowest: Mutex::new(HashMap::new()),
            }),
            threads: Mutex::new(Vec::new()),
        })
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    /// [`Error::IllegalState`] when already started; [`Error::Io`] when a thread
    /// cannot be spawned.
    pub fn start(&self) -> Result<()> {
        let mut st = self.shared.state.lock();
        if *st != StreamsState::Created {
            return Err(Error::IllegalState(
                "this streams application was already started".into(),
            ));
        }
        *st = StreamsState::Running;
        drop(st);
        let mut threads = self.threads.lock();
        for i in 0..self.shared.config.num_threads {
            let shared = Arc::clone(&self.shared);
            let h = std::thread::Builder::new()
                .name(format!("{}-stream-{i}", self.shared.config.application_id))
                .spawn(move || worker(shared, i))
                .map_err(|source| Error::Io {
                    path: "stream thread".into(),
                    source: std::sync::Arc::new(source),
                })?;
            threads.push(h);
        }
        Ok(())
    }

    /// The current state.
    pub fn state(&self) -> StreamsState {
        *self.shared.state.lock()
    }

    /// Records processed so far.
    pub fn processed_records(&self) -> u64 {
        self.shared.processed.load(Ordering::Relaxed)
    }

    /// Records skipped under [`OnError::Continue`].
    pub fn skipped_records(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Records dropped because their window had closed (late beyond grace).
    pub fn dropped_late_records(&self) -> u64 {
        self.shared.dropped_late.load(Ordering::Relaxed)
    }

    /// True when every partition of every source topic (internal ones included) has
    /// been processed up to its log end and the outputs written.
    pub fn is_caught_up(&self) -> bool {
        let positions = self.shared.positions.lock();
        self.shared.sources.iter().all(|t| {
            let Ok(topic) = self.shared.broker.describe_topic(t) else {
                return false;
            };
            topic.partitions.iter().all(|d| {
                // A partition that did not open has no end to reach.
                let end = if d.error.is_some() {
                    i64::MAX
                } else {
                    d.log_end_offset
                };
                end == 0
                    || positions
                        .get(&TopicPartition::new(t.clone(), d.partition))
                        .is_some_and(|&pos| pos >= end)
            })
        })
    }

    /// Stops the threads after their current batch (each writes its outputs and
    /// commits), waits for them, and reports the first error a thread met.
    ///
    /// # Errors
    /// The error that stopped a worker, if any.
    pub fn close(&self) -> Result<()> {
        self.shared.stop.store(true, Ordering::Release);
        for w in self.shared.wakeups.lock().iter() {
            w.wakeup();
        }
        for h in self.threads.lock().drain(..) {
            let _ = h.join();
        }
        let mut st = self.shared.state.lock();
        let err = self.shared.error.lock().take();
        *st = StreamsState::NotRunning;
        err.map_or(Ok(()), Err)
    }
}

impl Drop for KafkaStreams {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Refuses a sub-topology whose topics differ in partition count.
fn check_co_partitioned(app: &str, sub: usize, topics: &[(String, u32)]) -> Result<()> {
    if topics.windows(2).all(|w| w[0].1 == w[1].1) {
        return Ok(());
    }
    let mut topics = topics.to_vec();
    topics.sort();
    topics.dedup();
    Err(Error::NotCoPartitioned {
        application_id: app.to_string(),
        sub_topology: sub,
        topics,
    })
}

fn ensure_topic(broker: &Broker, name: &str, cfg: TopicConfig) -> Result<()> {
    match broker.create_topic(name, cfg) {
        Ok(()) | Err(Error::TopicExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A task (Kafka Streams' `TaskId`): a sub-topology and a partition number, shown as
/// `<sub-topology>_<partition>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct TaskId {
    sub: usize,
    partition: u32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.sub, self.partition)
    }
}

/// One task's state.
#[derive(Default)]
struct Task {
    /// State store shards by store name.
    stores: HashMap<String, Shard>,
    /// Partition time (largest timestamp read) of each input partition of the task.
    partition_time: HashMap<TopicPartition, i64>,
    /// The task's input partitions assigned to this worker.
    assigned: BTreeSet<TopicPartition>,
}

/// The tasks of one thread.
type Tasks = Arc<Mutex<BTreeMap<TaskId, Task>>>;

impl Shared {
    /// The tasks that read `tp` (one per sub-topology reading its topic).
    fn task_ids(&self, tp: &TopicPartition) -> BTreeSet<TaskId> {
        self.sources
            .iter()
            .zip(&self.sub_of_source)
            .filter(|(t, _)| *t == tp.topic())
            .map(|(_, &sub)| TaskId {
                sub,
                partition: tp.partition(),
            })
            .collect()
    }
}

/// Commits the position of every assigned partition, with the stream times of its
/// tasks in the commit metadata (see `streams/commit.rs`).
fn commit(shared: &Shared, consumer: &mut Consumer, tasks: &Tasks) -> Result<()> {
    let tasks = tasks.lock();
    let mut offsets = Vec::new();
    for tp in consumer.assignment() {
        let Ok(offset) = consumer.position(&tp) else {
            continue;
        };
        let mut meta = CommitMetadata::default();
        for id in shared.task_ids(&tp) {
            let Some(task) = tasks.get(&id) else { continue };
            if let Some(&pt) = task.partition_time.get(&tp).filter(|&&t| t != i64::MIN) {
                meta.partition_time = Some(meta.partition_time.map_or(pt, |m| m.max(pt)));
            }
            for (name, shard) in &task.stores {
                if shard.stream_time != i64::MIN {
                    let t = meta.stream_times.entry(name.clone()).or_insert(i64::MIN);
                    *t = (*t).max(shard.stream_time);
                }
            }
        }
        offsets.push((
            tp,
            OffsetAndMetadata {
                offset,
                metadata: meta.encode(),
                commit_timestamp: -1,
            },
        ));
    }
    drop(tasks);
    consumer.commit_sync_offsets(&offsets)
}

struct Restorer {
    shared: Arc<Shared>,
    tasks: Tasks,
}

impl Restorer {
    /// Loads every store of task `id` from its changelog partition, and the task's
    /// stream times from the metadata of its committed offsets.
    fn restore(&self, consumer: &Consumer, id: TaskId) -> Result<Task> {
        let app = &self.shared.config.application_id;
        let inputs: Vec<TopicPartition> = self.shared.sub_topics[id.sub]
            .iter()
            .map(|t| TopicPartition::new(t.clone(), id.partition))
            .collect();
        let mut task = Task::default();
        // `None`: no input partition carries stream times (nothing committed yet, or
        // commits of a version that did not store them).
        let mut committed: Option<CommitMetadata> = None;
        for (tp, o) in consumer.committed(&inputs)? {
            let Some(m) = o.and_then(|o| CommitMetadata::decode(&o.metadata)) else {
                continue;
            };
            if let Some(pt) = m.partition_time {
                task.partition_time.insert(tp, pt);
            }
            committed
                .get_or_insert_with(Default::default)
                .merge_stream_times(&m);
        }
        for store in &self.shared.graph.stores {
            if self.shared.sub_of_source[store.source] != id.sub {
                continue;
            }
            let topic = changelog_topic(app, &store.name);
            let ctp = TopicPartition::new(topic, id.partition);
            let mut c = self.shared.broker.consumer(
                ConsumerConfig::new()
                    .auto_offset_reset(OffsetReset::Earliest)
                    .max_poll_records(10_000),
            );
            c.assign(std::slice::from_ref(&ctp))?;
            let end = c.end_offsets(std::slice::from_ref(&ctp))?[&ctp];
            let mut shard = Shard::default();
            let mut newest = i64::MIN;
            while c.position(&ctp)? < end {
                for r in c.poll(Duration::from_millis(100))?.iter() {
                    newest = newest.max(r.timestamp());
                    match (r.key(), r.value()) {
                        (Some(k), Some(v)) => {
                            shard.data.insert(k.to_vec(), v.to_vec());
                        }
                        (Some(k), None) => {
                            shard.data.remove(k);
                        }
                        _ => {}
                    }
                }
            }
            if let Some((windows, emit)) = store.windowed {
                shard.stream_time = match &committed {
                    Some(m) => m.stream_times.get(&store.name).copied().unwrap_or(i64::MIN),
                    // Each changelog record carries the timestamp of the record that
                    // updated the window, and late records update none: the newest is
                    // the stream time the store had reached.
                    None => newest,
                };
                if emit == EmitStrategy::OnWindowClose {
                    shard.reopen_windows(&windows);
                }
            }
            task.stores.insert(store.name.clone(), shard);
        }
        Ok(task)
    }
}

impl RebalanceListener for Restorer {
    fn on_partitions_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        // Outputs of processed records were appended before this poll; commit them.
        let _ = commit(&self.shared, consumer, &self.tasks);
        self.on_partitions_lost(consumer, partitions);
    }

    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        for tp in partitions {
            for id in self.shared.task_ids(tp) {
                if !self.tasks.lock().contains_key(&id) {
                    match self.restore(consumer, id) {
                        Ok(task) => {
                            self.tasks.lock().insert(id, task);
                        }
                        Err(e) => {
                            self.shared.error.lock().get_or_insert(e);
                            self.shared.stop.store(true, Ordering::Release);
                            return;
                        }
                    }
                }
                if let Some(task) = self.tasks.lock().get_mut(&id) {
                    task.assigned.insert(tp.clone());
                }
            }
        }
    }

    fn on_partitions_lost(&mut self, _: &mut Consumer, partitions: &[TopicPartition]) {
        let mut tasks = self.tasks.lock();
        for tp in partitions {
            for id in self.shared.task_ids(tp) {
                if let Some(task) = tasks.get_mut(&id) {
                    task.assigned.remove(tp);
                    if task.assigned.is_empty() {
                        tasks.remove(&id);
                    }
                }
            }
        }
    }
}

fn fail(shared: &Shared, e: Error) {
    shared.error.lock().get_or_insert(e);
    *shared.state.lock() = StreamsState::Error;
    shared.stop.store(true, Ordering::Release);
}

fn worker(shared: Arc<Shared>, id: usize) {
    if let Err(e) = run_worker(&shared, id) {
        fail(&shared, e);
    }
}

fn run_worker(shared: &Arc<Shared>, id: usize) -> Result<()> {
    let cfg = &shared.config;
    let broker = &shared.broker;
    let mut consumer = broker.consumer(
        ConsumerConfig::new()
            .group_id(cfg.application_id.clone())
            .auto_offset_reset(OffsetReset::Earliest)
            .enable_auto_commit(false)
            .max_poll_records(cfg.max_poll_records)
            // Small per-partition fetches so that one poll spans every assigned
            // partition and the timestamp merge below has something to merge.
            .max_partition_fetch_bytes(4 * 1024)
            // Range gives every member the same partition numbers of each topic it
            // subscribes to, so one worker holds all the input partitions of a task.
            .assignors(vec![Arc::new(RangeAssignor)]),
    );
    shared.wakeups.lock().push(consumer.wakeup_handle());
    let producer = broker.producer();
    let tasks: Tasks = Arc::new(Mutex::new(BTreeMap::new()));
    consumer.set_rebalance_listener(Restorer {
        shared: Arc::clone(shared),
        tasks: Arc::clone(&tasks),
    });
    let mut topics: Vec<&str> = shared.sources.iter().map(String::as_str).collect();
    topics.sort_unstable();
    topics.dedup();
    consumer.subscribe(&topics)?;
    let source_index: HashMap<&str, Vec<usize>> =
        shared
            .sources
            .iter()
            .enumerate()
            .fold(HashMap::new(), |mut m, (i, t)| {
                m.entry(t.as_str()).or_default().push(i);
                m
            });
    let mut last_commit = Instant::now();
    let mut out: Vec<ProducerRecord> = Vec::new();
    let mut last_ts: HashMap<TopicPartition, i64> = HashMap::new();
    let mut all_paused = false;
    while !shared.stop.load(Ordering::Acquire) {
        // While every partition waits for other workers to catch up, poll briefly.
        let timeout = if all_paused {
            Duration::from_millis(1)
        } else {
            cfg.poll_timeout
        };
        let records = match consumer.poll(timeout) {
            Ok(r) => r,
            Err(Error::Wakeup) => break,
            Err(e) => return Err(e),
        };
        let mut dropped = 0u64;
        let mut positions = Vec::new();
        {
            let mut tasks = tasks.lock();
            // Kafka Streams' PartitionGroup: always take the head record with the
            // lowest timestamp across partitions (offset order within a partition), so
            // stream time advances evenly and windows see few false "late" records.
            let mut heads: Vec<_> = records
                .partitions()
                .map(|tp| records.records(tp).peekable())
                .collect();
            loop {
                let next = heads
                    .iter_mut()
                    .enumerate()
                    .filter_map(|(i, h)| h.peek().map(|r| (r.timestamp(), i)))
                    .min();
                let Some((_, i)) = next else { break };
                let Some(r) = heads[i].next() else { break };
                let tp = TopicPartition::new(r.topic(), r.partition());
                last_ts.insert(tp.clone(), r.timestamp());
                for &i in source_index
                    .get(r.topic())
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    let id = TaskId {
                        sub: shared.sub_of_source[i],
                        partition: r.partition(),
                    };
                    let task = tasks.entry(id).or_default();
                    let pt = task.partition_time.entry(tp.clone()).or_insert(i64::MIN);
                    *pt = (*pt).max(r.timestamp());
                    let mut ctx = Ctx {
                        app_id: &cfg.application_id,
                        partition: r.partition(),
                        stores: &mut task.stores,
                        out: &mut out,
                        dropped_late: &mut dropped,
                    };
                    match shared
                        .graph
                        .process(i, &mut ctx, r.key(), r.value(), r.timestamp())
                    {
                        Ok(()) => {}
                        Err(_) if cfg.on_error == OnError::Continue => {
                            shared.skipped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => return Err(e),
                    }
                }
                shared.processed.fetch_add(1, Ordering::Relaxed);
            }
        }
        for tp in records.partitions() {
            if let Ok(p) = consumer.position(tp) {
                positions.push((tp.clone(), p));
            }
        }
        shared.dropped_late.fetch_add(dropped, Ordering::Relaxed);
        // At-least-once: outputs and changelog records are appended before the input
        // offsets that produced them are committed.
        if !out.is_empty() {
            producer.send_batch(std::mem::take(&mut out))?;
        }
        {
            let mut p = shared.positions.lock();
            for tp in consumer.assignment() {
                if let Ok(pos) = consumer.position(&tp) {
                    p.insert(tp, pos);
                }
            }
            for (tp, pos) in positions {
                p.insert(tp, pos);
            }
        }
        if let Some(skew) = cfg.max_event_time_skew {
            all_paused = align(
                shared,
                id,
                &mut consumer,
                &mut last_ts,
                skew.as_millis() as i64,
            )?;
        }
        if last_commit.elapsed() >= cfg.commit_interval {
            last_commit = Instant::now();
            match commit(shared, &mut consumer, &tasks) {
                Ok(()) | Err(Error::StaleGeneration { .. } | Error::RebalanceInProgress { .. }) => {
                }
                Err(e) => return Err(e),
            }
        }
    }
    if !out.is_empty() {
        producer.send_batch(std::mem::take(&mut out))?;
    }
    let _ = commit(shared, &mut consumer, &tasks);
    consumer.close()
}

/// Pauses partitions that run more than `skew_ms` ahead in event time of the slowest
/// partition with records left in any worker, and resumes the rest (see
/// [`StreamsConfig::max_event_time_skew`]). Returns whether every partition with records
/// left is paused.
fn align(
    shared: &Shared,
    id: usize,
    consumer: &mut Consumer,
    last_ts: &mut HashMap<TopicPartition, i64>,
    skew_ms: i64,
) -> Result<bool> {
    let assigned = consumer.assignment();
    last_ts.retain(|tp, _| assigned.contains(tp));
    let pending: Vec<TopicPartition> = assigned
        .iter()
        .filter(|tp| consumer.lag(tp).is_none_or(|l| l > 0))
        .cloned()
        .collect();
    let local = pending
        .iter()
        .map(|tp| last_ts.get(tp).copied().unwrap_or(i64::MIN))
        .min();
    let global = {
        let mut s = shared.slowest.lock();
        match local {
            Some(ts) => s.insert(id, ts),
            None => s.remove(&id),
        };
        s.values().copied().min()
    };
    let (mut pause, mut resume) = (Vec::new(), Vec::new());
    for tp in assigned {
        let ahead = match (global, last_ts.get(&tp)) {
            (Some(min), Some(&ts)) => {
                pending.contains(&tp) && min != i64::MIN && ts > min.saturating_add(skew_ms)
            }
            _ => false,
        };
        if ahead {
            pause.push(tp)
        } else {
            resume.push(tp)
        }
    }
    let all_paused = !pending.is_empty() && pending.iter().all(|tp| pause.contains(tp));
    consumer.pause(&pause)?;
    consumer.resume(&resume)?;
    Ok(all_paused)
}
