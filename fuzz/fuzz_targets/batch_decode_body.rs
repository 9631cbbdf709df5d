//! The body of the `batch_decode` fuzz target, a plain function so that the main
//! crate's `tests/fuzz_corpus.rs` can replay the seed corpus on stable Rust without
//! libFuzzer (it `#[path]`-includes this file).

use brooklet::format::{
    Batch, BatchHeader, Compression, Header, RecordIn, RecordRef, TimestampType, compress_batch,
    decompress, encode_batch, encoded_batch_len,
};

/// The decompression limit: small, so that a bomb in the input is caught cheaply.
const MAX_OUT: usize = 1 << 20;

/// Decodes `data` as a sequence of RecordBatch v2 batches (as in a `.log` file) and
/// checks the codec's properties on each batch that parses:
///
/// * parsing, validating and iterating records and headers never panic;
/// * a batch that validates yields exactly `records_count` records, each with
///   `header_count` headers, at increasing offsets within `[base, last_offset]`;
/// * round trip: its records re-encoded with `encode_batch` at the same base offset and
///   timestamp type decode to the same keys, values, headers and timestamps, at offsets
///   `base..` (equal to the originals when the original had no offset gaps), and
///   re-encoding that batch reproduces it byte for byte;
/// * compressed batches (any codec): decompressing the records section never panics
///   nor writes more than `MAX_OUT` bytes, and a batch that validates goes through the
///   same checks, and its re-encoding, compressed again with its codec, decodes to it.
///
/// The whole input also goes through every codec's decompressor, bounded by `MAX_OUT`.
pub fn run(data: &[u8]) {
    let mut out = Vec::new();
    for codec in Compression::ALL {
        out.clear();
        let _ = decompress(codec, data, MAX_OUT, &mut out);
        assert!(out.len() <= MAX_OUT, "{codec} wrote past max_out");
    }
    let mut pos = 0;
    // Bounded: every parsed batch is at least a header long.
    while pos < data.len() {
        let Ok(batch) = Batch::parse(&data[pos..]) else {
            return;
        };
        let header = *batch.header();
        assert_eq!(batch.as_bytes().len(), header.total_len());
        assert!(header.total_len() <= data.len() - pos);
        check_batch(&batch);
        pos += header.total_len();
    }
}

fn check_batch(batch: &Batch<'_>) {
    if batch.header().compression() != 0 {
        check_compressed(batch);
        return;
    }
    let header = *batch.header();
    let valid = batch.validate().is_ok();

    // Iterate everything, valid or not; stop at the first error as callers do.
    let mut records = Vec::new();
    let mut failed = false;
    for r in batch.records() {
        match r {
            Ok(r) => {
                let n = r.headers().count();
                if valid {
                    assert_eq!(n, r.header_count(), "validated headers all decode");
                }
                records.push(r);
            }
            Err(_) => {
                failed = true;
            }
        }
    }
    if !valid {
        return;
    }
    assert!(!failed, "validate() accepted a batch whose records() fails");
    assert_eq!(records.len(), header.records_count as usize);
    let mut prev = header.base_offset - 1;
    for r in &records {
        assert!(r.offset() > prev && r.offset() <= header.last_offset());
        prev = r.offset();
        if header.timestamp_type() == TimestampType::LogAppendTime {
            assert_eq!(r.timestamp(), header.max_timestamp);
        }
    }
    round_trip(&header, &records);
}

fn check_compressed(batch: &Batch<'_>) {
    let header = *batch.header();
    let mut scratch = Vec::new();
    let valid = batch.validate_with(&mut scratch, MAX_OUT).is_ok();
    assert!(scratch.len() <= MAX_OUT);
    let Ok(records) = batch.records_with(&mut scratch, MAX_OUT) else {
        assert!(
            !valid,
            "validate_with accepted a batch records_with refuses"
        );
        return;
    };
    let mut decoded = Vec::new();
    for r in records {
        match r {
            Ok(r) => {
                let _ = r.headers().count();
                decoded.push(r);
            }
            Err(_) => {
                assert!(!valid, "validate_with accepted a batch whose records fail");
                return;
            }
        }
    }
    if !valid {
        return;
    }
    assert_eq!(decoded.len(), header.records_count as usize);
    round_trip(&header, &decoded);
    // The same records, compressed again with the batch's codec, decode to them.
    let codec = batch.codec().expect("a validated batch has a known codec");
    let Some((plain, _)) = reencode(&header, &decoded) else {
        return;
    };
    let mut again = Vec::new();
    compress_batch(&plain, codec, None, &mut again).expect("compressing a valid batch");
    let b = Batch::parse(&again).expect("recompressed batch parses");
    let mut scratch2 = Vec::new();
    b.validate_with(&mut scratch2, MAX_OUT)
        .expect("recompressed batch validates");
    let back: Vec<RecordRef<'_>> = b
        .records_with(&mut scratch2, MAX_OUT)
        .expect("recompressed batch decompresses")
        .map(|r| r.expect("recompressed record decodes"))
        .collect();
    assert_eq!(back.len(), decoded.len());
    for (x, y) in back.iter().zip(&decoded) {
        assert_eq!(
            (x.key(), x.value(), x.timestamp()),
            (y.key(), y.value(), y.timestamp())
        );
        assert!(x.headers().eq(y.headers()));
    }
}

