//! Source connectors: [`SourceConnector`], [`SourceTask`], and the runner that writes
//! their records to topics and stores their source offsets. The delivery guarantee
//! is described on [`SourceTask`].

use std::collections::HashMap;
use std::sync::Arc;

use super::config::ConnectorConfig;
use super::dead_letter::{Outcome, Policy, Stage, cause_from};
use super::internal::{Reader, chunk_limit};
use super::offsets::{Intent, OffsetStore};
use super::record::{ConnectRecord, SourceRecord};
use super::status::{Control, TaskState};
use crate::{Broker, DefaultPartitioner, Error, Header, Producer, Result, TopicPartition};

/// A source connector (Kafka Connect's `SourceConnector`): splits its work into tasks.
///
/// ```
/// use brooklet::connect::{ConnectRecord, SourceConnector, SourceRecord, SourceTask};
///
/// /// Counts from the last stored offset.
/// struct Counter;
/// struct CounterTask { next: u64 }
///
/// impl SourceConnector for Counter {
///     fn tasks(&mut self, _max: usize) -> brooklet::Result<Vec<Box<dyn SourceTask>>> {
///         Ok(vec![Box::new(CounterTask { next: 0 })])
///     }
/// }
/// impl SourceTask for CounterTask {
///     fn start(&mut self, ctx: &brooklet::connect::SourceTaskContext) -> brooklet::Result<()> {
///         self.next = ctx.offset_for("counter").and_then(|o| o.parse().ok()).unwrap_or(0);
///         Ok(())
///     }
///     fn poll(&mut self, max: usize) -> brooklet::Result<Vec<SourceRecord>> {
///         let out = (self.next..self.next + max.min(10) as u64)
///             .map(|i| SourceRecord::new("counter", (i + 1).to_string(),
///                 ConnectRecord::new("numbers").value(i.to_string())))
///             .collect();
///         self.next += max.min(10) as u64;
///         Ok(out)
///     }
/// }
/// ```
pub trait SourceConnector: Send {
    /// Creates at most `max_tasks` tasks, each with its share of the source partitions
    /// (Kafka's `taskConfigs(maxTasks)` and `taskClass()` in one). Called again on
    /// [`Worker::restart`](super::Worker::restart). Task `i` of one call should read
    /// the same source partitions as task `i` of the next.
    ///
    /// # Errors
    /// Any; the connector is then `Failed`.
    fn tasks(&mut self, max_tasks: usize) -> Result<Vec<Box<dyn SourceTask>>>;
}

/// A source task (Kafka Connect's `SourceTask`), run on its own thread by the worker.
///
/// # Delivery: how a batch is written, and why a restart writes nothing twice
///
/// For each batch `poll` returns, the runner, holding the connector's write lock:
///
/// 1. appends a *write intent* to `__connect_offsets`: for every destination partition
///    its current log end, and how many records each source partition contributed;
/// 2. appends the records, one `send_batch` per chunk of one partition (one chunk is
///    one append: all or nothing);
/// 3. appends the source offsets of the batch and a tombstone for the intent, as one
///    append.
///
/// A crash between 2 and 3 leaves records without offsets. At the next start, the
/// task resumes from the committed offsets and returns the same records again; the
/// runner collects exactly as many per source partition as the intent counted, routes
/// and chunks them as before, and looks for each chunk in its partition after the end
/// the intent noted. A chunk found there record for record (key, value, headers) was
/// written by the crashed run and is not written again; the others are. So every
/// record reaches its topic exactly once, provided the source returns the same
/// records for the same offsets (a file does) and transforms are deterministic. When
/// that does not hold the comparison fails and the records are written again: at
/// least once, never lost. (Another writer's identical chunk at that place would be
/// taken for the crashed run's; a topic written by its connector alone has none.)
///
/// Without an intent (the normal case) no reading happens at all: the cost is two
/// small appends to `__connect_offsets` per batch.
///
/// Durability follows the topics' flush policies: nothing is lost when the *process*
/// dies; against a *machine* crash, give the destination topics
/// [`FlushPolicy::EveryAppend`](crate::FlushPolicy::EveryAppend) so that no stored
/// offset can outlive the records it covers.
pub trait SourceTask: Send {
    /// Called once before the first `poll`, with the stored offsets to resume from.
    /// Default: nothing.
    ///
    /// # Errors
    /// Any; the task then fails.
    fn start(&mut self, context: &SourceTaskContext) -> Result<()> {
        let _ = context;
        Ok(())
    }

