//! Sink connectors: [`SinkConnector`], [`SinkTask`], and the runner that feeds them
//! from a consumer group and commits only what they flushed.
//!
//! Each task is a member of the consumer group `connect-<name>` (auto-commit off,
//! `auto_offset_reset = earliest`, as Kafka Connect configures its sink consumers).
//! The runner `put`s each poll's records, and every `offset_flush_interval` (and
//! before partitions are revoked, and at stop) calls `flush`; only when `flush`
//! succeeds does it commit the offsets after the records put so far. So a committed
//! offset never passes a record the task has not flushed.
//!
//! A failing `put` is retried with the same records. A failing `flush` means the data
//! put since the last commit may be lost, so the runner seeks back to the committed
//! offsets and delivers those records again (at least once). Either fails the task
//! after `max_retries` attempts in a row.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::config::ConnectorConfig;
use super::dead_letter::{Outcome, Policy, Stage, cause_from};
use super::record::{ConnectRecord, SinkRecord};
use super::status::{Control, TaskState};
use crate::{
    Broker, Consumer, ConsumerConfig, ConsumerRecords, Error, OffsetAndMetadata, OffsetReset,
    Producer, RebalanceListener, Result, TopicPartition,
};

/// A sink connector (Kafka Connect's `SinkConnector`): splits its work into tasks, which
/// share the partitions of its topics through the consumer group `connect-<name>`.
///
/// ```
/// use brooklet::connect::{SinkConnector, SinkRecord, SinkTask, SinkTaskContext};
/// use std::sync::{Arc, Mutex};
///
/// /// Collects values in memory.
/// struct Collect(Arc<Mutex<Vec<Vec<u8>>>>);
/// struct CollectTask { out: Arc<Mutex<Vec<Vec<u8>>>>, staged: Vec<Vec<u8>> }
///
/// impl SinkConnector for Collect {
///     fn tasks(&mut self, _max: usize) -> brooklet::Result<Vec<Box<dyn SinkTask>>> {
///         Ok(vec![Box::new(CollectTask { out: Arc::clone(&self.0), staged: Vec::new() })])
///     }
/// }
/// impl SinkTask for CollectTask {
///     fn put(&mut self, records: &[SinkRecord], _: &mut SinkTaskContext) -> brooklet::Result<()> {
///         self.staged.extend(records.iter().filter_map(|r| r.value().map(<[u8]>::to_vec)));
///         Ok(())
///     }
///     fn flush(&mut self) -> brooklet::Result<()> {
///         self.out.lock().unwrap().append(&mut self.staged);
///         Ok(())
///     }
/// }
/// ```
pub trait SinkConnector: Send {
    /// Creates at most `max_tasks` tasks (Kafka's `taskConfigs(maxTasks)` and
    /// `taskClass()` in one). Called again on [`Worker::restart`](super::Worker::restart).
    ///
    /// # Errors
    /// Any; the connector is then `Failed`.
    fn tasks(&mut self, max_tasks: usize) -> Result<Vec<Box<dyn SinkTask>>>;
}

/// A sink task (Kafka Connect's `SinkTask`), run on its own thread by the worker.
pub trait SinkTask: Send {
    /// Partitions were assigned to this task. Default: nothing.
    ///
    /// # Errors
    /// Any; the task then fails.
    fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// Takes a batch of records, in offset order per partition. May buffer them; they
    /// count as delivered only after a successful [`flush`](Self::flush). A record the
    /// task cannot handle is reported with [`SinkTaskContext::report`] (Kafka's
    /// `ErrantRecordReporter`) rather than failing the whole batch.
    ///
    /// # Errors
    /// The runner calls `put` again with the same records, up to `max_retries`
    /// times; then the task fails.
    fn put(&mut self, records: &[SinkRecord], context: &mut SinkTaskContext) -> Result<()>;

