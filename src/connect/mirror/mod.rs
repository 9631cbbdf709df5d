//! [`Mirror`]: copies topics from one [`Broker`] to another (Kafka's MirrorMaker 2),
//! with offset translation so that consumer groups can move to the copy.

mod syncs;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use self::syncs::{PartitionSyncs, SyncStore};
use super::internal::{Reader, chunk_limit};
use crate::{
    Broker, Consumer, ConsumerConfig, ConsumerRecord, Error, Header, OffsetAndMetadata,
    OffsetReset, OwnedConsumerRecord, Producer, ProducerRecord, RebalanceListener, Result,
    TimestampType, TopicPartition, WakeupHandle,
};

type Rename = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Settings of a [`Mirror`].
///
/// ```
/// use brooklet::connect::MirrorConfig;
/// let cfg = MirrorConfig::new("dc1-to-dc2", "orders|payments.*")
///     .tasks(2)
///     .rename_topics(|t| format!("dc1.{t}"));
/// assert_eq!(cfg.name(), "dc1-to-dc2");
/// ```
#[derive(Clone)]
pub struct MirrorConfig {
    name: String,
    topics: String,
    tasks: usize,
    rename: Rename,
    max_poll_records: usize,
    poll_interval: Duration,
}

impl std::fmt::Debug for MirrorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorConfig")
            .field("name", &self.name)
            .field("topics", &self.topics)
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

impl MirrorConfig {
    /// A mirror called `name` (its offset syncs on the target and its consumer group
    /// `mirror-<name>` on the source are named after it) copying every topic whose
    /// whole name matches `topics` (the syntax of
    /// [`Consumer::subscribe_pattern`](crate::Consumer::subscribe_pattern); internal
    /// topics never match). Topics created later that match are copied too.
    pub fn new(name: impl Into<String>, topics: impl Into<String>) -> Self {
        MirrorConfig {
            name: name.into(),
            topics: topics.into(),
            tasks: 1,
            rename: Arc::new(str::to_string),
            max_poll_records: 1000,
            poll_interval: Duration::from_millis(100),
        }
    }

    /// The mirror's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Copying threads, sharing the partitions (MM2's `tasks.max`). Default: 1.
    #[must_use]
    pub fn tasks(mut self, n: usize) -> Self {
        self.tasks = n.max(1);
        self
    }

    /// The target topic of each source topic (MM2's replication policy). Default: the
    /// same name (MM2's `IdentityReplicationPolicy`; its default prefixes the source
    /// cluster's alias, which two-way mirroring needs to avoid loops).
    #[must_use]
    pub fn rename_topics(mut self, f: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.rename = Arc::new(f);
        self
    }

    /// Records per poll of the source. Default: 1000.
    #[must_use]
    pub fn max_poll_records(mut self, n: usize) -> Self {
        self.max_poll_records = n.max(1);
        self
    }

    /// How long a copying thread waits in `poll` for new records. Default: 100 ms.
    #[must_use]
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }
}

/// How far a mirrored partition is behind its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorLag {
    /// The source partition.
    pub source: TopicPartition,
    /// The partition it is copied to.
    pub target: TopicPartition,
    /// The source's log end offset.
    pub source_end: i64,
    /// The next source offset to copy (everything before it is on the target).
    pub copied_to: i64,
    /// `source_end - copied_to`: records not yet copied.
    pub lag: i64,
}

/// A consumer group's committed offset on the source and its equivalent on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetTranslation {
    /// The source partition.
    pub source: TopicPartition,
    /// The group's committed offset there.
    pub source_offset: i64,
    /// The target partition.
    pub target: TopicPartition,
    /// The offset on the target at which the group continues with the same record.
    pub target_offset: i64,
}

/// Whether a [`Mirror`] copies, and how far behind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorStatus {
    /// Its copying threads run.
    pub running: bool,
    /// The error that stopped a copying thread, if one did.
    pub error: Option<String>,
    /// Lag of every partition of the matching source topics.
    pub partitions: Vec<MirrorLag>,
}

struct Run {
    stop: Arc<AtomicBool>,
    wakeups: Vec<WakeupHandle>,
    threads: Vec<JoinHandle<()>>,
}

