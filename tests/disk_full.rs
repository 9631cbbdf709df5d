//! A full file system: appends fail with a typed `Error::Io` (ENOSPC) naming the file,
//! never a SIGBUS and never a partial record; everything acknowledged stays readable; and
//! writing resumes, densely, once space is freed. A `create_topic` or `create_partitions`
//! that fails for lack of space takes no effect, then or after a reopen.
//!
//! The test needs a small file system it may fill. It uses, in order: the directory named
//! by `BROOKLET_SMALL_FS` (CI mounts a 16 MiB tmpfs there), a 16 MiB ext4 image it
//! loop-mounts itself, or a 16 MiB tmpfs it mounts itself (both need root). Without any
//! of them it prints why and passes, unless `BROOKLET_REQUIRE_SMALL_FS=1` (set by CI)
//! makes that a failure.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use brooklet::format::RecordIn;
use brooklet::storage::{LogConfig, PartitionLog};
use brooklet::{Broker, Error, FlushPolicy, ProducerRecord, TopicConfig};

const MIB: u64 = 1 << 20;
const SEGMENT_BYTES: u64 = MIB;
/// Space left free after the ballast: room for the first segment and its indexes, not
/// for a second one.
const LEAVE_FREE: u64 = MIB + MIB / 2;
/// The ballast refuses to grow past this: a "small" file system that is not small must
/// never be filled.
const MAX_BALLAST: u64 = 256 * MIB;

/// The small file system is shared by the tests of this file: one at a time.
static SMALL_FS: Mutex<()> = Mutex::new(());

/// A directory on a small file system, unmounted (if we mounted it) on drop.
struct SmallFs {
    /// A fresh directory on the small file system, removed on drop.
    dir: Option<tempfile::TempDir>,
    mount: Option<PathBuf>,
    /// Holds the image file and the mount point.
    _scratch: Option<tempfile::TempDir>,
}

impl SmallFs {
    fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        drop(self.dir.take());
        if let Some(m) = &self.mount {
            // Lazily if something (a failed test's leftovers) still holds it.
            if !quiet(Command::new("umount").arg(m)) {
                quiet(Command::new("umount").arg("-l").arg(m));
            }
        }
    }
}

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Mounts a 16 MiB file system of our own: an ext4 image on a loop device, else a tmpfs.
fn mount_own() -> Option<SmallFs> {
    let scratch = tempfile::tempdir().ok()?;
    let mnt = scratch.path().join("mnt");
    std::fs::create_dir(&mnt).ok()?;
    let img = scratch.path().join("fs.img");
    File::create(&img).ok()?.set_len(16 * MIB).ok()?;
    let mounted = (quiet(Command::new("mkfs.ext4").arg("-q").arg("-F").arg(&img))
        && quiet(
            Command::new("mount")
                .arg("-o")
                .arg("loop")
                .arg(&img)
                .arg(&mnt),
        ))
        || quiet(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
                .arg(&mnt),
        );
    if !mounted {
        return None;
    }
    // From here on, the guard unmounts whatever happens.
    let mut fs = SmallFs {
        dir: None,
        mount: Some(mnt.clone()),
        _scratch: Some(scratch),
    };
    fs.dir = Some(tempfile::tempdir_in(&mnt).ok()?);
    Some(fs)
}

/// The small file system to fill, or `None` (after saying why) when there is none.
fn small_fs() -> Option<SmallFs> {
    if let Some(d) = std::env::var_os("BROOKLET_SMALL_FS") {
        let dir = tempfile::tempdir_in(&d).unwrap_or_else(|e| {
            panic!(
                "BROOKLET_SMALL_FS={}: cannot create a directory there: {e}",
                d.display()
            )
        });
        return Some(SmallFs {
            dir: Some(dir),
            mount: None,
            _scratch: None,
        });
    }
    if let Some(fs) = mount_own() {
        return Some(fs);
    }
    let why = "skipped: no small file system (set BROOKLET_SMALL_FS to a directory on a \
               small tmpfs, or run as root so the test can mount one)";
    if std::env::var_os("BROOKLET_REQUIRE_SMALL_FS").is_some_and(|v| v != "0") {
        panic!("BROOKLET_REQUIRE_SMALL_FS is set but the disk-full test was {why}");
    }
    // Straight to stderr, not through `eprintln!`, which the test harness captures: a
    // skip must show in the log of a passing run.
    let _ = writeln!(std::io::stderr(), "disk_full: {why}");
    None
}

