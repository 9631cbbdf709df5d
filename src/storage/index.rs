//! Kafka's sparse `.index` (offset -> position) and `.timeindex` (timestamp -> offset).
//!
//! Both are arrays of fixed-size big-endian entries, preallocated and mapped; the used
//! prefix is the region's committed length. Offsets are stored relative to the segment's
//! base offset so they fit in 4 bytes (as in Kafka).

use std::sync::Arc;

use super::mmap::{MappedRegion, RegionWriter};

/// `.index` entry: relative offset (i32), byte position in the `.log` (i32).
pub(crate) const OFFSET_ENTRY: usize = 8;
/// `.timeindex` entry: timestamp (i64), relative offset (i32).
pub(crate) const TIME_ENTRY: usize = 12;

/// Read side of a `.index` file.
#[derive(Debug, Clone)]
pub(crate) struct OffsetIndex {
    pub(crate) region: Arc<MappedRegion>,
}

impl OffsetIndex {
    /// The last entry whose relative offset is `<= rel` and whose position is below
    /// `limit` (entries may be published just before their batch is).
    pub(crate) fn lookup(&self, rel: i64, limit: usize) -> Option<(u32, u32)> {
        let bytes = self.region.bytes();
        let n = bytes.len() / OFFSET_ENTRY;
        let at = |i: usize| decode_offset_entry(&bytes[i * OFFSET_ENTRY..]);
        // Binary search for the first entry with offset > rel.
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if (at(mid).0 as i64) <= rel {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (0..lo)
            .rev()
            .map(at)
            .find(|&(_, pos)| (pos as usize) < limit)
    }
}

/// Read side of a `.timeindex` file.
#[derive(Debug, Clone)]
pub(crate) struct TimeIndex {
    pub(crate) region: Arc<MappedRegion>,
}

impl TimeIndex {
    pub(crate) fn entries(&self) -> usize {
        self.region.committed() / TIME_ENTRY
    }

    /// Entry `i` as (timestamp, relative offset).
    pub(crate) fn entry(&self, i: usize) -> (i64, u32) {
        decode_time_entry(&self.region.bytes()[i * TIME_ENTRY..])
    }

    /// The last entry whose timestamp is strictly below `ts`: every record at or before
    /// its offset has a timestamp below `ts`, so a search for `ts` may start after it.
    pub(crate) fn last_before(&self, ts: i64) -> Option<(i64, u32)> {
        let n = self.entries();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 < ts {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1).map(|i| self.entry(i))
    }
}

pub(crate) fn decode_offset_entry(b: &[u8]) -> (u32, u32) {
    let rel = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let pos = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    (rel, pos)
}

pub(crate) fn decode_time_entry(b: &[u8]) -> (i64, u32) {
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&b[..8]);
    (
        i64::from_be_bytes(ts),
        u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
    )
}

/// Appends one `.index` entry; false when the index is full.
pub(crate) fn push_offset_entry(w: &mut RegionWriter, rel: u32, pos: u32) -> bool {
    let Some(tail) = w.tail_mut(OFFSET_ENTRY) else {
        return false;
    };
    tail[..4].copy_from_slice(&rel.to_be_bytes());
    tail[4..].copy_from_slice(&pos.to_be_bytes());
    w.publish(OFFSET_ENTRY);
    true
}

/// Appends one `.timeindex` entry; false when the index is full.
pub(crate) fn push_time_entry(w: &mut RegionWriter, ts: i64, rel: u32) -> bool {
    let Some(tail) = w.tail_mut(TIME_ENTRY) else {
        return false;
    };
    tail[..8].copy_from_slice(&ts.to_be_bytes());
    tail[8..].copy_from_slice(&rel.to_be_bytes());
    w.publish(TIME_ENTRY);
    true
}

/// Number of leading `.index` entries that are plausible: relative offsets and
/// positions strictly increasing and positions inside `log_len`. A preallocated file's
/// zero tail fails the test (position 0 never follows another entry, and the first
/// entry's position is never 0 because the first batch of a segment is not indexed).
pub(crate) fn valid_offset_entries(bytes: &[u8], log_len: usize) -> usize {
    let mut prev: Option<(u32, u32)> = None;
    let mut n = 0;
    for chunk in bytes.chunks_exact(OFFSET_ENTRY) {
        let (rel, pos) = decode_offset_entry(chunk);
        let ok = pos > 0
            && (pos as usize) < log_len
            && rel <= i32::MAX as u32
            && prev.is_none_or(|(pr, pp)| rel > pr && pos > pp);
        if !ok {
            break;
        }
        prev = Some((rel, pos));
        n += 1;
    }
    n
}

/// Number of leading `.timeindex` entries that are plausible: timestamps strictly
/// increasing, relative offsets non-decreasing and below `max_rel`. In a preallocated
/// file (`preallocated`), an all-zero entry marks the end; in a trimmed file the length
/// is authoritative and (timestamp 0, offset 0) is a real entry.
pub(crate) fn valid_time_entries(bytes: &[u8], max_rel: i64, preallocated: bool) -> usize {
    let mut prev: Option<(i64, u32)> = None;
    let mut n = 0;
    for chunk in bytes.chunks_exact(TIME_ENTRY) {
        let (ts, rel) = decode_time_entry(chunk);
        let ok = !(preallocated && chunk.iter().all(|&b| b == 0))
            && (rel as i64) <= max_rel
            && prev.is_none_or(|(pt, pr)| ts > pt && rel >= pr);
        if !ok {
            break;
        }
        prev = Some((ts, rel));
        n += 1;
    }
    n
}
