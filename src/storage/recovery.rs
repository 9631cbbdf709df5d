//! Opening segments after a clean or an unclean shutdown.
//!
//! After a crash, the active segment is validated batch by batch (CRC, framing, offset
//! continuity) from its last index entry, as Kafka recovers from its recovery point; the
//! first invalid batch and everything after it is a torn tail and is cut off, and the
//! indexes are trimmed to what remains. Sealed segments were trimmed and synced at roll,
//! so only their last index entry is checked; a bad index is rebuilt from the log, and a
//! bad batch inside a sealed segment is [`Error::Corrupt`], never skipped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::LogConfig;
use super::index::{OFFSET_ENTRY, TIME_ENTRY, decode_offset_entry, decode_time_entry};
use super::io as fs;
use super::mmap::MappedRegion;
use super::segment::{
    self, Restored, Segment, peek_header, valid_offset_entries, valid_time_entries,
};
use crate::error::{Error, Result};
use crate::format::Batch;
use crate::format::batch::HEADER_LEN;

/// What opening a log found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The log had been closed cleanly (its clean-shutdown marker was present).
    pub clean_shutdown: bool,
    /// Segments opened.
    pub segments: usize,
    /// Bytes cut from the end of the active segment: a torn or unacknowledged tail.
    pub truncated_bytes: u64,
    /// Byte position in the active segment where the valid data ends, when a torn tail
    /// was cut.
    pub truncated_at: Option<u64>,
    /// Index files that were missing or damaged and rebuilt from the log.
    pub rebuilt_indexes: usize,
    /// Sealed segments whose zero tail (a crash during a roll) was trimmed.
    pub trimmed_segments: usize,
}

