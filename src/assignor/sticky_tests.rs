//! The cases of Kafka's `AbstractStickyAssignorTest` (run against both sticky
//! assignors, as Kafka's abstract class is) and `StickyAssignorTest`, and the
//! sticky engine's parts.

use super::*;
use crate::assignor::test_support::*;
use crate::assignor::{Assignor, Subscription};

/// A member of a sticky case: id, subscribed topics, the partitions it owned
/// (`"t-0, t-1"`), and the generation it owned them in.
type Owner = (
    &'static str,
    &'static [&'static str],
    &'static str,
    Option<i32>,
);

/// One rebalance, run against both sticky assignors (for the cooperative one,
/// until the group settles).
struct StickyCase {
    /// The Kafka test the case comes from.
    name: &'static str,
    partitions: &'static [(&'static str, u32)],
    members: &'static [Owner],
    /// What the cooperative assignor holds back in its first round (partition,
    /// its intended owner), where Kafka's test checks it.
    withheld: Option<&'static [(&'static str, &'static str)]>,
    /// Members' partitions once the group settles, where Kafka's test names them.
    expected: &'static [(&'static str, &'static str)],
    /// Whether assigned counts must differ by at most one.
    fully_balanced: bool,
}

const G: Option<i32> = Some(GENERATION);
const T: &[&str] = &["topic"];
const T1: &[&str] = &["topic1"];
const T12: &[&str] = &["topic1", "topic2"];
const TT2: &[&str] = &["topic", "topic2"];
const TT23: &[&str] = &["topic", "topic2", "topic3"];
const TT231: &[&str] = &["topic", "topic2", "topic3", "topic1"];
const NO_OWNED: Option<&[(&str, &str)]> = Some(&[]);

