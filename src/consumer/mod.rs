//! [`Consumer`]: reading topics alone (manual assignment) or as a group member.

mod offset_and_timestamp;
mod pattern;
mod protocol;
mod records;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_utils::sync::{Parker, Unparker};

use crate::broker::Broker;
use crate::broker::coordinator::{Group, GroupProtocol, MemberSpec};
use crate::broker::offsets::OffsetAndMetadata;
use crate::config::{ConsumerConfig, OffsetReset};
use crate::error::{Error, Result};
use crate::record::TopicPartition;
use crate::storage::PartitionLog;

pub use offset_and_timestamp::OffsetAndTimestamp;
use pattern::Pattern;
use protocol::AssignorProtocol;
pub use records::{ConsumerRecord, ConsumerRecords, OwnedConsumerRecord};

/// Callbacks around a group rebalance (Kafka's `ConsumerRebalanceListener`), called
/// from inside [`Consumer::poll`] on the consumer's own thread. The consumer is passed
/// in so a callback can commit, seek or read positions (but not poll).
pub trait RebalanceListener: Send {
    /// Partitions are taken away; commit what was processed. Default: nothing.
    fn on_partitions_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }
    /// Partitions were given to this consumer. Default: nothing.
    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }
    /// Partitions were lost without a chance to commit (this member was removed from
    /// the group, e.g. for not polling within `max_poll_interval`); they may already
    /// belong to another member. Default: the same as revoked, as in Kafka.
    fn on_partitions_lost(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        self.on_partitions_revoked(consumer, partitions);
    }
}

/// Interrupts a blocked [`Consumer::poll`] from another thread (Kafka's `wakeup()`).
#[derive(Clone, Debug)]
pub struct WakeupHandle {
    flag: Arc<AtomicBool>,
    unparker: Unparker,
}

impl WakeupHandle {
    /// The current or next `poll` returns [`Error::Wakeup`] once.
    pub fn wakeup(&self) {
        self.flag.store(true, Ordering::Release);
        self.unparker.unpark();
    }
}

enum Subscription {
    None,
    Topics(Vec<String>),
    Pattern(Pattern),
    Manual,
}

struct PartState {
    log: PartitionLog,
    position: Option<i64>,
    paused: bool,
    waiter: u64,
}

type CommitCallback = Box<dyn FnOnce(Result<()>) + Send>;

