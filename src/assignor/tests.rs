//! Tests over every assignor: names and protocols, Kafka's member order
//! (`AbstractPartitionAssignorTest`), invariants over random groups, and cost.

use std::collections::BTreeSet;

use super::*;
use crate::assignor::test_support::*;

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
            let mut ts: Vec<String> = topics.iter().filter(|_| rng.chance(60)).cloned().collect();
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
