//! The body of the `api_model` fuzz target: a byte string decoded into a sequence of
//! `PartitionLog` operations (append, read, roll, flush, close and reopen, time lookup,
//! delete_records), each compared with a plain `Vec` model, like `tests/log_model.rs`
//! but with whatever sizes, timestamps and orders the fuzzer finds. A plain function so
//! that `tests/fuzz_corpus.rs` replays the corpus on stable Rust.
//!
//! Byte 0 picks the config (segment size, index interval, timestamp type, message size
//! limit); then each operation is one byte (low 3 bits: which) and its arguments.

use brooklet::Error;
use brooklet::format::{Header, RecordIn, TimestampType, encoded_batch_len};
use brooklet::storage::{LogConfig, PartitionLog};

use crate::common::{Input, Scratch, background};

const MAX_OPS: usize = 64;

#[derive(Debug, Clone, PartialEq)]
struct Rec {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    ts: i64,
    headers: Vec<Header>,
}

fn ins(recs: &[Rec]) -> Vec<RecordIn<'_>> {
    recs.iter()
        .map(|r| RecordIn {
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            timestamp: r.ts,
            headers: &r.headers,
        })
        .collect()
}

fn field(input: &mut Input<'_>, fill: u8) -> Option<Vec<u8>> {
    let b = input.u8();
    if b & 0x80 != 0 {
        return None;
    }
    // Mostly short; sometimes large enough to cross pages and segments.
    let len = if b & 0x40 != 0 {
        input.u16() as usize % 5000
    } else {
        (b & 0x3f) as usize
    };
    Some(vec![fill; len])
}

struct Model {
    recs: Vec<Rec>,
    start: i64,
    last_ts: i64,
}

pub fn run(data: &[u8]) {
    let mut input = Input(data);
    let c = input.u8();
    let cfg = LogConfig {
        segment_bytes: [1024, 2048, 8192, 65536][(c & 3) as usize],
        index_interval_bytes: [1, 100, 512, 4096][(c >> 2 & 3) as usize],
        timestamp_type: if c & 0x10 != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        max_message_bytes: if c & 0x20 != 0 { 3000 } else { 1 << 20 },
        prefault: false,
        ..LogConfig::default()
    };
    let scratch = Scratch::new("api-model");
    let path = scratch.0.join("model-0");
    let mut log = PartitionLog::open_with(&path, cfg.clone(), background()).unwrap();
    let mut m = Model {
        recs: Vec::new(),
        start: 0,
        last_ts: 0,
    };
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let op = input.u8();
        match op & 7 {
            0..=2 => append(&log, &cfg, &mut m, &mut input, op),
            3 => {
                let (at, max) = (input.u16() as i64, input.u16() as usize);
                check_read(&log, &m, at, max);
            }
            4 => log.roll().unwrap(),
            5 => {
                log.flush().unwrap();
                assert_eq!(log.durable_offset(), m.recs.len() as i64);
            }
            6 => {
                log.close().unwrap();
                drop(log);
                log = PartitionLog::open_with(&path, cfg.clone(), background()).unwrap();
                let rep = log.recovery_report();
                assert!(rep.clean_shutdown, "{rep:?}");
                assert_eq!(rep.truncated_bytes, 0, "{rep:?}");
            }
            _ => {
                if op & 8 != 0 {
                    time_lookup(&log, &m, input.i64());
                } else {
                    delete_records(&log, &mut m, input.u16() as i64);
                }
            }
        }
        assert_eq!(log.log_end_offset(), m.recs.len() as i64);
        assert_eq!(log.log_start_offset(), m.start);
    }
    // A final scan agrees record for record.
    let mut off = m.start;
    while off < m.recs.len() as i64 {
        check_read(&log, &m, off - m.start, 4096);
        off = log.read(off, 4096).unwrap().next_offset();
    }
    drop(log);
    drop(scratch);
}

