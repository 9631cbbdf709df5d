//! Batches whose records section is compressed (attributes bits 0-2 != 0).
//!
//! In a compressed RecordBatch v2 the 61-byte header stays as it is and everything
//! after it, the records exactly as an uncompressed batch would hold them, is one
//! compressed stream ([`super::compression`]). `batchLength` counts the compressed
//! bytes and the CRC covers them (Kafka's `DefaultRecordBatch`).
//!
//! Reading decompresses once per batch into a buffer the caller owns and keeps, and the
//! records borrow from it ([`Batch::records_with`]), so a reader allocates nothing per
//! record and, reusing the buffer, nothing per batch once it has grown. Uncompressed
//! batches keep their zero-copy path: their records borrow from the batch itself.
//!
//! Writing encodes the records uncompressed with the one batch encoder
//! ([`super::batch`]), then compresses the records section ([`compress_batch`]).

// Until the producer, storage and consumer use it (the wiring half of issue 14), only
// tests and `internals` users call this module.
#![cfg_attr(not(feature = "internals"), allow(dead_code))]

use super::batch::{
    Batch, BatchRecords, HEADER_LEN, LOG_OVERHEAD, RecordIn, TimestampType, encode_batch,
    encoded_batch_len,
};
use super::compression::{Compression, compress, decompress};
use super::crc::crc32c;
use crate::error::{Error, Result};

// Where the fields this module rewrites sit in the batch header (the codec's own table;
// the CRC covers the batch from the attributes to its end).
use super::batch::at::{
    ATTRIBUTES as ATTRIBUTES_AT, BATCH_LENGTH as BATCH_LENGTH_AT, CRC as CRC_AT,
};

impl<'a> Batch<'a> {
    /// The batch's codec (attributes bits 0-2).
    ///
    /// # Errors
    /// [`Error::Format`] (offset 21) for ids 5-7, which Kafka does not define.
    pub fn codec(&self) -> Result<Compression> {
        let id = self.header().compression();
        Compression::from_id(id).ok_or_else(|| Error::Format {
            offset: ATTRIBUTES_AT,
            reason: format!("unknown compression codec {id} in the batch attributes"),
        })
    }

    /// No records and no records section (an empty batch, as compaction leaves one,
    /// whatever its codec bits say): there is nothing to decompress.
    fn is_empty_section(&self) -> bool {
        self.header().records_count == 0 && self.records_section().is_empty()
    }

    /// The records section as stored: everything after the 61-byte header, compressed
    /// when [`Batch::codec`] is not none.
    pub fn records_section(&self) -> &'a [u8] {
        &self.as_bytes()[HEADER_LEN..]
    }

    /// The batch's records whatever its codec. Uncompressed, they borrow from the batch
    /// (as [`Batch::records`]) and `scratch` is untouched; compressed, the records
    /// section is decompressed into `scratch` (cleared first, at most `max_out` bytes)
    /// and the records borrow from it. Keep `scratch` between batches to reuse its
    /// memory.
    ///
    /// Offsets in errors from the iterator count from the start of the decompressed
    /// records (of the batch when uncompressed).
    ///
    /// # Errors
    /// [`Error::Format`] when the codec id is unknown, or the section does not
    /// decompress (damaged, truncated, or more than `max_out` bytes); the offset is in
    /// the batch. Record errors come from the iterator, as with [`Batch::records`].
    pub fn records_with<'r>(
        &self,
        scratch: &'r mut Vec<u8>,
        max_out: usize,
    ) -> Result<BatchRecords<'r>>
    where
        'a: 'r,
    {
        let codec = self.codec()?;
        if codec == Compression::None || self.is_empty_section() {
            return Ok(self.records());
        }
        scratch.clear();
        decompress(codec, self.records_section(), max_out, scratch).map_err(in_batch)?;
        Ok(BatchRecords::decompressed(*self.header(), scratch))
    }

    /// [`Batch::validate`] for any codec: decompresses into `scratch` as
    /// [`Batch::records_with`] does, then checks every record and that the records
    /// fill the decompressed bytes exactly.
    ///
    /// # Errors
    /// As [`Batch::records_with`], and [`Error::Format`] for the first bad record or
    /// for bytes left after the last one.
    pub fn validate_with(&self, scratch: &mut Vec<u8>, max_out: usize) -> Result<()> {
        if self.codec()? == Compression::None || self.is_empty_section() {
            return self.validate();
        }
        let mut it = self.records_with(scratch, max_out)?;
        for r in &mut it {
            r?;
        }
        let (used, len) = (it.position(), scratch.len());
        if used != len {
            return Err(Error::Format {
                offset: used,
                reason: format!(
                    "{} decompressed bytes left after the last of {} records",
                    len - used,
                    self.header().records_count
                ),
            });
        }
        Ok(())
    }
}