/// Reads records (Kafka's `KafkaConsumer`): subscribe as a member of a group, or assign
/// partitions by hand; then `poll`. `Send`, used from one thread at a time, as in Kafka.
/// Dropping it leaves its group at once (committing first under auto-commit).
///
/// ```
/// use brooklet::{Broker, ConsumerConfig, OffsetReset, ProducerRecord, TopicConfig};
/// use std::time::Duration;
///
/// let dir = tempfile::tempdir().unwrap();
/// let broker = Broker::open(dir.path())?;
/// broker.create_topic("tweets", TopicConfig::new(2))?;
/// broker.producer().send(ProducerRecord::new("tweets").key("u1").value("hello"))?;
///
/// let mut consumer = broker.consumer(
///     ConsumerConfig::new().group_id("counter").auto_offset_reset(OffsetReset::Earliest),
/// );
/// consumer.subscribe(&["tweets"])?;
/// let records = consumer.poll(Duration::from_secs(5))?;
/// for record in records.iter() {
///     assert_eq!(record.value(), Some(&b"hello"[..]));
/// }
/// consumer.commit_sync()?;
/// # Ok::<(), brooklet::Error>(())
/// ```
pub struct Consumer {
    broker: Broker,
    config: ConsumerConfig,
    group: Option<Arc<Group>>,
    member_id: Option<String>,
    generation: i32,
    subscription: Subscription,
    assigned: BTreeMap<TopicPartition, PartState>,
    listener: Option<Box<dyn RebalanceListener>>,
    in_callback: bool,
    parker: Parker,
    wakeup: Arc<AtomicBool>,
    last_auto_commit: Instant,
    callbacks: Vec<(CommitCallback, Result<()>)>,
    rotation: usize,
    /// An error met after records were already gathered, raised by the next poll.
    pending_error: Option<Error>,
    /// Why `config` is unusable (ConsumerConfig::validate), raised by every call that
    /// uses it: `Broker::consumer` cannot fail.
    config_error: Option<Error>,
    closed: bool,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("group_id", &self.config.group_id)
            .field("member_id", &self.member_id)
            .field("generation", &self.generation)
            .field("assignment", &self.assigned.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Broker {
    /// A consumer with `config`. This cannot fail: a configuration out of Kafka's
    /// ranges (see [`ConsumerConfig::validate`]) makes the consumer's `subscribe`,
    /// `subscribe_pattern`, `assign` and `poll` fail with [`Error::InvalidConfig`]
    /// naming the setting (or [`Error::InvalidGroupId`] for an empty `group_id`).
    pub fn consumer(&self, config: ConsumerConfig) -> Consumer {
        let config_error = config.validate().err();
        let group = config
            .group_id
            .as_ref()
            .filter(|_| config_error.is_none())
            .map(|g| self.groups().get_or_create(g));
        Consumer {
            broker: self.clone(),
            config,
            group,
            member_id: None,
            generation: 0,
            subscription: Subscription::None,
            assigned: BTreeMap::new(),
            listener: None,
            in_callback: false,
            parker: Parker::new(),
            wakeup: Arc::new(AtomicBool::new(false)),
            last_auto_commit: Instant::now(),
            callbacks: Vec::new(),
            rotation: 0,
            pending_error: None,
            config_error,
            closed: false,
        }
    }
}

impl Consumer {
    fn group_id(&self) -> Result<&str> {
        let g = self.config.group_id.as_deref().ok_or_else(|| {
            // Kafka: InvalidGroupIdException, "To use the group management or offset
            // commit APIs, you must provide a valid group.id".
            Error::InvalidGroupId {
                reason: "none is set, and this call needs a consumer group: set ConsumerConfig::group_id".into(),
            }
        })?;
        crate::config::validate_group_id(g)?;
        Ok(g)
    }

    fn check_usable(&self) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        if let Some(e) = &self.config_error {
            return Err(e.clone());
        }
        if self.in_callback {
            return Err(Error::IllegalState(
                "poll and subscribe cannot be called from a rebalance listener".into(),
            ));
        }
        self.broker.check_open()
    }

    /// Subscribes to `topics` as a member of the consumer group (group-managed
    /// assignment). Topics that do not exist yet are assigned once created.
    /// Replaces an earlier subscription.
    ///
    /// # Errors
    /// [`Error::InvalidGroupId`] without a valid `group_id`;
    /// [`Error::InvalidTopicName`] for an invalid topic name; [`Error::InvalidConfig`]
    /// for a configuration out of range or without `assignors`;
    /// [`Error::IllegalState`] after [`assign`](Self::assign) (call
    /// [`unsubscribe`](Self::unsubscribe) first, as Kafka requires); [`Error::Closed`].
    pub fn subscribe(&mut self, topics: &[&str]) -> Result<()> {
        self.check_usable()?;
        for t in topics {
            crate::broker::meta::validate_name(t)?;
        }
        let mut list: Vec<String> = topics.iter().map(|s| s.to_string()).collect();
        list.sort();
        list.dedup();
        self.subscribe_topics(Subscription::Topics(list.clone()), list)
    }

    /// Subscribes to every topic whose whole name matches the regular expression
    /// `pattern`, checked again at every poll so new topics join the subscription, as
    /// Kafka's `subscribe(Pattern)`. As in Kafka the whole name must match
    /// (`Pattern.matcher(topic).matches()`): `logs-\d{4}` matches `logs-2024`, not
    /// `logs-20245`, and `^`/`$` are allowed but not needed. The syntax is that of the
    /// `regex-lite` crate, which agrees with Java's for everything topic patterns use;
    /// Java-only look-around and back-references are refused. Internal topics
    /// (`__consumer_offsets`, ...) never match, as with Kafka's default
    /// `exclude.internal.topics=true`.
    ///
    /// ```
    /// use brooklet::{Broker, ConsumerConfig, TopicConfig};
    /// let dir = tempfile::tempdir().unwrap();
    /// let broker = Broker::open(dir.path())?;
    /// broker.create_topic("logs-2024", TopicConfig::new(1))?;
    /// broker.create_topic("logs-2024-old", TopicConfig::new(1))?;
    /// let mut consumer = broker.consumer(ConsumerConfig::new().group_id("audit"));
    /// consumer.subscribe_pattern(r"logs-\d{4}")?;
    /// assert_eq!(consumer.subscription(), vec!["logs-2024"]);
    /// # Ok::<(), brooklet::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`subscribe`](Self::subscribe); [`Error::InvalidArgument`] for a pattern that
    /// is not a valid regular expression, with the parser's message.
    pub fn subscribe_pattern(&mut self, pattern: &str) -> Result<()> {
        self.check_usable()?;
        let p = Pattern::new(pattern)?;
        let topics = self.pattern_topics(&p);
        self.subscribe_topics(Subscription::Pattern(p), topics)
    }

    fn pattern_topics(&self, p: &Pattern) -> Vec<String> {
        // `list_topics` leaves internal topics out: Kafka's consumers exclude them from
        // pattern subscriptions by default (`exclude.internal.topics=true`).
        self.broker
            .list_topics()
            .into_iter()
            .filter(|t| p.matches(t))
            .collect()
    }

    fn subscribe_topics(&mut self, sub: Subscription, topics: Vec<String>) -> Result<()> {
        self.group_id()?;
        if self.config.assignors.is_empty() {
            // Kafka: IllegalStateException from subscribe, "Must configure at least one
            // partition assigner class name to partition.assignment.strategy".
            return Err(Error::InvalidConfig {
                setting: "assignors",
                reason: "subscribe needs at least one assignor: ConsumerConfig::assignors is empty"
                    .into(),
            });
        }
        if matches!(self.subscription, Subscription::Manual) {
            // Kafka: IllegalStateException, "Subscription to topics, partitions and
            // pattern are mutually exclusive".
            return Err(Error::IllegalState(
                "subscribe after assign: call unsubscribe first (Kafka forbids mixing them)".into(),
            ));
        }
        self.subscription = sub;
        let group = self.group.clone().ok_or(Error::Closed)?;
        match &self.member_id {
            Some(m) => group.update_topics(m, topics),
            None => {
                let spec = self.member_spec(topics);
                self.member_id = Some(group.join(spec)?);
                self.generation = 0;
            }
        }
        Ok(())
    }

    fn member_spec(&self, topics: Vec<String>) -> MemberSpec {
        MemberSpec {
            instance_id: self.config.group_instance_id.clone(),
            topics,
            protocols: self
                .config
                .assignors
                .iter()
                .map(|a| Arc::new(AssignorProtocol(Arc::clone(a))) as Arc<dyn GroupProtocol>)
                .collect(),
            max_poll_interval: self.config.max_poll_interval,
            session_timeout: self.config.session_timeout,
            unparker: self.parker.unparker().clone(),
        }
    }

    /// Reads exactly these partitions, without group management (Kafka's `assign`).
    /// Positions of partitions kept from the previous assignment are kept.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`], [`Error::UnknownPartition`]; [`Error::IllegalState`]
    /// while subscribed (call [`unsubscribe`](Self::unsubscribe) first);
    /// [`Error::Closed`].
    pub fn assign(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.check_usable()?;
        if matches!(
            self.subscription,
            Subscription::Topics(_) | Subscription::Pattern(_)
        ) {
            return Err(Error::IllegalState(
                "assign while subscribed: call unsubscribe first (Kafka forbids mixing them)"
                    .into(),
            ));
        }
        let logs = partitions
            .iter()
            .map(|tp| {
                Ok((
                    tp.clone(),
                    self.broker.partition_log(tp.topic(), tp.partition())?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let keep: BTreeSet<TopicPartition> = partitions.iter().cloned().collect();
        let drop: Vec<TopicPartition> = self
            .assigned
            .keys()
            .filter(|tp| !keep.contains(*tp))
            .cloned()
            .collect();
        for tp in drop {
            self.remove_partition(&tp);
        }
        for (tp, log) in logs {
            self.add_partition(tp, log);
        }
        self.subscription = if partitions.is_empty() {
            Subscription::None
        } else {
            Subscription::Manual
        };
        Ok(())
    }

    fn add_partition(&mut self, tp: TopicPartition, log: PartitionLog) {
        if self.assigned.contains_key(&tp) {
            return;
        }
        let waiter = log.register_waiter(self.parker.unparker());
        self.assigned.insert(
            tp,
            PartState {
                log,
                position: None,
                paused: false,
                waiter,
            },
        );
    }

    fn remove_partition(&mut self, tp: &TopicPartition) {
        if let Some(s) = self.assigned.remove(tp) {
            s.log.unregister_waiter(s.waiter);
        }
    }

    /// Leaves the group (revoking partitions, committing first under auto-commit) or
    /// drops the manual assignment.
    ///
    /// # Errors
    /// [`Error::Closed`]; commit errors under auto-commit are ignored, as Kafka logs them.
    pub fn unsubscribe(&mut self) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        self.leave_group(false);
        let all: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
        for tp in all {
            self.remove_partition(&tp);
        }
        self.subscription = Subscription::None;
        Ok(())
    }

    fn leave_group(&mut self, lost: bool) {
        let Some(member) = self.member_id.take() else {
            return;
        };
        let owned: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
        if !owned.is_empty() {
            if lost {
                self.call_listener(Callback::Lost, &owned);
            } else {
                if self.config.enable_auto_commit {
                    self.member_id = Some(member.clone());
                    let _ = self.commit_positions(&owned);
                    self.member_id = None;
                }
                self.call_listener(Callback::Revoked, &owned);
            }
        }
        for tp in owned {
            self.remove_partition(&tp);
        }
        if let Some(g) = &self.group {
            g.leave(&member);
        }
        self.generation = 0;
    }

    /// Sets the rebalance listener (Kafka passes it to `subscribe`).
    pub fn set_rebalance_listener(&mut self, listener: impl RebalanceListener + 'static) {
        self.listener = Some(Box::new(listener));
    }

    fn call_listener(&mut self, which: Callback, partitions: &[TopicPartition]) {
        let Some(mut l) = self.listener.take() else {
            return;
        };
        self.in_callback = true;
        match which {
            Callback::Revoked => l.on_partitions_revoked(self, partitions),
            Callback::Assigned => l.on_partitions_assigned(self, partitions),
            Callback::Lost => l.on_partitions_lost(self, partitions),
        }
        self.in_callback = false;
        self.listener = Some(l);
    }

    /// A handle other threads use to interrupt `poll`.
    pub fn wakeup_handle(&self) -> WakeupHandle {
        WakeupHandle {
            flag: Arc::clone(&self.wakeup),
            unparker: self.parker.unparker().clone(),
        }
    }

    /// Waits up to `timeout` for records and returns them (at most `max_poll_records`).
    /// Blocks without busy waiting: an append to an assigned partition, a group change
    /// or [`WakeupHandle::wakeup`] wakes it within microseconds. Group work (joining,
    /// rebalancing, rebalance listeners, auto-commit) happens in here, on the calling
    /// thread, as in Kafka.
    ///
    /// # Errors
    /// [`Error::Wakeup`] after `wakeup()`; [`Error::NoOffset`] /
    /// [`Error::OffsetOutOfRange`] under `auto_offset_reset = none`;
    /// [`Error::Corrupt`] when a batch fails its checksum; [`Error::Closed`];
    /// [`Error::IllegalState`] when called from a rebalance listener, or when the
    /// consumer is neither subscribed nor assigned any
    /// partitions (Kafka throws `IllegalStateException` there too: such a poll could
    /// only ever return nothing).
    pub fn poll(&mut self, timeout: Duration) -> Result<ConsumerRecords> {
        self.check_usable()?;
        if matches!(self.subscription, Subscription::None) {
            return Err(Error::IllegalState(
                "consumer is not subscribed to any topics or assigned any partitions: call subscribe, subscribe_pattern or assign before poll".into(),
            ));
        }
        self.fire_callbacks();
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        // `None`: no clock reading is that far away; wait until woken.
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if self.wakeup.swap(false, Ordering::AcqRel) {
                return Err(Error::Wakeup);
            }
            self.broker.check_open()?;
            self.maybe_auto_commit();
            if self.member_id.is_some()
                || matches!(
                    self.subscription,
                    Subscription::Topics(_) | Subscription::Pattern(_)
                )
            {
                self.coordinate()?;
            }
            let records = self.fetch()?;
            if !records.is_empty() {
                return Ok(records);
            }
            match deadline {
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(records);
                    }
                    self.parker.park_timeout(deadline - now);
                }
                None => self.parker.park(),
            }
        }
    }

    /// Group work inside poll: liveness, rejoining, rebalances and their callbacks.
    fn coordinate(&mut self) -> Result<()> {
        let Some(group) = self.group.clone() else {
            return Ok(());
        };
        if let Subscription::Pattern(p) = &self.subscription {
            let topics = self.pattern_topics(p);
            if let Some(m) = &self.member_id {
                group.update_topics(m, topics);
            }
        }
        let member = match &self.member_id {
            Some(m) => m.clone(),
            None => {
                let topics = match &self.subscription {
                    Subscription::Topics(t) => t.clone(),
                    Subscription::Pattern(p) => self.pattern_topics(p),
                    _ => return Ok(()),
                };
                let id = group.join(self.member_spec(topics))?;
                self.member_id = Some(id.clone());
                id
            }
        };
        let mut view = match group.heartbeat(&member, &self.broker) {
            Ok(v) => v,
            Err(Error::StaleGeneration { .. }) => {
                // Removed from the group (did not poll within max_poll_interval): the
                // partitions may already be someone else's. Rejoin as a new member.
                self.leave_group(true);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if view.rebalancing && !view.joined {
            let owned: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
            let keep = if view.cooperative {
                owned
            } else {
                // Eager protocol: give up everything before joining (commit first).
                if !owned.is_empty() {
                    if self.config.enable_auto_commit {
                        let _ = self.commit_positions(&owned);
                    }
                    self.call_listener(Callback::Revoked, &owned);
                    for tp in &owned {
                        self.remove_partition(tp);
                    }
                }
                Vec::new()
            };
            group.join_round(&member, keep, &self.broker);
            view = match group.heartbeat(&member, &self.broker) {
                Ok(v) => v,
                Err(_) => {
                    self.leave_group(true);
                    return Ok(());
                }
            };
        }
        if !view.rebalancing && view.generation != self.generation {
            self.generation = view.generation;
            let new: BTreeSet<TopicPartition> = view.assignment.iter().cloned().collect();
            let revoked: Vec<TopicPartition> = self
                .assigned
                .keys()
                .filter(|tp| !new.contains(*tp))
                .cloned()
                .collect();
            if !revoked.is_empty() {
                if self.config.enable_auto_commit {
                    let _ = self.commit_positions(&revoked);
                }
                self.call_listener(Callback::Revoked, &revoked);
                for tp in &revoked {
                    self.remove_partition(tp);
                }
            }
            let mut added = Vec::new();
            for tp in new {
                if self.assigned.contains_key(&tp) {
                    continue;
                }
                if let Ok(log) = self.broker.partition_log(tp.topic(), tp.partition()) {
                    self.add_partition(tp.clone(), log);
                    added.push(tp);
                }
            }
            self.call_listener(Callback::Assigned, &added);
            if view.cooperative && !revoked.is_empty() {
                // KIP-429: revoked partitions are handed out in a follow-up round.
                group.request_rebalance();
            }
        }
        Ok(())
    }

    /// The position of `tp`, initialised from the committed offset or the reset policy.
    fn ensure_position(&mut self, tp: &TopicPartition) -> Result<i64> {
        let state = self.assigned.get(tp).ok_or_else(|| not_assigned(tp))?;
        let (start, end) = (state.log.log_start_offset(), state.log.log_end_offset());
        let pos = match state.position {
            Some(p) if p >= start && p <= end => return Ok(p),
            Some(p) => self.reset(tp, start, end, Some(p))?,
            None => {
                let committed = match &self.config.group_id {
                    Some(g) => self.broker.offset_store()?.committed(g, tp),
                    None => None,
                };
                match committed {
                    Some(c) if c.offset >= start && c.offset <= end => c.offset,
                    Some(c) => self.reset(tp, start, end, Some(c.offset))?,
                    None => self.reset(tp, start, end, None)?,
                }
            }
        };
        if let Some(s) = self.assigned.get_mut(tp) {
            s.position = Some(pos);
        }
        Ok(pos)
    }

    fn reset(&self, tp: &TopicPartition, start: i64, end: i64, bad: Option<i64>) -> Result<i64> {
        match (self.config.auto_offset_reset, bad) {
            (OffsetReset::Earliest, _) => Ok(start),
            (OffsetReset::Latest, _) => Ok(end),
            (OffsetReset::None, Some(offset)) => Err(Error::OffsetOutOfRange {
                partition: tp.clone(),
                offset,
                log_start: start,
                log_end: end,
            }),
            (OffsetReset::None, None) => Err(Error::NoOffset {
                group: self.config.group_id.clone().unwrap_or_default(),
                partition: tp.clone(),
            }),
        }
    }

    fn fetch(&mut self) -> Result<ConsumerRecords> {
        let mut out = ConsumerRecords::default();
        let tps: Vec<TopicPartition> = self
            .assigned
            .iter()
            .filter(|(_, s)| !s.paused)
            .map(|(tp, _)| tp.clone())
            .collect();
        if tps.is_empty() {
            return Ok(out);
        }
        // Every position first, as Kafka's updateFetchPositions: a reset error
        // (auto_offset_reset = none) must surface before anything is read, so no
        // partition's position moves past records the caller never received.
        for tp in &tps {
            self.ensure_position(tp)?;
        }
        self.rotation = self.rotation.wrapping_add(1);
        let mut budget_records = self.config.max_poll_records;
        let mut budget_bytes = self.config.fetch_max_bytes;
        for i in 0..tps.len() {
            let tp = &tps[(self.rotation + i) % tps.len()];
            let mut pos = self.ensure_position(tp)?;
            // Batches without records (compaction's empty batches, control batches) are
            // read past within the same poll, so a poll returns nothing only when there
            // is nothing to return.
            loop {
                let log = self.assigned[tp].log.clone();
                if pos >= log.log_end_offset() {
                    break;
                }
                let max = self.config.max_partition_fetch_bytes.min(budget_bytes);
                let fetched = match log.read(pos, max) {
                    Ok(f) => f,
                    // Retention moved the start meanwhile: reset on the next round.
                    Err(Error::OffsetOutOfRange { .. }) => {
                        let new = self.reset(
                            tp,
                            log.log_start_offset(),
                            log.log_end_offset(),
                            Some(pos),
                        )?;
                        if let Some(s) = self.assigned.get_mut(tp) {
                            s.position = Some(new);
                        }
                        break;
                    }
                    // A batch that does not decompress: as a damaged record below.
                    Err(e) if !out.is_empty() => {
                        self.pending_error = Some(e);
                        return Ok(out);
                    }
                    Err(e) => return Err(e),
                };
                let mut count = 0;
                let mut until = pos;
                for r in fetched.records() {
                    let r = match r {
                        Ok(r) => r,
                        // A damaged batch: hand out what this poll already gathered
                        // (their positions moved) and raise the error on the next poll,
                        // as Kafka's fetcher does; this partition stays before it.
                        Err(e) if !out.is_empty() => {
                            self.pending_error = Some(e);
                            return Ok(out);
                        }
                        Err(e) => return Err(e),
                    };
                    if r.offset() < pos {
                        continue;
                    }
                    if count == budget_records {
                        break;
                    }
                    count += 1;
                    until = r.offset() + 1;
                }
                if count == 0 || count < budget_records {
                    // Whole batches were returned: continue after them (skips offsets
                    // that compaction or control batches leave without records).
                    until = until.max(fetched.next_offset());
                }
                if let Some(s) = self.assigned.get_mut(tp) {
                    s.position = Some(until);
                }
                if count == 0 {
                    if until > pos {
                        pos = until;
                        continue;
                    }
                    break;
                }
                budget_bytes = budget_bytes.saturating_sub(fetched.bytes().len());
                budget_records -= count;
                out.count += count;
                out.parts.push(records::PartitionRecords {
                    tp: tp.clone(),
                    fetched,
                    from: pos,
                    until,
                });
                break;
            }
            if budget_records == 0 || budget_bytes == 0 {
                break;
            }
        }
        Ok(out)
    }

    fn maybe_auto_commit(&mut self) {
        if !self.config.enable_auto_commit || self.config.group_id.is_none() {
            return;
        }
        if self.last_auto_commit.elapsed() < self.config.auto_commit_interval {
            return;
        }
        self.last_auto_commit = Instant::now();
        let all: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
        // Kafka logs auto-commit failures and carries on; a fenced member rejoins.
        let _ = self.commit_positions(&all);
    }

    fn commit_positions(&mut self, tps: &[TopicPartition]) -> Result<()> {
        let offsets: Vec<(TopicPartition, OffsetAndMetadata)> = tps
            .iter()
            .filter_map(|tp| {
                let p = self.assigned.get(tp)?.position?;
                Some((tp.clone(), OffsetAndMetadata::new(p)))
            })
            .collect();
        self.commit_offsets_inner(&offsets)
    }

    fn commit_offsets_inner(
        &mut self,
        offsets: &[(TopicPartition, OffsetAndMetadata)],
    ) -> Result<()> {
        let group_id = self.group_id()?.to_string();
        if offsets.iter().any(|(_, o)| o.offset < 0) {
            return Err(Error::InvalidArgument(
                "a committed offset cannot be negative".into(),
            ));
        }
        // Kafka refuses commits for partitions that do not exist
        // (UNKNOWN_TOPIC_OR_PARTITION).
        for (tp, _) in offsets {
            self.broker.partition_log(tp.topic(), tp.partition())?;
        }
        crate::broker::offsets::validate_commit(&group_id, offsets)?;
        let store = self.broker.offset_store()?;
        match &self.group {
            Some(g) => g.commit(self.member_id.as_deref(), self.generation, || {
                store.commit(&group_id, offsets)
            }),
            None => store.commit(&group_id, offsets),
        }
    }

    /// Commits the current position of every assigned partition (the offsets after the
    /// records returned by the last `poll`), and waits until it is stored.
    ///
    /// # Errors
    /// [`Error::StaleGeneration`] when this member was fenced by a rebalance (its
    /// partitions may belong to another member now); [`Error::InvalidGroupId`] without
    /// a group; [`Error::GroupNotEmpty`] for a consumer without membership (`assign`)
    /// committing for a group that has members; [`Error::Io`]; [`Error::Closed`].
    pub fn commit_sync(&mut self) -> Result<()> {
        self.check_not_closed()?;
        self.fire_callbacks();
        let all: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
        self.commit_positions(&all)
    }

    /// Commits explicit offsets (the next offset to read, per partition).
    ///
    /// # Errors
    /// As [`commit_sync`](Self::commit_sync); [`Error::InvalidArgument`] for a negative
    /// offset.
    pub fn commit_sync_offsets(
        &mut self,
        offsets: &[(TopicPartition, OffsetAndMetadata)],
    ) -> Result<()> {
        self.check_not_closed()?;
        self.commit_offsets_inner(offsets)
    }

    /// Commits the current positions and calls `callback` with the outcome from the
    /// next `poll`, `commit_sync` or `close`, as Kafka's `commitAsync`.
    pub fn commit_async(&mut self, callback: impl FnOnce(Result<()>) + Send + 'static) {
        if self.closed {
            // No poll will come to run it: report at once.
            callback(Err(Error::Closed));
            return;
        }
        let all: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
        let result = self.commit_positions(&all);
        self.callbacks.push((Box::new(callback), result));
    }

    fn fire_callbacks(&mut self) {
        for (cb, result) in std::mem::take(&mut self.callbacks) {
            cb(result);
        }
    }

    fn check_not_closed(&self) -> Result<()> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// The group's committed offsets for `partitions` (`None` where nothing is committed).
    ///
    /// # Errors
    /// [`Error::InvalidGroupId`] without a group; [`Error::Io`]; [`Error::Closed`].
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndMetadata>>> {
        self.check_not_closed()?;
        let g = self.group_id()?;
        let store = self.broker.offset_store()?;
        Ok(partitions
            .iter()
            .map(|tp| (tp.clone(), store.committed(g, tp)))
            .collect())
    }

    /// Moves the position of an assigned partition; the next poll reads from `offset`.
    /// An offset outside the log is handled by `auto_offset_reset` at the next poll.
    ///
    /// # Errors
    /// [`Error::NotAssigned`] when `tp` is not assigned; [`Error::InvalidArgument`] when
    /// `offset` is negative; [`Error::Closed`].
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        self.check_not_closed()?;
        if offset < 0 {
            return Err(Error::InvalidArgument(format!(
                "cannot seek {tp} to negative offset {offset}"
            )));
        }
        let s = self.assigned.get_mut(tp).ok_or_else(|| not_assigned(tp))?;
        s.position = Some(offset);
        Ok(())
    }

    /// Seeks to the log start of `partitions` (every assigned one when empty).
    ///
    /// # Errors
    /// [`Error::NotAssigned`] for a partition not assigned; [`Error::Closed`].
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_with(partitions, |log| log.log_start_offset())
    }

    /// Seeks to the log end of `partitions` (every assigned one when empty).
    ///
    /// # Errors
    /// [`Error::NotAssigned`] for a partition not assigned; [`Error::Closed`].
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_with(partitions, |log| log.log_end_offset())
    }

