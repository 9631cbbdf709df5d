//! [`ConnectorConfig`]: the settings of one connector, with Kafka Connect's names.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::record::ConnectRecord;
use crate::{Error, Result, TopicConfig};

/// A single-message transform (Kafka Connect's SMT) as a closure: return the record
/// (changed or not), `Ok(None)` to drop it, or an error, which the connector's
/// [`ErrorTolerance`] handles. See [`transforms`](crate::connect::transforms) for the
/// usual ones.
pub type Transform = Arc<dyn Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync>;

/// What to do with a record that fails conversion, a transform, or a sink's checks
/// (Kafka Connect's `errors.tolerance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorTolerance {
    /// Stop the task at the first bad record (`none`, Kafka's default). Nothing after
    /// the last committed offset is committed, so a restart meets the record again.
    #[default]
    None,
    /// Skip bad records (`all`): write each to the dead-letter topic when one is set,
    /// count it in the task's status, and keep going.
    All,
}

/// The settings of a connector (Kafka Connect's connector config).
///
/// ```
/// use brooklet::connect::{ConnectorConfig, ErrorTolerance, transforms};
/// use std::time::Duration;
///
/// let cfg = ConnectorConfig::new("orders-to-file")
///     .topics(&["orders"])
///     .tasks_max(2)
///     .errors_tolerance(ErrorTolerance::All)
///     .dead_letter_topic("orders-dlq")
///     .transform(transforms::key_from_field("customer"))
///     .offset_flush_interval(Duration::from_secs(1));
/// assert_eq!(cfg.name(), "orders-to-file");
/// ```
#[derive(Clone)]
pub struct ConnectorConfig {
    pub(crate) name: String,
    pub(crate) tasks_max: usize,
    pub(crate) topics: Vec<String>,
    pub(crate) topics_regex: Option<String>,
    pub(crate) errors_tolerance: ErrorTolerance,
    pub(crate) dead_letter_topic: Option<String>,
    pub(crate) dead_letter_context_headers: bool,
    pub(crate) transforms: Vec<Transform>,
    pub(crate) max_retries: u32,
    pub(crate) retry_backoff: Duration,
    pub(crate) offset_flush_interval: Duration,
    pub(crate) batch_size: usize,
    pub(crate) poll_interval: Duration,
    pub(crate) topic_creation: Option<TopicConfig>,
}

