//! The cases of Kafka's `RoundRobinAssignorTest`.

use super::*;
use crate::assignor::test_support::*;

const BOTH: &[&str] = &["topic1", "topic2"];

const CASES: &[Case] = &[
    Case {
        name: "one_consumer_no_topic",
        partitions: &[],
        members: &[("consumer", &[], None)],
        expected: &[("consumer", "")],
    },
    Case {
        name: "one_consumer_nonexistent_topic",
        partitions: &[],
        members: &[("consumer", &["topic"], None)],
        expected: &[("consumer", "")],
    },
    Case {
        name: "one_consumer_one_topic",
        partitions: &[("topic", 3)],
        members: &[("consumer", &["topic"], None)],
        expected: &[("consumer", "topic-0, topic-1, topic-2")],
    },
    Case {
        name: "only_assigns_partitions_from_subscribed_topics",
        partitions: &[("topic", 3), ("other", 3)],
        members: &[("consumer", &["topic"], None)],
        expected: &[("consumer", "topic-0, topic-1, topic-2")],
    },
    Case {
        name: "one_consumer_multiple_topics",
        partitions: &[("topic1", 1), ("topic2", 2)],
        members: &[("consumer", BOTH, None)],
        expected: &[("consumer", "topic1-0, topic2-0, topic2-1")],
    },
    Case {
        name: "two_consumers_one_topic_one_partition",
        partitions: &[("topic", 1)],
        members: &[
            ("consumer1", &["topic"], None),
            ("consumer2", &["topic"], None),
        ],
        expected: &[("consumer1", "topic-0"), ("consumer2", "")],
    },
    Case {
        name: "two_consumers_one_topic_two_partitions",
        partitions: &[("topic", 2)],
        members: &[
            ("consumer1", &["topic"], None),
            ("consumer2", &["topic"], None),
        ],
        expected: &[("consumer1", "topic-0"), ("consumer2", "topic-1")],
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
        name: "two_dynamic_consumers_two_topics_six_partitions",
        partitions: &[("topic1", 3), ("topic2", 3)],
        members: &[("consumer1", BOTH, None), ("consumer2", BOTH, None)],
        expected: &[
            ("consumer1", "topic1-0, topic1-2, topic2-1"),
            ("consumer2", "topic1-1, topic2-0, topic2-2"),
        ],
    },
    Case {
        name: "two_static_consumers_two_topics_six_partitions",
        partitions: &[("topic1", 3), ("topic2", 3)],
        members: &[
            ("consumer-b", BOTH, Some("instance1")),
            ("consumer-a", BOTH, Some("instance2")),
        ],
        expected: &[
            ("consumer-b", "topic1-0, topic1-2, topic2-1"),
            ("consumer-a", "topic1-1, topic2-0, topic2-2"),
        ],
    },
    Case {
        name: "one_static_consumer_and_one_dynamic_consumer_two_topics_six_partitions",
        partitions: &[("topic1", 3), ("topic2", 3)],
        members: &[
            ("consumer-b", BOTH, Some("instance1")),
            ("consumer-a", BOTH, None),
        ],
        expected: &[
            ("consumer-b", "topic1-0, topic1-2, topic2-1"),
            ("consumer-a", "topic1-1, topic2-0, topic2-2"),
        ],
    },
];

#[test]
fn kafka_roundrobin_cases() {
    check_cases(&RoundRobinAssignor, CASES);
}

#[test]
fn roundrobin_static_member_round_robin_assignment_persistent() {
    check_static_members_persist(
        &RoundRobinAssignor,
        &[("topic1", 3), ("topic2", 3)],
        &[
            ("consumer1", "topic1-0, topic2-1"),
            ("consumer2", "topic1-1, topic2-2"),
            ("consumer3", "topic1-2"),
            ("consumer4", "topic2-0"),
        ],
    );
}

#[test]
fn roundrobin_static_member_round_robin_assignment_persistent_after_member_id_changes() {
    check_static_members_persist_after_member_id_changes(
        &RoundRobinAssignor,
        &[
            ("instance1", "topic1-0, topic1-3, topic2-1, topic2-4"),
            ("instance2", "topic1-1, topic1-4, topic2-2"),
            ("instance3", "topic1-2, topic2-0, topic2-3"),
        ],
    );
}
