//! The crate's one error type.

use std::path::PathBuf;
use std::sync::Arc;

use crate::topic_partition::TopicPartition;

/// The result type of every fallible brooklet call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in brooklet, split by what a caller does about it.
///
/// I/O failures (`Io`) may be retried or reported; corruption (`Corrupt`) needs an
/// operator; a poisoned partition needs a reopen; argument errors need a code fix;
/// concurrency outcomes (`RebalanceInProgress`, `StaleGeneration`, ...) are part of the
/// normal life of a consumer group.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed on `path`.
    #[error("I/O error on `{}`: {source}", path.display())]
    Io {
        /// The file or directory the call was made on.
        path: PathBuf,
        /// The operating system's error, shared so that `Error` is `Clone` (read its
        /// `kind()` and `raw_os_error()` through the `Arc`).
        #[source]
        source: Arc<std::io::Error>,
    },

    /// Bytes on disk do not form valid data where valid data must be (a sealed segment,
    /// an index, metadata). brooklet never skips such data silently.
    #[error(
        "corrupt data in `{}` at byte {offset}: {reason}; restore the file from a replica or backup, or run `Broker::repair`, which keeps what is valid and moves the rest into the `quarantine` folder",
        path.display()
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage inside the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// A byte buffer handed to the codec is not a valid Kafka RecordBatch v2.
    #[error("malformed record batch at byte {offset}: {reason}")]
    Format {
        /// Byte offset in the buffer where decoding failed.
        offset: usize,
        /// What is wrong.
        reason: String,
    },

    /// An earlier flush of this partition failed. The kernel may have dropped the dirty
    /// pages, so a retried flush could report success for data that is gone: every later
    /// write is refused until the broker is reopened, which recovers what was durable.
    ///
    /// `partition` is `None` when the whole broker is poisoned: one of its background
    /// tasks panicked, and it refuses every call until reopened.
    #[error("{}", poisoned_message(partition.as_ref(), reason))]
    Poisoned {
        /// The poisoned partition; `None` for the whole broker.
        partition: Option<TopicPartition>,
        /// The error the failed flush reported.
        reason: String,
    },

    /// The topic does not exist.
    #[error(
        "topic `{topic}` does not exist; create it with `Broker::create_topic` or enable `auto_create_topics`"
    )]
    UnknownTopic {
        /// The topic name asked for.
        topic: String,
    },

    /// The topic exists but not with this partition.
    #[error("topic `{topic}` has {partitions} partitions; partition {partition} does not exist")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: u32,
        /// How many partitions the topic has.
        partitions: u32,
    },

    /// `create_topic` on a name that is taken.
    #[error("topic `{topic}` already exists")]
    TopicExists {
        /// The topic name.
        topic: String,
    },

    /// A topic name breaks Kafka's naming rules.
    #[error("invalid topic name `{name}`: {reason}")]
    InvalidTopicName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// A record (or batch) is larger than the topic's `max_message_bytes` or than a segment.
    #[error(
        "record batch of {size} bytes for `{topic}` exceeds the limit of {max} bytes; raise `max_message_bytes` (and `segment_bytes`) or send smaller records"
    )]
    RecordTooLarge {
        /// The topic.
        topic: String,
        /// Encoded size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },

    /// An offset outside the partition's `[log_start, log_end]`.
    #[error(
        "offset {offset} is out of range for `{partition}` (valid: {log_start}..={log_end}); seek to a valid offset or set `auto_offset_reset`"
    )]
    OffsetOutOfRange {
        /// The partition.
        partition: TopicPartition,
        /// The offset asked for.
        offset: i64,
        /// First offset still in the log.
        log_start: i64,
        /// The next offset to be written.
        log_end: i64,
    },

    /// `auto_offset_reset = none` and the group has no committed offset for a partition.
    #[error(
        "group `{group}` has no committed offset for `{partition}` and auto_offset_reset is `none`; commit or seek first, or use `earliest`/`latest`"
    )]
    NoOffset {
        /// The consumer group.
        group: String,
        /// The partition.
        partition: TopicPartition,
    },

    /// The group is rebalancing; call `poll` again to join the new generation.
    #[error("group `{group}` is rebalancing; poll again to rejoin before committing")]
    RebalanceInProgress {
        /// The consumer group.
        group: String,
    },

    /// A commit or heartbeat from a member of an older generation (a zombie) was refused.
    #[error(
        "member `{member}` of group `{group}` is fenced: it is in generation {generation} but the group is in {current}; its partitions were reassigned"
    )]
    StaleGeneration {
        /// The consumer group.
        group: String,
        /// The member id.
        member: String,
        /// The member's generation.
        generation: i32,
        /// The group's current generation.
        current: i32,
    },

    /// The data directory is held by another `Broker` (in this or another process), or
    /// a partition directory by another open handle of its log.
    #[error("directory `{}` is locked by {holder}; close that first", dir.display())]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// Who holds it, as far as known (e.g. `process 1234`).
        holder: String,
    },

    /// The broker (or the handle) was closed.
    #[error("the broker is closed; open it again to continue")]
    Closed,

    /// A blocking call was interrupted by `wakeup()`.
    #[error("the call was interrupted by wakeup()")]
    Wakeup,

    /// An argument is invalid and no more precise variant fits: a negative offset or
    /// timestamp, an invalid regular expression, a partition count that does not grow,
    /// an internal topic given to a call that refuses them. The message says which
    /// argument and why; fix the call. Bad configuration values are
    /// [`InvalidConfig`](Error::InvalidConfig).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Topics that one sub-topology of a streams application reads together (merged
    /// streams, or a repartition topic and the topics it meets) have different
    /// partition counts. Task `<sub-topology>_<N>` owns partition N of each of them and
    /// one instance of each state store, so the counts must match (Kafka Streams
    /// refuses such a topology with a `TopologyException`).
    #[error(
        "topics {} are read together by sub-topology {sub_topology} of streams application `{application_id}` but do not have the same number of partitions; each task owns partition N of every one of them, so create them with the same count (`Broker::create_partitions` adds partitions) or read them in separate sub-topologies",
        topics.iter().map(|(t, n)| format!("`{t}` ({n} partitions)")).collect::<Vec<_>>().join(", ")
    )]
    NotCoPartitioned {
        /// The streams application id.
        application_id: String,
        /// The sub-topology (the `x` of task ids `x_N`).
        sub_topology: usize,
        /// Each topic of the sub-topology with its partition count.
        topics: Vec<(String, u32)>,
    },

    /// The call is not valid in the handle's current state, whatever its arguments
    /// (Kafka's `IllegalStateException`): `poll` on a consumer that is neither
    /// subscribed nor assigned, or `assign` while subscribed; `start` on a streams
    /// application or mirror that already runs; pausing a stopped connector; a mirror
    /// whose target no longer matches what it copied. The message says which call to
    /// make first. Also an internal invariant that did not hold (the message says so:
    /// please report it).
    #[error("illegal state: {0}")]
    IllegalState(String),

    /// A configuration value is out of range or inconsistent with another:
    /// `create_topic` and `BrokerBuilder::open` with a bad [`TopicConfig`] value, the
    /// first call of a producer or consumer whose [`ProducerConfig`] or
    /// [`ConsumerConfig`] is out of Kafka's ranges (see their `validate`), a
    /// connector's or mirror's config. Fix the named setting.
    ///
    /// [`TopicConfig`]: crate::TopicConfig
    /// [`ProducerConfig`]: crate::ProducerConfig
    /// [`ConsumerConfig`]: crate::ConsumerConfig
    #[error("invalid configuration `{setting}`: {reason}")]
    InvalidConfig {
        /// The setting, as its builder method is named (`segment_bytes`,
        /// `max_poll_records`, `flush`, `topics`, ...).
        setting: &'static str,
        /// What is wrong with its value, and the allowed range.
        reason: String,
    },

    /// `seek`, `seek_to_beginning`, `seek_to_end`, `position`, `pause` or `resume` on a
    /// partition the consumer is not assigned (Kafka's `IllegalStateException`
    /// "No current assignment for partition"). Assign it, or wait until the group
    /// assigns it (a rebalance listener's `on_partitions_assigned`), then call again.
    #[error(
        "partition `{partition}` is not assigned to this consumer; assign it (or wait until the group assigns it) before seeking, pausing or asking its position"
    )]
    NotAssigned {
        /// The partition asked for.
        partition: TopicPartition,
    },

    /// A group id Kafka refuses (`InvalidGroupIdException`, `INVALID_GROUP_ID`): an
    /// empty one, one longer than Kafka's offset schema stores, or none on a consumer
    /// whose call needs a group (`subscribe`, commits, `committed`). Set
    /// `ConsumerConfig::group_id`, or pass a valid id to the admin call.
    #[error("invalid consumer group id: {reason}")]
    InvalidGroupId {
        /// Which rule the id breaks, and what to do.
        reason: String,
    },

    /// An admin call names a consumer group that has neither members nor committed
    /// offsets (Kafka's `GroupIdNotFoundException`). Check the id
    /// (`Broker::list_groups`).
    #[error("consumer group `{group}` does not exist: it has no members and no committed offsets")]
    UnknownGroup {
        /// The group asked for.
        group: String,
    },

    /// The call changes a group's offsets from outside the group while it has active
    /// members (Kafka's `GroupNotEmptyException`): `reset_group_offsets`,
    /// `commit_group_offsets`, `delete_group`, `Mirror::migrate_group`, or a commit
    /// from a consumer without membership (one that used `assign`). Close the group's
    /// consumers first, or use another group id.
    #[error(
        "consumer group `{group}` has active members, so its offsets can only be changed by them; close its consumers first, or use another group id"
    )]
    GroupNotEmpty {
        /// The group.
        group: String,
    },

    /// A consumer joining a group shares no assignor with its members (Kafka's
    /// `InconsistentGroupProtocolException`). Configure a common assignor
    /// (`ConsumerConfig::assignors`) or use another group id.
    #[error(
        "the consumer's assignors share none with the members of group `{group}` (Kafka's INCONSISTENT_GROUP_PROTOCOL); give it an assignor the members use, or use another group id"
    )]
    InconsistentGroupProtocol {
        /// The group.
        group: String,
    },

    /// A record a topic (or a transform) refuses, whatever its size (Kafka's
    /// `InvalidRecordException`): a negative timestamp, a keyless record on a
    /// compacted topic, a value `transforms::key_from_field` cannot read. Nothing of
    /// the batch is written; fix the record.
    #[error("invalid record for topic `{topic}`: {reason}")]
    InvalidRecord {
        /// The record's topic.
        topic: String,
        /// What is wrong with the record.
        reason: String,
    },

    /// A Connect worker call names a connector the worker does not have. Check the
    /// name (`Worker::connectors`), or start the connector first.
    #[error(
        "connector `{name}` does not exist; start it first (`Worker::connectors` lists those that do)"
    )]
    UnknownConnector {
        /// The connector name asked for.
        name: String,
    },

    /// `Worker::start_source` or `start_sink` with the name of a connector that is
    /// not stopped (Kafka Connect's `AlreadyExistsException`). Stop or remove it
    /// first, restart it, or pick another name.
    #[error(
        "connector `{name}` already exists; stop or remove it first, restart it, or use another name"
    )]
    ConnectorExists {
        /// The connector name.
        name: String,
    },

    /// Code or data of the application failed inside a task: a streams serde could
    /// not read a record or a stored value, or a connector's record was bad and its
    /// `errors_tolerance` is `None`. The task (or the streams application) stops with
    /// this error; `source` is the application's own error, `reason` what the task was
    /// doing and what to do.
    #[error("{task} failed: {reason}: {source}")]
    Task {
        /// The task, named as the user knows it (`connector `files` task 0`,
        /// `streams application `wc``).
        task: String,
        /// What the task was doing, and what to do about it.
        reason: String,
        /// The application's error.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// A corruption error.
    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Error::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }
}

/// The message of a `Poisoned` error.
fn poisoned_message(partition: Option<&TopicPartition>, reason: &str) -> String {
    match partition {
        Some(tp) => format!(
            "partition `{tp}` is poisoned by a failed flush ({reason}); reopen the broker to recover the durable prefix"
        ),
        None => format!("the broker is poisoned ({reason}); reopen it to continue"),
    }
}