    /// Makes everything put so far durable in the outside system; the runner commits
    /// the offsets only after this succeeds.
    ///
    /// # Errors
    /// The runner delivers the records since the last commit again (they may be lost
    /// in the task's buffers), and fails the task after `max_retries` failures in a row.
    fn flush(&mut self) -> Result<()>;

    /// Partitions are taken away from this task (after a last flush). Default: nothing.
    ///
    /// # Errors
    /// Ignored.
    fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// Called once when the task stops. Default: nothing.
    fn stop(&mut self) {}
}

/// Passed to [`SinkTask::put`]: where the task reports records it cannot handle.
#[derive(Debug)]
pub struct SinkTaskContext {
    connector: String,
    task: usize,
    errant: Vec<(TopicPartition, i64, String)>,
}

impl SinkTaskContext {
    /// Reports `record` as bad (Kafka's `ErrantRecordReporter.report`): under
    /// `ErrorTolerance::All` it is skipped (to the dead-letter topic, if set), under
    /// `None` the task stops once `put` returns.
    pub fn report(&mut self, record: &SinkRecord, reason: impl Into<String>) {
        self.errant
            .push((record.source.clone(), record.offset, reason.into()));
    }
    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.connector
    }
    /// This task's number.
    pub fn task_id(&self) -> usize {
        self.task
    }
}

/// State shared between the task loop and its rebalance listener.
struct Shared {
    task: Box<dyn SinkTask>,
    /// Per partition, the offset after the last record put since the last commit.
    pending: BTreeMap<TopicPartition, i64>,
    /// Per partition, the last committed offset (where a rewind goes).
    committed: BTreeMap<TopicPartition, i64>,
    /// An error met inside a rebalance callback, for the loop to return.
    error: Option<Error>,
}

/// Commits `pending` after a successful flush; what a fenced commit leaves to the
/// partitions' new owner is read again there (at least once).
fn commit_pending(consumer: &mut Consumer, s: &mut Shared) -> Result<()> {
    let offs: Vec<(TopicPartition, OffsetAndMetadata)> = s
        .pending
        .iter()
        .map(|(tp, o)| (tp.clone(), OffsetAndMetadata::new(*o)))
        .collect();
    match consumer.commit_sync_offsets(&offs) {
        Ok(()) => {
            let pending = std::mem::take(&mut s.pending);
            s.committed.extend(pending);
            Ok(())
        }
        Err(Error::StaleGeneration { .. } | Error::RebalanceInProgress { .. }) => {
            s.pending.clear();
            Ok(())
        }
        Err(e) => Err(e),
    }
}

struct Listener {
    shared: Arc<Mutex<Shared>>,
}

impl RebalanceListener for Listener {
    fn on_partitions_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let mut s = self.shared.lock();
        if !s.pending.is_empty() {
            // Hand over cleanly: what is flushed is committed; if the flush fails, the
            // new owner reads from the last commit.
            if s.task.flush().is_ok()
                && let Err(e) = commit_pending(consumer, &mut s)
            {
                s.error.get_or_insert(e);
            }
        }
        for tp in partitions {
            s.pending.remove(tp);
            s.committed.remove(tp);
        }
        let _ = s.task.close(partitions);
    }

    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let committed = consumer.committed(partitions);
        let mut s = self.shared.lock();
        match committed {
            Ok(c) => {
                for (tp, o) in c {
                    if let Some(o) = o {
                        s.committed.insert(tp, o.offset);
                    }
                }
            }
            Err(e) => {
                s.error.get_or_insert(e);
            }
        }
        if let Err(e) = s.task.open(partitions) {
            s.error.get_or_insert(e);
        }
    }

    fn on_partitions_lost(&mut self, _consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let mut s = self.shared.lock();
        for tp in partitions {
            s.pending.remove(tp);
            s.committed.remove(tp);
        }
        let _ = s.task.close(partitions);
    }
}

