//! Kafka's client-side partition assignors: `range`, `roundrobin`, `sticky`
//! and `cooperative-sticky`.
//!
//! In Kafka the group leader runs one of these over every member's
//! [`Subscription`] and hands each member its list of partitions. The four
//! assignors here reproduce the Java client's results for the same input
//! (without rack awareness, which brooklet has no use for):
//!
//! * [`RangeAssignor`] splits every topic into contiguous ranges, so members
//!   subscribed to the same topics get the same partition numbers of each
//!   (co-partitioning).
//! * [`RoundRobinAssignor`] deals all partitions out one by one.
//! * [`StickyAssignor`] (KIP-54) balances the group while keeping as many
//!   partitions as it can where they were.
//! * [`CooperativeStickyAssignor`] (KIP-429) computes the sticky target, then
//!   holds back every partition that still has to be revoked from another
//!   member, so nothing is ever owned by two members at once.
//!
//! Where the Java client's choice depends on hash-map iteration order, ties
//! are broken by member id and partition instead (see [`StickyAssignor`]).
//!
//! Every function here is pure: the output only depends on the arguments, and
//! every list in the output is sorted by topic name, then partition number.

mod cooperative_sticky;
mod range;
mod round_robin;
mod sticky;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::record::TopicPartition;

pub use cooperative_sticky::CooperativeStickyAssignor;
pub use range::RangeAssignor;
pub use round_robin::RoundRobinAssignor;
pub use sticky::StickyAssignor;

/// Eager (stop-the-world) or cooperative (incremental, KIP-429) rebalancing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RebalanceProtocol {
    /// Every member gives up all of its partitions before the group is
    /// reassigned.
    Eager,
    /// Members keep their partitions through a rebalance and give up only the
    /// ones the new assignment takes away; those are handed to their new owner
    /// in a follow-up rebalance.
    Cooperative,
}

/// What one member tells the assignor (Kafka's
/// `ConsumerPartitionAssignor.Subscription`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Topics the member subscribes to.
    pub topics: Vec<String>,
    /// Partitions the member owned in the previous generation.
    pub owned_partitions: Vec<TopicPartition>,
    /// Generation in which the member owned `owned_partitions`. The sticky
    /// assignors use it to settle conflicting claims: the highest generation
    /// wins; `None` (or a negative value) ranks below every generation.
    pub generation: Option<i32>,
    /// Static membership id (`group.instance.id`), if the member has one.
    pub group_instance_id: Option<String>,
}

impl Subscription {
    /// A subscription to `topics` from a member that owns nothing yet.
    pub fn new<I, S>(topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Subscription {
            topics: topics.into_iter().map(Into::into).collect(),
            ..Subscription::default()
        }
    }

    /// Sets the partitions the member owned in the previous generation.
    pub fn with_owned_partitions(
        mut self,
        owned: impl IntoIterator<Item = TopicPartition>,
    ) -> Self {
        self.owned_partitions = owned.into_iter().collect();
        self
    }

    /// Sets the generation in which the member owned its partitions.
    pub fn with_generation(mut self, generation: i32) -> Self {
        self.generation = Some(generation);
        self
    }

    /// Sets the member's static membership id.
    pub fn with_group_instance_id(mut self, id: impl Into<String>) -> Self {
        self.group_instance_id = Some(id.into());
        self
    }
}

/// An assignment: member id to the partitions it is given, sorted by topic
/// then partition. Every member of the group has an entry, possibly empty.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

/// A partition assignment strategy (Kafka's `ConsumerPartitionAssignor`).
pub trait Assignor: Send + Sync + std::fmt::Debug {
    /// The strategy's name as Kafka spells it (`partition.assignment.strategy`
    /// members agree on it by name).
    fn name(&self) -> &str;

    /// The rebalance protocols this strategy can run under, the preferred one
    /// first.
    fn supported_protocols(&self) -> &[RebalanceProtocol];

    /// Assigns the partitions of the subscribed topics to the members.
    ///
    /// `partitions_per_topic` maps each existing topic to its partition
    /// count; subscribed topics missing from it are ignored, and so are
    /// topics nobody subscribes to. `subscriptions` is keyed by member id.
    /// The result has an entry for every member.
    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, u32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Assignment;
}

/// The built-in assignor Kafka knows by `name` (`"range"`, `"roundrobin"`,
/// `"sticky"` or `"cooperative-sticky"`).
pub fn assignor_by_name(name: &str) -> Option<Box<dyn Assignor>> {
    match name {
        RangeAssignor::NAME => Some(Box::new(RangeAssignor)),
        RoundRobinAssignor::NAME => Some(Box::new(RoundRobinAssignor)),
        StickyAssignor::NAME => Some(Box::new(StickyAssignor)),
        CooperativeStickyAssignor::NAME => Some(Box::new(CooperativeStickyAssignor)),
        _ => None,
    }
}

pub(crate) const EAGER_ONLY: &[RebalanceProtocol] = &[RebalanceProtocol::Eager];
pub(crate) const COOPERATIVE_AND_EAGER: &[RebalanceProtocol] =
    &[RebalanceProtocol::Cooperative, RebalanceProtocol::Eager];

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Kafka's member order for `range` and `roundrobin`: members with a
/// `group_instance_id` first, ordered by it, then the rest by member id.
pub(crate) fn compare_members(a: (&str, &Subscription), b: (&str, &Subscription)) -> Ordering {
    match (&a.1.group_instance_id, &b.1.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y).then_with(|| a.0.cmp(b.0)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.0.cmp(b.0),
    }
}

pub(crate) fn members_in_kafka_order(
    subscriptions: &BTreeMap<String, Subscription>,
) -> Vec<(&str, &Subscription)> {
    let mut members: Vec<(&str, &Subscription)> = subscriptions
        .iter()
        .map(|(id, s)| (id.as_str(), s))
        .collect();
    members.sort_by(|a, b| compare_members(*a, *b));
    members
}

pub(crate) fn empty_assignment(subscriptions: &BTreeMap<String, Subscription>) -> Assignment {
    subscriptions
        .keys()
        .map(|id| (id.clone(), Vec::new()))
        .collect()
}

pub(crate) fn sort_lists(assignment: &mut Assignment) {
    for list in assignment.values_mut() {
        list.sort_by(|a, b| {
            a.topic()
                .cmp(b.topic())
                .then(a.partition().cmp(&b.partition()))
        });
    }
}

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
