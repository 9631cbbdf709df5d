//! Log compaction: for random keyed workloads with tombstones, a full read after
//! compaction yields exactly the latest value of each live key, in offset order, with
//! offsets unchanged, the same as a `HashMap` model; expired tombstones go, young ones
//! stay; `min_compaction_lag` and `min_cleanable_dirty_ratio` hold compaction back; a
//! crash at every step of the swap (and at random instants) reopens to a log that still
//! yields the latest value of every key.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use brooklet::format::RecordIn;
use brooklet::storage::{CompactionConfig, LogConfig, PartitionLog, TopicCompression};
use proptest::prelude::*;

mod support;
use support::this_test_again;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

const KEEP_TOMBSTONES: CompactionConfig = CompactionConfig {
    delete_retention_ms: i64::MAX / 4,
    min_compaction_lag_ms: 0,
    min_cleanable_dirty_ratio: 0.0,
};

/// Every record of the log: (offset, key, value).
/// (offset, key, value).
type Row = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

fn read_all(log: &PartitionLog) -> Vec<Row> {
    let mut out = Vec::new();
    let mut off = log.log_start_offset();
    while off < log.log_end_offset() {
        let f = log.read(off, 1 << 20).unwrap();
        for r in f.records() {
            let r = r.unwrap();
            out.push((
                r.offset(),
                r.key().map(<[u8]>::to_vec),
                r.value().map(<[u8]>::to_vec),
            ));
        }
        if f.next_offset() <= off {
            break;
        }
        off = f.next_offset();
    }
    out
}

/// Appends `ops` (key index, value or tombstone) and returns the model: key -> (offset, value).
fn write(
    log: &PartitionLog,
    ops: &[(u8, Option<u16>)],
    ts: i64,
) -> BTreeMap<Vec<u8>, (i64, Option<Vec<u8>>)> {
    let mut model = BTreeMap::new();
    for chunk in ops.chunks(3) {
        let vals: Vec<(Vec<u8>, Option<Vec<u8>>)> = chunk
            .iter()
            .map(|(k, v)| {
                (
                    format!("key-{k}").into_bytes(),
                    v.map(|v| format!("value-{v}-{}", "x".repeat(v as usize % 40)).into_bytes()),
                )
            })
            .collect();
        let recs: Vec<RecordIn> = vals
            .iter()
            .map(|(k, v)| RecordIn {
                key: Some(k),
                value: v.as_deref(),
                timestamp: ts,
                headers: &[],
            })
            .collect();
        let info = log.append(&recs).unwrap();
        for (i, (k, v)) in vals.into_iter().enumerate() {
            model.insert(k, (info.base_offset + i as i64, v));
        }
    }
    model
}

fn expected(model: &BTreeMap<Vec<u8>, (i64, Option<Vec<u8>>)>, keep_tombstones: bool) -> Vec<Row> {
    let mut v: Vec<_> = model
        .iter()
        .filter(|(_, (_, val))| keep_tombstones || val.is_some())
        .map(|(k, (o, val))| (*o, Some(k.clone()), val.clone()))
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if std::env::var_os("BROOKLET_STRESS").is_some() { 500 } else { 32 }))]
    #[test]
    fn compaction_matches_a_hashmap_model(
        ops in proptest::collection::vec((0u8..20, proptest::option::weighted(0.85, any::<u16>())), 1..300),
        drop_tombstones in any::<bool>(),
        passes in 1usize..3,
        // Compressed topics too: compaction rewrites a batch with its own codec.
        compression in proptest::sample::select(&TopicCompression::ALL[1..]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig { compression, ..config() };
        let log = PartitionLog::open(dir.path().join("c-0"), config.clone()).unwrap();
        let model = write(&log, &ops, 1_000);
        log.roll().unwrap();
        let cfg = if drop_tombstones {
            CompactionConfig { delete_retention_ms: 0, ..KEEP_TOMBSTONES }
        } else {
            KEEP_TOMBSTONES
        };
        for _ in 0..passes {
            log.compact(&cfg, 1_000_000).unwrap();
        }
        let want = expected(&model, !drop_tombstones);
        prop_assert_eq!(read_all(&log), want.clone());
        let codec = compression.codec().unwrap();
        let mut off = log.log_start_offset();
        while off < log.log_end_offset() {
            let f = log.read(off, 1 << 20).unwrap();
            for b in f.batches() {
                let b = b.unwrap();
                if b.header().records_count > 0 {
                    prop_assert_eq!(b.codec().unwrap(), codec);
                }
            }
            off = f.next_offset();
        }
        // The same after a reopen (the swapped files are the durable state).
        log.close().unwrap();
        drop(log);
        let log = PartitionLog::open(dir.path().join("c-0"), config).unwrap();
        prop_assert_eq!(read_all(&log), want);
        prop_assert_eq!(log.log_end_offset(), ops.len() as i64);
    }
}

