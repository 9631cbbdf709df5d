//! The four assignors over random group shapes: every partition of a subscribed topic
//! goes to exactly one member subscribed to its topic (cooperative-sticky: at most one,
//! holding back exactly the partitions another member still claims), equal
//! subscriptions give counts within one (range: within one per topic), and the sticky
//! assignors move no more partitions than balance needs when members join or leave.

use std::collections::{BTreeMap, BTreeSet};

use brooklet::{
    Assignment, Assignor, CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor,
    StickyAssignor, Subscription, TopicPartition,
};
use proptest::prelude::*;

const TOPICS: [&str; 5] = ["t0", "t1", "t2", "t3", "t4"];

/// One member as generated: its id, topic mask over `TOPICS` (bit 5 is a topic that
/// does not exist), claimed partitions as (topic index, partition number, which may be
/// out of range), and the generation of the claim.
#[derive(Debug, Clone)]
struct MemberShape {
    id: String,
    mask: u8,
    owned: Vec<(usize, u32)>,
    generation: Option<i32>,
}

#[derive(Debug, Clone)]
struct Shape {
    partitions: BTreeMap<String, u32>,
    members: Vec<MemberShape>,
}

impl Shape {
    fn subscriptions(&self) -> BTreeMap<String, Subscription> {
        self.members
            .iter()
            .map(|m| {
                let mut topics: Vec<String> = (0..TOPICS.len())
                    .filter(|t| m.mask & (1 << t) != 0)
                    .map(|t| TOPICS[t].to_string())
                    .collect();
                if m.mask & (1 << 5) != 0 {
                    topics.push("ghost".to_string());
                }
                let mut s = Subscription::new(topics).with_owned_partitions(
                    m.owned
                        .iter()
                        .map(|&(t, p)| TopicPartition::new(TOPICS[t], p)),
                );
                s.generation = m.generation;
                (m.id.clone(), s)
            })
            .collect()
    }
}

/// Member ids: distinct, in a random order relative to their position, so that sort
/// order (which the assignors use for ties) and generation order differ.
fn member_ids(n: usize) -> impl Strategy<Value = Vec<String>> {
    Just((0..n).collect::<Vec<_>>())
        .prop_shuffle()
        .prop_map(|v| v.into_iter().map(|k| format!("consumer-{k:02}")).collect())
}

/// A random group: 1-5 topics of 1-30 partitions, 1-12 members with random (or, when
/// `equal`, identical) subscriptions and random claims from a previous round.
fn shape(equal: Option<bool>) -> impl Strategy<Value = Shape> {
    let equal = match equal {
        Some(e) => Just(e).boxed(),
        None => any::<bool>().boxed(),
    };
    (
        proptest::collection::vec(1u32..=30, 1..=TOPICS.len()),
        (1usize..=12).prop_flat_map(|n| {
            (
                member_ids(n),
                proptest::collection::vec(
                    (
                        0u8..64,
                        proptest::collection::vec((0usize..5, 0u32..32), 0..24),
                        proptest::option::of(-1i32..3),
                    ),
                    n,
                ),
            )
        }),
        equal,
        1u8..32,
    )
        .prop_map(|(counts, (ids, members), equal, shared)| {
            // Equal subscriptions name at least one existing topic.
            let shared = match shared & ((1 << counts.len()) - 1) {
                0 => 1,
                m => m,
            };
            let partitions: BTreeMap<String, u32> = counts
                .iter()
                .enumerate()
                .map(|(t, &n)| (TOPICS[t].to_string(), n))
                .collect();
            let members = ids
                .into_iter()
                .zip(members)
                .map(|(id, (mask, owned, generation))| MemberShape {
                    id,
                    mask: if equal { shared } else { mask },
                    owned,
                    generation,
                })
                .collect();
            Shape {
                partitions,
                members,
            }
        })
}

/// Every existing partition of a topic somebody subscribes to.
fn subscribed_partitions(
    partitions: &BTreeMap<String, u32>,
    subs: &BTreeMap<String, Subscription>,
) -> BTreeSet<TopicPartition> {
    let wanted: BTreeSet<&str> = subs
        .values()
        .flat_map(|s| s.topics.iter().map(String::as_str))
        .collect();
    partitions
        .iter()
        .filter(|(t, _)| wanted.contains(t.as_str()))
        .flat_map(|(t, &n)| (0..n).map(move |p| TopicPartition::new(t.as_str(), p)))
        .collect()
}

