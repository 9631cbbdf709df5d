//! The crate's only `unsafe` code: shared memory maps of segment and index files, and
//! the two system calls std does not wrap (`posix_fallocate`, and `clock_gettime` for
//! [`clock`](super::clock)'s coarse clock). It is the lowest layer of storage: it uses
//! only [`io`](super::io)'s fault check, nothing above it.
//!
//! Soundness is by construction, not by caller discipline. A [`MappedRegion`] is split
//! by an atomic watermark, `committed`:
//!
//! - bytes `[0, committed)` are immutable: nobody writes them again while the mapping
//!   lives, so any number of threads may hold `&[u8]` views of them;
//! - bytes `[committed, len)` belong to the one [`RegionWriter`] (not `Clone`, methods
//!   take `&mut self`), which is the only code that forms a `&mut [u8]` into them.
//!
//! The writer publishes new bytes by raising `committed` with `Release`; readers load it
//! with `Acquire`, so they see whole batches or nothing. Outside this process nothing
//! writes or truncates the files while mapped: the broker's directory lock excludes
//! other brooklet writers (DESIGN.md section 8), and brooklet itself only truncates a
//! file (on roll or close) below no watermark: bytes under `committed` stay backed by
//! the file, so no access through a mapping can fault (SIGBUS).
#![expect(
    unsafe_code,
    reason = "memory maps of segment files; every block states its invariant"
)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use memmap2::{Advice, MmapOptions, MmapRaw};

use super::io::Op;

/// A shared mapping of a file, readable below its `committed` watermark.
#[derive(Debug)]
pub(crate) struct MappedRegion {
    /// `None` for a zero-length file: mmap(2) cannot map zero bytes.
    raw: Option<MmapRaw>,
    len: usize,
    committed: AtomicUsize,
}

impl MappedRegion {
    /// Maps the first `len` bytes of `file` read-only; all of them are readable.
    #[track_caller]
    pub(crate) fn map_read_only(file: &File, len: usize) -> io::Result<Arc<MappedRegion>> {
        super::io::check(Op::Plain)?;
        let raw = if len == 0 {
            None
        } else {
            Some(MmapOptions::new().len(len).map_raw_read_only(file)?)
        };
        Ok(Arc::new(MappedRegion {
            raw,
            len,
            committed: AtomicUsize::new(len),
        }))
    }

    /// Maps the first `len` bytes of `file` read-write; `[0, committed)` is readable and
    /// the returned writer owns the rest. `file` must be at least `len` bytes long.
    #[track_caller]
    pub(crate) fn map_writable(
        file: &File,
        len: usize,
        committed: usize,
    ) -> io::Result<(Arc<MappedRegion>, RegionWriter)> {
        super::io::check(Op::Plain)?;
        if committed > len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "committed length beyond the mapping",
            ));
        }
        let raw = if len == 0 {
            None
        } else {
            Some(MmapOptions::new().len(len).map_raw(file)?)
        };
        let region = Arc::new(MappedRegion {
            raw,
            len,
            committed: AtomicUsize::new(committed),
        });
        let writer = RegionWriter {
            region: Arc::clone(&region),
        };
        Ok((region, writer))
    }

    /// Bytes published so far.
    #[inline]
    pub(crate) fn committed(&self) -> usize {
        self.committed.load(Ordering::Acquire)
    }

    /// Size of the mapping.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.len
    }

    /// The published bytes `[0, committed)`.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        let n = self.committed();
        match &self.raw {
            None => &[],
            // SAFETY: the mapping is `self.len >= n` bytes and lives as long as `self`.
            // Bytes below the committed watermark are never written again (only the
            // unique RegionWriter writes, and only at or above the watermark), so a
            // shared borrow of them cannot alias a mutable one. The file is not
            // truncated below the watermark while mapped (module invariant).
            Some(raw) => unsafe { std::slice::from_raw_parts(raw.as_ptr(), n) },
        }
    }

    /// Asks the kernel to fault in `[from, from + len)` for writing (MADV_POPULATE_WRITE),
    /// so the writer does not pay first-touch page faults. Clamped to the mapping.
    pub(crate) fn populate_write(&self, from: usize, len: usize) -> io::Result<()> {
        let Some(raw) = &self.raw else { return Ok(()) };
        if from >= self.len {
            return Ok(());
        }
        let len = len.min(self.len - from);
        raw.advise_range(Advice::PopulateWrite, from, len)
    }

    /// Writes `[from, to)` of the mapping back to the file and waits (msync MS_SYNC).
    #[track_caller]
    pub(crate) fn flush_range(&self, from: usize, to: usize) -> io::Result<()> {
        super::io::check(Op::Sync)?;
        let Some(raw) = &self.raw else { return Ok(()) };
        let to = to.min(self.len);
        if from >= to {
            return Ok(());
        }
        raw.flush_range(from, to - from)
    }
}

/// The unique writer of a [`MappedRegion`]'s unpublished bytes.
#[derive(Debug)]
pub(crate) struct RegionWriter {
    region: Arc<MappedRegion>,
}

impl RegionWriter {
    /// The region this writer appends to.
    pub(crate) fn region(&self) -> &Arc<MappedRegion> {
        &self.region
    }

