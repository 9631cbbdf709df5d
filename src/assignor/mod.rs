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

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use crate::TopicPartition;

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

/// Kafka's `roundrobin` assignor.
///
/// All partitions of all subscribed topics, sorted by topic then partition,
/// are dealt to the members in order (same order as [`RangeAssignor`]),
/// skipping a member when it does not subscribe to the partition's topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoundRobinAssignor;

impl RoundRobinAssignor {
    /// Kafka's name for this strategy.
    pub const NAME: &'static str = "roundrobin";
}

/// Kafka's `sticky` assignor (KIP-54), for the eager protocol.
///
/// Its target is, in order of priority: a balanced group (when every member
/// subscribes to the same topics, assigned counts differ by at most one;
/// otherwise no partition could move to a member holding two or more fewer),
/// then as few partitions moving as possible.
///
/// Previously owned partitions come from [`Subscription::owned_partitions`].
/// When several members claim the same partition, the claim from the highest
/// [`Subscription::generation`] wins; if that highest generation is shared,
/// nobody keeps the partition. Lower-generation claims are remembered and,
/// when members subscribe to different topics, a partition is moved back to
/// its lower-generation owner when that improves balance, as Kafka does.
///
/// Where Kafka's own choice depends on Java hash-map iteration order, ties
/// are broken by member id (lowest first) and partition (lowest first): for
/// instance, when more members own at least the larger quota than may keep
/// it, the members that sort first keep the extra partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StickyAssignor;

impl StickyAssignor {
    /// Kafka's name for this strategy.
    pub const NAME: &'static str = "sticky";
}

/// Kafka's `cooperative-sticky` assignor (KIP-429).
///
/// It computes exactly what [`StickyAssignor`] would, then takes out every
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
/// [`StickyAssignor`]) or nobody else in the group claims it. This is what
/// Kafka's `CooperativeStickyAssignor.adjustAssignment` does; where Kafka
/// would let a member with a stale, losing claim take the partition at once,
/// this one holds it back as well.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CooperativeStickyAssignor;

impl CooperativeStickyAssignor {
    /// Kafka's name for this strategy.
    pub const NAME: &'static str = "cooperative-sticky";
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

const EAGER_ONLY: &[RebalanceProtocol] = &[RebalanceProtocol::Eager];
const COOPERATIVE_AND_EAGER: &[RebalanceProtocol] =
    &[RebalanceProtocol::Cooperative, RebalanceProtocol::Eager];

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

impl Assignor for StickyAssignor {
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
        sticky_assign(partitions_per_topic, subscriptions, false)
    }
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

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Kafka's member order for `range` and `roundrobin`: members with a
/// `group_instance_id` first, ordered by it, then the rest by member id.
fn compare_members(a: (&str, &Subscription), b: (&str, &Subscription)) -> Ordering {
    match (&a.1.group_instance_id, &b.1.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y).then_with(|| a.0.cmp(b.0)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.0.cmp(b.0),
    }
}

fn members_in_kafka_order(
    subscriptions: &BTreeMap<String, Subscription>,
) -> Vec<(&str, &Subscription)> {
    let mut members: Vec<(&str, &Subscription)> = subscriptions
        .iter()
        .map(|(id, s)| (id.as_str(), s))
        .collect();
    members.sort_by(|a, b| compare_members(*a, *b));
    members
}

fn empty_assignment(subscriptions: &BTreeMap<String, Subscription>) -> Assignment {
    subscriptions
        .keys()
        .map(|id| (id.clone(), Vec::new()))
        .collect()
}

fn sort_lists(assignment: &mut Assignment) {
    for list in assignment.values_mut() {
        list.sort_by(|a, b| {
            a.topic()
                .cmp(b.topic())
                .then(a.partition().cmp(&b.partition()))
        });
    }
}

// ---------------------------------------------------------------------------
// Sticky assignment
// ---------------------------------------------------------------------------

/// Generation assumed for a member that reports none (Kafka's
/// `DEFAULT_GENERATION`).
const NO_GENERATION: i32 = -1;

/// The member's generation for settling claims; like Kafka, a negative one
/// counts as none.
fn generation_of(subscription: &Subscription) -> i32 {
    subscription
        .generation
        .map_or(NO_GENERATION, |g| g.max(NO_GENERATION))
}

/// The sticky problem with members, topics and partitions turned into
/// indices. Members are in member-id order, topics in name order, and
/// partition indices run topic by topic, so sorting indices sorts partitions
/// by (topic, partition).
struct StickyInput<'a> {
    members: Vec<&'a str>,
    topics: Vec<&'a str>,
    /// `offsets[t]..offsets[t + 1]` are the partition indices of topic `t`.
    offsets: Vec<usize>,
    /// Topic of each partition index.
    topic_of: Vec<usize>,
    /// `subscribed[m][t]`: member `m` subscribes to topic `t`.
    subscribed: Vec<Vec<bool>>,
    /// Every member subscribes to the same set of topics.
    all_equal: bool,
    /// Partitions each member keeps a valid claim on, in the order it listed
    /// them.
    owned: Vec<Vec<usize>>,
    /// Owner of each partition once conflicting claims are settled.
    owner: Vec<Option<usize>>,
    /// Every member claiming each partition, winning or not.
    claimers: Vec<Vec<usize>>,
    /// The highest-generation claim below the group's newest generation
    /// (Kafka's "previous assignment"), used by the general algorithm.
    prev_owner: Vec<Option<usize>>,
}

impl<'a> StickyInput<'a> {
    fn new(
        partitions_per_topic: &'a BTreeMap<String, u32>,
        subscriptions: &'a BTreeMap<String, Subscription>,
    ) -> Self {
        let members: Vec<&str> = subscriptions.keys().map(String::as_str).collect();
        let subs: Vec<&Subscription> = subscriptions.values().collect();
        let wanted: HashSet<&str> = subs
            .iter()
            .flat_map(|s| s.topics.iter().map(String::as_str))
            .collect();

        let mut topics = Vec::new();
        let mut offsets = vec![0];
        let mut topic_of = Vec::new();
        for (topic, &count) in partitions_per_topic {
            if count == 0 || !wanted.contains(topic.as_str()) {
                continue;
            }
            topic_of.extend(std::iter::repeat_n(topics.len(), count as usize));
            topics.push(topic.as_str());
            offsets.push(offsets.last().unwrap() + count as usize);
        }
        let topic_index: HashMap<&str, usize> =
            topics.iter().enumerate().map(|(i, t)| (*t, i)).collect();

        let subscribed: Vec<Vec<bool>> = subs
            .iter()
            .map(|s| {
                let mut row = vec![false; topics.len()];
                for t in &s.topics {
                    if let Some(&i) = topic_index.get(t.as_str()) {
                        row[i] = true;
                    }
                }
                row
            })
            .collect();

        let topic_sets: Vec<BTreeSet<&str>> = subs
            .iter()
            .map(|s| s.topics.iter().map(String::as_str).collect())
            .collect();
        let all_equal = topic_sets.windows(2).all(|w| w[0] == w[1]);

        // Gather every claim on an existing partition, once per member.
        let total = *offsets.last().unwrap();
        let mut claims: Vec<Vec<(usize, i32)>> = vec![Vec::new(); total];
        let mut listed: Vec<Vec<usize>> = Vec::with_capacity(subs.len());
        for (m, s) in subs.iter().enumerate() {
            let generation = generation_of(s);
            let mut seen = HashSet::new();
            let mut mine = Vec::new();
            for tp in &s.owned_partitions {
                let Some(&t) = topic_index.get(tp.topic()) else {
                    continue;
                };
                let p = offsets[t] + tp.partition() as usize;
                if p < offsets[t + 1] && seen.insert(p) {
                    claims[p].push((m, generation));
                    mine.push(p);
                }
            }
            listed.push(mine);
        }

        let newest = subs
            .iter()
            .map(|s| generation_of(s))
            .max()
            .unwrap_or(NO_GENERATION);
        let mut owner = vec![None; total];
        let mut prev_owner = vec![None; total];
        for (p, cs) in claims.iter().enumerate() {
            if let Some(top) = cs.iter().map(|&(_, g)| g).max() {
                let mut winners = cs.iter().filter(|&&(_, g)| g == top);
                let first = winners.next().map(|&(m, _)| m);
                if winners.next().is_none() {
                    owner[p] = first;
                }
            }
            // First claim wins among equal generations (claims are in member order).
            let mut best: Option<(usize, i32)> = None;
            for &(m, g) in cs {
                if g < newest && best.is_none_or(|(_, bg)| g > bg) {
                    best = Some((m, g));
                }
            }
            prev_owner[p] = best.map(|(m, _)| m);
        }
        let owned = listed
            .into_iter()
            .enumerate()
            .map(|(m, ps)| ps.into_iter().filter(|&p| owner[p] == Some(m)).collect())
            .collect();
        let claimers = claims
            .into_iter()
            .map(|cs| cs.into_iter().map(|(m, _)| m).collect())
            .collect();

        StickyInput {
            members,
            topics,
            offsets,
            topic_of,
            subscribed,
            all_equal,
            owned,
            owner,
            claimers,
            prev_owner,
        }
    }

    fn total_partitions(&self) -> usize {
        *self.offsets.last().unwrap()
    }

    fn topic_len(&self, t: usize) -> usize {
        self.offsets[t + 1] - self.offsets[t]
    }

    fn partition_number(&self, p: usize) -> usize {
        p - self.offsets[self.topic_of[p]]
    }
}

fn sticky_assign(
    partitions_per_topic: &BTreeMap<String, u32>,
    subscriptions: &BTreeMap<String, Subscription>,
    cooperative: bool,
) -> Assignment {
    if subscriptions.is_empty() {
        return Assignment::new();
    }
    let input = StickyInput::new(partitions_per_topic, subscriptions);
    let mut lists = if input.all_equal {
        constrained_assign(&input)
    } else {
        let owners = GeneralAssigner::new(&input).run();
        let mut lists = vec![Vec::new(); input.members.len()];
        for (p, m) in owners.into_iter().enumerate() {
            if let Some(m) = m {
                lists[m].push(p);
            }
        }
        lists
    };
    if cooperative {
        // Hold back partitions changing hands: given to a member that does not
        // own them while someone else in the group still claims them.
        for (m, list) in lists.iter_mut().enumerate() {
            list.retain(|&p| {
                input.owner[p] == Some(m) || input.claimers[p].iter().all(|&c| c == m)
            });
        }
    }
    input
        .members
        .iter()
        .zip(lists)
        .map(|(id, mut list)| {
            list.sort_unstable();
            let tps = list
                .into_iter()
                .map(|p| {
                    TopicPartition::new(
                        input.topics[input.topic_of[p]],
                        input.partition_number(p) as u32,
                    )
                })
                .collect();
            (id.to_string(), tps)
        })
        .collect()
}

/// Kafka's assignment for groups whose members all subscribe to the same
/// topics: every member ends with `floor(P / M)` or `ceil(P / M)` partitions,
/// and the moves needed to get there are the fewest possible.
///
/// 1. Each member keeps its owned partitions up to its quota, lowest partition
///    numbers first (so topics stay spread evenly): all of them if it owns
///    fewer than the minimum quota, the maximum quota while members with an
///    extra partition are still wanted, the minimum quota otherwise.
/// 2. The remaining partitions, in (topic, partition) order, are dealt
///    round-robin to the members below the minimum quota, then one each to
///    members at the minimum quota until enough members have the extra one.
fn constrained_assign(input: &StickyInput<'_>) -> Vec<Vec<usize>> {
    let members = input.members.len();
    let total = input.total_partitions();
    let min_quota = total / members;
    let max_quota = total.div_ceil(members);
    let wanted_over_min = total % members;
    let mut over_min = 0;

    let mut lists: Vec<Vec<usize>> = vec![Vec::new(); members];
    let mut taken = vec![false; total];
    let mut under_min: Vec<usize> = Vec::new();
    let mut at_min: VecDeque<usize> = VecDeque::new();

    for (m, list) in lists.iter_mut().enumerate() {
        let mut owned = input.owned[m].clone();
        owned.sort_by_key(|&p| (input.partition_number(p), input.topic_of[p]));
        let keep = if owned.len() < min_quota {
            under_min.push(m);
            owned.len()
        } else if owned.len() >= max_quota && over_min < wanted_over_min {
            over_min += 1;
            if over_min == wanted_over_min {
                at_min.clear();
            }
            max_quota
        } else {
            if over_min < wanted_over_min {
                at_min.push_back(m);
            }
            min_quota
        };
        for &p in &owned[..keep] {
            list.push(p);
            taken[p] = true;
        }
    }

    // Members were visited in order, so both lists are already sorted.
    let mut cursor = 0;
    for p in (0..total).filter(|&p| !taken[p]) {
        let (m, from_under_min) = if cursor < under_min.len() {
            (under_min[cursor], true)
        } else if !under_min.is_empty() {
            cursor = 0;
            (under_min[0], true)
        } else if let Some(m) = at_min.pop_front() {
            (m, false)
        } else {
            // The quotas add up to exactly `total`, so this cannot happen;
            // stay total anyway by giving the partition to the smallest member.
            debug_assert!(false, "sticky quotas exhausted with partitions left");
            ((0..members).min_by_key(|&m| lists[m].len()).unwrap(), false)
        };
        lists[m].push(p);
        if from_under_min {
            if lists[m].len() == min_quota {
                // Reached the minimum: from now on it may take one extra.
                under_min.remove(cursor);
                at_min.push_back(m);
            } else {
                cursor += 1;
            }
        }
    }
    lists
}

/// Partition moves made while balancing, kept per topic so that a move which
/// undoes an earlier one can be preferred (Kafka's `PartitionMovements`).
struct Movements {
    /// Where each moved partition started and where it is now.
    by_partition: Vec<Option<(usize, usize)>>,
    /// Per topic: (from, to) member pairs and the partitions that moved so.
    by_topic: Vec<BTreeMap<(usize, usize), BTreeSet<usize>>>,
}

impl Movements {
    fn new(partitions: usize, topics: usize) -> Self {
        Movements {
            by_partition: vec![None; partitions],
            by_topic: vec![BTreeMap::new(); topics],
        }
    }

    /// The partition to move when `p` (of topic `t`) should go from `from` to
    /// `to`: if some partition of the same topic already moved from `to` to
    /// where `p` started, moving that one back keeps more partitions home.
    fn partition_to_move(&self, p: usize, t: usize, from: usize, to: usize) -> usize {
        let pairs = &self.by_topic[t];
        if pairs.is_empty() {
            return p;
        }
        let origin = self.by_partition[p].map_or(from, |(src, _)| src);
        pairs
            .get(&(to, origin))
            .and_then(|set| set.first().copied())
            .unwrap_or(p)
    }