/// Owner of every assigned partition; fails on a partition given twice, to a member
/// not subscribed to its topic, or to a member that is not in the group.
fn owners(
    assignment: &Assignment,
    subs: &BTreeMap<String, Subscription>,
) -> Result<BTreeMap<TopicPartition, String>, TestCaseError> {
    prop_assert_eq!(
        assignment.keys().collect::<Vec<_>>(),
        subs.keys().collect::<Vec<_>>(),
        "one entry per member"
    );
    let mut out = BTreeMap::new();
    for (m, list) in assignment {
        let mut sorted = list.clone();
        sorted.sort();
        prop_assert_eq!(&sorted, list, "lists are sorted by topic, then partition");
        for tp in list {
            prop_assert!(
                subs[m].topics.iter().any(|t| t == tp.topic()),
                "{} given to {} which does not subscribe to its topic",
                tp,
                m
            );
            if let Some(other) = out.insert(tp.clone(), m.clone()) {
                prop_assert!(false, "{} given to both {} and {}", tp, other, m);
            }
        }
    }
    Ok(out)
}

fn counts_within_one(counts: impl IntoIterator<Item = usize>) -> bool {
    let v: Vec<usize> = counts.into_iter().collect();
    match (v.iter().min(), v.iter().max()) {
        (Some(lo), Some(hi)) => hi - lo <= 1,
        _ => true,
    }
}

fn all_equal(subs: &BTreeMap<String, Subscription>) -> bool {
    let sets: Vec<BTreeSet<&String>> = subs.values().map(|s| s.topics.iter().collect()).collect();
    sets.windows(2).all(|w| w[0] == w[1])
}

/// Kafka's balance condition for the sticky assignors (`AbstractStickyAssignorTest.
/// verifyValidityAndBalance`): a member holding two or more partitions more than
/// another holds none that the other could take (none of a topic it subscribes to).
fn sticky_balanced(
    assignment: &Assignment,
    subs: &BTreeMap<String, Subscription>,
) -> Result<(), TestCaseError> {
    for (a, la) in assignment {
        for (b, lb) in assignment {
            if la.len() < lb.len() + 2 {
                continue;
            }
            for tp in la {
                prop_assert!(
                    !subs[b].topics.iter().any(|t| t == tp.topic()),
                    "{} holds {} partitions, {} holds {} and could take {}",
                    a,
                    la.len(),
                    b,
                    lb.len(),
                    tp
                );
            }
        }
    }
    Ok(())
}

/// The member whose claim on each partition wins: the only claim from the highest
/// generation (a missing or negative generation ranks lowest); `None` on a tie.
fn claim_winners(subs: &BTreeMap<String, Subscription>) -> BTreeMap<TopicPartition, Option<&str>> {
    let mut claims: BTreeMap<TopicPartition, Vec<(&str, i32)>> = BTreeMap::new();
    for (m, s) in subs {
        let generation = s.generation.unwrap_or(-1).max(-1);
        let unique: BTreeSet<&TopicPartition> = s.owned_partitions.iter().collect();
        for tp in unique {
            claims
                .entry(tp.clone())
                .or_default()
                .push((m.as_str(), generation));
        }
    }
    claims
        .into_iter()
        .map(|(tp, cs)| {
            let top = cs.iter().map(|c| c.1).max().unwrap();
            let winners: Vec<&str> = cs.iter().filter(|c| c.1 == top).map(|c| c.0).collect();
            let winner = (winners.len() == 1).then_some(winners[0]);
            (tp, winner)
        })
        .collect()
}