struct Inner {
    source: Broker,
    target: Broker,
    config: MirrorConfig,
    syncs: SyncStore,
    run: Mutex<Option<Run>>,
    /// Source topics matching the pattern, as the copying consumers last saw them.
    matched: Mutex<BTreeSet<String>>,
    error: Mutex<Option<String>>,
}

/// Copies topics from a source [`Broker`] to a target one (Kafka's MirrorMaker 2),
/// for example between two disks or two directories: every record with its key,
/// value, headers and timestamp, to the same partition number, in the same order.
///
/// - **Progress and offset mapping** are stored on the target, in the internal topic
///   `__mirror_offset_syncs` (MM2's offset-syncs), after each copied batch. A mirror
///   restarted later, with either broker reopened in between, continues after the last
///   copied record; records copied just before a crash whose progress was not stored
///   yet are recognised on the target (compared with the source) and not copied again.
///   So a mirror copies every record exactly once, as long as it is the only writer
///   of its target topics (otherwise it stops with an error).
/// - **Target topics** are created with the source topic's settings and partition
///   count (grown when the source grows), with CreateTime timestamps so that the
///   source's timestamps are kept.
/// - **Groups** move with [`migrate_group`](Self::migrate_group): the group's committed
///   offsets on the source, translated through the offset syncs, are committed on the
///   target, and its consumers continue there with the same records.
/// - **Lag** per partition: [`lag`](Self::lag).
///
/// The copying threads are members of the consumer group `mirror-<name>` on the source
/// (so that topics are matched by pattern and partitions shared among threads); that
/// group commits nothing.
///
/// ```
/// use brooklet::connect::{Mirror, MirrorConfig};
/// use brooklet::{Broker, ProducerRecord, TopicConfig};
/// use std::time::{Duration, Instant};
///
/// let dir = tempfile::tempdir().unwrap();
/// let source = Broker::open(dir.path().join("dc1"))?;
/// let target = Broker::open(dir.path().join("dc2"))?;
/// source.create_topic("orders", TopicConfig::new(2))?;
/// source.producer().send(ProducerRecord::new("orders").key("o1").value("42 EUR"))?;
///
/// let mirror = Mirror::new(&source, &target, MirrorConfig::new("dc1-dc2", "orders"))?;
/// mirror.start()?;
/// let deadline = Instant::now() + Duration::from_secs(10);
/// while mirror.lag()?.iter().map(|l| l.lag).sum::<i64>() > 0 || mirror.lag()?.len() < 2 {
///     assert!(Instant::now() < deadline);
///     std::thread::sleep(Duration::from_millis(10));
/// }
/// mirror.stop()?;
/// assert_eq!(target.describe_topic("orders")?.partitions.iter().map(|p| p.log_end_offset).sum::<i64>(), 1);
/// # Ok::<(), brooklet::Error>(())
/// ```
pub struct Mirror {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("config", &self.inner.config)
            .field("source", &self.inner.source)
            .field("target", &self.inner.target)
            .finish_non_exhaustive()
    }
}

impl Mirror {
    /// A mirror from `source` to `target` (not started): reads its offset syncs from
    /// the target, creating `__mirror_offset_syncs` on first use.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when both handles are the same directory;
    /// [`Error::InvalidConfig`] when the name is empty or not printable; [`Error::Io`] / [`Error::Corrupt`] reading the syncs.
    pub fn new(source: &Broker, target: &Broker, config: MirrorConfig) -> Result<Mirror> {
        if config.name.is_empty() || config.name.chars().any(char::is_control) {
            return Err(Error::InvalidConfig {
                setting: "name",
                reason: "a mirror needs a non-empty, printable name".into(),
            });
        }
        if source.dir() == target.dir() {
            return Err(Error::InvalidArgument(format!(
                "mirror `{}`: source and target are the same directory `{}`",
                config.name,
                source.dir().display()
            )));
        }
        let syncs = SyncStore::open(target, &config.name)?;
        Ok(Mirror {
            inner: Arc::new(Inner {
                source: source.clone(),
                target: target.clone(),
                config,
                syncs,
                run: Mutex::new(None),
                matched: Mutex::new(BTreeSet::new()),
                error: Mutex::new(None),
            }),
        })
    }

