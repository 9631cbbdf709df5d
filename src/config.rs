//! Topic and producer settings, with Kafka's defaults where Kafka has one.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::{Compression, TimestampType};
use crate::storage::{FlushPolicy, LogConfig, TopicCompression};

/// Refuses a duration longer than `max_ms` milliseconds: Kafka's time settings are INT
/// (`i32::MAX` ms, about 24.8 days) or LONG (`i64::MAX` ms) milliseconds, and longer
/// ones could not be stored in a topic file nor added to a clock without overflowing.
pub(crate) fn check_ms(d: Duration, max_ms: u64, setting: &'static str, kafka: &str) -> Result<()> {
    if d.as_millis() > u128::from(max_ms) {
        return Err(Error::InvalidConfig {
            setting,
            reason: format!(
                "{setting} of {d:?} is longer than the {max_ms} ms Kafka's `{kafka}` holds"
            ),
        });
    }
    Ok(())
}

/// `i32::MAX` milliseconds: the longest value of a Kafka INT time setting.
const INT_MS: u64 = i32::MAX as u64;
/// `i64::MAX` milliseconds: the longest value of a Kafka LONG time setting.
pub(crate) const LONG_MS: u64 = i64::MAX as u64;

/// Kafka's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CleanupPolicy {
    /// Delete old segments by time and size (Kafka's default).
    #[default]
    Delete,
    /// Keep the latest record per key.
    Compact,
    /// Both: compact, and delete segments past retention.
    CompactDelete,
}

impl CleanupPolicy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "delete" => Some(CleanupPolicy::Delete),
            "compact" => Some(CleanupPolicy::Compact),
            "compact,delete" | "delete,compact" => Some(CleanupPolicy::CompactDelete),
            _ => None,
        }
    }
}

/// A topic's settings (Kafka's topic configs).
///
/// ```
/// use brooklet::{CleanupPolicy, TopicConfig};
/// use std::time::Duration;
/// let cfg = TopicConfig::new(4)
///     .retention_ms(Some(Duration::from_secs(3600)))
///     .cleanup_policy(CleanupPolicy::Delete);
/// assert_eq!(cfg.partitions(), 4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    pub(crate) partitions: u32,
    pub(crate) segment_bytes: u64,
    pub(crate) segment_ms: Duration,
    pub(crate) retention_ms: Option<Duration>,
    pub(crate) retention_bytes: Option<u64>,
    pub(crate) cleanup_policy: CleanupPolicy,
    pub(crate) max_message_bytes: u32,
    pub(crate) flush: FlushPolicy,
    pub(crate) timestamp_type: TimestampType,
    pub(crate) index_interval_bytes: u32,
    pub(crate) delete_retention_ms: Duration,
    pub(crate) min_cleanable_dirty_ratio: f64,
    pub(crate) min_compaction_lag_ms: Duration,
    pub(crate) compression_type: TopicCompression,
}

impl TopicConfig {
    /// A topic of `partitions` partitions with default settings.
    pub fn new(partitions: u32) -> Self {
        let log = LogConfig::default();
        TopicConfig {
            partitions,
            segment_bytes: log.segment_bytes,
            segment_ms: log.segment_ms,
            retention_ms: Some(Duration::from_secs(7 * 24 * 3600)),
            retention_bytes: None,
            cleanup_policy: CleanupPolicy::Delete,
            max_message_bytes: log.max_message_bytes,
            flush: FlushPolicy::Os,
            timestamp_type: TimestampType::CreateTime,
            index_interval_bytes: log.index_interval_bytes,
            delete_retention_ms: Duration::from_secs(24 * 3600),
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: Duration::ZERO,
            compression_type: TopicCompression::Producer,
        }
    }