/// Common checks: valid, complete (cooperative: complete up to what it holds back) and
/// balanced where the assignor promises it.
fn check(assignor: &dyn Assignor, shape: &Shape) -> Result<Assignment, TestCaseError> {
    let subs = shape.subscriptions();
    let out = assignor.assign(&shape.partitions, &subs);
    let owner = owners(&out, &subs)?;
    let expected = subscribed_partitions(&shape.partitions, &subs);
    let assigned: BTreeSet<TopicPartition> = owner.keys().cloned().collect();
    prop_assert!(
        assigned.is_subset(&expected),
        "assigned a partition nobody subscribes to or that does not exist: {:?}",
        assigned.difference(&expected).collect::<Vec<_>>()
    );
    let cooperative = assignor.name() == CooperativeStickyAssignor::NAME;
    if !cooperative {
        prop_assert_eq!(&assigned, &expected, "every subscribed partition, once");
    }
    match assignor.name() {
        RangeAssignor::NAME => {
            // Within one per topic, among the members subscribed to it, whatever the
            // subscriptions.
            for topic in shape.partitions.keys() {
                let counts = out
                    .iter()
                    .filter(|(m, _)| subs[*m].topics.contains(topic))
                    .map(|(_, l)| l.iter().filter(|tp| tp.topic() == topic).count());
                prop_assert!(counts_within_one(counts), "range unbalanced on {}", topic);
            }
        }
        RoundRobinAssignor::NAME if all_equal(&subs) => {
            prop_assert!(counts_within_one(out.values().map(Vec::len)));
        }
        StickyAssignor::NAME => {
            if all_equal(&subs) {
                prop_assert!(counts_within_one(out.values().map(Vec::len)));
            }
            sticky_balanced(&out, &subs)?;
        }
        CooperativeStickyAssignor::NAME => {
            // The target is the sticky one; what is missing is exactly what another
            // member claims and this member does not win.
            let target = StickyAssignor.assign(&shape.partitions, &subs);
            let winners = claim_winners(&subs);
            for (m, want) in &target {
                let got: BTreeSet<&TopicPartition> = out[m].iter().collect();
                for tp in want {
                    let claimed_by_other = subs
                        .iter()
                        .any(|(n, s)| n != m && s.owned_partitions.contains(tp));
                    let wins = winners.get(tp).copied().flatten() == Some(m.as_str());
                    let withhold = claimed_by_other && !wins;
                    prop_assert_eq!(
                        got.contains(tp),
                        !withhold,
                        "{} for {}: claimed by another member {}, won by it {}",
                        tp,
                        m,
                        claimed_by_other,
                        wins
                    );
                }
                prop_assert!(got.len() <= want.len(), "{} got more than the target", m);
            }
        }
        _ => {}
    }
    Ok(out)
}

fn assignors() -> [&'static dyn Assignor; 4] {
    [
        &RangeAssignor,
        &RoundRobinAssignor,
        &StickyAssignor,
        &CooperativeStickyAssignor,
    ]
}

/// The fewest partitions that must leave their current owners for `total` partitions
/// to be balanced within one over `members` members, when the members now hold
/// `counts` (the extra partitions stay with the members holding the most).
fn fewest_moves(mut counts: Vec<usize>, members: usize, total: usize) -> usize {
    counts.resize(members, 0);
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let (quota, extra) = (total / members, total % members);
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| c.saturating_sub(quota + usize::from(i < extra)))
        .sum()
}

/// Partitions owned before by a member still in the group that now belong to
/// someone else (or to nobody).
fn moved(before: &Assignment, after: &Assignment) -> usize {
    let now: BTreeMap<&TopicPartition, &String> = after
        .iter()
        .flat_map(|(m, l)| l.iter().map(move |tp| (tp, m)))
        .collect();
    before
        .iter()
        .filter(|(m, _)| after.contains_key(*m))
        .flat_map(|(m, l)| l.iter().map(move |tp| (m, tp)))
        .filter(|(m, tp)| now.get(tp) != Some(m))
        .count()
}

fn with_owned(
    subs: &BTreeMap<String, Subscription>,
    previous: &Assignment,
    generation: i32,
) -> BTreeMap<String, Subscription> {
    subs.iter()
        .map(|(m, s)| {
            let owned = previous.get(m).cloned().unwrap_or_default();
            let s = s
                .clone()
                .with_owned_partitions(owned)
                .with_generation(generation);
            (m.clone(), s)
        })
        .collect()
}

