//! The [`Broker`]: one data directory, its lock, its topics and their partitions, and
//! the background thread that serves them.

pub(crate) mod coordinator;
mod group_append;
mod maintenance;
pub(crate) mod meta;
pub(crate) mod offsets;
mod public_api;
mod repair;

pub use maintenance::MaintenanceReport;
pub use repair::RepairReport;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};

pub(crate) use group_append::{GroupAppender, append_split, record_size};

use coordinator::Groups;
use offsets::OffsetStore;

use crate::config::{ProducerConfig, TopicConfig};
use crate::error::{Error, Result};
use crate::producer::Producer;
use crate::record::TopicPartition;
use crate::storage::{Background, PartitionLog, io};

/// Prefix of internal topics (`__consumer_offsets`, ...), as in Kafka.
pub(crate) const INTERNAL_PREFIX: &str = "__";

/// A handle to an open data directory: Kafka's broker, in process. Cheap to clone
/// (`Arc` inside), `Send + Sync`; the directory is closed when [`close`](Broker::close)
/// is called or the last clone is dropped.
///
/// ```
/// use brooklet::{Broker, ProducerRecord, TopicConfig};
///
/// let dir = tempfile::tempdir().unwrap();
/// let broker = Broker::open(dir.path())?;
/// broker.create_topic("tweets", TopicConfig::new(4))?;
/// let producer = broker.producer();
/// let meta = producer.send(ProducerRecord::new("tweets").key("u1").value("hello"))?;
/// assert_eq!(meta.offset(), 0);
/// broker.close()?;
/// # Ok::<(), brooklet::Error>(())
/// ```
#[derive(Clone)]
pub struct Broker {
    inner: Arc<BrokerInner>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

pub(crate) struct BrokerInner {
    dir: PathBuf,
    lock_file: Mutex<Option<File>>,
    options: BrokerBuilder,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    /// Serialises topic creation, deletion and growth.
    admin: Mutex<()>,
    bg: Background,
    closed: AtomicBool,
    groups: Groups,
    offsets: Mutex<Option<Arc<OffsetStore>>>,
    report: OpenReport,
}

/// A topic and its open partitions.
pub(crate) struct Topic {
    pub(crate) name: Arc<str>,
    pub(crate) config: RwLock<TopicConfig>,
    pub(crate) partitions: RwLock<Arc<Vec<Arc<Partition>>>>,
}

/// One partition: its log (or the error that kept it from opening) and its shared
/// append queue.
pub(crate) struct Partition {
    log: std::result::Result<PartitionLog, Error>,
    pub(crate) appender: GroupAppender,
}

impl Partition {
    /// The log, or the error that kept it from opening (a damaged partition stays
    /// closed while every healthy one serves).
    pub(crate) fn log(&self) -> Result<&PartitionLog> {
        self.log.as_ref().map_err(Error::clone)
    }
}

/// What [`Broker::open`] found beyond what it could open cleanly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// Partitions that did not open, with the error each returns on use
    /// (`<topic>-<partition>`, message). Every other partition serves normally.
    pub failed_partitions: Vec<(TopicPartition, String)>,
    /// Topics whose metadata file was missing while their partition directories held
    /// records: rebuilt from the directories (see [`Broker::open`]).
    pub rebuilt_topics: Vec<String>,
    /// Deletions interrupted by a crash and finished at open.
    pub finished_deletions: Vec<String>,
    /// Anything else an operator should read.
    pub warnings: Vec<String>,
}

impl OpenReport {
    /// Whether the open found nothing to report.
    pub fn is_clean(&self) -> bool {
        self == &OpenReport::default()
    }
}

impl Topic {
    pub(crate) fn partitions(&self) -> Arc<Vec<Arc<Partition>>> {
        Arc::clone(&self.partitions.read())
    }
}

/// What [`Broker::describe_topic`] reports about one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    /// The partition number.
    pub partition: u32,
    /// First offset still in the log.
    pub log_start_offset: i64,
    /// The next offset to be written.
    pub log_end_offset: i64,
    /// Segments on disk.
    pub segments: usize,
    /// Bytes of batches on disk.
    pub size_bytes: u64,
    /// Why the partition did not open (it is offline; the offsets are -1), or `None`.
    pub error: Option<String>,
}

/// What [`Broker::describe_topic`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicDescription {
    /// The topic name.
    pub name: String,
    /// Whether it is an internal topic (`__` prefix).
    pub internal: bool,
    /// Its settings.
    pub config: TopicConfig,
    /// Its partitions, in order.
    pub partitions: Vec<PartitionDescription>,
}