    fn record(&mut self, p: usize, t: usize, from: usize, to: usize) {
        let src = match self.by_partition[p].take() {
            Some(pair) => {
                let set = self.by_topic[t].get_mut(&pair).expect("movement recorded");
                set.remove(&p);
                if set.is_empty() {
                    self.by_topic[t].remove(&pair);
                }
                pair.0
            }
            None => from,
        };
        if src != to {
            self.by_partition[p] = Some((src, to));
            self.by_topic[t].entry((src, to)).or_default().insert(p);
        }
    }
}

/// Kafka's sticky algorithm for groups whose members subscribe to different
/// topics (`AbstractStickyAssignor.GeneralAssignmentBuilder`):
///
/// 1. Keep every valid owned partition whose topic its owner still wants.
/// 2. Give each unowned partition, topics with the fewest candidates first,
///    to the candidate holding the fewest partitions.
/// 3. Move partitions from members holding at least two more than another
///    candidate for the same topic until no such move is left, first among
///    the newly assigned partitions, then among all of them; give up the
///    moves if they did not improve the overall balance score.
struct GeneralAssigner<'i, 'a> {
    input: &'i StickyInput<'a>,
    topic_members: Vec<Vec<usize>>,
    member_topics: Vec<Vec<usize>>,
    /// Partitions of the member's topics: the most it could ever hold.
    capacity: Vec<usize>,
    owner: Vec<Option<usize>>,
    counts: Vec<usize>,
    /// Per topic: how many of its partitions each member holds.
    topic_owners: Vec<HashMap<usize, usize>>,
    /// Members taking part in balancing, by (partition count, member).
    by_load: BTreeSet<(usize, usize)>,
    movements: Movements,
    /// Cached result of `is_balanced`, dropped on every move.
    balanced: Option<bool>,
}

impl<'i, 'a> GeneralAssigner<'i, 'a> {
    fn new(input: &'i StickyInput<'a>) -> Self {
        let members = input.members.len();
        let topics = input.topics.len();
        let topic_members: Vec<Vec<usize>> = (0..topics)
            .map(|t| (0..members).filter(|&m| input.subscribed[m][t]).collect())
            .collect();
        let member_topics: Vec<Vec<usize>> = (0..members)
            .map(|m| (0..topics).filter(|&t| input.subscribed[m][t]).collect())
            .collect();
        let capacity = member_topics
            .iter()
            .map(|ts| ts.iter().map(|&t| input.topic_len(t)).sum())
            .collect();
        GeneralAssigner {
            input,
            topic_members,
            member_topics,
            capacity,
            owner: vec![None; input.total_partitions()],
            counts: vec![0; members],
            topic_owners: vec![HashMap::new(); topics],
            by_load: BTreeSet::new(),
            movements: Movements::new(input.total_partitions(), topics),
            balanced: None,
        }
    }

    fn run(mut self) -> Vec<Option<usize>> {
        let input = self.input;
        let members = input.members.len();

        // 1. Keep what members own and still subscribe to.
        let mut revocation_required = false;
        for m in 0..members {
            for &p in &input.owned[m] {
                let t = input.topic_of[p];
                if input.subscribed[m][t] {
                    self.owner[p] = Some(m);
                    self.counts[m] += 1;
                    *self.topic_owners[t].entry(m).or_default() += 1;
                } else {
                    revocation_required = true;
                }
            }
        }
        let initializing = self.counts.iter().all(|&c| c == 0);

        // Topics with the fewest candidate members first, then by name.
        let mut topic_order: Vec<usize> = (0..input.topics.len()).collect();
        topic_order.sort_by_key(|&t| (self.topic_members[t].len(), t));
        let sorted_partitions: Vec<usize> = topic_order
            .iter()
            .flat_map(|&t| input.offsets[t]..input.offsets[t + 1])
            .collect();
        let unassigned: Vec<usize> = sorted_partitions
            .iter()
            .copied()
            .filter(|&p| self.owner[p].is_none())
            .collect();

        // 2. Hand out the rest, each to the least loaded candidate.
        self.by_load = (0..members).map(|m| (self.counts[m], m)).collect();
        for &p in &unassigned {
            if let Some(m) = self.least_loaded_for(input.topic_of[p]) {
                self.set_owner(p, m);
            }
        }

        // 3. Balance. Topics with a single candidate, and members whose
        // partitions cannot move either way, are left out.
        let movable_topic: Vec<bool> = self.topic_members.iter().map(|ms| ms.len() >= 2).collect();
        let movable = |p: &usize| movable_topic[input.topic_of[*p]];
        let sorted_partitions: Vec<usize> = sorted_partitions.into_iter().filter(movable).collect();
        let unassigned: Vec<usize> = unassigned.into_iter().filter(movable).collect();
        for m in 0..members {
            let participates = self.counts[m] < self.capacity[m]
                || self.member_topics[m].iter().any(|&t| movable_topic[t]);
            if !participates {
                self.by_load.remove(&(self.counts[m], m));
            }
        }
        let participants: Vec<usize> = self.by_load.iter().map(|&(_, m)| m).collect();

        let score = |counts: &[usize]| balance_score(participants.iter().map(|&m| counts[m]));
        // Only `owner` is returned, so restoring it (and `counts` for the
        // score) is enough to undo the balancing.
        let before = (self.owner.clone(), self.counts.clone());
        let score_before = score(&self.counts);
        if !revocation_required {
            self.reassign_until_balanced(&unassigned);
        }
        let moved = self.reassign_until_balanced(&sorted_partitions);
        if !initializing && moved && score(&self.counts) >= score_before {
            (self.owner, self.counts) = before;
        }
        self.owner
    }

    /// The candidate for topic `t` holding the fewest partitions (lowest
    /// member id on ties) among the members taking part.
    fn least_loaded_for(&self, t: usize) -> Option<usize> {
        self.by_load
            .iter()
            .map(|&(_, m)| m)
            .find(|&m| self.input.subscribed[m][t])
    }

    fn set_owner(&mut self, p: usize, to: usize) {
        let held = &mut self.topic_owners[self.input.topic_of[p]];
        if let Some(from) = self.owner[p] {
            self.by_load.remove(&(self.counts[from], from));
            self.counts[from] -= 1;
            self.by_load.insert((self.counts[from], from));
            let n = held.get_mut(&from).expect("owner is tallied");
            *n -= 1;
            if *n == 0 {
                held.remove(&from);
            }
        }
        *held.entry(to).or_default() += 1;
        self.by_load.remove(&(self.counts[to], to));
        self.counts[to] += 1;
        self.by_load.insert((self.counts[to], to));
        self.owner[p] = Some(to);
        self.balanced = None;
    }

    fn move_partition(&mut self, p: usize, to: usize) {
        let t = self.input.topic_of[p];
        let from = self.owner[p].expect("partition is assigned");
        let q = self.movements.partition_to_move(p, t, from, to);
        let q_from = self.owner[q].expect("partition is assigned");
        self.movements.record(q, t, q_from, to);
        self.set_owner(q, to);
    }

    /// Kafka's `performReassignments`: sweeps `partitions` until a sweep moves
    /// nothing or the group is balanced. Returns whether anything moved.
    fn reassign_until_balanced(&mut self, partitions: &[usize]) -> bool {
        let input = self.input;
        let mut moved_any = false;
        // Kafka loops until nothing moves; the cap only guards against a
        // cycle Kafka's own tests never hit.
        let max_sweeps = 2 * (partitions.len() + input.members.len()) + 8;
        for _ in 0..max_sweeps {
            let mut moved = false;
            for &p in partitions {
                if self.is_balanced() {
                    break;
                }
                let t = input.topic_of[p];
                let current = self.owner[p].expect("partition is assigned");
                if let Some(prev) = input.prev_owner[p]
                    && input.subscribed[prev][t]
                    && self.counts[current] > self.counts[prev] + 1
                {
                    self.move_partition(p, prev);
                    moved = true;
                    continue;
                }
                if self.topic_members[t]
                    .iter()
                    .any(|&o| self.counts[current] > self.counts[o] + 1)
                {
                    let to = self.least_loaded_for(t).expect("topic has candidates");
                    self.move_partition(p, to);
                    moved = true;
                }
            }
            moved_any |= moved;
            if !moved {
                break;
            }
        }
        moved_any
    }

    /// Counts differ by at most one, or no partition could go to a candidate
    /// of its topic holding two or more fewer partitions than its owner.
    fn is_balanced(&mut self) -> bool {
        if let Some(balanced) = self.balanced {
            return balanced;
        }
        let balanced = self.compute_balanced();
        self.balanced = Some(balanced);
        balanced
    }

    fn compute_balanced(&self) -> bool {
        let (Some(&(min, _)), Some(&(max, _))) = (self.by_load.first(), self.by_load.last()) else {
            return true;
        };
        if min + 1 >= max {
            return true;
        }
        // Per topic, the two largest partition counts among the members
        // holding its partitions: ((largest, its member), second largest).
        let top: Vec<((usize, usize), usize)> = self
            .topic_owners
            .iter()
            .map(|held| {
                let mut top = ((0, usize::MAX), 0);
                for &o in held.keys() {
                    let c = self.counts[o];
                    if c > top.0.0 {
                        top = ((c, o), top.0.0);
                    } else if c > top.1 {
                        top.1 = c;
                    }
                }
                top
            })
            .collect();
        self.by_load.iter().all(|&(count, m)| {
            count >= self.capacity[m]
                || self.member_topics[m].iter().all(|&t| {
                    let ((first, first_owner), second) = top[t];
                    let other = if first_owner == m { second } else { first };
                    count + 1 >= other
                })
        })
    }
}

/// Kafka's balance score: the sum, over all pairs of members, of the
/// difference between their partition counts (0 when perfectly balanced).
fn balance_score(counts: impl Iterator<Item = usize>) -> usize {
    let mut counts: Vec<usize> = counts.collect();
    counts.sort_unstable();
    let mut score = 0;
    let mut below = 0;
    for (i, &c) in counts.iter().enumerate() {
        score += c * i - below;
        below += c;
    }
    score
}

#[cfg(test)]
mod tests {
    //! The cases of Kafka's `RangeAssignorTest`, `RoundRobinAssignorTest`,
    //! `AbstractPartitionAssignorTest`, `AbstractStickyAssignorTest`,
    //! `StickyAssignorTest` and `CooperativeStickyAssignorTest` (rack-aware
    //! variants left out), then invariant checks over random groups.

    use super::*;

    type Ppt = BTreeMap<String, u32>;
    type Subs = BTreeMap<String, Subscription>;

    /// Generation the follow-up rounds of a cooperative rebalance report
    /// (Kafka's tests use a fixed `generationId = 1` too).
    const GENERATION: i32 = 1;

    fn tp(topic: &str, partition: u32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    fn sorted(mut list: Vec<TopicPartition>) -> Vec<TopicPartition> {
        list.sort_by(|a, b| {
            a.topic()
                .cmp(b.topic())
                .then(a.partition().cmp(&b.partition()))
        });
        list
    }

    /// Partitions given as `&[("topic", 0), ...]`, sorted like assignor output.
    fn tps(list: &[(&str, u32)]) -> Vec<TopicPartition> {
        sorted(list.iter().map(|&(t, p)| tp(t, p)).collect())
    }

    /// Partitions written the way Kafka's rack tests do: `"t1-0, t2-3"`.
    fn parse(text: &str) -> Vec<TopicPartition> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        sorted(
            text.split(", ")
                .map(|s| {
                    let (t, p) = s.rsplit_once('-').unwrap();
                    tp(t, p.parse().unwrap())
                })
                .collect(),
        )
    }

    fn ppt(list: &[(&str, u32)]) -> Ppt {
        list.iter().map(|&(t, n)| (t.to_string(), n)).collect()
    }

    fn sub(topics: &[&str]) -> Subscription {
        Subscription::new(topics.iter().copied())
    }

    fn owning(topics: &[&str], owned: Vec<TopicPartition>, generation: i32) -> Subscription {
        sub(topics)
            .with_owned_partitions(owned)
            .with_generation(generation)
    }

    fn subs(list: Vec<(&str, Subscription)>) -> Subs {
        list.into_iter().map(|(m, s)| (m.to_string(), s)).collect()
    }

    fn expect(list: Vec<(&str, Vec<TopicPartition>)>) -> Assignment {
        list.into_iter()
            .map(|(m, l)| (m.to_string(), sorted(l)))
            .collect()
    }

    fn canonical(prefix: &str, i: usize, max: usize) -> String {
        format!("{prefix}{i:0width$}", width = max.to_string().len())
    }

    fn is_fully_balanced(a: &Assignment) -> bool {
        let min = a.values().map(Vec::len).min().unwrap_or(0);
        let max = a.values().map(Vec::len).max().unwrap_or(0);
        max <= min + 1
    }

    fn count_topic(list: &[TopicPartition], topic: &str) -> usize {
        list.iter().filter(|p| p.topic() == topic).count()
    }

    fn contains_all(list: &[TopicPartition], wanted: &[TopicPartition]) -> bool {
        wanted.iter().all(|p| list.contains(p))
    }

    fn disjoint(a: &[TopicPartition], b: &[TopicPartition]) -> bool {
        a.iter().all(|p| !b.contains(p))
    }

    /// Every member has an entry, lists are sorted without repeats, partitions
    /// exist and belong to subscribed topics, and no partition is given twice.
    fn check_valid(ppt: &Ppt, subs: &Subs, out: &Assignment) {
        assert_eq!(
            out.keys().collect::<Vec<_>>(),
            subs.keys().collect::<Vec<_>>(),
            "members"
        );
        let mut seen = HashSet::new();
        for (m, list) in out {
            assert_eq!(list, &sorted(list.clone()), "{m}'s list is not sorted");
            for p in list {
                let count = ppt.get(p.topic()).copied().unwrap_or(0);
                assert!(p.partition() < count, "{m} got nonexistent {p:?}");
                assert!(
                    subs[m].topics.iter().any(|t| t == p.topic()),
                    "{m} got {p:?} without subscribing"
                );
                assert!(seen.insert(p.clone()), "{p:?} assigned twice in {out:?}");
            }
        }
    }

    /// Every partition of a subscribed topic is assigned.
    fn check_complete(ppt: &Ppt, subs: &Subs, out: &Assignment) {
        let wanted: BTreeSet<&str> = subs
            .values()
            .flat_map(|s| s.topics.iter().map(String::as_str))
            .collect();
        let expected: usize = ppt
            .iter()
            .filter(|(t, _)| wanted.contains(t.as_str()))
            .map(|(_, &n)| n as usize)
            .sum();
        let assigned: usize = out.values().map(Vec::len).sum();
        assert_eq!(
            assigned, expected,
            "not every partition is assigned: {out:?}"
        );
    }

