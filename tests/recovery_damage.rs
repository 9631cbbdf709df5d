//! Damage done to a data directory while it was closed (issue 12, items 1-7): recovery
//! may cut only a torn tail; anything else it cannot prove torn is a typed `Corrupt`
//! naming the file, the byte and the offsets at stake, the healthy partitions keep
//! serving, and `Broker::repair` keeps the valid prefix and moves the rest into the
//! quarantine folder, never deleting it. Every scenario runs under both flush policies
//! and checks that no acknowledged record disappears without a typed error.

use std::path::{Path, PathBuf};

use brooklet::storage::{FlushPolicy, LogConfig, PartitionLog};
use brooklet::{Broker, Error, ProducerRecord, TopicConfig, TopicPartition};

const RECORDS: usize = 10_000;
const POLICIES: [FlushPolicy; 2] = [FlushPolicy::Os, FlushPolicy::EveryAppend];

fn value(i: usize) -> String {
    format!("record-{i:05}-{}", "x".repeat(i % 40))
}

/// A closed data directory with topic `d` (`partitions` partitions, small segments)
/// holding `RECORDS` records in partition 0, and topic `ok` with 100 records.
fn populated(flush: FlushPolicy, partitions: u32) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let b = Broker::open(d.path()).unwrap();
    let cfg = |n| {
        TopicConfig::new(n)
            .segment_bytes(16 * 1024)
            .index_interval_bytes(1024)
            .flush(flush)
    };
    b.create_topic("d", cfg(partitions)).unwrap();
    b.create_topic("ok", cfg(1)).unwrap();
    let p = b.producer();
    for chunk in (0..RECORDS).collect::<Vec<_>>().chunks(100) {
        p.send_batch(chunk.iter().map(|&i| {
            ProducerRecord::new("d")
                .partition(0)
                .key("k")
                .value(value(i))
        }))
        .unwrap();
    }
    p.send_batch((0..100).map(|i| ProducerRecord::new("ok").partition(0).value(value(i))))
        .unwrap();
    assert!(b.partition_log("d", 0).unwrap().segment_count() > 20);
    b.close().unwrap();
    let path = d.path().to_path_buf();
    (d, path)
}

fn segments(pdir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(pdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    v.sort();
    v
}

fn base_of(seg: &Path) -> i64 {
    seg.file_stem().unwrap().to_string_lossy().parse().unwrap()
}

/// Every record of `topic`-`p` from its start: `(offset, value)`.
fn read_all(b: &Broker, topic: &str, p: u32) -> brooklet::Result<Vec<(i64, String)>> {
    let log = b.partition_log(topic, p)?;
    let mut out = Vec::new();
    let mut off = log.log_start_offset();
    while off < log.log_end_offset() {
        let f = log.read(off, 1 << 16)?;
        assert!(!f.is_empty(), "empty read at {off} below the log end");
        for r in f.records() {
            let r = r?;
            out.push((
                r.offset(),
                String::from_utf8(r.value().unwrap().to_vec()).unwrap(),
            ));
        }
        off = f.next_offset();
    }
    Ok(out)
}

fn assert_prefix(recs: &[(i64, String)], n: usize) {
    assert_eq!(recs.len(), n, "records kept");
    for (i, (off, v)) in recs.iter().enumerate() {
        assert_eq!((*off, v.as_str()), (i as i64, value(i).as_str()));
    }
}

/// Offset of the first record of the batch at byte `pos` of a segment file.
fn batch_base_at(seg: &Path, pos: usize) -> i64 {
    let bytes = std::fs::read(seg).unwrap();
    i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap())
}

