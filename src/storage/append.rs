//! Writing a partition: [`PartitionLog::append`], the segment roll, group-commit
//! flushes, and the poisoning that makes a failed flush sticky (DESIGN.md section 4).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::background::Background;
use super::clock::{coarse_now_ms, now_ms};
use super::config::FlushPolicy;
use super::config::LogConfig;
use super::partition::{LogInner, PartitionLog, Writer, sync_dir};
use super::segment::{ActiveSegment, Appended};
use crate::error::{Error, Result};
use crate::format::batch::{BatchHeader, HEADER_LEN, seal_crc, write_header};
use crate::format::{
    Batch, Compression, RecordIn, TimestampType, encode_batch_compressed, encoded_batch_len,
    recompress_batch,
};

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

/// Reusable buffers for compressed appends ([`PartitionLog::append_with`],
/// [`PartitionLog::append_batch`]): keep one per writer to reuse its memory.
#[derive(Debug, Default)]
pub struct AppendScratch {
    /// The batch to store, compressed.
    batch: Vec<u8>,
    /// The records uncompressed, on the way.
    records: Vec<u8>,
}

impl PartitionLog {
    /// Appends `records` as one batch and returns the offsets it got. The records are
    /// readable when this returns and, under [`FlushPolicy::EveryAppend`], durable.
    /// The batch is uncompressed unless the log's `compression` names a codec.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty slice; [`Error::RecordTooLarge`] when the
    /// batch exceeds `max_message_bytes` or a segment; [`Error::Poisoned`] after a failed
    /// flush; [`Error::Closed`] after `close`; [`Error::Io`] when a roll cannot create
    /// or allocate the next segment (for example a full disk). A failed append writes
    /// nothing readers can see.
    pub fn append(&self, records: &[RecordIn<'_>]) -> Result<AppendInfo> {
        match self.inner.config.compression.codec() {
            None | Some(Compression::None) => self.append_plain(records),
            Some(codec) => {
                self.append_compressed(records, codec, None, &mut AppendScratch::default())
            }
        }
    }

    /// Appends `records` as one batch a producer compressed with `codec` at `level`
    /// (`None`: the codec's default). The log's `compression` decides what is stored,
    /// as Kafka's topic `compression.type`: `Producer` keeps `codec`, another value
    /// stores the batch with that codec (at its default level) instead. `scratch`
    /// holds the compressed batch on the way (keep it between calls).
    ///
    /// # Errors
    /// As [`PartitionLog::append`]; [`Error::InvalidArgument`] for a level out of the
    /// codec's range; [`Error::RecordTooLarge`] when the batch as stored exceeds
    /// `max_message_bytes`, or its records exceed
    /// [`LogConfig::max_decompressed_bytes`](super::LogConfig::max_decompressed_bytes).
    pub fn append_with(
        &self,
        records: &[RecordIn<'_>],
        codec: Compression,
        level: Option<i32>,
        scratch: &mut AppendScratch,
    ) -> Result<AppendInfo> {
        let (codec, level) = match self.inner.config.compression.codec() {
            Some(c) if c != codec => (c, None),
            _ => (codec, level),
        };
        if codec == Compression::None {
            codec.check_level(level)?;
            return self.append_plain(records);
        }
        self.append_compressed(records, codec, level, scratch)
    }

    /// Appends `batch`, one encoded RecordBatch v2 as a Kafka client sends it
    /// (compressed or not; its base offset is replaced), and returns the offsets it got.
    /// Its records are checked as Kafka's broker checks them (CRC, framing, offset
    /// deltas 0, 1, ..., at most [`LogConfig::max_decompressed_bytes`] decompressed);
    /// when the log's `compression` names a codec other than the batch's, the batch is
    /// recompressed with it. Under LogAppendTime the batch's max timestamp and
    /// timestamp type are set and its CRC recomputed, without recompressing, as Kafka
    /// does. `scratch` holds the batch on the way.
    ///
    /// [`LogConfig::max_decompressed_bytes`]: super::LogConfig::max_decompressed_bytes
    ///
    /// # Errors
    /// [`Error::Format`] for a damaged or oversized batch (a decompression bomb);
    /// [`Error::InvalidArgument`] for a control batch, one without records, or offset
    /// deltas that do not count up from 0; otherwise as [`PartitionLog::append`].
    // The wire listener's produce path; until it lands only `internals` users call it.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn append_batch(&self, batch: &[u8], scratch: &mut AppendScratch) -> Result<AppendInfo> {
        let inner = &*self.inner;
        let now = coarse_now_ms();
        let parsed = Batch::parse(batch)?;
        let h = *parsed.header();
        if parsed.as_bytes().len() != batch.len() {
            return Err(Error::InvalidArgument(format!(
                "append_batch takes one batch; {} bytes follow it",
                batch.len() - parsed.as_bytes().len()
            )));
        }
        if h.is_control() || h.records_count == 0 {
            return Err(Error::InvalidArgument(
                "append_batch needs a batch of records (not a control batch, not empty)".into(),
            ));
        }
        if i64::from(h.records_count) != i64::from(h.last_offset_delta) + 1 {
            return Err(Error::InvalidArgument(format!(
                "a produced batch's offset deltas count up from 0; this one has {} records and last offset delta {}",
                h.records_count, h.last_offset_delta
            )));
        }
        let codec = parsed.codec()?;
        let target = inner.config.compression.codec().unwrap_or(codec);
        let limit = inner.config.max_decompressed_bytes();
        let AppendScratch {
            batch: out,
            records,
        } = scratch;
        out.clear();
        if target == codec {
            parsed.validate_with(records, limit)?;
            out.extend_from_slice(parsed.as_bytes());
        } else {
            recompress_batch(&parsed, target, None, limit, records, out)?;
        }
        let append_time = match inner.config.timestamp_type {
            TimestampType::CreateTime => None,
            TimestampType::LogAppendTime => {
                let now = now_ms();
                let stored = BatchHeader::parse(out)?;
                let stamped = BatchHeader {
                    attributes: stored.attributes | crate::format::batch::ATTR_TIMESTAMP_TYPE,
                    max_timestamp: now,
                    ..stored
                };
                if let Some(head) = out.first_chunk_mut::<HEADER_LEN>() {
                    write_header(head, &stamped);
                }
                seal_crc(out)?;
                Some(now)
            }
        };
        self.append_encoded(&scratch.batch, append_time, now)
    }

    /// [`PartitionLog::append_with`] for a codec other than none.
    fn append_compressed(
        &self,
        records: &[RecordIn<'_>],
        codec: Compression,
        level: Option<i32>,
        scratch: &mut AppendScratch,
    ) -> Result<AppendInfo> {
        let inner = &*self.inner;
        if records.is_empty() {
            return Err(Error::InvalidArgument(
                "append needs at least one record".into(),
            ));
        }
        inner.check_poison()?;
        let now = coarse_now_ms();
        let limit = inner.config.max_decompressed_bytes();
        let plain = encoded_batch_len(records);
        if plain - HEADER_LEN > limit {
            return Err(Error::RecordTooLarge {
                topic: inner.name.clone(),
                size: plain,
                max: limit,
            });
        }
        let mut stamped = Vec::new();
        let (records, append_time) = stamp(records, inner.config.timestamp_type, &mut stamped);
        scratch.batch.clear();
        encode_batch_compressed(
            &mut scratch.batch,
            &mut scratch.records,
            0,
            inner.config.timestamp_type,
            records,
            codec,
            level,
        )?;
        self.append_encoded(&scratch.batch, append_time, now)
    }

    /// Writes `batch`, encoded (and compressed) already, under the writer lock.
    fn append_encoded(
        &self,
        batch: &[u8],
        append_time: Option<i64>,
        now: i64,
    ) -> Result<AppendInfo> {
        let inner = &*self.inner;
        inner.check_poison()?;
        // Kafka checks the batch as it will be stored: compressed.
        let size = batch.len();
        if size > inner.config.max_message_bytes as usize {
            return Err(Error::RecordTooLarge {
                topic: inner.name.clone(),
                size,
                max: inner.config.max_message_bytes as usize,
            });
        }
        self.write(size, now, append_time, &mut |active, cfg, bg| {
            active.append_encoded(batch, cfg, bg)
        })
    }

    /// The uncompressed append: the batch is encoded straight into the mapping.
    fn append_plain(&self, records: &[RecordIn<'_>]) -> Result<AppendInfo> {
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
        let mut stamped = Vec::new();
        let (records, append_time) = stamp(records, inner.config.timestamp_type, &mut stamped);
        // What is written: under LogAppendTime the timestamp deltas (varints) change.
        let size = if append_time.is_some() {
            encoded_batch_len(records)
        } else {
            given
        };
        let ts_type = inner.config.timestamp_type;
        self.write(size, now, append_time, &mut |active, cfg, bg| {
            active.append(records, size, ts_type, cfg, bg)
        })
    }

    /// The writer-lock part of every append: the age roll, `put` into the active
    /// segment (rolling once when it does not fit), the log end, waking readers and
    /// the flush the policy asks for.
    #[allow(clippy::type_complexity)]
    fn write(
        &self,
        size: usize,
        now: i64,
        append_time: Option<i64>,
        put: &mut dyn FnMut(
            &mut ActiveSegment,
            &LogConfig,
            &Background,
        ) -> Result<Option<Appended>>,
    ) -> Result<AppendInfo> {
        let inner = &*self.inner;
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
                match put(active, &inner.config, &inner.bg)? {
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

/// `records` as the log stores them: under LogAppendTime each stamped with the time
/// of the append (kept in `stamped`), which is returned too.
fn stamp<'r>(
    records: &'r [RecordIn<'r>],
    ts_type: TimestampType,
    stamped: &'r mut Vec<RecordIn<'r>>,
) -> (&'r [RecordIn<'r>], Option<i64>) {
    match ts_type {
        TimestampType::CreateTime => (records, None),
        TimestampType::LogAppendTime => {
            let now = now_ms();
            stamped.extend(records.iter().map(|r| RecordIn {
                timestamp: now,
                ..*r
            }));
            (&stamped[..], Some(now))
        }
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