/// Options for opening a [`Broker`].
///
/// ```
/// use brooklet::{Broker, TopicConfig};
/// let dir = tempfile::tempdir().unwrap();
/// let broker = Broker::builder(dir.path())
///     .auto_create_topics(true)
///     .default_topic_config(TopicConfig::new(3))
///     .open()?;
/// # Ok::<(), brooklet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BrokerBuilder {
    dir: PathBuf,
    auto_create_topics: bool,
    default_topic_config: TopicConfig,
    maintenance_interval: std::time::Duration,
}

impl BrokerBuilder {
    /// Create unknown topics on first use by a producer (Kafka's
    /// `auto.create.topics.enable`). Default: false (Kafka's default is true; an
    /// embedded log is better off refusing a typo than creating a topic for it).
    #[must_use]
    pub fn auto_create_topics(mut self, on: bool) -> Self {
        self.auto_create_topics = on;
        self
    }

    /// Settings of auto-created topics. Default: `TopicConfig::new(1)` (Kafka's
    /// `num.partitions` = 1).
    #[must_use]
    pub fn default_topic_config(mut self, c: TopicConfig) -> Self {
        self.default_topic_config = c;
        self
    }

    /// How often the background thread applies retention and compaction (Kafka's
    /// `log.retention.check.interval.ms`, 5 min, and the cleaner's 15 s backoff).
    /// `Duration::ZERO` turns it off ([`Broker::run_maintenance`] still works).
    /// Default: 30 s.
    #[must_use]
    pub fn maintenance_interval(mut self, d: std::time::Duration) -> Self {
        self.maintenance_interval = d;
        self
    }

    /// Opens the directory; see [`Broker::open`].
    ///
    /// # Errors
    /// As [`Broker::open`]; [`Error::InvalidConfig`] for a bad
    /// [`default_topic_config`](Self::default_topic_config).
    pub fn open(self) -> Result<Broker> {
        Broker::open_with(self)
    }
}

fn sync_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

impl Broker {
    /// Opens (or creates) a data directory with default options: takes its lock,
    /// recovers every partition, and starts the background thread.
    ///
    /// # Errors
    /// [`Error::Locked`] when another `Broker` (in this or another process) holds the
    /// directory; [`Error::Io`] when it cannot be created or read; [`Error::Corrupt`]
    /// when topic metadata or a sealed segment is damaged.
    pub fn open(dir: impl AsRef<Path>) -> Result<Broker> {
        Self::builder(dir).open()
    }

    /// Options for opening a directory.
    pub fn builder(dir: impl AsRef<Path>) -> BrokerBuilder {
        BrokerBuilder {
            dir: dir.as_ref().to_path_buf(),
            auto_create_topics: false,
            default_topic_config: TopicConfig::new(1),
            maintenance_interval: std::time::Duration::from_secs(30),
        }
    }

    fn open_with(options: BrokerBuilder) -> Result<Broker> {
        options.default_topic_config.validate()?;
        let dir = options.dir.clone();
        // Directories are created only when missing: on a full disk an existing
        // directory opens (and every record stays readable).
        create_dir_if_missing(&dir)?;
        let lock_file = lock_dir(&dir)?;
        let tdir = meta::topics_dir(&dir);
        create_dir_if_missing(&tdir)?;
        let bg = Background::new("brooklet-bg")?;
        let mut report = OpenReport::default();
        let mut topics = HashMap::new();
        // Deletions interrupted by a crash: their partition directories were marked
        // (renamed `<name>-<p>.<id>-delete`) before the metadata went.
        let marked = marked_for_deletion(&dir)?;
        for entry in io::read_dir(&tdir).map_err(sync_err(&tdir))? {
            let path = entry.map_err(sync_err(&tdir))?.path();
            let fname = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if fname.ends_with(".tmp") {
                // An interrupted metadata write: the rename never happened.
                let _ = io::remove_file(&path);
                continue;
            }
            if !fname.ends_with(".topic") {
                continue;
            }
            let bytes = io::read(&path).map_err(sync_err(&path))?;
            let text = String::from_utf8(bytes).map_err(|e| {
                Error::corrupt(
                    &path,
                    e.utf8_error().valid_up_to() as u64,
                    "topic metadata is not valid UTF-8",
                )
            })?;
            let (name, config) = meta::decode(&path, &text)?;
            // The file is `<name>.topic`: another file claiming the same name (copied in
            // by hand) would open the same partition files twice.
            if fname != format!("{name}.topic") || topics.contains_key(&name) {
                return Err(Error::corrupt(
                    &path,
                    0,
                    format!(
                        "metadata for topic `{name}` is not in `{name}.topic` or is duplicated; remove the stray file"
                    ),
                ));
            }
            if marked.iter().any(|(t, _)| t == &name) {
                // The user asked for the deletion; finish it.
                finish_deletion(&dir, &name, config.partitions)?;
                report.finished_deletions.push(name);
                continue;
            }
            let topic = open_topic(&dir, &name, config, &bg, true, &mut report)?;
            topics.insert(name, Arc::new(topic));
        }
        for (_, path) in marked_for_deletion(&dir)? {
            io::remove_dir_all(&path).map_err(sync_err(&path))?;
        }
        adopt_orphan_partitions(&dir, &mut topics, &bg, &mut report)?;
        let interval = options.maintenance_interval;
        let broker = Broker {
            inner: Arc::new(BrokerInner {
                dir,
                lock_file: Mutex::new(Some(lock_file)),
                options,
                topics: RwLock::new(topics),
                admin: Mutex::new(()),
                bg,
                closed: AtomicBool::new(false),
                groups: Groups::default(),
                offsets: Mutex::new(None),
                report,
            }),
        };
        if !interval.is_zero() {
            let weak = Arc::downgrade(&broker.inner);
            broker
                .inner
                .bg
                .every(interval, move || match weak.upgrade() {
                    Some(inner) => {
                        // Failures are retried on the next pass; a poisoned partition
                        // reports itself to producers.
                        let _ = Broker { inner }.run_maintenance();
                        true
                    }
                    None => false,
                });
        }
        Ok(broker)
    }

