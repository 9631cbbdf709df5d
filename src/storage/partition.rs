//! [`PartitionLog`]: one partition's log, a directory of segments.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_utils::sync::{Parker, Unparker};
use parking_lot::{Mutex, RwLock};

use super::background::Background;
use super::config::{FlushPolicy, LogConfig};
use super::io;
use super::notify::Waiters;
use super::read::FetchedBatches;
use super::recovery::RecoveryReport;
use super::segment::{self, ActiveSegment, Segment};
use crate::error::{Error, Result};
use crate::format::{Batch, RecordIn, TimestampType, encoded_batch_len};

const CLEAN_MARKER: &str = ".clean-shutdown";
/// Kafka's `log-start-offset-checkpoint`, per partition: the start set by delete_records.
const LOG_START: &str = "log-start-offset";

/// Kafka's `recovery-point-offset-checkpoint`, per partition: segments below it are
/// durable whole.
const RECOVERY_POINT: &str = "recovery-point";

/// The offset in checkpoint file `name`; `None` when there is none (or it does not
/// parse: it is written whole through a rename, so that is a foreign file).
///
/// # Errors
/// [`Error::Io`] when the file exists but cannot be read: guessing instead could
/// resurrect records that `delete_records` removed.
fn read_offset_file(dir: &Path, name: &str) -> Result<Option<i64>> {
    let path = dir.join(name);
    match io::read_to_string(&path) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Whether segment `base` is the leftover of a roll that failed half-way (its files
/// created, then an error, then their removal failed too) while the previous segment
/// went on taking appends: it starts below the previous segment's end and holds no
/// batch. Any other overlap is corruption, reported by `open`.
fn is_failed_roll(dir: &Path, before: &[Arc<Segment>], base: i64) -> Result<bool> {
    let Some(prev) = before.last() else {
        return Ok(false);
    };
    if base >= prev.next_offset() {
        return Ok(false);
    }
    // The record appended after the failed roll starts exactly at the leftover's base;
    // without one there, the predecessor's end is what is wrong (a damaged base
    // offset), not this segment.
    let pb = prev.log.bytes();
    let starts_there = matches!(prev.position_of(pb, base), Ok(Some(pos))
        if segment::peek_header(pb, pos).is_some_and(|h| h.base_offset == base));
    if !starts_there {
        return Ok(false);
    }
    let path = dir.join(segment::file_name(base, "log"));
    let bytes = io::read(&path).map_err(|e| Error::io(&path, e))?;
    Ok(bytes.iter().all(|&b| b == 0))
}

/// Whether segment `seg` looks like a genuine next segment: empty, or its first batch
/// starts at its base offset (a misplaced copy of another segment does not).
fn starts_at_its_base(seg: &Segment) -> bool {
    segment::peek_header(seg.log.bytes(), 0).is_none_or(|h| h.base_offset == seg.base_offset)
}

pub(crate) fn read_log_start(dir: &Path) -> Result<Option<i64>> {
    read_offset_file(dir, LOG_START)
}

fn remove_segment_files(dir: &Path, base: i64) -> Result<()> {
    for ext in ["log", "index", "timeindex"] {
        let p = dir.join(segment::file_name(base, ext));
        match io::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Ok(())
}
static WAITER_IDS: AtomicU64 = AtomicU64::new(1);

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

/// One partition's log: Kafka-format segments in a directory, appended by one writer
/// at a time (a lock per partition) and read by any number of threads without locks on
/// the hot path. Cheap to clone; clones share the log.
///
/// ```
/// use brooklet::format::RecordIn;
/// use brooklet::storage::{LogConfig, PartitionLog};
///
/// let dir = tempfile::tempdir().unwrap();
/// let log = PartitionLog::open(dir.path().join("demo-0"), LogConfig::default())?;
/// let rec = RecordIn { key: Some(b"k"), value: Some(b"hello"), timestamp: 1, headers: &[] };
/// let info = log.append(&[rec])?;
/// assert_eq!(info.base_offset, 0);
/// let fetched = log.read(0, 1 << 20)?;
/// let first = fetched.records().next().unwrap()?;
/// assert_eq!(first.value(), Some(&b"hello"[..]));
/// # Ok::<(), brooklet::Error>(())
/// ```
pub struct PartitionLog {
    inner: Arc<LogInner>,
}

impl Clone for PartitionLog {
    fn clone(&self) -> Self {
        self.inner.handles.fetch_add(1, Ordering::Relaxed);
        PartitionLog {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Drop for PartitionLog {
    /// The last handle closes the log at once (background tasks may keep its memory a
    /// little longer, but not its directory lock), so it can be reopened right away.
    fn drop(&mut self) {
        if self.inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.inner.close();
        }
    }
}

impl std::fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionLog")
            .field("name", &self.inner.name)
            .field("log_start", &self.log_start_offset())
            .field("log_end", &self.log_end_offset())
            .finish()
    }
}

struct LogInner {
    name: String,
    dir: PathBuf,
    config: LogConfig,
    bg: Background,
    /// Copy-on-write list, oldest first; the last one is the active segment. Readers
    /// clone the `Arc` under a read lock held for a pointer copy.
    segments: RwLock<Arc<Vec<Arc<Segment>>>>,
    writer: Mutex<Writer>,
    log_start: AtomicI64,
    /// The published end: every offset below it is readable. Stored with Release after
    /// the batch bytes and the segment's own watermark.
    log_end: AtomicI64,
    /// Every offset below it is on stable storage.
    durable: AtomicI64,
    flush_lock: Mutex<()>,
    poisoned: AtomicBool,
    poison_reason: Mutex<Option<String>>,
    /// Fault injection for tests: the next flush fails with this error.
    injected_flush_error: Mutex<Option<std::io::Error>>,
    /// Serialises retention, record deletion and compaction.
    maintenance: Mutex<()>,
    /// Segments below this offset are durable whole (see `open_with`).
    recovery_point: Mutex<i64>,
    /// Set by `close`: background recovery-point writes stop (the directory may be
    /// about to be deleted).
    closing: AtomicBool,
    /// The directory's lock, released by `close`.
    lock: Mutex<Option<std::fs::File>>,
    /// Live `PartitionLog` handles (background tasks hold the inner state, not a
    /// handle): the last one dropped closes the log.
    handles: AtomicUsize,
    waiters: Waiters,
    report: RecoveryReport,
}

struct Writer {
    active: Option<ActiveSegment>,
    closed: bool,
    /// Wall-clock ms of the active segment's first append in this process (segment_ms).
    first_append_ms: Option<i64>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Takes the exclusive lock of a partition directory.
///
/// # Errors
/// [`Error::Locked`] while another handle (a live `Broker`'s) has the log open;
/// [`Error::Io`] when the directory cannot be opened.
pub(crate) fn lock_partition_dir(dir: &Path) -> Result<std::fs::File> {
    let f = io::open(dir).map_err(|e| Error::io(dir, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
            dir: dir.to_path_buf(),
            holder:
                "another open handle of this partition's log (a Broker, in this or another process)"
                    .into(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(dir, e)),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    io::sync_path(dir).map_err(|e| Error::io(dir, e))
}

impl PartitionLog {
    /// Opens (or creates) the log in directory `dir`, recovering it after a crash, with
    /// its own background thread for prefaulting and timed flushes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad config, [`Error::Io`] when files cannot be
    /// created or mapped, [`Error::Corrupt`] when a sealed segment is damaged.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> Result<PartitionLog> {
        let name = dir
            .as_ref()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bg = Background::new(&format!("brooklet-{name}"))?;
        Self::open_with(dir, config, &bg)
    }

    /// Like [`open`](Self::open), sharing the caller's background thread.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(
        dir: impl AsRef<Path>,
        config: LogConfig,
        bg: &Background,
    ) -> Result<PartitionLog> {
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        // Only when missing: on a full disk an existing log still opens.
        if !io::exists(&dir).map_err(|e| Error::io(&dir, e))? {
            io::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // One open log per directory (flock on the directory itself, so nothing is
        // created): a second handle would append at offsets the first one also
        // hands out, and its close would mark a live log clean.
        let lock = lock_partition_dir(&dir)?;
        // An interrupted compaction swap is finished or undone before anything else.
        super::compaction::recover(&dir)?;
        let marker = dir.join(CLEAN_MARKER);
        // A failed look reads as an unclean shutdown: everything is validated.
        let clean = io::exists(&marker).unwrap_or(false);
        let mut report = RecoveryReport {
            clean_shutdown: clean,
            ..Default::default()
        };
        let bases = list_segments(&dir)?;
        // Kafka's recovery point: every segment below it was fsynced whole (data, trim,
        // indexes) before the point was written. After a crash, the segments from it
        // onwards are validated batch by batch with their indexes rebuilt, since write-
        // back may have lost or reordered any of their pages. The first one that lost
        // data (garbage cut off, or ending before the next segment starts) becomes the
        // active segment and every later segment is dropped: what survives is a prefix.
        let recovery_point = if clean {
            i64::MAX
        } else {
            read_offset_file(&dir, RECOVERY_POINT)?.unwrap_or(0)
        };
        // As in Kafka, a segment is validated when it holds offsets at or past the
        // recovery point (a clean close leaves the point at the log end, inside the
        // active segment, which a later roll seals).
        let first_validated = bases
            .windows(2)
            .position(|w| w[1] > recovery_point)
            .unwrap_or(bases.len().saturating_sub(1));
        if !clean {
            // Only a torn tail may be cut: refuse before anything is changed when the
            // damage is followed by valid data.
            super::recovery::check_damage_is_tail(&dir, &bases, first_validated)?;
        }
        let mut segments = Vec::with_capacity(bases.len() + 1);
        let active = match bases.split_last() {
            None => ActiveSegment::create(&dir, 0, &config, bg)?,
            Some((&last, sealed)) => {
                let mut active_base = last;
                for (i, &base) in sealed.iter().enumerate() {
                    if is_failed_roll(&dir, &segments, base)? {
                        remove_segment_files(&dir, base)?;
                        continue;
                    }
                    let validate = i >= first_validated;
                    let cut_before = report.truncated_bytes;
                    let seg = segment::open_sealed(&dir, base, &config, validate, &mut report)?;
                    let next_base = bases[i + 1];
                    let lost = validate
                        && (report.truncated_bytes > cut_before || seg.next_offset() < next_base);
                    if lost {
                        for &later in &bases[i + 1..] {
                            remove_segment_files(&dir, later)?;
                        }
                        active_base = base;
                        break;
                    }
                    segments.push(seg);
                }
                if active_base == last && is_failed_roll(&dir, &segments, last)? {
                    remove_segment_files(&dir, last)?;
                    if let Some(prev) = segments.pop() {
                        active_base = prev.base_offset;
                    }
                }
                let trusted = clean && active_base == last;
                ActiveSegment::open(&dir, active_base, &config, bg, trusted, &mut report)?
            }
        };
        segments.push(Arc::clone(&active.seg));
        let log_start_file = read_log_start(&dir)?;
        for pair in segments.windows(2) {
            if pair[1].base_offset < pair[0].next_offset()
                && pair[0].base_offset < recovery_point
                && starts_at_its_base(&pair[1])
            {
                // A sealed segment that was not validated ends where the next one
                // begins (rolls are contiguous): a walk past that went through a base
                // offset damaged while closed (outside the CRC, as in Kafka). Its end
                // is the next segment's base; reads that reach the damage get
                // `Corrupt` (they stop at the next segment's base).
                pair[0].clamp_next_offset(pair[1].base_offset);
            }
            if pair[0].next_offset() < pair[1].base_offset
                && log_start_file.is_none_or(|start| start < pair[1].base_offset)
                && segment::headers_reach_end(pair[0].log.bytes(), pair[0].base_offset)
            {
                // Rolls, retention and compaction all keep segments contiguous: offsets
                // missing between two segments whose batches are intact mean a segment
                // file was lost (a walk stopped by damage is reported when read).
                return Err(Error::corrupt(
                    &pair[0].log_path,
                    pair[0].log.bytes().len() as u64,
                    format!(
                        "offsets {}..{} are missing: this segment ends at offset {} but the next one, `{}`, starts at {} (a segment file was deleted, lost or cut short)",
                        pair[0].next_offset(),
                        pair[1].base_offset,
                        pair[0].next_offset(),
                        pair[1].log_path.display(),
                        pair[1].base_offset
                    ),
                ));
            }
            if pair[1].base_offset < pair[0].next_offset() {
                return Err(Error::corrupt(
                    &pair[1].log_path,
                    0,
                    format!(
                        "segment starts at offset {} but the previous one ends at {}",
                        pair[1].base_offset,
                        pair[0].next_offset()
                    ),
                ));
            }
        }
        report.segments = segments.len();
        if clean {
            // Remove the marker durably before any write, so a crash from now on is
            // recognised as unclean.
            io::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
        }
        sync_dir(&dir)?;
        let log_end = active.seg.next_offset();
        // delete_records may have moved the start inside the first segment.
        let log_start = log_start_file
            .unwrap_or(i64::MIN)
            .max(segments[0].base_offset)
            .min(log_end);
        let recovery_point_now = read_offset_file(&dir, RECOVERY_POINT)?.unwrap_or(0);
        let inner = Arc::new(LogInner {
            name,
            dir,
            bg: bg.clone(),
            segments: RwLock::new(Arc::new(segments)),
            writer: Mutex::new(Writer {
                active: Some(active),
                closed: false,
                first_append_ms: None,
            }),
            log_start: AtomicI64::new(log_start),
            log_end: AtomicI64::new(log_end),
            durable: AtomicI64::new(log_end),
            flush_lock: Mutex::new(()),
            poisoned: AtomicBool::new(false),
            poison_reason: Mutex::new(None),
            injected_flush_error: Mutex::new(None),
            maintenance: Mutex::new(()),
            recovery_point: Mutex::new(recovery_point_now),
            closing: AtomicBool::new(false),
            lock: Mutex::new(Some(lock)),
            handles: AtomicUsize::new(1),
            waiters: Waiters::default(),
            report,
            config,
        });
        if let FlushPolicy::Interval(period) = inner.config.flush {
            let weak = Arc::downgrade(&inner);
            bg.every(period, move || match weak.upgrade() {
                Some(log) => {
                    // A failure poisons the log; appends report it.
                    let _ = log.flush_to(log.log_end.load(Ordering::Acquire));
                    true
                }
                None => false,
            });
        }
        Ok(PartitionLog { inner })
    }

    /// Explicit repair of a closed log in `dir` that [`open`](Self::open) refused with
    /// [`Error::Corrupt`]: keeps the longest valid prefix (every batch is validated)
    /// and moves the rest into a folder named after the partition inside
    /// `quarantine`: the damaged segment as a whole copy, every later segment as it
    /// is. Nothing is deleted. Returns `None` when the log needed no repair.
    /// [`Broker::repair`](crate::Broker::repair) runs it on every partition.
    ///
    /// # Errors
    /// [`Error::Locked`] while a handle has the log open; [`Error::Io`] when a file
    /// cannot be read, copied, moved or cut.
    pub fn repair(
        dir: impl AsRef<Path>,
        quarantine: impl AsRef<Path>,
    ) -> Result<Option<super::PartitionRepair>> {
        let dir = dir.as_ref();
        let _lock = lock_partition_dir(dir)?;
        super::repair::repair_partition(dir, quarantine.as_ref())
    }

    /// The directory name, `<topic>-<partition>` under a broker.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The log's settings.
    pub fn config(&self) -> &LogConfig {
        &self.inner.config
    }

    /// What opening the log found and repaired.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.inner.log_start.load(Ordering::Acquire)
    }

    /// The offset the next record will get; every offset below it is readable.
    pub fn log_end_offset(&self) -> i64 {
        self.inner.log_end.load(Ordering::Acquire)
    }

    /// Every offset below this one is on stable storage.
    pub fn durable_offset(&self) -> i64 {
        self.inner.durable.load(Ordering::Acquire)
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.inner.segments.read().len()
    }

    /// Bytes of batches in all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments().iter().map(|s| s.size() as u64).sum()
    }

    pub(crate) fn segments(&self) -> Arc<Vec<Arc<Segment>>> {
        Arc::clone(&self.inner.segments.read())
    }

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
        let now = super::mmap::coarse_now_ms();
        // The limit applies to the batch as given, as Kafka checks the batch it
        // received before it assigns offsets or stamps LogAppendTime.
        let given = encoded_batch_len(records);
        if given > inner.config.max_message_bytes as usize {
            return Err(Error::RecordTooLarge {
                topic: inner.name.clone(),
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
                            topic: inner.name.clone(),
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

    /// Reads batches starting with the one that holds `offset`, up to about
    /// `max_bytes` (at least one whole batch, as Kafka's fetch), from one segment. The
    /// result borrows the mapping (zero-copy) and keeps its segment alive even if
    /// retention deletes the file meanwhile.
    ///
    /// Reading at the log end returns an empty result.
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] outside `[log_start, log_end]`; [`Error::Corrupt`]
    /// when a batch header on the way is damaged.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<FetchedBatches> {
        let inner = &*self.inner;
        let start = inner.log_start.load(Ordering::Acquire);
        let end = inner.log_end.load(Ordering::Acquire);
        if offset < start || offset > end {
            return Err(Error::OffsetOutOfRange {
                partition: inner.name.clone(),
                offset,
                log_start: start,
                log_end: end,
            });
        }
        let segs = self.segments();
        if offset == end {
            return Ok(FetchedBatches::empty(offset));
        }
        let first = segs
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        for (i, seg) in segs.iter().enumerate().skip(first) {
            // A sealed segment's batches end before the next segment begins.
            let ceiling = segs.get(i + 1).map_or(i64::MAX, |n| n.base_offset);
            let bytes = seg.log.bytes();
            let Some(pos) = seg.position_of(bytes, offset)? else {
                continue;
            };
            let mut stop = pos;
            let mut next = offset;
            let mut prev_last = None;
            while stop < bytes.len() && (stop == pos || stop - pos < max_bytes) {
                let h = seg.header_at(bytes, stop)?;
                seg.check_order(stop, &h, prev_last)?;
                // A batch appended after `end` was loaded may already be in the
                // segment: stay below the end this read started from, so a reader
                // never moves past what log_end_offset() reports. Appends are dense,
                // so such a batch starts exactly at `end`; one starting past it (or
                // the first batch, which must hold `offset < end`) is damaged.
                if h.base_offset > end
                    || (stop == pos && h.base_offset >= end)
                    || h.last_offset() >= ceiling
                {
                    return Err(Error::corrupt(
                        &seg.log_path,
                        stop as u64,
                        format!(
                            "batch offsets {}..={} are past the log end {end} or the next segment",
                            h.base_offset,
                            h.last_offset()
                        ),
                    ));
                }
                if stop + h.total_len() > bytes.len() {
                    // Only whole batches are ever published: one that runs past them
                    // has a damaged length (outside the CRC, as in Kafka).
                    if stop == pos {
                        return Err(Error::corrupt(
                            &seg.log_path,
                            stop as u64,
                            format!(
                                "batch of {} bytes runs past the segment's {} bytes",
                                h.total_len(),
                                bytes.len()
                            ),
                        ));
                    }
                    break;
                }
                if h.base_offset >= end {
                    break;
                }
                prev_last = Some(h.last_offset());
                if stop > pos && stop + h.total_len() - pos > max_bytes {
                    break;
                }
                stop += h.total_len();
                next = h.next_offset();
            }
            return Ok(FetchedBatches::new(
                Arc::clone(seg),
                pos,
                stop,
                offset,
                next,
            ));
        }
        Ok(FetchedBatches::empty(offset))
    }

    /// The earliest offset whose record timestamp is `>= timestamp`, with that
    /// timestamp (Kafka's `offsetsForTimes`), through the time index; `None` when every
    /// record is older.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when a batch on the way is damaged.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let start = self.log_start_offset();
        let end = self.log_end_offset();
        for seg in self.segments().iter() {
            if seg.max_timestamp() < timestamp {
                continue;
            }
            let bytes = seg.log.bytes();
            let mut pos = seg.search_start_for_timestamp(bytes, timestamp)?;
            let mut prev_last = None;
            while pos < bytes.len() {
                let h = seg.header_at(bytes, pos)?;
                seg.check_order(pos, &h, prev_last)?;
                if h.base_offset >= end {
                    // Appended after `end` was loaded (dense appends start exactly at
                    // `end`), or damaged.
                    if h.base_offset > end {
                        return Err(Error::corrupt(
                            &seg.log_path,
                            pos as u64,
                            format!(
                                "batch base offset {} is past the log end {end}",
                                h.base_offset
                            ),
                        ));
                    }
                    return Ok(None);
                }
                prev_last = Some(h.last_offset());
                if h.max_timestamp >= timestamp && !h.is_control() && h.last_offset() >= start {
                    let batch = Batch::parse(&bytes[pos..])
                        .map_err(|e| Error::corrupt(&seg.log_path, pos as u64, e.to_string()))?;
                    for r in batch.records() {
                        let r = r.map_err(|e| {
                            Error::corrupt(&seg.log_path, pos as u64, e.to_string())
                        })?;
                        if r.timestamp() >= timestamp && r.offset() >= start {
                            return Ok(Some((r.offset(), r.timestamp())));
                        }
                    }
                }
                pos += h.total_len();
            }
        }
        Ok(None)
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

    /// Blocks until the log end passes `offset` or `timeout` elapses; true if it did.
    /// Wakes within microseconds of the append (no sleep-polling).
    pub fn wait_for(&self, offset: i64, timeout: Duration) -> bool {
        if self.log_end_offset() > offset {
            return true;
        }
        let parker = Parker::new();
        let id = self.register_waiter(parker.unparker());
        let deadline = std::time::Instant::now() + timeout;
        let ok = loop {
            if self.log_end_offset() > offset {
                break true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                break false;
            }
            parker.park_timeout(deadline - now);
        };
        self.unregister_waiter(id);
        ok
    }

    /// Registers a thread to unpark on every append; returns the id to unregister.
    pub(crate) fn register_waiter(&self, unparker: &Unparker) -> u64 {
        let id = WAITER_IDS.fetch_add(1, Ordering::Relaxed);
        self.inner.waiters.register(id, unparker);
        id
    }

    pub(crate) fn unregister_waiter(&self, id: u64) {
        self.inner.waiters.unregister(id);
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub(crate) fn maintenance_lock(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.inner.maintenance.lock()
    }

    /// Replaces the segments with base offsets in `removed` by `added` (compaction).
    pub(crate) fn swap_segments(&self, removed: &[i64], added: Vec<Arc<Segment>>) {
        let mut segs = self.inner.segments.write();
        let mut v: Vec<Arc<Segment>> = segs
            .iter()
            .filter(|s| !removed.contains(&s.base_offset))
            .cloned()
            .chain(added)
            .collect();
        v.sort_by_key(|s| s.base_offset);
        *segs = Arc::new(v);
    }

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
                partition: self.inner.name.clone(),
                offset: before_offset,
                log_start: start,
                log_end: end,
            });
        }
        if before_offset <= start {
            return Ok(start);
        }
        super::compaction::write_atomic(
            &self.inner.dir,
            LOG_START,
            before_offset.to_string().as_bytes(),
        )?;
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

    /// Segments below `offset` were rewritten and fsynced (compaction).
    pub(crate) fn advance_recovery_point(&self, offset: i64) -> Result<()> {
        self.inner.advance_recovery_point(offset)
    }

    /// One compaction pass (see [`CompactionConfig`](super::CompactionConfig)).
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Corrupt`] when a sealed segment is damaged (nothing is
    /// swapped in then).
    pub fn compact(
        &self,
        config: &super::CompactionConfig,
        now_ms: i64,
    ) -> Result<super::CompactionReport> {
        super::compaction::compact(self, config, now_ms)
    }

    /// Test hook: makes the next flush of this log fail with `error`, as a failing
    /// disk would, to exercise poisoning. Not part of the stable API.
    #[doc(hidden)]
    pub fn inject_flush_error(&self, error: std::io::Error) {
        *self.inner.injected_flush_error.lock() = Some(error);
    }

    /// Flushes, trims the active segment's files to their used length and writes the
    /// clean-shutdown marker. Further appends return [`Error::Closed`]; reads keep
    /// working. Dropping the last handle closes too, ignoring errors.
    ///
    /// # Errors
    /// [`Error::Io`] when flushing or trimming fails.
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }
}

impl LogInner {
    fn check_poison(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned {
                partition: self.name.clone(),
                reason: self
                    .poison_reason
                    .lock()
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            });
        }
        Ok(())
    }

    fn poison(&self, e: &dyn std::fmt::Display) -> Error {
        let reason = e.to_string();
        *self.poison_reason.lock() = Some(reason.clone());
        self.poisoned.store(true, Ordering::Release);
        Error::Poisoned {
            partition: self.name.clone(),
            reason,
        }
    }

    /// Group commit: makes every offset below `target` durable. Whoever takes the lock
    /// flushes everything published so far; waiters behind it find their target covered.
    fn flush_to(&self, target: i64) -> Result<()> {
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

    /// Persists a new recovery point (only forwards; written crash-safely).
    fn advance_recovery_point(&self, to: i64) -> Result<()> {
        let mut rp = self.recovery_point.lock();
        if self.closing.load(Ordering::Acquire) {
            return Ok(());
        }
        if to > *rp {
            super::compaction::write_atomic(&self.dir, RECOVERY_POINT, to.to_string().as_bytes())?;
            *rp = to;
        }
        Ok(())
    }

    fn replace_last(&self, seg: Arc<Segment>) {
        let mut segs = self.segments.write();
        let mut v = Vec::clone(&segs);
        if let Some(last) = v.last_mut() {
            *last = seg;
        }
        *segs = Arc::new(v);
    }

    fn close(&self) -> Result<()> {
        let r = self.close_files();
        // Closed either way: no more appends, so another handle may open the log.
        if let Some(lock) = self.lock.lock().take() {
            let _ = lock.unlock();
        }
        r
    }

    fn close_files(&self) -> Result<()> {
        // No recovery-point write starts after this, and one in flight finishes first.
        self.closing.store(true, Ordering::Release);
        drop(self.recovery_point.lock());
        let mut w = self.writer.lock();
        if w.closed {
            return Ok(());
        }
        w.closed = true;
        let Some(active) = w.active.take() else {
            return Ok(());
        };
        let durable = !self.poisoned.load(Ordering::Acquire);
        if durable {
            active.sync_all().map_err(|e| self.poison(&e))?;
            // Sealed segments still waiting for their background sync (`Os` policy)
            // are synced now: the marker and the recovery point below promise that
            // everything is durable.
            let rp = *self.recovery_point.lock();
            let segs = Arc::clone(&self.segments.read());
            if let Some((_, sealed)) = segs.split_last() {
                for seg in sealed.iter().filter(|s| s.next_offset() > rp) {
                    seg.sync_files().map_err(|e| self.poison(&e))?;
                }
            }
        }
        let end = active.seg.next_offset();
        let sealed = active.seal()?;
        self.replace_last(sealed);
        if durable {
            // Everything is flushed: the recovery point is the log end (Kafka writes
            // its recovery-point checkpoint at the log end on a clean shutdown).
            let mut rp = self.recovery_point.lock();
            if end > *rp {
                super::compaction::write_atomic(
                    &self.dir,
                    RECOVERY_POINT,
                    end.to_string().as_bytes(),
                )?;
                *rp = end;
            }
            drop(rp);
            let marker = self.dir.join(CLEAN_MARKER);
            io::write(&marker, b"").map_err(|e| Error::io(&marker, e))?;
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

impl Drop for LogInner {
    fn drop(&mut self) {
        let _ = self.close();
    }
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
