//! Log compaction (`cleanup.policy=compact`): keep the latest record of each key.
//!
//! Like Kafka's log cleaner, a pass
//!
//! 1. picks the cleanable segments: sealed segments, oldest first, up to the first one
//!    with a record younger than `min_compaction_lag`; it runs only when the share of
//!    bytes not cleaned before (after the cleaner checkpoint) reaches
//!    `min_cleanable_dirty_ratio`;
//! 2. maps every key to the offset of its latest record, over the whole log (a newer
//!    record in the active segment supersedes older ones);
//! 3. rewrites the cleanable segments in groups of at most `segment_bytes`, keeping a
//!    record when it is the latest of its key (or has no key), and dropping tombstones
//!    older than `delete_retention` (by record timestamp). Offsets are unchanged: batches
//!    keep their base and last offsets, with gaps where records went;
//! 4. swaps the new files in crash-safely: every new file is written as
//!    `<base>.<ext>.cleaned` and fsynced; then a manifest `compaction.swap` naming the
//!    groups is written atomically (temp file, fsync, rename, directory fsync). That
//!    rename is the commit point: at open, a manifest is rolled forward (cleaned files
//!    renamed over the old ones, the other members of each group deleted), and without
//!    one any `.cleaned` file is deleted. A crash therefore leaves all old or all new
//!    segments, never a mix that could resurrect a value a dropped tombstone deleted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::checkpoint::{read_cleaner_checkpoint, write_atomic, write_cleaner_checkpoint};
use super::config::LogConfig;
use super::io as fs;
use super::partition::PartitionLog;
use super::recovery::{RecoveryReport, build_indexes};
use super::segment::{self, Segment, file_name};
use crate::error::{Error, Result};
use crate::format::batch::{HEADER_LEN, LOG_OVERHEAD, MAGIC, seal_crc, write_header};
use crate::format::compressed_batch::compress_batch;
use crate::format::{
    Batch, BatchHeader, Compression, RecordIn, encode_batch_with_offsets,
    encoded_batch_len_with_offsets,
};

/// Test hook (feature `fault-injection`): when set to N (1-5), the process aborts at
/// step N of the swap, so crash tests can hit every instant of it. Not part of the
/// stable API.
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub static CRASH_AT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[cfg(feature = "fault-injection")]
fn crash_point(n: u32) {
    if CRASH_AT.load(std::sync::atomic::Ordering::Relaxed) == n {
        std::process::abort();
    }
}

/// Without the `fault-injection` feature the swap has no crash points.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
fn crash_point(_: u32) {}

const MANIFEST: &str = "compaction.swap";
const EXTS: [&str; 3] = ["log", "index", "timeindex"];

/// Settings of a compaction pass (a topic's compaction configs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionConfig {
    /// How long tombstones survive compaction, in ms (Kafka's `delete.retention.ms`).
    pub delete_retention_ms: i64,
    /// Records younger than this (ms) are never compacted (`min.compaction.lag.ms`).
    pub min_compaction_lag_ms: i64,
    /// Compact only when at least this share of the cleanable bytes was not cleaned
    /// before (`min.cleanable.dirty.ratio`).
    pub min_cleanable_dirty_ratio: f64,
}

/// What a compaction pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Segments rewritten.
    pub segments_cleaned: usize,
    /// Segments left after grouping.
    pub segments_written: usize,
    /// Bytes of the cleaned segments before.
    pub bytes_before: u64,
    /// Bytes after.
    pub bytes_after: u64,
    /// Records dropped (superseded values and expired tombstones).
    pub records_removed: u64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::sync_path(dir).map_err(io(dir))
}

fn cleaned_path(dir: &Path, base: i64, ext: &str) -> PathBuf {
    dir.join(format!("{}.cleaned", file_name(base, ext)))
}

/// Finishes or undoes an interrupted swap; called at open before segments are listed.
pub(crate) fn recover(dir: &Path) -> Result<()> {
    let manifest = dir.join(MANIFEST);
    match fs::read_to_string(&manifest) {
        Ok(text) => {
            let groups = parse_manifest(&manifest, &text)?;
            apply(dir, &groups)?;
            fs::remove_file(&manifest).map_err(io(&manifest))?;
            sync_dir(dir)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&manifest, e)),
    }
    // Cleaned files without a committed manifest belong to a pass that never committed.
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_name().to_string_lossy().ends_with(".cleaned") {
            let _ = fs::remove_file(&entry.path());
        }
    }
    Ok(())
}

fn parse_manifest(path: &Path, text: &str) -> Result<Vec<Vec<i64>>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .map(|n| n.parse::<i64>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| Error::corrupt(path, 0, format!("bad manifest line `{l}`")))
        })
        .collect()
}

