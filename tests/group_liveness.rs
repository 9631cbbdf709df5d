//! Liveness and fencing: a member that stops polling is evicted after
//! `max_poll_interval` and its partitions reassigned; the zombie's late commit is
//! refused with `StaleGeneration` so it cannot rewind the group; it learns it lost its
//! partitions (`on_partitions_lost`) and rejoins. Static members come back without a
//! rebalance; cooperative-sticky moves only what must move, in two rounds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brooklet::{
    Broker, Consumer, ConsumerConfig, CooperativeStickyAssignor, Error, OffsetAndMetadata,
    OffsetReset, ProducerRecord, RebalanceListener, TopicConfig, TopicPartition,
};

fn setup(partitions: u32) -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("t", TopicConfig::new(partitions)).unwrap();
    let p = b.producer();
    for i in 0..100u32 {
        p.send(
            ProducerRecord::new("t")
                .partition(i % partitions)
                .value(i.to_be_bytes().to_vec()),
        )
        .unwrap();
    }
    (dir, b)
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);
impl RebalanceListener for Log {
    fn on_partitions_revoked(&mut self, _: &mut Consumer, p: &[TopicPartition]) {
        self.0.lock().unwrap().push(format!("revoked {}", p.len()));
    }
    fn on_partitions_assigned(&mut self, _: &mut Consumer, p: &[TopicPartition]) {
        self.0.lock().unwrap().push(format!("assigned {}", p.len()));
    }
    fn on_partitions_lost(&mut self, _: &mut Consumer, p: &[TopicPartition]) {
        self.0.lock().unwrap().push(format!("lost {}", p.len()));
    }
}

fn stable(consumers: &mut [&mut Consumer], total: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for c in consumers.iter_mut() {
            c.poll(Duration::from_millis(5)).unwrap();
        }
        if consumers
            .iter()
            .map(|c| c.assignment().len())
            .sum::<usize>()
            == total
        {
            return;
        }
        assert!(Instant::now() < deadline, "no stable assignment");
    }
}

#[test]
fn a_member_that_stops_polling_is_evicted_and_fenced() {
    let (_d, b) = setup(4);
    let cfg = ConsumerConfig::new()
        .group_id("g")
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_interval(Duration::from_millis(300));
    let mut zombie = b.consumer(cfg.clone());
    let log = Log::default();
    zombie.set_rebalance_listener(log.clone());
    zombie.subscribe(&["t"]).unwrap();
    let mut healthy = b.consumer(cfg);
    healthy.subscribe(&["t"]).unwrap();
    stable(&mut [&mut zombie, &mut healthy], 4);
    let zombie_parts = zombie.assignment();
    assert_eq!(zombie_parts.len(), 2);
    // The zombie stops polling; the healthy member keeps polling and takes over.
    let deadline = Instant::now() + Duration::from_secs(20);
    while healthy.assignment().len() < 4 {
        healthy.poll(Duration::from_millis(20)).unwrap();
        assert!(Instant::now() < deadline, "zombie never evicted");
    }
    healthy
        .commit_sync_offsets(&[(zombie_parts[0].clone(), OffsetAndMetadata::new(20))])
        .unwrap();
    // The zombie wakes up and tries to rewind the group: refused.
    let e = zombie
        .commit_sync_offsets(&[(zombie_parts[0].clone(), OffsetAndMetadata::new(0))])
        .unwrap_err();
    assert!(matches!(e, Error::StaleGeneration { .. }), "{e}");
    assert!(e.to_string().contains("fenced"), "{e}");
    let committed = healthy.committed(&[zombie_parts[0].clone()]).unwrap();
    assert_eq!(committed[&zombie_parts[0]].as_ref().unwrap().offset, 20);
    // Its next poll reports the loss and rejoins.
    zombie.poll(Duration::from_millis(10)).unwrap();
    assert!(
        log.0.lock().unwrap().iter().any(|e| e == "lost 2"),
        "{:?}",
        log.0.lock().unwrap()
    );
    assert!(zombie.assignment().is_empty() || zombie.group_metadata().is_some());
}

#[test]
fn static_member_returns_without_a_rebalance() {
    let (_d, b) = setup(4);
    let cfg = |id: &str| {
        ConsumerConfig::new()
            .group_id("s")
            .group_instance_id(id)
            .auto_offset_reset(OffsetReset::Earliest)
    };
    let mut a = b.consumer(cfg("a"));
    a.subscribe(&["t"]).unwrap();
    let mut c = b.consumer(cfg("c"));
    c.subscribe(&["t"]).unwrap();
    stable(&mut [&mut a, &mut c], 4);
    let before = a.assignment();
    let gen_before = b.describe_group("s").unwrap().generation;
    drop(a);
    // Still a member until its session times out: no rebalance happened.
    let d = b.describe_group("s").unwrap();
    assert_eq!(d.members.len(), 2);
    let mut a2 = b.consumer(cfg("a"));
    a2.subscribe(&["t"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while a2.assignment().is_empty() {
        a2.poll(Duration::from_millis(10)).unwrap();
        c.poll(Duration::from_millis(1)).unwrap();
        assert!(Instant::now() < deadline);
    }
    assert_eq!(a2.assignment(), before);
    assert_eq!(b.describe_group("s").unwrap().generation, gen_before);
}

#[test]
fn cooperative_sticky_moves_only_what_must_move() {
    let (_d, b) = setup(6);
    let cfg = ConsumerConfig::new()
        .group_id("coop")
        .auto_offset_reset(OffsetReset::Earliest)
        .assignors(vec![Arc::new(CooperativeStickyAssignor)]);
    let mut a = b.consumer(cfg.clone());
    let log_a = Log::default();
    a.set_rebalance_listener(log_a.clone());
    a.subscribe(&["t"]).unwrap();
    stable(&mut [&mut a], 6);
    let mut c = b.consumer(cfg);
    c.subscribe(&["t"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.assignment().len() != 3 || a.assignment().len() != 3 {
        a.poll(Duration::from_millis(5)).unwrap();
        c.poll(Duration::from_millis(5)).unwrap();
        assert!(
            Instant::now() < deadline,
            "no balance: {:?} {:?}",
            a.assignment(),
            c.assignment()
        );
    }
    // `a` never gave up everything: it only revoked the 3 partitions that moved.
    let events = log_a.0.lock().unwrap().clone();
    assert!(events.contains(&"revoked 3".to_string()), "{events:?}");
    assert!(!events.contains(&"revoked 6".to_string()), "{events:?}");
    assert_eq!(
        b.describe_group("coop").unwrap().assignor.as_deref(),
        Some("cooperative-sticky")
    );
}
