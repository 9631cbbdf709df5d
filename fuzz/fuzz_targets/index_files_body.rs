//! The body of the `index_files` fuzz target: a valid log, written through the public
//! API from a model, closed cleanly, whose `.index` and `.timeindex` files are then
//! replaced (or edited) with arbitrary bytes before `PartitionLog::open`. The `.log`
//! files are never touched, so whatever the index files hold, the log must still serve
//! exactly the records it was given. A plain function so that `tests/fuzz_corpus.rs`
//! replays the corpus on stable Rust (it `#[path]`-includes this file).
//!
//! Input layout:
//!
//! | bytes | meaning |
//! |---|---|
//! | 0 | flags: bit 0 remove the `.clean-shutdown` marker; bits 1-2 the segments (0: one; 1: a roll halfway; 2: a roll at the end, so an empty active segment follows; 3: three segments); bit 3 edit the *first* segment's index files, else the last one's; bits 4-5 `index_interval_bytes` (1, 64, 256, 4096) |
//! | 1 | bits 0-1 how the `.index` is edited, bits 2-3 the `.timeindex`: 0 replaced by the fuzz bytes; 1 the fuzz bytes XORed in at byte `at` (extending the file); 2 cut to `at` bytes, then the fuzz bytes appended; 3 the file removed |
//! | 2 | batches written (1 + b % 32) |
//! | 3 | timestamps: bits 0-1 rising, jittery, falling, wide; bit 2 some extreme ones |
//! | 4-5, 6-7 | lengths of the `.index` and `.timeindex` fuzz bytes (big-endian, clamped) |
//! | 8, 9 | `at` for the `.index` and the `.timeindex` |
//! | then | the `.index` bytes, the `.timeindex` bytes; the rest feeds the records (counts, keys, value lengths and bytes, timestamps; a fixed pseudo-random stream once it runs out) |
//!
//! Checked: opening succeeds (the `.log` is intact and index files are derived data,
//! rebuilt when damaged; docs/format.md) with the log range of the model. A read at
//! every offset from the log start to the log end returns exactly the model's records
//! from that offset on (offsets, keys, values, timestamps), never nothing, or
//! `Error::Corrupt`; `offset_for_timestamp` agrees with the model or returns
//! `Corrupt`. An append lands at the log end, and after a clean close and reopen the
//! same checks hold for the model plus that record.

use std::path::{Path, PathBuf};

use brooklet::Error;
use brooklet::format::RecordIn;
use brooklet::storage::{LogConfig, PartitionLog};

use crate::common::{Scratch, background};

const SEGMENT_BYTES: u64 = 64 * 1024;

/// The input's record bytes, then a xorshift stream, so that short inputs still give
/// varied logs.
struct Gen<'a> {
    bytes: &'a [u8],
    x: u64,
}

impl Gen<'_> {
    fn u8(&mut self) -> u8 {
        if let Some((&b, rest)) = self.bytes.split_first() {
            self.bytes = rest;
            return b;
        }
        self.x ^= self.x << 13;
        self.x ^= self.x >> 7;
        self.x ^= self.x << 17;
        (self.x >> 24) as u8
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Rec {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    ts: i64,
}

/// The batches to write: 1-4 records each.
fn generate(batches: usize, ts_mode: u8, g: &mut Gen<'_>) -> Vec<Vec<Rec>> {
    let mut out = Vec::with_capacity(batches);
    let mut off = 0i64;
    for _ in 0..batches {
        let n = 1 + (g.u8() % 4) as usize;
        let mut batch = Vec::with_capacity(n);
        for _ in 0..n {
            let kb = g.u8();
            let key = (kb & 1 == 0).then(|| format!("k{off}").into_bytes());
            let value = if kb & 2 != 0 {
                None
            } else {
                let len = (g.u8() % 48) as usize;
                Some((0..len).map(|_| g.u8()).collect())
            };
            let mut ts = match ts_mode & 3 {
                0 => 1_000 + off * 3,
                1 => 1_000 + off + (g.u8() as i8 as i64) * 7,
                2 => 100_000 - off * 5,
                _ => (g.u16() as i64 - 0x8000) << 20,
            };
            if ts_mode & 4 != 0 && kb & 0xf0 == 0xf0 {
                ts = [i64::MIN, -1, 0, i64::MAX][(kb >> 2 & 3) as usize];
            }
            batch.push(Rec { key, value, ts });
            off += 1;
        }
        out.push(batch);
    }
    out
}

fn ins(recs: &[Rec]) -> Vec<RecordIn<'_>> {
    recs.iter()
        .map(|r| RecordIn {
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            timestamp: r.ts,
            headers: &[],
        })
        .collect()
}