    /// Number of partitions.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }
    /// `segment.bytes`.
    pub fn get_segment_bytes(&self) -> u64 {
        self.segment_bytes
    }
    /// `segment.ms`.
    pub fn get_segment_ms(&self) -> Duration {
        self.segment_ms
    }
    /// `retention.ms` (`None`: forever).
    pub fn get_retention_ms(&self) -> Option<Duration> {
        self.retention_ms
    }
    /// `retention.bytes` (`None`: no limit).
    pub fn get_retention_bytes(&self) -> Option<u64> {
        self.retention_bytes
    }
    /// `cleanup.policy`.
    pub fn get_cleanup_policy(&self) -> CleanupPolicy {
        self.cleanup_policy
    }
    /// `max.message.bytes`.
    pub fn get_max_message_bytes(&self) -> u32 {
        self.max_message_bytes
    }
    /// The durability policy.
    pub fn get_flush(&self) -> FlushPolicy {
        self.flush
    }
    /// `message.timestamp.type`.
    pub fn get_message_timestamp_type(&self) -> TimestampType {
        self.timestamp_type
    }
    /// `compression.type`.
    pub fn get_compression_type(&self) -> TopicCompression {
        self.compression_type
    }

    /// Segment file size (`segment.bytes`). Default: 64 MiB; Kafka's 1 GiB is
    /// preallocated per partition, too much for an embedded log. Range: 1024 bytes to
    /// `i32::MAX` (Kafka's INT, whose index positions are 32-bit); Kafka 4 asks for at
    /// least 1 MiB, brooklet allows small segments for small logs and tests. Others
    /// fail `create_topic` with [`Error::InvalidConfig`].
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }
    /// Roll segments older than this (`segment.ms`). Default: 7 days. Kafka's range:
    /// 1 ms to `i64::MAX` ms; others fail `create_topic` with
    /// [`Error::InvalidConfig`].
    #[must_use]
    pub fn segment_ms(mut self, d: Duration) -> Self {
        self.segment_ms = d;
        self
    }
    /// Delete segments older than this (`retention.ms`); `None` keeps them forever
    /// (Kafka's -1). Default: 7 days. At most `i64::MAX` ms (Kafka's LONG), or
    /// `create_topic` fails with [`Error::InvalidConfig`].
    #[must_use]
    pub fn retention_ms(mut self, d: Option<Duration>) -> Self {
        self.retention_ms = d;
        self
    }
    /// Delete old segments beyond this many bytes per partition (`retention.bytes`).
    /// Default: `None` (no limit, Kafka's -1). Any value is accepted, as Kafka's
    /// `retention.bytes` has no validator.
    #[must_use]
    pub fn retention_bytes(mut self, bytes: Option<u64>) -> Self {
        self.retention_bytes = bytes;
        self
    }
    /// `cleanup.policy`. Default: delete.
    #[must_use]
    pub fn cleanup_policy(mut self, p: CleanupPolicy) -> Self {
        self.cleanup_policy = p;
        self
    }
    /// Largest record batch (`max.message.bytes`). Default: 1,048,588. Kafka allows 0;
    /// brooklet refuses it ([`Error::InvalidConfig`] from `create_topic`) because no
    /// batch, not even an empty one, would fit.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: u32) -> Self {
        self.max_message_bytes = bytes;
        self
    }
    /// Durability policy. Default: [`FlushPolicy::Os`], as Kafka.
    #[must_use]
    pub fn flush(mut self, p: FlushPolicy) -> Self {
        self.flush = p;
        self
    }
    /// `message.timestamp.type`. Default: CreateTime.
    #[must_use]
    pub fn message_timestamp_type(mut self, t: TimestampType) -> Self {
        self.timestamp_type = t;
        self
    }
    /// `index.interval.bytes`. Default: 4096. Kafka allows 0 (an index entry per
    /// batch); brooklet needs at least 1, which means the same, and refuses 0 with
    /// [`Error::InvalidConfig`] from `create_topic`.
    #[must_use]
    pub fn index_interval_bytes(mut self, bytes: u32) -> Self {
        self.index_interval_bytes = bytes;
        self
    }
    /// How long tombstones survive compaction (`delete.retention.ms`). Default: 1 day.
    /// At most `i64::MAX` ms (Kafka's LONG).
    #[must_use]
    pub fn delete_retention_ms(mut self, d: Duration) -> Self {
        self.delete_retention_ms = d;
        self
    }
    /// `min.cleanable.dirty.ratio`. Default: 0.5. Kafka's range: 0 to 1.
    #[must_use]
    pub fn min_cleanable_dirty_ratio(mut self, r: f64) -> Self {
        self.min_cleanable_dirty_ratio = r;
        self
    }
    /// `min.compaction.lag.ms`. Default: 0. At most `i64::MAX` ms (Kafka's LONG).
    #[must_use]
    pub fn min_compaction_lag_ms(mut self, d: Duration) -> Self {
        self.min_compaction_lag_ms = d;
        self
    }
    /// `compression.type`: how the topic stores batches. Default:
    /// [`TopicCompression::Producer`], Kafka's: each batch as the producer compressed it
    /// ([`ProducerConfig::compression`]). A codec (or
    /// [`TopicCompression::Uncompressed`]) makes every partition store its batches with
    /// it, at the codec's default level, recompressing batches that came with another,
    /// as Kafka's broker does. `max_message_bytes` applies to the batch as stored.
    ///
    /// ```
    /// use brooklet::{TopicCompression, TopicConfig};
    /// let cfg = TopicConfig::new(1).compression_type(TopicCompression::Zstd);
    /// assert_eq!(cfg.get_compression_type(), TopicCompression::Zstd);
    /// ```
    #[must_use]
    pub fn compression_type(mut self, c: TopicCompression) -> Self {
        self.compression_type = c;
        self
    }

    /// The storage settings of each partition.
    pub(crate) fn log_config(&self) -> LogConfig {
        LogConfig {
            segment_bytes: self.segment_bytes,
            segment_ms: self.segment_ms,
            index_interval_bytes: self.index_interval_bytes,
            flush: self.flush,
            timestamp_type: self.timestamp_type,
            max_message_bytes: self.max_message_bytes,
            compression: self.compression_type,
            ..LogConfig::default()
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.partitions == 0 {
            return Err(crate::Error::InvalidConfig {
                setting: "partitions",
                reason: "a topic needs at least one partition".into(),
            });
        }
        if self.partitions > 100_000 {
            return Err(crate::Error::InvalidConfig {
                setting: "partitions",
                reason: format!(
                    "{} partitions is more than the supported 100000",
                    self.partitions
                ),
            });
        }
        // Kafka's LogConfig: min.cleanable.dirty.ratio between(0, 1); retention.ms,
        // delete.retention.ms and min.compaction.lag.ms are LONG milliseconds.
        if !(0.0..=1.0).contains(&self.min_cleanable_dirty_ratio) {
            return Err(crate::Error::InvalidConfig {
                setting: "min_cleanable_dirty_ratio",
                reason: "min_cleanable_dirty_ratio must be between 0 and 1".into(),
            });
        }
        if let Some(d) = self.retention_ms {
            check_ms(d, LONG_MS, "retention_ms", "retention.ms")?;
        }
        check_ms(
            self.delete_retention_ms,
            LONG_MS,
            "delete_retention_ms",
            "delete.retention.ms",
        )?;
        check_ms(
            self.min_compaction_lag_ms,
            LONG_MS,
            "min_compaction_lag_ms",
            "min.compaction.lag.ms",
        )?;
        self.log_config().validate()
    }
}

