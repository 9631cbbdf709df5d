//! The small offset files beside a partition's segments (Kafka's checkpoint files):
//! `log-start-offset`, `recovery-point` and `cleaner-offset-checkpoint`, each one
//! ASCII decimal offset (`docs/format.md`), and the crash-safe replace that writes
//! them and compaction's manifest.
//!
//! A leaf over [`io`](super::io): it knows file names and bytes, not the log. A failed
//! write here loses nothing (the next one retries), so, unlike a data sync, it never
//! poisons a partition.

use std::path::Path;

use super::io;
use crate::error::{Error, Result};

/// Kafka's `log-start-offset-checkpoint`, per partition: the start set by delete_records.
const LOG_START: &str = "log-start-offset";

/// Kafka's `recovery-point-offset-checkpoint`, per partition: segments below it are
/// durable whole.
const RECOVERY_POINT: &str = "recovery-point";

/// Kafka's `cleaner-offset-checkpoint`: the offset up to which compaction has cleaned.
const CLEANER: &str = "cleaner-offset-checkpoint";

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

fn write_offset_file(dir: &Path, name: &str, offset: i64) -> Result<()> {
    write_atomic(dir, name, offset.to_string().as_bytes())
}

/// Writes a small file crash-safely (temp, fsync, rename, directory fsync): after a
/// crash, `name` holds the old bytes or the new ones, never a mix.
pub(crate) fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    io::write_synced(&tmp, data).map_err(|e| Error::io(&tmp, e))?;
    io::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    io::sync_path(dir).map_err(|e| Error::io(dir, e))
}

/// The log start persisted by `delete_records`, if any.
///
/// # Errors
/// As [`read_offset_file`]: [`Error::Io`] when the file exists but cannot be read.
pub(crate) fn read_log_start(dir: &Path) -> Result<Option<i64>> {
    read_offset_file(dir, LOG_START)
}

/// Persists a new log start.
pub(crate) fn write_log_start(dir: &Path, offset: i64) -> Result<()> {
    write_offset_file(dir, LOG_START, offset)
}

/// The persisted recovery point, if any.
///
/// # Errors
/// [`Error::Io`] when the file exists but cannot be read.
pub(crate) fn read_recovery_point(dir: &Path) -> Result<Option<i64>> {
    read_offset_file(dir, RECOVERY_POINT)
}

/// Persists a new recovery point.
pub(crate) fn write_recovery_point(dir: &Path, offset: i64) -> Result<()> {
    write_offset_file(dir, RECOVERY_POINT, offset)
}

/// The cleaner checkpoint; `None` when missing, unreadable or foreign: it only decides
/// whether a compaction pass is worth running, so a guess costs at most one pass.
pub(crate) fn read_cleaner_checkpoint(dir: &Path) -> Option<i64> {
    io::read_to_string(&dir.join(CLEANER))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Persists a new cleaner checkpoint.
pub(crate) fn write_cleaner_checkpoint(dir: &Path, offset: i64) -> Result<()> {
    write_offset_file(dir, CLEANER, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_as_ascii_decimal() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for offset in [0, 1, 42, 1 << 40, i64::MAX] {
            write_recovery_point(d, offset).unwrap();
            write_log_start(d, offset).unwrap();
            write_cleaner_checkpoint(d, offset).unwrap();
            assert_eq!(read_recovery_point(d).unwrap(), Some(offset));
            assert_eq!(read_log_start(d).unwrap(), Some(offset));
            assert_eq!(read_cleaner_checkpoint(d), Some(offset));
            // The bytes docs/format.md promises: the decimal digits, nothing else.
            let want = offset.to_string().into_bytes();
            for name in [RECOVERY_POINT, LOG_START, CLEANER] {
                assert_eq!(std::fs::read(d.join(name)).unwrap(), want, "{name}");
            }
        }
        // Nothing is left behind by the replace.
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [CLEANER, LOG_START, RECOVERY_POINT]);
    }

    #[test]
    fn a_later_write_replaces_the_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        write_recovery_point(dir.path(), 1_000_000).unwrap();
        write_recovery_point(dir.path(), 7).unwrap();
        assert_eq!(read_recovery_point(dir.path()).unwrap(), Some(7));
        assert_eq!(
            std::fs::read(dir.path().join(RECOVERY_POINT)).unwrap(),
            b"7"
        );
    }

    #[test]
    fn missing_files_read_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_recovery_point(dir.path()).unwrap(), None);
        assert_eq!(read_log_start(dir.path()).unwrap(), None);
        assert_eq!(read_cleaner_checkpoint(dir.path()), None);
    }

    #[test]
    fn hand_edited_whitespace_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOG_START), " 12\n").unwrap();
        assert_eq!(read_log_start(dir.path()).unwrap(), Some(12));
    }

    /// A file that does not hold one decimal offset is not ours (ours are replaced
    /// whole): it reads as no checkpoint at all, never as a made-up offset.
    #[test]
    fn foreign_or_garbage_files_read_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let garbage: [&[u8]; 8] = [
            b"",
            b"\n",
            b"12a",
            b"0x10",
            b"1 2",
            b"-",
            b"99999999999999999999",
            b"{\"offset\": 5}",
        ];
        for bytes in garbage {
            for name in [RECOVERY_POINT, LOG_START, CLEANER] {
                std::fs::write(d.join(name), bytes).unwrap();
            }
            assert_eq!(read_recovery_point(d).unwrap(), None, "{bytes:?}");
            assert_eq!(read_log_start(d).unwrap(), None, "{bytes:?}");
            assert_eq!(read_cleaner_checkpoint(d), None, "{bytes:?}");
        }
    }

    /// Bytes that are not UTF-8 cannot be read as text at all: for the log start and
    /// the recovery point that is an unreadable file (an error, as below), not a
    /// foreign one; the cleaner checkpoint reads it as none.
    #[test]
    fn non_text_files_are_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in [RECOVERY_POINT, LOG_START, CLEANER] {
            std::fs::write(d.join(name), b"\xff\xfe\x00\x01").unwrap();
        }
        assert!(matches!(read_log_start(d), Err(Error::Io { .. })));
        assert!(matches!(read_recovery_point(d), Err(Error::Io { .. })));
        assert_eq!(read_cleaner_checkpoint(d), None);
    }

    /// An existing log start that cannot be read fails: reading it as "none" could
    /// resurrect records `delete_records` removed.
    #[test]
    fn an_unreadable_log_start_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(LOG_START)).unwrap();
        std::fs::create_dir(dir.path().join(RECOVERY_POINT)).unwrap();
        std::fs::create_dir(dir.path().join(CLEANER)).unwrap();
        assert!(matches!(read_log_start(dir.path()), Err(Error::Io { .. })));
        assert!(matches!(
            read_recovery_point(dir.path()),
            Err(Error::Io { .. })
        ));
        // The cleaner checkpoint only gates a pass: unreadable is "clean everything".
        assert_eq!(read_cleaner_checkpoint(dir.path()), None);
    }

    #[test]
    fn write_atomic_writes_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "compaction.swap", b"0 10\n20\n").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("compaction.swap")).unwrap(),
            b"0 10\n20\n"
        );
        assert!(!dir.path().join("compaction.swap.tmp").exists());
    }
}
