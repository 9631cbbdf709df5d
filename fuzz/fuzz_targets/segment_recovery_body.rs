//! The body of the `segment_recovery` fuzz target: arbitrary bytes as a partition
//! directory's segment files, then `PartitionLog::open`. A plain function so that
//! `tests/fuzz_corpus.rs` replays the corpus on stable Rust (it `#[path]`-includes
//! this file).
//!
//! Input layout:
//!
//! | bytes | meaning |
//! |---|---|
//! | 0 | flags: bit 0 a `.clean-shutdown` marker; bit 1 the bytes form a *sealed* segment (base 0) followed by an empty active one (base 1,000,000), else the active segment (base 0); bit 2 zero-pad the `.log` to the segment size (preallocation); bit 3 zero-pad the `.index`; bits 4-5 `index_interval_bytes` (1, 64, 512, 4096); bit 6 no `.index` file; bit 7 no `.timeindex` file |
//! | 1-2 | length of the `.index` bytes (big-endian, clamped to what is left) |
//! | 3-4 | length of the `.timeindex` bytes (likewise) |
//! | then | the `.index` bytes, the `.timeindex` bytes, and the rest is the `.log` |
//!
//! Checked: opening returns `Ok` or an `Err`, never panics. When it opens, the log
//! range is sane; every read from the log start to the log end returns records at
//! increasing offsets, at or after the one asked for and below the log end, or
//! `Error::Corrupt` (never another error); `offset_for_timestamp` returns `Ok` or
//! `Corrupt`; an append succeeds at the log end; and after a clean close the log
//! reopens with that record last.

use brooklet::Error;
use brooklet::format::RecordIn;
use brooklet::storage::{LogConfig, PartitionLog};

use crate::common::{Scratch, background};

const SEGMENT_BYTES: usize = 64 * 1024;
const ACTIVE_BASE: i64 = 1_000_000;

fn name(base: i64, ext: &str) -> String {
    format!("{base:020}.{ext}")
}

pub fn run(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let flags = data[0];
    let idx_len = u16::from_be_bytes([data[1], data[2]]) as usize;
    let time_len = u16::from_be_bytes([data[3], data[4]]) as usize;
    let rest = &data[5..];
    let (idx, rest) = rest.split_at(idx_len.min(rest.len()));
    let (time, log) = rest.split_at(time_len.min(rest.len()));
    let clean = flags & 1 != 0;
    let sealed = flags & 2 != 0;
    let cfg = LogConfig {
        segment_bytes: SEGMENT_BYTES as u64,
        index_interval_bytes: [1, 64, 512, 4096][(flags >> 4 & 3) as usize],
        prefault: false,
        ..LogConfig::default()
    };

    let scratch = Scratch::new("recovery");
    let dir = scratch.0.join("fuzz-0");
    std::fs::create_dir_all(&dir).unwrap();
    let mut log_bytes = log.to_vec();
    if flags & 4 != 0 && log_bytes.len() < SEGMENT_BYTES {
        log_bytes.resize(SEGMENT_BYTES, 0);
    }
    let mut idx_bytes = idx.to_vec();
    if flags & 8 != 0 {
        idx_bytes.resize(idx_bytes.len() + 4096, 0);
    }
    std::fs::write(dir.join(name(0, "log")), &log_bytes).unwrap();
    if flags & 0x40 == 0 {
        std::fs::write(dir.join(name(0, "index")), &idx_bytes).unwrap();
    }
    if flags & 0x80 == 0 {
        std::fs::write(dir.join(name(0, "timeindex")), time).unwrap();
    }
    if sealed {
        std::fs::write(dir.join(name(ACTIVE_BASE, "log")), b"").unwrap();
    }
    if clean {
        std::fs::write(dir.join(".clean-shutdown"), b"").unwrap();
    }

    let log = match PartitionLog::open_with(&dir, cfg.clone(), background()) {
        Ok(log) => log,
        Err(e) => {
            // Any typed error will do; its message must render.
            let _ = e.to_string();
            return;
        }
    };
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    assert!(0 <= start && start <= end, "log range {start}..{end}");
    // With one segment there is no gap between segments: every offset below the end
    // is in a batch, so an empty read there would leave a consumer stuck.
    read_everything(&log, start, end, !sealed);
    for ts in [i64::MIN, -1, 0, 1, 1 << 40, i64::MAX] {
        match log.offset_for_timestamp(ts) {
            Ok(Some((off, t))) => {
                assert!(
                    (start..end).contains(&off),
                    "offset_for_timestamp({ts}) = {off}, log {start}..{end}"
                );
                assert!(t >= ts);
            }
            Ok(None) | Err(Error::Corrupt { .. }) => {}
            Err(e) => panic!("offset_for_timestamp({ts}): not Corrupt: {e}"),
        }
    }

    // Appends continue at the log end, and survive a clean reopen.
    let rec = RecordIn {
        key: Some(b"fuzz"),
        value: Some(b"after recovery"),
        timestamp: 7,
        headers: &[],
    };
    let info = log.append(&[rec]).expect("append after recovery");
    assert_eq!(info.base_offset, end, "append after recovery");
    log.close().expect("close after recovery");
    drop(log);
    let log = PartitionLog::open_with(&dir, cfg, background()).expect("clean reopen");
    assert_eq!(
        log.log_end_offset(),
        end + 1,
        "log end after a clean reopen"
    );
    let f = log.read(end, 1 << 20).expect("read the appended record");
    let r = f.records().next().expect("the appended record").unwrap();
    assert_eq!((r.offset(), r.value()), (end, Some(&b"after recovery"[..])));
    drop(log);
    drop(scratch);
}

/// Reads `[start, end)`: records come in increasing offsets at or after the one asked
/// for and below `end`, until the end or a `Corrupt` error; with `dense`, a read below
/// the end is never empty.
fn read_everything(log: &PartitionLog, start: i64, end: i64, dense: bool) {
    let mut off = start;
    while off < end {
        let f = match log.read(off, 4096) {
            Ok(f) => f,
            Err(Error::Corrupt { .. }) => return,
            Err(e) => panic!("read({off}) of {start}..{end}: not Corrupt: {e}"),
        };
        if f.is_empty() {
            assert!(!dense, "read({off}) of {start}..{end} is empty");
            // An offset gap between segments, up to the log end: nothing more to read.
            return;
        }
        let mut prev = off - 1;
        for r in f.records() {
            match r {
                Ok(r) => {
                    assert!(
                        r.offset() > prev && r.offset() < end,
                        "read({off}) of {start}..{end}: offset {} after {prev}",
                        r.offset()
                    );
                    prev = r.offset();
                }
                Err(Error::Corrupt { .. }) => return,
                Err(e) => panic!("record after {off}: not Corrupt: {e}"),
            }
        }
        assert!(
            f.next_offset() > off && f.next_offset() <= end,
            "read({off}) of {start}..{end}: next offset {}",
            f.next_offset()
        );
        off = f.next_offset();
    }
}