/// Validates and repairs the newest segment's files; see the module docs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn recover_active(
    log_path: &Path,
    log_file: &File,
    index_file: &File,
    time_file: &File,
    base: i64,
    cfg: &LogConfig,
    clean: bool,
    report: &mut RecoveryReport,
) -> Result<Restored> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| Error::io(p, e)
    };
    let idx_path = log_path.with_extension("index");
    let time_path = log_path.with_extension("timeindex");
    let log_len = fs::len(log_file).map_err(io(log_path))? as usize;
    let log = MappedRegion::map_read_only(log_file, log_len).map_err(io(log_path))?;
    let idx_len = fs::len(index_file).map_err(io(&idx_path))? as usize;
    let idx = MappedRegion::map_read_only(index_file, idx_len).map_err(io(&idx_path))?;
    let time_len = fs::len(time_file).map_err(io(&time_path))? as usize;
    let time = MappedRegion::map_read_only(time_file, time_len).map_err(io(&time_path))?;
    let bytes = log.bytes();

    let mut scan = scan_active(bytes, idx.bytes(), time.bytes(), base, cfg, !clean, !clean);
    if clean && scan.end != log_len {
        // A clean close trims the file to its last batch; anything else means the
        // marker lies (or the file was touched): validate everything properly.
        scan = scan_active(bytes, idx.bytes(), time.bytes(), base, cfg, true, true);
    } else if clean
        && (scan.time_entries * TIME_ENTRY != time_len
            || !last_time_entry_agrees(bytes, idx.bytes(), time.bytes(), base)
            || max_timestamp_walk(bytes, idx.bytes(), time.bytes(), base) != scan.max_ts)
    {
        // The segment's largest timestamp comes from its time index, and time
        // retention trusts it: a missing or damaged one (lost or damaged while closed)
        // is rebuilt from a walk over the batch headers, as Kafka rebuilds a bad index.
        // The walk checks no CRC and cuts nothing: a damaged batch is `Corrupt` when
        // read, as in any cleanly closed segment. If even the headers do not lead to
        // the end, the indexes stay as they are.
        let walk = scan_active(bytes, idx.bytes(), &[], base, cfg, true, false);
        if walk.end == log_len {
            scan = walk;
        }
    }
    if scan.index_entries * OFFSET_ENTRY != idx_len || !scan.new_index.is_empty() {
        report.rebuilt_indexes +=
            usize::from(scan.index_entries * OFFSET_ENTRY < idx_len && !clean);
    }

    // Bytes after the valid end that are not zero: a torn tail to cut off, unless a
    // valid batch follows them. Then the bad bytes are damage in the middle of the
    // log, not a write the crash tore, and cutting would drop what follows.
    let dirty_end = nonzero_extent(bytes, scan.end);
    if dirty_end > scan.end
        && let Some((at, h)) = find_valid_batch(bytes, scan.end + 1, scan.next_offset)
    {
        return Err(damage_before_valid_data(
            log_path,
            scan.end as u64,
            scan.next_offset,
            &format!(
                "a valid batch (offsets {}..={}) follows at byte {at}",
                h.base_offset,
                h.last_offset()
            ),
        ));
    }
    if dirty_end > scan.end {
        report.truncated_bytes += (dirty_end - scan.end) as u64;
        report.truncated_at = Some(scan.end as u64);
    }
    drop((log, idx, time));
    if scan.end < log_len {
        // Cut everything after the valid end; the caller re-allocates zeroed blocks, so
        // no stale batch can reappear after a later crash.
        fs::set_len(log_file, scan.end as u64).map_err(io(log_path))?;
        if dirty_end > scan.end {
            fs::sync_all(log_file).map_err(io(log_path))?;
        }
    }
    let idx_used = scan.index_entries * OFFSET_ENTRY;
    fs::set_len(index_file, idx_used as u64).map_err(io(&idx_path))?;
    let mut at = idx_used as u64;
    for (rel, pos) in &scan.new_index {
        let mut e = [0u8; OFFSET_ENTRY];
        e[..4].copy_from_slice(&rel.to_be_bytes());
        e[4..].copy_from_slice(&pos.to_be_bytes());
        fs::write_all_at(index_file, &e, at).map_err(io(&idx_path))?;
        at += OFFSET_ENTRY as u64;
    }
    let time_used = scan.time_entries * TIME_ENTRY;
    fs::set_len(time_file, time_used as u64).map_err(io(&time_path))?;
    let mut at = time_used as u64;
    for (ts, rel) in &scan.new_time {
        let mut e = [0u8; TIME_ENTRY];
        e[..8].copy_from_slice(&ts.to_be_bytes());
        e[8..].copy_from_slice(&rel.to_be_bytes());
        fs::write_all_at(time_file, &e, at).map_err(io(&time_path))?;
        at += TIME_ENTRY as u64;
    }
    Ok(Restored {
        valid_end: scan.end,
        next_offset: scan.next_offset,
        index_entries: scan.index_entries + scan.new_index.len(),
        time_entries: scan.time_entries + scan.new_time.len(),
        bytes_since_index: scan.bytes_since_index,
        max_ts: scan.max_ts,
        offset_of_max_ts: scan.offset_of_max_ts,
        last_time_entry_ts: scan.last_time_entry_ts,
        roll_base_ts: scan.roll_base_ts,
    })
}

#[derive(Debug, Default)]
struct ActiveScan {
    end: usize,
    next_offset: i64,
    index_entries: usize,
    time_entries: usize,
    new_index: Vec<(u32, u32)>,
    new_time: Vec<(i64, u32)>,
    bytes_since_index: usize,
    max_ts: i64,
    offset_of_max_ts: i64,
    last_time_entry_ts: i64,
    roll_base_ts: i64,
}

fn batch_ok(bytes: &[u8], pos: usize, deep: bool) -> Option<crate::format::BatchHeader> {
    let b = bytes.get(pos..)?;
    if deep {
        let batch = Batch::parse(b).ok()?;
        batch.check_stored().ok()?;
        Some(*batch.header())
    } else {
        let h = peek_header(bytes, pos)?;
        (h.total_len() <= b.len()).then_some(h)
    }
}