/// The file after the edit `mode` (see the module docs); `None` removes it.
fn edit(valid: Vec<u8>, mode: u8, at: usize, fuzz: &[u8]) -> Option<Vec<u8>> {
    match mode & 3 {
        0 => Some(fuzz.to_vec()),
        1 => {
            let mut v = valid;
            if v.len() < at + fuzz.len() {
                v.resize(at + fuzz.len(), 0);
            }
            for (i, b) in fuzz.iter().enumerate() {
                v[at + i] ^= b;
            }
            Some(v)
        }
        2 => {
            let mut v = valid;
            v.truncate(at);
            v.extend_from_slice(fuzz);
            Some(v)
        }
        _ => None,
    }
}

fn rewrite(path: &Path, mode: u8, at: usize, fuzz: &[u8]) {
    let valid = std::fs::read(path).unwrap_or_default();
    match edit(valid, mode, at, fuzz) {
        Some(bytes) => std::fs::write(path, bytes).unwrap(),
        None => {
            let _ = std::fs::remove_file(path);
        }
    }
}

pub fn run(data: &[u8]) {
    if data.len() < 10 {
        return;
    }
    let flags = data[0];
    let modes = data[1];
    let batches = 1 + data[2] as usize % 32;
    let ts_mode = data[3];
    let idx_len = u16::from_be_bytes([data[4], data[5]]) as usize;
    let time_len = u16::from_be_bytes([data[6], data[7]]) as usize;
    let (idx_at, time_at) = (data[8] as usize, data[9] as usize);
    let rest = &data[10..];
    let (idx, rest) = rest.split_at(idx_len.min(rest.len()));
    let (time, rest) = rest.split_at(time_len.min(rest.len()));
    let mut g = Gen {
        bytes: rest,
        x: 0x9e37_79b9_7f4a_7c15 ^ u64::from_be_bytes([0, 0, 0, 0, 0, data[2], data[3], 1]),
    };
    let cfg = LogConfig {
        segment_bytes: SEGMENT_BYTES,
        index_interval_bytes: [1, 64, 256, 4096][(flags >> 4 & 3) as usize],
        prefault: false,
        ..LogConfig::default()
    };

    let scratch = Scratch::new("index-files");
    let dir = scratch.0.join("idx-0");
    let plan = generate(batches, ts_mode, &mut g);
    let rolls: Vec<usize> = match flags >> 1 & 3 {
        0 => vec![],
        1 => vec![batches / 2],
        2 => vec![batches],
        _ => vec![batches / 3, 2 * batches / 3],
    };
    let mut model: Vec<Rec> = Vec::new();
    {
        let log = PartitionLog::open_with(&dir, cfg.clone(), background()).unwrap();
        for (i, batch) in plan.iter().enumerate() {
            if rolls.contains(&i) {
                log.roll().unwrap();
            }
            let info = log.append(&ins(batch)).unwrap();
            assert_eq!(info.base_offset, model.len() as i64);
            model.extend(batch.iter().cloned());
        }
        if rolls.contains(&batches) {
            log.roll().unwrap();
        }
        log.close().unwrap();
    }

    // The segment whose index files are edited.
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    let target = if flags & 8 != 0 {
        &logs[0]
    } else {
        logs.last().unwrap()
    };
    rewrite(&target.with_extension("index"), modes, idx_at, idx);
    rewrite(
        &target.with_extension("timeindex"),
        modes >> 2,
        time_at,
        time,
    );
    if flags & 1 != 0 {
        let _ = std::fs::remove_file(dir.join(".clean-shutdown"));
    }

    let log = match PartitionLog::open_with(&dir, cfg.clone(), background()) {
        Ok(log) => log,
        Err(e) => panic!("open with an intact .log and edited index files: {e}"),
    };
    check(&log, &model);

    // Appends continue at the log end and survive a clean reopen.
    let rec = Rec {
        key: Some(b"fuzz".to_vec()),
        value: Some(b"after the index edit".to_vec()),
        ts: model
            .iter()
            .map(|r| r.ts)
            .max()
            .unwrap_or(0)
            .saturating_add(1),
    };
    let info = log.append(&ins(std::slice::from_ref(&rec))).unwrap();
    assert_eq!(info.base_offset, model.len() as i64, "append after open");
    model.push(rec);
    log.close().unwrap();
    drop(log);
    let log = match PartitionLog::open_with(&dir, cfg, background()) {
        Ok(log) => log,
        Err(e) => panic!("clean reopen after an append: {e}"),
    };
    check(&log, &model);
    drop(log);
    drop(scratch);
}

