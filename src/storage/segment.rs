//! One segment: a `.log` of concatenated batches plus its `.index` and `.timeindex`.
//!
//! A [`Segment`] is the shared, read-mostly view that readers hold through an `Arc`
//! (which keeps the mapping alive after retention unlinks the files). The partition's
//! writer owns the one [`ActiveSegment`] that appends to the newest segment.

use std::fs::{File, OpenOptions};

use super::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use super::background::Background;
use super::config::LogConfig;
use super::index::{
    self, OFFSET_ENTRY, OffsetIndex, TIME_ENTRY, TimeIndex, push_offset_entry, push_time_entry,
};
use super::mmap::{self, MappedRegion, RegionWriter};
use super::recovery::{self, RecoveryReport};
use crate::error::{Error, Result};
use crate::format::batch::encode_batch_sized;
use crate::format::batch::{BatchHeader, HEADER_LEN};
use crate::format::{RecordIn, TimestampType};

/// Bytes faulted in per prefault request, and how far ahead of the writer.
const PREFAULT_CHUNK: usize = 2 << 20;
const PREFAULT_AHEAD: usize = 4 << 20;

/// `<base offset, 20 digits>.<ext>`, Kafka's segment file naming.
pub(crate) fn file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// The read side of a segment.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    pub(crate) log_path: PathBuf,
    pub(crate) log: Arc<MappedRegion>,
    pub(crate) index: OffsetIndex,
    pub(crate) time_index: TimeIndex,
    next_offset: AtomicI64,
    max_timestamp: AtomicI64,
    /// Timestamp that `segment_ms` counts from: the first batch's max timestamp.
    roll_base_ts: AtomicI64,
    /// Log bytes known to be on stable storage.
    flushed: AtomicUsize,
}