/// How the producer picks a partition for records without an explicit one.
#[derive(Debug, Clone, Default)]
pub enum PartitionerKind {
    /// Kafka's default: murmur2 of the key; keyless records stick to one partition
    /// until `batch_size` bytes were sent to it, then move (KIP-480/KIP-794).
    #[default]
    Default,
    /// Every record (keyed or not) to the next partition in turn (Kafka's
    /// `RoundRobinPartitioner`).
    RoundRobin,
    /// A user-supplied partitioner.
    Custom(std::sync::Arc<dyn crate::partitioner::Partitioner>),
}

/// Producer settings.
///
/// ```
/// use brooklet::ProducerConfig;
/// use std::time::Duration;
/// let cfg = ProducerConfig::new().linger(Duration::from_millis(5)).batch_size(64 * 1024);
/// # let _ = cfg;
/// ```
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub(crate) linger: Duration,
    pub(crate) batch_size: usize,
    pub(crate) partitioner: PartitionerKind,
    pub(crate) compression: Compression,
    pub(crate) compression_level: Option<i32>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            linger: Duration::ZERO,
            batch_size: 16 * 1024,
            partitioner: PartitionerKind::Default,
            compression: Compression::None,
            compression_level: None,
        }
    }
}

impl ProducerConfig {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }
    /// How long a send waits for other senders to share its batch (`linger.ms`).
    /// Default: 0 (Kafka 3.x's default is 5 ms over a network; in process, batching
    /// already happens whenever senders overlap). At most `i64::MAX` ms (Kafka's LONG):
    /// a longer one makes every send fail with [`Error::InvalidConfig`].
    #[must_use]
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }
    /// Target batch size in bytes (`batch.size`): a lingering batch is written once it
    /// reaches this, and the sticky partitioner moves on after this many bytes.
    /// Default: 16384. 0 disables batching, as in Kafka (`batch.size` atLeast(0)): each
    /// record is written on its own.
    #[must_use]
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes.max(1);
        self
    }
    /// The partitioner for records without an explicit partition. Default: Kafka's.
    #[must_use]
    pub fn partitioner(mut self, p: PartitionerKind) -> Self {
        self.partitioner = p;
        self
    }

    /// The codec batches are compressed with (`compression.type`). Default:
    /// [`Compression::None`], as Kafka. A topic whose
    /// [`compression_type`](TopicConfig::compression_type) names a codec stores the
    /// batches with that one instead.
    ///
    /// ```
    /// use brooklet::{Compression, ProducerConfig};
    /// let cfg = ProducerConfig::new().compression(Compression::Zstd).compression_level(9);
    /// assert!(cfg.validate().is_ok());
    /// ```
    #[must_use]
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }
    /// The codec's level (Kafka's `compression.gzip.level`, `compression.lz4.level`,
    /// `compression.zstd.level`, KIP-390). Default: the codec's (gzip 6, lz4 9, zstd 3).
    /// Kafka's ranges: gzip 1 to 9 (or -1, the default), lz4 1 to 17, zstd -131072 to
    /// 22; none and snappy take no level. Out of range, every send fails with
    /// [`Error::InvalidArgument`] naming the setting. lz4 compresses the same way at
    /// every level (brooklet's lz4 has no high-compression mode; the frames are the
    /// same format).
    #[must_use]
    pub fn compression_level(mut self, level: i32) -> Self {
        self.compression_level = Some(level);
        self
    }

    /// Checks the settings against the ranges of Kafka's `ProducerConfig`
    /// (`linger.ms` LONG atLeast(0); `batch.size` atLeast(0), any `usize` here; the
    /// compression level within its codec's range). Every send runs this check, so
    /// calling it is only needed to fail earlier.
    ///
    /// ```
    /// use brooklet::ProducerConfig;
    /// use std::time::Duration;
    /// assert!(ProducerConfig::new().linger(Duration::from_millis(5)).validate().is_ok());
    /// assert!(ProducerConfig::new().linger(Duration::MAX).validate().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        check_ms(self.linger, LONG_MS, "linger", "linger.ms")?;
        self.compression.check_level(self.compression_level)?;
        Ok(())
    }
}

