//! Deleting from the old end of a partition: time and size retention of whole
//! segments, and `delete_records` (Kafka's `deleteRecords`), which also persists the
//! new log start.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::checkpoint;
use super::io;
use super::partition::{PartitionLog, sync_dir};
use super::segment::Segment;
use crate::error::{Error, Result};

impl PartitionLog {
    /// Deletes whole sealed segments (never the active one) that are older than
    /// `retention` (by their largest timestamp, as Kafka) or that are beyond
    /// `retention_bytes` of the partition, oldest first, and advances the log start.
    /// Readers holding a deleted segment keep reading it: the file is unlinked, the
    /// mapping lives until they drop it. Returns the number of segments deleted.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be removed.
    pub fn apply_retention(
        &self,
        retention: Option<Duration>,
        retention_bytes: Option<u64>,
        now_ms: i64,
    ) -> Result<usize> {
        let _m = self.inner.maintenance.lock();
        let segs = self.segments();
        let sealed = &segs[..segs.len().saturating_sub(1)];
        let mut n = 0;
        if let Some(r) = retention {
            let limit = now_ms.saturating_sub(r.as_millis() as i64);
            n = sealed
                .iter()
                .take_while(|s| s.max_timestamp() < limit)
                .count();
        }
        if let Some(max) = retention_bytes {
            let mut size: u64 = segs.iter().map(|s| s.size() as u64).sum();
            let mut m = 0;
            for s in sealed {
                // Kafka's rule: delete while the log stays at or above the limit.
                if size.saturating_sub(s.size() as u64) < max {
                    break;
                }
                size -= s.size() as u64;
                m += 1;
            }
            n = n.max(m);
        }
        self.delete_oldest(&segs[..n])
    }

    fn delete_oldest(&self, doomed: &[Arc<Segment>]) -> Result<usize> {
        if doomed.is_empty() {
            return Ok(0);
        }
        let bases: Vec<i64> = doomed.iter().map(|s| s.base_offset).collect();
        self.swap_segments(&bases, Vec::new());
        if let Some(first) = self.segments().first() {
            self.inner
                .log_start
                .fetch_max(first.base_offset, Ordering::AcqRel);
        }
        for s in doomed {
            for p in [s.log_path.clone(), s.index_path(), s.time_index_path()] {
                match io::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
            }
        }
        sync_dir(&self.inner.dir)?;
        Ok(doomed.len())
    }

    /// Moves the log start forward to `before_offset` (Kafka's `deleteRecords`): records
    /// below it are no longer readable, and segments wholly below it are deleted. The
    /// new start is persisted. Returns the new log start.
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] beyond the log end; [`Error::Io`].
    pub fn delete_records(&self, before_offset: i64) -> Result<i64> {
        let _m = self.inner.maintenance.lock();
        let end = self.log_end_offset();
        let start = self.log_start_offset();
        if before_offset > end || before_offset < 0 {
            return Err(Error::OffsetOutOfRange {
                partition: self.inner.tp.clone(),
                offset: before_offset,
                log_start: start,
                log_end: end,
            });
        }
        if before_offset <= start {
            return Ok(start);
        }
        checkpoint::write_log_start(&self.inner.dir, before_offset)?;
        self.inner
            .log_start
            .fetch_max(before_offset, Ordering::AcqRel);
        let segs = self.segments();
        let sealed = &segs[..segs.len().saturating_sub(1)];
        let n = sealed
            .iter()
            .take_while(|s| s.next_offset() <= before_offset)
            .count();
        self.delete_oldest(&sealed[..n])?;
        Ok(self.log_start_offset())
    }
}