/// Rolls a committed swap forward: each group's cleaned files replace its first
/// segment's files, and the group's other segments are deleted. Idempotent.
fn apply(dir: &Path, groups: &[Vec<i64>]) -> Result<()> {
    for g in groups {
        let Some((&base, rest)) = g.split_first() else {
            continue;
        };
        for ext in EXTS {
            let from = cleaned_path(dir, base, ext);
            // A failed look must not read as "absent": the group's other segments
            // are deleted next, and their records are only in the cleaned file.
            if fs::exists(&from).map_err(io(&from))? {
                let to = dir.join(file_name(base, ext));
                fs::rename(&from, &to).map_err(io(&to))?;
                crash_point(3);
            }
        }
        for &b in rest {
            for ext in EXTS {
                // Left behind, a member would overlap the cleaned segment: fail, so the
                // manifest stays and the next open finishes the swap.
                let p = dir.join(file_name(b, ext));
                match fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
            }
        }
    }
    sync_dir(dir)
}

/// Kept records of one segment, re-encoded; returns (bytes, records removed).
/// A compressed batch is rewritten with its own codec (at the codec's default level),
/// as Kafka's cleaner does; one that keeps every record is copied as it is.
fn clean_segment(
    seg: &Segment,
    latest: &HashMap<Vec<u8>, i64>,
    tombstone_horizon: i64,
    max_decompressed: usize,
) -> Result<(Vec<u8>, u64)> {
    let bytes = seg.log.bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut removed = 0u64;
    let mut pos = 0;
    let (mut scratch, mut plain) = (Vec::new(), Vec::new());
    while pos < bytes.len() {
        let batch_at = pos;
        let batch = Batch::parse(&bytes[pos..])
            .map_err(|e| Error::corrupt(&seg.log_path, pos as u64, e.to_string()))?;
        let h = *batch.header();
        pos += h.total_len();
        if h.is_control() {
            continue;
        }
        let corrupt = |e: Error| Error::corrupt(&seg.log_path, batch_at as u64, e.to_string());
        let codec = batch.codec().map_err(corrupt)?;
        let mut keep = Vec::new();
        let mut deltas = Vec::new();
        let records = batch
            .records_with(&mut scratch, max_decompressed)
            .map_err(corrupt)?;
        for r in records {
            let r = r.map_err(|e| Error::corrupt(&seg.log_path, pos as u64, e.to_string()))?;
            let latest_of_key = r.key().is_none_or(|k| latest.get(k) == Some(&r.offset()));
            let expired_tombstone = r.value().is_none() && r.timestamp() < tombstone_horizon;
            if latest_of_key && !expired_tombstone {
                deltas.push((r.offset() - h.base_offset) as i32);
                keep.push(r);
            } else {
                removed += 1;
            }
        }
        if keep.is_empty() {
            if pos >= bytes.len() {
                // The segment's last batch stays, empty, so the segment still ends where
                // it ended: after a crash, a segment ending before the next one starts
                // then always means lost data, never compaction (Kafka's cleaner also
                // retains empty batches).
                out.extend_from_slice(&empty_batch(&h)?);
            }
            continue;
        }
        if codec != Compression::None && keep.len() == h.records_count as usize {
            out.extend_from_slice(batch.as_bytes());
            continue;
        }
        let headers: Vec<Vec<crate::format::Header>> = keep
            .iter()
            .map(|r| {
                r.headers()
                    .map(|hd| crate::format::Header {
                        key: String::from_utf8_lossy(hd.key).into_owned(),
                        value: hd.value.map(<[u8]>::to_vec),
                    })
                    .collect()
            })
            .collect();
        let ins: Vec<RecordIn<'_>> = keep
            .iter()
            .zip(&headers)
            .map(|(r, hs)| RecordIn {
                key: r.key(),
                value: r.value(),
                timestamp: r.timestamp(),
                headers: hs,
            })
            .collect();
        // Compressed: encoded uncompressed in `plain` first, then compressed into `out`.
        let dst = if codec == Compression::None {
            &mut out
        } else {
            plain.clear();
            &mut plain
        };
        let start = dst.len();
        dst.resize(start + encoded_batch_len_with_offsets(&ins, &deltas), 0);
        let max_ts = (h.timestamp_type() == crate::format::TimestampType::LogAppendTime)
            .then_some(h.max_timestamp);
        encode_batch_with_offsets(
            &mut dst[start..],
            h.base_offset,
            h.timestamp_type(),
            &ins,
            &deltas,
            h.last_offset_delta,
            max_ts,
        )?;
        if codec != Compression::None {
            compress_batch(&plain, codec, None, &mut out)?;
        }
    }
    Ok((out, removed))
}