    /// Returns the next records, at most `max_records` (more are accepted), or none
    /// when nothing is ready. Should return within about `poll_interval` so the task
    /// can be paused and stopped promptly; the runner waits `poll_interval` after an
    /// empty poll. Every record carries its source partition and offset; records of
    /// one source partition must come in order.
    ///
    /// # Errors
    /// Retried `max_retries` times, `retry_backoff` apart; then the task fails.
    fn poll(&mut self, max_records: usize) -> Result<Vec<SourceRecord>>;

    /// Called after the offsets of a batch were stored (Kafka's `commit()`): the task
    /// may now acknowledge its input upstream. Default: nothing. Errors are ignored, as
    /// Kafka logs them.
    ///
    /// # Errors
    /// Ignored.
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called once when the task stops, fails or its connector is stopped. Default:
    /// nothing.
    fn stop(&mut self) {}
}

/// What a [`SourceTask`] is told when it starts (Kafka's `SourceTaskContext` with its
/// `OffsetStorageReader`).
#[derive(Debug, Clone)]
pub struct SourceTaskContext {
    connector: String,
    task: usize,
    offsets: HashMap<String, String>,
}

impl SourceTaskContext {
    /// The stored offset of `source_partition`: the `source_offset` of the last record
    /// of it that was written and committed. `None` when there is none.
    pub fn offset_for(&self, source_partition: &str) -> Option<&str> {
        self.offsets.get(source_partition).map(String::as_str)
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

/// Empty polls after which a recovering task stops waiting for the rest of the batch
/// it is recovering (the source no longer has it): about 2 s at the default interval.
const RECOVERY_IDLE_POLLS: u32 = 20;

/// A batch being re-read after a crash: see the module docs.
struct Recovery {
    intent: Intent,
    remaining: HashMap<String, u64>,
    batch: Vec<SourceRecord>,
    idle_polls: u32,
}

/// Runs one source task on the current thread until stopped or failed.
pub(crate) struct SourceRunner {
    pub(crate) broker: Broker,
    pub(crate) producer: Producer,
    pub(crate) store: Arc<OffsetStore>,
    pub(crate) config: ConnectorConfig,
    pub(crate) control: Arc<Control>,
    pub(crate) id: usize,
    pub(crate) task: Box<dyn SourceTask>,
    pub(crate) reader: Reader,
    pub(crate) policy: Policy,
    recovery: Option<Recovery>,
    carry: Vec<SourceRecord>,
}

/// Rough encoded size of a record (batch overhead aside), to keep chunks below
/// `max_message_bytes` so that each chunk is a single append.
fn approx_size(r: &ConnectRecord) -> usize {
    32 + r.key.as_ref().map_or(0, Vec::len)
        + r.value.as_ref().map_or(0, Vec::len)
        + r.headers
            .iter()
            .map(|h| 8 + h.key.len() + h.value.as_ref().map_or(0, Vec::len))
            .sum::<usize>()
}

impl SourceRunner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        broker: Broker,
        store: Arc<OffsetStore>,
        config: ConnectorConfig,
        control: Arc<Control>,
        id: usize,
        task: Box<dyn SourceTask>,
    ) -> SourceRunner {
        let policy = Policy::new(&config, id, Arc::clone(&control));
        SourceRunner {
            producer: broker.producer(),
            reader: Reader::new(&broker),
            broker,
            store,
            config,
            control,
            id,
            task,
            policy,
            recovery: None,
            carry: Vec::new(),
        }
    }

