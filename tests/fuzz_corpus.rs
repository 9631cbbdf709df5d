//! Replays every seed and regression input of each fuzz target (`fuzz/corpus/<target>/`:
//! `batch_decode`, `segment_recovery`, `api_model`, `index_files`, `offsets_store`)
//! through the target's own checks, so the corpora are regression tests on stable Rust
//! without cargo-fuzz.

#[path = "../fuzz/fuzz_targets/api_model_body.rs"]
mod api_model_body;
#[path = "../fuzz/fuzz_targets/batch_decode_body.rs"]
mod batch_decode_body;
#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;
#[path = "../fuzz/fuzz_targets/index_files_body.rs"]
mod index_files_body;
#[path = "../fuzz/fuzz_targets/offsets_store_body.rs"]
mod offsets_store_body;
#[path = "../fuzz/fuzz_targets/segment_recovery_body.rs"]
mod segment_recovery_body;

use std::path::{Path, PathBuf};

/// The files of `fuzz/corpus/<target>/`, sorted; at least `min` of them.
fn corpus(target: &str, min: usize) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= min,
        "{target} seed corpus has only {} files",
        files.len()
    );
    files
}

/// Runs `body` over every corpus file of `target`, naming the file that fails.
fn replay(target: &str, min: usize, body: fn(&[u8])) {
    for path in corpus(target, min) {
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(panic) = std::panic::catch_unwind(|| body(&data)) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            panic!("{target} corpus file {name} fails: {msg}");
        }
    }
}

#[test]
fn segment_recovery_corpus_passes_the_fuzz_checks() {
    replay("segment_recovery", 8, segment_recovery_body::run);
}

#[test]
fn api_model_corpus_passes_the_fuzz_checks() {
    replay("api_model", 8, api_model_body::run);
}

#[test]
fn index_files_corpus_passes_the_fuzz_checks() {
    replay("index_files", 8, index_files_body::run);
}

#[test]
fn offsets_store_corpus_passes_the_fuzz_checks() {
    replay("offsets_store", 8, offsets_store_body::run);
}

#[test]
fn batch_decode_corpus_passes_the_fuzz_checks() {
    replay("batch_decode", 20, batch_decode_body::run);
}

/// The seeds must exercise both sides: `valid_*` files start with a batch that parses
/// and validates (so it goes through the round trip), `broken_*` files with one the
/// decoder rejects.
#[test]
fn seeds_are_valid_or_broken_as_named() {
    use brooklet::format::Batch;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/batch_decode");
    let (mut valid, mut broken) = (0, 0);
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        // Any codec: compressed seeds are decompressed (bounded) and then validated.
        let decoded = Batch::parse(&data).and_then(|b| b.validate_with(&mut Vec::new(), 1 << 20));
        if name.starts_with("valid_") {
            assert!(decoded.is_ok(), "{name}: {decoded:?}");
            valid += 1;
        } else if name.starts_with("broken_") {
            assert!(decoded.is_err(), "{name} decodes");
            broken += 1;
        }
    }
    assert!(valid >= 8, "{valid} valid seeds");
    assert!(broken >= 8, "{broken} broken seeds");
}

/// Writes the seed corpora of `segment_recovery`, `api_model`, `index_files` and
/// `offsets_store` from real logs:
/// `BROOKLET_WRITE_SEEDS=1 cargo test --test fuzz_corpus write_seed_corpora -- --ignored`.
/// Deterministic: the same files every time (timestamps are fixed).
#[test]
#[ignore = "generator: rewrites fuzz/corpus/{segment_recovery,api_model,index_files,offsets_store}/{seed,broken}_*"]
fn write_seed_corpora() {
    if std::env::var_os("BROOKLET_WRITE_SEEDS").is_none() {
        return;
    }
    seeds::segment_recovery();
    seeds::api_model();
    seeds::index_files();
    seeds::offsets_store();
}

mod seeds {
    use std::path::Path;

    use brooklet::format::{Header, RecordIn};
    use brooklet::storage::{LogConfig, PartitionLog};

    fn out(target: &str, name: &str, data: &[u8]) {
        out_as(target, &format!("seed_{name}"), data);
    }