fn scan_active(
    bytes: &[u8],
    idx: &[u8],
    time: &[u8],
    base: i64,
    cfg: &LogConfig,
    from_start: bool,
    deep: bool,
) -> ActiveScan {
    let interval = cfg.index_interval_bytes as usize;
    // After a clean close, the last index entry whose batch is intact is where the walk
    // starts. After a crash, write-back may have been reordered (a later page on disk,
    // an earlier one lost), so nothing before the end is trusted: validate every batch
    // from the segment start and rebuild both indexes.
    let mut n = if from_start {
        0
    } else {
        valid_offset_entries(idx, bytes.len())
    };
    let mut start = None;
    while n > 0 {
        let (rel, pos) = decode_offset_entry(&idx[(n - 1) * OFFSET_ENTRY..]);
        if let Some(h) = batch_ok(bytes, pos as usize, deep)
            && h.last_offset() == base + rel as i64
        {
            start = Some((pos as usize, h));
            break;
        }
        n -= 1;
    }
    let mut s = ActiveScan {
        index_entries: n,
        next_offset: base,
        max_ts: -1,
        offset_of_max_ts: base,
        last_time_entry_ts: -1,
        roll_base_ts: -1,
        ..Default::default()
    };
    let mut pos = 0;
    let mut expected = base;
    if let Some((p, h)) = start {
        // The indexed batch is valid; continue after it.
        pos = p + h.total_len();
        expected = h.next_offset();
        s.bytes_since_index = h.total_len();
        s.max_ts = h.max_timestamp;
        s.offset_of_max_ts = h.last_offset();
    }
    // Time index entries are only trusted up to the offsets still present.
    let max_rel = expected - 1 - base;
    // After a clean close the file was trimmed to its entries, so its length is the
    // truth and (timestamp 0, offset 0) is a real entry; otherwise it is preallocated
    // and an all-zero entry marks the end.
    let m = valid_time_entries(time, max_rel.max(-1), deep);
    s.time_entries = if max_rel < 0 { 0 } else { m };
    if s.time_entries > 0 {
        let (ts, rel) = decode_time_entry(&time[(s.time_entries - 1) * TIME_ENTRY..]);
        s.last_time_entry_ts = ts;
        if ts >= s.max_ts {
            s.max_ts = ts;
            s.offset_of_max_ts = base + rel as i64;
        }
    }
    while pos + HEADER_LEN <= bytes.len() {
        let Some(h) = batch_ok(bytes, pos, deep) else {
            break;
        };
        if h.base_offset != expected {
            break;
        }
        if s.bytes_since_index > interval {
            s.new_index
                .push(((h.last_offset() - base) as u32, pos as u32));
            let max_ts = s.max_ts.max(h.max_timestamp);
            if max_ts > s.last_time_entry_ts {
                let off = if h.max_timestamp >= s.max_ts {
                    h.last_offset()
                } else {
                    s.offset_of_max_ts
                };
                s.new_time.push((max_ts, (off - base) as u32));
                s.last_time_entry_ts = max_ts;
            }
            s.bytes_since_index = 0;
        }
        if h.max_timestamp > s.max_ts {
            s.max_ts = h.max_timestamp;
            s.offset_of_max_ts = h.last_offset();
        }
        s.bytes_since_index += h.total_len();
        expected = h.next_offset();
        pos += h.total_len();
    }
    s.end = pos;
    s.next_offset = expected;
    if let Some(h) = peek_header(bytes, 0).filter(|_| pos > 0) {
        s.roll_base_ts = h.max_timestamp;
    }
    s
}

/// Byte offset of the magic byte in a batch header.
const MAGIC_AT: usize = 16;

/// The first whole, valid batch (framing and CRC-32C) at or after byte `from` whose
/// base offset is at least `min_offset`: proof that data follows a damaged spot. Every
/// byte position is tried, since the damage may have destroyed the framing; only
/// positions holding the v2 magic byte are checked further. Used on the error path
/// only (a torn tail is zeros or garbage with no valid batch after it).
pub(crate) fn find_valid_batch(
    bytes: &[u8],
    from: usize,
    min_offset: i64,
) -> Option<(usize, crate::format::BatchHeader)> {
    let last = bytes.len().checked_sub(HEADER_LEN)?;
    (from..=last)
        .filter(|&pos| bytes[pos + MAGIC_AT] == 2)
        .find_map(|pos| {
            batch_ok(bytes, pos, true)
                .filter(|h| h.base_offset >= min_offset)
                .map(|h| (pos, h))
        })
}

/// The [`Error::Corrupt`] for damage at byte `at` of `path` that recovery may not cut
/// because data follows it (`what_follows`): offsets from `first_lost` on are at stake.
pub(crate) fn damage_before_valid_data(
    path: &Path,
    at: u64,
    first_lost: i64,
    what_follows: &str,
) -> Error {
    Error::corrupt(
        path,
        at,
        format!(
            "the log is damaged here, but {what_follows}: this is not a torn tail a crash \
             could leave, so nothing was cut (records from offset {first_lost} on are at \
             stake)"
        ),
    )
}