    /// What opening found: partitions that did not open (each returns its error on
    /// use while the rest serve), topics rebuilt from their partition directories,
    /// deletions finished, and warnings.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let broker = brooklet::Broker::open(dir.path())?;
    /// assert!(broker.open_report().is_clean());
    /// # Ok::<(), brooklet::Error>(())
    /// ```
    pub fn open_report(&self) -> &OpenReport {
        &self.inner.report
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.inner.bg.is_poisoned() {
            return Err(Error::Poisoned {
                partition: None,
                reason: "a background task panicked".into(),
            });
        }
        Ok(())
    }

    /// Creates a topic. Names follow Kafka's rules (`[a-zA-Z0-9._-]`, not `.` or `..`,
    /// not equal to an existing topic's once `.` is read as `_`); names starting with
    /// `__` are reserved for internal topics. Kafka allows 249 characters; brooklet
    /// allows 204, so that every file it names after the topic fits the file system's
    /// 255-byte limit.
    /// The topic is crash-safe: after a crash at any instant it exists whole or not at
    /// all.
    ///
    /// # Errors
    /// [`Error::InvalidTopicName`] for a name that breaks these rules (the reason says
    /// which, with the limit or the colliding topic), [`Error::TopicExists`],
    /// [`Error::InvalidConfig`] for a bad config, [`Error::IllegalState`] when a
    /// leftover partition directory of that name still holds records, [`Error::Io`],
    /// [`Error::Closed`].
    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        meta::validate_name(name)?;
        if name.starts_with(INTERNAL_PREFIX) {
            return Err(Error::InvalidTopicName {
                name: name.to_string(),
                reason: "names starting with `__` are reserved for internal topics".into(),
            });
        }
        self.create_topic_unchecked(name, config)
    }

    /// Creates a topic without the internal-name rule (for internal topics).
    pub(crate) fn create_topic_unchecked(&self, name: &str, config: TopicConfig) -> Result<()> {
        self.check_open()?;
        meta::validate_stored_name(name)?;
        config.validate()?;
        let _admin = self.inner.admin.lock();
        {
            let topics = self.inner.topics.read();
            if topics.contains_key(name) {
                return Err(Error::TopicExists {
                    topic: name.to_string(),
                });
            }
            // Kafka's InvalidTopicException: "Topic 'x_y' collides with existing
            // topics: x.y" (Topic.hasCollision).
            let mut colliding: Vec<&str> = topics
                .keys()
                .map(String::as_str)
                .filter(|t| meta::collides(t, name))
                .collect();
            if !colliding.is_empty() {
                colliding.sort_unstable();
                return Err(Error::InvalidTopicName {
                    name: name.to_string(),
                    reason: format!(
                        "`{name}` collides with existing topic `{}`: names that differ only in `.` versus `_` are refused, as in Kafka (their metric names would be the same)",
                        colliding.join("`, `")
                    ),
                });
            }
        }
        // Leftovers of a deletion interrupted by a crash must not leak into the new
        // topic: remove them before the metadata makes the topic exist.
        for entry in io::read_dir(&self.inner.dir).map_err(sync_err(&self.inner.dir))? {
            let entry = entry.map_err(sync_err(&self.inner.dir))?;
            let fname = entry.file_name().to_string_lossy().into_owned();
            let leftover = fname
                .rsplit_once('-')
                .is_some_and(|(t, p)| t == name && p.parse::<u32>().is_ok());
            if leftover {
                let pdir = entry.path();
                if holds_records(&pdir) {
                    return Err(Error::IllegalState(format!(
                        "directory `{}` holds records but belongs to no topic; move it away or reopen the broker to adopt it",
                        pdir.display()
                    )));
                }
                io::remove_dir_all(&pdir).map_err(sync_err(&pdir))?;
            }
        }
        // Partitions first, metadata last: the durable metadata file is the commit
        // point. If allocating a partition fails (a full disk) nothing was committed and
        // the directories are removed; a crash before the commit leaves orphan
        // directories, which opening removes.
        let topic = match open_topic(
            &self.inner.dir,
            name,
            config.clone(),
            &self.inner.bg,
            false,
            &mut OpenReport::default(),
        )
        .and_then(|t| meta::write(&self.inner.dir, name, &config).map(|()| t))
        .and_then(|t| {
            (0..config.partitions)
                .try_for_each(|p| clear_creating_marker(&partition_dir(&self.inner.dir, name, p)))
                .map(|()| t)
        }) {
            Ok(t) => t,
            Err(e) => {
                // The metadata may have been renamed in before its directory sync
                // failed: the topic must not appear at the next open.
                let _ = meta::remove(&self.inner.dir, name);
                for p in 0..config.partitions {
                    let _ = io::remove_dir_all(&partition_dir(&self.inner.dir, name, p));
                }
                return Err(e);
            }
        };
        self.inner
            .topics
            .write()
            .insert(name.to_string(), Arc::new(topic));
        Ok(())
    }

    /// Deletes a topic and its data. Consumers reading it keep their current batches
    /// (mappings outlive the files) and then find the topic gone; producers get
    /// [`Error::UnknownTopic`].
    ///
    /// # Errors
    /// [`Error::UnknownTopic`]; [`Error::InvalidArgument`] for internal topics;
    /// [`Error::Io`]; [`Error::Closed`].
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        self.check_open()?;
        if name.starts_with(INTERNAL_PREFIX) {
            return Err(Error::InvalidArgument(format!(
                "internal topic `{name}` cannot be deleted"
            )));
        }
        let _admin = self.inner.admin.lock();
        let topic = self
            .inner
            .topics
            .write()
            .remove(name)
            .ok_or_else(|| Error::UnknownTopic {
                topic: name.to_string(),
            })?;
        // As Kafka: each partition directory is first renamed `<name>-<p>.<id>-delete`
        // (durably), then the metadata goes, then the marked directories. Opening
        // removes only marked directories, so a directory that lost its metadata any
        // other way is never taken for garbage.
        for part in topic.partitions().iter() {
            if let Ok(log) = part.log() {
                let _ = log.close();
            }
        }
        finish_deletion(&self.inner.dir, name, topic.partitions().len() as u32)
    }

    /// Names of the user topics, sorted (internal topics are left out, as Kafka's
    /// `listTopics` does by default).
    pub fn list_topics(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .inner
            .topics
            .read()
            .keys()
            .filter(|n| !n.starts_with(INTERNAL_PREFIX))
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Partitions, offsets, sizes and settings of a topic.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`].
    pub fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        let topic = self.topic(name)?;
        let partitions = topic
            .partitions()
            .iter()
            .enumerate()
            .map(|(i, p)| match p.log() {
                Ok(log) => PartitionDescription {
                    partition: i as u32,
                    log_start_offset: log.log_start_offset(),
                    log_end_offset: log.log_end_offset(),
                    segments: log.segment_count(),
                    size_bytes: log.size_bytes(),
                    error: None,
                },
                Err(e) => PartitionDescription {
                    partition: i as u32,
                    log_start_offset: -1,
                    log_end_offset: -1,
                    segments: 0,
                    size_bytes: 0,
                    error: Some(e.to_string()),
                },
            })
            .collect();
        let config = topic.config.read().clone();
        Ok(TopicDescription {
            name: topic.name.to_string(),
            internal: topic.name.starts_with(INTERNAL_PREFIX),
            config,
            partitions,
        })
    }

    /// Grows a topic to `total` partitions (Kafka's `createPartitions`; partitions can
    /// only be added). Keys that hashed to an old partition may map to a new one from
    /// now on, exactly as in Kafka.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`]; [`Error::InvalidArgument`] when `total` is not larger
    /// than the current count, or for an internal topic (`__consumer_offsets`: Kafka
    /// refuses it too); [`Error::InvalidConfig`] for more partitions than supported;
    /// [`Error::Io`]; [`Error::Closed`].
    pub fn create_partitions(&self, name: &str, total: u32) -> Result<()> {
        self.check_open()?;
        if name.starts_with(INTERNAL_PREFIX) {
            // As Kafka's TopicCommand: a group's offsets partition is its id's hash
            // modulo the count, so a new count strands every group's commits.
            return Err(Error::InvalidArgument(format!(
                "the number of partitions of internal topic `{name}` cannot be changed"
            )));
        }
        let _admin = self.inner.admin.lock();
        let topic = self.topic(name)?;
        let mut config = topic.config.read().clone();
        if total <= config.partitions {
            return Err(Error::InvalidArgument(format!(
                "topic `{name}` has {} partitions; the new count must be larger (partitions cannot be removed)",
                config.partitions
            )));
        }
        config.partitions = total;
        config.validate()?;
        let mut parts = Vec::clone(&topic.partitions());
        let old = parts.len() as u32;
        // New partitions first, metadata last (the commit point), as in create_topic.
        let opened = (old..total)
            .map(|p| open_partition(&self.inner.dir, name, p, &config, &self.inner.bg, false))
            .collect::<Result<Vec<_>>>()
            .and_then(|v| meta::write(&self.inner.dir, name, &config).map(|()| v))
            .and_then(|v| {
                (old..total)
                    .try_for_each(|p| {
                        clear_creating_marker(&partition_dir(&self.inner.dir, name, p))
                    })
                    .map(|()| v)
            });
        match opened {
            Ok(v) => parts.extend(v.into_iter().map(Arc::new)),
            Err(e) => {
                // The metadata may have been renamed in before its directory sync
                // failed: put the old count back so a restart does not grow the topic.
                let _ = meta::write(&self.inner.dir, name, &topic.config.read());
                for p in old..total {
                    let _ = io::remove_dir_all(&partition_dir(&self.inner.dir, name, p));
                }
                return Err(e);
            }
        }
        *topic.partitions.write() = Arc::new(parts);
        *topic.config.write() = config;
        Ok(())
    }

    /// A producer with default settings.
    pub fn producer(&self) -> Producer {
        Producer::new(self.clone(), ProducerConfig::default())
    }

    /// A producer with `config`. This cannot fail: a configuration out of Kafka's
    /// ranges (see [`ProducerConfig::validate`]) makes every send fail with
    /// [`Error::InvalidConfig`] naming the setting.
    pub fn producer_with(&self, config: ProducerConfig) -> Producer {
        Producer::new(self.clone(), config)
    }

    pub(crate) fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.inner
            .topics
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownTopic {
                topic: name.to_string(),
            })
    }

    /// The topic, created with the default config when auto-creation is on.
    pub(crate) fn topic_for_produce(&self, name: &str) -> Result<Arc<Topic>> {
        match self.topic(name) {
            Err(Error::UnknownTopic { .. }) if self.inner.options.auto_create_topics => {
                let cfg = self.inner.options.default_topic_config.clone();
                match self.create_topic(name, cfg) {
                    Ok(()) | Err(Error::TopicExists { .. }) => self.topic(name),
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    }

    /// The log of one partition.
    pub(crate) fn partition(&self, tp: &TopicPartition) -> Result<Arc<Partition>> {
        let topic = self.topic(tp.topic())?;
        let parts = topic.partitions();
        parts
            .get(tp.partition() as usize)
            .cloned()
            .ok_or_else(|| Error::UnknownPartition {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
                partitions: parts.len() as u32,
            })
    }

    /// Direct access to one partition's log, for reads below the client API
    /// (zero-copy batch reads, timestamps) and tooling.
    ///
    /// Only with the `internals` feature, which is unsupported and unstable: appends,
    /// truncations and deletions through the returned log bypass the broker's
    /// guarantees (see the crate docs).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`], [`Error::UnknownPartition`]; the partition's
    /// [`Error::Corrupt`] when it did not open (see [`Broker::open_report`]).
    #[cfg(feature = "internals")]
    pub fn partition_log(&self, topic: &str, partition: u32) -> Result<PartitionLog> {
        self.partition_log_inner(topic, partition)
    }
    /// Without `internals`: the same, for the crate only.
    #[cfg(not(feature = "internals"))]
    pub(crate) fn partition_log(&self, topic: &str, partition: u32) -> Result<PartitionLog> {
        self.partition_log_inner(topic, partition)
    }

    fn partition_log_inner(&self, topic: &str, partition: u32) -> Result<PartitionLog> {
        Ok(self
            .partition(&TopicPartition::new(topic, partition))?
            .log()?
            .clone())
    }

    /// Number of partitions of a topic.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`].
    pub fn partition_count(&self, topic: &str) -> Result<u32> {
        Ok(self.topic(topic)?.partitions().len() as u32)
    }

    pub(crate) fn groups(&self) -> &Groups {
        &self.inner.groups
    }

    /// The committed-offsets store, opened (and `__consumer_offsets` created and
    /// replayed) on first use.
    pub(crate) fn offset_store(&self) -> Result<Arc<OffsetStore>> {
        let mut slot = self.inner.offsets.lock();
        if let Some(s) = slot.as_ref() {
            return Ok(Arc::clone(s));
        }
        self.check_open()?;
        let store = Arc::new(OffsetStore::open(self)?);
        *slot = Some(Arc::clone(&store));
        Ok(store)
    }

    /// Whether `__consumer_offsets` exists (so groups may have committed offsets).
    pub(crate) fn has_offsets_topic(&self) -> bool {
        self.inner
            .topics
            .read()
            .contains_key(offsets::OFFSETS_TOPIC)
    }

    pub(crate) fn all_topics(&self) -> Vec<Arc<Topic>> {
        self.inner.topics.read().values().cloned().collect()
    }

    /// Forces every partition to stable storage.
    ///
    /// # Errors
    /// [`Error::Poisoned`] when a flush fails (sticky per partition).
    pub fn flush(&self) -> Result<()> {
        let topics: Vec<Arc<Topic>> = self.inner.topics.read().values().cloned().collect();
        for t in topics {
            // A partition that failed to open holds nothing unflushed.
            for log in t.partitions().iter().filter_map(|p| p.log().ok()) {
                log.flush()?;
            }
        }
        Ok(())
    }

    /// Flushes and closes every partition (writing clean-shutdown markers), stops the
    /// background thread and releases the directory lock. Later calls on any clone
    /// return [`Error::Closed`]; dropping the last clone closes too.
    ///
    /// # Errors
    /// The first [`Error::Io`] met while closing partitions (the rest are still closed).
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }
}

impl BrokerInner {
    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let _admin = self.admin.lock();
        let mut first_err = None;
        for t in self.topics.read().values() {
            for p in t.partitions().iter() {
                if let Ok(log) = p.log()
                    && let Err(e) = log.close()
                {
                    first_err.get_or_insert(e);
                }
            }
        }
        self.bg.shutdown();
        if let Some(f) = self.lock_file.lock().take() {
            let _ = f.unlock();
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for BrokerInner {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

pub(crate) fn partition_dir(dir: &Path, topic: &str, p: u32) -> PathBuf {
    dir.join(format!("{topic}-{p}"))
}

fn open_partition(
    dir: &Path,
    topic: &str,
    p: u32,
    config: &TopicConfig,
    bg: &Background,
    must_exist: bool,
) -> Result<Partition> {
    let pdir = partition_dir(dir, topic, p);
    if must_exist && !io::exists(&pdir).map_err(sync_err(&pdir))? {
        // Topics are created directories first, metadata last: a partition the
        // metadata lists was on disk. Creating it empty would hide the loss.
        return Err(Error::corrupt(
            &pdir,
            0,
            format!(
                "partition directory of `{topic}` partition {p} is missing (its records are lost unless it is restored)"
            ),
        ));
    }
    if must_exist {
        // A marker left by a create that committed but crashed before removing it.
        clear_creating_marker(&pdir)?;
    } else {
        // Until the metadata commits the topic, this marker says the directory is a
        // creation in progress: opening removes such an orphan (it holds no record),
        // while an orphan without it is adopted, never deleted.
        create_dir_if_missing(&pdir)?;
        let marker = pdir.join(CREATING);
        io::write(&marker, b"").map_err(sync_err(&marker))?;
    }
    let log = PartitionLog::open_with(pdir, config.log_config(), bg)?;
    Ok(Partition {
        log: Ok(log),
        appender: GroupAppender::default(),
    })
}

/// Marks a partition directory whose topic (or growth) is not committed yet.
const CREATING: &str = ".creating";

/// Removes the creation marker of a committed partition.
fn clear_creating_marker(pdir: &Path) -> Result<()> {
    let marker = pdir.join(CREATING);
    match io::remove_file(&marker) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&marker, e)),
    }
}

/// Opens a topic's partitions. At broker open (`existing`), a partition that is
/// damaged (`Corrupt`) or missing is kept as a failed partition, listed in `report`,
/// and every other partition opens; any other error, and any error when creating a
/// topic, fails the call.
fn open_topic(
    dir: &Path,
    name: &str,
    config: TopicConfig,
    bg: &Background,
    existing: bool,
    report: &mut OpenReport,
) -> Result<Topic> {
    let mut parts = Vec::with_capacity(config.partitions as usize);
    for p in 0..config.partitions {
        match open_partition(dir, name, p, &config, bg, existing) {
            Ok(part) => parts.push(Arc::new(part)),
            Err(e @ Error::Corrupt { .. }) if existing => {
                report
                    .failed_partitions
                    .push((TopicPartition::new(name, p), e.to_string()));
                parts.push(Arc::new(Partition {
                    log: Err(e),
                    appender: GroupAppender::default(),
                }));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Topic {
        name: Arc::from(name),
        config: RwLock::new(config),
        partitions: RwLock::new(Arc::new(parts)),
    })
}

/// `(topic, path)` of every partition directory marked for deletion
/// (`<topic>-<p>.<32 hex digits>-delete`, Kafka's naming).
fn marked_for_deletion(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in io::read_dir(dir).map_err(sync_err(dir))? {
        let entry = entry.map_err(sync_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix("-delete") else {
            continue;
        };
        let Some((tp, id)) = stem.rsplit_once('.') else {
            continue;
        };
        let Some((topic, p)) = tp.rsplit_once('-') else {
            continue;
        };
        if id.len() == 32
            && id.bytes().all(|b| b.is_ascii_hexdigit())
            && p.parse::<u32>().is_ok()
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            out.push((topic.to_string(), entry.path()));
        }
    }
    Ok(out)
}

/// A fresh 32-hex-digit id for a deletion mark (random keys of the standard hasher,
/// the time and the process id: unique enough for names in one directory).
fn deletion_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut id = String::with_capacity(32);
    for salt in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        h.write_u64(salt);
        id.push_str(&format!("{:016x}", h.finish()));
    }
    id
}

/// Deletes topic `name` as Kafka does: marks each partition directory (renamed
/// `<name>-<p>.<id>-delete`, durably), removes the metadata, then the marked
/// directories. Idempotent: finishes a deletion a crash interrupted.
fn finish_deletion(dir: &Path, name: &str, partitions: u32) -> Result<()> {
    for p in 0..partitions {
        let pdir = partition_dir(dir, name, p);
        if io::exists(&pdir).map_err(sync_err(&pdir))? {
            let marked = dir.join(format!("{name}-{p}.{}-delete", deletion_id()));
            io::rename(&pdir, &marked).map_err(sync_err(&pdir))?;
        }
    }
    meta::sync_dir(dir)?;
    match meta::remove(dir, name) {
        Ok(()) => {}
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    for (topic, path) in marked_for_deletion(dir)? {
        if topic == name {
            io::remove_dir_all(&path).map_err(sync_err(&path))?;
        }
    }
    Ok(())
}

/// Whether a partition directory holds a `.log` file (every opened log has one).
fn has_segment(pdir: &Path) -> bool {
    io::read_dir(pdir).map_or(true, |entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".log"))
    })
}