    fn seek_with(
        &mut self,
        partitions: &[TopicPartition],
        f: impl Fn(&PartitionLog) -> i64,
    ) -> Result<()> {
        self.check_not_closed()?;
        let tps: Vec<TopicPartition> = if partitions.is_empty() {
            self.assigned.keys().cloned().collect()
        } else {
            partitions.to_vec()
        };
        for tp in &tps {
            let s = self.assigned.get_mut(tp).ok_or_else(|| not_assigned(tp))?;
            s.position = Some(f(&s.log));
        }
        Ok(())
    }

    /// The offset of the next record `poll` returns for `tp`.
    ///
    /// # Errors
    /// [`Error::NotAssigned`] when `tp` is not assigned; [`Error::NoOffset`] under
    /// `auto_offset_reset = none` without a committed offset; [`Error::Closed`].
    pub fn position(&mut self, tp: &TopicPartition) -> Result<i64> {
        self.check_not_closed()?;
        self.ensure_position(tp)
    }

    /// How far `tp`'s position is behind its log end (Kafka's `currentLag`); `None`
    /// when not assigned or not yet positioned.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        let s = self.assigned.get(tp)?;
        Some(s.log.log_end_offset() - s.position?)
    }

    /// For each partition, the first record whose timestamp is at or after the target
    /// time (ms since the epoch), through the time index: `None` when every record is
    /// older, as Kafka's `offsetsForTimes` maps such a partition to `null`. A partition
    /// listed twice is answered for its last target.
    ///
    /// As in Kafka, a negative target is refused: the ListOffsets sentinels -1 (latest)
    /// and -2 (earliest) are [`end_offsets`](Self::end_offsets) and
    /// [`beginning_offsets`](Self::beginning_offsets), so that a returned timestamp is
    /// always a record's.
    ///
    /// ```
    /// use brooklet::{Broker, ConsumerConfig, ProducerRecord, TopicConfig, TopicPartition};
    /// let dir = tempfile::tempdir().unwrap();
    /// let broker = Broker::open(dir.path())?;
    /// broker.create_topic("t", TopicConfig::new(1))?;
    /// for ts in [1_000, 2_000, 3_000] {
    ///     broker.producer().send(ProducerRecord::new("t").value("v").timestamp(ts))?;
    /// }
    /// let tp = TopicPartition::new("t", 0);
    /// let consumer = broker.consumer(ConsumerConfig::new());
    /// let found = consumer.offsets_for_times(&[(tp.clone(), 1_500)])?[&tp].unwrap();
    /// assert_eq!((found.offset, found.timestamp), (1, 2_000));
    /// assert_eq!(consumer.offsets_for_times(&[(tp.clone(), 9_000)])?[&tp], None);
    /// assert!(consumer.offsets_for_times(&[(tp, -1)]).is_err());
    /// # Ok::<(), brooklet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative target, before anything is looked up;
    /// [`Error::UnknownTopic`], [`Error::UnknownPartition`], [`Error::Corrupt`];
    /// [`Error::Closed`].
    pub fn offsets_for_times(
        &self,
        query: &[(TopicPartition, i64)],
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndTimestamp>>> {
        self.check_not_closed()?;
        // KafkaConsumer.offsetsForTimes: "The target time for partition ... is ...
        // The target time cannot be negative."
        if let Some((tp, ts)) = query.iter().find(|(_, ts)| *ts < 0) {
            return Err(Error::InvalidArgument(format!(
                "the target time for partition {tp} is {ts}, and it cannot be negative; use end_offsets for the latest offset (-1) or beginning_offsets for the earliest (-2)"
            )));
        }
        query
            .iter()
            .map(|(tp, ts)| {
                let log = self.broker.partition_log(tp.topic(), tp.partition())?;
                let found = log
                    .offset_for_timestamp(*ts)?
                    .map(|(offset, timestamp)| OffsetAndTimestamp { offset, timestamp });
                Ok((tp.clone(), found))
            })
            .collect()
    }

    /// Log start offsets of `partitions`.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`], [`Error::UnknownPartition`]; [`Error::Closed`].
    pub fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.offsets_with(partitions, |l| l.log_start_offset())
    }

    /// Log end offsets of `partitions`.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`], [`Error::UnknownPartition`]; [`Error::Closed`].
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.offsets_with(partitions, |l| l.log_end_offset())
    }

    fn offsets_with(
        &self,
        partitions: &[TopicPartition],
        f: impl Fn(&PartitionLog) -> i64,
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.check_not_closed()?;
        partitions
            .iter()
            .map(|tp| {
                Ok((
                    tp.clone(),
                    f(&self.broker.partition_log(tp.topic(), tp.partition())?),
                ))
            })
            .collect()
    }

    /// Stops fetching from `partitions` until resumed (they stay assigned).
    ///
    /// # Errors
    /// [`Error::NotAssigned`] for a partition not assigned; [`Error::Closed`].
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, true)
    }

    /// Resumes fetching from paused partitions.
    ///
    /// # Errors
    /// [`Error::NotAssigned`] for a partition not assigned; [`Error::Closed`].
    pub fn resume(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, false)
    }

    fn set_paused(&mut self, partitions: &[TopicPartition], paused: bool) -> Result<()> {
        self.check_not_closed()?;
        for tp in partitions {
            self.assigned
                .get_mut(tp)
                .ok_or_else(|| not_assigned(tp))?
                .paused = paused;
        }
        Ok(())
    }

    /// The paused partitions.
    pub fn paused(&self) -> Vec<TopicPartition> {
        self.assigned
            .iter()
            .filter(|(_, s)| s.paused)
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// The partitions currently assigned to this consumer.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assigned.keys().cloned().collect()
    }

    /// The subscribed topics (for a pattern: those matching now).
    pub fn subscription(&self) -> Vec<String> {
        match &self.subscription {
            Subscription::Topics(t) => t.clone(),
            Subscription::Pattern(p) => self.pattern_topics(p),
            _ => Vec::new(),
        }
    }

    /// The subscribed pattern, if any.
    pub fn subscription_pattern(&self) -> Option<&str> {
        match &self.subscription {
            Subscription::Pattern(p) => Some(p.as_str()),
            _ => None,
        }
    }

    /// This consumer's member id and generation in its group, once it joined.
    pub fn group_metadata(&self) -> Option<(String, i32)> {
        self.member_id.clone().map(|m| (m, self.generation))
    }

    /// Commits (under auto-commit), revokes partitions through the listener, leaves the
    /// group and releases everything. Dropping the consumer does the same.
    ///
    /// Every later call but `close` fails with [`Error::Closed`] (Kafka's closed
    /// consumer throws `IllegalStateException` from every method); the views
    /// (`assignment`, `subscription`, ...) report nothing.
    ///
    /// # Errors
    /// None today; kept fallible for symmetry with Kafka's `close`.
    pub fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.fire_callbacks();
        self.leave_group(false);
        let all: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
        for tp in all {
            self.remove_partition(&tp);
        }
        self.subscription = Subscription::None;
        self.closed = true;
        Ok(())
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[derive(Clone, Copy)]
enum Callback {
    Revoked,
    Assigned,
    Lost,
}

fn not_assigned(tp: &TopicPartition) -> Error {
    Error::NotAssigned {
        partition: tp.clone(),
    }
}
