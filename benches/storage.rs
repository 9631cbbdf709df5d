//! Storage-layer throughput: `PartitionLog::append` and `PartitionLog::read` against
//! references measured in the same run (DESIGN.md section 10 states targets as ratios,
//! because the machines are noisy).
//!
//! `append`, for 100 B and 1 KiB values at 1 and 100 records per batch:
//! - `brooklet_prefault`, `brooklet_no_prefault`: `PartitionLog::append`, `LogConfig::prefault`
//!   on and off, nothing else different;
//! - `crossbeam_handoff`: the same records copied into owned `Vec<u8>`s and handed to a
//!   consumer thread through a bounded `crossbeam-channel` (timed until the consumer has
//!   received them all);
//! - `commitlog`: the `commitlog` crate, `append_msg` per record or one `MessageBuf` per batch;
//! - `pwrite`: the same Kafka batches (`encode_batch` into a reused `Vec`) written with
//!   `write_all_at` into an fallocated file (DESIGN.md section 4: pwrite versus writing
//!   into the mapping);
//! - `mmap_memcpy`: the same encoded batches copied into a shared mapping of an fallocated
//!   file, no prefault: what first-touch page faults cost;
//! - `encode_only`: the same batches encoded into a reused buffer, no I/O: the CPU floor.
//!
//! Every writer starts on a fresh file and writes at most [`CHUNK_BYTES`] of batches to
//! it before a new one is opened, so disk use stays small; only the appends are timed
//! (opening, closing, brooklet's fsync on close and deleting are not).
//!
//! `read`: one million 100 B records, stored 100 and 1 per batch, read front to back
//! through `PartitionLog::read` + `records()` (CRC-32C checked per batch) against
//! `mapped_walk`: the closed `.log` mapped read-only and walked by hand, with a CRC per
//! batch and each record's value length decoded. `brooklet_batches` reads the same
//! fetches through `batches()` and `Batch::records()`, to show what `records()` adds.
//!
//! Results and the machine they ran on: `docs/performance.md`.
#![deny(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use brooklet::format::crc::crc32c;
use brooklet::format::{RecordIn, TimestampType, encode_batch, encoded_batch_len};
use brooklet::storage::{LogConfig, PartitionLog};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use memmap2::{MmapMut, MmapOptions};

/// Segment size of every writer: large enough that no bench rolls a segment.
const SEGMENT_BYTES: u64 = 256 << 20;
/// Batch bytes written to one file before the bench moves to a fresh one.
const CHUNK_BYTES: usize = 64 << 20;
/// Records in the log the read group scans.
const READ_RECORDS: usize = 1_000_000;
/// Kafka's consumer default `max.partition.fetch.bytes`.
const FETCH_BYTES: usize = 1 << 20;
const TIMESTAMP: i64 = 1_700_000_000_000;

/// `count` distinct values of `size` bytes.
fn values(size: usize, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| (0..size).map(|j| (i * 31 + j * 7) as u8).collect())
        .collect()
}

/// Keyless records, no headers: the same records every writer gets.
fn records(values: &[Vec<u8>]) -> Vec<RecordIn<'_>> {
    values
        .iter()
        .map(|v| RecordIn {
            key: None,
            value: Some(v),
            timestamp: TIMESTAMP,
            headers: &[],
        })
        .collect()
}

/// The `i`-th batch of `batch` records from the pool.
fn batch_at<'r, 'a>(pool: &'r [RecordIn<'a>], batch: usize, i: u64) -> &'r [RecordIn<'a>] {
    let start = (i as usize * batch) % pool.len();
    &pool[start..start + batch]
}

/// How many batches go to one file before the bench starts a fresh one.
fn batches_per_file(pool: &[RecordIn<'_>], batch: usize) -> u64 {
    (CHUNK_BYTES / encoded_batch_len(&pool[..batch])).max(1) as u64
}

/// Runs `iters` batches in files of at most [`CHUNK_BYTES`]; `write(dir, first, n)`
/// sets up a writer in the fresh directory `dir`, times batches `first..first + n`
/// and returns the time, tearing down untimed.
fn in_chunks(
    iters: u64,
    per_file: u64,
    mut write: impl FnMut(&Path, u64, u64) -> Duration,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(per_file);
        let dir = tempfile::tempdir().expect("tempdir");
        total += write(dir.path(), done, n);
        done += n;
    }
    total
}

