//! Broker calls for code built on the client API (brooklet's own `streams` and
//! `connect` included): internal topics, name checks and health, so that nothing above
//! the clients needs a crate-private hook.

use super::{Broker, INTERNAL_PREFIX, meta};
use crate::config::TopicConfig;
use crate::error::{Error, Result};

impl Broker {
    /// Checks `name` against Kafka's topic-name rules (`Topic.validate`): 1 to 249
    /// characters of `[a-zA-Z0-9._-]`, not `.` or `..`. Use it for a string that
    /// becomes part of topic names, such as a Streams application id.
    ///
    /// [`create_topic`](Broker::create_topic) checks more: names starting with `__`
    /// are reserved for internal topics, a name may not collide with an existing topic
    /// once `.` is read as `_`, and brooklet stores names of at most 204 characters.
    ///
    /// ```
    /// use brooklet::{Broker, Error};
    /// assert!(Broker::validate_topic_name("orders.v2").is_ok());
    /// assert!(matches!(Broker::validate_topic_name("a b"), Err(Error::InvalidTopicName { .. })));
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidTopicName`] saying which rule `name` breaks.
    pub fn validate_topic_name(name: &str) -> Result<()> {
        meta::validate_name(name)
    }

    /// Creates an internal topic: one whose name starts with `__`, which
    /// [`create_topic`](Broker::create_topic) reserves so that applications cannot
    /// squat such names. For the bookkeeping topics of frameworks built on brooklet,
    /// such as Kafka Connect's `__connect_offsets`. Internal topics are left out of
    /// [`list_topics`](Broker::list_topics) and reported with
    /// [`TopicDescription::internal`](crate::TopicDescription::internal) set; otherwise
    /// they are ordinary topics, crash-safe like any other.
    ///
    /// `__consumer_offsets` is the broker's own (the group coordinator creates it) and
    /// is refused.
    ///
    /// ```
    /// use brooklet::{Broker, CleanupPolicy, TopicConfig};
    /// let dir = tempfile::tempdir().unwrap();
    /// let broker = Broker::open(dir.path())?;
    /// broker.create_internal_topic(
    ///     "__my_framework_state",
    ///     TopicConfig::new(1).cleanup_policy(CleanupPolicy::Compact),
    /// )?;
    /// assert!(broker.describe_topic("__my_framework_state")?.internal);
    /// assert!(broker.list_topics().is_empty());
    /// # Ok::<(), brooklet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidTopicName`] for a name that does not start with `__`, breaks
    /// Kafka's rules (see [`validate_topic_name`](Broker::validate_topic_name)), is
    /// longer than brooklet stores, collides with an existing topic, or is
    /// `__consumer_offsets`; [`Error::TopicExists`]; [`Error::InvalidConfig`] for a
    /// bad config; [`Error::Io`]; [`Error::Closed`].
    pub fn create_internal_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        meta::validate_name(name)?;
        let refuse = |reason: &str| {
            Err(Error::InvalidTopicName {
                name: name.to_string(),
                reason: reason.to_string(),
            })
        };
        if !name.starts_with(INTERNAL_PREFIX) {
            return refuse(
                "internal topic names start with `__`; create other topics with `Broker::create_topic`",
            );
        }
        if name == crate::broker::offsets::OFFSETS_TOPIC {
            return refuse(
                "`__consumer_offsets` belongs to the broker's group coordinator, which creates it",
            );
        }
        self.create_topic_unchecked(name, config)
    }

    /// Whether the broker still serves: `Ok` until [`close`](Broker::close), and
    /// while every background task is healthy. Calls that start long-running work on a
    /// broker (a Connect worker's connector, for one) check it first, to fail early.
    ///
    /// ```
    /// use brooklet::{Broker, Error};
    /// let dir = tempfile::tempdir().unwrap();
    /// let broker = Broker::open(dir.path())?;
    /// broker.ensure_open()?;
    /// broker.close()?;
    /// assert!(matches!(broker.ensure_open(), Err(Error::Closed)));
    /// # Ok::<(), brooklet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Closed`] after [`close`](Broker::close); [`Error::Poisoned`] when a
    /// background task panicked (reopen the broker).
    pub fn ensure_open(&self) -> Result<()> {
        self.check_open()
    }
}