impl Segment {
    /// The offset after the last record of the segment.
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset.load(Ordering::Acquire)
    }

    /// Lowers the segment's end to `to` (a sealed segment's end is the next one's base).
    pub(crate) fn clamp_next_offset(&self, to: i64) {
        self.next_offset.fetch_min(to, Ordering::AcqRel);
    }

    /// The largest record timestamp in the segment, -1 when empty.
    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp.load(Ordering::Acquire)
    }

    /// Bytes of batches in the segment.
    pub(crate) fn size(&self) -> usize {
        self.log.committed()
    }

    pub(crate) fn index_path(&self) -> PathBuf {
        self.log_path.with_extension("index")
    }

    pub(crate) fn time_index_path(&self) -> PathBuf {
        self.log_path.with_extension("timeindex")
    }

    /// The batch header at byte `pos` of the published log.
    pub(crate) fn header_at(&self, bytes: &[u8], pos: usize) -> Result<BatchHeader> {
        BatchHeader::parse(bytes.get(pos..).unwrap_or(&[])).map_err(|e| {
            Error::corrupt(&self.log_path, pos as u64, format!("bad batch header: {e}"))
        })
    }

    /// Byte position of the first batch whose last offset is `>= offset`, or `None`
    /// when every published batch ends before `offset`.
    pub(crate) fn position_of(&self, bytes: &[u8], offset: i64) -> Result<Option<usize>> {
        let rel = offset - self.base_offset;
        // An index entry is a hint: one that does not match its batch (damaged while
        // closed; Kafka would serve from it) is ignored and the walk starts at byte 0.
        let mut pos = match self.index.lookup(rel, bytes.len()) {
            Some((e, p))
                if peek_header(bytes, p as usize)
                    .is_some_and(|h| h.last_offset() == self.base_offset + e as i64) =>
            {
                p as usize
            }
            _ => 0,
        };
        let mut prev_last = None;
        while pos < bytes.len() {
            let h = self.header_at(bytes, pos)?;
            self.check_order(pos, &h, prev_last)?;
            if h.last_offset() >= offset {
                return Ok(Some(pos));
            }
            prev_last = Some(h.last_offset());
            pos += h.total_len();
        }
        Ok(None)
    }

    /// Checks that the batch at `pos` starts inside this segment and after the batch
    /// before it (which ended at `prev_last`). A batch's base offset is outside its CRC,
    /// as in Kafka, so bit rot there is caught only by this ordering: served as is, it
    /// would skip or repeat records, or hide the rest of the segment from readers.
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming the file and byte position.
    pub(crate) fn check_order(
        &self,
        pos: usize,
        h: &BatchHeader,
        prev_last: Option<i64>,
    ) -> Result<()> {
        let floor = prev_last.map_or(self.base_offset, |p| p.saturating_add(1));
        if h.base_offset < floor || h.last_offset() < h.base_offset {
            return Err(Error::corrupt(
                &self.log_path,
                pos as u64,
                format!(
                    "batch offsets {}..={} out of order: expected a base offset of at least {floor}",
                    h.base_offset,
                    h.last_offset()
                ),
            ));
        }
        Ok(())
    }

    /// Byte position from which to search for the first record with a timestamp
    /// `>= ts`: everything before it is older (through the time index).
    pub(crate) fn search_start_for_timestamp(&self, bytes: &[u8], ts: i64) -> Result<usize> {
        match self.time_index.last_before(ts) {
            None => Ok(0),
            Some((entry_ts, rel)) => {
                let Some(pos) = self.position_of(bytes, self.base_offset + rel as i64)? else {
                    return Ok(bytes.len());
                };
                // The entry's offset holds the largest timestamp so far, so its batch
                // has exactly that largest timestamp; else the entry is damaged and the
                // search starts at the segment's first batch.
                let h = self.header_at(bytes, pos)?;
                let agrees =
                    h.base_offset <= self.base_offset + rel as i64 && h.max_timestamp == entry_ts;
                Ok(if agrees { pos } else { 0 })
            }
        }
    }

    /// Forces published log bytes to stable storage (msync); the group-commit unit.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        let committed = self.log.committed();
        let flushed = self.flushed.load(Ordering::Acquire);
        if committed > flushed {
            self.log.flush_range(flushed, committed)?;
            self.flushed.fetch_max(committed, Ordering::AcqRel);
        }
        Ok(())
    }

    pub(crate) fn is_flushed(&self) -> bool {
        self.flushed.load(Ordering::Acquire) >= self.log.committed()
    }

    /// fsyncs the segment's three files (data, the trim, the indexes): a sealed segment
    /// is then durable as a whole and the recovery point may pass it.
    pub(crate) fn sync_files(&self) -> std::io::Result<()> {
        for p in [
            self.log_path.clone(),
            self.index_path(),
            self.time_index_path(),
        ] {
            io::sync_path(&p)?;
        }
        self.flushed
            .fetch_max(self.log.committed(), Ordering::AcqRel);
        Ok(())
    }

    pub(crate) fn roll_base_ts(&self) -> i64 {
        self.roll_base_ts.load(Ordering::Acquire)
    }
}

/// The newest segment, with the partition writer's exclusive write handles.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    pub(crate) seg: Arc<Segment>,
    log_file: File,
    index_file: File,
    time_file: File,
    log_w: RegionWriter,
    index_w: RegionWriter,
    time_w: RegionWriter,
    bytes_since_index: usize,
    max_ts: i64,
    offset_of_max_ts: i64,
    last_time_entry_ts: i64,
    prefaulted_upto: usize,
    index_interval: usize,
}

/// What one append wrote.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Appended {
    pub(crate) base_offset: i64,
    pub(crate) next_offset: i64,
}

fn open_rw(path: &Path, create_new: bool) -> Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    if create_new {
        o.create_new(true);
    }
    io::open_with(&o, create_new, path).map_err(|e| Error::io(path, e))
}

