//! Torn tails: an active segment cut at every byte inside each of its last 3 batches,
//! zero-filled from every such byte, or with any bit of its last batch flipped, reopens
//! to exactly the valid prefix, and appends continue densely after it.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use brooklet::format::RecordIn;
use brooklet::storage::{Background, LogConfig, PartitionLog, TopicCompression};

const RECORDS_PER_BATCH: usize = 3;

thread_local! {
    /// The codec of the test running on this thread (each test runs on one thread).
    static COMPRESSION: std::cell::Cell<TopicCompression> =
        const { std::cell::Cell::new(TopicCompression::Producer) };
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 128,
        compression: COMPRESSION.get(),
        ..LogConfig::default()
    }
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat(i % 23)).into_bytes()
}

/// Writes 20 batches, returns the snapshot directory of the "crashed" process and the
/// byte position at which each batch starts (plus the end).
fn crashed_log(root: &Path) -> (PathBuf, Vec<u64>) {
    let live = root.join("live-0");
    let log = PartitionLog::open(&live, config()).unwrap();
    let mut bounds = vec![0u64];
    for b in 0..20 {
        let vals: Vec<Vec<u8>> = (0..RECORDS_PER_BATCH)
            .map(|r| value(b * RECORDS_PER_BATCH + r))
            .collect();
        let recs: Vec<RecordIn> = vals
            .iter()
            .enumerate()
            .map(|(r, v)| RecordIn {
                key: Some(b"k"),
                value: Some(v),
                timestamp: (b * 10 + r) as i64,
                headers: &[],
            })
            .collect();
        log.append(&recs).unwrap();
        bounds.push(log.size_bytes());
    }
    // Copy while open: what a process killed now leaves on disk (page cache included).
    let snap = root.join("snap-0");
    copy_dir(&live, &snap);
    (snap, bounds)
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        // A temp file renamed by the background thread meanwhile is not in the image.
        match std::fs::copy(e.path(), to.join(e.file_name())) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => panic!("{err}"),
        }
    }
}

fn log_file(dir: &Path) -> PathBuf {
    dir.join(format!("{:020}.log", 0))
}

/// Opens the damaged copy and checks it holds exactly `batches` whole batches.
fn expect_prefix(dir: &Path, bg: &Background, batches: usize, what: &str) {
    let log = PartitionLog::open_with(dir, config(), bg).unwrap_or_else(|e| panic!("{what}: {e}"));
    let want = (batches * RECORDS_PER_BATCH) as i64;
    assert_eq!(log.log_end_offset(), want, "{what}");
    let mut offset = 0;
    while offset < want {
        let f = log.read(offset, 1 << 20).unwrap();
        for r in f.records() {
            let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(r.value().unwrap(), value(r.offset() as usize), "{what}");
        }
        offset = f.next_offset();
    }
    // Appending after recovery continues at the valid end.
    let info = log
        .append(&[RecordIn {
            key: None,
            value: Some(b"after"),
            timestamp: 0,
            headers: &[],
        }])
        .unwrap();
    assert_eq!(info.base_offset, want, "{what}");
}

#[test]
fn truncation_at_every_byte_of_the_last_three_batches() {
    truncations();
}

/// The same damage with compressed batches (whose CRC covers the compressed bytes):
/// recovery keeps exactly the valid prefix without decompressing anything.
#[test]
fn compressed_batches_recover_the_same_way() {
    for c in [TopicCompression::Zstd, TopicCompression::Snappy] {
        COMPRESSION.set(c);
        truncations();
        bit_flips();
    }
}

fn truncations() {
    let root = tempfile::tempdir().unwrap();
    let bg = Background::new("torn").unwrap();
    let (snap, bounds) = crashed_log(root.path());
    let n = bounds.len() - 1;
    let case = root.path().join("case-0");
    for batch in n - 3..n {
        for cut in bounds[batch]..bounds[batch + 1] {
            // A short file (the process died during a write at the end of the file).
            copy_dir(&snap, &case);
            let f = OpenOptions::new()
                .write(true)
                .open(log_file(&case))
                .unwrap();
            f.set_len(cut).unwrap();
            drop(f);
            expect_prefix(&case, &bg, batch, &format!("cut at {cut}"));
            // A preallocated file whose tail never reached the disk (zeros from `cut`).
            copy_dir(&snap, &case);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(log_file(&case))
                .unwrap();
            let mut old = vec![0u8; (bounds[batch + 1] - cut) as usize];
            f.read_exact_at(&mut old, cut).unwrap();
            let zeros = vec![0u8; (bounds[n] - cut) as usize];
            f.write_all_at(&zeros, cut).unwrap();
            drop(f);
            // Zeroing bytes that were already zero (a batch's trailing header count)
            // leaves that batch intact, and it must then survive.
            let intact = old.iter().all(|&b| b == 0);
            let want = if intact { batch + 1 } else { batch };
            expect_prefix(&case, &bg, want, &format!("zeros from {cut}"));
        }
    }
}

#[test]
fn every_bit_flip_in_the_last_batch_is_detected() {
    bit_flips();
}

fn bit_flips() {
    let root = tempfile::tempdir().unwrap();
    let bg = Background::new("flip").unwrap();
    let (snap, bounds) = crashed_log(root.path());
    let n = bounds.len() - 1;
    let case = root.path().join("case-0");
    for byte in bounds[n - 1]..bounds[n] {
        for bit in 0..8 {
            copy_dir(&snap, &case);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(log_file(&case))
                .unwrap();
            let mut b = [0u8];
            f.read_exact_at(&mut b, byte).unwrap();
            b[0] ^= 1 << bit;
            f.write_all_at(&b, byte).unwrap();
            drop(f);
            let rel = byte - bounds[n - 1];
            // partitionLeaderEpoch (bytes 12..16) is outside Kafka's CRC and carries no
            // record data: the batch stays, with its records intact.
            let keep = (12..16).contains(&rel);
            let batches = if keep { n } else { n - 1 };
            expect_prefix(&case, &bg, batches, &format!("flip byte {byte} bit {bit}"));
        }
    }
}

/// A crash during a roll: the next segment was created (empty) before the current one
/// was sealed. Whether the unsealed segment's tail is intact, zeroed or torn, the log
/// reopens to exactly its valid prefix with dense offsets.
#[test]
fn crash_between_creating_and_sealing_a_segment() {
    let root = tempfile::tempdir().unwrap();
    let bg = Background::new("roll").unwrap();
    let (snap, bounds) = crashed_log(root.path());
    let n = bounds.len() - 1;
    let next_base = (n * RECORDS_PER_BATCH) as i64;
    let case = root.path().join("case-0");
    for (what, keep_batches) in [("intact", n), ("torn", n - 1)] {
        copy_dir(&snap, &case);
        if what == "torn" {
            // Garbage over the second half of the last batch.
            let f = OpenOptions::new()
                .write(true)
                .open(log_file(&case))
                .unwrap();
            let mid = (bounds[n - 1] + bounds[n]) / 2;
            f.write_all_at(&vec![0xAB; (bounds[n] - mid) as usize], mid)
                .unwrap();
        }
        for ext in ["log", "index", "timeindex"] {
            std::fs::File::create(case.join(format!("{next_base:020}.{ext}"))).unwrap();
        }
        expect_prefix(
            &case,
            &bg,
            keep_batches,
            &format!("crash during roll, {what} tail"),
        );
    }
}