impl<'a> Batch<'a> {
    /// Appends this batch's records section, decompressed (at most `max_out` bytes),
    /// to `out`, which may already hold other batches' records: a reader that keeps
    /// several batches' records in one buffer reads them with [`Batch::records_in`].
    /// An uncompressed batch appends its records section as it is.
    ///
    /// # Errors
    /// As [`Batch::records_with`]; on error `out` is as it was.
    pub fn decompress_into(&self, max_out: usize, out: &mut Vec<u8>) -> Result<()> {
        let codec = self.codec()?;
        if self.is_empty_section() {
            return Ok(());
        }
        let start = out.len();
        decompress(codec, self.records_section(), max_out, out).map_err(|e| {
            out.truncate(start);
            in_batch(e)
        })
    }

    /// The records of this batch read from `records`: its records section as
    /// [`Batch::decompress_into`] wrote it. For an uncompressed batch `records` is
    /// ignored and the records borrow from the batch, as with [`Batch::records`].
    pub fn records_in<'r>(&self, records: &'r [u8]) -> BatchRecords<'r>
    where
        'a: 'r,
    {
        if self.header().compression() == 0 {
            return self.records();
        }
        BatchRecords::decompressed(*self.header(), records)
    }

    /// What a log checks of a stored batch without decompressing it (recovery): the
    /// records of an uncompressed batch as [`Batch::validate`] does; of a compressed
    /// one, that its codec is known. Its CRC, checked by [`Batch::parse`], covers the
    /// compressed bytes; its records are checked when they are read.
    ///
    /// # Errors
    /// [`Error::Format`] as [`Batch::validate`] and [`Batch::codec`].
    pub fn check_stored(&self) -> Result<()> {
        if self.codec()? == Compression::None {
            self.validate()
        } else {
            Ok(())
        }
    }
}