const STICKY_CASES: &[StickyCase] = &[
    StickyCase {
        name: "one_consumer_no_topic",
        partitions: &[],
        members: &[("consumer", &[], "", None)],
        withheld: NO_OWNED,
        expected: &[("consumer", "")],
        fully_balanced: false,
    },
    StickyCase {
        name: "one_consumer_nonexistent_topic",
        partitions: &[("topic", 0)],
        members: &[("consumer", T, "", None)],
        withheld: None,
        expected: &[("consumer", "")],
        fully_balanced: false,
    },
    StickyCase {
        name: "one_consumer_one_topic",
        partitions: &[("topic", 3)],
        members: &[("consumer", T, "", None)],
        withheld: NO_OWNED,
        expected: &[("consumer", "topic-0, topic-1, topic-2")],
        fully_balanced: false,
    },
    StickyCase {
        name: "only_assigns_partitions_from_subscribed_topics",
        partitions: &[("topic", 2)],
        members: &[("consumer", T, "topic-0, topic-1, other-0, other-1", G)],
        withheld: NO_OWNED,
        expected: &[("consumer", "topic-0, topic-1")],
        fully_balanced: false,
    },
    StickyCase {
        name: "one_consumer_multiple_topics",
        partitions: &[("topic1", 1), ("topic2", 2)],
        members: &[("consumer", T12, "", None)],
        withheld: None,
        expected: &[("consumer", "topic1-0, topic2-0, topic2-1")],
        fully_balanced: false,
    },
    StickyCase {
        name: "two_consumers_one_topic_one_partition",
        partitions: &[("topic", 1)],
        members: &[("consumer1", T, "", None), ("consumer2", T, "", None)],
        withheld: None,
        expected: &[],
        fully_balanced: true,
    },
    StickyCase {
        name: "two_consumers_one_topic_two_partitions",
        partitions: &[("topic", 2)],
        members: &[("consumer1", T, "", None), ("consumer2", T, "", None)],
        withheld: None,
        expected: &[("consumer1", "topic-0"), ("consumer2", "topic-1")],
        fully_balanced: false,
    },
    StickyCase {
        name: "multiple_consumers_mixed_topic_subscriptions",
        partitions: &[("topic1", 3), ("topic2", 2)],
        members: &[
            ("consumer1", T1, "", None),
            ("consumer2", T12, "", None),
            ("consumer3", T1, "", None),
        ],
        withheld: None,
        expected: &[
            ("consumer1", "topic1-0, topic1-2"),
            ("consumer2", "topic2-0, topic2-1"),
            ("consumer3", "topic1-1"),
        ],
        fully_balanced: true,
    },
    StickyCase {
        name: "two_consumers_two_topics_six_partitions",
        partitions: &[("topic1", 3), ("topic2", 3)],
        members: &[("consumer1", T12, "", None), ("consumer2", T12, "", None)],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic1-0, topic1-2, topic2-1"),
            ("consumer2", "topic1-1, topic2-0, topic2-2"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "consumer_owning_min_quota_expected_max_quota",
        partitions: &[("topic1", 2), ("topic2", 3)],
        members: &[
            ("consumer1", T12, "topic1-0, topic2-1", G),
            ("consumer2", T12, "topic1-1, topic2-2", G),
        ],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic1-0, topic2-0, topic2-1"),
            ("consumer2", "topic1-1, topic2-2"),
        ],
        fully_balanced: false,
    },
    // Two members own two partitions each but only one may keep two.
    // Kafka visits members in Java `HashMap` order, which happens to put
    // consumer2 first, so its test expects consumer2 to keep both and
    // topic2-0 to move. We visit members in id order, so consumer1 keeps
    // both and topic2-1 moves: the mirror image, equally sticky.
    StickyCase {
        name: "max_quota_consumer_more_than_num_expected_max_capacity_members",
        partitions: &[("topic1", 2), ("topic2", 2)],
        members: &[
            ("consumer1", T12, "topic1-0, topic2-0", G),
            ("consumer2", T12, "topic1-1, topic2-1", G),
            ("consumer3", T12, "", G),
        ],
        withheld: Some(&[("topic2-1", "consumer3")]),
        expected: &[
            ("consumer1", "topic1-0, topic2-0"),
            ("consumer2", "topic1-1"),
            ("consumer3", "topic2-1"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "all_consumers_are_under_min_quota",
        partitions: &[("topic1", 2), ("topic2", 3)],
        members: &[
            ("consumer1", T12, "topic1-0", G),
            ("consumer2", T12, "topic1-1", G),
            ("consumer3", T12, "", G),
        ],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic1-0, topic2-1"),
            ("consumer2", "topic1-1, topic2-2"),
            ("consumer3", "topic2-0"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "all_consumers_reach_expected_quota_and_are_considered_filled",
        partitions: &[("topic", 4)],
        members: &[
            ("consumer1", T, "topic-0, topic-1", G),
            ("consumer2", T, "topic-2", G),
            ("consumer3", T, "", G),
        ],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic-0, topic-1"),
            ("consumer2", "topic-2"),
            ("consumer3", "topic-3"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "owned_partitions_are_invalidated_for_consumer_with_stale_generation",
        partitions: &[("topic", 3), ("topic2", 3)],
        members: &[
            ("consumer1", TT2, "topic-0, topic-2, topic2-1", Some(10)),
            ("consumer2", TT2, "topic-0, topic-2, topic2-1", Some(9)),
        ],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic-0, topic-2, topic2-1"),
            ("consumer2", "topic-1, topic2-0, topic2-2"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "owned_partitions_are_invalidated_for_consumer_with_no_generation",
        partitions: &[("topic", 3), ("topic2", 3)],
        members: &[
            ("consumer1", TT2, "topic-0, topic-2, topic2-1", Some(10)),
            ("consumer2", TT2, "topic-0, topic-2, topic2-1", None),
        ],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic-0, topic-2, topic2-1"),
            ("consumer2", "topic-1, topic2-0, topic2-2"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "partitions_transferring_ownership_include_the_partition_claimed_by_multiple_consumers_in_same_generation",
        partitions: &[("topic", 3)],
        members: &[
            ("consumer1", T, "topic-0, topic-1", G),
            ("consumer2", T, "topic-0, topic-2", G),
            ("consumer3", T, "", G),
        ],
        withheld: Some(&[("topic-0", "consumer3")]),
        expected: &[
            ("consumer1", "topic-1"),
            ("consumer2", "topic-2"),
            ("consumer3", "topic-0"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "ensure_partitions_assigned_to_highest_generation",
        partitions: &[("topic", 3), ("topic2", 3), ("topic3", 3)],
        members: &[
            ("consumer1", TT23, "topic-0, topic2-0, topic3-0", Some(10)),
            ("consumer2", TT23, "topic-1, topic2-1, topic3-1", Some(9)),
            ("consumer3", TT23, "topic2-1, topic3-0, topic3-2", Some(8)),
        ],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic-0, topic2-0, topic3-0"),
            ("consumer2", "topic-1, topic2-1, topic3-1"),
            ("consumer3", "topic-2, topic2-2, topic3-2"),
        ],
        fully_balanced: false,
    },
    StickyCase {
        name: "no_reassignment_on_current_members",
        partitions: &[("topic", 3), ("topic1", 3), ("topic2", 3), ("topic3", 3)],
        members: &[
            ("consumer1", TT231, "", None),
            ("consumer2", TT231, "topic-0, topic2-0, topic1-0", Some(9)),
            ("consumer3", TT231, "topic3-2, topic2-2, topic1-1", Some(8)),
            ("consumer4", TT231, "topic3-1, topic-1, topic-2", Some(7)),
        ],
        withheld: NO_OWNED,
        expected: &[("consumer1", "topic1-2, topic2-1, topic3-0")],
        fully_balanced: false,
    },
    StickyCase {
        name: "owned_partitions_are_invalidated_for_consumer_with_multiple_generation",
        partitions: &[("topic", 3), ("topic2", 3)],
        members: &[
            ("consumer1", TT2, "topic-0, topic2-1, topic-1", Some(10)),
            ("consumer2", TT2, "topic-0, topic2-1, topic2-2", Some(8)),
        ],
        withheld: NO_OWNED,
        expected: &[
            ("consumer1", "topic-0, topic2-1, topic-1"),
            ("consumer2", "topic-2, topic2-2, topic2-0"),
        ],
        fully_balanced: false,
    },
];

#[test]
fn kafka_sticky_cases() {
    for case in STICKY_CASES {
        both_sticky(|a| {
            let context = format!("{} {}", a.name(), case.name);
            let ppt = ppt(case.partitions);
            let mut subs: Subs = case
                .members
                .iter()
                .map(|&(id, topics, owned, generation)| {
                    let mut s = sub(topics).with_owned_partitions(parse(owned));
                    s.generation = generation;
                    (id.to_string(), s)
                })
                .collect();
            if let Some(list) = case.withheld {
                let list: Vec<(TopicPartition, &str)> =
                    list.iter().map(|&(p, m)| (parse(p).remove(0), m)).collect();
                assert_eq!(withheld(&ppt, &subs), transfers(&list), "{context}");
            }
            let out = rebalance(a, &ppt, &mut subs);
            for &(m, list) in case.expected {
                assert_eq!(out[m], parse(list), "{context}: {m}");
            }
            // check_balanced's message does not name the case.
            eprintln!("checking balance: {context}");
            check_balanced(&ppt, &subs, &out);
            if case.fully_balanced {
                assert!(is_fully_balanced(&out), "{context}: {out:?}");
            }
        });
    }
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