/// Whether an allocation failed for want of space (`ENOSPC`, `EDQUOT`).
fn is_out_of_space(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

fn index_capacity(cfg: &LogConfig, entry: usize) -> usize {
    let entries = (cfg.segment_bytes as usize / cfg.index_interval_bytes as usize) + 2;
    let max_entries = cfg.max_index_bytes as usize / OFFSET_ENTRY;
    entries.min(max_entries) * entry
}

impl ActiveSegment {
    /// Creates a fresh, empty segment at `base_offset`.
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        cfg: &LogConfig,
        bg: &Background,
    ) -> Result<ActiveSegment> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let log_file = open_rw(&log_path, true)?;
        let idx_path = log_path.with_extension("index");
        let time_path = log_path.with_extension("timeindex");
        // Whatever fails from here (a full disk), remove what we created, so the files
        // give their blocks back and a retry can create them again.
        let created = [log_path.clone(), idx_path.clone(), time_path.clone()];
        let undo = move |e: Error| {
            for p in &created {
                let _ = io::remove_file(p);
            }
            e
        };
        // A stale index from a crash during an earlier roll would hold wrong entries.
        let _ = io::remove_file(&idx_path);
        let _ = io::remove_file(&time_path);
        let index_file = open_rw(&idx_path, true).map_err(&undo)?;
        let time_file = open_rw(&time_path, true).map_err(&undo)?;
        Self::map(
            cfg,
            bg,
            base_offset,
            log_path,
            (log_file, index_file, time_file),
            Restored {
                valid_end: 0,
                next_offset: base_offset,
                index_entries: 0,
                time_entries: 0,
                bytes_since_index: 0,
                max_ts: -1,
                offset_of_max_ts: base_offset,
                last_time_entry_ts: -1,
                roll_base_ts: -1,
            },
            false,
        )
        .map_err(undo)
    }

    /// Reopens the newest segment of a log, recovering it after an unclean shutdown.
    pub(crate) fn open(
        dir: &Path,
        base_offset: i64,
        cfg: &LogConfig,
        bg: &Background,
        clean: bool,
        report: &mut RecoveryReport,
    ) -> Result<ActiveSegment> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let log_file = open_rw(&log_path, false)?;
        let idx_path = log_path.with_extension("index");
        let time_path = log_path.with_extension("timeindex");
        let index_file = open_or_create(&idx_path, report)?;
        let time_file = open_or_create(&time_path, report)?;
        let restored = recovery::recover_active(
            &log_path,
            &log_file,
            &index_file,
            &time_file,
            base_offset,
            cfg,
            clean,
            report,
        )?;
        Self::map(
            cfg,
            bg,
            base_offset,
            log_path,
            (log_file, index_file, time_file),
            restored,
            true,
        )
    }

    fn map(
        cfg: &LogConfig,
        bg: &Background,
        base_offset: i64,
        log_path: PathBuf,
        (log_file, index_file, time_file): (File, File, File),
        r: Restored,
        reopening: bool,
    ) -> Result<ActiveSegment> {
        let idx_path = log_path.with_extension("index");
        let time_path = log_path.with_extension("timeindex");
        // Real blocks, not a sparse file: ENOSPC here, never SIGBUS on a mapped write.
        // Reopening a log on a full disk must still serve every record: the segment
        // then maps only the blocks it has (appends that do not fit roll, and the
        // roll reports the full disk until space returns).
        let capacity = |file: &File, path: &Path, want: usize| -> Result<usize> {
            match mmap::allocate(file, want as u64) {
                Ok(()) => Ok(want),
                Err(e) if reopening && is_out_of_space(&e) => {
                    let have = io::len(file).map_err(|e| Error::io(path, e))? as usize;
                    Ok(have.min(want))
                }
                Err(e) => Err(Error::io(path, e)),
            }
        };
        let seg_bytes = capacity(&log_file, &log_path, cfg.segment_bytes as usize)?;
        let idx_cap = capacity(&index_file, &idx_path, index_capacity(cfg, OFFSET_ENTRY))?;
        let time_cap = capacity(&time_file, &time_path, index_capacity(cfg, TIME_ENTRY))?;
        let (log, log_w) = MappedRegion::map_writable(&log_file, seg_bytes, r.valid_end)
            .map_err(|e| Error::io(&log_path, e))?;
        let (index, index_w) =
            MappedRegion::map_writable(&index_file, idx_cap, r.index_entries * OFFSET_ENTRY)
                .map_err(|e| Error::io(&idx_path, e))?;
        let (time_index, time_w) =
            MappedRegion::map_writable(&time_file, time_cap, r.time_entries * TIME_ENTRY)
                .map_err(|e| Error::io(&time_path, e))?;
        let seg = Arc::new(Segment {
            base_offset,
            log_path,
            log,
            index: OffsetIndex { region: index },
            time_index: TimeIndex { region: time_index },
            next_offset: AtomicI64::new(r.next_offset),
            max_timestamp: AtomicI64::new(r.max_ts),
            roll_base_ts: AtomicI64::new(r.roll_base_ts),
            flushed: AtomicUsize::new(r.valid_end),
        });
        let mut active = ActiveSegment {
            seg,
            log_file,
            index_file,
            time_file,
            log_w,
            index_w,
            time_w,
            bytes_since_index: r.bytes_since_index,
            max_ts: r.max_ts,
            offset_of_max_ts: r.offset_of_max_ts,
            last_time_entry_ts: r.last_time_entry_ts,
            prefaulted_upto: r.valid_end,
            index_interval: cfg.index_interval_bytes as usize,
        };
        if cfg.prefault {
            active.prefault(bg);
        }
        Ok(active)
    }

    /// Asks the background thread to fault in the next pages ahead of the writer.
    fn prefault(&mut self, bg: &Background) {
        let pos = self.log_w.region().committed();
        let cap = self.log_w.region().capacity();
        while self.prefaulted_upto < cap && self.prefaulted_upto < pos + PREFAULT_AHEAD {
            bg.prefault(self.log_w.region(), self.prefaulted_upto, PREFAULT_CHUNK);
            self.prefaulted_upto += PREFAULT_CHUNK;
        }
    }

    /// Whether the segment holds no batch yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.log_w.region().committed() == 0
    }

    /// Appends `records` as one batch with offsets from the segment's next offset.
    /// Returns `Ok(None)` when the batch does not fit (the caller rolls).
    /// `len` is `encoded_batch_len(records)`, computed once by the caller.
    pub(crate) fn append(
        &mut self,
        records: &[RecordIn<'_>],
        len: usize,
        ts_type: TimestampType,
        cfg: &LogConfig,
        bg: &Background,
    ) -> Result<Option<Appended>> {
        let base_offset = self.seg.next_offset.load(Ordering::Relaxed);
        let Some((pos, dst)) = self.reserve(len) else {
            return Ok(None);
        };
        encode_batch_sized(dst, base_offset, ts_type, records, len)?;
        let batch_max_ts = records.iter().map(|r| r.timestamp).max().unwrap_or(-1);
        let next_offset = base_offset + records.len() as i64;
        Ok(Some(self.commit(
            pos,
            len,
            next_offset,
            batch_max_ts,
            cfg,
            bg,
        )))
    }

    /// Appends `batch`, one whole encoded batch (compressed or not; its base offset is
    /// ignored), with offsets from the segment's next offset: its bytes are copied and
    /// the base offset, outside the CRC, written. Returns `Ok(None)` when it does not
    /// fit (the caller rolls).
    pub(crate) fn append_encoded(
        &mut self,
        batch: &[u8],
        cfg: &LogConfig,
        bg: &Background,
    ) -> Result<Option<Appended>> {
        let h = BatchHeader::parse(batch)?;
        let len = h.total_len();
        let base_offset = self.seg.next_offset.load(Ordering::Relaxed);
        let Some((pos, dst)) = self.reserve(len) else {
            return Ok(None);
        };
        dst[..len].copy_from_slice(&batch[..len]);
        dst[..8].copy_from_slice(&base_offset.to_be_bytes());
        let next_offset = base_offset + i64::from(h.last_offset_delta) + 1;
        Ok(Some(self.commit(
            pos,
            len,
            next_offset,
            h.max_timestamp,
            cfg,
            bg,
        )))
    }

    /// The position and unpublished room for a batch of `len` bytes; `None` when the
    /// batch or its index entry does not fit (the caller rolls).
    fn reserve(&mut self, len: usize) -> Option<(usize, &mut [u8])> {
        let pos = self.log_w.region().committed();
        let want_index = self.bytes_since_index > self.index_interval;
        if want_index && self.index_w.tail_mut(OFFSET_ENTRY).is_none() {
            return None; // index full: roll, as Kafka does
        }
        self.log_w.tail_mut(len).map(|dst| (pos, dst))
    }

    /// Publishes the batch of `len` bytes written at `pos` (after [`Self::reserve`]):
    /// index entries, the segment's largest timestamp and next offset.
    fn commit(
        &mut self,
        pos: usize,
        len: usize,
        next_offset: i64,
        batch_max_ts: i64,
        cfg: &LogConfig,
        bg: &Background,
    ) -> Appended {
        let base_offset = self.seg.next_offset.load(Ordering::Relaxed);
        let want_index = self.bytes_since_index > self.index_interval;
        let last_offset = next_offset - 1;
        if batch_max_ts > self.max_ts {
            self.max_ts = batch_max_ts;
            self.offset_of_max_ts = last_offset;
        }
        // Kafka's rule (LogSegment.append): index the batch when more than
        // `index_interval_bytes` were written since the last entry; the entry names the
        // batch's last offset and its start position.
        if want_index {
            let rel = (last_offset - self.seg.base_offset) as u32;
            push_offset_entry(&mut self.index_w, rel, pos as u32);
            self.push_time_entry_if_newer();
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += len;
        if pos == 0 {
            self.seg.roll_base_ts.store(batch_max_ts, Ordering::Release);
        }
        self.log_w.publish(len);
        self.seg.max_timestamp.store(self.max_ts, Ordering::Release);
        self.seg.next_offset.store(next_offset, Ordering::Release);
        if cfg.prefault {
            self.prefault(bg);
        }
        Appended {
            base_offset,
            next_offset,
        }
    }

    fn push_time_entry_if_newer(&mut self) {
        if self.max_ts > self.last_time_entry_ts {
            let rel = (self.offset_of_max_ts - self.seg.base_offset) as u32;
            if push_time_entry(&mut self.time_w, self.max_ts, rel) {
                self.last_time_entry_ts = self.max_ts;
            }
        }
    }

    /// Seals the segment: a last time-index entry for its max timestamp (as Kafka does
    /// on roll), files trimmed to their used length, and a read-only mapping.
    pub(crate) fn seal(mut self) -> Result<Arc<Segment>> {
        self.push_time_entry_if_newer();
        let log_len = self.log_w.region().committed();
        let idx_len = self.index_w.region().committed();
        let time_len = self.time_w.region().committed();
        let seg = &self.seg;
        let idx_path = seg.index_path();
        let time_path = seg.time_index_path();
        io::set_len(&self.log_file, log_len as u64).map_err(|e| Error::io(&seg.log_path, e))?;
        io::set_len(&self.index_file, idx_len as u64).map_err(|e| Error::io(&idx_path, e))?;
        io::set_len(&self.time_file, time_len as u64).map_err(|e| Error::io(&time_path, e))?;
        let log = MappedRegion::map_read_only(&self.log_file, log_len)
            .map_err(|e| Error::io(&seg.log_path, e))?;
        let index = MappedRegion::map_read_only(&self.index_file, idx_len)
            .map_err(|e| Error::io(&idx_path, e))?;
        let time_index = MappedRegion::map_read_only(&self.time_file, time_len)
            .map_err(|e| Error::io(&time_path, e))?;
        Ok(Arc::new(Segment {
            base_offset: seg.base_offset,
            log_path: seg.log_path.clone(),
            log,
            index: OffsetIndex { region: index },
            time_index: TimeIndex { region: time_index },
            next_offset: AtomicI64::new(seg.next_offset()),
            max_timestamp: AtomicI64::new(seg.max_timestamp()),
            roll_base_ts: AtomicI64::new(seg.roll_base_ts()),
            flushed: AtomicUsize::new(seg.flushed.load(Ordering::Acquire)),
        }))
    }

    /// fsyncs the three files (data and metadata): used before a roll's directory sync.
    pub(crate) fn sync_all(&self) -> Result<()> {
        self.seg
            .flush()
            .map_err(|e| Error::io(&self.seg.log_path, e))?;
        io::sync_all(&self.log_file).map_err(|e| Error::io(&self.seg.log_path, e))
    }
}

fn open_or_create(path: &Path, report: &mut RecoveryReport) -> Result<File> {
    match io::open_with(OpenOptions::new().read(true).write(true), false, path) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.rebuilt_indexes += 1;
            io::open_with(
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true),
                true,
                path,
            )
            .map_err(|e| Error::io(path, e))
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

/// State of a recovered active segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Restored {
    pub(crate) valid_end: usize,
    pub(crate) next_offset: i64,
    pub(crate) index_entries: usize,
    pub(crate) time_entries: usize,
    pub(crate) bytes_since_index: usize,
    pub(crate) max_ts: i64,
    pub(crate) offset_of_max_ts: i64,
    pub(crate) last_time_entry_ts: i64,
    pub(crate) roll_base_ts: i64,
}

