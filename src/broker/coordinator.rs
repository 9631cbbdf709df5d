//! The in-process group coordinator: member ids, generations, join / leave /
//! rebalance, static membership, liveness and fencing, one per group id.
//!
//! It follows Kafka's group protocol (KIP-62, KIP-345, KIP-429) without the network:
//!
//! 1. A membership or subscription change starts a rebalance and wakes every member.
//! 2. Each member, inside its next `poll`, prepares (eager: revokes everything and
//!    commits; cooperative: keeps its partitions) and joins the round, reporting what
//!    it owns.
//! 3. When every live member has joined, a member offering the chosen protocol
//!    computes the assignment with its assignor (the role of Kafka's group leader;
//!    see [`GroupProtocol`]), the generation advances, and every member picks up its
//!    partitions in its next `poll`.
//!
//! A member that does not poll within `max_poll_interval` is removed, so a stuck
//! member cannot stall the group. Commits carry the member's generation; one from an
//! older generation (a zombie) is refused.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_utils::sync::Unparker;
use parking_lot::Mutex;

use super::Broker;
use crate::error::{Error, Result};
use crate::record::TopicPartition;

/// One protocol a member can run, as it lists them when joining (Kafka's JoinGroup
/// `protocols`, one per assignor, in order of preference). As in Kafka, the
/// coordinator only picks a protocol every member lists and never looks inside: the
/// member whose protocol is picked computes the assignment, as Kafka's group leader
/// does. The assignors themselves are client-side (`crate::assignor`).
pub(crate) trait GroupProtocol: Send + Sync {
    /// The protocol's name (the assignor's, e.g. `range`).
    fn name(&self) -> &str;

    /// Whether it can rebalance cooperatively (KIP-429).
    fn cooperative(&self) -> bool;

    /// The leader's part: every member's partitions, from the partition counts of
    /// the subscribed topics and each member's metadata (keyed by member id).
    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, u32>,
        members: &BTreeMap<String, MemberMetadata>,
    ) -> BTreeMap<String, Vec<TopicPartition>>;
}

/// What the leader learns of each member when a round completes (the metadata of
/// Kafka's consumer protocol).
pub(crate) struct MemberMetadata {
    pub(crate) topics: Vec<String>,
    pub(crate) owned_partitions: Vec<TopicPartition>,
    /// The generation in which it owned `owned_partitions`.
    pub(crate) generation: i32,
    pub(crate) group_instance_id: Option<String>,
}

/// What a consumer asks for when it joins.
pub(crate) struct MemberSpec {
    pub(crate) instance_id: Option<String>,
    pub(crate) topics: Vec<String>,
    pub(crate) protocols: Vec<Arc<dyn GroupProtocol>>,
    pub(crate) max_poll_interval: Duration,
    pub(crate) session_timeout: Duration,
    pub(crate) unparker: Unparker,
}

struct Member {
    spec: MemberSpec,
    last_seen: Instant,
    /// A static member whose consumer closed: kept until the session timeout.
    gone_since: Option<Instant>,
    owned: Vec<TopicPartition>,
    assignment: Vec<TopicPartition>,
    joined_at: u64,
}

#[derive(Default)]
struct State {
    generation: i32,
    members: BTreeMap<String, Member>,
    rebalancing: bool,
    joined: BTreeSet<String>,
    protocol: Option<String>,
    cooperative: bool,
    seq: u64,
}

/// A member's view of its group, returned by [`Group::heartbeat`].
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) generation: i32,
    pub(crate) rebalancing: bool,
    pub(crate) joined: bool,
    pub(crate) cooperative: bool,
    pub(crate) assignment: Vec<TopicPartition>,
}

/// State of a group as admin tools see it (Kafka's group states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Members are rejoining for a new generation.
    PreparingRebalance,
    /// Every member has its assignment.
    Stable,
}

/// One member, as [`Broker::describe_group`](crate::Broker::describe_group) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// Its static `group_instance_id`, if any.
    pub group_instance_id: Option<String>,
    /// Topics it subscribes to.
    pub topics: Vec<String>,
    /// Partitions assigned to it in the current generation.
    pub assignment: Vec<TopicPartition>,
}

/// A group, as [`Broker::describe_group`](crate::Broker::describe_group) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: GroupState,
    /// The current generation (0 before the first rebalance).
    pub generation: i32,
    /// The assignor of the current generation.
    pub assignor: Option<String>,
    /// Members, sorted by member id.
    pub members: Vec<MemberDescription>,
}

/// One consumer group.
pub(crate) struct Group {
    id: String,
    state: Mutex<State>,
}

/// Every group of a broker.
#[derive(Default)]
pub(crate) struct Groups {
    map: Mutex<HashMap<String, Arc<Group>>>,
}

