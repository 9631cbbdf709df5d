//! Kafka's `roundrobin` assignor (`RoundRobinAssignor`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::{
    Assignment, Assignor, EAGER_ONLY, RebalanceProtocol, Subscription, empty_assignment,
    members_in_kafka_order, sort_lists,
};
use crate::record::TopicPartition;

/// Kafka's `roundrobin` assignor.
///
/// All partitions of all subscribed topics, sorted by topic then partition,
/// are dealt to the members in order (same order as [`RangeAssignor`](super::RangeAssignor)),
/// skipping a member when it does not subscribe to the partition's topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoundRobinAssignor;

impl RoundRobinAssignor {
    /// Kafka's name for this strategy.
    pub const NAME: &'static str = "roundrobin";
}

impl Assignor for RoundRobinAssignor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn supported_protocols(&self) -> &[RebalanceProtocol] {
        EAGER_ONLY
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, u32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Assignment {
        let ordered = members_in_kafka_order(subscriptions);
        let topic_sets: Vec<HashSet<&str>> = ordered
            .iter()
            .map(|(_, s)| s.topics.iter().map(String::as_str).collect())
            .collect();
        let all_topics: BTreeSet<&str> = topic_sets.iter().flatten().copied().collect();
        let mut out = empty_assignment(subscriptions);
        let mut cursor = 0usize;
        for topic in all_topics {
            let Some(&count) = partitions_per_topic.get(topic) else {
                continue;
            };
            for p in 0..count {
                // Someone subscribes to `topic` (it came from a subscription),
                // so this stops within one turn around the circle.
                while !topic_sets[cursor % ordered.len()].contains(topic) {
                    cursor += 1;
                }
                let id = ordered[cursor % ordered.len()].0;
                cursor += 1;
                let list = out.get_mut(id).expect("every member has an entry");
                list.push(TopicPartition::new(topic, p));
            }
        }
        sort_lists(&mut out);
        out
    }
}

#[cfg(test)]
#[path = "round_robin_tests.rs"]
mod tests;
