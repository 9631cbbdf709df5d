//! Writing a partition: [`PartitionLog::append`], the segment roll, group-commit
//! flushes, and the poisoning that makes a failed flush sticky (DESIGN.md section 4).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::clock::{coarse_now_ms, now_ms};
use super::config::FlushPolicy;
use super::partition::{LogInner, PartitionLog, Writer, sync_dir};
use super::segment::ActiveSegment;
use crate::error::{Error, Result};
use crate::format::{RecordIn, TimestampType, encoded_batch_len};

/// What an append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// The timestamp the log assigned, under `LogAppendTime`; `None` under CreateTime.
    pub log_append_time: Option<i64>,
}

impl PartitionLog {
    /// Appends `records` as one batch and returns the offsets it got. The records are
    /// readable when this returns and, under [`FlushPolicy::EveryAppend`], durable.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty slice; [`Error::RecordTooLarge`] when the
    /// batch exceeds `max_message_bytes` or a segment; [`Error::Poisoned`] after a failed
    /// flush; [`Error::Closed`] after `close`; [`Error::Io`] when a roll cannot create
    /// or allocate the next segment (for example a full disk). A failed append writes
    /// nothing readers can see.
    pub fn append(&self, records: &[RecordIn<'_>]) -> Result<AppendInfo> {
        let inner = &*self.inner;
        if records.is_empty() {
            return Err(Error::InvalidArgument(
                "append needs at least one record".into(),
            ));
        }
        inner.check_poison()?;
        // The age roll only needs millisecond-ish precision: the coarse clock costs a
        // few ns instead of ~25 ns per append.
        let now = coarse_now_ms();
        // The limit applies to the batch as given, as Kafka checks the batch it
        // received before it assigns offsets or stamps LogAppendTime.
        let given = encoded_batch_len(records);
        if given > inner.config.max_message_bytes as usize {
            return Err(Error::RecordTooLarge {
                topic: inner.tp.topic().to_string(),
                size: given,
                max: inner.config.max_message_bytes as usize,
            });
        }
        let stamped: Vec<RecordIn<'_>>;
        let (records, append_time) = match inner.config.timestamp_type {
            TimestampType::CreateTime => (records, None),
            TimestampType::LogAppendTime => {
                let now = now_ms();
                stamped = records
                    .iter()
                    .map(|r| RecordIn {
                        timestamp: now,
                        ..*r
                    })
                    .collect();
                (&stamped[..], Some(now))
            }
        };
        // What is written: under LogAppendTime the timestamp deltas (varints) change.
        let size = if append_time.is_some() {
            encoded_batch_len(records)
        } else {
            given
        };
        let mut w = inner.writer.lock();
        if w.closed {
            return Err(Error::Closed);
        }
        let appended = {
            let needs_time_roll = {
                let active = w.active.as_ref().ok_or(Error::Closed)?;
                let base = match w.first_append_ms {
                    Some(t) => t,
                    None => active.seg.roll_base_ts(),
                };
                !active.is_empty()
                    && base >= 0
                    && now.saturating_sub(base) >= inner.config.segment_ms.as_millis() as i64
            };
            if needs_time_roll {
                LogInner::roll(&self.inner, &mut w)?;
            }
            let mut rolled = false;
            loop {
                let active = w.active.as_mut().ok_or(Error::Closed)?;
                let was_empty = active.is_empty();
                match active.append(
                    records,
                    size,
                    inner.config.timestamp_type,
                    &inner.config,
                    &inner.bg,
                )? {
                    Some(a) => {
                        if was_empty {
                            w.first_append_ms = Some(now);
                        }
                        break a;
                    }
                    None if was_empty || rolled => {
                        return Err(Error::RecordTooLarge {
                            topic: inner.tp.topic().to_string(),
                            size,
                            max: inner.config.segment_bytes as usize,
                        });
                    }
                    None => {
                        LogInner::roll(&self.inner, &mut w)?;
                        rolled = true;
                    }
                }
            }
        };
        inner.log_end.store(appended.next_offset, Ordering::Release);
        drop(w);
        inner.waiters.notify();
        if inner.config.flush == FlushPolicy::EveryAppend {
            inner.flush_to(appended.next_offset)?;
        }
        Ok(AppendInfo {
            base_offset: appended.base_offset,
            last_offset: appended.next_offset - 1,
            log_append_time: append_time,
        })
    }

    /// Forces every appended record to stable storage (one msync per dirty segment).
    /// Concurrent callers share the work: a flush covers every batch appended before it.
    ///
    /// # Errors
    /// [`Error::Poisoned`] when this or an earlier flush failed: the failure is sticky,
    /// because a retried fsync can report success for data the kernel already dropped.
    pub fn flush(&self) -> Result<()> {
        self.inner
            .flush_to(self.inner.log_end.load(Ordering::Acquire))
    }

    /// Seals the active segment and starts a new one at the log end.
    ///
    /// # Errors
    /// [`Error::Io`] when the new segment cannot be created; [`Error::Closed`].
    // Called only by `internals` users: the broker rolls through `append`.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn roll(&self) -> Result<()> {
        let mut w = self.inner.writer.lock();
        if w.closed {
            return Err(Error::Closed);
        }
        if w.active.as_ref().is_some_and(|a| a.is_empty()) {
            return Ok(());
        }
        LogInner::roll(&self.inner, &mut w)
    }