impl Groups {
    pub(crate) fn get_or_create(&self, id: &str) -> Arc<Group> {
        Arc::clone(self.map.lock().entry(id.to_string()).or_insert_with(|| {
            Arc::new(Group {
                id: id.to_string(),
                state: Mutex::new(State::default()),
            })
        }))
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Group>> {
        self.map.lock().get(id).cloned()
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.map.lock().keys().cloned().collect()
    }

    pub(crate) fn remove_if_empty(&self, id: &str) -> bool {
        let mut map = self.map.lock();
        match map.get(id) {
            Some(g) if !g.state.lock().members.is_empty() => false,
            _ => {
                map.remove(id);
                true
            }
        }
    }
}

fn fenced(group: &str, member: &str, generation: i32, current: i32) -> Error {
    Error::StaleGeneration {
        group: group.to_string(),
        member: member.to_string(),
        generation,
        current,
    }
}

impl State {
    fn start_rebalance(&mut self) {
        self.rebalancing = true;
        self.joined.clear();
        self.recompute_protocol();
        self.wake_all();
    }

    fn wake_all(&self) {
        for m in self.members.values() {
            m.spec.unparker.unpark();
        }
    }

    /// The assignor every member supports, in the oldest member's order of preference,
    /// and whether the group can rebalance cooperatively (every member's assignors
    /// support it, as Kafka's ConsumerCoordinator requires).
    fn recompute_protocol(&mut self) {
        let Some(first) = self.members.values().min_by_key(|m| m.joined_at) else {
            self.protocol = None;
            self.cooperative = false;
            return;
        };
        let chosen = first.spec.protocols.iter().find(|a| {
            self.members
                .values()
                .all(|m| m.spec.protocols.iter().any(|b| b.name() == a.name()))
        });
        self.cooperative = chosen.is_some_and(|a| {
            a.cooperative()
                && self
                    .members
                    .values()
                    .all(|m| m.spec.protocols.iter().all(|b| b.cooperative()))
        });
        self.protocol = chosen.map(|a| a.name().to_string());
    }

    fn remove_member(&mut self, id: &str) {
        if self.members.remove(id).is_some() {
            self.joined.remove(id);
            if self.members.is_empty() {
                self.rebalancing = false;
                self.joined.clear();
            } else {
                self.start_rebalance();
            }
        }
    }

