//! [`Broker::repair`]: the explicit, operator-run repair of a damaged data directory.

use std::path::{Path, PathBuf};

use super::{Broker, lock_dir, meta, partition_dir, sync_err};
use crate::error::{Error, Result};
use crate::storage::{PartitionLog, PartitionRepair, io, now_ms};

/// What [`Broker::repair`] changed. Everything it took out of the log is under
/// [`quarantine`](Self::quarantine), never deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// This run's quarantine folder (`<dir>/quarantine/<unix ms>`), present only when
    /// something was moved.
    pub quarantine: PathBuf,
    /// Partitions cut back to their valid prefix.
    pub partitions: Vec<PartitionRepair>,
    /// Damaged topic metadata files moved into the quarantine folder; the next open
    /// rebuilds those topics from their partition directories.
    pub metadata_moved: Vec<PathBuf>,
    /// Partition directories the metadata lists but that were missing, created empty.
    pub partitions_recreated: Vec<PathBuf>,
}

impl RepairReport {
    /// Whether the directory needed no repair.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
            && self.metadata_moved.is_empty()
            && self.partitions_recreated.is_empty()
    }
}

impl Broker {
    /// Repairs a data directory that [`Broker::open`] reported damaged (an
    /// [`Error::Corrupt`] from the open or from a partition in
    /// [`open_report`](Broker::open_report)). The directory must not be open.
    ///
    /// For every partition, every batch of every segment is validated (framing,
    /// CRC-32C, rising offsets, contiguous segments). At the first place where valid
    /// data stops, the log keeps its valid prefix: the damaged segment is copied whole
    /// into `<dir>/quarantine/<unix ms>/<topic>-<partition>/` and cut at the damage,
    /// and every later segment is moved there. Damaged topic metadata files are moved
    /// there too (the next open rebuilds the topic from its partition directories), and
    /// partition directories the metadata lists but that are missing are created
    /// empty. Nothing is deleted: the records after the damage stay in the quarantine
    /// folder for an operator to salvage (they are Kafka RecordBatch v2 files).
    ///
    /// Run it, read the report, then open the directory.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// brooklet::Broker::open(dir.path())?.close()?;
    /// let report = brooklet::Broker::repair(dir.path())?;
    /// assert!(report.is_empty());
    /// # Ok::<(), brooklet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Locked`] while a `Broker` has the directory open; [`Error::Io`] when a
    /// file cannot be read, copied, moved or cut (what was done before stays done and
    /// a rerun continues); [`Error::InvalidArgument`] when `dir` does not exist.
    pub fn repair(dir: impl AsRef<Path>) -> Result<RepairReport> {
        let dir = dir.as_ref();
        if !io::exists(dir).map_err(sync_err(dir))? {
            return Err(Error::InvalidArgument(format!(
                "`{}` does not exist",
                dir.display()
            )));
        }
        let lock = lock_dir(dir)?;
        let mut report = RepairReport {
            quarantine: dir.join("quarantine").join(now_ms().to_string()),
            ..Default::default()
        };
        let tdir = meta::topics_dir(dir);
        let mut topics = Vec::new();
        if io::exists(&tdir).map_err(sync_err(&tdir))? {
            for entry in io::read_dir(&tdir).map_err(sync_err(&tdir))? {
                let path = entry.map_err(sync_err(&tdir))?.path();
                if path.extension().is_none_or(|e| e != "topic") {
                    continue;
                }
                let bytes = io::read(&path).map_err(sync_err(&path))?;
                let decoded = String::from_utf8(bytes)
                    .ok()
                    .and_then(|t| meta::decode(&path, &t).ok())
                    .filter(|(name, _)| {
                        path.file_name()
                            .is_some_and(|f| f.to_string_lossy() == format!("{name}.topic"))
                    });
                match decoded {
                    Some(t) => topics.push(t),
                    None => {
                        let q = report.quarantine.join("topics");
                        io::create_dir_all(&q).map_err(sync_err(&q))?;
                        let to = q.join(path.file_name().unwrap_or_default());
                        io::rename(&path, &to).map_err(sync_err(&path))?;
                        meta::sync_dir(&tdir)?;
                        report.metadata_moved.push(to);
                    }
                }
            }
        }
        for (name, config) in &topics {
            for p in 0..config.partitions {
                let pdir = partition_dir(dir, name, p);
                if !io::exists(&pdir).map_err(sync_err(&pdir))? {
                    io::create_dir_all(&pdir).map_err(sync_err(&pdir))?;
                    meta::sync_dir(dir)?;
                    report.partitions_recreated.push(pdir);
                }
            }
        }
        let mut pdirs = Vec::new();
        for entry in io::read_dir(dir).map_err(sync_err(dir))? {
            let entry = entry.map_err(sync_err(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_partition = name
                .rsplit_once('-')
                .is_some_and(|(t, p)| meta::validate_name(t).is_ok() && p.parse::<u32>().is_ok());
            if is_partition && entry.file_type().is_ok_and(|t| t.is_dir()) {
                pdirs.push(entry.path());
            }
        }
        pdirs.sort();
        for pdir in pdirs {
            if let Some(r) = PartitionLog::repair(&pdir, &report.quarantine)? {
                report.partitions.push(r);
            }
        }
        drop(lock);
        Ok(report)
    }
}