fn append(log: &PartitionLog, cfg: &LogConfig, m: &mut Model, input: &mut Input<'_>, op: u8) {
    let n = 1 + (op >> 3 & 3) as usize;
    let mut recs = Vec::with_capacity(n);
    for i in 0..n {
        let flags = input.u8();
        let ts = if flags & 1 != 0 {
            input.i64()
        } else {
            m.last_ts + (flags >> 1 & 0x0f) as i64
        };
        m.last_ts = ts.clamp(-1 << 50, 1 << 50);
        let headers = if flags & 0x20 != 0 {
            vec![Header {
                key: format!("h{i}"),
                value: field(input, 0xee),
            }]
        } else {
            Vec::new()
        };
        recs.push(Rec {
            key: field(input, b'k'),
            value: field(input, i as u8),
            ts,
            headers,
        });
    }
    // `max_message_bytes` applies to the batch as given; a segment must hold the batch
    // as written, with every timestamp the append time under LogAppendTime (one-byte
    // deltas).
    let size = encoded_batch_len(&ins(&recs));
    let written = match cfg.timestamp_type {
        TimestampType::CreateTime => size,
        TimestampType::LogAppendTime => {
            let stamped: Vec<Rec> = recs.iter().map(|r| Rec { ts: 0, ..r.clone() }).collect();
            encoded_batch_len(&ins(&stamped))
        }
    };
    let fits = size <= cfg.max_message_bytes as usize && written <= cfg.segment_bytes as usize;
    let limit = (cfg.max_message_bytes, cfg.segment_bytes);
    match log.append(&ins(&recs)) {
        Ok(info) => {
            assert!(
                fits,
                "a batch of {size} bytes ({written} written) over the limits {limit:?} was accepted"
            );
            assert_eq!(info.base_offset, m.recs.len() as i64);
            assert_eq!(info.last_offset, (m.recs.len() + n - 1) as i64);
            if let Some(t) = info.log_append_time {
                for r in &mut recs {
                    r.ts = t;
                }
            }
            m.recs.extend(recs);
        }
        Err(Error::RecordTooLarge { .. }) => {
            assert!(
                !fits,
                "a batch of {size} bytes ({written} written, limits {limit:?}) was refused"
            );
        }
        Err(e) => panic!("append: {e}"),
    }
}

fn check_read(log: &PartitionLog, m: &Model, at: i64, max_bytes: usize) {
    let end = m.recs.len() as i64;
    let offset = m.start + at % (end - m.start + 1);
    let fetched = log.read(offset, max_bytes).unwrap();
    if offset == end {
        assert!(fetched.is_empty());
        return;
    }
    let got: Vec<_> = fetched.records().map(|r| r.unwrap()).collect();
    assert!(
        !got.is_empty(),
        "read at {offset} of {end} returned nothing"
    );
    assert_eq!(fetched.next_offset(), got.last().unwrap().offset() + 1);
    assert!(fetched.next_offset() <= end);
    for (i, r) in got.iter().enumerate() {
        let want = &m.recs[(offset as usize) + i];
        assert_eq!(r.offset(), offset + i as i64);
        assert_eq!(r.key(), want.key.as_deref(), "key at {}", r.offset());
        assert_eq!(r.value(), want.value.as_deref(), "value at {}", r.offset());
        assert_eq!(r.timestamp(), want.ts, "timestamp at {}", r.offset());
        let hs: Vec<_> = r
            .headers()
            .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
            .collect();
        let want_hs: Vec<_> = want
            .headers
            .iter()
            .map(|h| (h.key.as_bytes().to_vec(), h.value.clone()))
            .collect();
        assert_eq!(hs, want_hs, "headers at {}", r.offset());
    }
    // Below the start and past the end are out of range.
    for bad in [m.start - 1, end + 1] {
        match log.read(bad, max_bytes) {
            Err(Error::OffsetOutOfRange { .. }) => {}
            other => panic!("read({bad}) of {}..{end}: {other:?}", m.start),
        }
    }
}

fn time_lookup(log: &PartitionLog, m: &Model, ts: i64) {
    let want = m
        .recs
        .iter()
        .enumerate()
        .skip(m.start as usize)
        .find(|(_, r)| r.ts >= ts)
        .map(|(i, r)| (i as i64, r.ts));
    assert_eq!(
        log.offset_for_timestamp(ts).unwrap(),
        want,
        "offset_for_timestamp({ts})"
    );
}

fn delete_records(log: &PartitionLog, m: &mut Model, x: i64) {
    let end = m.recs.len() as i64;
    // Mostly inside [start, end], sometimes just past the end.
    let before = m.start + x % (end - m.start + 2);
    match log.delete_records(before) {
        Ok(start) => {
            assert!(before <= end);
            m.start = m.start.max(before);
            assert_eq!(start, m.start);
        }
        Err(Error::OffsetOutOfRange { .. }) => assert!(before > end),
        Err(e) => panic!("delete_records({before}): {e}"),
    }
}