    /// Starts the copying threads.
    ///
    /// # Errors
    /// [`Error::IllegalState`] when already running; [`Error::InvalidArgument`] for a
    /// bad topic pattern.
    pub fn start(&self) -> Result<()> {
        let mut run = self.inner.run.lock();
        if run.is_some() {
            return Err(Error::IllegalState(format!(
                "mirror `{}` is already running",
                self.inner.config.name
            )));
        }
        *self.inner.error.lock() = None;
        let stop = Arc::new(AtomicBool::new(false));
        let mut wakeups = Vec::new();
        let mut threads = Vec::new();
        for i in 0..self.inner.config.tasks {
            let mut consumer = self.inner.source.consumer(
                ConsumerConfig::new()
                    .group_id(format!("mirror-{}", self.inner.config.name))
                    .enable_auto_commit(false)
                    .auto_offset_reset(OffsetReset::Earliest)
                    .max_poll_records(self.inner.config.max_poll_records),
            );
            consumer.set_rebalance_listener(Listener {
                inner: Arc::clone(&self.inner),
            });
            consumer.subscribe_pattern(&self.inner.config.topics)?;
            wakeups.push(consumer.wakeup_handle());
            let inner = Arc::clone(&self.inner);
            let stop = Arc::clone(&stop);
            let t = std::thread::Builder::new()
                .name(format!("mirror-{}-{i}", self.inner.config.name))
                .spawn(move || {
                    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        inner.copy_loop(&mut consumer, &stop)
                    }));
                    let err = match res {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(_) => Some("a copying thread panicked".to_string()),
                    };
                    if let Some(e) = err {
                        inner.error.lock().get_or_insert(e);
                    }
                    let _ = consumer.close();
                })
                .map_err(|e| Error::Io {
                    path: self.inner.target.dir().to_path_buf(),
                    source: std::sync::Arc::new(e),
                })?;
            threads.push(t);
        }
        *run = Some(Run {
            stop,
            wakeups,
            threads,
        });
        Ok(())
    }

    /// Stops the copying threads (each finishes its batch) and waits for them.
    ///
    /// # Errors
    /// None today; kept fallible for symmetry with [`start`](Self::start).
    pub fn stop(&self) -> Result<()> {
        let run = self.inner.run.lock().take();
        if let Some(run) = run {
            run.stop.store(true, Ordering::Release);
            for w in &run.wakeups {
                w.wakeup();
            }
            for t in run.threads {
                let _ = t.join();
            }
        }
        Ok(())
    }

    /// Whether it runs, its error if a thread failed, and the lag of each partition.
    ///
    /// # Errors
    /// As [`lag`](Self::lag).
    pub fn status(&self) -> Result<MirrorStatus> {
        let running = self
            .inner
            .run
            .lock()
            .as_ref()
            .is_some_and(|r| r.threads.iter().any(|t| !t.is_finished()));
        Ok(MirrorStatus {
            running,
            error: self.inner.error.lock().clone(),
            partitions: self.lag()?,
        })
    }

    /// The lag of every partition of the source topics that match (as last seen by
    /// the running mirror) or were copied before: source end offset minus the next
    /// offset to copy.
    ///
    /// # Errors
    /// None in practice; a topic deleted on the source is left out.
    pub fn lag(&self) -> Result<Vec<MirrorLag>> {
        let mut topics: BTreeSet<String> = self.inner.matched.lock().clone();
        let parts = self.inner.syncs.parts.lock().clone();
        topics.extend(parts.keys().map(|tp| tp.topic().to_string()));
        let mut out = Vec::new();
        for t in topics {
            let Ok(d) = self.inner.source.describe_topic(&t) else {
                continue;
            };
            for p in d.partitions {
                let tp = TopicPartition::new(t.clone(), p.partition);
                let (target, copied_to) = match parts.get(&tp) {
                    Some(s) => (s.target.clone(), s.source_next),
                    None => (
                        TopicPartition::new((self.inner.config.rename)(&t), p.partition),
                        p.log_start_offset,
                    ),
                };
                out.push(MirrorLag {
                    lag: (p.log_end_offset - copied_to).max(0),
                    source_end: p.log_end_offset,
                    copied_to,
                    target,
                    source: tp,
                });
            }
        }
        Ok(out)
    }

    /// Translates the committed offsets of `group` on the source to the target
    /// (MM2's `RemoteClusterUtils.translateOffsets`): for each partition the mirror
    /// copies, the target offset of the first copied record at or after the committed
    /// one. Partitions the mirror does not copy are left out.
    ///
    /// # Errors
    /// [`Error::IllegalState`] when the group has no committed offsets on the
    /// source, or committed past what the mirror has copied so far (wait for
    /// [`lag`](Self::lag) to reach 0, then translate again).
    pub fn translate_offsets(&self, group: &str) -> Result<Vec<OffsetTranslation>> {
        let committed = self.inner.source.list_group_offsets(group)?;
        if committed.is_empty() {
            return Err(Error::IllegalState(format!(
                "group `{group}` has no committed offsets on the source; translate its offsets after it has committed some"
            )));
        }
        let parts = self.inner.syncs.parts.lock();
        let mut out = Vec::new();
        for c in committed {
            let Some(s) = parts.get(&c.partition) else {
                continue;
            };
            let t = s.translate(c.committed).ok_or_else(|| {
                Error::IllegalState(format!(
                    "mirror `{}` has copied `{}` up to offset {} but group `{group}` committed {}; wait until the mirror catches up (Mirror::lag) and translate again",
                    self.inner.config.name, c.partition, s.source_next, c.committed
                ))
            })?;
            out.push(OffsetTranslation {
                source: c.partition,
                source_offset: c.committed,
                target: s.target.clone(),
                target_offset: t,
            });
        }
        Ok(out)
    }

    /// Moves `group` to the target: translates its committed offsets
    /// ([`translate_offsets`](Self::translate_offsets)) and commits them there, as one
    /// commit (MM2's `sync.group.offsets`, done once). Its consumers, started on the
    /// target, continue with the first record they had not committed on the source:
    /// they skip nothing, and repeat only what they had read but not committed.
    ///
    /// # Errors
    /// As `translate_offsets`; [`Error::GroupNotEmpty`] while the group has active
    /// members on the target.
    pub fn migrate_group(&self, group: &str) -> Result<Vec<OffsetTranslation>> {
        if let Ok(d) = self.inner.target.describe_group(group)
            && !d.members.is_empty()
        {
            return Err(Error::GroupNotEmpty {
                group: group.to_string(),
            });
        }
        let t = self.translate_offsets(group)?;
        if t.is_empty() {
            return Ok(t);
        }
        let mut c = self.inner.target.consumer(
            ConsumerConfig::new()
                .group_id(group)
                .enable_auto_commit(false),
        );
        let tps: Vec<TopicPartition> = t.iter().map(|x| x.target.clone()).collect();
        c.assign(&tps)?;
        let offs: Vec<(TopicPartition, OffsetAndMetadata)> = t
            .iter()
            .map(|x| (x.target.clone(), OffsetAndMetadata::new(x.target_offset)))
            .collect();
        c.commit_sync_offsets(&offs)?;
        c.close()?;
        Ok(t)
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Positions each newly assigned partition where the copy left off.
struct Listener {
    inner: Arc<Inner>,
}

impl RebalanceListener for Listener {
    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        for tp in partitions {
            let res = self
                .inner
                .prepare(tp)
                .and_then(|pos| consumer.seek(tp, pos));
            if let Err(e) = res {
                self.inner.error.lock().get_or_insert(e.to_string());
            }
        }
    }
}