/// What a consumer does when it has no valid position for a partition (Kafka's
/// `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// Start at the log start.
    Earliest,
    /// Start at the log end: only records appended from now on (Kafka's default).
    #[default]
    Latest,
    /// Fail with [`Error::NoOffset`](crate::Error::NoOffset) (or
    /// [`Error::OffsetOutOfRange`](crate::Error::OffsetOutOfRange)).
    None,
}

/// Consumer settings, with Kafka's defaults.
///
/// ```
/// use brooklet::{ConsumerConfig, OffsetReset};
/// let cfg = ConsumerConfig::new().group_id("counter").auto_offset_reset(OffsetReset::Earliest);
/// # let _ = cfg;
/// ```
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub(crate) group_id: Option<String>,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) auto_offset_reset: OffsetReset,
    pub(crate) enable_auto_commit: bool,
    pub(crate) auto_commit_interval: Duration,
    pub(crate) max_poll_records: usize,
    pub(crate) max_poll_interval: Duration,
    pub(crate) session_timeout: Duration,
    pub(crate) max_partition_fetch_bytes: usize,
    pub(crate) fetch_max_bytes: usize,
    pub(crate) assignors: Vec<std::sync::Arc<dyn crate::assignor::Assignor>>,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        use crate::assignor::{CooperativeStickyAssignor, RangeAssignor};
        ConsumerConfig {
            group_id: None,
            group_instance_id: None,
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            max_poll_records: 500,
            max_poll_interval: Duration::from_secs(300),
            session_timeout: Duration::from_secs(45),
            max_partition_fetch_bytes: 1 << 20,
            fetch_max_bytes: 50 << 20,
            assignors: vec![
                std::sync::Arc::new(RangeAssignor),
                std::sync::Arc::new(CooperativeStickyAssignor),
            ],
        }
    }
}