    /// Complete, and no partition could move to a member subscribed to its
    /// topic holding two or more fewer partitions than its owner.
    fn check_balanced(ppt: &Ppt, subs: &Subs, out: &Assignment) {
        check_complete(ppt, subs, out);
        for (a, la) in out {
            for (b, lb) in out {
                if la.len() > lb.len() + 1 {
                    for p in la {
                        assert!(
                            !subs[b].topics.iter().any(|t| t == p.topic()),
                            "{p:?} could move from {a} ({}) to {b} ({})\n{subs:?}\n{out:?}",
                            la.len(),
                            lb.len()
                        );
                    }
                }
            }
        }
    }

    /// The owner of each claimed partition once conflicting claims are
    /// settled: the single highest-generation claimer.
    fn resolved_owners(ppt: &Ppt, subs: &Subs) -> HashMap<TopicPartition, Option<String>> {
        let mut claims: HashMap<TopicPartition, Vec<(&str, i32)>> = HashMap::new();
        for (m, s) in subs {
            let owned: BTreeSet<&TopicPartition> = s.owned_partitions.iter().collect();
            for p in owned {
                if p.partition() < ppt.get(p.topic()).copied().unwrap_or(0) {
                    claims
                        .entry(p.clone())
                        .or_default()
                        .push((m, s.generation.unwrap_or(-1)));
                }
            }
        }
        claims
            .into_iter()
            .map(|(p, cs)| {
                let top = cs.iter().map(|c| c.1).max().unwrap();
                let winners: Vec<&str> = cs.iter().filter(|c| c.1 == top).map(|c| c.0).collect();
                (p, (winners.len() == 1).then(|| winners[0].to_string()))
            })
            .collect()
    }

    /// The cooperative rule: a partition reaches a member only if the member
    /// owns it or no other member of the group claims it.
    fn check_cooperative_round(ppt: &Ppt, subs: &Subs, out: &Assignment) {
        let owners = resolved_owners(ppt, subs);
        for (m, list) in out {
            for p in list {
                let owned_here = owners
                    .get(p)
                    .is_some_and(|o| o.as_deref() == Some(m.as_str()));
                if owned_here {
                    continue;
                }
                for (other, s) in subs {
                    assert!(
                        other == m || !s.owned_partitions.contains(p),
                        "{p:?} given to {m} while {other} still claims it\n{subs:?}\n{out:?}"
                    );
                }
            }
        }
    }

    /// Kafka's `isSticky()`: within a topic, no two members swapped
    /// partitions (one moved from X to Y while another moved from Y to X).
    /// Only partitions whose owner is still in the group and still wants the
    /// topic count as moved.
    fn check_no_swaps(ppt: &Ppt, subs: &Subs, out: &Assignment) {
        let owners = resolved_owners(ppt, subs);
        let mut moves: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
        for (to, list) in out {
            for p in list {
                let Some(Some(from)) = owners.get(p) else {
                    continue;
                };
                if from != to && subs[from].topics.iter().any(|t| t == p.topic()) {
                    moves.insert((p.topic(), from.as_str(), to.as_str()));
                }
            }
        }
        for &(topic, from, to) in &moves {
            assert!(
                !moves.contains(&(topic, to, from)),
                "{from} and {to} swapped partitions of {topic}: {out:?}"
            );
        }
    }

    fn is_cooperative(a: &dyn Assignor) -> bool {
        a.supported_protocols()
            .contains(&RebalanceProtocol::Cooperative)
    }

    /// One rebalance as the group sees it: for the cooperative assignor, the
    /// follow-up rebalances run until nobody has anything left to revoke
    /// (as Kafka's `CooperativeStickyAssignorTest.verifyValidityAndBalance`
    /// does). `subs` ends up describing the last round.
    fn rebalance(a: &dyn Assignor, ppt: &Ppt, subs: &mut Subs) -> Assignment {
        let mut out = a.assign(ppt, subs);
        check_valid(ppt, subs, &out);
        if !is_cooperative(a) {
            return out;
        }
        for round in 0.. {
            check_cooperative_round(ppt, subs, &out);
            let revoking = subs
                .iter()
                .any(|(m, s)| s.owned_partitions.iter().any(|p| !out[m].contains(p)));
            if !revoking {
                break;
            }
            assert!(round < 4, "cooperative rebalance does not settle: {subs:?}");
            for (m, s) in subs.iter_mut() {
                s.owned_partitions = out[m].clone();
                s.generation = Some(GENERATION);
            }
            out = a.assign(ppt, subs);
            check_valid(ppt, subs, &out);
        }
        out
    }

    /// What the cooperative assignor holds back on this input (Kafka's
    /// `partitionsTransferringOwnership`): partition to intended new owner.
    fn withheld(ppt: &Ppt, subs: &Subs) -> BTreeMap<TopicPartition, String> {
        let eager = StickyAssignor.assign(ppt, subs);
        let coop = CooperativeStickyAssignor.assign(ppt, subs);
        let mut out = BTreeMap::new();
        for (m, list) in &eager {
            for p in list {
                if !coop[m].contains(p) {
                    out.insert(p.clone(), m.clone());
                }
            }
        }
        for (m, list) in &coop {
            assert!(
                contains_all(&eager[m], list),
                "cooperative gave {m} more than sticky"
            );
        }
        out
    }

    fn transfers(list: &[(TopicPartition, &str)]) -> BTreeMap<TopicPartition, String> {
        list.iter()
            .map(|(p, m)| (p.clone(), m.to_string()))
            .collect()
    }

    /// Runs a sticky test against both sticky assignors, as Kafka's abstract
    /// test class does.
    fn both_sticky(test: impl Fn(&dyn Assignor)) {
        test(&StickyAssignor);
        test(&CooperativeStickyAssignor);
    }

    // Deterministic pseudo-random numbers (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    // -----------------------------------------------------------------------
    // Names, protocols, lookup
    // -----------------------------------------------------------------------

    #[test]
    fn names_and_protocols_match_kafka() {
        use RebalanceProtocol::*;
        assert_eq!(RangeAssignor.name(), "range");
        assert_eq!(RoundRobinAssignor.name(), "roundrobin");
        assert_eq!(StickyAssignor.name(), "sticky");
        assert_eq!(CooperativeStickyAssignor.name(), "cooperative-sticky");
        assert_eq!(RangeAssignor.supported_protocols(), &[Eager]);
        assert_eq!(RoundRobinAssignor.supported_protocols(), &[Eager]);
        assert_eq!(StickyAssignor.supported_protocols(), &[Eager]);
        assert_eq!(
            CooperativeStickyAssignor.supported_protocols(),
            &[Cooperative, Eager]
        );
        for name in ["range", "roundrobin", "sticky", "cooperative-sticky"] {
            assert_eq!(assignor_by_name(name).unwrap().name(), name);
        }
        assert!(assignor_by_name("uniform").is_none());
    }

    #[test]
    fn no_members_no_assignment() {
        let ppt = ppt(&[("t", 3)]);
        for a in all_assignors() {
            assert!(a.assign(&ppt, &Subs::new()).is_empty());
        }
    }

    fn all_assignors() -> [&'static dyn Assignor; 4] {
        [
            &RangeAssignor,
            &RoundRobinAssignor,
            &StickyAssignor,
            &CooperativeStickyAssignor,
        ]
    }

    // -----------------------------------------------------------------------
    // AbstractPartitionAssignorTest: member order
    // -----------------------------------------------------------------------

    fn order_of(members: &[(&str, Option<&str>)]) -> Vec<String> {
        let subs: Subs = members
            .iter()
            .map(|&(id, instance)| {
                let mut s = sub(&[]);
                s.group_instance_id = instance.map(str::to_string);
                (id.to_string(), s)
            })
            .collect();
        members_in_kafka_order(&subs)
            .into_iter()
            .map(|(id, _)| id.to_string())
            .collect()
    }