fn same_record(a: &OwnedConsumerRecord, b: &OwnedConsumerRecord) -> bool {
    let headers = |r: &OwnedConsumerRecord| -> Vec<(String, Vec<u8>)> {
        r.headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone().unwrap_or_default()))
            .collect()
    };
    a.key == b.key && a.value == b.value && a.timestamp == b.timestamp && headers(a) == headers(b)
}

impl Inner {
    fn copy_loop(&self, consumer: &mut Consumer, stop: &AtomicBool) -> Result<()> {
        let producer = self.target.producer();
        loop {
            if stop.load(Ordering::Acquire) {
                return Ok(());
            }
            if let Some(e) = self.error.lock().clone() {
                // Another thread failed: this one stops too (the first error is kept).
                return Err(Error::IllegalState(format!(
                    "mirror `{}` stopped: {e}",
                    self.config.name
                )));
            }
            let records = match consumer.poll(self.config.poll_interval) {
                Ok(r) => r,
                Err(Error::Wakeup) => continue,
                Err(e) => return Err(e),
            };
            self.matched.lock().extend(consumer.subscription());
            let tps: Vec<TopicPartition> = records.partitions().cloned().collect();
            for tp in tps {
                self.copy(&producer, &tp, records.records(&tp))?;
            }
        }
    }

