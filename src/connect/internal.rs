//! Helpers shared by the Connect runner and the mirror: internal topics, and reading a
//! range of a partition through a group-less [`Consumer`].

use std::time::Duration;

use crate::broker::Broker;
use crate::config::{ConsumerConfig, OffsetReset, TopicConfig};
use crate::consumer::{Consumer, ConsumerRecord};
use crate::error::{Error, Result};
use crate::record::TopicPartition;

/// Creates an internal (`__`-prefixed) topic unless it exists.
///
/// This is the one place the app layer uses a crate-internal broker call:
/// [`Broker::create_topic`] refuses `__` names so that users cannot squat them, and
/// internal topics (`__consumer_offsets`, `__connect_offsets`, `__mirror_offset_syncs`)
/// are exactly the names it reserves. Everything else goes through the public API.
pub(crate) fn ensure_internal_topic(
    broker: &Broker,
    name: &str,
    config: TopicConfig,
) -> Result<()> {
    debug_assert!(name.starts_with("__"));
    match broker.create_topic_unchecked(name, config) {
        Ok(()) | Err(Error::TopicExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
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