    fn out_as(target: &str, file: &str, data: &[u8]) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), data).unwrap();
    }

    /// A xorshift stream of `n` bytes.
    fn noise(mut x: u64, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The `segment_recovery` input for these files (see its body for the layout).
    fn input(flags: u8, idx: &[u8], time: &[u8], log: &[u8]) -> Vec<u8> {
        let mut v = vec![flags];
        v.extend_from_slice(&(idx.len() as u16).to_be_bytes());
        v.extend_from_slice(&(time.len() as u16).to_be_bytes());
        v.extend_from_slice(idx);
        v.extend_from_slice(time);
        v.extend_from_slice(log);
        v
    }

    /// A log of `batches` batches (interval 64, so indexed), closed cleanly: its
    /// trimmed `.log`, `.index` and `.timeindex`.
    fn closed_log(batches: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s-0");
        let cfg = LogConfig {
            index_interval_bytes: 64,
            prefault: false,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(&path, cfg).unwrap();
        let hs = [Header::new("h", "v")];
        for b in 0..batches {
            let vals: Vec<Vec<u8>> = (0..=b % 3).map(|r| vec![b as u8; r * 7]).collect();
            let recs: Vec<RecordIn> = vals
                .iter()
                .enumerate()
                .map(|(r, v)| RecordIn {
                    key: (r % 2 == 0).then_some(&b"key"[..]),
                    value: (b % 5 != 4).then_some(&v[..]),
                    timestamp: 1_000 + (b * 10 + r) as i64,
                    headers: if r == 1 { &hs } else { &[] },
                })
                .collect();
            log.append(&recs).unwrap();
        }
        log.close().unwrap();
        let f = |ext: &str| std::fs::read(path.join(format!("{:020}.{ext}", 0))).unwrap();
        (f("log"), f("index"), f("timeindex"))
    }

    pub fn segment_recovery() {
        let t = "segment_recovery";
        let (log, idx, time) = closed_log(12);
        // Flags: 1 clean, 2 sealed, 4 pad log, 8 pad index, 0x10-0x30 interval 64.
        out(t, "active_unclean", &input(0x14, &idx, &time, &log));
        out(t, "active_clean", &input(0x11, &idx, &time, &log));
        out(t, "active_clean_untrimmed", &input(0x1d, &idx, &time, &log));
        out(t, "sealed", &input(0x12, &idx, &time, &log));
        out(t, "sealed_zero_tail", &input(0x16, &idx, &time, &log));
        out(t, "no_indexes", &input(0xd4, &[], &[], &log));
        let cut = log.len() - 9;
        out(t, "torn_last_batch", &input(0x1c, &idx, &time, &log[..cut]));
        // A flipped bit inside the CRC-covered records of the last batch.
        let mut flipped = log.clone();
        flipped[log.len() - 5] ^= 0x10;
        out(t, "bit_flip", &input(0x14, &idx, &time, &flipped));
        out(t, "sealed_bit_flip", &input(0x12, &idx, &time, &flipped));
        let garbage_idx: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        out(t, "garbage_index", &input(0x14, &garbage_idx, &time, &log));
        out(t, "empty", &input(0, &[], &[], &[]));
        let (one, idx1, time1) = closed_log(1);
        out(t, "one_batch", &input(0x04, &idx1, &time1, &one));
    }

    pub fn api_model() {
        let t = "api_model";
        // Byte 0: config; then ops (low 3 bits: 0-2 append, 3 read, 4 roll, 5 flush,
        // 6 reopen, 7 time lookup / delete_records).
        let appends = |n: usize| -> Vec<u8> {
            let mut v = Vec::new();
            for i in 0..n {
                // Append 1-4 records: flags (ts step), key, value fields.
                v.extend_from_slice(&[(i as u8 & 3) << 3, 0x04, 0x03, 0x05, 0x04, 0x02, 0x10]);
                v.extend_from_slice(&[0x06, 0x01, 0x20]);
            }
            v
        };
        let mut s = vec![0x05];
        s.extend(appends(20));
        s.extend_from_slice(&[3, 0, 0, 0x10, 0]);
        out(t, "appends_then_read", &s);
        let mut s = vec![0x00];
        s.extend(appends(10));
        s.extend_from_slice(&[4, 6, 5]);
        s.extend(appends(10));
        s.extend_from_slice(&[3, 0, 5, 0, 100, 6, 3, 0, 1, 1, 0]);
        out(t, "roll_reopen_flush", &s);
        let mut s = vec![0x0a];
        s.extend(appends(16));
        s.extend_from_slice(&[7, 0, 5, 7, 0, 9, 6, 3, 0, 0, 1, 0]);
        out(t, "delete_records_reopen", &s);
        let mut s = vec![0x01];
        s.extend(appends(12));
        s.extend_from_slice(&[0x0f, 0, 0, 0, 0, 0, 0, 3, 0xf0]);
        s.extend_from_slice(&[0x0f, 0x80, 0, 0, 0, 0, 0, 0, 0]);
        out(t, "time_lookups", &s);
        let mut s = vec![0x11];
        s.extend(appends(8));
        s.extend_from_slice(&[6, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0]);
        out(t, "log_append_time", &s);
        // Big records near the message and segment limits.
        let mut s = vec![0x20];
        for len in [900u16, 2900, 2990, 4000] {
            s.extend_from_slice(&[0, 0x00, 0x80, 0x40]);
            s.extend_from_slice(&len.to_be_bytes());
        }
        s.extend_from_slice(&[3, 0, 0, 0xff, 0xff]);
        out(t, "large_records", &s);
        // Extreme timestamps.
        let mut s = vec![0x02];
        for ts in [i64::MIN, -1, 0, i64::MAX, 5] {
            s.extend_from_slice(&[0, 0x01]);
            s.extend_from_slice(&ts.to_be_bytes());
            s.extend_from_slice(&[0x01, 0x01]);
        }
        s.extend_from_slice(&[0x0f, 0x80, 0, 0, 0, 0, 0, 0, 0, 6, 3, 0, 0, 0, 9]);
        out(t, "extreme_timestamps", &s);
        // Pseudo-random mixes.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..5 {
            let bytes: Vec<u8> = (0..300)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            out(t, &format!("random_{i}"), &bytes);
        }
    }

    /// An `index_files` input (see its body for the layout): the log is generated from
    /// `records` (and a fixed stream after it), the edits apply `idx` and `time`.
    #[allow(clippy::too_many_arguments)]
    fn index_input(
        flags: u8,
        modes: u8,
        batches: u8,
        ts_mode: u8,
        (idx_at, idx): (u8, &[u8]),
        (time_at, time): (u8, &[u8]),
        records: &[u8],
    ) -> Vec<u8> {
        let mut v = vec![flags, modes, batches, ts_mode];
        v.extend_from_slice(&(idx.len() as u16).to_be_bytes());
        v.extend_from_slice(&(time.len() as u16).to_be_bytes());
        v.extend_from_slice(&[idx_at, time_at]);
        v.extend_from_slice(idx);
        v.extend_from_slice(time);
        v.extend_from_slice(records);
        v
    }

    pub fn index_files() {
        let t = "index_files";
        // Flags: 1 unclean, 2/4/6 layouts (roll halfway / at the end / 3 segments),
        // 8 edit the first segment, 0x10-0x30 interval 64, 256, 4096. Modes: 0x05 both
        // files XORed with nothing (intact).
        let keep = (0, &[][..]);
        let intact =
            |flags: u8, batches: u8, ts: u8| index_input(flags, 0x05, batches, ts, keep, keep, &[]);
        out(t, "intact_one_segment", &intact(0x00, 20, 0));
        out(t, "intact_interval_64", &intact(0x10, 24, 1));
        out(t, "intact_roll_halfway_first", &intact(0x0a, 30, 2));
        out(t, "intact_roll_at_end", &intact(0x04, 12, 3));
        out(t, "intact_three_segments", &intact(0x16, 31, 4));
        out(t, "intact_unclean", &intact(0x01, 16, 0));
        out(
            t,
            "missing_files",
            &index_input(0x12, 0x0f, 18, 1, keep, keep, &[]),
        );
        // Record bytes from the input: counts, keys, values, timestamps.
        let records = noise(0x5eed_1234_abcd_ef01, 400);
        out(
            t,
            "input_records",
            &index_input(0x00, 0x05, 16, 1, keep, keep, &records),
        );
        // Plausible but wrong entries: one byte of an entry changed.
        let rel = (3, &[0x01][..]);
        out(
            t,
            "rel_plus_one",
            &index_input(0x00, 0x05, 20, 0, rel, keep, &[]),
        );
        let rel_sealed = (11, &[0x02][..]);
        out(
            t,
            "sealed_rel_changed",
            &index_input(0x0a, 0x05, 30, 0, rel_sealed, keep, &[]),
        );
        let pos = (7, &[0x04][..]);
        out(
            t,
            "pos_moved",
            &index_input(0x00, 0x05, 20, 0, pos, keep, &[]),
        );
        let ts = (7, &[0x08][..]);
        out(
            t,
            "time_entry_changed",
            &index_input(0x00, 0x05, 20, 1, keep, ts, &[]),
        );
        out(
            t,
            "sealed_time_entry_changed",
            &index_input(0x0a, 0x05, 30, 1, keep, ts, &[]),
        );
        // Cut to one entry, and entries appended.
        out(
            t,
            "cut_short",
            &index_input(0x00, 0x0a, 20, 0, (8, &[]), (12, &[]), &[]),
        );
        let extra = [0, 0, 0, 40, 0, 0, 1, 0];
        out(
            t,
            "entry_appended",
            &index_input(0x00, 0x06, 20, 0, (255, &extra), keep, &[]),
        );
        // Broken: garbage, zeros (a preallocated file), with and without the marker.
        let garbage = noise(0x0bad_5eed_0000_0001, 96);
        let g = (0, &garbage[..]);
        out_as(
            t,
            "broken_garbage",
            &index_input(0x00, 0x00, 20, 0, g, g, &[]),
        );
        out_as(
            t,
            "broken_garbage_sealed",
            &index_input(0x0a, 0x00, 30, 2, g, g, &[]),
        );
        out_as(
            t,
            "broken_garbage_unclean",
            &index_input(0x01, 0x00, 20, 0, g, g, &[]),
        );
        let zeros = [0u8; 4096];
        let z = (0, &zeros[..]);
        out_as(
            t,
            "broken_zeros",
            &index_input(0x10, 0x00, 20, 0, z, z, &[]),
        );
    }

    /// Real `__consumer_offsets` records (key, value), committed through the API.
    fn real_offset_records() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        use brooklet::{Broker, ConsumerConfig, OffsetAndMetadata, TopicConfig, TopicPartition};
        let dir = tempfile::tempdir().unwrap();
        let b = Broker::open(dir.path()).unwrap();
        b.create_topic("t", TopicConfig::new(2)).unwrap();
        for (i, g) in ["g", "group-1", "grp"].into_iter().enumerate() {
            let mut c = b.consumer(ConsumerConfig::new().group_id(g));
            let commits: Vec<_> = (0..2)
                .map(|p| {
                    let o = OffsetAndMetadata {
                        offset: (i * 10 + p) as i64,
                        metadata: if p == 0 { String::new() } else { "meta".into() },
                        commit_timestamp: 1_700_000_000_000,
                    };
                    (TopicPartition::new("t", p as u32), o)
                })
                .collect();
            c.commit_sync_offsets(&commits).unwrap();
        }
        b.delete_group("grp").unwrap();
        let mut recs = Vec::new();
        for p in 0..b.partition_count("__consumer_offsets").unwrap() {
            let log = b.partition_log("__consumer_offsets", p).unwrap();
            let f = log.read(0, 1 << 20).unwrap();
            for r in f.records() {
                let r = r.unwrap();
                recs.push((r.key().unwrap().to_vec(), r.value().map(<[u8]>::to_vec)));
            }
        }
        b.close().unwrap();
        recs
    }

    pub fn offsets_store() {
        let t = "offsets_store";
        // Byte 0: records in t-0 (0, 1, 7, 300). Phase 1 ops (low 3 bits): 0 commit
        // [group, topic, partition, offset i64, metadata length, timestamp i64], 1
        // tombstone [group, topic, partition], 2 raw [key len, key, value len, value]
        // (0xff: null), 3 damaged commit [commit fields, which, at, xor], 4 append, 5
        // roll, 6 group metadata key [group, value], 7 reopen. Phase 2: 0/6 admin
        // commit [group, partition, offset u16], 1 consumer commit [group, partition,
        // offset, metadata length, timestamp], 2 delete_group [group], 3 reset [group,
        // (offset)], 4 check, 5 reopen, 7 create_partitions, refused [group (unused)].
        let commit = |g: u8, topic: u8, p: u8, off: i64, meta: u8, ts: i64| {
            let mut v = vec![0, g, topic, p];
            v.extend_from_slice(&off.to_be_bytes());
            v.push(meta);
            v.extend_from_slice(&ts.to_be_bytes());
            v
        };
        let mut s = vec![2];
        for i in 0..6u8 {
            s.extend(commit(
                i % 5,
                i % 2,
                i % 3,
                100 + i as i64,
                i * 3,
                1_700_000_000_000,
            ));
        }
        s.push(4);
        out(t, "commits", &s);
        s.extend_from_slice(&[1, 0, 0, 0, 1, 1, 1, 1, 4]);
        out(t, "commits_tombstones", &s);
        // The same commits with Kafka's v1 values, and a roll between them.
        let mut v1 = vec![1];
        for i in 0..4u8 {
            let mut c = commit(i, 0, i % 2, 5 * i as i64, 1, 42);
            c[0] = 8;
            v1.extend(c);
            if i == 1 {
                v1.push(5 | (i << 3));
            }
        }
        out(t, "v1_values_roll", &v1);
        // Misplaced records (0x10: another partition than the group's).
        let mut mis = vec![0];
        mis.extend(commit(0, 0, 0, 7, 0, 1));
        let mut c = commit(0, 0, 0, 9, 0, 2);
        c[0] = 0x10;
        mis.extend(c);
        out(t, "misplaced", &mis);
        // Group metadata and v0 keys: skipped.
        let mut gm = vec![0];
        gm.extend(commit(1, 0, 1, 3, 0, 3));
        gm.extend_from_slice(&[6, 1, 4, 1, 2, 3, 4, 0x0e, 2, 0xff]);
        out(t, "group_metadata_keys", &gm);
        // Real records committed through the API, as raw bytes.
        let mut real = vec![3];
        for (k, v) in real_offset_records() {
            real.push(2);
            real.push(k.len() as u8);
            real.extend_from_slice(&k);
            match v {
                Some(v) => {
                    real.push(v.len() as u8);
                    real.extend_from_slice(&v);
                }
                None => real.push(0xff),
            }
        }
        real.push(4);
        out(t, "real_records", &real);
        // Phase 2: the API after some records.
        let mut api = s.clone();
        api.push(7);
        api.extend_from_slice(&[0, 0, 0, 0, 9]); // commit g t-0 9
        api.extend_from_slice(&[1, 1, 1, 0, 5, 3, 0, 40]); // consumer commit
        api.extend_from_slice(&[0x08, 2, 0, 1]); // commit of -2: refused
        api.extend_from_slice(&[3, 0, 0x0b, 1, 0x13, 0, 0, 7]); // resets
        api.extend_from_slice(&[4, 0, 2, 3, 2, 1, 5, 0]); // check, deletes, reopen
        api.extend_from_slice(&[0, 4, 2, 0, 1]); // commit to t-2: unknown
        api.extend_from_slice(&[1, 0, 0, 0xff, 0xff, 0, 0, 0, 4, 0]); // -1: refused
        out(t, "api_ops", &api);
        // create_partitions on __consumer_offsets (refused), commits, reopens.
        let mut grow = s.clone();
        grow.push(7);
        grow.extend_from_slice(&[0x1f, 0]); // to 8 partitions: refused
        grow.extend_from_slice(&[0, 0, 0, 0, 3, 1, 1, 1, 0, 4, 5, 0, 0, 5, 0]);
        grow.extend_from_slice(&[0, 0, 0, 0, 5, 0, 3, 1, 0, 6, 2, 2, 5, 0]);
        out(t, "create_partitions_refused", &grow);
        // A damaged commit in a key (skipped) and in a value (Corrupt).
        let damaged = |which: u8, at: u8| {
            let mut v = vec![0];
            v.extend(commit(0, 0, 0, 11, 2, 5));
            let mut c = commit(2, 0, 1, 12, 2, 6);
            c[0] = 3;
            v.extend(c);
            v.extend_from_slice(&[which, at, 0x40, 4, 7, 0, 1, 0, 0, 0, 9]);
            v
        };
        out_as(t, "broken_key_version", &damaged(0, 1));
        out_as(t, "broken_value_cut", &damaged(3, 13));
        out_as(t, "broken_metadata_length", &damaged(1, 15));
        out_as(t, "broken_raw_noise", &noise(0xfeed_f00d_1234_5678, 400));
    }
}