    /// The task's loop; returns when stopped (Ok) or failed (Err).
    pub(crate) fn run(&mut self) -> Result<()> {
        let ctx = SourceTaskContext {
            connector: self.config.name.clone(),
            task: self.id,
            offsets: self.store.offsets_of(&self.config.name),
        };
        self.task.start(&ctx)?;
        if let Some(intent) = self.store.pending_intent(&self.config.name, self.id) {
            self.recovery = Some(Recovery {
                remaining: intent.counts.iter().cloned().collect(),
                intent,
                batch: Vec::new(),
                idle_polls: 0,
            });
        }
        loop {
            if self.control.stopping() {
                return Ok(());
            }
            if self.control.paused() {
                self.control
                    .update(self.id, |s| s.state = TaskState::Paused);
                self.control.wait(self.config.poll_interval);
                continue;
            }
            self.control
                .update(self.id, |s| s.state = TaskState::Running);
            let records = if self.recovery.is_none() && !self.carry.is_empty() {
                std::mem::take(&mut self.carry)
            } else {
                self.poll()?
            };
            if records.is_empty() {
                let give_up = match &mut self.recovery {
                    Some(r) => {
                        r.idle_polls += 1;
                        r.idle_polls >= RECOVERY_IDLE_POLLS
                    }
                    None => false,
                };
                if give_up {
                    self.finish_recovery()?;
                } else {
                    self.control.wait(self.config.poll_interval);
                }
                continue;
            }
            if self.recovery.is_some() {
                self.feed_recovery(records)?;
            } else {
                self.process(records, None)?;
            }
        }
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let mut tries = 0;
        loop {
            match self.task.poll(self.config.batch_size) {
                Ok(r) => return Ok(r),
                // Stopping: nothing was read, nothing is lost.
                Err(_) if self.control.stopping() => return Ok(Vec::new()),
                Err(e) if tries >= self.config.max_retries => return Err(e),
                Err(_) => {
                    tries += 1;
                    self.control.update(self.id, |s| s.retries += 1);
                    self.control.wait(self.config.retry_backoff);
                }
            }
        }
    }

