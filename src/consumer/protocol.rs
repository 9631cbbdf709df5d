//! A consumer's assignors as the group coordinator sees them: Kafka's consumer
//! protocol. The coordinator (broker side) only knows protocols by name; the member
//! whose protocol is chosen runs the assignor, as Kafka's group leader does
//! (`ConsumerCoordinator.onLeaderElected`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::assignor::{Assignor, RebalanceProtocol, Subscription};
use crate::broker::coordinator::{GroupProtocol, MemberMetadata};
use crate::record::TopicPartition;

/// One of the consumer's assignors, offered to the coordinator as a protocol.
pub(super) struct AssignorProtocol(pub(super) Arc<dyn Assignor>);

impl GroupProtocol for AssignorProtocol {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn cooperative(&self) -> bool {
        self.0
            .supported_protocols()
            .contains(&RebalanceProtocol::Cooperative)
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, u32>,
        members: &BTreeMap<String, MemberMetadata>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let subscriptions: BTreeMap<String, Subscription> = members
            .iter()
            .map(|(id, m)| {
                let subscription = Subscription {
                    topics: m.topics.clone(),
                    owned_partitions: m.owned_partitions.clone(),
                    generation: Some(m.generation),
                    group_instance_id: m.group_instance_id.clone(),
                };
                (id.clone(), subscription)
            })
            .collect();
        self.0.assign(partitions_per_topic, &subscriptions)
    }
}