/// Byte position of the third batch of a segment file.
fn third_batch(seg: &Path) -> usize {
    let bytes = std::fs::read(seg).unwrap();
    let mut pos = 0;
    for _ in 0..2 {
        let len = i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        pos += 12 + len;
    }
    pos
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// The partition is offline with `Corrupt` naming `file`, and the healthy topic
/// serves reads and writes.
fn offline_naming(b: &Broker, file: &Path) -> String {
    let (tp, msg) = b
        .open_report()
        .failed_partitions
        .first()
        .cloned()
        .expect("the damaged partition is listed in the open report");
    assert_eq!(tp, TopicPartition::new("d", 0));
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(msg.contains(&name), "`{msg}` does not name {name}");
    match b.partition_log("d", 0) {
        Err(Error::Corrupt { path, .. }) => assert_eq!(path.file_name(), file.file_name()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let e = b
        .producer()
        .send(ProducerRecord::new("d").partition(0).value("v"))
        .unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert_prefix(&read_all(b, "ok", 0).unwrap(), 100);
    b.producer()
        .send(ProducerRecord::new("ok").partition(0).value("more"))
        .unwrap();
    msg
}

/// Item 1: after a clean close everything is flushed, so the recovery point is the log
/// end.
#[test]
fn a_clean_close_leaves_the_recovery_point_at_the_log_end() {
    for flush in POLICIES {
        let (_d, dir) = populated(flush, 1);
        let rp = std::fs::read_to_string(dir.join("d-0").join("recovery-point")).unwrap();
        assert_eq!(
            rp.trim().parse::<i64>().unwrap(),
            RECORDS as i64,
            "{flush:?}"
        );
    }
}

/// Item 2: a damaged batch past a stale recovery point, with valid batches after it,
/// is `Corrupt`; nothing is cut or deleted; `repair` keeps the prefix and quarantines
/// the rest.
#[test]
fn damage_followed_by_valid_batches_is_corrupt_and_repair_quarantines() {
    for flush in POLICIES {
        let (_d, dir) = populated(flush, 1);
        let pdir = dir.join("d-0");
        let segs = segments(&pdir);
        // As a crash leaves it: no clean marker, a recovery point far behind.
        std::fs::remove_file(pdir.join(".clean-shutdown")).unwrap();
        let stale = base_of(&segs[5]);
        std::fs::write(pdir.join("recovery-point"), stale.to_string()).unwrap();
        let victim = &segs[8];
        let at = third_batch(victim);
        let first_lost = batch_base_at(victim, at);
        flip(victim, at + 70);
        let sizes: Vec<u64> = segs.iter().map(|s| s.metadata().unwrap().len()).collect();

        let b = Broker::open(&dir).unwrap();
        let msg = offline_naming(&b, victim);
        assert!(msg.contains(&format!("offset {first_lost}")), "{msg}");
        drop(b);
        // Nothing was cut or deleted.
        let after: Vec<u64> = segs.iter().map(|s| s.metadata().unwrap().len()).collect();
        assert_eq!(after, sizes, "{flush:?}: segment files changed");

        let report = Broker::repair(&dir).unwrap();
        assert_eq!(report.partitions.len(), 1, "{report:?}");
        let r = &report.partitions[0];
        assert_eq!(r.cut_at_offset, first_lost);
        assert_eq!(r.damaged_file.file_name(), victim.file_name());
        // The damaged segment's whole copy and every later segment are in quarantine.
        let q = segments(&r.quarantine);
        assert_eq!(q.len(), segs.len() - 8, "{q:?}");
        assert_eq!(q[0].metadata().unwrap().len(), sizes[8]);
        for (s, size) in q.iter().zip(&sizes[8..]).skip(1) {
            assert_eq!(s.metadata().unwrap().len(), *size);
        }

        let b = Broker::open(&dir).unwrap();
        assert!(b.open_report().failed_partitions.is_empty());
        assert_prefix(&read_all(&b, "d", 0).unwrap(), first_lost as usize);
        let m = b
            .producer()
            .send(ProducerRecord::new("d").partition(0).value("after repair"))
            .unwrap();
        assert_eq!(m.offset(), first_lost);
        b.close().unwrap();
    }
}

/// Item 2, the other side: a torn tail (garbage after the last batch, nothing valid
/// after it) is still cut at open, losing nothing acknowledged.
#[test]
fn a_torn_tail_is_still_cut() {
    for flush in POLICIES {
        let (_d, dir) = populated(flush, 1);
        let pdir = dir.join("d-0");
        std::fs::remove_file(pdir.join(".clean-shutdown")).unwrap();
        let last = segments(&pdir).pop().unwrap();
        let mut bytes = std::fs::read(&last).unwrap();
        // Half a batch of another write, torn.
        let half = bytes[..40].to_vec();
        bytes.extend_from_slice(&half);
        bytes.extend((0..300u32).map(|i| (i * 7 + 1) as u8));
        std::fs::write(&last, bytes).unwrap();
        let b = Broker::open(&dir).unwrap();
        assert!(b.open_report().is_clean(), "{:?}", b.open_report());
        let log = b.partition_log("d", 0).unwrap();
        assert!(log.recovery_report().truncated_bytes > 0);
        assert_prefix(&read_all(&b, "d", 0).unwrap(), RECORDS);
    }
}

/// Item 2 at the storage level, in the active segment: a flipped byte with valid
/// batches after it is `Corrupt`, not a cut.
#[test]
fn damage_in_the_active_segment_before_valid_batches_is_corrupt() {
    for flush in POLICIES {
        let d = tempfile::tempdir().unwrap();
        let pdir = d.path().join("p-0");
        let cfg = LogConfig {
            flush,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(&pdir, cfg.clone()).unwrap();
        let p = brooklet::format::RecordIn {
            key: None,
            value: Some(b"some value"),
            timestamp: 1,
            headers: &[],
        };
        for _ in 0..50 {
            log.append(&[p]).unwrap();
        }
        log.close().unwrap();
        drop(log);
        std::fs::remove_file(pdir.join(".clean-shutdown")).unwrap();
        let seg = segments(&pdir).pop().unwrap();
        let at = third_batch(&seg);
        flip(&seg, at + 70);
        let before = std::fs::read(&seg).unwrap();
        match PartitionLog::open(&pdir, cfg) {
            Err(Error::Corrupt {
                path,
                offset,
                reason,
            }) => {
                assert_eq!(path, seg);
                assert_eq!(offset, at as u64);
                assert!(reason.contains("offset 2"), "{reason}");
            }
            other => panic!("{flush:?}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(
            std::fs::read(&seg).unwrap(),
            before,
            "the segment was changed"
        );
    }
}

/// Item 3: missing topic metadata never deletes the partitions: the topic is rebuilt
/// from its directories, with a warning.
#[test]
fn missing_metadata_rebuilds_the_topic_from_its_partitions() {
    for flush in POLICIES {
        for whole_dir in [false, true] {
            let (_d, dir) = populated(flush, 3);
            if whole_dir {
                std::fs::remove_dir_all(dir.join("topics")).unwrap();
            } else {
                std::fs::remove_file(dir.join("topics").join("d.topic")).unwrap();
            }
            let b = Broker::open(&dir).unwrap();
            let report = b.open_report().clone();
            assert!(
                report.rebuilt_topics.contains(&"d".to_string()),
                "{report:?}"
            );
            assert!(!report.warnings.is_empty());
            assert_eq!(b.partition_count("d").unwrap(), 3);
            assert_prefix(&read_all(&b, "d", 0).unwrap(), RECORDS);
            // Retention is off on a rebuilt topic until an operator says otherwise.
            assert_eq!(
                b.describe_topic("d").unwrap().config.get_retention_ms(),
                None
            );
            b.run_maintenance().unwrap();
            assert_prefix(&read_all(&b, "d", 0).unwrap(), RECORDS);
            b.close().unwrap();
            drop(b);
            // The rebuilt metadata persists.
            let b = Broker::open(&dir).unwrap();
            assert!(b.open_report().is_clean(), "{:?}", b.open_report());
            assert_prefix(&read_all(&b, "d", 0).unwrap(), RECORDS);
        }
    }
}

/// Item 3: deletion marks directories first (Kafka's `-delete` suffix); a deletion
/// interrupted by a crash is finished at open, and a crashed `create_topic`'s empty
/// directories are removed.
#[test]
fn deletion_marks_first_and_finishes_after_a_crash() {
    let (_d, dir) = populated(FlushPolicy::Os, 2);
    // A crash after the first partition was marked, before the metadata went.
    std::fs::rename(
        dir.join("d-0"),
        dir.join("d-0.0123456789abcdef0123456789abcdef-delete"),
    )
    .unwrap();
    // A crashed create_topic: directories still marked `.creating`, no metadata.
    std::fs::create_dir(dir.join("ghost-0")).unwrap();
    std::fs::write(
        dir.join("ghost-0").join("00000000000000000000.log"),
        vec![0u8; 4096],
    )
    .unwrap();
    std::fs::write(dir.join("ghost-0").join(".creating"), b"").unwrap();
    // An unmarked directory without metadata is never taken for garbage, even empty.
    std::fs::create_dir(dir.join("kept-0")).unwrap();
    std::fs::write(dir.join("kept-0").join("00000000000000000000.log"), b"").unwrap();
    let b = Broker::open(&dir).unwrap();
    assert_eq!(b.open_report().finished_deletions, vec!["d".to_string()]);
    assert_eq!(b.open_report().rebuilt_topics, vec!["kept".to_string()]);
    assert_eq!(b.list_topics(), vec!["kept".to_string(), "ok".to_string()]);
    assert!(!dir.join("d-1").exists());
    assert!(!dir.join("ghost-0").exists());
    b.delete_topic("kept").unwrap();
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-delete"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // delete_topic itself leaves nothing behind.
    b.delete_topic("ok").unwrap();
    assert!(!dir.join("ok-0").exists());
    drop(b);
    let b = Broker::open(&dir).unwrap();
    assert!(b.list_topics().is_empty());
}

/// Item 3: a partition directory the metadata lists but that is gone is `Corrupt`
/// for that partition, never an empty partition.
#[test]
fn a_missing_partition_directory_is_corrupt() {
    let (_d, dir) = populated(FlushPolicy::Os, 2);
    std::fs::rename(dir.join("d-0"), dir.join("elsewhere")).unwrap();
    let b = Broker::open(&dir).unwrap();
    let (tp, _) = b.open_report().failed_partitions[0].clone();
    assert_eq!(tp, TopicPartition::new("d", 0));
    assert!(matches!(
        b.partition_log("d", 0),
        Err(Error::Corrupt { .. })
    ));
    assert!(b.partition_log("d", 1).is_ok());
    assert!(!dir.join("d-0").exists(), "created an empty partition");
}

/// Item 4: a deleted middle segment is `Corrupt` naming the missing offsets, after a
/// clean or an unclean shutdown.
#[test]
fn a_missing_middle_segment_is_corrupt() {
    for flush in POLICIES {
        for clean in [true, false] {
            let (_d, dir) = populated(flush, 1);
            let pdir = dir.join("d-0");
            if !clean {
                std::fs::remove_file(pdir.join(".clean-shutdown")).unwrap();
                std::fs::write(pdir.join("recovery-point"), "0").unwrap();
            }
            let segs = segments(&pdir);
            let gone = &segs[10];
            let (from, to) = (base_of(gone), base_of(&segs[11]));
            for ext in ["log", "index", "timeindex"] {
                std::fs::remove_file(gone.with_extension(ext)).unwrap();
            }
            let b = Broker::open(&dir).unwrap();
            let msg = offline_naming(&b, &segs[9]);
            assert!(
                msg.contains(&format!("{from}")) && msg.contains(&format!("{to}")),
                "{flush:?} clean={clean}: {msg}"
            );
            drop(b);
            assert_eq!(
                segments(&pdir).len(),
                segs.len() - 1,
                "a segment was deleted"
            );
            // Repair keeps the offsets below the gap.
            let report = Broker::repair(&dir).unwrap();
            assert_eq!(report.partitions[0].cut_at_offset, from);
            let b = Broker::open(&dir).unwrap();
            assert_prefix(&read_all(&b, "d", 0).unwrap(), from as usize);
        }
    }
}

/// Item 6: a metadata file that is not UTF-8 is `Corrupt`, naming it; repair moves it
/// into quarantine and the topic is rebuilt from its partitions.
#[test]
fn garbage_metadata_is_corrupt() {
    let (_d, dir) = populated(FlushPolicy::Os, 1);
    let meta = dir.join("topics").join("d.topic");
    std::fs::write(&meta, [0xff, 0xfe, 0x00, 0x80, b'\n']).unwrap();
    match Broker::open(&dir) {
        Err(Error::Corrupt { path, .. }) => assert_eq!(path, meta),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let report = Broker::repair(&dir).unwrap();
    assert_eq!(report.metadata_moved.len(), 1);
    assert!(report.metadata_moved[0].exists());
    let b = Broker::open(&dir).unwrap();
    assert_eq!(b.open_report().rebuilt_topics, vec!["d".to_string()]);
    assert_prefix(&read_all(&b, "d", 0).unwrap(), RECORDS);
}

/// Item 7: the storage layer cannot open a partition a live broker holds.
#[test]
fn a_partition_a_broker_holds_cannot_be_opened_again() {
    let d = tempfile::tempdir().unwrap();
    let b = Broker::open(d.path()).unwrap();
    b.create_topic("t", TopicConfig::new(1)).unwrap();
    b.producer()
        .send(ProducerRecord::new("t").value("one"))
        .unwrap();
    let e = PartitionLog::open(d.path().join("t-0"), LogConfig::default()).unwrap_err();
    assert!(matches!(e, Error::Locked { .. }), "{e}");
    assert!(!d.path().join("t-0").join(".clean-shutdown").exists());
    let m = b
        .producer()
        .send(ProducerRecord::new("t").value("two"))
        .unwrap();
    assert_eq!(m.offset(), 1);
    b.close().unwrap();
    // Once the broker is closed, the log opens.
    let log = PartitionLog::open(d.path().join("t-0"), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 2);
}

/// Repair refuses a directory a broker has open.
#[test]
fn repair_needs_the_directory_closed() {
    let d = tempfile::tempdir().unwrap();
    let b = Broker::open(d.path()).unwrap();
    assert!(matches!(
        Broker::repair(d.path()),
        Err(Error::Locked { .. })
    ));
    drop(b);
    assert!(Broker::repair(d.path()).unwrap().is_empty());
}
