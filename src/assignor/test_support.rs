//! Helpers shared by the assignors' tests: building groups, reading expected
//! assignments, and the checks every assignor's output must pass.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{
    Assignment, Assignor, CooperativeStickyAssignor, RangeAssignor, RebalanceProtocol,
    RoundRobinAssignor, StickyAssignor, Subscription,
};
use crate::record::TopicPartition;

pub(super) type Ppt = BTreeMap<String, u32>;

pub(super) type Subs = BTreeMap<String, Subscription>;

/// Generation the follow-up rounds of a cooperative rebalance report
/// (Kafka's tests use a fixed `generationId = 1` too).
pub(super) const GENERATION: i32 = 1;

pub(super) fn tp(topic: &str, partition: u32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

pub(super) fn sorted(mut list: Vec<TopicPartition>) -> Vec<TopicPartition> {
    list.sort_by(|a, b| {
        a.topic()
            .cmp(b.topic())
            .then(a.partition().cmp(&b.partition()))
    });
    list
}

/// Partitions given as `&[("topic", 0), ...]`, sorted like assignor output.
pub(super) fn tps(list: &[(&str, u32)]) -> Vec<TopicPartition> {
    sorted(list.iter().map(|&(t, p)| tp(t, p)).collect())
}

/// Partitions written the way Kafka's rack tests do: `"t1-0, t2-3"`.
pub(super) fn parse(text: &str) -> Vec<TopicPartition> {
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

pub(super) fn ppt(list: &[(&str, u32)]) -> Ppt {
    list.iter().map(|&(t, n)| (t.to_string(), n)).collect()
}

pub(super) fn sub(topics: &[&str]) -> Subscription {
    Subscription::new(topics.iter().copied())
}

pub(super) fn owning(topics: &[&str], owned: Vec<TopicPartition>, generation: i32) -> Subscription {
    sub(topics)
        .with_owned_partitions(owned)
        .with_generation(generation)
}

pub(super) fn subs(list: Vec<(&str, Subscription)>) -> Subs {
    list.into_iter().map(|(m, s)| (m.to_string(), s)).collect()
}

pub(super) fn expect(list: Vec<(&str, Vec<TopicPartition>)>) -> Assignment {
    list.into_iter()
        .map(|(m, l)| (m.to_string(), sorted(l)))
        .collect()
}

pub(super) fn canonical(prefix: &str, i: usize, max: usize) -> String {
    format!("{prefix}{i:0width$}", width = max.to_string().len())
}

pub(super) fn is_fully_balanced(a: &Assignment) -> bool {
    let min = a.values().map(Vec::len).min().unwrap_or(0);
    let max = a.values().map(Vec::len).max().unwrap_or(0);
    max <= min + 1
}

pub(super) fn count_topic(list: &[TopicPartition], topic: &str) -> usize {
    list.iter().filter(|p| p.topic() == topic).count()
}

pub(super) fn contains_all(list: &[TopicPartition], wanted: &[TopicPartition]) -> bool {
    wanted.iter().all(|p| list.contains(p))
}

pub(super) fn disjoint(a: &[TopicPartition], b: &[TopicPartition]) -> bool {
    a.iter().all(|p| !b.contains(p))
}

/// Every member has an entry, lists are sorted without repeats, partitions
/// exist and belong to subscribed topics, and no partition is given twice.
pub(super) fn check_valid(ppt: &Ppt, subs: &Subs, out: &Assignment) {
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
pub(super) fn check_complete(ppt: &Ppt, subs: &Subs, out: &Assignment) {
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
pub(super) fn check_balanced(ppt: &Ppt, subs: &Subs, out: &Assignment) {
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
pub(super) fn resolved_owners(ppt: &Ppt, subs: &Subs) -> HashMap<TopicPartition, Option<String>> {
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
pub(super) fn check_cooperative_round(ppt: &Ppt, subs: &Subs, out: &Assignment) {
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
pub(super) fn check_no_swaps(ppt: &Ppt, subs: &Subs, out: &Assignment) {
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

pub(super) fn is_cooperative(a: &dyn Assignor) -> bool {
    a.supported_protocols()
        .contains(&RebalanceProtocol::Cooperative)
}

/// One rebalance as the group sees it: for the cooperative assignor, the
/// follow-up rebalances run until nobody has anything left to revoke
/// (as Kafka's `CooperativeStickyAssignorTest.verifyValidityAndBalance`
/// does). `subs` ends up describing the last round.
pub(super) fn rebalance(a: &dyn Assignor, ppt: &Ppt, subs: &mut Subs) -> Assignment {
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
pub(super) fn withheld(ppt: &Ppt, subs: &Subs) -> BTreeMap<TopicPartition, String> {
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

pub(super) fn transfers(list: &[(TopicPartition, &str)]) -> BTreeMap<TopicPartition, String> {
    list.iter()
        .map(|(p, m)| (p.clone(), m.to_string()))
        .collect()
}

/// Runs a sticky test against both sticky assignors, as Kafka's abstract
/// test class does.
pub(super) fn both_sticky(test: impl Fn(&dyn Assignor)) {
    test(&StickyAssignor);
    test(&CooperativeStickyAssignor);
}

// Deterministic pseudo-random numbers (xorshift64*).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

pub(super) fn all_assignors() -> [&'static dyn Assignor; 4] {
    [
        &RangeAssignor,
        &RoundRobinAssignor,
        &StickyAssignor,
        &CooperativeStickyAssignor,
    ]
}

pub(super) fn static_sub(topics: &[&str], instance: &str) -> Subscription {
    sub(topics).with_group_instance_id(instance)
}

pub(super) fn by_instance(out: &Assignment, subs: &Subs) -> BTreeMap<String, Vec<TopicPartition>> {
    subs.iter()
        .filter_map(|(m, s)| s.group_instance_id.clone().map(|i| (i, out[m].clone())))
        .collect()
}

pub(super) fn swap_member_ids(subs: &mut Subs) {
    let s3 = subs.remove("consumer3").unwrap();
    subs.insert("consumer4".into(), s3);
    let s2 = subs.remove("consumer2").unwrap();
    subs.insert("consumer5".into(), s2);
}

/// Kafka's rack tests name members `consumer0`, `consumer1`, ...
pub(super) fn numbered(topics: &[&[&str]]) -> Subs {
    topics
        .iter()
        .enumerate()
        .map(|(i, ts)| (format!("consumer{i}"), sub(ts)))
        .collect()
}

pub(super) fn numbered_expect(lists: &[&str]) -> Assignment {
    lists
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("consumer{i}"), parse(l)))
        .collect()
}

/// The next generation's subscriptions: each member reports what `out`
/// gave it, owned in `generation`.
pub(super) fn owning_what_was_assigned(subs: &mut Subs, out: &Assignment, generation: i32) {
    for (m, s) in subs.iter_mut() {
        s.owned_partitions = out.get(m).cloned().unwrap_or_default();
        s.generation = Some(generation);
    }
}

pub(super) fn numbered_owning(topics: &[&[&str]], owned: &[&str]) -> Subs {
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

/// "h" owns all of topic t in generation 2; "lo" still claims t-0 from
/// generation 1; "a" is new. "x" only wants topic u, so subscriptions
/// differ and Kafka's general algorithm runs.
pub(super) fn stale_claim_group() -> (Ppt, Subs) {
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

/// The most partitions members can keep when everyone subscribes to the
/// same topics: each keeps up to its quota, and the `P % M` larger quotas
/// go to members owning more than the smaller one.
pub(super) fn max_kept(ppt: &Ppt, subs: &Subs) -> usize {
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

pub(super) fn kept(subs: &Subs, out: &Assignment) -> usize {
    subs.iter()
        .map(|(m, s)| {
            s.owned_partitions
                .iter()
                .filter(|p| out[m].contains(p))
                .count()
        })
        .sum()
}

/// A member of a table case: member id, subscribed topics, `group_instance_id`.
pub(super) type Member = (&'static str, &'static [&'static str], Option<&'static str>);

/// One case of a table-driven test: a group assigned from scratch, and the
/// whole assignment expected.
pub(super) struct Case {
    /// The Kafka test the case comes from.
    pub(super) name: &'static str,
    pub(super) partitions: &'static [(&'static str, u32)],
    pub(super) members: &'static [Member],
    /// Every member's partitions, written as Kafka's rack tests do (`"t1-0, t2-3"`).
    pub(super) expected: &'static [(&'static str, &'static str)],
}

/// Runs every case against `a`, comparing whole assignments.
pub(super) fn check_cases(a: &dyn Assignor, cases: &[Case]) {
    for case in cases {
        let subs: Subs = case
            .members
            .iter()
            .map(|&(id, topics, instance)| {
                let mut s = sub(topics);
                s.group_instance_id = instance.map(str::to_string);
                (id.to_string(), s)
            })
            .collect();
        let expected: Assignment = case
            .expected
            .iter()
            .map(|&(m, list)| (m.to_string(), parse(list)))
            .collect();
        assert_eq!(
            a.assign(&ppt(case.partitions), &subs),
            expected,
            "{} {}",
            a.name(),
            case.name
        );
    }
}

/// Kafka's `testStaticMember...AssignmentPersistent`: three static members and
/// a dynamic one get `expected`; when the dynamic member is replaced by
/// another, the newcomer gets exactly what it had.
pub(super) fn check_static_members_persist(
    a: &dyn Assignor,
    partitions: &[(&str, u32)],
    expected: &[(&str, &str)],
) {
    let both = ["topic1", "topic2"];
    let ppt = ppt(partitions);
    let mut subs = subs(vec![
        ("consumer1", static_sub(&both, "instance1")),
        ("consumer2", static_sub(&both, "instance2")),
        ("consumer3", static_sub(&both, "instance3")),
        ("consumer4", sub(&both)),
    ]);
    let mut expected: Assignment = expected
        .iter()
        .map(|&(m, list)| (m.to_string(), parse(list)))
        .collect();
    assert_eq!(a.assign(&ppt, &subs), expected);

    // Replace the dynamic member with another one.
    subs.remove("consumer4");
    subs.insert("consumer5".into(), sub(&both));
    let moved = expected.remove("consumer4").unwrap();
    expected.insert("consumer5".into(), moved);
    assert_eq!(a.assign(&ppt, &subs), expected);
}

/// Kafka's `testStaticMember...AssignmentPersistentAfterMemberIdChanges`:
/// three static members keep their partitions (`expected`, by instance id)
/// when their member ids change.
pub(super) fn check_static_members_persist_after_member_id_changes(
    a: &dyn Assignor,
    expected: &[(&str, &str)],
) {
    let both = ["topic1", "topic2"];
    let ppt = ppt(&[("topic1", 5), ("topic2", 5)]);
    let mut subs = subs(vec![
        ("consumer1", static_sub(&both, "instance1")),
        ("consumer2", static_sub(&both, "instance2")),
        ("consumer3", static_sub(&both, "instance3")),
    ]);
    let expected: BTreeMap<String, Vec<TopicPartition>> = expected
        .iter()
        .map(|&(i, list)| (i.to_string(), parse(list)))
        .collect();
    assert_eq!(by_instance(&a.assign(&ppt, &subs), &subs), expected);
    swap_member_ids(&mut subs);
    assert_eq!(by_instance(&a.assign(&ppt, &subs), &subs), expected);
}