impl fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorConfig")
            .field("name", &self.name)
            .field("tasks_max", &self.tasks_max)
            .field("topics", &self.topics)
            .field("topics_regex", &self.topics_regex)
            .field("errors_tolerance", &self.errors_tolerance)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("transforms", &self.transforms.len())
            .field("max_retries", &self.max_retries)
            .field("offset_flush_interval", &self.offset_flush_interval)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl ConnectorConfig {
    /// Settings for the connector `name` (Kafka's `name`): it names the connector's
    /// source offsets in `__connect_offsets` and, for a sink, its consumer group
    /// `connect-<name>`.
    pub fn new(name: impl Into<String>) -> Self {
        ConnectorConfig {
            name: name.into(),
            tasks_max: 1,
            topics: Vec::new(),
            topics_regex: None,
            errors_tolerance: ErrorTolerance::None,
            dead_letter_topic: None,
            dead_letter_context_headers: true,
            transforms: Vec::new(),
            max_retries: 10,
            retry_backoff: Duration::from_millis(100),
            offset_flush_interval: Duration::from_secs(1),
            batch_size: 500,
            poll_interval: Duration::from_millis(100),
            topic_creation: None,
        }
    }

    /// The connector's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Most tasks to run (`tasks.max`); a connector may run fewer. Default: 1.
    #[must_use]
    pub fn tasks_max(mut self, n: usize) -> Self {
        self.tasks_max = n.max(1);
        self
    }

    /// The topics a sink reads (`topics`). A sink needs these or
    /// [`topics_regex`](Self::topics_regex); sources ignore them.
    #[must_use]
    pub fn topics(mut self, topics: &[&str]) -> Self {
        self.topics = topics.iter().map(|s| s.to_string()).collect();
        self
    }

    /// A pattern of topics a sink reads (`topics.regex`), with the syntax of
    /// [`Consumer::subscribe_pattern`](crate::Consumer::subscribe_pattern).
    #[must_use]
    pub fn topics_regex(mut self, pattern: impl Into<String>) -> Self {
        self.topics_regex = Some(pattern.into());
        self
    }

    /// What to do with bad records (`errors.tolerance`). Default: `None` (stop).
    #[must_use]
    pub fn errors_tolerance(mut self, t: ErrorTolerance) -> Self {
        self.errors_tolerance = t;
        self
    }

    /// Where skipped records go under `ErrorTolerance::All`
    /// (`errors.deadletterqueue.topic.name`): the original record (as read or as
    /// produced by the source, before transforms), with `__connect.errors.*` headers
    /// saying why. The topic must exist. Default: none (skipped records are only
    /// counted).
    #[must_use]
    pub fn dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = Some(topic.into());
        self
    }

    /// Whether dead-letter records carry the `__connect.errors.*` context headers
    /// (`errors.deadletterqueue.context.headers.enable`). Default: true (Kafka's is
    /// false; the headers are what makes a dead letter actionable).
    #[must_use]
    pub fn dead_letter_context_headers(mut self, on: bool) -> Self {
        self.dead_letter_context_headers = on;
        self
    }

    /// Appends a single-message transform; transforms run in the order added.
    #[must_use]
    pub fn transform(
        mut self,
        t: impl Fn(ConnectRecord) -> Result<Option<ConnectRecord>> + Send + Sync + 'static,
    ) -> Self {
        self.transforms.push(Arc::new(t));
        self
    }

    /// How often a failing `poll`, `put` or `flush` is retried before the task fails
    /// (Kafka's `errors.retry.timeout`, as a count). Default: 10.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Pause between retries (`errors.retry.delay.max.ms`). Default: 100 ms.
    #[must_use]
    pub fn retry_backoff(mut self, d: Duration) -> Self {
        self.retry_backoff = d;
        self
    }

    /// How often a sink task is flushed and its offsets committed
    /// (`offset.flush.interval.ms`). Default: 1 s (Kafka's 60 s suits remote systems;
    /// in process a flush is cheap).
    #[must_use]
    pub fn offset_flush_interval(mut self, d: Duration) -> Self {
        self.offset_flush_interval = d;
        self
    }

    /// Most records per `put` for a sink (the consumer's `max.poll.records`), and the
    /// batch a source task is asked for. Default: 500.
    #[must_use]
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// How long a source task's runner waits after a `poll` that returned nothing, and
    /// how long a sink waits in `poll`. Stop and pause interrupt the wait. Default:
    /// 100 ms.
    #[must_use]
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }

    /// Creates topics a source writes to that do not exist yet, with this config
    /// (Kafka's `topic.creation.default.*`). Default: none (a missing topic fails the
    /// task with `Error::UnknownTopic`).
    #[must_use]
    pub fn topic_creation(mut self, config: TopicConfig) -> Self {
        self.topic_creation = Some(config);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Err(Error::InvalidConfig {
                setting: "name",
                reason: format!(
                    "connector name `{}` must be non-empty and printable",
                    self.name.escape_debug()
                ),
            });
        }
        if self.dead_letter_topic.is_some() && self.errors_tolerance == ErrorTolerance::None {
            return Err(Error::InvalidConfig {
                setting: "dead_letter_topic",
                reason: format!(
                    "connector `{}` sets a dead-letter topic but errors_tolerance is `None`, so nothing would reach it; set ErrorTolerance::All",
                    self.name
                ),
            });
        }
        Ok(())
    }
}