/// End of the non-zero bytes after `from`, stopping at the first all-zero 4 KiB page.
fn nonzero_extent(bytes: &[u8], from: usize) -> usize {
    const PAGE: usize = 4096;
    let mut end = from;
    let mut pos = from;
    while pos < bytes.len() {
        let stop = ((pos / PAGE) + 1) * PAGE;
        let chunk = &bytes[pos..stop.min(bytes.len())];
        match chunk.iter().rposition(|&b| b != 0) {
            Some(i) => end = pos + i + 1,
            None => break,
        }
        pos = stop;
    }
    end
}

/// What loading a sealed segment found.
pub(crate) struct Sealed {
    pub(crate) next_offset: i64,
    pub(crate) max_ts: i64,
    pub(crate) roll_base_ts: i64,
    /// Length of the batches; less than the file when a zero tail must be trimmed.
    pub(crate) trimmed_to: usize,
    pub(crate) index: Arc<MappedRegion>,
    pub(crate) time_index: Arc<MappedRegion>,
}

/// The largest timestamp of the segment's batches, by their headers (`-1` for none),
/// walking from the batch of the last time entry (every batch before it is no newer
/// than that entry) to the end, as far as the headers lead. Run on the active segment
/// at a clean open: its time index may have lost entries (cut short while closed) and
/// still look whole, and time retention trusts the largest timestamp. With rising
/// timestamps the walk covers the last few batches. Sealed segments trust their
/// checked last time entry instead, as Kafka does (a walk per segment would make
/// opening many segments slow).
fn max_timestamp_walk(bytes: &[u8], idx: &[u8], time: &[u8], base: i64) -> i64 {
    let n = time.len() / TIME_ENTRY;
    let (mut pos, mut max_ts) = match n.checked_sub(1) {
        None => (0, -1),
        Some(last) => {
            let (ts, rel) = decode_time_entry(&time[last * TIME_ENTRY..]);
            match batch_holding(bytes, idx, base, base + rel as i64) {
                Some((pos, _)) => (pos, ts),
                None => (0, -1),
            }
        }
    };
    while let Some(h) = peek_header(bytes, pos) {
        if h.total_len() > bytes.len() - pos {
            break;
        }
        max_ts = max_ts.max(h.max_timestamp);
        pos += h.total_len();
    }
    max_ts
}

/// Whether the last entry of `time` (a whole-entry prefix is used) agrees with the
/// log `bytes`: the batch holding its offset has exactly its timestamp as largest (each
/// entry records the largest timestamp so far and the offset of the record that has
/// it). True for an empty log without entries; false for a log without entries.
pub(crate) fn last_time_entry_agrees(bytes: &[u8], idx: &[u8], time: &[u8], base: i64) -> bool {
    let n = time.len() / TIME_ENTRY;
    if n == 0 {
        return bytes.iter().all(|&b| b == 0);
    }
    let (ts, rel) = decode_time_entry(&time[(n - 1) * TIME_ENTRY..]);
    batch_holding(bytes, idx, base, base + rel as i64).is_some_and(|(_, max)| max == ts)
}