/// The log holds exactly `model`: range, a read at every offset, time lookups.
fn check(log: &PartitionLog, model: &[Rec]) {
    let end = model.len() as i64;
    assert_eq!(
        (log.log_start_offset(), log.log_end_offset()),
        (0, end),
        "log range"
    );
    for off in 0..end {
        check_read(log, model, off);
    }
    match log.read(end, 4096) {
        Ok(f) => assert!(f.is_empty(), "read at the log end {end} is not empty"),
        Err(e) => panic!("read at the log end {end}: {e}"),
    }
    let mut queries = vec![i64::MIN, -1, 0, 1, i64::MAX];
    for r in model {
        queries.extend([r.ts.saturating_sub(1), r.ts, r.ts.saturating_add(1)]);
    }
    queries.sort_unstable();
    queries.dedup();
    for ts in queries {
        let want = model
            .iter()
            .enumerate()
            .find(|(_, r)| r.ts >= ts)
            .map(|(i, r)| (i as i64, r.ts));
        match log.offset_for_timestamp(ts) {
            Ok(got) => assert_eq!(got, want, "offset_for_timestamp({ts}) of 0..{end}"),
            Err(Error::Corrupt { .. }) => {}
            Err(e) => panic!("offset_for_timestamp({ts}): not Corrupt: {e}"),
        }
    }
}

/// A read at `off` gives the model's records from `off` on, or `Corrupt`.
fn check_read(log: &PartitionLog, model: &[Rec], off: i64) {
    let end = model.len() as i64;
    let f = match log.read(off, 1) {
        Ok(f) => f,
        Err(Error::Corrupt { .. }) => return,
        Err(e) => panic!("read({off}) of 0..{end}: not Corrupt: {e}"),
    };
    let mut want = off;
    for r in f.records() {
        let r = match r {
            Ok(r) => r,
            Err(Error::Corrupt { .. }) => return,
            Err(e) => panic!("record of read({off}): not Corrupt: {e}"),
        };
        assert_eq!(
            r.offset(),
            want,
            "read({off}) of 0..{end}: offset {} where {want} was due",
            r.offset()
        );
        assert!(want < end, "read({off}) of 0..{end}: a record at {want}");
        let m = &model[want as usize];
        assert_eq!(r.key(), m.key.as_deref(), "key at {want} (read({off}))");
        assert_eq!(
            r.value(),
            m.value.as_deref(),
            "value at {want} (read({off}))"
        );
        assert_eq!(r.timestamp(), m.ts, "timestamp at {want} (read({off}))");
        want += 1;
    }
    assert!(want > off, "read({off}) of 0..{end} returned no record");
    assert_eq!(f.next_offset(), want, "read({off}): next offset");
}