/// Runs one sink task on the current thread until stopped or failed.
pub(crate) struct SinkRunner {
    broker: Broker,
    producer: Producer,
    config: ConnectorConfig,
    control: Arc<Control>,
    id: usize,
    shared: Arc<Mutex<Shared>>,
    policy: Policy,
    last_flush: Instant,
    flush_failures: u32,
}

impl SinkRunner {
    pub(crate) fn new(
        broker: Broker,
        config: ConnectorConfig,
        control: Arc<Control>,
        id: usize,
        task: Box<dyn SinkTask>,
    ) -> SinkRunner {
        let policy = Policy::new(&config, id, Arc::clone(&control));
        SinkRunner {
            producer: broker.producer(),
            broker,
            config,
            control,
            id,
            shared: Arc::new(Mutex::new(Shared {
                task,
                pending: BTreeMap::new(),
                committed: BTreeMap::new(),
                error: None,
            })),
            policy,
            last_flush: Instant::now(),
            flush_failures: 0,
        }
    }

    /// The consumer group of a sink connector (Kafka Connect's `connect-<name>`).
    pub(crate) fn group_id(name: &str) -> String {
        format!("connect-{name}")
    }

    /// The task's loop; returns when stopped (Ok) or failed (Err).
    pub(crate) fn run(&mut self) -> Result<()> {
        let mut consumer = self.broker.consumer(
            ConsumerConfig::new()
                .group_id(Self::group_id(&self.config.name))
                .enable_auto_commit(false)
                .auto_offset_reset(OffsetReset::Earliest)
                .max_poll_records(self.config.batch_size),
        );
        consumer.set_rebalance_listener(Listener {
            shared: Arc::clone(&self.shared),
        });
        match &self.config.topics_regex {
            Some(p) => consumer.subscribe_pattern(p)?,
            None => {
                let topics: Vec<&str> = self.config.topics.iter().map(String::as_str).collect();
                consumer.subscribe(&topics)?;
            }
        }
        self.control.wakeups.lock().push(consumer.wakeup_handle());
        let result = self.work(&mut consumer);
        if result.is_ok() {
            // A clean stop: flush and commit what was put.
            let _ = self.flush_and_commit(&mut consumer);
        }
        let assigned = consumer.assignment();
        let _ = self.shared.lock().task.close(&assigned);
        let _ = consumer.close();
        result
    }

    fn work(&mut self, consumer: &mut Consumer) -> Result<()> {
        loop {
            if self.control.stopping() {
                return Ok(());
            }
            if let Some(e) = self.shared.lock().error.take() {
                return Err(e);
            }
            let paused = self.control.paused();
            self.control.update(self.id, |s| {
                s.state = if paused {
                    TaskState::Paused
                } else {
                    TaskState::Running
                }
            });
            if paused {
                let all = consumer.assignment();
                consumer.pause(&all)?;
            } else {
                let p = consumer.paused();
                if !p.is_empty() {
                    consumer.resume(&p)?;
                }
            }
            let records = match consumer.poll(self.config.poll_interval) {
                Ok(r) => r,
                Err(Error::Wakeup) => continue,
                Err(e) => return Err(e),
            };
            if !records.is_empty() && (paused || self.control.paused()) {
                // Partitions assigned during the poll were not paused yet: give the
                // records back, to be read again after resume.
                let firsts: Vec<(TopicPartition, i64)> = records
                    .partitions()
                    .filter_map(|tp| records.records(tp).next().map(|r| (tp.clone(), r.offset())))
                    .collect();
                for (tp, o) in firsts {
                    consumer.seek(&tp, o)?;
                }
                continue;
            }
            if !records.is_empty() {
                self.deliver(&records)?;
            }
            if self.last_flush.elapsed() >= self.config.offset_flush_interval {
                self.flush_and_commit(consumer)?;
            }
        }
    }