fn log_config(prefault: bool) -> LogConfig {
    LogConfig {
        segment_bytes: SEGMENT_BYTES,
        prefault,
        ..LogConfig::default()
    }
}

fn brooklet_append(iters: u64, pool: &[RecordIn<'_>], batch: usize, prefault: bool) -> Duration {
    in_chunks(iters, batches_per_file(pool, batch), |dir, first, n| {
        let log = PartitionLog::open(dir.join("bench-0"), log_config(prefault)).expect("open");
        let start = Instant::now();
        for i in first..first + n {
            black_box(log.append(batch_at(pool, batch, i)).expect("append"));
        }
        let took = start.elapsed();
        log.close().expect("close");
        took
    })
}

fn crossbeam_handoff(iters: u64, pool: &[RecordIn<'_>], batch: usize) -> Duration {
    const CAPACITY: usize = 1024;
    let value = |r: &RecordIn<'_>| r.value.unwrap_or_default().to_vec();
    std::thread::scope(|s| {
        if batch == 1 {
            let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(CAPACITY);
            let consumer = s.spawn(move || rx.iter().map(|v| black_box(v).len()).sum::<usize>());
            let start = Instant::now();
            for i in 0..iters {
                tx.send(value(&batch_at(pool, 1, i)[0])).expect("send");
            }
            drop(tx);
            black_box(consumer.join().expect("consumer"));
            start.elapsed()
        } else {
            let (tx, rx) = crossbeam_channel::bounded::<Vec<Vec<u8>>>(CAPACITY);
            let consumer = s.spawn(move || {
                rx.iter()
                    .map(|b| b.iter().map(|v| black_box(v).len()).sum::<usize>())
                    .sum::<usize>()
            });
            let start = Instant::now();
            for i in 0..iters {
                tx.send(batch_at(pool, batch, i).iter().map(value).collect())
                    .expect("send");
            }
            drop(tx);
            black_box(consumer.join().expect("consumer"));
            start.elapsed()
        }
    })
}

fn commitlog_append(iters: u64, pool: &[RecordIn<'_>], batch: usize) -> Duration {
    use commitlog::message::MessageBuf;
    use commitlog::{CommitLog, LogOptions};
    in_chunks(iters, batches_per_file(pool, batch), |dir, first, n| {
        let mut opts = LogOptions::new(dir);
        opts.segment_max_bytes(SEGMENT_BYTES as usize);
        // One index entry per message; enough that no chunk rolls a segment.
        opts.index_max_items(1 << 20);
        let mut log = CommitLog::new(opts).expect("commitlog");
        let mut buf = MessageBuf::default();
        let start = Instant::now();
        for i in first..first + n {
            let recs = batch_at(pool, batch, i);
            if batch == 1 {
                black_box(
                    log.append_msg(recs[0].value.unwrap_or_default())
                        .expect("append"),
                );
            } else {
                buf.clear();
                for r in recs {
                    buf.push(r.value.unwrap_or_default()).expect("push");
                }
                black_box(log.append(&mut buf).expect("append"));
            }
        }
        start.elapsed()
    })
}

/// A fresh file with [`SEGMENT_BYTES`] of real blocks, as brooklet's segments.
fn preallocated(dir: &Path) -> File {
    let path = dir.join("00000000000000000000.log");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("create");
    rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, SEGMENT_BYTES)
        .expect("fallocate");
    f
}

/// A shared read-write mapping of the first `len` bytes of `file`.
#[expect(
    unsafe_code,
    reason = "memmap2 maps files only through unsafe fns; the mmap references need it"
)]
fn map_shared(file: &File, len: usize) -> MmapMut {
    // SAFETY: every file mapped here lives in a tempdir private to this bench process
    // and is at least `len` bytes long (fallocated, or already written); nothing
    // truncates or writes it through another handle while the mapping lives.
    unsafe { MmapOptions::new().len(len).map_mut(file) }.expect("mmap")
}

/// Encodes batch `i` into `buf` (reused) and returns it.
fn encode_into<'b>(
    buf: &'b mut Vec<u8>,
    pool: &[RecordIn<'_>],
    batch: usize,
    i: u64,
    base: i64,
) -> &'b [u8] {
    let recs = batch_at(pool, batch, i);
    buf.resize(encoded_batch_len(recs), 0);
    let n = encode_batch(buf, base, TimestampType::CreateTime, recs).expect("encode");
    &buf[..n]
}