    /// Removes members that stopped polling (or static members gone for longer than
    /// their session timeout), except `keep`.
    fn expire(&mut self, now: Instant, keep: &str) {
        let dead: Vec<String> = self
            .members
            .iter()
            .filter(|(id, m)| {
                id.as_str() != keep
                    && match m.gone_since {
                        Some(t) => now.duration_since(t) >= m.spec.session_timeout,
                        None => now.duration_since(m.last_seen) >= m.spec.max_poll_interval,
                    }
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in dead {
            self.remove_member(&id);
        }
    }

    fn maybe_complete(&mut self, group: &str, broker: &Broker) {
        if !self.rebalancing || self.joined.len() < self.members.len() {
            return;
        }
        if !self.members.keys().all(|id| self.joined.contains(id)) {
            return;
        }
        let Some(name) = self.protocol.clone() else {
            return;
        };
        let Some(protocol) = self
            .members
            .values()
            .flat_map(|m| m.spec.protocols.iter())
            .find(|a| a.name() == name)
            .cloned()
        else {
            return;
        };
        let mut partitions_per_topic = BTreeMap::new();
        let mut subs = BTreeMap::new();
        for (id, m) in &self.members {
            for t in &m.spec.topics {
                if let Ok(n) = broker.partition_count(t) {
                    partitions_per_topic.insert(t.clone(), n);
                }
            }
            subs.insert(
                id.clone(),
                MemberMetadata {
                    topics: m.spec.topics.clone(),
                    owned_partitions: m.owned.clone(),
                    generation: self.generation,
                    group_instance_id: m.spec.instance_id.clone(),
                },
            );
        }
        let _ = group;
        let mut assignment = protocol.assign(&partitions_per_topic, &subs);
        for (id, m) in self.members.iter_mut() {
            m.assignment = assignment.remove(id).unwrap_or_default();
        }
        self.generation += 1;
        self.rebalancing = false;
        self.joined.clear();
        self.wake_all();
    }
}

impl Group {
    /// Adds a member and returns its id. A static member (`instance_id`) that rejoins
    /// takes over its previous identity's assignment without a rebalance when its
    /// subscription is unchanged (KIP-345); the previous member id is fenced.
    pub(crate) fn join(&self, spec: MemberSpec) -> Result<String> {
        let mut st = self.state.lock();
        if !st.members.is_empty() {
            let common = spec.protocols.iter().any(|a| {
                st.members
                    .values()
                    .all(|m| m.spec.protocols.iter().any(|b| b.name() == a.name()))
            });
            if !common {
                return Err(Error::InconsistentGroupProtocol {
                    group: self.id.clone(),
                });
            }
        }
        st.seq += 1;
        let seq = st.seq;
        let prefix = spec.instance_id.as_deref().unwrap_or("consumer");
        let id = format!("{prefix}-{seq}");
        let previous = spec.instance_id.as_ref().and_then(|iid| {
            st.members
                .iter()
                .find(|(_, m)| m.spec.instance_id.as_ref() == Some(iid))
                .map(|(k, _)| k.clone())
        });
        let mut member = Member {
            spec,
            last_seen: Instant::now(),
            gone_since: None,
            owned: Vec::new(),
            assignment: Vec::new(),
            joined_at: seq,
        };
        match previous.and_then(|p| st.members.remove(&p).map(|m| (p, m))) {
            Some((old_id, old)) => {
                let same_topics = old.spec.topics == member.spec.topics;
                member.assignment = old.assignment;
                member.owned = old.owned;
                member.joined_at = old.joined_at;
                let was_joined = st.joined.remove(&old_id);
                st.members.insert(id.clone(), member);
                if was_joined {
                    st.joined.insert(id.clone());
                }
                if !same_topics {
                    st.start_rebalance();
                }
            }
            None => {
                st.members.insert(id.clone(), member);
                st.start_rebalance();
            }
        }
        Ok(id)
    }

    /// A member leaves: at once for dynamic members; a static member is kept until its
    /// session timeout (it may come back under the same instance id).
    pub(crate) fn leave(&self, member: &str) {
        let mut st = self.state.lock();
        let is_static = st
            .members
            .get(member)
            .is_some_and(|m| m.spec.instance_id.is_some());
        if is_static {
            if let Some(m) = st.members.get_mut(member) {
                m.gone_since = Some(Instant::now());
            }
        } else {
            st.remove_member(member);
        }
    }

    /// Changes a member's subscription; a change starts a rebalance.
    pub(crate) fn update_topics(&self, member: &str, topics: Vec<String>) {
        let mut st = self.state.lock();
        if let Some(m) = st.members.get_mut(member)
            && m.spec.topics != topics
        {
            m.spec.topics = topics;
            st.start_rebalance();
        }
    }

    /// Records that `member` is alive, removes dead members, and returns its view.
    ///
    /// # Errors
    /// [`Error::StaleGeneration`] when the member was removed (it must rejoin).
    pub(crate) fn heartbeat(&self, member: &str, broker: &Broker) -> Result<View> {
        let mut st = self.state.lock();
        let now = Instant::now();
        let current = st.generation;
        let Some(m) = st.members.get_mut(member) else {
            return Err(fenced(&self.id, member, -1, current));
        };
        m.last_seen = now;
        st.expire(now, member);
        st.maybe_complete(&self.id, broker);
        let m = &st.members[member];
        Ok(View {
            generation: st.generation,
            rebalancing: st.rebalancing,
            joined: st.joined.contains(member),
            cooperative: st.cooperative,
            assignment: m.assignment.clone(),
        })
    }

    /// The member joins the current rebalance round, reporting what it still owns.
    pub(crate) fn join_round(&self, member: &str, owned: Vec<TopicPartition>, broker: &Broker) {
        let mut st = self.state.lock();
        if !st.rebalancing {
            return;
        }
        if let Some(m) = st.members.get_mut(member) {
            m.owned = owned;
            st.joined.insert(member.to_string());
            st.maybe_complete(&self.id, broker);
        }
    }

    /// Starts a rebalance (a cooperative member revoked partitions and asks for the
    /// follow-up round that hands them out).
    pub(crate) fn request_rebalance(&self) {
        let mut st = self.state.lock();
        if !st.rebalancing && !st.members.is_empty() {
            st.start_rebalance();
        }
    }

    /// Runs `store` (the commit's append) if `member` is in the current generation,
    /// holding the group's lock throughout, as Kafka's `doCommitOffsets` does inside
    /// `group.inLock`: no rebalance can fence the member between the check and the
    /// write, so a zombie can never rewind a group. `member == None` is a consumer
    /// without group membership (manual assignment), allowed only while the group has
    /// no members, as in Kafka.
    ///
    /// # Errors
    /// [`Error::StaleGeneration`] for a fenced member; `store`'s error.
    pub(crate) fn commit(
        &self,
        member: Option<&str>,
        generation: i32,
        store: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let st = self.state.lock();
        match member {
            None if st.members.is_empty() => {}
            None => {
                // A consumer without membership (assign) commits from outside.
                return Err(Error::GroupNotEmpty {
                    group: self.id.clone(),
                });
            }
            Some(m) if !st.members.contains_key(m) || generation != st.generation => {
                return Err(fenced(&self.id, m, generation, st.generation));
            }
            Some(_) => {}
        }
        store()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.state.lock().members.is_empty()
    }

    pub(crate) fn describe(&self) -> GroupDescription {
        let st = self.state.lock();
        let state = if st.members.is_empty() {
            GroupState::Empty
        } else if st.rebalancing {
            GroupState::PreparingRebalance
        } else {
            GroupState::Stable
        };
        GroupDescription {
            group_id: self.id.clone(),
            state,
            generation: st.generation,
            assignor: st.protocol.clone(),
            members: st
                .members
                .iter()
                .map(|(id, m)| MemberDescription {
                    member_id: id.clone(),
                    group_instance_id: m.spec.instance_id.clone(),
                    topics: m.spec.topics.clone(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }
}