    /// Test hook (feature `fault-injection`): makes the next flush of this log fail
    /// with `error`, as a failing disk would, to exercise poisoning. Not part of the
    /// stable API.
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn inject_flush_error(&self, error: std::io::Error) {
        *self.inner.injected_flush_error.lock() = Some(error);
    }
}

impl LogInner {
    fn check_poison(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned {
                partition: Some(self.tp.clone()),
                reason: self
                    .poison_reason
                    .lock()
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            });
        }
        Ok(())
    }

    pub(super) fn poison(&self, e: &dyn std::fmt::Display) -> Error {
        let reason = e.to_string();
        *self.poison_reason.lock() = Some(reason.clone());
        self.poisoned.store(true, Ordering::Release);
        Error::Poisoned {
            partition: Some(self.tp.clone()),
            reason,
        }
    }

    /// Group commit: makes every offset below `target` durable. Whoever takes the lock
    /// flushes everything published so far; waiters behind it find their target covered.
    pub(super) fn flush_to(&self, target: i64) -> Result<()> {
        if self.durable.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let _g = self.flush_lock.lock();
        if self.durable.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        self.check_poison()?;
        let end = self.log_end.load(Ordering::Acquire);
        let segs = Arc::clone(&self.segments.read());
        #[cfg(feature = "fault-injection")]
        if let Some(e) = self.injected_flush_error.lock().take() {
            return Err(self.poison(&e));
        }
        for seg in segs.iter().filter(|s| !s.is_flushed()) {
            seg.flush().map_err(|e| self.poison(&e))?;
        }
        self.durable.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    fn roll(self: &Arc<Self>, w: &mut Writer) -> Result<()> {
        let next = w.active.as_ref().ok_or(Error::Closed)?.seg.next_offset();
        // Allocate the next segment before sealing this one: on a full disk fallocate
        // fails here (ENOSPC) with the active segment untouched and still writable, so
        // the caller gets a plain I/O error and a later append retries the roll. A crash
        // between the two leaves this segment unsealed, past the recovery point: opening
        // validates it.
        let fresh = ActiveSegment::create(&self.dir, next, &self.config, &self.bg)?;
        let active = w.active.take().ok_or(Error::Closed)?;
        let sealed = match active.seal() {
            Ok(s) => s,
            Err(e) => return Err(self.poison(&e)),
        };
        self.replace_last(Arc::clone(&sealed));
        {
            let mut segs = self.segments.write();
            let mut v = Vec::clone(&segs);
            v.push(Arc::clone(&fresh.seg));
            *segs = Arc::new(v);
        }
        w.active = Some(fresh);
        w.first_append_ms = None;
        // The new file's directory entry must be durable before anything written to it
        // is acknowledged. A failed sync is not retried (as for a failed flush): the
        // partition is poisoned, as Kafka takes the log directory offline.
        sync_dir(&self.dir).map_err(|e| self.poison(&e))?;
        // The sealed segment is fsynced whole (data, trim, indexes), then the recovery
        // point passes it: at once when the policy asks for durability, otherwise on
        // the background thread, as Kafka flushes a rolled segment asynchronously.
        if self.config.flush == FlushPolicy::Os {
            let weak = Arc::downgrade(self);
            self.bg.run(move || {
                if let Some(log) = weak.upgrade()
                    && sealed.sync_files().is_ok()
                {
                    let _ = log.advance_recovery_point(next);
                }
            });
        } else {
            sealed.sync_files().map_err(|e| self.poison(&e))?;
            // The segment is durable whichever way this goes: a recovery point left
            // behind (a full disk) only makes the next crash recovery validate more,
            // and the next roll writes a later one.
            let _ = self.advance_recovery_point(next);
        }
        Ok(())
    }
}
