//! Kafka's `range` assignor (`RangeAssignor`).

use std::collections::{BTreeMap, HashSet};

use super::{
    Assignment, Assignor, EAGER_ONLY, RebalanceProtocol, Subscription, empty_assignment,
    members_in_kafka_order, sort_lists,
};
use crate::record::TopicPartition;

/// Kafka's `range` assignor, the Java client's historical default.
///
/// Topic by topic, the members subscribed to it are put in order (static
/// members first by `group_instance_id`, then the others by member id) and
/// the partitions are cut into contiguous ranges: with `n` partitions and `m`
/// members each gets `n / m`, and the first `n % m` get one more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RangeAssignor;

impl RangeAssignor {
    /// Kafka's name for this strategy.
    pub const NAME: &'static str = "range";
}

impl Assignor for RangeAssignor {
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
        let mut out = empty_assignment(subscriptions);
        for (topic, &count) in partitions_per_topic {
            let members: Vec<&str> = ordered
                .iter()
                .zip(&topic_sets)
                .filter(|(_, topics)| topics.contains(topic.as_str()))
                .map(|((id, _), _)| *id)
                .collect();
            if count == 0 || members.is_empty() {
                continue;
            }
            let n = members.len() as u32;
            let (each, extra) = (count / n, count % n);
            let mut next = 0;
            for (i, id) in members.into_iter().enumerate() {
                let take = each + u32::from((i as u32) < extra);
                let list = out.get_mut(id).expect("every member has an entry");
                list.extend((next..next + take).map(|p| TopicPartition::new(topic.as_str(), p)));
                next += take;
            }
        }
        sort_lists(&mut out);
        out
    }
}

#[cfg(test)]
#[path = "range_tests.rs"]
mod tests;