    /// The target of a source partition, creating or growing the target topic.
    fn ensure_target(&self, tp: &TopicPartition) -> Result<TopicPartition> {
        let name = (self.config.rename)(tp.topic());
        let src = self.source.describe_topic(tp.topic())?;
        let n = src.partitions.len() as u32;
        match self.target.partition_count(&name) {
            Ok(have) if have < n => match self.target.create_partitions(&name, n) {
                Ok(()) => {}
                Err(e) if self.target.partition_count(&name)? < n => return Err(e),
                Err(_) => {}
            },
            Ok(_) => {}
            Err(Error::UnknownTopic { .. }) => {
                let cfg = src.config.message_timestamp_type(TimestampType::CreateTime);
                match self.target.create_topic(&name, cfg) {
                    Ok(()) | Err(Error::TopicExists { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
        Ok(TopicPartition::new(name, tp.partition()))
    }

    /// Where copying of `tp` resumes. Recognises records copied before a crash whose
    /// progress was not stored (the target is ahead of the stored progress) by
    /// comparing them with the source, and records them.
    fn prepare(&self, tp: &TopicPartition) -> Result<i64> {
        let target_tp = self.ensure_target(tp)?;
        let mut src_reader = Reader::new(&self.source);
        let mut tgt_reader = Reader::new(&self.target);
        let target_end = tgt_reader.end_offset(&target_tp)?;
        let mut parts = self.syncs.parts.lock();
        let Some(state) = parts.get(tp).cloned() else {
            // First time: start at the source's log start, after what the target has.
            let start = src_reader.start_offset(tp)?;
            let s = PartitionSyncs::new(target_tp, start, target_end);
            self.syncs.write(tp, &s, &[])?;
            parts.insert(tp.clone(), s);
            return Ok(start);
        };
        if target_end < state.target_next {
            return Err(Error::IllegalState(format!(
                "mirror `{}`: target `{}` ends at offset {target_end} but {} records were copied to it; it lost records (deleted, or not flushed before a machine crash). Delete the target topic and the mirror's progress, or use a new mirror name",
                self.config.name, state.target, state.target_next
            )));
        }
        if target_end == state.target_next {
            return Ok(state.source_next);
        }
        // Copied but not recorded: the target's extra records must be the next source
        // records, in order (one unrecorded batch, so this is small).
        let extra = (target_end - state.target_next) as usize;
        let mut src_recs: Vec<OwnedConsumerRecord> = Vec::with_capacity(extra);
        src_reader.scan(tp, state.source_next, i64::MAX, |r| {
            src_recs.push(r.to_owned());
            Ok(src_recs.len() < extra)
        })?;
        let mut tgt_recs: Vec<OwnedConsumerRecord> = Vec::with_capacity(extra);
        tgt_reader.scan(&target_tp, state.target_next, target_end, |r| {
            tgt_recs.push(r.to_owned());
            Ok(true)
        })?;
        let matches = src_recs.len() == extra
            && tgt_recs.len() == extra
            && src_recs
                .iter()
                .zip(&tgt_recs)
                .all(|(a, b)| same_record(a, b));
        if !matches {
            return Err(Error::IllegalState(format!(
                "mirror `{}`: target `{}` has records from offset {} on that are not the next records of source `{tp}`; another writer wrote to it. A mirror must be the only writer of its target topics",
                self.config.name, state.target, state.target_next
            )));
        }
        let mut s = state;
        let mut points = Vec::new();
        for (a, b) in src_recs.iter().zip(&tgt_recs) {
            points.extend(s.record(a.offset, b.offset));
        }
        self.syncs.write(tp, &s, &points)?;
        let next = s.source_next;
        parts.insert(tp.clone(), s);
        Ok(next)
    }

    /// Copies one poll's records of `tp` and records where they landed.
    fn copy<'a>(
        &self,
        producer: &Producer,
        tp: &TopicPartition,
        records: impl Iterator<Item = ConsumerRecord<'a>>,
    ) -> Result<()> {
        let target = match self.syncs.parts.lock().get(tp) {
            Some(s) => s.target.clone(),
            // Not prepared (its assignment failed): the error is reported already.
            None => return Ok(()),
        };
        let mut offsets = Vec::new();
        let recs: Vec<ProducerRecord> = records
            .map(|r| {
                offsets.push(r.offset());
                let mut p = ProducerRecord::new(target.topic()).partition(target.partition());
                // As Kafka Connect's ConnectUtils.checkAndConvertTimestamp: -1 is "no
                // timestamp" (the producer stamps the send time); other negative ones
                // are refused by the producer.
                if r.timestamp() != -1 {
                    p = p.timestamp(r.timestamp());
                }
                if let Some(k) = r.key() {
                    p = p.key(k);
                }
                if let Some(v) = r.value() {
                    p = p.value(v);
                }
                for h in r.headers() {
                    let h = Header {
                        key: String::from_utf8_lossy(h.key).into_owned(),
                        value: h.value.map(<[u8]>::to_vec),
                    };
                    // ProducerRecord has no way to send a null header value (see
                    // docs/design.md): an empty value stands in.
                    p = p.header(h.key, h.value.unwrap_or_default());
                }
                p
            })
            .collect();
        if recs.is_empty() {
            return Ok(());
        }
        // One append per chunk that fits the target's batch limit.
        let limit = chunk_limit(&self.target, &target)?;
        let mut meta = Vec::with_capacity(recs.len());
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for r in recs {
            let size = 32
                + r.key_bytes().map_or(0, <[u8]>::len)
                + r.value_bytes().map_or(0, <[u8]>::len)
                + r.headers()
                    .iter()
                    .map(|h| 8 + h.key.len() + h.value.as_ref().map_or(0, Vec::len))
                    .sum::<usize>();
            if !chunk.is_empty() && bytes + size > limit {
                meta.extend(producer.send_batch(std::mem::take(&mut chunk))?);
                bytes = 0;
            }
            bytes += size;
            chunk.push(r);
        }
        meta.extend(producer.send_batch(chunk)?);
        let mut parts = self.syncs.parts.lock();
        let Some(s) = parts.get_mut(tp) else {
            return Ok(());
        };
        let mut points = Vec::new();
        for (so, m) in offsets.iter().zip(&meta) {
            points.extend(s.record(*so, m.offset()));
        }
        let snapshot = s.clone();
        self.syncs.write(tp, &snapshot, &points)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TopicConfig;

    /// Records copied to the target whose progress was lost (a crash between the two
    /// appends) are recognised and not copied again.
    #[test]
    fn unrecorded_copies_are_recognised_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let src = Broker::open(dir.path().join("s")).unwrap();
        let tgt = Broker::open(dir.path().join("t")).unwrap();
        src.create_topic("a", TopicConfig::new(1)).unwrap();
        let p = src.producer();
        for i in 0..10 {
            p.send(
                ProducerRecord::new("a")
                    .value(format!("v{i}"))
                    .timestamp(1000 + i),
            )
            .unwrap();
        }
        let m = Mirror::new(&src, &tgt, MirrorConfig::new("m", "a")).unwrap();
        let tp = TopicPartition::new("a", 0);
        assert_eq!(m.inner.prepare(&tp).unwrap(), 0);
        // Simulate: the first 4 records were copied, then the process died.
        let tp_out = tgt.producer();
        for i in 0..4 {
            tp_out
                .send(
                    ProducerRecord::new("a")
                        .partition(0)
                        .value(format!("v{i}"))
                        .timestamp(1000 + i),
                )
                .unwrap();
        }
        drop(m);
        let m = Mirror::new(&src, &tgt, MirrorConfig::new("m", "a")).unwrap();
        assert_eq!(
            m.inner.prepare(&tp).unwrap(),
            4,
            "resumes after the copied four"
        );
        // A foreign record on the target is refused.
        tp_out
            .send(ProducerRecord::new("a").partition(0).value("intruder"))
            .unwrap();
        let m = Mirror::new(&src, &tgt, MirrorConfig::new("m", "a")).unwrap();
        let e = m.inner.prepare(&tp).unwrap_err();
        assert!(e.to_string().contains("another writer"), "{e}");
    }
}