fn pwrite_append(iters: u64, pool: &[RecordIn<'_>], batch: usize) -> Duration {
    let mut buf = Vec::new();
    in_chunks(iters, batches_per_file(pool, batch), |dir, first, n| {
        let file = preallocated(dir);
        let (mut pos, mut offset) = (0u64, 0i64);
        let start = Instant::now();
        for i in first..first + n {
            let bytes = encode_into(&mut buf, pool, batch, i, offset);
            file.write_all_at(bytes, pos).expect("pwrite");
            pos += bytes.len() as u64;
            offset += batch as i64;
        }
        start.elapsed()
    })
}

fn mmap_append(iters: u64, pool: &[RecordIn<'_>], batch: usize) -> Duration {
    let mut buf = Vec::new();
    in_chunks(iters, batches_per_file(pool, batch), |dir, first, n| {
        let file = preallocated(dir);
        let mut map = map_shared(&file, SEGMENT_BYTES as usize);
        let (mut pos, mut offset) = (0usize, 0i64);
        let start = Instant::now();
        for i in first..first + n {
            let bytes = encode_into(&mut buf, pool, batch, i, offset);
            map[pos..pos + bytes.len()].copy_from_slice(bytes);
            pos += bytes.len();
            offset += batch as i64;
        }
        start.elapsed()
    })
}

/// No I/O at all: the same batches encoded (varints, copies, CRC-32C) into a reused
/// buffer, the CPU floor of any writer of Kafka's format.
fn encode_only(iters: u64, pool: &[RecordIn<'_>], batch: usize) -> Duration {
    let mut buf = Vec::new();
    let start = Instant::now();
    for i in 0..iters {
        black_box(encode_into(
            &mut buf,
            pool,
            batch,
            i,
            i as i64 * batch as i64,
        ));
    }
    start.elapsed()
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.sampling_mode(SamplingMode::Flat);
    for size in [100usize, 1024] {
        let vals = values(size, 100);
        let pool = records(&vals);
        for batch in [1usize, 100] {
            let param = format!("{size}B_x{batch}");
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_function(BenchmarkId::new("brooklet_prefault", &param), |b| {
                b.iter_custom(|iters| brooklet_append(iters, &pool, batch, true))
            });
            g.bench_function(BenchmarkId::new("brooklet_no_prefault", &param), |b| {
                b.iter_custom(|iters| brooklet_append(iters, &pool, batch, false))
            });
            g.bench_function(BenchmarkId::new("crossbeam_handoff", &param), |b| {
                b.iter_custom(|iters| crossbeam_handoff(iters, &pool, batch))
            });
            g.bench_function(BenchmarkId::new("commitlog", &param), |b| {
                b.iter_custom(|iters| commitlog_append(iters, &pool, batch))
            });
            g.bench_function(BenchmarkId::new("pwrite", &param), |b| {
                b.iter_custom(|iters| pwrite_append(iters, &pool, batch))
            });
            g.bench_function(BenchmarkId::new("mmap_memcpy", &param), |b| {
                b.iter_custom(|iters| mmap_append(iters, &pool, batch))
            });
            g.bench_function(BenchmarkId::new("encode_only", &param), |b| {
                b.iter_custom(|iters| encode_only(iters, &pool, batch))
            });
        }
    }
    g.finish();
}

/// Writes [`READ_RECORDS`] records of 100 B, `batch` per batch, and closes the log, so
/// that its one `.log` is trimmed to plain concatenated batches.
fn write_read_log(dir: &Path, batch: usize) {
    let vals = values(100, 100);
    let pool = records(&vals);
    let log = PartitionLog::open(dir, log_config(false)).expect("open");
    for i in 0..(READ_RECORDS / batch) as u64 {
        log.append(batch_at(&pool, batch, i)).expect("append");
    }
    log.close().expect("close");
}

/// Reads the whole log as a consumer would, touching every value; returns the records.
fn brooklet_scan(log: &PartitionLog) -> usize {
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    let (mut count, mut bytes) = (0usize, 0usize);
    while offset < end {
        let fetched = log.read(offset, FETCH_BYTES).expect("read");
        for r in fetched.records() {
            let r = r.expect("record");
            bytes += r.value().map_or(0, <[u8]>::len);
            count += 1;
        }
        offset = fetched.next_offset();
    }
    black_box(bytes);
    count
}

/// As [`brooklet_scan`], through `batches()` and `Batch::records()` instead of
/// `FetchedBatches::records()`: what the record iterator's adapters cost.
fn brooklet_batch_scan(log: &PartitionLog) -> usize {
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    let (mut count, mut bytes) = (0usize, 0usize);
    while offset < end {
        let fetched = log.read(offset, FETCH_BYTES).expect("read");
        for batch in fetched.batches() {
            for r in batch.expect("batch").records() {
                let r = r.expect("record");
                bytes += r.value().map_or(0, <[u8]>::len);
                count += 1;
            }
        }
        offset = fetched.next_offset();
    }
    black_box(bytes);
    count
}

/// A zig-zag varint at `pos` of `b`: (value, next position).
fn varint(b: &[u8], mut pos: usize) -> (i64, usize) {
    let (mut raw, mut shift) = (0u64, 0);
    loop {
        let byte = b[pos];
        pos += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        assert!(shift < 64, "varint too long");
    }
    (((raw >> 1) as i64) ^ -((raw & 1) as i64), pos)
}

/// The reference reader: batch headers walked by hand, CRC-32C per batch, each
/// record's value length decoded; returns the records.
fn mapped_walk(bytes: &[u8]) -> usize {
    let be_u32 = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let (mut pos, mut count, mut value_bytes) = (0usize, 0usize, 0i64);
    while pos + 61 <= bytes.len() {
        let len = be_u32(bytes, pos + 8) as usize + 12;
        let batch = &bytes[pos..pos + len];
        assert_eq!(crc32c(&batch[21..]), be_u32(batch, 17), "CRC at {pos}");
        let mut p = 61;
        for _ in 0..be_u32(batch, 57) {
            let (rec_len, body) = varint(batch, p);
            let (_ts_delta, q) = varint(batch, body + 1);
            let (_offset_delta, q) = varint(batch, q);
            let (key_len, q) = varint(batch, q);
            let (value_len, _) = varint(batch, q + key_len.max(0) as usize);
            value_bytes += value_len.max(0);
            count += 1;
            p = body + rec_len as usize;
        }
        pos += len;
    }
    black_box(value_bytes);
    count
}

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(READ_RECORDS as u64));
    for batch in [100usize, 1] {
        let param = format!("100B_x{batch}");
        // Built on first use, so that a filtered run (`cargo bench -- append`) skips it.
        let mut written: Option<tempfile::TempDir> = None;
        let mut log_dir = || -> std::path::PathBuf {
            let tmp = written.get_or_insert_with(|| {
                let tmp = tempfile::tempdir().expect("tempdir");
                write_read_log(&tmp.path().join("bench-0"), batch);
                tmp
            });
            tmp.path().join("bench-0")
        };
        let mut map = None;
        g.bench_function(BenchmarkId::new("mapped_walk", &param), |b| {
            let map = map.get_or_insert_with(|| {
                let path = log_dir().join("00000000000000000000.log");
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .expect("open .log");
                let len = file.metadata().expect("metadata").len() as usize;
                let map = map_shared(&file, len).make_read_only().expect("read-only");
                assert_eq!(mapped_walk(&map), READ_RECORDS);
                map
            });
            b.iter(|| mapped_walk(map))
        });
        drop(map);
        let mut log = None;
        g.bench_function(BenchmarkId::new("brooklet", &param), |b| {
            let log = log.get_or_insert_with(|| {
                let log = PartitionLog::open(log_dir(), log_config(false)).expect("reopen");
                assert_eq!(brooklet_scan(&log), READ_RECORDS);
                log
            });
            b.iter(|| brooklet_scan(log))
        });
        let mut checked = false;
        g.bench_function(BenchmarkId::new("brooklet_batches", &param), |b| {
            let log = log.get_or_insert_with(|| {
                PartitionLog::open(log_dir(), log_config(false)).expect("reopen")
            });
            if !checked {
                assert_eq!(brooklet_batch_scan(log), READ_RECORDS);
                checked = true;
            }
            b.iter(|| brooklet_batch_scan(log))
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
}

criterion_group! {
    name = benches;
    config = config();
    targets = append, read
}
criterion_main!(benches);
