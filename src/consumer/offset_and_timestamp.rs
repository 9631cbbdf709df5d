//! [`OffsetAndTimestamp`]: what `Consumer::offsets_for_times` finds in a partition.

/// The first record of a partition at or after a time (Kafka's `OffsetAndTimestamp`):
/// its offset and its timestamp. brooklet has no replicas, so Kafka's optional leader
/// epoch has nothing to carry and is left out.
///
/// ```
/// use brooklet::{Broker, ConsumerConfig, OffsetAndTimestamp, ProducerRecord, TopicConfig,
///     TopicPartition};
/// let dir = tempfile::tempdir().unwrap();
/// let broker = Broker::open(dir.path())?;
/// broker.create_topic("t", TopicConfig::new(1))?;
/// broker.producer().send(ProducerRecord::new("t").value("a").timestamp(1_000))?;
/// broker.producer().send(ProducerRecord::new("t").value("b").timestamp(2_000))?;
/// let tp = TopicPartition::new("t", 0);
/// let found = broker.consumer(ConsumerConfig::new()).offsets_for_times(&[(tp.clone(), 1_500)])?;
/// assert_eq!(found[&tp], Some(OffsetAndTimestamp { offset: 1, timestamp: 2_000 }));
/// # Ok::<(), brooklet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetAndTimestamp {
    /// The record's offset.
    pub offset: i64,
    /// The record's timestamp (ms since the epoch): its batch's CreateTime, or the
    /// append time under LogAppendTime. Never negative.
    pub timestamp: i64,
}
