//! Every file-system call brooklet makes for its data directory, in one place, with
//! fault injection.
//!
//! Storage and the broker do not call `std::fs` directly: they call these thin
//! wrappers (and [`mmap`](super::mmap)'s, which check here too). Each wrapper first
//! asks [`check`] whether the operation should fail. Without the `fault-injection`
//! cargo feature that is a constant `Ok`; with it, unarmed, one relaxed atomic load.
//! Armed by a test through `FaultInjection` (in `fault.rs`), the process counts the
//! operations from 1 and fails the Nth one (once, or it and every later one) with a
//! chosen `errno`: SQLite's method of testing I/O errors, run by `tests/io_errors.rs`
//! for N = 1, 2, ... until a whole scenario runs without reaching N. Every wrapper is
//! `#[track_caller]`, so each failure is attributed to the call site in storage or the
//! broker, and a run can say how many distinct sites it failed.
//!
//! The disk-full variant (`FaultInjection::disk_full`) fails only operations that
//! can need new blocks (allocation, writes, growing a file, creating one), with
//! `ENOSPC`, like a file system that filled up.

use std::fs::{File, OpenOptions, ReadDir};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::panic::Location;
use std::path::Path;

#[cfg(feature = "fault-injection")]
use super::fault::{armed, check_armed};

/// Whether an operation can need new disk blocks (fails under a simulated full disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Reads, renames, removals, mappings: no new blocks.
    Plain,
    /// fsync or msync: asks for durability, needs no new blocks. A failed one on the
    /// write path poisons the partition.
    Sync,
    /// Allocation, writes, growing a file, creating one.
    Space,
}

/// Without the `fault-injection` feature nothing can arm a plan.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
fn armed() -> bool {
    false
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
fn check_armed(_op: Op, _site: &'static Location<'static>) -> io::Result<()> {
    Ok(())
}

/// Fails the operation when an armed fault-injection plan says so; `Ok` otherwise.
#[track_caller]
#[inline]
pub(crate) fn check(op: Op) -> io::Result<()> {
    if !armed() {
        return Ok(());
    }
    check_armed(op, Location::caller())
}

/// Opens an existing file read-only.
#[track_caller]
pub(crate) fn open(path: &Path) -> io::Result<File> {
    check(Op::Plain)?;
    File::open(path)
}

/// Opens a file with `opts`; creating one counts as a space-using operation.
#[track_caller]
pub(crate) fn open_with(opts: &OpenOptions, creates: bool, path: &Path) -> io::Result<File> {
    check(if creates { Op::Space } else { Op::Plain })?;
    opts.open(path)
}

/// Creates (or truncates) a file for writing.
#[track_caller]
pub(crate) fn create(path: &Path) -> io::Result<File> {
    check(Op::Space)?;
    File::create(path)
}

/// The file's length in bytes.
#[track_caller]
pub(crate) fn len(file: &File) -> io::Result<u64> {
    check(Op::Plain)?;
    Ok(file.metadata()?.len())
}

/// Truncates or extends the file; only extending it can need new blocks.
#[track_caller]
pub(crate) fn set_len(file: &File, len: u64) -> io::Result<()> {
    if armed() {
        let grows = file.metadata().map_or(true, |m| len > m.len());
        check(if grows { Op::Space } else { Op::Plain })?;
    }
    file.set_len(len)
}

/// fsync: data and metadata.
#[track_caller]
pub(crate) fn sync_all(file: &File) -> io::Result<()> {
    check(Op::Sync)?;
    file.sync_all()
}

/// Opens `path` (a file or a directory) and fsyncs it.
#[track_caller]
pub(crate) fn sync_path(path: &Path) -> io::Result<()> {
    check(Op::Sync)?;
    File::open(path)?.sync_all()
}

/// Writes all of `data` at the file's cursor.
#[track_caller]
pub(crate) fn write_all(file: &mut File, data: &[u8]) -> io::Result<()> {
    check(Op::Space)?;
    file.write_all(data)
}

/// Writes all of `data` at byte `at`.
#[track_caller]
pub(crate) fn write_all_at(file: &File, data: &[u8], at: u64) -> io::Result<()> {
    check(Op::Space)?;
    file.write_all_at(data, at)
}

/// `std::fs::write`: creates or truncates `path` and writes `data` (not synced).
#[track_caller]
pub(crate) fn write(path: &Path, data: &[u8]) -> io::Result<()> {
    check(Op::Space)?;
    std::fs::write(path, data)
}

/// Creates `path` with `data`, fsynced: the first half of a crash-safe replace
/// (write a temporary file, sync it, rename it over the old one, sync the directory).
#[track_caller]
pub(crate) fn write_synced(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = create(path)?;
    write_all(&mut f, data)?;
    sync_all(&f)
}

/// Reads a whole file.
#[track_caller]
pub(crate) fn read(path: &Path) -> io::Result<Vec<u8>> {
    check(Op::Plain)?;
    std::fs::read(path)
}

/// Reads a whole file as UTF-8.
#[track_caller]
pub(crate) fn read_to_string(path: &Path) -> io::Result<String> {
    check(Op::Plain)?;
    std::fs::read_to_string(path)
}

/// Renames `from` to `to`, replacing `to`.
#[track_caller]
pub(crate) fn rename(from: &Path, to: &Path) -> io::Result<()> {
    check(Op::Plain)?;
    std::fs::rename(from, to)
}

/// Removes a file.
#[track_caller]
pub(crate) fn remove_file(path: &Path) -> io::Result<()> {
    check(Op::Plain)?;
    std::fs::remove_file(path)
}

/// Removes a directory and everything in it.
#[track_caller]
pub(crate) fn remove_dir_all(path: &Path) -> io::Result<()> {
    check(Op::Plain)?;
    std::fs::remove_dir_all(path)
}

/// Creates a directory and its missing parents.
#[track_caller]
pub(crate) fn create_dir_all(path: &Path) -> io::Result<()> {
    check(Op::Space)?;
    std::fs::create_dir_all(path)
}

/// Whether `path` exists; an error when that cannot be told.
#[track_caller]
pub(crate) fn exists(path: &Path) -> io::Result<bool> {
    check(Op::Plain)?;
    path.try_exists()
}

/// Lists a directory.
#[track_caller]
pub(crate) fn read_dir(path: &Path) -> io::Result<ReadDir> {
    check(Op::Plain)?;
    std::fs::read_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unarmed_operations_run() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_synced(&p, b"abc").unwrap();
        assert_eq!(read_to_string(&p).unwrap(), "abc");
    }
}