/// The byte position and largest timestamp of the batch holding `offset`, found from
/// the offset index entry before it (or the segment start); `None` when no batch
/// holds it.
fn batch_holding(bytes: &[u8], idx: &[u8], base: i64, offset: i64) -> Option<(usize, i64)> {
    let entries = idx.len() / OFFSET_ENTRY;
    let entry = |i: usize| decode_offset_entry(&idx[i * OFFSET_ENTRY..]);
    let (mut lo, mut hi) = (0usize, entries);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if base + (entry(mid).0 as i64) < offset {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut pos = match lo.checked_sub(1).map(entry) {
        // Only an entry that matches its batch is a safe place to start.
        Some((rel, p))
            if peek_header(bytes, p as usize)
                .is_some_and(|h| h.last_offset() == base + rel as i64) =>
        {
            p as usize
        }
        _ => 0,
    };
    while let Some(h) = peek_header(bytes, pos) {
        if h.total_len() > bytes.len() - pos || h.base_offset > offset {
            return None;
        }
        if h.last_offset() >= offset {
            return Some((pos, h.max_timestamp));
        }
        pos += h.total_len();
    }
    None
}

/// Loads a sealed segment's metadata, rebuilding its indexes when they are damaged.
pub(crate) fn load_sealed(
    log_path: &Path,
    log: &MappedRegion,
    base: i64,
    cfg: &LogConfig,
    unsealed: bool,
    report: &mut RecoveryReport,
) -> Result<Sealed> {
    let bytes = log.bytes();
    let idx_path = log_path.with_extension("index");
    let time_path = log_path.with_extension("timeindex");
    let index = map_ro_opt(&idx_path)?;
    let time_index = map_ro_opt(&time_path)?;
    let idx_ok = index.as_ref().is_some_and(|i| {
        let b = i.bytes();
        b.len() % OFFSET_ENTRY == 0
            && valid_offset_entries(b, bytes.len()) == b.len() / OFFSET_ENTRY
            && (b.is_empty() || {
                let (rel, pos) = decode_offset_entry(&b[b.len() - OFFSET_ENTRY..]);
                peek_header(bytes, pos as usize)
                    .is_some_and(|h| h.last_offset() == base + rel as i64)
            })
    });
    let time_ok = time_index.as_ref().is_some_and(|t| {
        let b = t.bytes();
        b.len() % TIME_ENTRY == 0
            && valid_time_entries(b, i32::MAX as i64, false) == b.len() / TIME_ENTRY
            && last_time_entry_agrees(bytes, index.as_ref().map_or(&[], |i| i.bytes()), b, base)
    });
    let (index, time_index) = match (index, time_index) {
        // A segment past the recovery point is validated whole and its indexes rebuilt:
        // after a power loss any of their pages may be stale.
        (Some(i), Some(t)) if idx_ok && time_ok && !unsealed => (i, t),
        // Only the time index disagrees, and the batch headers cannot be walked to the
        // end (a header damaged while closed): keep the indexes; reads of the damage
        // are `Corrupt`, the rest of the segment stays readable.
        (Some(i), Some(t)) if idx_ok && !unsealed => {
            match rebuild_indexes(log_path, bytes, base, cfg, unsealed) {
                Ok(rebuilt) => {
                    report.rebuilt_indexes += 1;
                    rebuilt
                }
                Err(Error::Corrupt { .. }) => (i, t),
                Err(e) => return Err(e),
            }
        }
        _ => {
            report.rebuilt_indexes += 1;
            rebuild_indexes(log_path, bytes, base, cfg, unsealed)?
        }
    };
    // Walk the batch headers after the last index entry to the end of the file.
    let ib = index.bytes();
    // Whole entries only: an index kept as it was (see above) may end in a partial one.
    let idx_entries = ib.len() / OFFSET_ENTRY;
    let mut pos = if idx_entries == 0 || unsealed {
        0
    } else {
        decode_offset_entry(&ib[(idx_entries - 1) * OFFSET_ENTRY..]).1 as usize
    };
    let mut next = base;
    let mut max_ts = -1;
    let mut damaged = false;
    let tb = time_index.bytes();
    let time_entries = tb.len() / TIME_ENTRY;
    if time_entries > 0 {
        max_ts = decode_time_entry(&tb[(time_entries - 1) * TIME_ENTRY..]).0;
    }
    while pos < bytes.len() {
        let header = if unsealed {
            batch_ok(bytes, pos, true)
        } else {
            peek_header(bytes, pos).filter(|h| h.total_len() <= bytes.len() - pos)
        };
        match header {
            // Offsets relative to the segment's base fit in 32 bits (the index stores
            // them so, as Kafka's): a base offset beyond that is damaged.
            Some(h)
                if h.base_offset >= next
                    && h.last_offset() >= h.base_offset
                    && h.last_offset() - base <= i32::MAX as i64 =>
            {
                next = h.next_offset();
                max_ts = max_ts.max(h.max_timestamp);
                pos += h.total_len();
            }
            _ if bytes[pos..].iter().all(|&b| b == 0) => {
                report.trimmed_segments += 1;
                break;
            }
            _ if unsealed => {
                // A torn tail of the segment that was active when the process died.
                let end = nonzero_extent(bytes, pos);
                report.truncated_bytes += (end - pos) as u64;
                report.truncated_at = Some(pos as u64);
                report.trimmed_segments += 1;
                break;
            }
            _ => {
                // A header damaged while closed, in a segment synced whole: the open
                // goes on and reads that reach it are `Corrupt` (naming the file and
                // position), as for any damaged batch; nothing is trimmed.
                damaged = true;
                break;
            }
        }
    }
    let roll_base_ts = peek_header(bytes, 0).map_or(-1, |h| h.max_timestamp);
    Ok(Sealed {
        next_offset: next,
        max_ts,
        roll_base_ts,
        trimmed_to: if damaged {
            bytes.len()
        } else {
            pos.min(bytes.len())
        },
        index,
        time_index,
    })
}

/// The whole, valid batch (framing and CRC-32C) at byte `pos`, if there is one.
pub(crate) fn batch_ok_deep(bytes: &[u8], pos: usize) -> Option<crate::format::BatchHeader> {
    batch_ok(bytes, pos, true)
}

/// A read-only map of a whole file, `None` when it does not exist.
pub(crate) fn map_log(path: &Path) -> Result<Option<Arc<MappedRegion>>> {
    map_ro_opt(path)
}

fn map_ro_opt(path: &Path) -> Result<Option<Arc<MappedRegion>>> {
    match fs::open(path) {
        Ok(f) => {
            let len = fs::len(&f).map_err(|e| Error::io(path, e))? as usize;
            Ok(Some(
                MappedRegion::map_read_only(&f, len).map_err(|e| Error::io(path, e))?,
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// `.index` and `.timeindex` bytes for a segment of concatenated batches, from a full
/// validating scan that stops at a zero tail (Kafka's indexing rule; a final time entry
/// for the segment's largest timestamp, as written on roll).
pub(crate) fn build_indexes(
    log_path: &Path,
    bytes: &[u8],
    base: i64,
    interval: usize,
    stop_at_torn_tail: bool,
    validate: bool,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (mut idx, mut time) = (Vec::new(), Vec::new());
    let (mut pos, mut since, mut max_ts, mut max_off, mut last_time) =
        (0usize, 0usize, -1i64, base, -1i64);
    while pos < bytes.len() {
        if bytes[pos..].iter().all(|&b| b == 0) {
            break;
        }
        let parsed = if validate {
            Batch::parse(&bytes[pos..])
                .and_then(|b| b.check_stored().map(|_| *b.header()))
                .map_err(|e| e.to_string())
        } else {
            // A segment fsynced whole: headers only, so a batch damaged since (bit rot)
            // is `Corrupt` when read instead of failing the whole open.
            peek_header(bytes, pos)
                .filter(|h| h.total_len() <= bytes.len() - pos)
                .ok_or_else(|| "bad batch header".to_string())
        };
        let h = match parsed {
            Ok(h) => h,
            Err(_) if stop_at_torn_tail => break,
            Err(e) => return Err(Error::corrupt(log_path, pos as u64, e)),
        };
        if since > interval {
            idx.extend_from_slice(&((h.last_offset() - base) as u32).to_be_bytes());
            idx.extend_from_slice(&(pos as u32).to_be_bytes());
            let m = max_ts.max(h.max_timestamp);
            if m > last_time {
                let off = if h.max_timestamp >= max_ts {
                    h.last_offset()
                } else {
                    max_off
                };
                time.extend_from_slice(&m.to_be_bytes());
                time.extend_from_slice(&((off - base) as u32).to_be_bytes());
                last_time = m;
            }
            since = 0;
        }
        if h.max_timestamp > max_ts {
            max_ts = h.max_timestamp;
            max_off = h.last_offset();
        }
        since += h.total_len();
        pos += h.total_len();
    }
    if max_ts > last_time {
        time.extend_from_slice(&max_ts.to_be_bytes());
        time.extend_from_slice(&((max_off - base) as u32).to_be_bytes());
    }
    Ok((idx, time))
}

/// Rebuilds `.index` and `.timeindex` of a sealed segment from a walk over its batches
/// (validating each after a crash, headers only for a segment synced whole), writing
/// each through a temporary file and a rename so a crash leaves old or new.
fn rebuild_indexes(
    log_path: &Path,
    bytes: &[u8],
    base: i64,
    cfg: &LogConfig,
    stop_at_torn_tail: bool,
) -> Result<(Arc<MappedRegion>, Arc<MappedRegion>)> {
    let (idx, time) = build_indexes(
        log_path,
        bytes,
        base,
        cfg.index_interval_bytes as usize,
        stop_at_torn_tail,
        stop_at_torn_tail,
    )?;
    let write = |ext: &str, data: &[u8]| -> Result<Arc<MappedRegion>> {
        let path: PathBuf = log_path.with_extension(ext);
        let tmp = log_path.with_extension(format!("{ext}.tmp"));
        fs::write(&tmp, data).map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        let f = fs::open(&path).map_err(|e| Error::io(&path, e))?;
        MappedRegion::map_read_only(&f, data.len()).map_err(|e| Error::io(&path, e))
    };
    Ok((write("index", &idx)?, write("timeindex", &time)?))
}

/// Before an unclean open changes anything: walks the sealed segments from index
/// `first` of `bases` (those at or past the recovery point) batch by batch (framing,
/// CRC-32C, rising offsets). Where one stops short (garbage after its last valid batch,
/// or an end before the next segment's base), recovery will cut there and drop every
/// later segment, which is right only for a torn tail. So if a valid batch follows the
/// spot, in the same segment or in any later one (the active segment included), this
/// returns [`Error::Corrupt`] naming the file, the byte and the first offset at stake.
///
/// # Errors
/// [`Error::Corrupt`] as above; [`Error::Io`] when a segment cannot be read.
pub(crate) fn check_damage_is_tail(dir: &Path, bases: &[i64], first: usize) -> Result<()> {
    let Some(active) = bases.len().checked_sub(1) else {
        return Ok(());
    };
    let mut expected = i64::MIN;
    for i in first..active {
        let path = dir.join(super::segment::file_name(bases[i], "log"));
        let region = map_ro_opt(&path)?;
        let bytes = region.as_ref().map_or(&[][..], |r| r.bytes());
        expected = expected.max(bases[i]);
        let mut pos = 0;
        while let Some(h) = batch_ok(bytes, pos, true).filter(|h| {
            h.base_offset >= expected
                && h.last_offset() >= h.base_offset
                && h.last_offset() - bases[i] <= i32::MAX as i64
        }) {
            expected = h.next_offset();
            pos += h.total_len();
        }
        let garbage = bytes[pos..].iter().any(|&b| b != 0);
        if !garbage && expected >= bases[i + 1] {
            continue;
        }
        let describe = |file: &Path, at: usize, h: &crate::format::BatchHeader| {
            format!(
                "a valid batch (offsets {}..={}) follows at byte {at} of `{}`",
                h.base_offset,
                h.last_offset(),
                file.display()
            )
        };
        let mut follows =
            find_valid_batch(bytes, pos + 1, expected).map(|(at, h)| describe(&path, at, &h));
        for &later in &bases[i + 1..] {
            if follows.is_some() {
                break;
            }
            let lpath = dir.join(super::segment::file_name(later, "log"));
            if let Some(r) = map_ro_opt(&lpath)? {
                follows = find_valid_batch(r.bytes(), 0, expected)
                    .map(|(at, h)| describe(&lpath, at, &h));
            }
        }
        return match follows {
            Some(what) => Err(damage_before_valid_data(&path, pos as u64, expected, &what)),
            // A torn tail: the caller cuts it and drops the later (empty or garbage)
            // segments.
            None => Ok(()),
        };
    }
    Ok(())
}

/// Whether segment `base` is the leftover of a roll that failed half-way (its files
/// created, then an error, then their removal failed too) while the previous segment
/// went on taking appends: it starts below the previous segment's end and holds no
/// batch. Any other overlap is corruption, reported by `open`.
pub(crate) fn is_failed_roll(dir: &Path, before: &[Arc<Segment>], base: i64) -> Result<bool> {
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
    let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
    Ok(bytes.iter().all(|&b| b == 0))
}

/// Whether segment `seg` looks like a genuine next segment: empty, or its first batch
/// starts at its base offset (a misplaced copy of another segment does not).
pub(crate) fn starts_at_its_base(seg: &Segment) -> bool {
    segment::peek_header(seg.log.bytes(), 0).is_none_or(|h| h.base_offset == seg.base_offset)
}
