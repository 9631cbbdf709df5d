//! Every file-system call brooklet makes for its data directory, in one place, with
//! fault injection.
//!
//! Storage and the broker do not call `std::fs` directly: they call these thin
//! wrappers (and [`mmap`](super::mmap)'s, which check here too). Each wrapper first
//! asks [`check`] whether the operation should fail. Unarmed, that is one relaxed
//! atomic load. Armed by a test through [`FaultInjection`], the process counts the
//! operations from 1 and fails the Nth one (once, or it and every later one) with a
//! chosen `errno`: SQLite's method of testing I/O errors, run by `tests/io_errors.rs`
//! for N = 1, 2, ... until a whole scenario runs without reaching N. Every wrapper is
//! `#[track_caller]`, so each failure is attributed to the call site in storage or the
//! broker, and a run can say how many distinct sites it failed.
//!
//! The disk-full variant ([`FaultInjection::disk_full`]) fails only operations that
//! can need new blocks (allocation, writes, growing a file, creating one), with
//! `ENOSPC`, like a file system that filled up.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, ReadDir};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::panic::Location;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};

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

static ARMED: AtomicBool = AtomicBool::new(false);
static STATE: Mutex<Plan> = Mutex::new(Plan::new());
/// Held by the armed [`FaultInjection`]: one plan at a time per process.
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
static ARMING: Mutex<()> = Mutex::new(());

#[derive(Debug)]
struct Plan {
    /// Operations counted so far (of the kind the plan counts).
    ops: u64,
    /// The first operation to fail (1-based).
    fail_at: u64,
    /// Fail every operation from `fail_at` on, not only that one.
    persistent: bool,
    errno: i32,
    /// Count and fail only [`Op::Space`] operations.
    space_only: bool,
    fired: u64,
    fired_syncs: u64,
    failed_syncs: Vec<(&'static str, u32)>,
    seen: BTreeSet<(&'static str, u32)>,
    failed: BTreeSet<(&'static str, u32)>,
}

impl Plan {
    const fn new() -> Plan {
        Plan {
            ops: 0,
            fail_at: u64::MAX,
            persistent: false,
            errno: 0,
            space_only: false,
            fired: 0,
            fired_syncs: 0,
            failed_syncs: Vec::new(),
            seen: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }
}

/// Fails the operation when an armed [`FaultInjection`] says so; `Ok` otherwise.
#[track_caller]
#[inline]
pub(crate) fn check(op: Op) -> io::Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    check_armed(op, Location::caller())
}

#[cold]
fn check_armed(op: Op, site: &'static Location<'static>) -> io::Result<()> {
    let mut p = STATE.lock();
    if p.space_only && op != Op::Space {
        return Ok(());
    }
    p.ops += 1;
    let key = (site.file(), site.line());
    p.seen.insert(key);
    let fail = p.ops == p.fail_at || (p.persistent && p.ops > p.fail_at);
    if fail {
        p.fired += 1;
        if op == Op::Sync {
            p.fired_syncs += 1;
            p.failed_syncs.push(key);
        }
        p.failed.insert(key);
        return Err(io::Error::from_raw_os_error(p.errno));
    }
    Ok(())
}

/// A test hook: while this guard lives, file-system operations of the whole process
/// fail as planned (see the module docs). Not part of the stable API.
#[doc(hidden)]
#[derive(Debug)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub struct FaultInjection {
    _arming: MutexGuard<'static, ()>,
}

#[cfg_attr(not(feature = "internals"), allow(dead_code))]
impl FaultInjection {
    /// Fails the `nth` operation (1-based) with `errno`, and with `persistent` every
    /// later one too. Waits while another plan is armed.
    pub fn fail_nth(nth: u64, persistent: bool, errno: i32) -> FaultInjection {
        FaultInjection::arm(nth, persistent, errno, false)
    }

    /// A full disk from the `nth` space-using operation on: it and every later
    /// allocation, write, growth or creation fails with `ENOSPC` until the guard drops
    /// (space freed).
    pub fn disk_full(nth: u64) -> FaultInjection {
        FaultInjection::arm(nth, true, libc::ENOSPC, true)
    }

    fn arm(nth: u64, persistent: bool, errno: i32, space_only: bool) -> FaultInjection {
        let guard = ARMING.lock();
        *STATE.lock() = Plan {
            fail_at: nth.max(1),
            persistent,
            errno,
            space_only,
            ..Plan::new()
        };
        ARMED.store(true, Ordering::SeqCst);
        FaultInjection { _arming: guard }
    }

    /// Operations counted since arming.
    pub fn ops(&self) -> u64 {
        STATE.lock().ops
    }

    /// Operations failed since arming.
    pub fn fired(&self) -> u64 {
        STATE.lock().fired
    }

    /// fsyncs and msyncs failed since arming.
    pub fn fired_syncs(&self) -> u64 {
        STATE.lock().fired_syncs
    }

    /// The call sites (`file:line`) of the failed fsyncs and msyncs, in order.
    pub fn failed_sync_sites(&self) -> Vec<String> {
        let p = STATE.lock();
        p.failed_syncs
            .iter()
            .map(|(f, l)| format!("{f}:{l}"))
            .collect()
    }

    /// Call sites (`file:line`) that performed a counted operation.
    pub fn sites_seen(&self) -> Vec<String> {
        let p = STATE.lock();
        p.seen.iter().map(|(f, l)| format!("{f}:{l}")).collect()
    }

    /// Call sites (`file:line`) whose operation was failed.
    pub fn sites_failed(&self) -> Vec<String> {
        let p = STATE.lock();
        p.failed.iter().map(|(f, l)| format!("{f}:{l}")).collect()
    }
}

impl Drop for FaultInjection {
    fn drop(&mut self) {
        ARMED.store(false, Ordering::SeqCst);
    }
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
    if ARMED.load(Ordering::Relaxed) {
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
