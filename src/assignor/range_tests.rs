//! The cases of Kafka's `RangeAssignorTest` (rack-aware ones without racks).

use super::*;
use crate::assignor::Assignor;
use crate::assignor::test_support::*;

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
    let out = RangeAssignor.assign(&ppt, &subs(vec![("consumer1", sub(&["topic1", "topic2"]))]));
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