/// Opens a sealed segment read-only, rebuilding missing or damaged indexes.
/// `unsealed`: the segment may still have a torn tail (a crash during its roll): its
/// batches are validated and a torn tail is cut instead of reported as corruption.
pub(crate) fn open_sealed(
    dir: &Path,
    base_offset: i64,
    cfg: &LogConfig,
    unsealed: bool,
    report: &mut RecoveryReport,
) -> Result<Arc<Segment>> {
    let log_path = dir.join(file_name(base_offset, "log"));
    let log_file = io::open(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let len = io::len(&log_file).map_err(|e| Error::io(&log_path, e))? as usize;
    let log = MappedRegion::map_read_only(&log_file, len).map_err(|e| Error::io(&log_path, e))?;
    let s = recovery::load_sealed(&log_path, &log, base_offset, cfg, unsealed, report)?;
    if s.trimmed_to < len {
        // A crash during a roll left the zero tail of preallocation: trim it now so the
        // file is plain concatenated batches again.
        drop(log);
        let f = io::open_with(OpenOptions::new().write(true), false, &log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        io::set_len(&f, s.trimmed_to as u64).map_err(|e| Error::io(&log_path, e))?;
        return open_sealed(dir, base_offset, cfg, false, report);
    }
    Ok(Arc::new(Segment {
        base_offset,
        log_path,
        log,
        index: OffsetIndex { region: s.index },
        time_index: TimeIndex {
            region: s.time_index,
        },
        next_offset: AtomicI64::new(s.next_offset),
        max_timestamp: AtomicI64::new(s.max_ts),
        roll_base_ts: AtomicI64::new(s.roll_base_ts),
        flushed: AtomicUsize::new(len),
    }))
}

/// Whether the batch headers of a segment starting at offset `base` lead exactly to
/// the end of `bytes` with rising offsets (framing and order only; no CRC is checked):
/// a segment whose walk stops earlier is damaged, which reads report.
pub(crate) fn headers_reach_end(bytes: &[u8], base: i64) -> bool {
    let mut pos = 0;
    let mut next = base;
    while pos < bytes.len() {
        match peek_header(bytes, pos) {
            Some(h)
                if h.total_len() <= bytes.len() - pos
                    && h.base_offset >= next
                    && h.last_offset() >= h.base_offset =>
            {
                next = h.next_offset();
                pos += h.total_len();
            }
            _ => return false,
        }
    }
    true
}

/// Reads the header at `pos` if a whole header is there.
pub(crate) fn peek_header(bytes: &[u8], pos: usize) -> Option<BatchHeader> {
    let b = bytes.get(pos..)?;
    if b.len() < HEADER_LEN {
        return None;
    }
    BatchHeader::parse(b).ok()
}

pub(crate) use index::{valid_offset_entries, valid_time_entries};

/// Removes the three files of segment `base`; missing ones are fine.
pub(crate) fn remove_segment_files(dir: &Path, base: i64) -> Result<()> {
    for ext in ["log", "index", "timeindex"] {
        let p = dir.join(file_name(base, ext));
        match io::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Ok(())
}

/// Base offsets of the `.log` files in `dir`, sorted; removes leftovers of interrupted
/// index rebuilds.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in io::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".tmp") {
            let _ = io::remove_file(&entry.path());
            continue;
        }
        if let Some(stem) = name.strip_suffix(".log")
            && stem.len() == 20
            && stem.bytes().all(|b| b.is_ascii_digit())
            && let Ok(base) = stem.parse::<i64>()
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}