    #[test]
    fn member_info_sorting_without_group_instance_id() {
        assert_eq!(
            order_of(&[("a", None), ("b", None), ("c", None)]),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn member_info_sorting_with_all_group_instance_id() {
        assert_eq!(
            order_of(&[("a", Some("y")), ("b", Some("z")), ("c", Some("x"))]),
            ["c", "a", "b"]
        );
    }

    #[test]
    fn member_info_sorting_some_group_instance_id() {
        assert_eq!(
            order_of(&[("a", None), ("b", Some("y")), ("c", Some("x"))]),
            ["c", "b", "a"]
        );
    }

    #[test]
    fn merge_sort_many_member_info() {
        let mut rng = Rng(0x5eed_0001);
        let ids: Vec<String> = (100..200).map(|i| i.to_string()).collect();
        let members: Vec<(&str, Option<&str>)> = ids
            .iter()
            .map(|id| (id.as_str(), rng.chance(50).then_some(id.as_str())))
            .collect();
        let mut expected: Vec<String> = members
            .iter()
            .filter(|m| m.1.is_some())
            .map(|m| m.0.to_string())
            .collect();
        expected.extend(
            members
                .iter()
                .filter(|m| m.1.is_none())
                .map(|m| m.0.to_string()),
        );
        assert_eq!(order_of(&members), expected);
    }

    // -----------------------------------------------------------------------
    // RangeAssignorTest
    // -----------------------------------------------------------------------

    fn static_sub(topics: &[&str], instance: &str) -> Subscription {
        sub(topics).with_group_instance_id(instance)
    }

    #[test]
    fn range_one_consumer_no_topic() {
        let out = RangeAssignor.assign(&ppt(&[]), &subs(vec![("consumer1", sub(&[]))]));
        assert_eq!(out, expect(vec![("consumer1", vec![])]));
    }

    #[test]
    fn range_one_consumer_nonexistent_topic() {
        let out = RangeAssignor.assign(&ppt(&[]), &subs(vec![("consumer1", sub(&["topic1"]))]));
        assert_eq!(out, expect(vec![("consumer1", vec![])]));
    }

    #[test]
    fn range_one_consumer_one_topic() {
        let out = RangeAssignor.assign(
            &ppt(&[("topic1", 3)]),
            &subs(vec![("consumer1", sub(&["topic1"]))]),
        );
        assert_eq!(
            out,
            expect(vec![(
                "consumer1",
                tps(&[("topic1", 0), ("topic1", 1), ("topic1", 2)])
            )])
        );
    }

    #[test]
    fn range_only_assigns_partitions_from_subscribed_topics() {
        let ppt = ppt(&[("topic1", 3), ("other", 3)]);
        let out = RangeAssignor.assign(&ppt, &subs(vec![("consumer1", sub(&["topic1"]))]));
        assert_eq!(
            out,
            expect(vec![(
                "consumer1",
                tps(&[("topic1", 0), ("topic1", 1), ("topic1", 2)])
            )])
        );
    }

    #[test]
    fn range_one_consumer_multiple_topics() {
        let ppt = ppt(&[("topic1", 1), ("topic2", 2)]);
        let out =
            RangeAssignor.assign(&ppt, &subs(vec![("consumer1", sub(&["topic1", "topic2"]))]));
        assert_eq!(
            out,
            expect(vec![(
                "consumer1",
                tps(&[("topic1", 0), ("topic2", 0), ("topic2", 1)])
            )])
        );
    }

    #[test]
    fn range_two_consumers_one_topic_one_partition() {
        let subs = subs(vec![
            ("consumer1", sub(&["topic1"])),
            ("consumer2", sub(&["topic1"])),
        ]);
        let out = RangeAssignor.assign(&ppt(&[("topic1", 1)]), &subs);
        assert_eq!(
            out,
            expect(vec![
                ("consumer1", tps(&[("topic1", 0)])),
                ("consumer2", vec![])
            ])
        );
    }

    #[test]
    fn range_two_consumers_one_topic_two_partitions() {
        let subs = subs(vec![
            ("consumer1", sub(&["topic1"])),
            ("consumer2", sub(&["topic1"])),
        ]);
        let out = RangeAssignor.assign(&ppt(&[("topic1", 2)]), &subs);
        assert_eq!(
            out,
            expect(vec![
                ("consumer1", tps(&[("topic1", 0)])),
                ("consumer2", tps(&[("topic1", 1)]))
            ])
        );
    }

    #[test]
    fn range_multiple_consumers_mixed_topics() {
        let subs = subs(vec![
            ("consumer1", sub(&["topic1"])),
            ("consumer2", sub(&["topic1", "topic2"])),
            ("consumer3", sub(&["topic1"])),
        ]);
        let out = RangeAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 2)]), &subs);
        assert_eq!(
            out,
            expect(vec![
                ("consumer1", tps(&[("topic1", 0)])),
                (
                    "consumer2",
                    tps(&[("topic1", 1), ("topic2", 0), ("topic2", 1)])
                ),
                ("consumer3", tps(&[("topic1", 2)])),
            ])
        );
    }

    #[test]
    fn range_two_consumers_two_topics_six_partitions() {
        let both = ["topic1", "topic2"];
        let subs = subs(vec![("consumer1", sub(&both)), ("consumer2", sub(&both))]);
        let out = RangeAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 3)]), &subs);
        assert_eq!(
            out,
            expect(vec![
                (
                    "consumer1",
                    tps(&[("topic1", 0), ("topic1", 1), ("topic2", 0), ("topic2", 1)])
                ),
                ("consumer2", tps(&[("topic1", 2), ("topic2", 2)])),
            ])
        );
    }

    #[test]
    fn range_two_static_consumers_two_topics_six_partitions() {
        // "consumer-a" sorts first by member id, but instance ids decide.
        let both = ["topic1", "topic2"];
        let subs = subs(vec![
            ("consumer-b", static_sub(&both, "instance1")),
            ("consumer-a", static_sub(&both, "instance2")),
        ]);
        let out = RangeAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 3)]), &subs);
        assert_eq!(
            out["consumer-b"],
            tps(&[("topic1", 0), ("topic1", 1), ("topic2", 0), ("topic2", 1)])
        );
        assert_eq!(out["consumer-a"], tps(&[("topic1", 2), ("topic2", 2)]));
    }

    #[test]
    fn range_one_static_consumer_and_one_dynamic_consumer_two_topics_six_partitions() {
        // The static member comes first whatever its member id.
        let both = ["topic1", "topic2"];
        let subs = subs(vec![
            ("consumer-b", static_sub(&both, "instance1")),
            ("consumer-a", sub(&both)),
        ]);
        let out = RangeAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 3)]), &subs);
        assert_eq!(
            out["consumer-b"],
            tps(&[("topic1", 0), ("topic1", 1), ("topic2", 0), ("topic2", 1)])
        );
        assert_eq!(out["consumer-a"], tps(&[("topic1", 2), ("topic2", 2)]));
    }

    #[test]
    fn range_static_member_range_assignment_persistent() {
        let both = ["topic1", "topic2"];
        let ppt = ppt(&[("topic1", 5), ("topic2", 4)]);
        let mut subs = subs(vec![
            ("consumer1", static_sub(&both, "instance1")),
            ("consumer2", static_sub(&both, "instance2")),
            ("consumer3", static_sub(&both, "instance3")),
            ("consumer4", sub(&both)),
        ]);
        let mut expected = expect(vec![
            (
                "consumer1",
                tps(&[("topic1", 0), ("topic1", 1), ("topic2", 0)]),
            ),
            ("consumer2", tps(&[("topic1", 2), ("topic2", 1)])),
            ("consumer3", tps(&[("topic1", 3), ("topic2", 2)])),
            ("consumer4", tps(&[("topic1", 4), ("topic2", 3)])),
        ]);
        assert_eq!(RangeAssignor.assign(&ppt, &subs), expected);

        // Replace the dynamic member with another one.
        subs.remove("consumer4");
        subs.insert("consumer5".into(), sub(&both));
        let moved = expected.remove("consumer4").unwrap();
        expected.insert("consumer5".into(), moved);
        assert_eq!(RangeAssignor.assign(&ppt, &subs), expected);
    }

    fn by_instance(out: &Assignment, subs: &Subs) -> BTreeMap<String, Vec<TopicPartition>> {
        subs.iter()
            .filter_map(|(m, s)| s.group_instance_id.clone().map(|i| (i, out[m].clone())))
            .collect()
    }

    fn swap_member_ids(subs: &mut Subs) {
        let s3 = subs.remove("consumer3").unwrap();
        subs.insert("consumer4".into(), s3);
        let s2 = subs.remove("consumer2").unwrap();
        subs.insert("consumer5".into(), s2);
    }

    #[test]
    fn range_static_member_range_assignment_persistent_after_member_id_changes() {
        let both = ["topic1", "topic2"];
        let ppt = ppt(&[("topic1", 5), ("topic2", 5)]);
        let mut subs = subs(vec![
            ("consumer1", static_sub(&both, "instance1")),
            ("consumer2", static_sub(&both, "instance2")),
            ("consumer3", static_sub(&both, "instance3")),
        ]);
        let expected = expect(vec![
            (
                "instance1",
                tps(&[("topic1", 0), ("topic1", 1), ("topic2", 0), ("topic2", 1)]),
            ),
            (
                "instance2",
                tps(&[("topic1", 2), ("topic1", 3), ("topic2", 2), ("topic2", 3)]),
            ),
            ("instance3", tps(&[("topic1", 4), ("topic2", 4)])),
        ]);
        assert_eq!(
            by_instance(&RangeAssignor.assign(&ppt, &subs), &subs),
            expected
        );
        swap_member_ids(&mut subs);
        assert_eq!(
            by_instance(&RangeAssignor.assign(&ppt, &subs), &subs),
            expected
        );
    }

    /// Kafka's rack tests name members `consumer0`, `consumer1`, ...
    fn numbered(topics: &[&[&str]]) -> Subs {
        topics
            .iter()
            .enumerate()
            .map(|(i, ts)| (format!("consumer{i}"), sub(ts)))
            .collect()
    }

    fn numbered_expect(lists: &[&str]) -> Assignment {
        lists
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("consumer{i}"), parse(l)))
            .collect()
    }

    // The rack-aware tests' expectations for members and brokers without
    // racks (`verifyNonRackAwareAssignment`).
    #[test]
    fn range_rack_aware_assignment_with_uniform_subscription_without_racks() {
        let all: &[&str] = &["t1", "t2", "t3"];
        let out = RangeAssignor.assign(
            &ppt(&[("t1", 6), ("t2", 7), ("t3", 2)]),
            &numbered(&[all, all, all]),
        );
        assert_eq!(
            out,
            numbered_expect(&[
                "t1-0, t1-1, t2-0, t2-1, t2-2, t3-0",
                "t1-2, t1-3, t2-3, t2-4, t3-1",
                "t1-4, t1-5, t2-5, t2-6"
            ])
        );
    }

    #[test]
    fn range_rack_aware_assignment_with_non_equal_subscription_without_racks() {
        let all: &[&str] = &["t1", "t2", "t3"];
        let out = RangeAssignor.assign(
            &ppt(&[("t1", 6), ("t2", 7), ("t3", 2)]),
            &numbered(&[all, all, &["t1", "t3"]]),
        );
        assert_eq!(
            out,
            numbered_expect(&[
                "t1-0, t1-1, t2-0, t2-1, t2-2, t2-3, t3-0",
                "t1-2, t1-3, t2-4, t2-5, t2-6, t3-1",
                "t1-4, t1-5"
            ])
        );
    }

    #[test]
    fn range_rack_aware_assignment_with_uniform_partitions_without_racks() {
        let all: &[&str] = &["t1", "t2", "t3"];
        let out = RangeAssignor.assign(
            &ppt(&[("t1", 5), ("t2", 5), ("t3", 5)]),
            &numbered(&[all, all, all]),
        );
        assert_eq!(
            out,
            numbered_expect(&[
                "t1-0, t1-1, t2-0, t2-1, t3-0, t3-1",
                "t1-2, t1-3, t2-2, t2-3, t3-2, t3-3",
                "t1-4, t2-4, t3-4"
            ])
        );
    }

    #[test]
    fn range_rack_aware_assignment_with_uniform_partitions_non_equal_subscription_without_racks() {
        let all: &[&str] = &["t1", "t2", "t3"];
        let out = RangeAssignor.assign(
            &ppt(&[("t1", 5), ("t2", 5), ("t3", 5)]),
            &numbered(&[all, all, &["t1", "t3"]]),
        );
        assert_eq!(
            out,
            numbered_expect(&[
                "t1-0, t1-1, t2-0, t2-1, t2-2, t3-0, t3-1",
                "t1-2, t1-3, t2-3, t2-4, t3-2, t3-3",
                "t1-4, t3-4"
            ])
        );
    }

    #[test]
    fn range_rack_aware_assignment_with_co_partitioning_without_racks() {
        let ppt = ppt(&[("t1", 6), ("t2", 6), ("t3", 2), ("t4", 2)]);
        let (a, b): (&[&str], &[&str]) = (&["t1", "t2"], &["t3", "t4"]);
        assert_eq!(
            RangeAssignor.assign(&ppt, &numbered(&[a, a, b, b])),
            numbered_expect(&[
                "t1-0, t1-1, t1-2, t2-0, t2-1, t2-2",
                "t1-3, t1-4, t1-5, t2-3, t2-4, t2-5",
                "t3-0, t4-0",
                "t3-1, t4-1"
            ])
        );
        let all: &[&str] = &["t1", "t2", "t3", "t4"];
        assert_eq!(
            RangeAssignor.assign(&ppt, &numbered(&[all, all, all, all])),
            numbered_expect(&[
                "t1-0, t1-1, t2-0, t2-1, t3-0, t4-0",
                "t1-2, t1-3, t2-2, t2-3, t3-1, t4-1",
                "t1-4, t2-4",
                "t1-5, t2-5"
            ])
        );
    }

    #[test]
    fn range_co_partitioned_assignment_with_same_subscription_without_racks() {
        let ppt = ppt(&[
            ("t1", 6),
            ("t2", 6),
            ("t3", 2),
            ("t4", 2),
            ("t5", 4),
            ("t6", 4),
        ]);
        // t7, t8 and t9 do not exist.
        let all: &[&str] = &["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];
        assert_eq!(
            RangeAssignor.assign(&ppt, &numbered(&[all, all, all])),
            numbered_expect(&[
                "t1-0, t1-1, t2-0, t2-1, t3-0, t4-0, t5-0, t5-1, t6-0, t6-1",
                "t1-2, t1-3, t2-2, t2-3, t3-1, t4-1, t5-2, t6-2",
                "t1-4, t1-5, t2-4, t2-5, t5-3, t6-3",
            ])
        );
    }

    // -----------------------------------------------------------------------
    // RoundRobinAssignorTest
    // -----------------------------------------------------------------------

    #[test]
    fn roundrobin_one_consumer_no_topic() {
        let out = RoundRobinAssignor.assign(&ppt(&[]), &subs(vec![("consumer", sub(&[]))]));
        assert_eq!(out, expect(vec![("consumer", vec![])]));
    }

    #[test]
    fn roundrobin_one_consumer_nonexistent_topic() {
        let out = RoundRobinAssignor.assign(&ppt(&[]), &subs(vec![("consumer", sub(&["topic"]))]));
        assert_eq!(out, expect(vec![("consumer", vec![])]));
    }

    #[test]
    fn roundrobin_one_consumer_one_topic() {
        let out = RoundRobinAssignor.assign(
            &ppt(&[("topic", 3)]),
            &subs(vec![("consumer", sub(&["topic"]))]),
        );
        assert_eq!(
            out["consumer"],
            tps(&[("topic", 0), ("topic", 1), ("topic", 2)])
        );
    }

    #[test]
    fn roundrobin_only_assigns_partitions_from_subscribed_topics() {
        let ppt = ppt(&[("topic", 3), ("other", 3)]);
        let out = RoundRobinAssignor.assign(&ppt, &subs(vec![("consumer", sub(&["topic"]))]));
        assert_eq!(
            out["consumer"],
            tps(&[("topic", 0), ("topic", 1), ("topic", 2)])
        );
    }

    #[test]
    fn roundrobin_one_consumer_multiple_topics() {
        let ppt = ppt(&[("topic1", 1), ("topic2", 2)]);
        let out =
            RoundRobinAssignor.assign(&ppt, &subs(vec![("consumer", sub(&["topic1", "topic2"]))]));
        assert_eq!(
            out["consumer"],
            tps(&[("topic1", 0), ("topic2", 0), ("topic2", 1)])
        );
    }

    #[test]
    fn roundrobin_two_consumers_one_topic_one_partition() {
        let subs = subs(vec![
            ("consumer1", sub(&["topic"])),
            ("consumer2", sub(&["topic"])),
        ]);
        let out = RoundRobinAssignor.assign(&ppt(&[("topic", 1)]), &subs);
        assert_eq!(
            out,
            expect(vec![
                ("consumer1", tps(&[("topic", 0)])),
                ("consumer2", vec![])
            ])
        );
    }

    #[test]
    fn roundrobin_two_consumers_one_topic_two_partitions() {
        let subs = subs(vec![
            ("consumer1", sub(&["topic"])),
            ("consumer2", sub(&["topic"])),
        ]);
        let out = RoundRobinAssignor.assign(&ppt(&[("topic", 2)]), &subs);
        assert_eq!(
            out,
            expect(vec![
                ("consumer1", tps(&[("topic", 0)])),
                ("consumer2", tps(&[("topic", 1)]))
            ])
        );
    }

    #[test]
    fn roundrobin_multiple_consumers_mixed_topics() {
        let subs = subs(vec![
            ("consumer1", sub(&["topic1"])),
            ("consumer2", sub(&["topic1", "topic2"])),
            ("consumer3", sub(&["topic1"])),
        ]);
        let out = RoundRobinAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 2)]), &subs);
        assert_eq!(
            out,
            expect(vec![
                ("consumer1", tps(&[("topic1", 0)])),
                (
                    "consumer2",
                    tps(&[("topic1", 1), ("topic2", 0), ("topic2", 1)])
                ),
                ("consumer3", tps(&[("topic1", 2)])),
            ])
        );
    }

    #[test]
    fn roundrobin_two_dynamic_consumers_two_topics_six_partitions() {
        let both = ["topic1", "topic2"];
        let subs = subs(vec![("consumer1", sub(&both)), ("consumer2", sub(&both))]);
        let out = RoundRobinAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 3)]), &subs);
        assert_eq!(
            out["consumer1"],
            tps(&[("topic1", 0), ("topic1", 2), ("topic2", 1)])
        );
        assert_eq!(
            out["consumer2"],
            tps(&[("topic1", 1), ("topic2", 0), ("topic2", 2)])
        );
    }

    #[test]
    fn roundrobin_two_static_consumers_two_topics_six_partitions() {
        let both = ["topic1", "topic2"];
        let subs = subs(vec![
            ("consumer-b", static_sub(&both, "instance1")),
            ("consumer-a", static_sub(&both, "instance2")),
        ]);
        let out = RoundRobinAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 3)]), &subs);
        assert_eq!(
            out["consumer-b"],
            tps(&[("topic1", 0), ("topic1", 2), ("topic2", 1)])
        );
        assert_eq!(
            out["consumer-a"],
            tps(&[("topic1", 1), ("topic2", 0), ("topic2", 2)])
        );
    }

    #[test]
    fn roundrobin_one_static_consumer_and_one_dynamic_consumer_two_topics_six_partitions() {
        let both = ["topic1", "topic2"];
        let subs = subs(vec![
            ("consumer-b", static_sub(&both, "instance1")),
            ("consumer-a", sub(&both)),
        ]);
        let out = RoundRobinAssignor.assign(&ppt(&[("topic1", 3), ("topic2", 3)]), &subs);
        assert_eq!(
            out["consumer-b"],
            tps(&[("topic1", 0), ("topic1", 2), ("topic2", 1)])
        );
        assert_eq!(
            out["consumer-a"],
            tps(&[("topic1", 1), ("topic2", 0), ("topic2", 2)])
        );
    }

    #[test]
    fn roundrobin_static_member_round_robin_assignment_persistent() {
        let both = ["topic1", "topic2"];
        let ppt = ppt(&[("topic1", 3), ("topic2", 3)]);
        let mut subs = subs(vec![
            ("consumer1", static_sub(&both, "instance1")),
            ("consumer2", static_sub(&both, "instance2")),
            ("consumer3", static_sub(&both, "instance3")),
            ("consumer4", sub(&both)),
        ]);
        let mut expected = expect(vec![
            ("consumer1", tps(&[("topic1", 0), ("topic2", 1)])),
            ("consumer2", tps(&[("topic1", 1), ("topic2", 2)])),
            ("consumer3", tps(&[("topic1", 2)])),
            ("consumer4", tps(&[("topic2", 0)])),
        ]);
        assert_eq!(RoundRobinAssignor.assign(&ppt, &subs), expected);

        subs.remove("consumer4");
        subs.insert("consumer5".into(), sub(&both));
        let moved = expected.remove("consumer4").unwrap();
        expected.insert("consumer5".into(), moved);
        assert_eq!(RoundRobinAssignor.assign(&ppt, &subs), expected);
    }

    #[test]
    fn roundrobin_static_member_round_robin_assignment_persistent_after_member_id_changes() {
        let both = ["topic1", "topic2"];
        let ppt = ppt(&[("topic1", 5), ("topic2", 5)]);
        let mut subs = subs(vec![
            ("consumer1", static_sub(&both, "instance1")),
            ("consumer2", static_sub(&both, "instance2")),
            ("consumer3", static_sub(&both, "instance3")),
        ]);
        let expected = expect(vec![
            (
                "instance1",
                tps(&[("topic1", 0), ("topic1", 3), ("topic2", 1), ("topic2", 4)]),
            ),
            (
                "instance2",
                tps(&[("topic1", 1), ("topic1", 4), ("topic2", 2)]),
            ),
            (
                "instance3",
                tps(&[("topic1", 2), ("topic2", 0), ("topic2", 3)]),
            ),
        ]);
        assert_eq!(
            by_instance(&RoundRobinAssignor.assign(&ppt, &subs), &subs),
            expected
        );
        swap_member_ids(&mut subs);
        assert_eq!(
            by_instance(&RoundRobinAssignor.assign(&ppt, &subs), &subs),
            expected
        );
    }

    // -----------------------------------------------------------------------
    // AbstractStickyAssignorTest (run against both sticky assignors)
    // -----------------------------------------------------------------------

    /// The next generation's subscriptions: each member reports what `out`
    /// gave it, owned in `generation`.
    fn owning_what_was_assigned(subs: &mut Subs, out: &Assignment, generation: i32) {
        for (m, s) in subs.iter_mut() {
            s.owned_partitions = out.get(m).cloned().unwrap_or_default();
            s.generation = Some(generation);
        }
    }

    #[test]
    fn sticky_one_consumer_no_topic() {
        both_sticky(|a| {
            let ppt = ppt(&[]);
            let mut subs = subs(vec![("consumer", sub(&[]))]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out, expect(vec![("consumer", vec![])]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_one_consumer_nonexistent_topic() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 0)]);
            let mut subs = subs(vec![("consumer", sub(&["topic"]))]);
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out, expect(vec![("consumer", vec![])]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_one_consumer_one_topic() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 3)]);
            let mut subs = subs(vec![("consumer", sub(&["topic"]))]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer"],
                tps(&[("topic", 0), ("topic", 1), ("topic", 2)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_only_assigns_partitions_from_subscribed_topics() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 2)]);
            let owned = tps(&[("topic", 0), ("topic", 1), ("other", 0), ("other", 1)]);
            let mut subs = subs(vec![("consumer", owning(&["topic"], owned, GENERATION))]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer"], tps(&[("topic", 0), ("topic", 1)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_one_consumer_multiple_topics() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 1), ("topic2", 2)]);
            let mut subs = subs(vec![("consumer", sub(&["topic1", "topic2"]))]);
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer"],
                tps(&[("topic1", 0), ("topic2", 0), ("topic2", 1)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_two_consumers_one_topic_one_partition() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 1)]);
            let mut subs = subs(vec![
                ("consumer1", sub(&["topic"])),
                ("consumer2", sub(&["topic"])),
            ]);
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
            assert!(is_fully_balanced(&out));
        });
    }

    #[test]
    fn sticky_two_consumers_one_topic_two_partitions() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 2)]);
            let mut subs = subs(vec![
                ("consumer1", sub(&["topic"])),
                ("consumer2", sub(&["topic"])),
            ]);
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic", 0)]));
            assert_eq!(out["consumer2"], tps(&[("topic", 1)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_multiple_consumers_mixed_topic_subscriptions() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 3), ("topic2", 2)]);
            let mut subs = subs(vec![
                ("consumer1", sub(&["topic1"])),
                ("consumer2", sub(&["topic1", "topic2"])),
                ("consumer3", sub(&["topic1"])),
            ]);
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic1", 0), ("topic1", 2)]));
            assert_eq!(out["consumer2"], tps(&[("topic2", 0), ("topic2", 1)]));
            assert_eq!(out["consumer3"], tps(&[("topic1", 1)]));
            check_balanced(&ppt, &subs, &out);
            assert!(is_fully_balanced(&out));
        });
    }

    #[test]
    fn sticky_two_consumers_two_topics_six_partitions() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 3), ("topic2", 3)]);
            let both = ["topic1", "topic2"];
            let mut subs = subs(vec![("consumer1", sub(&both)), ("consumer2", sub(&both))]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer1"],
                tps(&[("topic1", 0), ("topic1", 2), ("topic2", 1)])
            );
            assert_eq!(
                out["consumer2"],
                tps(&[("topic1", 1), ("topic2", 0), ("topic2", 2)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_consumer_owning_min_quota_expected_max_quota() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 2), ("topic2", 3)]);
            let both = ["topic1", "topic2"];
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&both, tps(&[("topic1", 0), ("topic2", 1)]), GENERATION),
                ),
                (
                    "consumer2",
                    owning(&both, tps(&[("topic1", 1), ("topic2", 2)]), GENERATION),
                ),
            ]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer1"],
                tps(&[("topic1", 0), ("topic2", 1), ("topic2", 0)])
            );
            assert_eq!(out["consumer2"], tps(&[("topic1", 1), ("topic2", 2)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_max_quota_consumer_more_than_num_expected_max_capacity_members() {
        // Two members own two partitions each but only one may keep two.
        // Kafka visits members in Java `HashMap` order, which happens to put
        // consumer2 first, so its test expects consumer2 to keep both and
        // topic2-0 to move. We visit members in id order, so consumer1 keeps
        // both and topic2-1 moves: the mirror image, equally sticky.
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 2), ("topic2", 2)]);
            let both = ["topic1", "topic2"];
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&both, tps(&[("topic1", 0), ("topic2", 0)]), GENERATION),
                ),
                (
                    "consumer2",
                    owning(&both, tps(&[("topic1", 1), ("topic2", 1)]), GENERATION),
                ),
                ("consumer3", owning(&both, vec![], GENERATION)),
            ]);
            assert_eq!(
                withheld(&ppt, &subs),
                transfers(&[(tp("topic2", 1), "consumer3")])
            );
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic1", 0), ("topic2", 0)]));
            assert_eq!(out["consumer2"], tps(&[("topic1", 1)]));
            assert_eq!(out["consumer3"], tps(&[("topic2", 1)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_all_consumers_are_under_min_quota() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 2), ("topic2", 3)]);
            let both = ["topic1", "topic2"];
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&both, tps(&[("topic1", 0)]), GENERATION),
                ),
                (
                    "consumer2",
                    owning(&both, tps(&[("topic1", 1)]), GENERATION),
                ),
                ("consumer3", owning(&both, vec![], GENERATION)),
            ]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic1", 0), ("topic2", 1)]));
            assert_eq!(out["consumer2"], tps(&[("topic1", 1), ("topic2", 2)]));
            assert_eq!(out["consumer3"], tps(&[("topic2", 0)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_add_remove_consumer_one_topic() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 3)]);
            let mut subs = subs(vec![("consumer1", sub(&["topic"]))]);
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer1"],
                tps(&[("topic", 0), ("topic", 1), ("topic", 2)])
            );

            owning_what_was_assigned(&mut subs, &out, GENERATION);
            subs.insert("consumer2".into(), owning(&["topic"], vec![], GENERATION));
            assert_eq!(
                withheld(&ppt, &subs),
                transfers(&[(tp("topic", 2), "consumer2")])
            );
            if is_cooperative(a) {
                let first = a.assign(&ppt, &subs);
                assert_eq!(first["consumer2"], vec![], "topic-2 must be revoked first");
            }
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic", 0), ("topic", 1)]));
            assert_eq!(out["consumer2"], tps(&[("topic", 2)]));
            check_balanced(&ppt, &subs, &out);

            subs.remove("consumer1");
            owning_what_was_assigned(&mut subs, &out, GENERATION);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer2"],
                tps(&[("topic", 0), ("topic", 1), ("topic", 2)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_topic_balance_after_reassignment() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 12), ("topic2", 12)]);
            let all = ["topic1", "topic2"];
            let per_topic = |out: &Assignment, n: usize| {
                for list in out.values() {
                    assert_eq!(count_topic(list, "topic1"), n);
                    assert_eq!(count_topic(list, "topic2"), n);
                }
            };
            let mut subs = subs(vec![("consumer1", sub(&all))]);
            let out = rebalance(a, &ppt, &mut subs);
            per_topic(&out, 12);

            owning_what_was_assigned(&mut subs, &out, GENERATION);
            subs.insert("consumer2".into(), owning(&all, vec![], GENERATION));
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
            per_topic(&out, 6);

            owning_what_was_assigned(&mut subs, &out, GENERATION);
            subs.insert("consumer3".into(), owning(&all, vec![], GENERATION));
            subs.insert("consumer4".into(), owning(&all, vec![], GENERATION));
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
            per_topic(&out, 3);

            subs.remove("consumer1");
            subs.remove("consumer2");
            owning_what_was_assigned(&mut subs, &out, GENERATION);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
            per_topic(&out, 6);
        });
    }

    #[test]
    fn sticky_add_remove_two_consumers_two_topics() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 3), ("topic2", 4)]);
            let all = ["topic1", "topic2"];
            let mut subs = subs(vec![("consumer1", sub(&all)), ("consumer2", sub(&all))]);
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer1"],
                tps(&[("topic1", 0), ("topic1", 2), ("topic2", 1), ("topic2", 3)])
            );
            assert_eq!(
                out["consumer2"],
                tps(&[("topic1", 1), ("topic2", 0), ("topic2", 2)])
            );
            check_balanced(&ppt, &subs, &out);

            owning_what_was_assigned(&mut subs, &out, GENERATION);
            subs.insert("consumer3".into(), owning(&all, vec![], GENERATION));
            subs.insert("consumer4".into(), owning(&all, vec![], GENERATION));
            assert_eq!(
                withheld(&ppt, &subs),
                transfers(&[
                    (tp("topic1", 2), "consumer3"),
                    (tp("topic2", 3), "consumer3"),
                    (tp("topic2", 2), "consumer4"),
                ])
            );
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic1", 0), ("topic2", 1)]));
            assert_eq!(out["consumer2"], tps(&[("topic2", 0), ("topic1", 1)]));
            assert_eq!(out["consumer3"], tps(&[("topic1", 2), ("topic2", 3)]));
            assert_eq!(out["consumer4"], tps(&[("topic2", 2)]));
            check_balanced(&ppt, &subs, &out);

            subs.remove("consumer1");
            subs.remove("consumer2");
            owning_what_was_assigned(&mut subs, &out, GENERATION);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer3"],
                tps(&[("topic1", 2), ("topic2", 3), ("topic1", 0), ("topic2", 1)])
            );
            assert_eq!(
                out["consumer4"],
                tps(&[("topic2", 2), ("topic1", 1), ("topic2", 0)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_poor_round_robin_assignment_scenario() {
        both_sticky(|a| {
            let ppt: Ppt = (1..=5)
                .map(|i| (format!("topic{i}"), (i % 2) + 1))
                .collect();
            let all = ["topic1", "topic2", "topic3", "topic4", "topic5"];
            let odd = ["topic1", "topic3", "topic5"];
            let mut subs = subs(vec![
                ("consumer1", sub(&all)),
                ("consumer2", sub(&odd)),
                ("consumer3", sub(&odd)),
                ("consumer4", sub(&all)),
            ]);
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_add_remove_topic_two_consumers() {
        both_sticky(|a| {
            let mut ppt = ppt(&[("topic", 3)]);
            let mut subs = subs(vec![
                ("consumer1", sub(&["topic"])),
                ("consumer2", sub(&["topic"])),
            ]);
            let out1 = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out1);
            assert!(is_fully_balanced(&out1));

            ppt.insert("topic2".into(), 3);
            for s in subs.values_mut() {
                s.topics = vec!["topic".into(), "topic2".into()];
            }
            owning_what_was_assigned(&mut subs, &out1, GENERATION);
            assert!(withheld(&ppt, &subs).is_empty());
            let out2 = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out2);
            for m in ["consumer1", "consumer2"] {
                assert_eq!(out2[m].len(), 3);
                assert!(contains_all(&out2[m], &out1[m]));
            }

            ppt.remove("topic");
            for s in subs.values_mut() {
                s.topics = vec!["topic2".into()];
            }
            owning_what_was_assigned(&mut subs, &out2, GENERATION);
            assert!(withheld(&ppt, &subs).is_empty());
            let out3 = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out3);
            assert!(is_fully_balanced(&out3));
            for m in ["consumer1", "consumer2"] {
                assert!(contains_all(&out2[m], &out3[m]));
            }
        });
    }

    #[test]
    fn sticky_reassignment_after_one_consumer_leaves() {
        both_sticky(|a| {
            let ppt: Ppt = (1..20).map(|i| (canonical("t", i, 20), i as u32)).collect();
            let mut subs: Subs = (1..20)
                .map(|i| {
                    let topics: Vec<String> = (1..=i).map(|j| canonical("t", j, 20)).collect();
                    (canonical("c", i, 20), Subscription::new(topics))
                })
                .collect();
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);

            owning_what_was_assigned(&mut subs, &out, GENERATION);
            // Kafka removes "consumer10", a name that is not in its group;
            // the intent is to remove the tenth member.
            subs.remove("c10");
            check_no_swaps(&ppt, &subs, &StickyAssignor.assign(&ppt, &subs));
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_reassignment_after_one_consumer_added() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 20)]);
            let mut subs: Subs = (1..10)
                .map(|i| (canonical("c", i, 10), sub(&["topic"])))
                .collect();
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);

            subs.insert(canonical("c", 10, 10), sub(&["topic"]));
            for s in subs.values_mut() {
                *s = sub(&["topic"]);
            }
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_same_subscriptions() {
        both_sticky(|a| {
            let ppt: Ppt = (1..15).map(|i| (canonical("t", i, 15), i as u32)).collect();
            let topics: Vec<String> = ppt.keys().cloned().collect();
            let mut subs: Subs = (1..9)
                .map(|i| (canonical("c", i, 9), Subscription::new(topics.clone())))
                .collect();
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);

            owning_what_was_assigned(&mut subs, &out, GENERATION);
            subs.remove(&canonical("c", 5, 9));
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
        });
    }

    /// Kafka runs this with 1,000,000 partitions and 2,000 members; scaled
    /// down so debug-build test runs stay quick.
    #[test]
    fn sticky_large_assignment_and_group_with_uniform_subscription() {
        both_sticky(|a| {
            let (topic_count, partition_count, member_count) = (20, 200, 200);
            let ppt: Ppt = (0..topic_count)
                .map(|i| (canonical("t", i, topic_count), partition_count))
                .collect();
            let topics: Vec<String> = ppt.keys().cloned().collect();
            let mut subs: Subs = (0..member_count)
                .map(|i| {
                    (
                        canonical("c", i, member_count),
                        Subscription::new(topics.clone()),
                    )
                })
                .collect();
            let out = a.assign(&ppt, &subs);
            check_balanced(&ppt, &subs, &out);
            assert!(is_fully_balanced(&out));
            for i in 1..member_count {
                let m = canonical("c", i, member_count);
                let s = subs.get_mut(&m).unwrap();
                s.owned_partitions = out[&m].clone();
                s.generation = Some(GENERATION);
            }
            let out = a.assign(&ppt, &subs);
            check_valid(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_large_assignment_and_group_with_non_equal_subscription() {
        both_sticky(|a| {
            let (topic_count, partition_count, member_count) = (10, 100, 100);
            let ppt: Ppt = (0..topic_count)
                .map(|i| (canonical("t", i, topic_count), partition_count))
                .collect();
            let topics: Vec<String> = ppt.keys().cloned().collect();
            let topics_of = |i: usize| {
                if i == member_count - 1 {
                    topics[..1].to_vec()
                } else {
                    topics.clone()
                }
            };
            let mut subs: Subs = (0..member_count)
                .map(|i| {
                    (
                        canonical("c", i, member_count),
                        Subscription::new(topics_of(i)),
                    )
                })
                .collect();
            let out = a.assign(&ppt, &subs);
            check_balanced(&ppt, &subs, &out);
            for i in 1..member_count {
                let m = canonical("c", i, member_count);
                let s = subs.get_mut(&m).unwrap();
                s.owned_partitions = out[&m].clone();
                s.generation = Some(GENERATION);
            }
            let out = a.assign(&ppt, &subs);
            check_valid(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_assignment_and_group_with_non_equal_subscription_not_timeout() {
        both_sticky(|a| {
            let (topic_count, partition_count, member_count) = (20, 50, 100);
            let ppt: Ppt = (0..topic_count)
                .map(|i| (canonical("t", i, topic_count), partition_count))
                .collect();
            let topics: Vec<String> = ppt.keys().cloned().collect();
            let half = topic_count / 2;
            let topics_of = |i: usize| {
                if i.is_multiple_of(4) {
                    topics[..half].to_vec()
                } else {
                    topics[half..].to_vec()
                }
            };
            let mut subs: Subs = (0..member_count)
                .map(|i| {
                    (
                        canonical("c", i, member_count),
                        Subscription::new(topics_of(i)),
                    )
                })
                .collect();
            let out = a.assign(&ppt, &subs);
            check_balanced(&ppt, &subs, &out);
            for i in 1..member_count {
                let m = canonical("c", i, member_count);
                let s = subs.get_mut(&m).unwrap();
                s.owned_partitions = out[&m].clone();
                s.generation = Some(GENERATION);
            }
            let out = a.assign(&ppt, &subs);
            check_balanced(&ppt, &subs, &StickyAssignor.assign(&ppt, &subs));
            check_valid(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_subscription_not_equal_and_assign_same_partition_with_3_generation() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 6), ("topic1", 1)]);
            for g in [
                [1, 2, 3],
                [1, 3, 2],
                [2, 1, 3],
                [2, 3, 1],
                [3, 1, 2],
                [3, 2, 1],
            ] {
                let subs = subs(vec![
                    (
                        "consumer1",
                        owning(&["topic"], tps(&[("topic", 0), ("topic", 2)]), g[0]),
                    ),
                    (
                        "consumer2",
                        owning(
                            &["topic"],
                            tps(&[("topic", 1), ("topic", 2), ("topic", 3)]),
                            g[1],
                        ),
                    ),
                    (
                        "consumer3",
                        owning(
                            &["topic"],
                            tps(&[("topic", 2), ("topic", 4), ("topic", 5)]),
                            g[2],
                        ),
                    ),
                    ("consumer4", owning(&["topic1"], tps(&[("topic1", 0)]), 2)),
                ]);
                let out = a.assign(&ppt, &subs);
                check_valid(&ppt, &subs, &out);
                for list in out.values() {
                    assert!((1..=2).contains(&list.len()), "{g:?}: {out:?}");
                }
            }
        });
    }

    #[test]
    fn sticky_large_assignment_with_multiple_consumers_leaving_and_random_subscription() {
        both_sticky(|a| {
            let mut rng = Rng(0x6b61_666b_6100_0001);
            let (topic_count, member_count) = (40, 200);
            let ppt: Ppt = (0..topic_count)
                .map(|i| (canonical("t", i, topic_count), rng.below(10) as u32 + 1))
                .collect();
            let mut subs: Subs = (0..member_count)
                .map(|i| {
                    let n = rng.below(20);
                    let topics: Vec<String> = (0..n)
                        .map(|_| canonical("t", rng.below(topic_count), topic_count))
                        .collect();
                    (canonical("c", i, member_count), Subscription::new(topics))
                })
                .collect();
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);

            for i in 1..member_count {
                let m = canonical("c", i, member_count);
                let s = subs.get_mut(&m).unwrap();
                s.owned_partitions = out[&m].clone();
                s.generation = Some(GENERATION);
            }
            for _ in 0..50 {
                subs.remove(&canonical("c", rng.below(member_count), member_count));
            }
            check_no_swaps(&ppt, &subs, &StickyAssignor.assign(&ppt, &subs));
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_new_subscription() {
        both_sticky(|a| {
            let ppt: Ppt = (1..5).map(|i| (canonical("t", i, 5), 1)).collect();
            let mut subs: Subs = (0..3usize)
                .map(|i| {
                    let topics: Vec<String> = (i..=(3 * i).saturating_sub(2))
                        .filter(|_| i > 0)
                        .map(|j| canonical("t", j, 5))
                        .collect();
                    (canonical("c", i, 3), Subscription::new(topics))
                })
                .collect();
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);

            // Kafka's subscriptions in this round carry no owned partitions.
            for s in subs.values_mut() {
                s.owned_partitions.clear();
            }
            subs.get_mut("c0")
                .unwrap()
                .topics
                .push(canonical("t", 1, 5));
            check_no_swaps(&ppt, &subs, &StickyAssignor.assign(&ppt, &subs));
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_move_existing_assignments() {
        both_sticky(|a| {
            let ppt: Ppt = (1..=6).map(|i| (format!("topic{i}"), 1)).collect();
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&["topic1", "topic2"], tps(&[("topic1", 0)]), GENERATION),
                ),
                (
                    "consumer2",
                    owning(
                        &["topic1", "topic2", "topic3", "topic4"],
                        tps(&[("topic2", 0), ("topic3", 0)]),
                        GENERATION,
                    ),
                ),
                (
                    "consumer3",
                    owning(
                        &["topic2", "topic3", "topic4", "topic5", "topic6"],
                        tps(&[("topic4", 0), ("topic5", 0), ("topic6", 0)]),
                        GENERATION,
                    ),
                ),
            ]);
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_stickiness() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 3)]);
            let mut subs: Subs = (1..=4)
                .map(|i| (format!("consumer{i}"), sub(&["topic1"])))
                .collect();
            let out = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
            assert!(out.values().all(|l| l.len() <= 1));

            // Remove the would-be group leader.
            subs.remove("consumer1");
            owning_what_was_assigned(&mut subs, &out, GENERATION);
            assert!(withheld(&ppt, &subs).is_empty());
            let out2 = rebalance(a, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out2);
            for (m, list) in &out2 {
                assert_eq!(list.len(), 1);
                assert!(
                    contains_all(list, &out[m]),
                    "stickiness not honoured for {m}"
                );
            }
        });
    }

    #[test]
    fn sticky_assignment_updated_for_deleted_topic() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 1), ("topic3", 100)]);
            let mut subs = subs(vec![("consumer", sub(&["topic1", "topic2", "topic3"]))]);
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer"].len(), 101);
            assert!(is_fully_balanced(&out));
        });
    }

    #[test]
    fn sticky_no_exception_thrown_when_only_subscribed_topic_deleted() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 3)]);
            let mut subs = subs(vec![("consumer", sub(&["topic"]))]);
            let out = rebalance(a, &ppt, &mut subs);
            owning_what_was_assigned(&mut subs, &out, GENERATION);
            let none = Ppt::new();
            assert!(withheld(&none, &subs).is_empty());
            let out = a.assign(&none, &subs);
            assert_eq!(out, expect(vec![("consumer", vec![])]));
        });
    }

    #[test]
    fn sticky_reassignment_with_random_subscriptions_and_changes() {
        both_sticky(|a| {
            let mut rng = Rng(0x7374_6963_6b79_0002);
            let random_sublist = |rng: &mut Rng, list: &[String]| {
                let mut chosen = list.to_vec();
                for _ in 0..rng.below(list.len()) {
                    chosen.remove(rng.below(chosen.len()));
                }
                chosen
            };
            for _round in 0..20 {
                let topic_count = 10 + rng.below(10);
                let ppt: Ppt = (0..topic_count)
                    .map(|i| (canonical("t", i, 20), i as u32 + 1))
                    .collect();
                let topics: Vec<String> = ppt.keys().cloned().collect();
                let member_count = 20 + rng.below(20);
                let mut subs: Subs = (0..member_count)
                    .map(|i| {
                        (
                            canonical("c", i, 40),
                            Subscription::new(random_sublist(&mut rng, &topics)),
                        )
                    })
                    .collect();
                let out = rebalance(a, &ppt, &mut subs);
                check_balanced(&ppt, &subs, &out);

                let mut subs: Subs = (0..member_count)
                    .map(|i| {
                        let m = canonical("c", i, 40);
                        let owned = out[&m].clone();
                        (m, owning(&[], owned, GENERATION))
                    })
                    .collect();
                for s in subs.values_mut() {
                    s.topics = random_sublist(&mut rng, &topics);
                }
                check_no_swaps(&ppt, &subs, &StickyAssignor.assign(&ppt, &subs));
                let out = rebalance(a, &ppt, &mut subs);
                check_balanced(&ppt, &subs, &out);
            }
        });
    }

    #[test]
    fn sticky_all_consumers_reach_expected_quota_and_are_considered_filled() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 4)]);
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&["topic"], tps(&[("topic", 0), ("topic", 1)]), GENERATION),
                ),
                (
                    "consumer2",
                    owning(&["topic"], tps(&[("topic", 2)]), GENERATION),
                ),
                ("consumer3", owning(&["topic"], vec![], GENERATION)),
            ]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic", 0), ("topic", 1)]));
            assert_eq!(out["consumer2"], tps(&[("topic", 2)]));
            assert_eq!(out["consumer3"], tps(&[("topic", 3)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    fn stale_claim_case(a: &dyn Assignor, stale: Option<i32>) {
        let ppt = ppt(&[("topic", 3), ("topic2", 3)]);
        let both = ["topic", "topic2"];
        let claimed = tps(&[("topic", 0), ("topic", 2), ("topic2", 1)]);
        let mut stale_sub = sub(&both).with_owned_partitions(claimed.clone());
        stale_sub.generation = stale;
        let mut subs = subs(vec![
            ("consumer1", owning(&both, claimed.clone(), 10)),
            ("consumer2", stale_sub),
        ]);
        assert!(withheld(&ppt, &subs).is_empty());
        let out = rebalance(a, &ppt, &mut subs);
        assert_eq!(out["consumer1"], claimed);
        assert_eq!(
            out["consumer2"],
            tps(&[("topic", 1), ("topic2", 0), ("topic2", 2)])
        );
        check_balanced(&ppt, &subs, &out);
    }

    #[test]
    fn sticky_owned_partitions_are_invalidated_for_consumer_with_stale_generation() {
        both_sticky(|a| stale_claim_case(a, Some(9)));
    }

    #[test]
    fn sticky_owned_partitions_are_invalidated_for_consumer_with_no_generation() {
        both_sticky(|a| stale_claim_case(a, None));
    }

    #[test]
    fn sticky_partitions_transferring_ownership_include_the_partition_claimed_by_multiple_consumers_in_same_generation()
     {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 3)]);
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&["topic"], tps(&[("topic", 0), ("topic", 1)]), GENERATION),
                ),
                (
                    "consumer2",
                    owning(&["topic"], tps(&[("topic", 0), ("topic", 2)]), GENERATION),
                ),
                ("consumer3", owning(&["topic"], vec![], GENERATION)),
            ]);
            assert_eq!(
                withheld(&ppt, &subs),
                transfers(&[(tp("topic", 0), "consumer3")])
            );
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(out["consumer1"], tps(&[("topic", 1)]));
            assert_eq!(out["consumer2"], tps(&[("topic", 2)]));
            assert_eq!(out["consumer3"], tps(&[("topic", 0)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_ensure_partitions_assigned_to_highest_generation() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 3), ("topic2", 3), ("topic3", 3)]);
            let all = ["topic", "topic2", "topic3"];
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&all, tps(&[("topic", 0), ("topic2", 0), ("topic3", 0)]), 10),
                ),
                (
                    "consumer2",
                    owning(&all, tps(&[("topic", 1), ("topic2", 1), ("topic3", 1)]), 9),
                ),
                (
                    "consumer3",
                    owning(&all, tps(&[("topic2", 1), ("topic3", 0), ("topic3", 2)]), 8),
                ),
            ]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer1"],
                tps(&[("topic", 0), ("topic2", 0), ("topic3", 0)])
            );
            assert_eq!(
                out["consumer2"],
                tps(&[("topic", 1), ("topic2", 1), ("topic3", 1)])
            );
            assert_eq!(
                out["consumer3"],
                tps(&[("topic", 2), ("topic2", 2), ("topic3", 2)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_no_reassignment_on_current_members() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 3), ("topic1", 3), ("topic2", 3), ("topic3", 3)]);
            let all = ["topic", "topic2", "topic3", "topic1"];
            let mut subs = subs(vec![
                ("consumer1", sub(&all)),
                (
                    "consumer2",
                    owning(&all, tps(&[("topic", 0), ("topic2", 0), ("topic1", 0)]), 9),
                ),
                (
                    "consumer3",
                    owning(&all, tps(&[("topic3", 2), ("topic2", 2), ("topic1", 1)]), 8),
                ),
                (
                    "consumer4",
                    owning(&all, tps(&[("topic3", 1), ("topic", 1), ("topic", 2)]), 7),
                ),
            ]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer1"],
                tps(&[("topic1", 2), ("topic2", 1), ("topic3", 0)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    #[test]
    fn sticky_owned_partitions_are_invalidated_for_consumer_with_multiple_generation() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic", 3), ("topic2", 3)]);
            let both = ["topic", "topic2"];
            let mut subs = subs(vec![
                (
                    "consumer1",
                    owning(&both, tps(&[("topic", 0), ("topic2", 1), ("topic", 1)]), 10),
                ),
                (
                    "consumer2",
                    owning(&both, tps(&[("topic", 0), ("topic2", 1), ("topic2", 2)]), 8),
                ),
            ]);
            assert!(withheld(&ppt, &subs).is_empty());
            let out = rebalance(a, &ppt, &mut subs);
            assert_eq!(
                out["consumer1"],
                tps(&[("topic", 0), ("topic2", 1), ("topic", 1)])
            );
            assert_eq!(
                out["consumer2"],
                tps(&[("topic", 2), ("topic2", 2), ("topic2", 0)])
            );
            check_balanced(&ppt, &subs, &out);
        });
    }

    fn numbered_owning(topics: &[&[&str]], owned: &[&str]) -> Subs {
        topics
            .iter()
            .zip(owned)
            .enumerate()
            .map(|(i, (ts, o))| {
                (
                    format!("consumer{i}"),
                    sub(ts).with_owned_partitions(parse(o)),
                )
            })
            .collect()
    }

    // The rack-aware tests' expectations without racks.
    #[test]
    fn sticky_rack_aware_assignment_with_uniform_subscription_without_racks() {
        both_sticky(|a| {
            let ppt = ppt(&[("t1", 6), ("t2", 7), ("t3", 2)]);
            let all: &[&str] = &["t1", "t2", "t3"];
            let expected = [
                "t1-0, t1-3, t2-0, t2-3, t2-6",
                "t1-1, t1-4, t2-1, t2-4, t3-0",
                "t1-2, t1-5, t2-2, t2-5, t3-1",
            ];
            assert_eq!(
                a.assign(&ppt, &numbered(&[all, all, all])),
                numbered_expect(&expected)
            );
            let owned = numbered_owning(&[all, all, all], &expected);
            assert_eq!(a.assign(&ppt, &owned), numbered_expect(&expected));
        });
    }

    #[test]
    fn sticky_rack_aware_assignment_with_non_equal_subscription_without_racks() {
        both_sticky(|a| {
            let ppt = ppt(&[("t1", 6), ("t2", 7), ("t3", 2)]);
            let all: &[&str] = &["t1", "t2", "t3"];
            let topics: [&[&str]; 3] = [all, all, &["t1", "t3"]];
            let expected = [
                "t1-5, t2-0, t2-2, t2-4, t2-6",
                "t1-3, t2-1, t2-3, t2-5, t3-0",
                "t1-0, t1-1, t1-2, t1-4, t3-1",
            ];
            assert_eq!(
                a.assign(&ppt, &numbered(&topics)),
                numbered_expect(&expected)
            );
            let owned = numbered_owning(&topics, &expected);
            assert_eq!(a.assign(&ppt, &owned), numbered_expect(&expected));
        });
    }

    /// The cooperative half of Kafka's non-equal rack test with every rack
    /// matching: the owned partitions are far from balanced (consumer2 even
    /// owns t2 partitions it no longer subscribes to), so the first round
    /// only revokes and the second one hands out.
    #[test]
    fn cooperative_rack_aware_assignment_with_non_equal_subscription_without_racks() {
        let ppt = ppt(&[("t1", 6), ("t2", 7), ("t3", 2)]);
        let all: &[&str] = &["t1", "t2", "t3"];
        let topics: [&[&str]; 3] = [all, all, &["t1", "t3"]];
        let owned = [
            "t1-0, t1-1, t1-2, t1-3, t1-4",
            "t1-5, t2-0, t2-1, t2-2, t2-3",
            "t2-4, t2-5, t2-6, t3-0, t3-1",
        ];
        let intermediate = ["t1-2, t1-3, t1-4", "t2-0, t2-1, t2-2, t2-3", "t3-0, t3-1"];
        let last = [
            "t1-2, t1-3, t1-4, t2-4, t2-5",
            "t2-0, t2-1, t2-2, t2-3, t2-6",
            "t1-0, t1-1, t1-5, t3-0, t3-1",
        ];
        let a = CooperativeStickyAssignor;
        assert_eq!(
            a.assign(&ppt, &numbered_owning(&topics, &owned)),
            numbered_expect(&intermediate)
        );
        assert_eq!(
            a.assign(&ppt, &numbered_owning(&topics, &intermediate)),
            numbered_expect(&last)
        );
    }

    /// "h" owns all of topic t in generation 2; "lo" still claims t-0 from
    /// generation 1; "a" is new. "x" only wants topic u, so subscriptions
    /// differ and Kafka's general algorithm runs.
    fn stale_claim_group() -> (Ppt, Subs) {
        let ppt = ppt(&[("t", 6), ("u", 1)]);
        let subs = subs(vec![
            ("a", owning(&["t"], vec![], 2)),
            (
                "h",
                owning(
                    &["t"],
                    tps(&[("t", 0), ("t", 1), ("t", 2), ("t", 3), ("t", 4), ("t", 5)]),
                    2,
                ),
            ),
            ("lo", owning(&["t"], tps(&[("t", 0)]), 1)),
            ("x", owning(&["u"], tps(&[("u", 0)]), 2)),
        ]);
        (ppt, subs)
    }

    #[test]
    fn sticky_moves_a_partition_back_to_its_previous_generation_owner() {
        // Kafka's general algorithm remembers lower-generation claims and,
        // when balancing, sends such a partition back to that claimer rather
        // than to the least loaded member.
        let (ppt, subs) = stale_claim_group();
        let out = StickyAssignor.assign(&ppt, &subs);
        check_balanced(&ppt, &subs, &out);
        assert_eq!(
            out,
            expect(vec![
                ("a", tps(&[("t", 1), ("t", 2)])),
                ("h", tps(&[("t", 4), ("t", 5)])),
                ("lo", tps(&[("t", 0), ("t", 3)])),
                ("x", tps(&[("u", 0)])),
            ])
        );
    }

    #[test]
    fn cooperative_holds_back_a_partition_from_a_member_whose_claim_lost() {
        // "lo" lost its claim on t-0 to "h"'s newer generation, so t-0 is
        // h's until h revokes it, even though lo also says it owns it.
        let (ppt, mut subs) = stale_claim_group();
        let first = CooperativeStickyAssignor.assign(&ppt, &subs);
        check_cooperative_round(&ppt, &subs, &first);
        assert_eq!(
            first,
            expect(vec![
                ("a", vec![]),
                ("h", tps(&[("t", 4), ("t", 5)])),
                ("lo", vec![]),
                ("x", tps(&[("u", 0)]))
            ])
        );
        let out = rebalance(&CooperativeStickyAssignor, &ppt, &mut subs);
        check_balanced(&ppt, &subs, &out);
    }

    #[test]
    fn sticky_negative_generation_counts_as_none() {
        // Both claims rank the same, so neither member keeps topic-0.
        let ppt = ppt(&[("topic", 2)]);
        let mut negative = sub(&["topic"]).with_owned_partitions(tps(&[("topic", 0)]));
        negative.generation = Some(-5);
        let none = sub(&["topic"]).with_owned_partitions(tps(&[("topic", 0)]));
        let subs = subs(vec![("consumer1", negative), ("consumer2", none)]);
        let out = StickyAssignor.assign(&ppt, &subs);
        assert_eq!(out["consumer1"], tps(&[("topic", 0)]));
        assert_eq!(out["consumer2"], tps(&[("topic", 1)]));
        assert_eq!(
            withheld(&ppt, &subs),
            transfers(&[(tp("topic", 0), "consumer1")])
        );
    }

    #[test]
    fn balance_score_sums_pairwise_differences() {
        assert_eq!(balance_score([].into_iter()), 0);
        assert_eq!(balance_score([3, 3, 3].into_iter()), 0);
        assert_eq!(balance_score([0, 6, 0].into_iter()), 12);
        assert_eq!(
            balance_score([1, 4, 2, 7].into_iter()),
            3 + 1 + 6 + 2 + 3 + 5
        );
    }

    #[test]
    fn movements_prefer_undoing_an_earlier_move() {
        // Members 0, 1, 2; partitions 10, 11, 12 of topic 0.
        let mut mv = Movements::new(16, 1);
        assert_eq!(mv.partition_to_move(10, 0, 0, 1), 10, "nothing moved yet");
        mv.record(10, 0, 0, 1);
        // Moving 11 from 1 to 0 would swap partitions between 0 and 1:
        // move 10 back instead.
        assert_eq!(mv.partition_to_move(11, 0, 1, 0), 10);
        assert_eq!(mv.partition_to_move(11, 0, 1, 2), 11);
        // 10 goes on to 2: one movement 0 -> 2 is remembered.
        mv.record(10, 0, 1, 2);
        assert_eq!(mv.by_partition[10], Some((0, 2)));
        assert_eq!(mv.partition_to_move(12, 0, 0, 2), 12);
        assert_eq!(mv.partition_to_move(12, 0, 2, 0), 10);
        // Going home erases the movement.
        mv.record(10, 0, 2, 0);
        assert_eq!(mv.by_partition[10], None);
        assert!(mv.by_topic[0].is_empty());
        // The lowest partition is picked among several candidates.
        mv.record(12, 0, 0, 1);
        mv.record(11, 0, 0, 1);
        assert_eq!(mv.partition_to_move(13, 0, 1, 0), 11);
    }

    // -----------------------------------------------------------------------
    // StickyAssignorTest / CooperativeStickyAssignorTest
    // -----------------------------------------------------------------------

    fn claimed_by_two_in_same_generation(a: &dyn Assignor, partitions: u32, c1: &[(&str, u32)]) {
        let ppt = ppt(&[("topic", partitions)]);
        let subs = subs(vec![
            (
                "consumer1",
                owning(&["topic"], tps(&[("topic", 0), ("topic", 1)]), GENERATION),
            ),
            (
                "consumer2",
                owning(&["topic"], tps(&[("topic", 0), ("topic", 2)]), GENERATION),
            ),
            ("consumer3", owning(&["topic"], vec![], GENERATION)),
        ]);
        let out = a.assign(&ppt, &subs);
        check_valid(&ppt, &subs, &out);
        assert_eq!(out["consumer1"], tps(c1));
        assert_eq!(out["consumer2"], tps(&[("topic", 2)]));
        if is_cooperative(a) {
            // topic-0 counts as owned by both, so it waits for both to revoke it.
            assert_eq!(out["consumer3"], vec![]);
        } else {
            assert_eq!(out["consumer3"], tps(&[("topic", 0)]));
        }
        let mut subs = subs;
        let out = rebalance(a, &ppt, &mut subs);
        check_balanced(&ppt, &subs, &out);
        assert!(is_fully_balanced(&out));
    }

    #[test]
    fn sticky_all_consumers_have_owned_partition_invalidated_when_claimed_by_multiple_consumers_in_same_generation_with_equal_partitions_per_consumer()
     {
        both_sticky(|a| claimed_by_two_in_same_generation(a, 3, &[("topic", 1)]));
    }

    #[test]
    fn sticky_all_consumers_have_owned_partition_invalidated_when_claimed_by_multiple_consumers_in_same_generation_with_unequal_partitions_per_consumer()
     {
        both_sticky(|a| claimed_by_two_in_same_generation(a, 4, &[("topic", 1), ("topic", 3)]));
    }

    #[test]
    fn sticky_assignment_with_multiple_generations1() {
        for all_equal in [true, false] {
            let a = &StickyAssignor;
            let all = ["topic", "topic2"];
            let c2_topics: &[&str] = if all_equal { &all } else { &["topic"] };
            let ppt = ppt(&[("topic", 6), ("topic2", 6)]);
            let mut subs = subs(vec![
                ("consumer1", sub(&all)),
                ("consumer2", sub(c2_topics)),
                ("consumer3", sub(&all)),
            ]);
            let r1 = a.assign(&ppt, &subs);
            assert!(r1.values().all(|l| l.len() == 4));
            check_balanced(&ppt, &subs, &r1);

            subs.remove("consumer3");
            owning_what_was_assigned(&mut subs, &r1, 1);
            let r2 = a.assign(&ppt, &subs);
            assert!(r2.values().all(|l| l.len() == 6));
            if all_equal {
                assert!(contains_all(&r2["consumer1"], &r1["consumer1"]));
            }
            assert!(contains_all(&r2["consumer2"], &r1["consumer2"]));
            check_balanced(&ppt, &subs, &r2);
            assert!(!disjoint(&r2["consumer2"], &r1["consumer3"]));

            subs.remove("consumer1");
            subs.insert(
                "consumer2".into(),
                owning(c2_topics, r2["consumer2"].clone(), 2),
            );
            subs.insert("consumer3".into(), owning(&all, r1["consumer3"].clone(), 1));
            let r3 = a.assign(&ppt, &subs);
            assert!(r3.values().all(|l| l.len() == 6));
            assert!(disjoint(&r3["consumer2"], &r3["consumer3"]));
            check_balanced(&ppt, &subs, &r3);
        }
    }

    #[test]
    fn sticky_assignment_with_multiple_generations2() {
        for all_equal in [true, false] {
            let a = &StickyAssignor;
            let all = ["topic", "topic2", "topic3"];
            let c1_topics: &[&str] = if all_equal { &all } else { &["topic"] };
            let c3_topics: &[&str] = if all_equal {
                &all
            } else {
                &["topic", "topic2"]
            };
            let ppt = ppt(&[("topic", 4), ("topic2", 4), ("topic3", 4)]);
            let mut subs = subs(vec![
                ("consumer1", sub(c1_topics)),
                ("consumer2", sub(&all)),
                ("consumer3", sub(c3_topics)),
            ]);
            let r1 = a.assign(&ppt, &subs);
            assert!(r1.values().all(|l| l.len() == 4));
            check_balanced(&ppt, &subs, &r1);

            let only2 = Subs::from([(
                "consumer2".to_string(),
                owning(&all, r1["consumer2"].clone(), 1),
            )]);
            let r2 = a.assign(&ppt, &only2);
            assert_eq!(r2["consumer2"].len(), 12);
            assert!(contains_all(&r2["consumer2"], &r1["consumer2"]));

            subs.insert(
                "consumer1".into(),
                owning(c1_topics, r1["consumer1"].clone(), 1),
            );
            subs.insert("consumer2".into(), owning(&all, r2["consumer2"].clone(), 2));
            subs.insert(
                "consumer3".into(),
                owning(c3_topics, r1["consumer3"].clone(), 1),
            );
            let r3 = a.assign(&ppt, &subs);
            assert!(r3.values().all(|l| l.len() == 4));
            check_balanced(&ppt, &subs, &r3);
        }
    }

    #[test]
    fn sticky_assignment_with_conflicting_previous_generations() {
        for all_equal in [true, false] {
            let a = &StickyAssignor;
            let all = ["topic", "topic2", "topic3"];
            let c1_topics: &[&str] = if all_equal { &all } else { &["topic"] };
            let c2_topics: &[&str] = if all_equal {
                &all
            } else {
                &["topic", "topic2"]
            };
            let ppt = ppt(&[("topic", 4), ("topic2", 4), ("topic3", 4)]);
            let c1_owned = if all_equal {
                tps(&[
                    ("topic", 0),
                    ("topic", 1),
                    ("topic", 2),
                    ("topic2", 2),
                    ("topic2", 3),
                    ("topic3", 0),
                ])
            } else {
                tps(&[("topic", 0), ("topic", 1), ("topic", 2), ("topic", 3)])
            };
            let c2_owned = tps(&[
                ("topic", 0),
                ("topic", 1),
                ("topic2", 0),
                ("topic2", 1),
                ("topic2", 2),
                ("topic2", 3),
            ]);
            let c3_owned = tps(&[
                ("topic", 2),
                ("topic", 3),
                ("topic3", 0),
                ("topic3", 1),
                ("topic3", 2),
                ("topic3", 3),
            ]);
            let subs = subs(vec![
                ("consumer1", owning(c1_topics, c1_owned, 1)),
                ("consumer2", owning(c2_topics, c2_owned.clone(), 2)),
                ("consumer3", owning(&all, c3_owned.clone(), 2)),
            ]);
            let out = a.assign(&ppt, &subs);
            assert!(out.values().all(|l| l.len() == 4), "{out:?}");
            assert!(contains_all(&c2_owned, &out["consumer2"]));
            assert!(contains_all(&c3_owned, &out["consumer3"]));
            check_balanced(&ppt, &subs, &out);
        }
    }

    #[test]
    fn sticky_schema_backward_compatibility() {
        // consumer2 reports its partitions without a generation (Kafka's
        // oldest user-data schema).
        let ppt = ppt(&[("topic", 3)]);
        let c1_owned = tps(&[("topic", 0), ("topic", 2)]);
        let subs = subs(vec![
            ("consumer1", owning(&["topic"], c1_owned.clone(), 1)),
            (
                "consumer2",
                sub(&["topic"]).with_owned_partitions(tps(&[("topic", 1)])),
            ),
            ("consumer3", sub(&["topic"])),
        ]);
        let out = StickyAssignor.assign(&ppt, &subs);
        assert!(out.values().all(|l| l.len() == 1));
        assert!(contains_all(&c1_owned, &out["consumer1"]));
        assert_eq!(out["consumer2"], tps(&[("topic", 1)]));
        check_balanced(&ppt, &subs, &out);
    }

    #[test]
    fn sticky_assignor_with_old_version_subscriptions() {
        both_sticky(|a| {
            let ppt = ppt(&[("topic1", 3)]);
            let subs = subs(vec![
                (
                    "consumer1",
                    owning(&["topic1"], tps(&[("topic1", 0)]), GENERATION),
                ),
                (
                    "consumer2",
                    owning(&["topic1"], tps(&[("topic1", 1)]), GENERATION),
                ),
                ("consumer3", owning(&["topic1"], vec![], GENERATION)),
            ]);
            let out = a.assign(&ppt, &subs);
            assert_eq!(out["consumer1"], tps(&[("topic1", 0)]));
            assert_eq!(out["consumer2"], tps(&[("topic1", 1)]));
            assert_eq!(out["consumer3"], tps(&[("topic1", 2)]));
            check_balanced(&ppt, &subs, &out);
        });
    }

    // -----------------------------------------------------------------------
    // Stickiness, balance and the cooperative rule over random groups
    // -----------------------------------------------------------------------

    /// The most partitions members can keep when everyone subscribes to the
    /// same topics: each keeps up to its quota, and the `P % M` larger quotas
    /// go to members owning more than the smaller one.
    fn max_kept(ppt: &Ppt, subs: &Subs) -> usize {
        let total: usize = ppt.values().map(|&n| n as usize).sum();
        let (quota, extra) = (total / subs.len(), total % subs.len());
        let owned: Vec<usize> = subs
            .values()
            .map(|s| {
                s.owned_partitions
                    .iter()
                    .filter(|p| p.partition() < ppt.get(p.topic()).copied().unwrap_or(0))
                    .count()
            })
            .collect();
        owned.iter().map(|&o| o.min(quota)).sum::<usize>()
            + owned.iter().filter(|&&o| o > quota).count().min(extra)
    }

    fn kept(subs: &Subs, out: &Assignment) -> usize {
        subs.iter()
            .map(|(m, s)| {
                s.owned_partitions
                    .iter()
                    .filter(|p| out[m].contains(p))
                    .count()
            })
            .sum()
    }

    #[test]
    fn sticky_moves_the_fewest_partitions_when_members_join_and_leave() {
        let all = ["a", "b", "c"];
        let ppt = ppt(&[("a", 7), ("b", 5), ("c", 11)]);
        let mut subs: Subs = (0..4).map(|i| (format!("m{i}"), sub(&all))).collect();
        let mut out = StickyAssignor.assign(&ppt, &subs);
        // Grow to 9 members one at a time, then shrink back to 1.
        let steps: Vec<(bool, usize)> = (4..9)
            .map(|i| (true, i))
            .chain((1..9).map(|i| (false, i)))
            .collect();
        for (join, i) in steps {
            owning_what_was_assigned(&mut subs, &out, GENERATION);
            if join {
                subs.insert(format!("m{i}"), owning(&all, vec![], GENERATION));
            } else {
                subs.remove(&format!("m{i}"));
            }
            out = StickyAssignor.assign(&ppt, &subs);
            check_balanced(&ppt, &subs, &out);
            assert!(is_fully_balanced(&out));
            assert_eq!(
                kept(&subs, &out),
                max_kept(&ppt, &subs),
                "join={join} m{i}: {out:?}"
            );
        }
    }

    #[test]
    fn cooperative_never_hands_over_a_partition_in_the_round_it_is_revoked() {
        let all = ["a", "b"];
        let ppt = ppt(&[("a", 6), ("b", 6)]);
        let mut subs: Subs = (0..2).map(|i| (format!("m{i}"), sub(&all))).collect();
        let mut out = CooperativeStickyAssignor.assign(&ppt, &subs);
        for i in 2..6 {
            owning_what_was_assigned(&mut subs, &out, GENERATION);
            subs.insert(format!("m{i}"), owning(&all, vec![], GENERATION));
            let first = CooperativeStickyAssignor.assign(&ppt, &subs);
            check_cooperative_round(&ppt, &subs, &first);
            // Nobody gains anything that is still owned elsewhere...
            for (m, list) in &first {
                for p in list {
                    assert!(
                        subs.iter()
                            .all(|(o, s)| o == m || !s.owned_partitions.contains(p))
                    );
                }
            }
            // ...the newcomer gets nothing, and the next round settles it.
            assert_eq!(first[&format!("m{i}")], vec![]);
            out = rebalance(&CooperativeStickyAssignor, &ppt, &mut subs);
            check_balanced(&ppt, &subs, &out);
            assert!(is_fully_balanced(&out));
        }
    }

    /// Random groups, three rounds each, checked after every round:
    ///
    /// * every assignor: valid (subscribed, existing, no partition twice,
    ///   every member listed, sorted), and complete for the eager ones;
    /// * range: per topic, ranges are contiguous, in member order, and differ
    ///   by at most one; round robin: fully balanced for equal subscriptions;
    /// * sticky: balanced, fully balanced for equal subscriptions, and for
    ///   equal subscriptions the fewest possible partitions change hands;
    /// * cooperative: exactly sticky's assignment minus the partitions some
    ///   other member still claims, and the group settles in a few rounds.
    #[test]
    fn random_groups_keep_every_invariant() {
        let mut rng = Rng(0x0b5e_55ed_cafe_f00d);
        for case in 0..400 {
            let topic_count = 1 + rng.below(5);
            let topics: Vec<String> = (0..topic_count).map(|t| format!("t{t}")).collect();
            let mut ppt: Ppt = topics
                .iter()
                .map(|t| (t.clone(), rng.below(13) as u32))
                .collect();
            if rng.chance(20) {
                ppt.insert("unsubscribed".into(), 4);
            }
            let equal = rng.chance(50);
            let random_topics = |rng: &mut Rng| {
                let mut ts: Vec<String> =
                    topics.iter().filter(|_| rng.chance(60)).cloned().collect();
                if rng.chance(10) {
                    ts.push("ghost".into());
                }
                ts
            };
            let shared = random_topics(&mut rng);
            let mut next_member = 0;
            let mut new_member = |rng: &mut Rng, subs: &mut Subs| {
                let mut s = Subscription::new(if equal {
                    shared.clone()
                } else {
                    random_topics(rng)
                });
                if rng.chance(30) {
                    s.group_instance_id = Some(format!("i{}", rng.below(1000)));
                }
                subs.insert(format!("m{:02}", (next_member * 37) % 100), s);
                next_member += 1;
            };
            let mut subs = Subs::new();
            for _ in 0..1 + rng.below(8) {
                new_member(&mut rng, &mut subs);
            }

            let mut owned_by: Option<Assignment> = None;
            for round in 0..3 {
                let context = format!("case {case} round {round}: {ppt:?} {subs:?}");
                let range = RangeAssignor.assign(&ppt, &subs);
                check_valid(&ppt, &subs, &range);
                check_complete(&ppt, &subs, &range);
                check_range_shape(&ppt, &subs, &range);
                let rr = RoundRobinAssignor.assign(&ppt, &subs);
                check_valid(&ppt, &subs, &rr);
                check_complete(&ppt, &subs, &rr);
                if equal {
                    assert!(is_fully_balanced(&rr), "{context}");
                }

                let sticky = StickyAssignor.assign(&ppt, &subs);
                check_valid(&ppt, &subs, &sticky);
                check_balanced(&ppt, &subs, &sticky);
                check_no_swaps(&ppt, &subs, &sticky);
                if equal {
                    assert!(is_fully_balanced(&sticky), "{context}");
                    if owned_by.is_some() {
                        assert_eq!(
                            kept(&subs, &sticky),
                            max_kept_for_subscribed(&ppt, &subs),
                            "{context}"
                        );
                    }
                }

                let coop = CooperativeStickyAssignor.assign(&ppt, &subs);
                check_valid(&ppt, &subs, &coop);
                check_cooperative_round(&ppt, &subs, &coop);
                let owners = resolved_owners(&ppt, &subs);
                for (m, list) in &sticky {
                    let expected: Vec<TopicPartition> = list
                        .iter()
                        .filter(|p| {
                            owners
                                .get(*p)
                                .is_some_and(|o| o.as_deref() == Some(m.as_str()))
                                || subs
                                    .iter()
                                    .all(|(o, s)| o == m || !s.owned_partitions.contains(p))
                        })
                        .cloned()
                        .collect();
                    assert_eq!(coop[m], expected, "{context}");
                }
                let mut settled_subs = subs.clone();
                let settled = rebalance(&CooperativeStickyAssignor, &ppt, &mut settled_subs);
                check_balanced(&ppt, &settled_subs, &settled);

                // Next round: the group changes a little and reports what the
                // sticky assignor gave it.
                owning_what_was_assigned(&mut subs, &sticky, round + 1);
                owned_by = Some(sticky);
                if rng.chance(30) && subs.len() > 1 {
                    let victim = subs.keys().nth(rng.below(subs.len())).unwrap().clone();
                    subs.remove(&victim);
                }
                if rng.chance(30) {
                    new_member(&mut rng, &mut subs);
                }
                if rng.chance(15) {
                    let t = &topics[rng.below(topic_count)];
                    *ppt.get_mut(t).unwrap() += rng.below(4) as u32;
                }
                if rng.chance(15) {
                    // A zombie: one member also claims a partition from an
                    // older generation, or with no generation at all.
                    let claims: Vec<TopicPartition> = subs
                        .values()
                        .flat_map(|s| s.owned_partitions.clone())
                        .collect();
                    if !claims.is_empty() {
                        let p = claims[rng.below(claims.len())].clone();
                        let zombie = subs.keys().nth(rng.below(subs.len())).unwrap().clone();
                        let s = subs.get_mut(&zombie).unwrap();
                        if !s.owned_partitions.contains(&p) {
                            s.owned_partitions.push(p);
                            s.generation = if rng.chance(50) { Some(round) } else { None };
                        }
                    }
                }
            }
        }
    }

    /// `max_kept` counting only partitions of subscribed topics, and only
    /// claims that win (a zombie's stale claim cannot be kept).
    fn max_kept_for_subscribed(ppt: &Ppt, subs: &Subs) -> usize {
        let wanted: BTreeSet<&str> = subs
            .values()
            .flat_map(|s| s.topics.iter().map(String::as_str))
            .collect();
        let live: Ppt = ppt
            .iter()
            .filter(|(t, _)| wanted.contains(t.as_str()))
            .map(|(t, &n)| (t.clone(), n))
            .collect();
        let owners = resolved_owners(&live, subs);
        let filtered: Subs = subs
            .iter()
            .map(|(m, s)| {
                let mut s = s.clone();
                s.owned_partitions.retain(|p| {
                    owners
                        .get(p)
                        .is_some_and(|o| o.as_deref() == Some(m.as_str()))
                });
                (m.clone(), s)
            })
            .collect();
        max_kept(&live, &filtered)
    }

    /// Range: per topic, the subscribed members in Kafka order hold
    /// consecutive ranges, larger ones first, differing by at most one.
    fn check_range_shape(ppt: &Ppt, subs: &Subs, out: &Assignment) {
        for (topic, &count) in ppt {
            let mut next = 0;
            let mut sizes = Vec::new();
            for (m, s) in members_in_kafka_order(subs) {
                if !s.topics.iter().any(|t| t == topic) {
                    continue;
                }
                let mine: Vec<u32> = out[m]
                    .iter()
                    .filter(|p| p.topic() == topic)
                    .map(|p| p.partition())
                    .collect();
                assert_eq!(
                    mine,
                    (next..next + mine.len() as u32).collect::<Vec<_>>(),
                    "{topic}: {out:?}"
                );
                next += mine.len() as u32;
                sizes.push(mine.len());
            }
            if !sizes.is_empty() {
                assert_eq!(next, count);
                assert!(
                    sizes.windows(2).all(|w| w[0] >= w[1] && w[0] <= w[1] + 1),
                    "{topic}: {sizes:?}"
                );
            }
        }
    }

    // -----------------------------------------------------------------------
    // Cost
    // -----------------------------------------------------------------------

    /// A 10-member group with 400 partitions, equal and unequal subscriptions,
    /// fresh and with every member owning its share. The budget is 1 ms per
    /// assignment in release builds; debug builds get a looser bound.
    #[test]
    fn ten_members_four_hundred_partitions_assign_quickly() {
        let budget = if cfg!(debug_assertions) {
            std::time::Duration::from_millis(40)
        } else {
            std::time::Duration::from_millis(1)
        };
        let ppt: Ppt = (0..8).map(|t| (format!("topic{t}"), 50)).collect();
        let all: Vec<String> = ppt.keys().cloned().collect();
        for equal in [true, false] {
            let fresh: Subs = (0..10)
                .map(|i| {
                    let topics = if equal || i % 3 != 0 {
                        all.clone()
                    } else {
                        all[..3].to_vec()
                    };
                    (format!("member-{i}"), Subscription::new(topics))
                })
                .collect();
            for a in all_assignors() {
                let first = a.assign(&ppt, &fresh);
                let mut owning = fresh.clone();
                owning_what_was_assigned(&mut owning, &first, GENERATION);
                // A member leaves: its share has to be spread out.
                owning.remove("member-4");
                for subs in [&fresh, &owning] {
                    let fastest = (0..5)
                        .map(|_| {
                            let start = std::time::Instant::now();
                            let out = a.assign(&ppt, subs);
                            let took = start.elapsed();
                            assert_eq!(out.len(), subs.len());
                            took
                        })
                        .min()
                        .unwrap();
                    assert!(
                        fastest < budget,
                        "{} (equal={equal}) took {fastest:?}",
                        a.name()
                    );
                }
            }
        }
    }
}