    /// The `len` unpublished bytes right after the watermark, or `None` when they do not
    /// fit in the mapping.
    pub(crate) fn tail_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        let start = self.region.committed.load(Ordering::Relaxed);
        let end = start.checked_add(len)?;
        if end > self.region.len {
            return None;
        }
        let raw = self.region.raw.as_ref()?;
        // SAFETY: `[start, end)` lies inside the mapping (checked above) and at or above
        // the watermark, which no reader ever borrows (`bytes` stops at the watermark).
        // `self` is the only writer and is borrowed mutably for the slice's lifetime, so
        // no other `&mut` to these bytes exists. The watermark only moves through
        // `publish(&mut self)`, which cannot run while this borrow lives.
        Some(unsafe { std::slice::from_raw_parts_mut(raw.as_mut_ptr().add(start), len) })
    }

    /// Makes the next `len` bytes (written through [`tail_mut`](Self::tail_mut))
    /// visible to readers, with `Release` ordering.
    pub(crate) fn publish(&mut self, len: usize) {
        let cur = self.region.committed.load(Ordering::Relaxed);
        let new = cur.saturating_add(len).min(self.region.len);
        self.region.committed.store(new, Ordering::Release);
    }
}

/// Reserves real disk blocks for `[0, len)` of `file` (posix_fallocate), so that writes
/// through a mapping never hit a full disk as SIGBUS: ENOSPC surfaces here instead.
#[track_caller]
pub(crate) fn allocate(file: &File, len: u64) -> io::Result<()> {
    super::io::check(Op::Space)?;
    if len == 0 {
        return Ok(());
    }
    let len = libc::off_t::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large"))?;
    // SAFETY: posix_fallocate only reads its integer arguments; the descriptor is valid
    // for the duration of the call because `file` is borrowed.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Wall-clock milliseconds from CLOCK_REALTIME_COARSE, or `None` when the call fails.
/// Callers go through [`clock::coarse_now_ms`](super::clock::coarse_now_ms); the call
/// lives here only because it needs `unsafe`.
pub(crate) fn realtime_coarse_ms() -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through the pointer, which points at a
    // live, writable local of the right type.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    if rc != 0 {
        return None;
    }
    #[allow(
        clippy::unnecessary_cast,
        reason = "time_t and c_long are 32-bit on some targets"
    )]
    let ms = ts.tv_sec as i64 * 1000 + ts.tv_nsec as i64 / 1_000_000;
    Some(ms)
}

#[cfg(test)]
impl MappedRegion {
    /// An anonymous mapping (no file): the same watermark logic, and something Miri can
    /// run, since it does not model file-backed maps.
    fn anonymous(len: usize) -> io::Result<(Arc<MappedRegion>, RegionWriter)> {
        let raw = MmapRaw::from(MmapOptions::new().len(len).map_anon()?);
        let region = Arc::new(MappedRegion {
            raw: Some(raw),
            len,
            committed: AtomicUsize::new(0),
        });
        let writer = RegionWriter {
            region: Arc::clone(&region),
        };
        Ok((region, writer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One writer appends length-prefixed chunks and publishes each; readers on other
    /// threads see only whole published chunks, every byte as written. Under Miri this
    /// checks the watermark protocol for data races and aliasing.
    #[test]
    fn readers_on_other_threads_see_whole_published_chunks() {
        const CHUNKS: usize = if cfg!(miri) { 24 } else { 2_000 };
        let (region, mut w) = MappedRegion::anonymous(CHUNKS * 8).unwrap();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let region = Arc::clone(&region);
                std::thread::spawn(move || {
                    let mut seen = 0;
                    while seen < CHUNKS * 8 {
                        let b = region.bytes();
                        assert_eq!(b.len() % 8, 0, "a reader saw a half-published chunk");
                        for (i, c) in b.chunks(8).enumerate() {
                            assert_eq!(c, &(i as u64).to_le_bytes(), "chunk {i}");
                        }
                        seen = b.len();
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        for i in 0..CHUNKS {
            w.tail_mut(8)
                .unwrap()
                .copy_from_slice(&(i as u64).to_le_bytes());
            w.publish(8);
        }
        assert!(w.tail_mut(1).is_none(), "the mapping is full");
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(region.committed(), CHUNKS * 8);
    }

    #[test]
    fn writer_publishes_and_readers_see_only_published() {
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("x"))
            .unwrap();
        allocate(&f, 8192).unwrap();
        let (region, mut w) = MappedRegion::map_writable(&f, 8192, 0).unwrap();
        assert_eq!(region.bytes(), b"");
        w.tail_mut(3).unwrap().copy_from_slice(b"abc");
        assert_eq!(region.bytes(), b"");
        w.publish(3);
        assert_eq!(region.bytes(), b"abc");
        assert!(w.tail_mut(8190).is_none());
        region.populate_write(0, 1 << 20).unwrap();
        region.flush_range(0, 3).unwrap();
        drop(w);
        let ro = MappedRegion::map_read_only(&f, 3).unwrap();
        assert_eq!(ro.bytes(), b"abc");
        let empty = MappedRegion::map_read_only(&f, 0).unwrap();
        assert_eq!(empty.bytes(), b"");
    }
}