    fn feed_recovery(&mut self, records: Vec<SourceRecord>) -> Result<()> {
        let Some(rec) = &mut self.recovery else {
            return Ok(());
        };
        rec.idle_polls = 0;
        for r in records {
            match rec.remaining.get_mut(&r.source_partition) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    rec.batch.push(r);
                }
                _ => self.carry.push(r),
            }
        }
        if rec.remaining.values().all(|n| *n == 0) {
            self.finish_recovery()?;
        }
        Ok(())
    }

    fn finish_recovery(&mut self) -> Result<()> {
        if let Some(rec) = self.recovery.take() {
            self.process(rec.batch, Some(rec.intent))?;
        }
        Ok(())
    }

    /// Picks the partition of a record: explicit, else murmur2 of the key as the
    /// producer would, else murmur2 of the source partition, so that keyless records
    /// of one source partition stay in order in one partition (and the choice is
    /// the same when the batch is re-read after a crash).
    fn route(&self, r: &ConnectRecord, source_partition: &str) -> Result<TopicPartition> {
        let n = match (
            self.broker.partition_count(&r.topic),
            &self.config.topic_creation,
        ) {
            (Err(Error::UnknownTopic { .. }), Some(cfg)) => {
                match self.broker.create_topic(&r.topic, cfg.clone()) {
                    Ok(()) | Err(Error::TopicExists { .. }) => {}
                    Err(e) => return Err(e),
                }
                self.broker.partition_count(&r.topic)?
            }
            (n, _) => n?,
        };
        let p = match (r.partition, &r.key) {
            (Some(p), _) if p < n => p,
            (Some(p), _) => {
                return Err(Error::UnknownPartition {
                    topic: r.topic.clone(),
                    partition: p,
                    partitions: n,
                });
            }
            (None, Some(k)) => DefaultPartitioner::partition_for_key(k, n),
            (None, None) => DefaultPartitioner::partition_for_key(source_partition.as_bytes(), n),
        };
        Ok(TopicPartition::new(r.topic.clone(), p))
    }

    /// Transforms, routes and writes one batch, then commits its offsets.
    fn process(&mut self, records: Vec<SourceRecord>, recovering: Option<Intent>) -> Result<()> {
        let mut counts: Vec<(String, u64)> = Vec::new();
        let mut last: Vec<(String, String)> = Vec::new();
        // Destination partitions in order of first use, with their records.
        let mut order: Vec<TopicPartition> = Vec::new();
        let mut per_tp: HashMap<TopicPartition, Vec<ConnectRecord>> = HashMap::new();
        for r in records {
            match counts.iter_mut().find(|(s, _)| *s == r.source_partition) {
                Some((_, n)) => *n += 1,
                None => counts.push((r.source_partition.clone(), 1)),
            }
            match last.iter_mut().find(|(s, _)| *s == r.source_partition) {
                Some((_, o)) => o.clone_from(&r.source_offset),
                None => last.push((r.source_partition.clone(), r.source_offset.clone())),
            }
            let out = match &r.error {
                Some(why) => Outcome::Skipped(self.policy.bad(
                    &r.record,
                    None,
                    Stage::Conversion,
                    cause_from(why),
                )?),
                None => self.policy.transform(r.record, None)?,
            };
            let rec = match out {
                Outcome::Keep(rec) | Outcome::Skipped(Some(rec)) => rec,
                Outcome::Filtered | Outcome::Skipped(None) => continue,
            };
            let tp = self.route(&rec, &r.source_partition)?;
            if !per_tp.contains_key(&tp) {
                order.push(tp.clone());
            }
            per_tp.entry(tp).or_default().push(rec);
        }
        let control = Arc::clone(&self.control);
        let _write = control.write_lock.lock();
        let mut ends = Vec::with_capacity(order.len());
        for tp in &order {
            let old = recovering
                .as_ref()
                .and_then(|i| i.ends.iter().find(|(t, _)| t == tp).map(|(_, e)| *e));
            let end = match old {
                Some(e) => e,
                None => self.reader.end_offset(tp)?,
            };
            ends.push((tp.clone(), end));
        }
        let intent = Intent {
            task: self.id,
            ends,
            counts,
        };
        self.store.write_intent(&self.config.name, &intent)?;
        let mut written = 0u64;
        for (tp, search_from) in &intent.ends {
            let recs = per_tp.remove(tp).unwrap_or_default();
            let max = chunk_limit(&self.broker, tp)?;
            let mut from = recovering.as_ref().map(|_| *search_from);
            for chunk in chunks(&recs, max) {
                if let Some(f) = from {
                    match self.find_chunk(tp, f, chunk)? {
                        Some(at) => {
                            from = Some(at + chunk.len() as i64);
                            written += chunk.len() as u64;
                            continue;
                        }
                        // Chunks are appended in order: after a missing one, none is there.
                        None => from = None,
                    }
                }
                #[cfg(test)]
                tests::maybe_crash(&self.config.name)?;
                let prs: Vec<_> = chunk
                    .iter()
                    .map(|r| r.to_producer_record(Some(tp.partition())))
                    .collect();
                self.producer.send_batch(prs)?;
                written += chunk.len() as u64;
            }
        }
        #[cfg(test)]
        tests::maybe_crash(&self.config.name)?;
        self.store.commit(&self.config.name, self.id, &last)?;
        drop(_write);
        self.control.update(self.id, |s| s.records += written);
        // Kafka logs a failed commit() and carries on.
        let _ = self.task.commit();
        Ok(())
    }

    /// The offset at which `chunk` appears, record for record, in `tp` at or after
    /// `from`; `None` when it does not.
    fn find_chunk(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        chunk: &[ConnectRecord],
    ) -> Result<Option<i64>> {
        let end = self.reader.end_offset(tp)?;
        let mut region: Vec<(i64, ConnectRecord)> = Vec::new();
        self.reader.scan(tp, from, end, |r| {
            let mut c = ConnectRecord::new(tp.topic());
            c.key = r.key().map(<[u8]>::to_vec);
            c.value = r.value().map(<[u8]>::to_vec);
            c.headers = r
                .headers()
                .map(|h| {
                    Header::new(
                        String::from_utf8_lossy(h.key).into_owned(),
                        h.value.unwrap_or_default().to_vec(),
                    )
                })
                .collect();
            region.push((r.offset(), c));
            Ok(true)
        })?;
        let same = |a: &ConnectRecord, b: &ConnectRecord| {
            a.key == b.key
                && a.value == b.value
                && a.headers.len() == b.headers.len()
                && a.headers.iter().zip(&b.headers).all(|(x, y)| {
                    x.key == y.key
                        && x.value.as_deref().unwrap_or_default()
                            == y.value.as_deref().unwrap_or_default()
                })
        };
        if chunk.is_empty() {
            return Ok(Some(from));
        }
        'start: for i in 0..region.len() {
            if region.len() - i < chunk.len() {
                break;
            }
            for (j, want) in chunk.iter().enumerate() {
                let (off, got) = &region[i + j];
                // A chunk is one append: its offsets are consecutive.
                if *off != region[i].0 + j as i64 || !same(want, got) {
                    continue 'start;
                }
            }
            return Ok(Some(region[i].0));
        }
        Ok(None)
    }

    pub(crate) fn stop_task(&mut self) {
        self.task.stop();
    }
}

