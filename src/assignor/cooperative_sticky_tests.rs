//! The cases of Kafka's `CooperativeStickyAssignorTest` that only concern the
//! cooperative assignor.

use super::*;
use crate::assignor::Assignor;
use crate::assignor::test_support::*;

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
