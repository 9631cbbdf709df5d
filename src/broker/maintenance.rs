//! Retention and compaction across every partition of a broker.

use crate::broker::Broker;
use crate::config::CleanupPolicy;
use crate::error::Result;
use crate::record::TopicPartition;
use crate::storage::{CompactionConfig, now_ms};

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Segments deleted by retention.
    pub segments_deleted: usize,
    /// Segments rewritten by compaction.
    pub segments_compacted: usize,
    /// Bytes compaction reclaimed.
    pub bytes_reclaimed: u64,
    /// Records compaction dropped.
    pub records_compacted: u64,
}

impl Broker {
    /// Runs retention (`cleanup_policy` delete or compact,delete) and compaction
    /// (compact, compact,delete) over every partition now. The background thread does
    /// the same every `maintenance_interval`; this is for tests and for users who want
    /// it at a moment of their choosing. Producers are blocked at most for a segment
    /// swap (a pointer swap under the segment list's lock); readers never.
    ///
    /// # Errors
    /// The first [`Error::Io`](crate::Error::Io) or [`Error::Corrupt`](crate::Error::Corrupt)
    /// met; other partitions are still processed.
    pub fn run_maintenance(&self) -> Result<MaintenanceReport> {
        self.check_open()?;
        let mut report = MaintenanceReport::default();
        let mut first_err = None;
        let now = now_ms();
        for topic in self.all_topics() {
            let cfg = topic.config.read().clone();
            for part in topic.partitions().iter() {
                // A partition that failed to open has nothing to maintain; using it
                // reports its error.
                let Ok(log) = part.log() else { continue };
                if matches!(
                    cfg.cleanup_policy,
                    CleanupPolicy::Delete | CleanupPolicy::CompactDelete
                ) {
                    match log.apply_retention(cfg.retention_ms, cfg.retention_bytes, now) {
                        Ok(n) => report.segments_deleted += n,
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
                if matches!(
                    cfg.cleanup_policy,
                    CleanupPolicy::Compact | CleanupPolicy::CompactDelete
                ) {
                    let c = CompactionConfig {
                        delete_retention_ms: cfg.delete_retention_ms.as_millis() as i64,
                        min_compaction_lag_ms: cfg.min_compaction_lag_ms.as_millis() as i64,
                        min_cleanable_dirty_ratio: cfg.min_cleanable_dirty_ratio,
                    };
                    match log.compact(&c, now) {
                        Ok(r) => {
                            report.segments_compacted += r.segments_cleaned;
                            report.bytes_reclaimed += r.bytes_before.saturating_sub(r.bytes_after);
                            report.records_compacted += r.records_removed;
                        }
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
            }
        }
        first_err.map_or(Ok(report), Err)
    }

    /// Moves a partition's log start to `before_offset` (Kafka's `deleteRecords`) and
    /// returns the new start. Consumers positioned before it get `auto_offset_reset`.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`](crate::Error::UnknownTopic),
    /// [`Error::UnknownPartition`](crate::Error::UnknownPartition),
    /// [`Error::OffsetOutOfRange`](crate::Error::OffsetOutOfRange) beyond the log end,
    /// [`Error::Io`](crate::Error::Io).
    pub fn delete_records(&self, tp: &TopicPartition, before_offset: i64) -> Result<i64> {
        self.check_open()?;
        self.partition_log(tp.topic(), tp.partition())?
            .delete_records(before_offset)
    }
}
