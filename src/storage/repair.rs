//! Explicit repair of a damaged partition: keep the longest valid prefix of the log,
//! move everything after it into a quarantine folder. Nothing is ever deleted.
//!
//! Opening a log cuts only a torn tail (garbage with no valid batch after it). Damage
//! followed by valid data, or offsets missing between two segments, is
//! [`Error::Corrupt`], and only this explicit call changes such a log.

use std::path::{Path, PathBuf};

use super::io;
use super::recovery::{batch_ok_deep, map_log};
use super::segment::file_name;
use crate::error::{Error, Result};

/// What `Broker::repair` did to one partition: its log was cut back to its valid prefix
/// and the rest moved into the quarantine folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRepair {
    /// The partition directory.
    pub dir: PathBuf,
    /// The first offset no longer in the log: everything from it on was moved aside.
    pub cut_at_offset: i64,
    /// The damaged file and the byte where its valid data ends.
    pub damaged_file: PathBuf,
    /// Byte position in `damaged_file` where the valid data ends.
    pub damaged_at: u64,
    /// Where the moved files are.
    pub quarantine: PathBuf,
    /// The files moved (or, for the damaged segment, copied whole before it was cut).
    pub moved: Vec<PathBuf>,
}

fn err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Validates every batch of every segment in `dir` (framing, CRC-32C, rising offsets,
/// contiguous segments) and, at the first place where valid data stops before the
/// end, keeps the prefix: the damaged segment is copied whole into `quarantine`
/// (a folder named after the partition is made in it) and then cut at the damage;
/// every later segment is moved there; the damaged segment's indexes are moved too
/// (opening rebuilds them). Returns `None` when the log is whole. The log must be
/// closed (the broker holds the directory lock while this runs).
///
/// # Errors
/// [`Error::Io`] when a file cannot be read, copied, moved or cut.
pub(crate) fn repair_partition(dir: &Path, quarantine: &Path) -> Result<Option<PartitionRepair>> {
    super::compaction::recover(dir)?;
    let bases = super::segment::list_segments(dir)?;
    let log_start = super::checkpoint::read_log_start(dir)?.unwrap_or(i64::MIN);
    let mut expected = i64::MIN;
    let mut cut = None;
    for (i, &base) in bases.iter().enumerate() {
        let path = dir.join(file_name(base, "log"));
        let region = map_log(&path)?;
        let bytes = region.as_ref().map_or(&[][..], |r| r.bytes());
        if expected != i64::MIN && base > expected && log_start < base {
            // Offsets missing between the previous segment and this one.
            let prev = dir.join(file_name(bases[i - 1], "log"));
            let len = io::len(&io::open(&prev).map_err(err(&prev))?).map_err(err(&prev))?;
            cut = Some((i - 1, len, expected));
            break;
        }
        expected = expected.max(base);
        let mut pos = 0;
        while let Some(h) = batch_ok_deep(bytes, pos).filter(|h| {
            h.base_offset >= expected
                && h.last_offset() >= h.base_offset
                && h.last_offset() - base <= i32::MAX as i64
        }) {
            expected = h.next_offset();
            pos += h.total_len();
        }
        if bytes[pos..].iter().any(|&b| b != 0) {
            cut = Some((i, pos as u64, expected));
            break;
        }
    }
    let Some((i, pos, first_lost)) = cut else {
        return Ok(None);
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let q = quarantine.join(&name);
    io::create_dir_all(&q).map_err(err(&q))?;
    let mut moved = Vec::new();
    let damaged = dir.join(file_name(bases[i], "log"));
    // The damaged segment: a whole copy first, then the cut.
    let copy = q.join(file_name(bases[i], "log"));
    let data = io::read(&damaged).map_err(err(&damaged))?;
    if (pos as usize) < data.len() {
        io::write_synced(&copy, &data).map_err(err(&copy))?;
        moved.push(copy);
        let f = io::open_with(std::fs::OpenOptions::new().write(true), false, &damaged)
            .map_err(err(&damaged))?;
        io::set_len(&f, pos).map_err(err(&damaged))?;
        io::sync_all(&f).map_err(err(&damaged))?;
    }
    let mut files = Vec::new();
    for ext in ["index", "timeindex"] {
        files.push(dir.join(file_name(bases[i], ext)));
    }
    for &later in &bases[i + 1..] {
        for ext in ["log", "index", "timeindex"] {
            files.push(dir.join(file_name(later, ext)));
        }
    }
    for from in files {
        if !io::exists(&from).map_err(err(&from))? {
            continue;
        }
        let to = q.join(from.file_name().unwrap_or_default());
        io::rename(&from, &to).map_err(err(&from))?;
        moved.push(to);
    }
    // The next open validates the kept tail segment (no clean marker) and rebuilds
    // its indexes.
    let marker = dir.join(".clean-shutdown");
    if io::exists(&marker).map_err(err(&marker))? {
        io::remove_file(&marker).map_err(err(&marker))?;
    }
    io::sync_path(&q).map_err(err(&q))?;
    io::sync_path(dir).map_err(err(dir))?;
    Ok(Some(PartitionRepair {
        dir: dir.to_path_buf(),
        cut_at_offset: first_lost,
        damaged_file: damaged,
        damaged_at: pos,
        quarantine: q,
        moved,
    }))
}