impl ConsumerConfig {
    /// Default settings: no group.
    pub fn new() -> Self {
        Self::default()
    }
    /// The consumer group (`group.id`); needed for `subscribe` and for commits.
    /// Default: none. An empty id is refused, as Kafka's `InvalidGroupIdException`:
    /// every consumer call that uses the configuration fails with
    /// [`Error::InvalidGroupId`].
    #[must_use]
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }
    /// Static membership (`group.instance.id`, KIP-345): a consumer that comes back
    /// under the same id within `session_timeout` keeps its partitions without a
    /// rebalance. Default: none (dynamic member). Kafka's rules apply (non-empty, at
    /// most 249 characters of `[a-zA-Z0-9._-]`); another id makes the consumer's calls
    /// fail with [`Error::InvalidConfig`].
    #[must_use]
    pub fn group_instance_id(mut self, id: impl Into<String>) -> Self {
        self.group_instance_id = Some(id.into());
        self
    }
    /// `auto.offset.reset`. Default: latest, as Kafka.
    #[must_use]
    pub fn auto_offset_reset(mut self, r: OffsetReset) -> Self {
        self.auto_offset_reset = r;
        self
    }
    /// `enable.auto.commit`: commit positions every `auto_commit_interval` from
    /// `poll`, before a rebalance and on close. Default: true, as Kafka.
    #[must_use]
    pub fn enable_auto_commit(mut self, on: bool) -> Self {
        self.enable_auto_commit = on;
        self
    }
    /// `auto.commit.interval.ms`. Default: 5 s. At most `i32::MAX` ms (Kafka's INT).
    #[must_use]
    pub fn auto_commit_interval(mut self, d: Duration) -> Self {
        self.auto_commit_interval = d;
        self
    }
    /// `max.poll.records`. Default: 500. At least 1, as Kafka's atLeast(1): with 0 the
    /// consumer's calls fail with [`Error::InvalidConfig`].
    #[must_use]
    pub fn max_poll_records(mut self, n: usize) -> Self {
        self.max_poll_records = n;
        self
    }
    /// `max.poll.interval.ms`: a member that does not poll this often is removed from
    /// its group. Default: 5 min. Kafka's range: 1 ms to `i32::MAX` ms (INT
    /// atLeast(1)); others make the consumer's calls fail with [`Error::InvalidConfig`].
    #[must_use]
    pub fn max_poll_interval(mut self, d: Duration) -> Self {
        self.max_poll_interval = d;
        self
    }
    /// `session.timeout.ms`: how long a closed static member keeps its partitions.
    /// Default: 45 s. At most `i32::MAX` ms (Kafka's INT). Kafka's broker also bounds it
    /// by `group.min.session.timeout.ms` (6 s) and `group.max.session.timeout.ms`
    /// (30 min); brooklet does not, because in process there is no network to outwait
    /// and tests use short timeouts.
    #[must_use]
    pub fn session_timeout(mut self, d: Duration) -> Self {
        self.session_timeout = d;
        self
    }
    /// `max.partition.fetch.bytes`. Default: 1 MiB. A soft limit, as in Kafka: the
    /// first batch of a partition is returned even when larger, so 0 (which Kafka
    /// allows, atLeast(0)) means one batch per partition and poll.
    #[must_use]
    pub fn max_partition_fetch_bytes(mut self, n: usize) -> Self {
        self.max_partition_fetch_bytes = n;
        self
    }
    /// `fetch.max.bytes` per poll. Default: 50 MiB. A soft limit, as in Kafka: the
    /// first batch is returned even when larger, so 0 (which Kafka allows, atLeast(0))
    /// means one batch per poll.
    #[must_use]
    pub fn fetch_max_bytes(mut self, n: usize) -> Self {
        self.fetch_max_bytes = n;
        self
    }
    /// `partition.assignment.strategy`, in order of preference. Default: range, then
    /// cooperative-sticky, as Kafka 3.x. An empty list makes `subscribe` fail with
    /// [`Error::InvalidConfig`] (Kafka: "Must configure at least one partition
    /// assigner"); manual assignment needs none.
    #[must_use]
    pub fn assignors(mut self, a: Vec<std::sync::Arc<dyn crate::assignor::Assignor>>) -> Self {
        self.assignors = a;
        self
    }

    /// Checks the settings against the ranges of Kafka's `ConsumerConfig`, naming the
    /// first one out of range. `subscribe`, `subscribe_pattern`, `assign` and `poll`
    /// run this check (the builder methods cannot fail), so calling it is only needed
    /// to fail earlier. Kafka's validators followed: `group.id` not empty
    /// (`InvalidGroupIdException`); `group.instance.id` `NonEmptyString` and
    /// `JoinGroupRequest.validateGroupInstanceId`; `max.poll.records` atLeast(1);
    /// `max.poll.interval.ms` INT atLeast(1); `session.timeout.ms` and
    /// `auto.commit.interval.ms` INT; `fetch.max.bytes` and
    /// `max.partition.fetch.bytes` atLeast(0), any `usize` here.
    ///
    /// ```
    /// use brooklet::ConsumerConfig;
    /// assert!(ConsumerConfig::new().group_id("g").validate().is_ok());
    /// assert!(ConsumerConfig::new().max_poll_records(0).validate().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting; [`Error::InvalidGroupId`] for an
    /// empty `group_id`.
    pub fn validate(&self) -> Result<()> {
        if let Some(g) = &self.group_id {
            validate_group_id(g)?;
        }
        if let Some(id) = &self.group_instance_id {
            validate_group_instance_id(id)?;
        }
        if self.max_poll_records == 0 {
            return Err(Error::InvalidConfig {
                setting: "max_poll_records",
                reason: "max_poll_records is 0; Kafka's `max.poll.records` must be at least 1"
                    .into(),
            });
        }
        if self.max_poll_interval < Duration::from_millis(1) {
            return Err(Error::InvalidConfig {
                setting: "max_poll_interval",
                reason: format!(
                    "max_poll_interval of {:?} is shorter than the 1 ms Kafka's `max.poll.interval.ms` allows",
                    self.max_poll_interval
                ),
            });
        }
        check_ms(
            self.max_poll_interval,
            INT_MS,
            "max_poll_interval",
            "max.poll.interval.ms",
        )?;
        check_ms(
            self.session_timeout,
            INT_MS,
            "session_timeout",
            "session.timeout.ms",
        )?;
        check_ms(
            self.auto_commit_interval,
            INT_MS,
            "auto_commit_interval",
            "auto.commit.interval.ms",
        )
    }
}