/// Fills the file system of `dir` with a ballast file until only about `leave` bytes are
/// free, and returns the ballast's path.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let path = dir.join("ballast");
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(n) => len += n as u64,
            Err(e) if is_enospc(&e) => break,
            Err(e) => panic!("writing the ballast failed: {e}"),
        }
        assert!(
            len <= MAX_BALLAST,
            "{} holds more than {} MiB: not a small file system, refusing to fill it",
            dir.display(),
            MAX_BALLAST / MIB
        );
    }
    assert!(
        len > leave + MIB,
        "the small file system has only {len} bytes free; it needs several MiB"
    );
    f.set_len(len - leave).unwrap();
    // ext4 reuses freed blocks only once the journal commits them.
    f.sync_all().unwrap();
    path
}

fn is_enospc(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC)
}

/// Asserts that `e` is the typed disk-full error: `Error::Io`, ENOSPC, on a file in `dir`.
fn assert_disk_full(e: &Error, dir: &Path) {
    match e {
        Error::Io { path, source } => {
            assert!(
                is_enospc(source),
                "expected ENOSPC, got {source:?} on {path:?}"
            );
            assert!(
                path.starts_with(dir),
                "the error names {path:?}, not a file of the log in {dir:?}"
            );
        }
        other => panic!(
            "a full disk must be reported as Error::Io (ENOSPC) naming the file, got: \
             {other:?} ({other})"
        ),
    }
}

fn value(i: u64) -> Vec<u8> {
    // 1-4 KiB, so the first segment fills after a few hundred records.
    let len = 1024 + (i * 997) % 3072;
    let mut v = format!("record {i:08} ").into_bytes();
    v.resize(len as usize, b'a' + (i % 26) as u8);
    v
}

/// Reads `log` from 0 and checks that it holds exactly `value(0..n)` at offsets `0..n`,
/// every batch valid.
fn assert_log_is(log: &PartitionLog, n: u64) {
    assert_eq!(log.log_end_offset(), n as i64, "{}: log end", log.name());
    let mut next = 0u64;
    while next < n {
        let f = log.read(next as i64, 256 * 1024).unwrap();
        for b in f.batches() {
            b.unwrap().validate().unwrap();
        }
        for r in f.records() {
            let r = r.unwrap();
            assert_eq!(r.offset(), next as i64, "offsets are dense");
            assert_eq!(r.value(), Some(&value(next)[..]), "record {next}");
            next += 1;
        }
        assert_eq!(f.next_offset(), next as i64);
    }
    assert_eq!(next, n);
}

/// Sends record `from`, `from + 1`, ... until a send fails (at most `limit` succeed),
/// checking each acknowledged offset; returns the next index and the error.
fn send_until_full(
    send: &dyn Fn(u64) -> brooklet::Result<brooklet::RecordMetadata>,
    from: u64,
    limit: u64,
) -> (u64, Error) {
    let mut acked = from;
    loop {
        match send(acked) {
            Ok(m) => {
                assert_eq!(m.offset(), acked as i64);
                acked += 1;
            }
            Err(e) => return (acked, e),
        }
        assert!(
            acked < from + limit,
            "{limit} records written to a full disk"
        );
    }
}

#[test]
fn producer_on_a_full_disk_gets_enospc_and_resumes_after_space_is_freed() {
    let _one = SMALL_FS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(fs) = small_fs() else { return };
    let data = fs.path().join("data");
    let b = Broker::open(&data).unwrap();
    let ballast = fill(fs.path(), LEAVE_FREE);
    b.create_topic(
        "t",
        TopicConfig::new(1)
            .segment_bytes(SEGMENT_BYTES)
            .flush(FlushPolicy::EveryAppend),
    )
    .unwrap();
    let producer = b.producer();
    let send = |i: u64| producer.send(ProducerRecord::new("t").key("k").value(value(i)));

    // Fill the first segment; the roll to a second one finds no space.
    let (acked, err) = send_until_full(&send, 0, 16 * 1024);
    assert!(acked > 100, "failed after only {acked} records: {err}");
    eprintln!("disk_full: {acked} records acknowledged, then: {err}");
    let log = b.partition_log("t", 0).unwrap();
    // Nothing partial, nothing lost; retries of the record that did not fit keep failing
    // with the same typed error, and write nothing.
    assert_log_is(&log, acked);
    assert_disk_full(&err, &data);
    for _ in 0..3 {
        match send(acked) {
            Ok(m) => panic!("a send to a full disk succeeded at {}", m.offset()),
            Err(e) => assert_disk_full(&e, &data),
        }
    }
    assert_log_is(&log, acked);

    // Free the space: the same producer writes on, densely, across new segments.
    std::fs::remove_file(&ballast).unwrap();
    let more = 3 * SEGMENT_BYTES / 2500;
    for i in acked..acked + more {
        let m = send(i).unwrap_or_else(|e| panic!("send after freeing space: {e}"));
        assert_eq!(m.offset(), i as i64);
    }
    let total = acked + more;
    assert_log_is(&log, total);
    assert!(
        log.segment_count() >= 3,
        "writing resumed across new segments"
    );
    b.close().unwrap();

    let b = Broker::open(&data).unwrap();
    assert_log_is(&b.partition_log("t", 0).unwrap(), total);
    b.close().unwrap();
}