/// `records` encoded uncompressed at the header's base offset and timestamp type, with
/// their owned headers; `None` when a header key is not UTF-8 or there are no records.
fn reencode(header: &BatchHeader, records: &[RecordRef<'_>]) -> Option<(Vec<u8>, usize)> {
    let mut owned = Vec::with_capacity(records.len());
    for r in records {
        let mut headers = Vec::with_capacity(r.header_count());
        for h in r.headers() {
            headers.push(Header {
                key: std::str::from_utf8(h.key).ok()?.to_owned(),
                value: h.value.map(<[u8]>::to_vec),
            });
        }
        owned.push(headers);
    }
    let ins: Vec<RecordIn<'_>> = records
        .iter()
        .zip(&owned)
        .map(|(r, headers)| RecordIn {
            key: r.key(),
            value: r.value(),
            timestamp: r.timestamp(),
            headers,
        })
        .collect();
    if ins.is_empty() {
        return None;
    }
    let mut buf = vec![0u8; encoded_batch_len(&ins)];
    let n = encode_batch(&mut buf, header.base_offset, header.timestamp_type(), &ins).ok()?;
    Some((buf, n))
}

/// A decoded record with owned headers, as `encode_batch` takes them.
struct Owned<'a> {
    rec: RecordRef<'a>,
    headers: Vec<Header>,
}

fn round_trip(header: &BatchHeader, records: &[RecordRef<'_>]) {
    let mut owned = Vec::with_capacity(records.len());
    for r in records {
        let mut headers = Vec::with_capacity(r.header_count());
        for h in r.headers() {
            // `Header` keys are Rust strings; Kafka clients write UTF-8 keys, the decoder
            // does not check. Keys that are not UTF-8 cannot be re-encoded: skip.
            let Ok(key) = std::str::from_utf8(h.key) else {
                return;
            };
            headers.push(Header {
                key: key.to_owned(),
                value: h.value.map(<[u8]>::to_vec),
            });
        }
        owned.push(Owned { rec: *r, headers });
    }
    let ins: Vec<RecordIn<'_>> = owned
        .iter()
        .map(|o| RecordIn {
            key: o.rec.key(),
            value: o.rec.value(),
            timestamp: o.rec.timestamp(),
            headers: &o.headers,
        })
        .collect();
    let ts_type = header.timestamp_type();
    let base = header.base_offset;
    let len = encoded_batch_len(&ins);
    let mut buf = vec![0u8; len];
    if ins.is_empty() {
        // Kafka allows empty batches (compaction can leave them); encode_batch does not
        // write them.
        assert!(encode_batch(&mut buf, base, ts_type, &ins).is_err());
        return;
    }
    let n = encode_batch(&mut buf, base, ts_type, &ins).expect("re-encoding decoded records");
    assert_eq!(n, len);

    let again = Batch::parse(&buf).expect("re-encoded batch parses");
    again.validate().expect("re-encoded batch validates");
    let h2 = again.header();
    assert_eq!(h2.base_offset, base);
    assert_eq!(h2.timestamp_type(), ts_type);
    assert_eq!(h2.records_count as usize, records.len());
    assert_eq!(h2.total_len(), len);
    let gapless = records.last().map(RecordRef::offset) == Some(base + records.len() as i64 - 1);
    let decoded: Vec<RecordRef<'_>> = again
        .records()
        .map(|r| r.expect("re-encoded record decodes"))
        .collect();
    assert_eq!(decoded.len(), records.len());
    for (i, (d, o)) in decoded.iter().zip(records).enumerate() {
        assert_eq!(d.offset(), base + i as i64);
        if gapless {
            assert_eq!(d.offset(), o.offset());
        }
        assert_eq!(d.timestamp(), o.timestamp(), "timestamp of record {i}");
        assert_eq!(d.key(), o.key(), "key of record {i}");
        assert_eq!(d.value(), o.value(), "value of record {i}");
        assert_eq!(d.header_count(), o.header_count());
        assert!(d.headers().eq(o.headers()), "headers of record {i}");
    }

    // The encoding is canonical: encoding what we decoded from our own output gives
    // the same bytes.
    let mut buf2 = vec![0u8; len];
    let ins2: Vec<RecordIn<'_>> = decoded
        .iter()
        .zip(&owned)
        .map(|(d, o)| RecordIn {
            key: d.key(),
            value: d.value(),
            timestamp: d.timestamp(),
            headers: &o.headers,
        })
        .collect();
    assert_eq!(encoded_batch_len(&ins2), len);
    encode_batch(&mut buf2, base, ts_type, &ins2).expect("second re-encoding");
    assert_eq!(buf, buf2, "encode(decode(encode(x))) != encode(x)");
}