#[test]
fn lag_and_dirty_ratio_hold_compaction_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path().join("c-0"), config()).unwrap();
    let ops: Vec<(u8, Option<u16>)> = (0..200).map(|i| ((i % 5) as u8, Some(i))).collect();
    write(&log, &ops, 10_000);
    log.roll().unwrap();
    let lagged = CompactionConfig {
        min_compaction_lag_ms: 5_000,
        ..KEEP_TOMBSTONES
    };
    // Records at 10 s are younger than 5 s of lag at "now" = 12 s: nothing to clean.
    assert_eq!(log.compact(&lagged, 12_000).unwrap().segments_cleaned, 0);
    let r = log.compact(&lagged, 20_000).unwrap();
    assert!(r.segments_cleaned > 0 && r.records_removed == 195, "{r:?}");
    // Everything is clean now: the dirty ratio (0) is below 0.5, so the next pass skips.
    let ratio = CompactionConfig {
        min_cleanable_dirty_ratio: 0.5,
        ..KEEP_TOMBSTONES
    };
    assert_eq!(log.compact(&ratio, 20_000).unwrap().segments_cleaned, 0);
    assert_eq!(read_all(&log).len(), 5);
}

const CHILD: &str = "BROOKLET_COMPACTION_CHILD";

#[test]
fn crash_during_compaction_keeps_every_latest_value() {
    if let Ok(spec) = std::env::var(CHILD) {
        let (dir, point) = spec.split_once('|').unwrap();
        let point: u32 = point.parse().unwrap();
        brooklet::storage::COMPACTION_CRASH_AT.store(point, std::sync::atomic::Ordering::Relaxed);
        let log = PartitionLog::open(dir, config()).unwrap();
        let cfg = CompactionConfig {
            delete_retention_ms: 0,
            ..KEEP_TOMBSTONES
        };
        // Point 0: compact forever until SIGKILLed at a random instant.
        loop {
            log.compact(&cfg, 1_000_000).unwrap();
            if point != 0 {
                // A crash point that a pass did not reach: exit cleanly.
                std::process::exit(0);
            }
            let ops: Vec<(u8, Option<u16>)> = (0..30).map(|i| ((i % 7) as u8, Some(i))).collect();
            write(&log, &ops, 1_000);
            log.roll().unwrap();
        }
    }
    let rounds = if std::env::var_os("BROOKLET_STRESS").is_some() {
        100
    } else {
        5
    };
    for round in 0..rounds {
        for point in 0..=5u32 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c-0");
            // Keys 0..7 with several values each and tombstones for 3 of them.
            let model = {
                let log = PartitionLog::open(&path, config()).unwrap();
                let mut ops: Vec<(u8, Option<u16>)> =
                    (0..150u16).map(|i| ((i % 7) as u8, Some(i))).collect();
                ops.extend([(1u8, None), (4, None), (6, None)]);
                let m = write(&log, &ops, 1_000);
                log.roll().unwrap();
                m
            };
            let mut child = this_test_again(
                "crash_during_compaction_keeps_every_latest_value",
                CHILD,
                format!("{}|{point}", path.display()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
            if point == 0 {
                std::thread::sleep(Duration::from_millis(5 + (round as u64 * 37) % 60));
                child.kill().unwrap();
            }
            let status = child.wait().unwrap();
            if point != 0 {
                assert!(
                    !status.success(),
                    "the child never reached crash point {point}"
                );
            }
            let log = PartitionLog::open(&path, config())
                .unwrap_or_else(|e| panic!("round {round} point {point}: {e}"));
            let got = read_all(&log);
            // The latest value of every key written before the child started is there
            // (point 0's child may have appended more, which supersede by key).
            let mut latest: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
            for (_, k, v) in &got {
                latest.insert(k.clone().unwrap(), v.clone());
            }
            for (k, (_, v)) in &model {
                match v {
                    Some(v) if point != 0 => assert_eq!(
                        latest.get(k),
                        Some(&Some(v.clone())),
                        "point {point}: key {k:?}"
                    ),
                    Some(_) => assert!(latest.contains_key(k), "point 0: key {k:?} lost"),
                    None => assert!(
                        latest.get(k).is_none_or(|v| v.is_none() || point == 0),
                        "point {point}: deleted key {k:?} came back"
                    ),
                }
            }
        }
    }
}