#[test]
fn partition_log_on_a_full_disk_keeps_whole_batches_and_reopens() {
    let _one = SMALL_FS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(fs) = small_fs() else { return };
    let dir = fs.path().join("log-0");
    let config = LogConfig {
        segment_bytes: SEGMENT_BYTES,
        flush: FlushPolicy::EveryAppend,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(&dir, config.clone()).unwrap();
    let ballast = fill(fs.path(), LEAVE_FREE - SEGMENT_BYTES);
    // Batches of 5 records: a failed append must leave none of a batch's records.
    let append = |from: u64| {
        let vals: Vec<Vec<u8>> = (from..from + 5).map(value).collect();
        let recs: Vec<RecordIn> = vals
            .iter()
            .map(|v| RecordIn {
                key: None,
                value: Some(v),
                timestamp: 1,
                headers: &[],
            })
            .collect();
        log.append(&recs)
    };
    let mut n = 0u64;
    let err = loop {
        match append(n) {
            Ok(info) => {
                assert_eq!(info.base_offset, n as i64);
                n += 5;
            }
            Err(e) => break e,
        }
        assert!(n < 16 * 1024, "16 MiB written to a full file system");
    };
    eprintln!("disk_full: {n} records in batches of 5, then: {err}");
    assert_log_is(&log, n);
    assert_disk_full(&err, &dir);

    // Close while full, free the space, reopen: everything is there and appends go on.
    log.close().unwrap();
    drop(log);
    std::fs::remove_file(&ballast).unwrap();
    let log = PartitionLog::open(&dir, config).unwrap();
    assert_log_is(&log, n);
    let vals: Vec<Vec<u8>> = (n..n + 5).map(value).collect();
    let recs: Vec<RecordIn> = vals
        .iter()
        .map(|v| RecordIn {
            key: None,
            value: Some(v),
            timestamp: 1,
            headers: &[],
        })
        .collect();
    assert_eq!(log.append(&recs).unwrap().base_offset, n as i64);
    assert_log_is(&log, n + 5);
}

#[test]
fn create_topic_on_a_full_disk_fails_whole_and_can_be_retried() {
    let _one = SMALL_FS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(fs) = small_fs() else { return };
    let data = fs.path().join("data");
    let b = Broker::open(&data).unwrap();
    let ballast = fill(fs.path(), MIB / 2);
    let config = TopicConfig::new(2).segment_bytes(SEGMENT_BYTES);
    let err = b
        .create_topic("t", config.clone())
        .expect_err("a topic of two 1 MiB segments fits in 512 KiB");
    eprintln!("disk_full: create_topic while full: {err}");
    assert_disk_full(&err, &data);
    assert!(b.list_topics().is_empty());
    b.close().unwrap();
    drop(b);

    // A topic exists whole or not at all: the failed creation left nothing behind, so
    // the directory reopens, still full, with no topic.
    let b = Broker::open(&data)
        .unwrap_or_else(|e| panic!("reopening after a failed create_topic, disk still full: {e}"));
    assert_eq!(
        b.list_topics(),
        Vec::<String>::new(),
        "a create_topic that failed made the topic exist after a reopen"
    );

    // With space, the same name can be created and used.
    std::fs::remove_file(&ballast).unwrap();
    b.create_topic("t", config).unwrap();
    let m = b
        .producer()
        .send(ProducerRecord::new("t").partition(1).value("v"))
        .unwrap();
    assert_eq!(m.offset(), 0);
    b.close().unwrap();
    let b = Broker::open(&data).unwrap();
    assert_eq!(b.partition_count("t").unwrap(), 2);
    assert_eq!(b.partition_log("t", 1).unwrap().log_end_offset(), 1);
    b.close().unwrap();
}

#[test]
fn create_partitions_on_a_full_disk_fails_whole() {
    let _one = SMALL_FS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(fs) = small_fs() else { return };
    let data = fs.path().join("data");
    let b = Broker::open(&data).unwrap();
    b.create_topic("t", TopicConfig::new(1).segment_bytes(SEGMENT_BYTES))
        .unwrap();
    let ballast = fill(fs.path(), MIB / 2);
    let err = b
        .create_partitions("t", 3)
        .expect_err("two more 1 MiB segments fit in 512 KiB");
    eprintln!("disk_full: create_partitions while full: {err}");
    assert_disk_full(&err, &data);
    assert_eq!(b.partition_count("t").unwrap(), 1);
    b.close().unwrap();
    drop(b);

    // The failed call did not take effect later either.
    std::fs::remove_file(&ballast).unwrap();
    let b = Broker::open(&data).unwrap();
    assert_eq!(
        b.partition_count("t").unwrap(),
        1,
        "a create_partitions that failed took effect after a reopen"
    );
    b.create_partitions("t", 3).unwrap();
    assert_eq!(b.partition_count("t").unwrap(), 3);
    b.close().unwrap();
}

/// Issue 12, item 5: a directory opens on a 100 % full disk with every record readable
/// (preallocation waits for the first append); appends report the full disk and resume
/// once space returns. Under both flush policies; on the small file system when there
/// is one, else on the simulated full disk (`ENOSPC` from every space-using call).
#[test]
fn a_full_disk_does_not_block_opening() {
    let _one = SMALL_FS.lock().unwrap_or_else(|p| p.into_inner());
    for flush in [FlushPolicy::Os, FlushPolicy::EveryAppend] {
        let fs = small_fs();
        let scratch = tempfile::tempdir().unwrap();
        let root = fs.as_ref().map_or(scratch.path(), |fs| fs.path());
        let data = root.join(format!("data-{flush:?}"));
        let b = Broker::open(&data).unwrap();
        b.create_topic(
            "t",
            TopicConfig::new(1)
                .segment_bytes(SEGMENT_BYTES / 4)
                .flush(flush),
        )
        .unwrap();
        let producer = b.producer();
        let n = 300u64;
        for i in 0..n {
            producer
                .send(ProducerRecord::new("t").key("k").value(value(i)))
                .unwrap();
        }
        assert!(b.partition_log("t", 0).unwrap().segment_count() >= 2);
        b.close().unwrap();
        drop((producer, b));

        // Fill the disk completely (or simulate it).
        let ballast = fs.as_ref().map(|fs| fill(fs.path(), 0));
        let simulated = ballast
            .is_none()
            .then(|| brooklet::storage::FaultInjection::disk_full(1));
        let b = Broker::open(&data)
            .unwrap_or_else(|e| panic!("{flush:?}: open on a full disk failed: {e}"));
        assert_log_is(&b.partition_log("t", 0).unwrap(), n);
        // Appends use what blocks the active segment has (a failed fallocate may have
        // left some), then report the full disk, writing nothing partial.
        let producer = b.producer();
        let send = |i: u64| producer.send(ProducerRecord::new("t").key("k").value(value(i)));
        let (mut acked, err) = send_until_full(&send, n, 100);
        assert_disk_full(&err, &data);
        assert_log_is(&b.partition_log("t", 0).unwrap(), acked);

        // Space returns: writing resumes at the log end.
        match ballast {
            Some(p) => std::fs::remove_file(p).unwrap(),
            None => drop(simulated),
        }
        let m = send(acked).unwrap();
        assert_eq!(m.offset(), acked as i64);
        acked += 1;
        assert_log_is(&b.partition_log("t", 0).unwrap(), acked);
        b.close().unwrap();
        drop((producer, b));
        let b = Broker::open(&data).unwrap();
        assert_log_is(&b.partition_log("t", 0).unwrap(), acked);
        b.close().unwrap();
        drop(b);
        let _ = std::fs::remove_dir_all(&data);
    }
}
