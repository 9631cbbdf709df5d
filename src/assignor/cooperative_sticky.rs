//! Kafka's `cooperative-sticky` assignor (`CooperativeStickyAssignor`, KIP-429):
//! the sticky target, less the partitions that still have to be revoked elsewhere.

use std::collections::BTreeMap;

use super::sticky::sticky_assign;
use super::{Assignment, Assignor, COOPERATIVE_AND_EAGER, RebalanceProtocol, Subscription};

/// Kafka's `cooperative-sticky` assignor (KIP-429).
///
/// It computes exactly what [`StickyAssignor`](super::StickyAssignor) would, then takes out every
/// partition that would change hands: a partition given to a member that
/// did not own it, while another member of the group still claims it, is
/// left unassigned in this round. The old owner sees it missing from its
/// assignment and revokes it; the follow-up rebalance (which the group runs
/// as soon as anyone revoked something) then finds it unowned and assigns it.
/// Partitions last owned by a member that has left the group are unowned and
/// are assigned straight away.
///
/// A partition reaches a member in the round it is assigned only if the member
/// is its owner (the winner of any conflicting claims, see
/// [`StickyAssignor`](super::StickyAssignor)) or nobody else in the group claims it. This is what
/// Kafka's `CooperativeStickyAssignor.adjustAssignment` does; where Kafka
/// would let a member with a stale, losing claim take the partition at once,
/// this one holds it back as well.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CooperativeStickyAssignor;

impl CooperativeStickyAssignor {
    /// Kafka's name for this strategy.
    pub const NAME: &'static str = "cooperative-sticky";
}

impl Assignor for CooperativeStickyAssignor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn supported_protocols(&self) -> &[RebalanceProtocol] {
        COOPERATIVE_AND_EAGER
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, u32>,
        subscriptions: &BTreeMap<String, Subscription>,
    ) -> Assignment {
        sticky_assign(partitions_per_topic, subscriptions, true)
    }
}

#[cfg(test)]
#[path = "cooperative_sticky_tests.rs"]
mod tests;
