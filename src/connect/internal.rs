//! Helpers shared by the Connect runner and the mirror: internal topics, batch sizes,
//! and reading a range of a partition through a group-less [`Consumer`].

use std::time::Duration;

use crate::{
    Broker, Consumer, ConsumerConfig, ConsumerRecord, Error, OffsetReset, Result, TopicConfig,
    TopicPartition,
};

/// Creates an internal (`__`-prefixed) topic (`__connect_offsets`,
/// `__mirror_offset_syncs`) unless it exists, through the public
/// [`Broker::create_internal_topic`]: [`Broker::create_topic`] refuses `__` names so
/// that users cannot squat them.
pub(crate) fn ensure_internal_topic(
    broker: &Broker,
    name: &str,
    config: TopicConfig,
) -> Result<()> {
    debug_assert!(name.starts_with("__"));
    match broker.create_internal_topic(name, config) {
        Ok(()) | Err(Error::TopicExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The bytes of records to put in one append to `tp`: half the largest batch its topic
/// takes (a batch must fit both `max_message_bytes` and a segment, as the producer
/// checks), leaving room for the batch header and for the size estimate being rough.
///
/// # Errors
/// As [`Consumer::end_offsets`] for `tp`, so before anything is written:
/// [`Error::UnknownTopic`], [`Error::UnknownPartition`], or the error of a partition
/// that did not open.
pub(crate) fn chunk_limit(broker: &Broker, tp: &TopicPartition) -> Result<usize> {
    Reader::new(broker).end_offset(tp)?;
    let config = broker.describe_topic(tp.topic())?.config;
    Ok(u64::from(config.get_max_message_bytes()).min(config.get_segment_bytes()) as usize / 2)
}

/// Reads ranges of partitions with a consumer that belongs to no group.
pub(crate) struct Reader {
    consumer: Consumer,
}

impl Reader {
    pub(crate) fn new(broker: &Broker) -> Reader {
        Reader {
            consumer: broker.consumer(
                ConsumerConfig::new()
                    .auto_offset_reset(OffsetReset::Earliest)
                    .max_poll_records(2000),
            ),
        }
    }

    /// The log end offset of `tp`.
    pub(crate) fn end_offset(&self, tp: &TopicPartition) -> Result<i64> {
        Ok(self
            .consumer
            .end_offsets(std::slice::from_ref(tp))?
            .get(tp)
            .copied()
            .unwrap_or(0))
    }

    /// The log start offset of `tp`.
    pub(crate) fn start_offset(&self, tp: &TopicPartition) -> Result<i64> {
        Ok(self
            .consumer
            .beginning_offsets(std::slice::from_ref(tp))?
            .get(tp)
            .copied()
            .unwrap_or(0))
    }

    /// Calls `f` for every record of `tp` at offsets in `[from, until)` (from the log
    /// start when `from` is older), in order, until `f` returns false.
    pub(crate) fn scan(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        until: i64,
        mut f: impl FnMut(&ConsumerRecord<'_>) -> Result<bool>,
    ) -> Result<()> {
        if from >= until {
            return Ok(());
        }
        self.consumer.assign(std::slice::from_ref(tp))?;
        self.consumer.seek(tp, from.max(0))?;
        loop {
            let before = self.consumer.position(tp)?;
            if before >= until {
                return Ok(());
            }
            let records = self.consumer.poll(Duration::ZERO)?;
            for r in records.iter() {
                if r.offset() >= until {
                    return Ok(());
                }
                if !f(&r)? {
                    return Ok(());
                }
            }
            if records.is_empty() && self.consumer.position(tp)? <= before {
                // Nothing more is readable below `until` (the log ends earlier).
                return Ok(());
            }
        }
    }
}