/// Whether a partition directory holds any record: a `.log` file with a non-zero byte
/// in its first page (a batch starts at byte 0 of every non-empty segment; what a
/// crashed `create_topic` leaves is empty or preallocated zeros).
fn holds_records(pdir: &Path) -> bool {
    let Ok(entries) = io::read_dir(pdir) else {
        // Unreadable: assume the worst and keep it.
        return true;
    };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.ends_with(".log")
            && io::read(&e.path()).map_or(true, |b| b.iter().take(4096).any(|&x| x != 0))
    })
}

/// Partition directories (`<topic>-<p>` holding only brooklet's files) that no
/// metadata lists. Without records they are what a crashed `create_topic` or
/// `create_partitions` left, and are removed. With records they are never deleted:
/// the metadata is rebuilt from them (partition count from the directories, default
/// settings with retention off, so nothing is deleted before an operator reviews it)
/// and a warning goes into the open report.
fn adopt_orphan_partitions(
    dir: &Path,
    topics: &mut HashMap<String, Arc<Topic>>,
    bg: &Background,
    report: &mut OpenReport,
) -> Result<()> {
    let mut orphans: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for entry in io::read_dir(dir).map_err(sync_err(dir))? {
        let entry = entry.map_err(sync_err(dir))?;
        if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((topic, p)) = name.rsplit_once('-') else {
            continue;
        };
        let Ok(p) = p.parse::<u32>() else { continue };
        if p.to_string() != name.rsplit_once('-').map_or("", |x| x.1) {
            continue;
        }
        let known = topics
            .get(topic)
            .is_some_and(|t| (p as usize) < t.partitions().len());
        // Anything not made of brooklet's own files (an operator's `backup-1`) is
        // left alone.
        if known || meta::validate_name(topic).is_err() || !only_partition_files(&entry.path()) {
            continue;
        }
        let creating = io::exists(&entry.path().join(CREATING)).map_err(sync_err(dir))?;
        if (creating || !has_segment(&entry.path())) && !holds_records(&entry.path()) {
            // What a crashed `create_topic` or `create_partitions` left.
            io::remove_dir_all(&entry.path()).map_err(sync_err(dir))?;
        } else {
            orphans.entry(topic.to_string()).or_default().push(p);
        }
    }
    for (name, parts) in orphans {
        let count = parts.iter().max().map_or(0, |&m| m + 1);
        let config = match topics.get(&name) {
            Some(t) => {
                let mut c = t.config.read().clone();
                report.warnings.push(format!(
                    "topic `{name}` had {} partitions in its metadata but directories up to partition {}; grown to {count}",
                    c.partitions,
                    count - 1
                ));
                c.partitions = count;
                c
            }
            None if name == offsets::OFFSETS_TOPIC => offsets::offsets_topic_config(count),
            None => TopicConfig::new(count)
                .retention_ms(None)
                .retention_bytes(None),
        };
        let missing: Vec<u32> = (0..count).filter(|p| !parts.contains(p)).collect();
        if !missing.is_empty() {
            report.warnings.push(format!(
                "topic `{name}`: partitions {missing:?} had no directory and were created empty"
            ));
        }
        for &p in &missing {
            let pdir = partition_dir(dir, &name, p);
            if !io::exists(&pdir).map_err(sync_err(&pdir))? {
                io::create_dir_all(&pdir).map_err(sync_err(&pdir))?;
            }
        }
        meta::write(dir, &name, &config)?;
        if !topics.contains_key(&name) {
            report.rebuilt_topics.push(name.clone());
            report.warnings.push(format!(
                "topic `{name}` had no metadata file; rebuilt with {count} partitions from its directories and default settings with retention off: review them"
            ));
        }
        let topic = open_topic(dir, &name, config, bg, true, report)?;
        topics.insert(name, Arc::new(topic));
    }
    Ok(())
}

