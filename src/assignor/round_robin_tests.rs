//! The cases of Kafka's `RoundRobinAssignorTest`.

use super::*;
use crate::assignor::Assignor;
use crate::assignor::test_support::*;

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
