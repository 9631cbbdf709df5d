//! Kafka's `sticky` assignor (`StickyAssignor`, KIP-54) and the engine it shares with
//! `cooperative-sticky`: Kafka's constrained algorithm for equal subscriptions and its
//! general algorithm for the rest.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::{Assignment, Assignor, EAGER_ONLY, RebalanceProtocol, Subscription};
use crate::record::TopicPartition;

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

// ---------------------------------------------------------------------------
// The sticky engine
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

pub(super) fn sticky_assign(
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
#[path = "sticky_tests.rs"]
mod tests;