/// Splits `recs` into consecutive chunks of at most about `max_bytes` each (at least
/// one record per chunk). Deterministic, so a re-read batch chunks the same way.
fn chunks(recs: &[ConnectRecord], max_bytes: usize) -> Vec<&[ConnectRecord]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, r) in recs.iter().enumerate() {
        let s = approx_size(r);
        if i > start && bytes + s > max_bytes {
            out.push(&recs[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += s;
    }
    if start < recs.len() {
        out.push(&recs[start..]);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::connect::{FileSource, Worker, transforms};
    use crate::{ConsumerConfig, TopicConfig};
    use std::time::{Duration, Instant};

    /// Connector name -> chunk writes still allowed before a simulated crash.
    static CRASH_AFTER: parking_lot::Mutex<Vec<(String, usize)>> =
        parking_lot::Mutex::new(Vec::new());

    /// Fails the write of a batch once the connector used up its allowed chunks, as a
    /// crash between the records and their offsets would leave it.
    pub(crate) fn maybe_crash(connector: &str) -> Result<()> {
        let mut c = CRASH_AFTER.lock();
        if let Some(i) = c.iter().position(|(n, _)| n == connector) {
            if c[i].1 == 0 {
                c.remove(i);
                return Err(Error::Io {
                    path: "<simulated crash>".into(),
                    source: Arc::new(std::io::Error::other("simulated crash")),
                });
            }
            c[i].1 -= 1;
        }
        Ok(())
    }

    fn values(b: &Broker, topic: &str) -> Vec<String> {
        let n = b.partition_count(topic).unwrap();
        let tps: Vec<TopicPartition> = (0..n).map(|p| TopicPartition::new(topic, p)).collect();
        let mut c = b.consumer(ConsumerConfig::new());
        c.assign(&tps).unwrap();
        c.seek_to_beginning(&[]).unwrap();
        let mut out = Vec::new();
        loop {
            let r = c.poll(Duration::ZERO).unwrap();
            if r.is_empty() {
                return out;
            }
            out.extend(
                r.iter()
                    .map(|r| String::from_utf8_lossy(r.value().unwrap()).into_owned()),
            );
        }
    }

    /// A batch whose records were (partly) written but whose offsets were not is
    /// recognised by the restarted task: no line is written twice or lost.
    #[test]
    fn a_batch_cut_short_is_completed_not_repeated() {
        for allowed in [0, 1, 2, 3] {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("in.txt");
            let text: String = (0..60).map(|i| format!("l{i:03}\n")).collect();
            std::fs::write(&file, text).unwrap();
            let b = Broker::open(dir.path().join("data")).unwrap();
            b.create_topic("t", TopicConfig::new(3)).unwrap();
            let name = format!("crashy-{allowed}");
            CRASH_AFTER.lock().push((name.clone(), allowed));
            let w = Worker::new(&b).unwrap();
            let cfg = ConnectorConfig::new(name.clone())
                .batch_size(100)
                .transform(transforms::map(|mut r| {
                    r.key = r.value.clone();
                    r
                }));
            w.start_source(FileSource::new(&file, "t"), cfg).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !w.status(&name).unwrap().has_failed() {
                assert!(Instant::now() < deadline);
                std::thread::sleep(Duration::from_millis(5));
            }
            let partial = values(&b, "t").len();
            // 3 partitions, so 3 chunks: 3 allowed writes all, then fail before the commit.
            assert_eq!(
                partial == 60,
                allowed == 3,
                "allowed {allowed}: {partial} written"
            );
            w.restart(&name).unwrap();
            while values(&b, "t").len() < 60 {
                assert!(Instant::now() < deadline, "allowed {allowed}");
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(50));
            w.close();
            let mut v = values(&b, "t");
            v.sort();
            let want: Vec<String> = (0..60).map(|i| format!("l{i:03}")).collect();
            assert_eq!(v, want, "allowed {allowed}: partial {partial}");
            assert_eq!(w.status(&name).unwrap().records(), 60);
        }
    }

    #[test]
    fn chunks_respect_the_byte_budget_and_keep_order() {
        let recs: Vec<ConnectRecord> = (0..10)
            .map(|i| ConnectRecord::new("t").value(vec![b'x'; 100 + i]))
            .collect();
        let c = chunks(&recs, 300);
        assert!(c.iter().all(|c| !c.is_empty()));
        assert_eq!(c.iter().map(|c| c.len()).sum::<usize>(), 10);
        assert!(c.iter().all(|c| c.len() <= 2));
        let flat: Vec<&ConnectRecord> = c.iter().flat_map(|c| c.iter()).collect();
        assert!(flat.iter().zip(&recs).all(|(a, b)| *a == b));
        // A record larger than the budget still gets a chunk of its own.
        let big = [ConnectRecord::new("t").value(vec![0; 1000])];
        assert_eq!(chunks(&big, 10).len(), 1);
    }
}