/// Kafka refuses an empty group id: the consumer with `InvalidGroupIdException` ("The
/// configured group.id should not be an empty string or whitespace."), the group
/// coordinator with `INVALID_GROUP_ID` for every group call
/// (`GroupCoordinatorService.isGroupIdNotEmpty`).
pub(crate) fn validate_group_id(group: &str) -> Result<()> {
    if group.is_empty() {
        return Err(Error::InvalidGroupId {
            reason: "the group_id is empty; Kafka refuses an empty group id (INVALID_GROUP_ID): name the group, or leave group_id unset to read without a group".into(),
        });
    }
    Ok(())
}

/// Kafka's `JoinGroupRequest.validateGroupInstanceId`: the rules of topic names
/// (1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`).
fn validate_group_instance_id(id: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::InvalidConfig {
            setting: "group_instance_id",
            reason: format!(
                "group_instance_id `{id}` {why}; Kafka's `group.instance.id` takes 1-249 characters of ASCII letters, digits, `.`, `_` and `-`"
            ),
        })
    };
    if id.is_empty() {
        return bad("is empty");
    }
    if id.len() > 249 {
        return bad("is longer than 249 characters");
    }
    if id == "." || id == ".." {
        return bad("is `.` or `..`");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("has a character outside the allowed set");
    }
    Ok(())
}