fn cases() -> u32 {
    if std::env::var_os("BROOKLET_STRESS").is_some() {
        5_000
    } else {
        256
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn every_assignor_is_valid_complete_and_balanced(shape in shape(None)) {
        for a in assignors() {
            check(a, &shape)?;
        }
    }

    /// Equal subscriptions and claims that do not conflict (one owner per partition, as
    /// after a normal round): the sticky assignors keep everything balance allows.
    #[test]
    fn sticky_moves_the_fewest_partitions_from_any_previous_assignment(
        shape in shape(Some(true)),
        owners_seed in proptest::collection::vec(any::<prop::sample::Index>(), 150),
        unowned in proptest::collection::vec(any::<bool>(), 150),
        skew in any::<prop::sample::Index>(),
    ) {
        let base: BTreeMap<String, Subscription> = shape
            .subscriptions()
            .into_iter()
            .map(|(m, s)| (m, Subscription::new(s.topics)))
            .collect();
        let all: Vec<TopicPartition> = subscribed_partitions(&shape.partitions, &base).into_iter().collect();
        let ids: Vec<&String> = base.keys().collect();
        // Previous owners are the first `k` members only, so counts are skewed.
        let owning = &ids[..=skew.index(ids.len())];
        let mut previous: Assignment = base.keys().map(|m| (m.clone(), Vec::new())).collect();
        for (i, tp) in all.iter().enumerate() {
            if !unowned[i] {
                let m = owners_seed[i].get(owning);
                previous.get_mut(*m).unwrap().push(tp.clone());
            }
        }
        let subs = with_owned(&base, &previous, 1);
        let sticky = StickyAssignor.assign(&shape.partitions, &subs);
        owners(&sticky, &subs)?;
        let counts = previous.values().map(Vec::len).collect();
        prop_assert_eq!(moved(&previous, &sticky), fewest_moves(counts, ids.len(), all.len()));
    }

    /// A member joins or leaves a balanced group: sticky moves the fewest partitions;
    /// cooperative-sticky gets to the same place in two rounds without moving anything
    /// in the second.
    #[test]
    fn sticky_join_or_leave_moves_the_fewest_partitions(
        shape in shape(Some(true)),
        join in any::<bool>(),
        who in any::<prop::sample::Index>(),
    ) {
        let base: BTreeMap<String, Subscription> = shape
            .subscriptions()
            .into_iter()
            .map(|(m, s)| (m, Subscription::new(s.topics)))
            .collect();
        let topics = base.values().next().unwrap().topics.clone();
        let total = subscribed_partitions(&shape.partitions, &base).len();
        for a in [&StickyAssignor as &dyn Assignor, &CooperativeStickyAssignor] {
            let round1 = a.assign(&shape.partitions, &base);
            prop_assert!(counts_within_one(round1.values().map(Vec::len)));
            let mut next = with_owned(&base, &round1, 1);
            if join {
                // Ids sort anywhere among the others.
                let id = format!("consumer-{:02}x", who.index(base.len() + 1));
                next.insert(id, Subscription::new(topics.clone()));
            } else if next.len() > 1 {
                let id = who.get(&base.keys().cloned().collect::<Vec<_>>()).clone();
                next.remove(&id);
            } else {
                continue;
            }
            let counts = round1
                .iter()
                .filter(|(m, _)| next.contains_key(*m))
                .map(|(_, l)| l.len())
                .collect();
            let fewest = fewest_moves(counts, next.len(), total);
            let round2 = a.assign(&shape.partitions, &next);
            owners(&round2, &next)?;
            if a.name() == StickyAssignor::NAME {
                prop_assert!(counts_within_one(round2.values().map(Vec::len)));
                prop_assert_eq!(moved(&round1, &round2), fewest, "sticky round 2");
            } else {
                // Round 2 only revokes; round 3 hands out what was revoked.
                let third = with_owned(&next, &round2, 2);
                let round3 = a.assign(&shape.partitions, &third);
                let owner3 = owners(&round3, &third)?;
                prop_assert_eq!(owner3.len(), total, "round 3 assigns everything");
                prop_assert!(counts_within_one(round3.values().map(Vec::len)));
                prop_assert_eq!(moved(&round2, &round3), 0, "round 3 moves nothing owned");
                prop_assert_eq!(moved(&round1, &round3), fewest, "cooperative rounds 2 + 3");
            }
        }
    }
}
