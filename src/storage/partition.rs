//! [`PartitionLog`]: one partition's log, a directory of segments. This file holds the
//! handle, its shared state, and its lifecycle: open (crash recovery orchestrated over
//! `recovery.rs` and `segment.rs`), the repair entry, close and the directory lock.
//! The handle's other methods live by concern: `append.rs` (append, roll, flush,
//! poison), `read.rs` (reads and waits), `retention.rs` (retention and
//! delete_records), `compaction.rs` (compaction).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use super::background::Background;
use super::checkpoint;
use super::config::{FlushPolicy, LogConfig};
use super::io;
use super::notify::Waiters;
use super::recovery::{self, RecoveryReport};
use super::segment::{self, ActiveSegment, Segment};
use crate::error::{Error, Result};
use crate::topic_partition::TopicPartition;

const CLEAN_MARKER: &str = ".clean-shutdown";

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
    pub(super) inner: Arc<LogInner>,
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

pub(super) struct LogInner {
    pub(super) name: String,
    /// The partition `name` stands for, parsed once for errors to name.
    pub(super) tp: TopicPartition,
    pub(super) dir: PathBuf,
    pub(super) config: LogConfig,
    pub(super) bg: Background,
    /// Copy-on-write list, oldest first; the last one is the active segment. Readers
    /// clone the `Arc` under a read lock held for a pointer copy.
    pub(super) segments: RwLock<Arc<Vec<Arc<Segment>>>>,
    pub(super) writer: Mutex<Writer>,
    pub(super) log_start: AtomicI64,
    /// The published end: every offset below it is readable. Stored with Release after
    /// the batch bytes and the segment's own watermark.
    pub(super) log_end: AtomicI64,
    /// Every offset below it is on stable storage.
    pub(super) durable: AtomicI64,
    pub(super) flush_lock: Mutex<()>,
    pub(super) poisoned: AtomicBool,
    pub(super) poison_reason: Mutex<Option<String>>,
    /// Fault injection for tests: the next flush fails with this error.
    #[cfg(feature = "fault-injection")]
    pub(super) injected_flush_error: Mutex<Option<std::io::Error>>,
    /// Serialises retention, record deletion and compaction.
    pub(super) maintenance: Mutex<()>,
    /// Segments below this offset are durable whole (see `open_with`).
    pub(super) recovery_point: Mutex<i64>,
    /// Set by `close`: background recovery-point writes stop (the directory may be
    /// about to be deleted).
    pub(super) closing: AtomicBool,
    /// The directory's lock, released by `close`.
    pub(super) lock: Mutex<Option<std::fs::File>>,
    /// Live `PartitionLog` handles (background tasks hold the inner state, not a
    /// handle): the last one dropped closes the log.
    pub(super) handles: AtomicUsize,
    pub(super) waiters: Waiters,
    pub(super) report: RecoveryReport,
}

pub(super) struct Writer {
    pub(super) active: Option<ActiveSegment>,
    pub(super) closed: bool,
    /// Wall-clock ms of the active segment's first append in this process (segment_ms).
    pub(super) first_append_ms: Option<i64>,
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

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    io::sync_path(dir).map_err(|e| Error::io(dir, e))
}

impl PartitionLog {
    /// Opens (or creates) the log in directory `dir`, recovering it after a crash, with
    /// its own background thread for prefaulting and timed flushes.
    ///
    /// Errors name the partition by the directory's name, `<topic>-<partition>` under a
    /// broker; a name that is not of that form (a standalone log) stands for
    /// partition 0 of a topic named like the whole directory.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad config, [`Error::Io`] when files cannot be
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
        let bases = segment::list_segments(&dir)?;
        // Kafka's recovery point: every segment below it was fsynced whole (data, trim,
        // indexes) before the point was written. After a crash, the segments from it
        // onwards are validated batch by batch with their indexes rebuilt, since write-
        // back may have lost or reordered any of their pages. The first one that lost
        // data (garbage cut off, or ending before the next segment starts) becomes the
        // active segment and every later segment is dropped: what survives is a prefix.
        let recovery_point = if clean {
            i64::MAX
        } else {
            checkpoint::read_recovery_point(&dir)?.unwrap_or(0)
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
                    if recovery::is_failed_roll(&dir, &segments, base)? {
                        segment::remove_segment_files(&dir, base)?;
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
                            segment::remove_segment_files(&dir, later)?;
                        }
                        active_base = base;
                        break;
                    }
                    segments.push(seg);
                }
                if active_base == last && recovery::is_failed_roll(&dir, &segments, last)? {
                    segment::remove_segment_files(&dir, last)?;
                    if let Some(prev) = segments.pop() {
                        active_base = prev.base_offset;
                    }
                }
                let trusted = clean && active_base == last;
                ActiveSegment::open(&dir, active_base, &config, bg, trusted, &mut report)?
            }
        };
        segments.push(Arc::clone(&active.seg));
        let log_start_file = checkpoint::read_log_start(&dir)?;
        for pair in segments.windows(2) {
            if pair[1].base_offset < pair[0].next_offset()
                && pair[0].base_offset < recovery_point
                && recovery::starts_at_its_base(&pair[1])
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
        let recovery_point_now = checkpoint::read_recovery_point(&dir)?.unwrap_or(0);
        let inner = Arc::new(LogInner {
            tp: TopicPartition::from_dir_name(&name),
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
            #[cfg(feature = "fault-injection")]
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

    /// Segments below `offset` were rewritten and fsynced (compaction).
    pub(crate) fn advance_recovery_point(&self, offset: i64) -> Result<()> {
        self.inner.advance_recovery_point(offset)
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
    /// Persists a new recovery point (only forwards; written crash-safely).
    pub(super) fn advance_recovery_point(&self, to: i64) -> Result<()> {
        let mut rp = self.recovery_point.lock();
        if self.closing.load(Ordering::Acquire) {
            return Ok(());
        }
        if to > *rp {
            checkpoint::write_recovery_point(&self.dir, to)?;
            *rp = to;
        }
        Ok(())
    }

    pub(super) fn replace_last(&self, seg: Arc<Segment>) {
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
                checkpoint::write_recovery_point(&self.dir, end)?;
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