/// Whether every entry of `dir` is a file brooklet writes in a partition directory.
fn only_partition_files(dir: &Path) -> bool {
    let Ok(entries) = io::read_dir(dir) else {
        return false;
    };
    entries.flatten().all(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let name = name
            .strip_suffix(".tmp")
            .or_else(|| name.strip_suffix(".cleaned"))
            .unwrap_or(&name)
            .to_string();
        let segment_file = name.split_once('.').is_some_and(|(stem, ext)| {
            stem.len() == 20
                && stem.bytes().all(|b| b.is_ascii_digit())
                && matches!(ext, "log" | "index" | "timeindex")
        });
        segment_file
            || matches!(
                name.as_str(),
                ".clean-shutdown"
                    | ".creating"
                    | "log-start-offset"
                    | "recovery-point"
                    | "cleaner-offset-checkpoint"
                    | "compaction.swap"
            )
    })
}

fn create_dir_if_missing(dir: &Path) -> Result<()> {
    if !io::exists(dir).map_err(sync_err(dir))? {
        io::create_dir_all(dir).map_err(sync_err(dir))?;
    }
    Ok(())
}

/// Takes the directory's exclusive lock and records our pid in it.
fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(".lock");
    let creates = !io::exists(&path).map_err(sync_err(&path))?;
    let mut f = io::open_with(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
        creates,
        &path,
    )
    .map_err(sync_err(&path))?;
    io::check(io::Op::Plain).map_err(sync_err(&path))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            let pid = s.trim().parse::<u32>().ok();
            let holder = match pid {
                Some(p) if p == std::process::id() => {
                    format!("another Broker in this process ({p})")
                }
                Some(p) => format!("process {p}"),
                None => "another process".to_string(),
            };
            return Err(Error::Locked {
                dir: dir.to_path_buf(),
                holder,
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    // The pid only names the holder in `Locked` messages: on a full disk the lock is
    // held without it.
    match io::set_len(&f, 0)
        .and_then(|_| f.rewind())
        .and_then(|_| io::write_all(&mut f, std::process::id().to_string().as_bytes()))
    {
        Ok(()) => {}
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) => {}
        Err(e) => return Err(Error::io(&path, e)),
    }
    Ok(f)
}