/// A header-only batch with `h`'s offsets, timestamps and attributes and no records.
fn empty_batch(h: &BatchHeader) -> Result<[u8; HEADER_LEN]> {
    let header = BatchHeader {
        batch_length: (HEADER_LEN - LOG_OVERHEAD) as i32,
        magic: MAGIC,
        crc: 0,
        records_count: 0,
        // The codec bits stay: readers see no records section and decompress nothing.
        ..*h
    };
    let mut b = [0u8; HEADER_LEN];
    write_header(&mut b, &header);
    seal_crc(&mut b)?;
    Ok(b)
}

impl PartitionLog {
    /// One compaction pass (see [`CompactionConfig`]).
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Corrupt`] when a sealed segment is damaged (nothing is
    /// swapped in then).
    pub fn compact(&self, config: &CompactionConfig, now_ms: i64) -> Result<CompactionReport> {
        compact(self, config, now_ms)
    }
}

/// One compaction pass over `log`; see the module docs.
pub(crate) fn compact(
    log: &PartitionLog,
    cfg: &CompactionConfig,
    now_ms: i64,
) -> Result<CompactionReport> {
    let _m = log.maintenance_lock();
    let dir = log.dir().to_path_buf();
    let segs = log.segments();
    let mut report = CompactionReport::default();
    if segs.len() < 2 {
        return Ok(report);
    }
    let sealed = &segs[..segs.len() - 1];
    let horizon = now_ms.saturating_sub(cfg.min_compaction_lag_ms);
    let k = sealed
        .iter()
        .take_while(|s| s.max_timestamp() <= horizon)
        .count();
    let cleanable = &sealed[..k];
    if cleanable.is_empty() {
        return Ok(report);
    }
    let first_dirty = read_cleaner_checkpoint(&dir).unwrap_or(i64::MIN);
    let total: u64 = cleanable.iter().map(|s| s.size() as u64).sum();
    let dirty: u64 = cleanable
        .iter()
        .filter(|s| s.next_offset() > first_dirty)
        .map(|s| s.size() as u64)
        .sum();
    if total == 0 || (dirty as f64) < cfg.min_cleanable_dirty_ratio * total as f64 {
        return Ok(report);
    }
    // The latest offset of every key, over the whole log.
    let max_decompressed = log.config().max_decompressed_bytes();
    let mut latest: HashMap<Vec<u8>, i64> = HashMap::new();
    let mut scratch = Vec::new();
    for s in segs.iter() {
        let bytes = s.log.bytes();
        let mut pos = 0;
        while pos < bytes.len() {
            let batch = Batch::parse(&bytes[pos..])
                .map_err(|e| Error::corrupt(&s.log_path, pos as u64, e.to_string()))?;
            let records = batch
                .records_with(&mut scratch, max_decompressed)
                .map_err(|e| Error::corrupt(&s.log_path, pos as u64, e.to_string()))?;
            pos += batch.as_bytes().len();
            for r in records {
                let r = r.map_err(|e| Error::corrupt(&s.log_path, pos as u64, e.to_string()))?;
                if let Some(key) = r.key() {
                    match latest.get_mut(key) {
                        Some(o) => *o = r.offset(),
                        None => {
                            latest.insert(key.to_vec(), r.offset());
                        }
                    }
                }
            }
        }
    }
    let tombstone_horizon = now_ms.saturating_sub(cfg.delete_retention_ms);
    let config: &LogConfig = log.config();
    let limit = config.segment_bytes as usize;
    // Clean each segment, grouping consecutive results up to segment_bytes.
    let mut groups: Vec<(Vec<i64>, Vec<u8>)> = Vec::new();
    for s in cleanable {
        let (bytes, removed) = clean_segment(s, &latest, tombstone_horizon, max_decompressed)?;
        report.records_removed += removed;
        report.bytes_before += s.size() as u64;
        report.bytes_after += bytes.len() as u64;
        let fits = groups.last().is_some_and(|(members, buf)| {
            buf.len() + bytes.len() <= limit && s.next_offset() - members[0] < i32::MAX as i64
        });
        if fits {
            let (members, buf) = groups.last_mut().ok_or(Error::Closed)?;
            members.push(s.base_offset);
            buf.extend_from_slice(&bytes);
        } else {
            groups.push((vec![s.base_offset], bytes));
        }
    }
    report.segments_cleaned = cleanable.len();
    report.segments_written = groups.len();
    // Write every group's files as .cleaned, durably.
    for (members, buf) in &groups {
        let base = members[0];
        let log_path = dir.join(file_name(base, "log"));
        let (idx, time) = build_indexes(
            &log_path,
            buf,
            base,
            config.index_interval_bytes as usize,
            false,
            true,
        )?;
        for (ext, data) in [
            ("log", &buf[..]),
            ("index", &idx[..]),
            ("timeindex", &time[..]),
        ] {
            let p = cleaned_path(&dir, base, ext);
            fs::write_synced(&p, data).map_err(io(&p))?;
        }
    }
    crash_point(1);
    // Commit point.
    let manifest: String = groups
        .iter()
        .map(|(m, _)| m.iter().map(i64::to_string).collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    write_atomic(&dir, MANIFEST, manifest.as_bytes())?;
    crash_point(2);
    let group_members: Vec<Vec<i64>> = groups.into_iter().map(|(m, _)| m).collect();
    apply(&dir, &group_members)?;
    crash_point(4);
    let manifest_path = dir.join(MANIFEST);
    fs::remove_file(&manifest_path).map_err(io(&manifest_path))?;
    sync_dir(&dir)?;
    crash_point(5);
    // Swap the in-memory segments; readers keep the old mappings they hold.
    let mut fresh = Vec::new();
    let mut ignored = RecoveryReport::default();
    for m in &group_members {
        fresh.push(segment::open_sealed(
            &dir,
            m[0],
            config,
            false,
            &mut ignored,
        )?);
    }
    let removed: Vec<i64> = group_members.iter().flatten().copied().collect();
    log.swap_segments(&removed, fresh);
    let checkpoint = cleanable.last().map_or(0, |s| s.next_offset());
    write_cleaner_checkpoint(&dir, checkpoint)?;
    // Every segment below the cleaned range's end is durable now (rewritten and
    // fsynced, or already below the recovery point), so the point may move past them:
    // compaction gaps are never mistaken for lost data at recovery.
    log.advance_recovery_point(checkpoint)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The encoder `empty_batch` had before the shared header writer, kept verbatim
    /// (literal offsets) as the reference its output must match byte for byte.
    fn empty_batch_before(h: &BatchHeader) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&h.base_offset.to_be_bytes());
        b[8..12].copy_from_slice(&((HEADER_LEN - LOG_OVERHEAD) as i32).to_be_bytes());
        b[12..16].copy_from_slice(&h.partition_leader_epoch.to_be_bytes());
        b[16] = MAGIC as u8;
        b[21..23].copy_from_slice(&h.attributes.to_be_bytes());
        b[23..27].copy_from_slice(&h.last_offset_delta.to_be_bytes());
        b[27..35].copy_from_slice(&h.base_timestamp.to_be_bytes());
        b[35..43].copy_from_slice(&h.max_timestamp.to_be_bytes());
        b[43..51].copy_from_slice(&h.producer_id.to_be_bytes());
        b[51..53].copy_from_slice(&h.producer_epoch.to_be_bytes());
        b[53..57].copy_from_slice(&h.base_sequence.to_be_bytes());
        b[57..61].copy_from_slice(&0i32.to_be_bytes());
        let crc = crate::format::crc::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    proptest! {
        /// The empty batch compaction keeps at a segment's end is byte-identical to
        /// the one it wrote before, for any source header (its length, magic, CRC and
        /// record count are the empty batch's own), and is a valid batch with the
        /// source's offsets and timestamps and no records.
        #[test]
        fn empty_batch_is_byte_identical_to_before(
            base_offset in 0i64..i64::MAX / 2,
            batch_length in any::<i32>(),
            partition_leader_epoch in any::<i32>(),
            magic in any::<i8>(),
            crc in any::<u32>(),
            attributes in any::<i16>(),
            last_offset_delta in 0i32..=i32::MAX,
            base_timestamp in any::<i64>(),
            max_timestamp in any::<i64>(),
            producer_id in any::<i64>(),
            producer_epoch in any::<i16>(),
            base_sequence in any::<i32>(),
            records_count in any::<i32>(),
        ) {
            let h = BatchHeader {
                base_offset, batch_length, partition_leader_epoch, magic, crc, attributes,
                last_offset_delta, base_timestamp, max_timestamp, producer_id,
                producer_epoch, base_sequence, records_count,
            };
            let new = empty_batch(&h).unwrap();
            prop_assert_eq!(&new[..], &empty_batch_before(&h)[..]);
            let b = Batch::parse(&new).unwrap();
            b.validate().unwrap();
            let got = *b.header();
            prop_assert_eq!(got.base_offset, base_offset);
            prop_assert_eq!(got.last_offset(), h.last_offset());
            prop_assert_eq!(got.max_timestamp, max_timestamp);
            prop_assert_eq!(got.attributes, attributes);
            prop_assert_eq!(got.records_count, 0);
            prop_assert_eq!(b.records().count(), 0);
        }
    }
}