    /// Transforms the records of one poll and puts them (retrying), then marks their
    /// offsets pending.
    fn deliver(&mut self, records: &ConsumerRecords) -> Result<()> {
        let mut batch: Vec<SinkRecord> = Vec::with_capacity(records.count());
        let mut originals: BTreeMap<(TopicPartition, i64), ConnectRecord> = BTreeMap::new();
        let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for r in records.iter() {
            let tp = TopicPartition::new(r.topic(), r.partition());
            next.insert(tp.clone(), r.offset() + 1);
            let owned = r.to_owned();
            let original = ConnectRecord {
                topic: owned.topic,
                partition: Some(owned.partition),
                key: owned.key,
                value: owned.value,
                timestamp: Some(owned.timestamp),
                headers: owned.headers,
            };
            match self
                .policy
                .transform(original.clone(), Some((&tp, r.offset())))?
            {
                Outcome::Keep(rec) => {
                    originals.insert((tp.clone(), r.offset()), original);
                    batch.push(SinkRecord {
                        record: rec,
                        source: tp,
                        offset: r.offset(),
                    });
                }
                Outcome::Filtered | Outcome::Skipped(None) => {}
                Outcome::Skipped(Some(dead)) => self.dead_letter(&dead)?,
            }
        }
        if !batch.is_empty() {
            let mut tries = 0;
            let errant = loop {
                let mut ctx = SinkTaskContext {
                    connector: self.config.name.clone(),
                    task: self.id,
                    errant: Vec::new(),
                };
                let res = self.shared.lock().task.put(&batch, &mut ctx);
                match res {
                    Ok(()) => break ctx.errant,
                    // Stopping: leave the batch uncommitted, to be delivered again.
                    Err(_) if self.control.stopping() => return Ok(()),
                    Err(e) if tries >= self.config.max_retries => return Err(e),
                    Err(_) => {
                        tries += 1;
                        self.control.update(self.id, |s| s.retries += 1);
                        self.control.wait(self.config.retry_backoff);
                    }
                }
            };
            for (tp, offset, reason) in errant {
                let Some(original) = originals.get(&(tp.clone(), offset)) else {
                    continue;
                };
                if let Some(dead) = self.policy.bad(
                    original,
                    Some((&tp, offset)),
                    Stage::TaskPut,
                    cause_from(&reason),
                )? {
                    self.dead_letter(&dead)?;
                }
            }
            let n = batch.len() as u64;
            self.control.update(self.id, |s| s.records += n);
        }
        self.shared.lock().pending.extend(next);
        Ok(())
    }

    fn dead_letter(&self, dead: &ConnectRecord) -> Result<()> {
        self.producer
            .send(dead.to_producer_record(None))
            .map(|_| ())
    }

    /// Flushes the task and commits what it flushed; after a failed flush, rewinds to
    /// the committed offsets so the records are delivered again.
    fn flush_and_commit(&mut self, consumer: &mut Consumer) -> Result<()> {
        self.last_flush = Instant::now();
        let mut s = self.shared.lock();
        if s.pending.is_empty() {
            return Ok(());
        }
        match s.task.flush() {
            Ok(()) => {
                self.flush_failures = 0;
                commit_pending(consumer, &mut s)
            }
            Err(e) => {
                self.flush_failures += 1;
                self.control.update(self.id, |st| st.retries += 1);
                if self.flush_failures > self.config.max_retries {
                    return Err(e);
                }
                let pending: Vec<TopicPartition> =
                    std::mem::take(&mut s.pending).into_keys().collect();
                let starts = consumer.beginning_offsets(&pending)?;
                for tp in pending {
                    let to = s
                        .committed
                        .get(&tp)
                        .copied()
                        .or_else(|| starts.get(&tp).copied())
                        .unwrap_or(0);
                    consumer.seek(&tp, to)?;
                }
                drop(s);
                self.control.wait(self.config.retry_backoff);
                Ok(())
            }
        }
    }

    pub(crate) fn stop_task(&mut self) {
        self.shared.lock().task.stop();
    }
}
