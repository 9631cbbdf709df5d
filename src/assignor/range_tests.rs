//! The cases of Kafka's `RangeAssignorTest` (the rack-aware ones with members
//! and brokers without racks, Kafka's `verifyNonRackAwareAssignment`).

use super::*;
use crate::assignor::test_support::*;

const BOTH: &[&str] = &["topic1", "topic2"];
const T123: &[&str] = &["t1", "t2", "t3"];
const T13: &[&str] = &["t1", "t3"];
const T12: &[&str] = &["t1", "t2"];
const T34: &[&str] = &["t3", "t4"];
const T1234: &[&str] = &["t1", "t2", "t3", "t4"];
/// t7, t8 and t9 do not exist.
const T1TO9: &[&str] = &["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];

const CASES: &[Case] = &[
    Case {
        name: "one_consumer_no_topic",
        partitions: &[],
        members: &[("consumer1", &[], None)],
        expected: &[("consumer1", "")],
    },
    Case {
        name: "one_consumer_nonexistent_topic",
        partitions: &[],
        members: &[("consumer1", &["topic1"], None)],
        expected: &[("consumer1", "")],
    },
    Case {
        name: "one_consumer_one_topic",
        partitions: &[("topic1", 3)],
        members: &[("consumer1", &["topic1"], None)],
        expected: &[("consumer1", "topic1-0, topic1-1, topic1-2")],
    },
    Case {
        name: "only_assigns_partitions_from_subscribed_topics",
        partitions: &[("topic1", 3), ("other", 3)],
        members: &[("consumer1", &["topic1"], None)],
        expected: &[("consumer1", "topic1-0, topic1-1, topic1-2")],
    },
    Case {
        name: "one_consumer_multiple_topics",
        partitions: &[("topic1", 1), ("topic2", 2)],
        members: &[("consumer1", BOTH, None)],
        expected: &[("consumer1", "topic1-0, topic2-0, topic2-1")],
    },
    Case {
        name: "two_consumers_one_topic_one_partition",
        partitions: &[("topic1", 1)],
        members: &[
            ("consumer1", &["topic1"], None),
            ("consumer2", &["topic1"], None),
        ],
        expected: &[("consumer1", "topic1-0"), ("consumer2", "")],
    },
    Case {
        name: "two_consumers_one_topic_two_partitions",
        partitions: &[("topic1", 2)],
        members: &[
            ("consumer1", &["topic1"], None),
            ("consumer2", &["topic1"], None),
        ],
        expected: &[("consumer1", "topic1-0"), ("consumer2", "topic1-1")],
    },
    Case {
        name: "multiple_consumers_mixed_topics",
        partitions: &[("topic1", 3), ("topic2", 2)],
        members: &[
            ("consumer1", &["topic1"], None),
            ("consumer2", BOTH, None),
            ("consumer3", &["topic1"], None),
        ],
        expected: &[
            ("consumer1", "topic1-0"),
            ("consumer2", "topic1-1, topic2-0, topic2-1"),
            ("consumer3", "topic1-2"),
        ],
    },
    Case {
        name: "two_consumers_two_topics_six_partitions",
        partitions: &[("topic1", 3), ("topic2", 3)],
        members: &[("consumer1", BOTH, None), ("consumer2", BOTH, None)],
        expected: &[
            ("consumer1", "topic1-0, topic1-1, topic2-0, topic2-1"),
            ("consumer2", "topic1-2, topic2-2"),
        ],
    },
    // "consumer-a" sorts first by member id, but instance ids decide.
    Case {
        name: "two_static_consumers_two_topics_six_partitions",
        partitions: &[("topic1", 3), ("topic2", 3)],
        members: &[
            ("consumer-b", BOTH, Some("instance1")),
            ("consumer-a", BOTH, Some("instance2")),
        ],
        expected: &[
            ("consumer-b", "topic1-0, topic1-1, topic2-0, topic2-1"),
            ("consumer-a", "topic1-2, topic2-2"),
        ],
    },
    // The static member comes first whatever its member id.
    Case {
        name: "one_static_consumer_and_one_dynamic_consumer_two_topics_six_partitions",
        partitions: &[("topic1", 3), ("topic2", 3)],
        members: &[
            ("consumer-b", BOTH, Some("instance1")),
            ("consumer-a", BOTH, None),
        ],
        expected: &[
            ("consumer-b", "topic1-0, topic1-1, topic2-0, topic2-1"),
            ("consumer-a", "topic1-2, topic2-2"),
        ],
    },
    Case {
        name: "rack_aware_assignment_with_uniform_subscription_without_racks",
        partitions: &[("t1", 6), ("t2", 7), ("t3", 2)],
        members: &[
            ("consumer0", T123, None),
            ("consumer1", T123, None),
            ("consumer2", T123, None),
        ],
        expected: &[
            ("consumer0", "t1-0, t1-1, t2-0, t2-1, t2-2, t3-0"),
            ("consumer1", "t1-2, t1-3, t2-3, t2-4, t3-1"),
            ("consumer2", "t1-4, t1-5, t2-5, t2-6"),
        ],
    },
    Case {
        name: "rack_aware_assignment_with_non_equal_subscription_without_racks",
        partitions: &[("t1", 6), ("t2", 7), ("t3", 2)],
        members: &[
            ("consumer0", T123, None),
            ("consumer1", T123, None),
            ("consumer2", T13, None),
        ],
        expected: &[
            ("consumer0", "t1-0, t1-1, t2-0, t2-1, t2-2, t2-3, t3-0"),
            ("consumer1", "t1-2, t1-3, t2-4, t2-5, t2-6, t3-1"),
            ("consumer2", "t1-4, t1-5"),
        ],
    },
    Case {
        name: "rack_aware_assignment_with_uniform_partitions_without_racks",
        partitions: &[("t1", 5), ("t2", 5), ("t3", 5)],
        members: &[
            ("consumer0", T123, None),
            ("consumer1", T123, None),
            ("consumer2", T123, None),
        ],
        expected: &[
            ("consumer0", "t1-0, t1-1, t2-0, t2-1, t3-0, t3-1"),
            ("consumer1", "t1-2, t1-3, t2-2, t2-3, t3-2, t3-3"),
            ("consumer2", "t1-4, t2-4, t3-4"),
        ],
    },
    Case {
        name: "rack_aware_assignment_with_uniform_partitions_non_equal_subscription_without_racks",
        partitions: &[("t1", 5), ("t2", 5), ("t3", 5)],
        members: &[
            ("consumer0", T123, None),
            ("consumer1", T123, None),
            ("consumer2", T13, None),
        ],
        expected: &[
            ("consumer0", "t1-0, t1-1, t2-0, t2-1, t2-2, t3-0, t3-1"),
            ("consumer1", "t1-2, t1-3, t2-3, t2-4, t3-2, t3-3"),
            ("consumer2", "t1-4, t3-4"),
        ],
    },
    Case {
        name: "rack_aware_assignment_with_co_partitioning_without_racks (two pairs)",
        partitions: &[("t1", 6), ("t2", 6), ("t3", 2), ("t4", 2)],
        members: &[
            ("consumer0", T12, None),
            ("consumer1", T12, None),
            ("consumer2", T34, None),
            ("consumer3", T34, None),
        ],
        expected: &[
            ("consumer0", "t1-0, t1-1, t1-2, t2-0, t2-1, t2-2"),
            ("consumer1", "t1-3, t1-4, t1-5, t2-3, t2-4, t2-5"),
            ("consumer2", "t3-0, t4-0"),
            ("consumer3", "t3-1, t4-1"),
        ],
    },
    Case {
        name: "rack_aware_assignment_with_co_partitioning_without_racks (all topics)",
        partitions: &[("t1", 6), ("t2", 6), ("t3", 2), ("t4", 2)],
        members: &[
            ("consumer0", T1234, None),
            ("consumer1", T1234, None),
            ("consumer2", T1234, None),
            ("consumer3", T1234, None),
        ],
        expected: &[
            ("consumer0", "t1-0, t1-1, t2-0, t2-1, t3-0, t4-0"),
            ("consumer1", "t1-2, t1-3, t2-2, t2-3, t3-1, t4-1"),
            ("consumer2", "t1-4, t2-4"),
            ("consumer3", "t1-5, t2-5"),
        ],
    },
    Case {
        name: "co_partitioned_assignment_with_same_subscription_without_racks",
        partitions: &[
            ("t1", 6),
            ("t2", 6),
            ("t3", 2),
            ("t4", 2),
            ("t5", 4),
            ("t6", 4),
        ],
        members: &[
            ("consumer0", T1TO9, None),
            ("consumer1", T1TO9, None),
            ("consumer2", T1TO9, None),
        ],
        expected: &[
            (
                "consumer0",
                "t1-0, t1-1, t2-0, t2-1, t3-0, t4-0, t5-0, t5-1, t6-0, t6-1",
            ),
            (
                "consumer1",
                "t1-2, t1-3, t2-2, t2-3, t3-1, t4-1, t5-2, t6-2",
            ),
            ("consumer2", "t1-4, t1-5, t2-4, t2-5, t5-3, t6-3"),
        ],
    },
];

#[test]
fn kafka_range_cases() {
    check_cases(&RangeAssignor, CASES);
}

#[test]
fn range_static_member_range_assignment_persistent() {
    check_static_members_persist(
        &RangeAssignor,
        &[("topic1", 5), ("topic2", 4)],
        &[
            ("consumer1", "topic1-0, topic1-1, topic2-0"),
            ("consumer2", "topic1-2, topic2-1"),
            ("consumer3", "topic1-3, topic2-2"),
            ("consumer4", "topic1-4, topic2-3"),
        ],
    );
}

#[test]
fn range_static_member_range_assignment_persistent_after_member_id_changes() {
    check_static_members_persist_after_member_id_changes(
        &RangeAssignor,
        &[
            ("instance1", "topic1-0, topic1-1, topic2-0, topic2-1"),
            ("instance2", "topic1-2, topic1-3, topic2-2, topic2-3"),
            ("instance3", "topic1-4, topic2-4"),
        ],
    );
}