/// Appends to `out` the batch `batch` with its records recompressed with `codec` at
/// `level` (decompress, check every record, compress: what Kafka's broker does when a
/// topic's `compression.type` differs from the producer's), and returns its length.
/// The header is kept except for `batchLength`, the codec bits and the CRC.
/// `scratch` holds the decompressed records and the uncompressed batch on the way.
///
/// # Errors
/// As [`Batch::validate_with`] (damaged or too large, at most `max_out` decompressed
/// bytes) and [`compress_batch`].
pub fn recompress_batch(
    batch: &Batch<'_>,
    codec: Compression,
    level: Option<i32>,
    max_out: usize,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<usize> {
    batch.validate_with(scratch, max_out)?;
    if batch.header().compression() == 0 {
        // validate_with left scratch alone: the records are the batch's own.
        scratch.clear();
        scratch.extend_from_slice(batch.records_section());
    }
    let records_len = scratch.len();
    let Ok(batch_length) = i32::try_from(HEADER_LEN - LOG_OVERHEAD + records_len) else {
        return Err(Error::InvalidArgument(format!(
            "a batch of {records_len} decompressed bytes exceeds 2 GiB"
        )));
    };
    // The uncompressed batch: header, then the records, after them in scratch.
    scratch.extend_from_slice(&batch.as_bytes()[..HEADER_LEN]);
    scratch.copy_within(..records_len, HEADER_LEN);
    scratch[..HEADER_LEN].copy_from_slice(&batch.as_bytes()[..HEADER_LEN]);
    let b = &mut scratch[..];
    b[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = i16::from_be_bytes([b[ATTRIBUTES_AT], b[ATTRIBUTES_AT + 1]]) & !0x07;
    b[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c(&b[ATTRIBUTES_AT..]);
    b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    compress_batch(scratch, codec, level, out)
}

/// Appends to `out` the batch `batch` (an uncompressed, CRC-valid batch: what
/// [`encode_batch`], [`super::encode_batch_with_offsets`] or compaction wrote) with
/// its records section compressed with `codec` at `level` (`None`: Kafka's default),
/// and returns the new batch's length. The header is kept except for `batchLength`,
/// the codec bits of the attributes and the CRC, which are rewritten.
///
/// With [`Compression::None`] it appends `batch` as it is.
///
/// # Errors
/// [`Error::InvalidArgument`] when `batch` is not one valid uncompressed batch
/// (parse, CRC or codec; trailing bytes are ignored), `level` is out of range for
/// `codec` (naming the setting), or the result exceeds `i32::MAX` bytes.
pub fn compress_batch(
    batch: &[u8],
    codec: Compression,
    level: Option<i32>,
    out: &mut Vec<u8>,
) -> Result<usize> {
    let parsed = Batch::parse(batch)
        .map_err(|e| Error::InvalidArgument(format!("compress_batch needs a valid batch: {e}")))?;
    if parsed.header().compression() != 0 {
        return Err(Error::InvalidArgument(format!(
            "compress_batch needs an uncompressed batch, this one has codec {}",
            parsed.header().compression()
        )));
    }
    let bytes = parsed.as_bytes();
    let start = out.len();
    if codec == Compression::None {
        codec.check_level(level)?;
        out.extend_from_slice(bytes);
        return Ok(bytes.len());
    }
    out.extend_from_slice(&bytes[..HEADER_LEN]);
    if let Err(e) = compress(codec, level, &bytes[HEADER_LEN..], out) {
        out.truncate(start);
        return Err(e);
    }
    let total = out.len() - start;
    let Ok(batch_length) = i32::try_from(total - LOG_OVERHEAD) else {
        out.truncate(start);
        return Err(Error::InvalidArgument(format!(
            "compressed batch of {total} bytes exceeds 2 GiB"
        )));
    };
    let b = &mut out[start..];
    b[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = i16::from_be_bytes([b[ATTRIBUTES_AT], b[ATTRIBUTES_AT + 1]]);
    let attributes = (attributes & !0x07) | i16::from(codec.id());
    b[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c(&b[ATTRIBUTES_AT..]);
    b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(total)
}

/// Appends to `out` one batch of `records` at offsets `base_offset..`, its records
/// section compressed with `codec` at `level` (`None`: Kafka's default), and returns
/// its length. `scratch` holds the uncompressed encoding on the way (cleared first;
/// keep it between calls to reuse its memory). Header fields are as
/// [`encode_batch`] writes them.
///
/// # Errors
/// As [`encode_batch`] ([`Error::InvalidArgument`] for no records or fields over
/// 2 GiB) and [`compress_batch`] (a level out of range names its setting).
pub fn encode_batch_compressed(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    base_offset: i64,
    timestamp_type: TimestampType,
    records: &[RecordIn<'_>],
    codec: Compression,
    level: Option<i32>,
) -> Result<usize> {
    // Checked before encoding, so a bad level costs nothing.
    codec.check_level(level)?;
    scratch.clear();
    scratch.resize(encoded_batch_len(records), 0);
    encode_batch(scratch, base_offset, timestamp_type, records)?;
    compress_batch(scratch, codec, level, out)
}

/// A decompression error's offset counted in the batch, not in its records section.
fn in_batch(e: Error) -> Error {
    match e {
        Error::Format { offset, reason } => Error::Format {
            offset: HEADER_LEN + offset,
            reason,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::batch::{Header, RecordRef};
    use proptest::prelude::*;

    const CODECS: [Compression; 4] = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn recs(headers: &[Header]) -> Vec<RecordIn<'_>> {
        (0..50)
            .map(|i| RecordIn {
                key: (i % 3 != 0).then_some(&b"some-key"[..]),
                value: (i % 7 != 3).then_some(&b"a value that repeats, a value that repeats"[..]),
                timestamp: 1_700_000_000_000 + i,
                headers: if i % 2 == 0 { headers } else { &[] },
            })
            .collect()
    }

    /// Re-seals a batch after a test edited it: the CRC of bytes [21, end).
    fn reseal(b: &mut [u8]) {
        let crc = crc32c(&b[ATTRIBUTES_AT..]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    }

    #[test]
    fn compressed_batches_decode_to_the_same_records() {
        let headers = [Header::new("h", "v")];
        let ins = recs(&headers);
        let mut plain = vec![0; encoded_batch_len(&ins)];
        encode_batch(&mut plain, 100, TimestampType::CreateTime, &ins).unwrap();
        let plain_batch = Batch::parse(&plain).unwrap();
        let want: Vec<RecordRef> = plain_batch.records().map(|r| r.unwrap()).collect();
        let (mut out, mut tmp, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
        for codec in CODECS {
            out.clear();
            let n = encode_batch_compressed(
                &mut out,
                &mut tmp,
                100,
                TimestampType::CreateTime,
                &ins,
                codec,
                None,
            )
            .unwrap();
            assert_eq!(n, out.len());
            assert!(n < plain.len(), "{codec} did not shrink the batch");
            let b = Batch::parse(&out).unwrap();
            assert_eq!(b.codec().unwrap(), codec);
            assert_eq!(b.header().total_len(), n);
            // Only batchLength, attributes and CRC differ from the plain header.
            let (h, p) = (b.header(), plain_batch.header());
            assert_eq!(
                (
                    h.base_offset,
                    h.last_offset_delta,
                    h.records_count,
                    h.max_timestamp
                ),
                (
                    p.base_offset,
                    p.last_offset_delta,
                    p.records_count,
                    p.max_timestamp
                )
            );
            assert_eq!(h.attributes, p.attributes | i16::from(codec.id()));
            b.validate_with(&mut scratch, plain.len()).unwrap();
            let got: Vec<RecordRef> = b
                .records_with(&mut scratch, plain.len())
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(got, want, "{codec}");
            // The zero-copy iterator still refuses compressed batches.
            assert!(b.records().next().unwrap().is_err());
        }
        // Uncompressed: records borrow from the batch, scratch untouched.
        let mut scratch = vec![1, 2, 3];
        let got: Vec<RecordRef> = plain_batch
            .records_with(&mut scratch, 0)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, want);
        assert_eq!(scratch, [1, 2, 3]);
        out.clear();
        assert_eq!(
            compress_batch(&plain, Compression::None, None, &mut out).unwrap(),
            plain.len()
        );
        assert_eq!(out, plain);
    }

    #[test]
    fn log_append_time_and_other_attributes_survive() {
        let ins = recs(&[]);
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        encode_batch_compressed(
            &mut out,
            &mut tmp,
            0,
            TimestampType::LogAppendTime,
            &ins,
            Compression::Zstd,
            Some(1),
        )
        .unwrap();
        let b = Batch::parse(&out).unwrap();
        assert_eq!(b.header().timestamp_type(), TimestampType::LogAppendTime);
        let mut scratch = Vec::new();
        let ts = b.header().max_timestamp;
        assert!(
            b.records_with(&mut scratch, 1 << 20)
                .unwrap()
                .all(|r| r.unwrap().timestamp() == ts)
        );
    }

    #[test]
    fn bad_batches_are_format_errors() {
        let ins = recs(&[]);
        let (mut out, mut tmp, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
        for codec in CODECS {
            out.clear();
            encode_batch_compressed(
                &mut out,
                &mut tmp,
                0,
                TimestampType::CreateTime,
                &ins,
                codec,
                None,
            )
            .unwrap();
            let plain_len = tmp.len() - HEADER_LEN;
            // A bomb: the limit one byte short of the records.
            let b = Batch::parse(&out).unwrap();
            let mut fresh = Vec::new();
            let e = b.records_with(&mut fresh, plain_len - 1).err().unwrap();
            assert!(
                matches!(e, Error::Format { offset: 61, .. }),
                "{codec}: {e}"
            );
            assert!(
                fresh.capacity() < plain_len,
                "{codec}: {}",
                fresh.capacity()
            );
            // Damage inside the compressed section, CRC fixed up so that it gets there.
            let mut bad = out.clone();
            let mid = HEADER_LEN + (bad.len() - HEADER_LEN) / 2;
            bad[mid] ^= 0x55;
            bad[HEADER_LEN + 1] ^= 0xff;
            reseal(&mut bad);
            let b = Batch::parse(&bad).unwrap();
            assert!(
                b.validate_with(&mut scratch, 1 << 20).is_err(),
                "{codec} damage"
            );
            // Unknown codec ids.
            let mut bad = out.clone();
            bad[ATTRIBUTES_AT + 1] |= 0x07;
            reseal(&mut bad);
            let b = Batch::parse(&bad).unwrap();
            assert!(matches!(b.codec(), Err(Error::Format { offset: 21, .. })));
            assert!(b.records_with(&mut scratch, 1 << 20).is_err());
            // A record count that disagrees with the decompressed records.
            let mut bad = out.clone();
            bad[57..61].copy_from_slice(&49i32.to_be_bytes());
            reseal(&mut bad);
            assert!(
                Batch::parse(&bad)
                    .unwrap()
                    .validate_with(&mut scratch, 1 << 20)
                    .is_err()
            );
            // compress_batch takes only valid uncompressed batches.
            assert!(matches!(
                compress_batch(&out, codec, None, &mut Vec::new()),
                Err(Error::InvalidArgument(_))
            ));
        }
        let e = encode_batch_compressed(
            &mut out,
            &mut tmp,
            0,
            TimestampType::CreateTime,
            &ins,
            Compression::Zstd,
            Some(23),
        )
        .unwrap_err();
        assert!(e.to_string().contains("compression.zstd.level"), "{e}");
    }

    #[derive(Debug, Clone)]
    struct OwnedRec {
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        ts: i64,
        headers: Vec<Header>,
    }

    fn arb_rec() -> impl Strategy<Value = OwnedRec> {
        let bytes = |max| proptest::option::of(proptest::collection::vec(any::<u8>(), 0..max));
        (
            bytes(30),
            prop_oneof![bytes(100), bytes(if cfg!(miri) { 1_000 } else { 40_000 })],
            any::<i64>(),
            proptest::collection::vec(("[a-z]{0,6}", bytes(10)), 0..3),
        )
            .prop_map(|(key, value, ts, hs)| OwnedRec {
                key,
                value,
                ts,
                headers: hs
                    .into_iter()
                    .map(|(k, v)| Header { key: k, value: v })
                    .collect(),
            })
    }

    fn arb_level(codec: Compression) -> BoxedStrategy<Option<i32>> {
        match codec.level_range() {
            None => Just(None).boxed(),
            Some(r) => {
                let (lo, hi) = (*r.start(), *r.end());
                prop_oneof![
                    Just(None),
                    Just(Some(lo)),
                    Just(Some(hi)),
                    (lo..=hi).prop_map(Some)
                ]
                .boxed()
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 48 }))]
        /// Any record set round-trips through every codec, at any level in range
        /// (the bounds included).
        #[test]
        fn any_records_round_trip_through_each_codec(
            recs in proptest::collection::vec(arb_rec(), 1..12),
            base in 0i64..i64::MAX / 2,
            (codec, level) in (1u8..5).prop_flat_map(|id| {
                let c = Compression::from_id(id).unwrap();
                (Just(c), arb_level(c))
            }),
        ) {
            let ins: Vec<RecordIn> = recs.iter().map(|r| RecordIn {
                key: r.key.as_deref(), value: r.value.as_deref(), timestamp: r.ts, headers: &r.headers,
            }).collect();
            let (mut out, mut tmp, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
            let n = encode_batch_compressed(
                &mut out, &mut tmp, base, TimestampType::CreateTime, &ins, codec, level,
            ).unwrap();
            let b = Batch::parse(&out).unwrap();
            prop_assert_eq!(b.as_bytes().len(), n);
            prop_assert_eq!(b.codec().unwrap(), codec);
            let max = encoded_batch_len(&ins) - HEADER_LEN;
            b.validate_with(&mut scratch, max).unwrap();
            let got: Vec<RecordRef> =
                b.records_with(&mut scratch, max).unwrap().map(|r| r.unwrap()).collect();
            prop_assert_eq!(got.len(), recs.len());
            for (i, (g, r)) in got.iter().zip(&recs).enumerate() {
                prop_assert_eq!(g.offset(), base + i as i64);
                prop_assert_eq!(g.key(), r.key.as_deref());
                prop_assert_eq!(g.value(), r.value.as_deref());
                prop_assert_eq!(g.timestamp(), r.ts);
                let hs: Vec<_> = g.headers().map(|h| (h.key, h.value)).collect();
                let want: Vec<_> =
                    r.headers.iter().map(|h| (h.key.as_bytes(), h.value.as_deref())).collect();
                prop_assert_eq!(hs, want);
            }
        }
    }
}
