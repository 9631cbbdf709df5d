//! Kafka RecordBatch v2 (magic 2): the bytes of every `.log` file brooklet writes.
//!
//! Layout (big-endian; kafka.apache.org/documentation/#recordbatch):
//!
//! | at | field | type |
//! |---:|---|---|
//! | 0 | baseOffset | i64 |
//! | 8 | batchLength (bytes after this field) | i32 |
//! | 12 | partitionLeaderEpoch | i32 |
//! | 16 | magic (= 2) | i8 |
//! | 17 | crc: CRC-32C of bytes `[21, end)` | u32 |
//! | 21 | attributes | i16 |
//! | 23 | lastOffsetDelta | i32 |
//! | 27 | baseTimestamp | i64 |
//! | 35 | maxTimestamp | i64 |
//! | 43 | producerId | i64 |
//! | 51 | producerEpoch | i16 |
//! | 53 | baseSequence | i32 |
//! | 57 | recordsCount | i32 |
//! | 61 | records | zig-zag varint framed |

use super::crc::crc32c;
use super::varint::{
    VarintError, get_varint, get_varlong, put_varint, put_varlong, varint_len, varlong_len,
};
use crate::error::{Error, Result};

/// Size of the fixed batch header.
pub const HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts: baseOffset and batchLength themselves.
pub const LOG_OVERHEAD: usize = 12;
/// The only batch version brooklet reads and writes.
pub const MAGIC: i8 = 2;
/// The CRC covers everything from the attributes to the end of the batch.
const CRC_START: usize = at::ATTRIBUTES;

/// Byte positions of the header fields (the table above); [`BatchHeader::parse`] reads
/// them and [`write_header`] writes them; `compressed_batch` rewrites the attributes
/// and the CRC in place through them.
pub(super) mod at {
    pub(crate) const BASE_OFFSET: usize = 0;
    pub(crate) const BATCH_LENGTH: usize = 8;
    pub(crate) const PARTITION_LEADER_EPOCH: usize = 12;
    pub(crate) const MAGIC: usize = 16;
    pub(crate) const CRC: usize = 17;
    pub(crate) const ATTRIBUTES: usize = 21;
    pub(crate) const LAST_OFFSET_DELTA: usize = 23;
    pub(crate) const BASE_TIMESTAMP: usize = 27;
    pub(crate) const MAX_TIMESTAMP: usize = 35;
    pub(crate) const PRODUCER_ID: usize = 43;
    pub(crate) const PRODUCER_EPOCH: usize = 51;
    pub(crate) const BASE_SEQUENCE: usize = 53;
    pub(crate) const RECORDS_COUNT: usize = 57;
}
const ATTR_COMPRESSION_MASK: i16 = 0x07;
pub(crate) const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
// Read only by `is_transactional`, which only `internals` users call.
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;

/// Which clock a record's timestamp comes from (Kafka's `message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer (Kafka's default).
    #[default]
    CreateTime,
    /// Set by the log when the batch is appended.
    LogAppendTime,
}

/// A record header: a UTF-8 key and an optional byte value, as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Header value; `None` is Kafka's null.
    pub value: Option<Vec<u8>>,
}

impl Header {
    /// A header with a value.
    pub fn new(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Header {
            key: key.into(),
            value: Some(value.into()),
        }
    }
}

/// One record to encode, borrowing its bytes from the caller.
#[derive(Debug, Clone, Copy)]
pub struct RecordIn<'a> {
    /// Key; `None` is a null key.
    pub key: Option<&'a [u8]>,
    /// Value; `None` is a null value, a tombstone for compacted topics.
    pub value: Option<&'a [u8]>,
    /// Timestamp in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Headers, in order.
    pub headers: &'a [Header],
}

/// The fixed fields of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the `batch_length` field; the batch is `batch_length + 12` bytes.
    pub batch_length: i32,
    /// Leader epoch (0 for brooklet's single-replica logs).
    pub partition_leader_epoch: i32,
    /// Format version, always 2.
    pub magic: i8,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Compression, timestamp type, transactional and control bits.
    pub attributes: i16,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch (the append time under LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent producer id, -1 when unused.
    pub producer_id: i64,
    /// Idempotent producer epoch, -1 when unused.
    pub producer_epoch: i16,
    /// Idempotent producer sequence, -1 when unused.
    pub base_sequence: i32,
    /// Number of records.
    pub records_count: i32,
}

impl BatchHeader {
    /// Total size of the batch in bytes.
    pub fn total_len(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }
    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    /// The offset after the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> u8 {
        (self.attributes & ATTR_COMPRESSION_MASK) as u8
    }
    /// The timestamp type bit.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & ATTR_TIMESTAMP_TYPE != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// Part of a transaction.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }
    /// A control batch (transaction markers), not user records.
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    /// Parses the header at the start of `buf` without checking the CRC.
    ///
    /// # Errors
    /// [`Error::Format`] when `buf` is shorter than a header, the magic is not 2, or
    /// `batch_length` is too small to hold a header.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader> {
        if buf.len() < HEADER_LEN {
            return Err(fmt_err(
                buf.len(),
                format!(
                    "batch header needs {HEADER_LEN} bytes, {} available",
                    buf.len()
                ),
            ));
        }
        let h = BatchHeader {
            base_offset: be_i64(buf, at::BASE_OFFSET),
            batch_length: be_i32(buf, at::BATCH_LENGTH),
            partition_leader_epoch: be_i32(buf, at::PARTITION_LEADER_EPOCH),
            magic: buf[at::MAGIC] as i8,
            crc: be_i32(buf, at::CRC) as u32,
            attributes: be_i16(buf, at::ATTRIBUTES),
            last_offset_delta: be_i32(buf, at::LAST_OFFSET_DELTA),
            base_timestamp: be_i64(buf, at::BASE_TIMESTAMP),
            max_timestamp: be_i64(buf, at::MAX_TIMESTAMP),
            producer_id: be_i64(buf, at::PRODUCER_ID),
            producer_epoch: be_i16(buf, at::PRODUCER_EPOCH),
            base_sequence: be_i32(buf, at::BASE_SEQUENCE),
            records_count: be_i32(buf, at::RECORDS_COUNT),
        };
        if h.magic != MAGIC {
            return Err(fmt_err(
                16,
                format!(
                    "magic byte is {}, only RecordBatch v2 is supported",
                    h.magic
                ),
            ));
        }
        if (h.batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(fmt_err(
                8,
                format!("batch length {} is shorter than a header", h.batch_length),
            ));
        }
        if h.records_count < 0 || h.last_offset_delta < 0 {
            return Err(fmt_err(
                23,
                "negative record count or last offset delta".to_string(),
            ));
        }
        if h.base_offset < 0
            || h.base_offset
                .checked_add(h.last_offset_delta as i64 + 1)
                .is_none()
        {
            return Err(fmt_err(0, format!("invalid base offset {}", h.base_offset)));
        }
        Ok(h)
    }
}

/// A batch borrowed from a byte slice whose header, length and CRC were checked.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    header: BatchHeader,
    bytes: &'a [u8],
}

impl<'a> Batch<'a> {
    /// Parses the batch at the start of `buf` and checks its CRC. The batch may be
    /// followed by other bytes; [`Batch::as_bytes`] is exactly this batch.
    ///
    /// # Errors
    /// [`Error::Format`] when the header is invalid, the batch runs past `buf`, or the
    /// CRC does not match.
    ///
    /// ```
    /// use brooklet::format::{Batch, RecordIn, TimestampType, encode_batch, encoded_batch_len};
    /// let recs = [RecordIn { key: Some(b"k"), value: Some(b"v"), timestamp: 1, headers: &[] }];
    /// let mut buf = vec![0; encoded_batch_len(&recs)];
    /// encode_batch(&mut buf, 7, TimestampType::CreateTime, &recs).unwrap();
    /// let batch = Batch::parse(&buf).unwrap();
    /// let rec = batch.records().next().unwrap().unwrap();
    /// assert_eq!((rec.offset(), rec.value()), (7, Some(&b"v"[..])));
    /// ```
    pub fn parse(buf: &'a [u8]) -> Result<Batch<'a>> {
        let header = BatchHeader::parse(buf)?;
        let total = header.total_len();
        if total > buf.len() {
            return Err(fmt_err(
                8,
                format!(
                    "batch of {total} bytes runs past the {} bytes available",
                    buf.len()
                ),
            ));
        }
        let bytes = &buf[..total];
        let actual = crc32c(&bytes[CRC_START..]);
        if actual != header.crc {
            return Err(fmt_err(
                17,
                format!(
                    "CRC mismatch: stored {:#010x}, computed {actual:#010x}",
                    header.crc
                ),
            ));
        }
        Ok(Batch { header, bytes })
    }

    /// The fixed header fields.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The whole batch, exactly as stored.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The batch's records in order. Each item is checked for bounds; a malformed record
    /// ends the iteration with an error.
    pub fn records(&self) -> BatchRecords<'a> {
        BatchRecords {
            header: self.header,
            buf: self.bytes,
            pos: HEADER_LEN,
            remaining: self.header.records_count,
            last_delta: -1,
            failed: false,
        }
    }

    /// Checks every record: framing, bounds, offset deltas increasing and within
    /// `last_offset_delta`, and that the records fill the batch exactly.
    ///
    /// # Errors
    /// [`Error::Format`] naming the byte offset inside the batch.
    pub fn validate(&self) -> Result<()> {
        let mut it = self.records();
        for r in &mut it {
            r?;
        }
        if it.pos != self.bytes.len() {
            return Err(fmt_err(
                it.pos,
                format!(
                    "{} bytes left after the last of {} records",
                    self.bytes.len() - it.pos,
                    self.header.records_count
                ),
            ));
        }
        Ok(())
    }
}

/// One decoded record, borrowing key, value and headers from the batch bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    offset: i64,
    timestamp: i64,
    timestamp_type: TimestampType,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: &'a [u8],
    header_count: u32,
}

impl<'a> RecordRef<'a> {
    /// The record's offset in its partition.
    pub fn offset(&self) -> i64 {
        self.offset
    }
    /// Timestamp in ms (the batch's append time under LogAppendTime).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
    /// Which clock the timestamp comes from (the batch's attribute).
    pub fn timestamp_type(&self) -> TimestampType {
        self.timestamp_type
    }
    /// Key, `None` for a null key.
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }
    /// Value, `None` for a tombstone.
    pub fn value(&self) -> Option<&'a [u8]> {
        self.value
    }
    /// Number of headers.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn header_count(&self) -> usize {
        self.header_count as usize
    }
    /// The headers in order (already validated when the record was decoded).
    pub fn headers(&self) -> impl Iterator<Item = HeaderRef<'a>> + 'a {
        let buf = self.headers;
        let mut pos = 0;
        (0..self.header_count).map_while(move |_| {
            let (h, next) = decode_header(buf, pos).ok()?;
            pos = next;
            Some(h)
        })
    }
}

/// A header borrowed from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// Key bytes (UTF-8 when written by a Kafka client; not checked).
    pub key: &'a [u8],
    /// Value; `None` is null.
    pub value: Option<&'a [u8]>,
}

/// Iterator over a batch's records; see [`Batch::records`].
#[derive(Debug, Clone)]
pub struct BatchRecords<'a> {
    header: BatchHeader,
    buf: &'a [u8],
    pos: usize,
    remaining: i32,
    last_delta: i64,
    failed: bool,
}

impl<'a> Iterator for BatchRecords<'a> {
    type Item = Result<RecordRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining <= 0 || self.failed {
            return None;
        }
        if self.header.compression() != 0 {
            self.failed = true;
            return Some(Err(fmt_err(
                21,
                format!(
                    "the records of a compressed batch (codec {}) are read with `Batch::records_with`, which decompresses them",
                    self.header.compression()
                ),
            )));
        }
        match self.decode_one() {
            Ok(r) => {
                self.remaining -= 1;
                Some(Ok(r))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining.max(0) as usize))
    }
}

impl<'a> BatchRecords<'a> {
    /// The records of the batch with `header`, read from `records`: its records section
    /// already decompressed (see `compressed_batch.rs`). Errors give offsets in
    /// `records`.
    pub(super) fn decompressed(header: BatchHeader, records: &'a [u8]) -> BatchRecords<'a> {
        // The codec bits are what make `next` refuse a batch; these bytes are plain.
        let mut header = header;
        header.attributes &= !ATTR_COMPRESSION_MASK;
        BatchRecords {
            header,
            buf: records,
            pos: 0,
            remaining: header.records_count,
            last_delta: -1,
            failed: false,
        }
    }

    /// Bytes of the records buffer consumed so far.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    fn decode_one(&mut self) -> Result<RecordRef<'a>> {
        let buf = self.buf;
        let start = self.pos;
        let (len, p) = get_varint(buf, start).map_err(|e| var_err(start, e))?;
        if len < 0 || (len as usize) > buf.len() - p {
            return Err(fmt_err(
                start,
                format!("record length {len} runs past the batch"),
            ));
        }
        let end = p + len as usize;
        let body = &buf[..end];
        if p >= end {
            return Err(fmt_err(p, "empty record body".into()));
        }
        let mut pos = p + 1; // attributes byte, unused in v2
        let (ts_delta, np) = get_varlong(body, pos).map_err(|e| var_err(pos, e))?;
        pos = np;
        let (off_delta, np) = get_varint(body, pos).map_err(|e| var_err(pos, e))?;
        let off_delta = off_delta as i64;
        if off_delta <= self.last_delta || off_delta > self.header.last_offset_delta as i64 {
            return Err(fmt_err(
                pos,
                format!(
                    "offset delta {off_delta} is not increasing within 0..={}",
                    self.header.last_offset_delta
                ),
            ));
        }
        pos = np;
        let (key, np) = get_bytes(body, pos)?;
        pos = np;
        let (value, np) = get_bytes(body, pos)?;
        pos = np;
        let (count, np) = get_varint(body, pos).map_err(|e| var_err(pos, e))?;
        if count < 0 {
            return Err(fmt_err(pos, format!("negative header count {count}")));
        }
        pos = np;
        let headers_start = pos;
        for _ in 0..count {
            let (_, np) = decode_header(body, pos)?;
            pos = np;
        }
        if pos != end {
            return Err(fmt_err(
                pos,
                format!("record framing says {len} bytes but fields end elsewhere"),
            ));
        }
        let timestamp = match self.header.timestamp_type() {
            TimestampType::LogAppendTime => self.header.max_timestamp,
            TimestampType::CreateTime => self.header.base_timestamp.wrapping_add(ts_delta),
        };
        self.pos = end;
        self.last_delta = off_delta;
        Ok(RecordRef {
            offset: self.header.base_offset + off_delta,
            timestamp,
            timestamp_type: self.header.timestamp_type(),
            key,
            value,
            headers: &body[headers_start..end],
            header_count: count as u32,
        })
    }
}

fn decode_header(buf: &[u8], pos: usize) -> Result<(HeaderRef<'_>, usize)> {
    let (key, pos) = get_bytes(buf, pos)?;
    let Some(key) = key else {
        return Err(fmt_err(pos, "header key is null".into()));
    };
    let (value, pos) = get_bytes(buf, pos)?;
    Ok((HeaderRef { key, value }, pos))
}

/// A varint length (-1 = null) followed by that many bytes.
fn get_bytes(buf: &[u8], pos: usize) -> Result<(Option<&[u8]>, usize)> {
    let (len, p) = get_varint(buf, pos).map_err(|e| var_err(pos, e))?;
    if len == -1 {
        return Ok((None, p));
    }
    if len < 0 || len as usize > buf.len() - p {
        return Err(fmt_err(
            pos,
            format!("field length {len} runs past the record"),
        ));
    }
    let end = p + len as usize;
    Ok((Some(&buf[p..end]), end))
}

fn record_body_len(r: &RecordIn<'_>, offset_delta: i32, ts_delta: i64) -> usize {
    // (offset_delta only changes the varint's width)
    let mut n = 1 + varlong_len(ts_delta) + varint_len(offset_delta);
    n += opt_len(r.key) + opt_len(r.value);
    n += varint_len(r.headers.len() as i32);
    for h in r.headers {
        n += varint_len(h.key.len() as i32) + h.key.len() + opt_len(h.value.as_deref());
    }
    n
}

fn opt_len(b: Option<&[u8]>) -> usize {
    match b {
        None => 1,
        Some(b) => varint_len(b.len() as i32) + b.len(),
    }
}

/// Size in bytes of the batch [`encode_batch`] writes for `records`.
pub fn encoded_batch_len(records: &[RecordIn<'_>]) -> usize {
    batch_len_with(records, |i| i as i32)
}

fn batch_len_with(records: &[RecordIn<'_>], delta: impl Fn(usize) -> i32) -> usize {
    let base_ts = records.first().map_or(0, |r| r.timestamp);
    let mut n = HEADER_LEN;
    for (i, r) in records.iter().enumerate() {
        let body = record_body_len(r, delta(i), r.timestamp.wrapping_sub(base_ts));
        n += varint_len(body as i32) + body;
    }
    n
}

/// Size of the batch [`encode_batch_with_offsets`] writes.
pub fn encoded_batch_len_with_offsets(records: &[RecordIn<'_>], offset_deltas: &[i32]) -> usize {
    batch_len_with(records, |i| {
        offset_deltas.get(i).copied().unwrap_or(i as i32)
    })
}

/// Encodes `records` with explicit offset deltas (strictly increasing, the last one at
/// most `last_offset_delta`), as log compaction rewrites a batch: offsets keep their
/// values and the batch keeps its last offset even when its last record was removed
/// (as Kafka's cleaner does). `max_timestamp` overrides the batch's max timestamp
/// (kept from the original under LogAppendTime).
///
/// # Errors
/// As [`encode_batch`], and [`Error::InvalidArgument`] when the deltas are not
/// increasing, do not match the records, or exceed `last_offset_delta`.
pub fn encode_batch_with_offsets(
    dst: &mut [u8],
    base_offset: i64,
    timestamp_type: TimestampType,
    records: &[RecordIn<'_>],
    offset_deltas: &[i32],
    last_offset_delta: i32,
    max_timestamp: Option<i64>,
) -> Result<usize> {
    if offset_deltas.len() != records.len()
        || offset_deltas.windows(2).any(|w| w[0] >= w[1])
        || offset_deltas.first().is_some_and(|&d| d < 0)
        || offset_deltas.last().is_some_and(|&d| d > last_offset_delta)
    {
        return Err(Error::InvalidArgument(
            "offset deltas must increase from 0 and stay within last_offset_delta".into(),
        ));
    }
    encode_inner(
        dst,
        base_offset,
        timestamp_type,
        records,
        &|i| offset_deltas[i],
        last_offset_delta,
        max_timestamp,
        None,
    )
}

/// Encodes `records` as one batch with offsets `base_offset..` into the start of `dst`
/// (for example a slice of a mapped segment) and returns its length.
///
/// `baseTimestamp` is the first record's timestamp and `maxTimestamp` the largest, as
/// Kafka's producer writes them; producer id, epoch and sequence are -1 (no idempotence).
///
/// # Errors
/// [`Error::InvalidArgument`] when `records` is empty, holds more than `i32::MAX`
/// records or a field longer than `i32::MAX` bytes, or `dst` is shorter than
/// [`encoded_batch_len`].
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub fn encode_batch(
    dst: &mut [u8],
    base_offset: i64,
    timestamp_type: TimestampType,
    records: &[RecordIn<'_>],
) -> Result<usize> {
    let last = records.len().saturating_sub(1).min(i32::MAX as usize) as i32;
    encode_inner(
        dst,
        base_offset,
        timestamp_type,
        records,
        &|i| i as i32,
        last,
        None,
        None,
    )
}

/// [`encode_batch`] when the caller already knows `total = encoded_batch_len(records)`
/// (the log computes it once for its size checks).
pub(crate) fn encode_batch_sized(
    dst: &mut [u8],
    base_offset: i64,
    timestamp_type: TimestampType,
    records: &[RecordIn<'_>],
    total: usize,
) -> Result<usize> {
    let last = records.len().saturating_sub(1).min(i32::MAX as usize) as i32;
    encode_inner(
        dst,
        base_offset,
        timestamp_type,
        records,
        &|i| i as i32,
        last,
        None,
        Some(total),
    )
}

#[allow(clippy::too_many_arguments)]
fn encode_inner(
    dst: &mut [u8],
    base_offset: i64,
    timestamp_type: TimestampType,
    records: &[RecordIn<'_>],
    deltas: &dyn Fn(usize) -> i32,
    last_offset_delta: i32,
    max_timestamp: Option<i64>,
    known_total: Option<usize>,
) -> Result<usize> {
    if records.is_empty() {
        return Err(Error::InvalidArgument(
            "a batch needs at least one record".into(),
        ));
    }
    if records.len() > i32::MAX as usize {
        return Err(Error::InvalidArgument(
            "too many records for one batch".into(),
        ));
    }
    for r in records {
        let too_long = |b: Option<&[u8]>| b.is_some_and(|b| b.len() > i32::MAX as usize);
        if too_long(r.key)
            || too_long(r.value)
            || r.headers
                .iter()
                .any(|h| h.key.len() > i32::MAX as usize || too_long(h.value.as_deref()))
        {
            return Err(Error::InvalidArgument(
                "a record field exceeds 2 GiB".into(),
            ));
        }
    }
    let total = batch_len_with(records, deltas);
    // A caller's precomputed size must match; a mismatch would leave bytes inside the
    // batch that no record covers. Checked, never trusted blindly.
    if known_total.is_some_and(|k| k != total) {
        return Err(Error::InvalidArgument(format!(
            "batch size mismatch: caller computed {} bytes, records need {total}",
            known_total.unwrap_or_default()
        )));
    }
    if dst.len() < total || total - LOG_OVERHEAD > i32::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "batch needs {total} bytes, buffer has {}",
            dst.len()
        )));
    }
    let base_ts = records[0].timestamp;
    let max_ts = max_timestamp
        .unwrap_or_else(|| records.iter().map(|r| r.timestamp).max().unwrap_or(base_ts));
    let mut attributes: i16 = 0;
    if timestamp_type == TimestampType::LogAppendTime {
        attributes |= ATTR_TIMESTAMP_TYPE;
    }
    let dst = &mut dst[..total];
    let header = BatchHeader {
        base_offset,
        batch_length: (total - LOG_OVERHEAD) as i32,
        partition_leader_epoch: 0,
        magic: MAGIC,
        // Covers the records: sealed once they are in place.
        crc: 0,
        attributes,
        last_offset_delta,
        base_timestamp: base_ts,
        max_timestamp: max_ts,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        records_count: records.len() as i32,
    };
    let head = dst.first_chunk_mut::<HEADER_LEN>().ok_or_else(|| {
        Error::InvalidArgument(format!("a {total}-byte batch has no room for its header"))
    })?;
    write_header(head, &header);
    let mut pos = HEADER_LEN;
    for (i, r) in records.iter().enumerate() {
        let ts_delta = r.timestamp.wrapping_sub(base_ts);
        let body = record_body_len(r, deltas(i), ts_delta);
        pos = put_varint(dst, pos, body as i32);
        dst[pos] = 0;
        pos += 1;
        pos = put_varlong(dst, pos, ts_delta);
        pos = put_varint(dst, pos, deltas(i));
        pos = put_opt(dst, pos, r.key);
        pos = put_opt(dst, pos, r.value);
        pos = put_varint(dst, pos, r.headers.len() as i32);
        for h in r.headers {
            pos = put_opt(dst, pos, Some(h.key.as_bytes()));
            pos = put_opt(dst, pos, h.value.as_deref());
        }
    }
    debug_assert_eq!(pos, total);
    seal_crc(dst)?;
    Ok(total)
}

/// Writes `header`'s fields, every one as given (the stored `crc` included), as the
/// 61-byte RecordBatch v2 header: the inverse of [`BatchHeader::parse`]. The only
/// encoder of the header: the batch encoder and compaction both call it.
///
/// A new batch's CRC covers its records, so an encoder writes the header with any
/// `crc`, then the records, then calls [`seal_crc`] on the whole batch.
pub fn write_header(dst: &mut [u8; HEADER_LEN], header: &BatchHeader) {
    let h = header;
    let mut put = |at: usize, bytes: &[u8]| dst[at..at + bytes.len()].copy_from_slice(bytes);
    put(at::BASE_OFFSET, &h.base_offset.to_be_bytes());
    put(at::BATCH_LENGTH, &h.batch_length.to_be_bytes());
    put(
        at::PARTITION_LEADER_EPOCH,
        &h.partition_leader_epoch.to_be_bytes(),
    );
    put(at::MAGIC, &h.magic.to_be_bytes());
    put(at::CRC, &h.crc.to_be_bytes());
    put(at::ATTRIBUTES, &h.attributes.to_be_bytes());
    put(at::LAST_OFFSET_DELTA, &h.last_offset_delta.to_be_bytes());
    put(at::BASE_TIMESTAMP, &h.base_timestamp.to_be_bytes());
    put(at::MAX_TIMESTAMP, &h.max_timestamp.to_be_bytes());
    put(at::PRODUCER_ID, &h.producer_id.to_be_bytes());
    put(at::PRODUCER_EPOCH, &h.producer_epoch.to_be_bytes());
    put(at::BASE_SEQUENCE, &h.base_sequence.to_be_bytes());
    put(at::RECORDS_COUNT, &h.records_count.to_be_bytes());
}

/// Computes the CRC-32C of `batch` from its attributes to its end and stores it in the
/// header's `crc` field; returns it. `batch` is exactly one batch, header and records.
///
/// # Errors
/// [`Error::InvalidArgument`] when `batch` is shorter than a header.
pub fn seal_crc(batch: &mut [u8]) -> Result<u32> {
    if batch.len() < HEADER_LEN {
        return Err(Error::InvalidArgument(format!(
            "a batch needs {HEADER_LEN} bytes of header, got {}",
            batch.len()
        )));
    }
    let crc = crc32c(&batch[CRC_START..]);
    batch[at::CRC..at::CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(crc)
}

fn put_opt(dst: &mut [u8], pos: usize, b: Option<&[u8]>) -> usize {
    match b {
        None => put_varint(dst, pos, -1),
        Some(b) => {
            let pos = put_varint(dst, pos, b.len() as i32);
            dst[pos..pos + b.len()].copy_from_slice(b);
            pos + b.len()
        }
    }
}

fn fmt_err(offset: usize, reason: String) -> Error {
    Error::Format { offset, reason }
}

fn var_err(offset: usize, e: VarintError) -> Error {
    let what = match e {
        VarintError::Truncated => "varint runs past the end of its record",
        VarintError::TooLong => "varint is longer than its type allows",
    };
    fmt_err(offset, what.into())
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().unwrap_or([0; 2]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GOLDEN: &str = "00000000000000000000004d00000000023f06057b0000000000010000018bcfe568000000018bcfe56805ffffffffffffffffffffffffffff0000000224000000066b65790a76616c7565020268027610000a020104763200";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // DESIGN.md's prose says baseTimestamp = maxTimestamp, but its 89 bytes (and their CRC
    // 0x3f06057b) carry maxTimestamp = base + 5 and a timestampDelta of 5 on the second
    // record; the bytes are what two Kafka implementations produced, so they win.
    #[test]
    fn golden_batch_encodes_byte_for_byte() {
        let ts = 0x18bcfe56800;
        let headers = [Header::new("h", "v")];
        let recs = [
            RecordIn {
                key: Some(b"key"),
                value: Some(b"value"),
                timestamp: ts,
                headers: &headers,
            },
            RecordIn {
                key: None,
                value: Some(b"v2"),
                timestamp: ts + 5,
                headers: &[],
            },
        ];
        let want = unhex(GOLDEN);
        assert_eq!(want.len(), 89);
        assert_eq!(encoded_batch_len(&recs), 89);
        let mut buf = vec![0u8; 89];
        assert_eq!(
            encode_batch(&mut buf, 0, TimestampType::CreateTime, &recs).unwrap(),
            89
        );
        assert_eq!(buf, want);
        let b = Batch::parse(&buf).unwrap();
        assert_eq!(b.header().crc, 0x3f06_057b);
    }

    /// The shared header encoder, given the golden vector's fields as DESIGN.md lists
    /// them (not parsed from the bytes), writes the golden header byte for byte; with
    /// a zero CRC and the golden records behind it, sealing restores the golden CRC.
    #[test]
    fn write_header_reproduces_the_golden_header() {
        let golden = unhex(GOLDEN);
        let ts = 0x18bcfe56800;
        let h = BatchHeader {
            base_offset: 0,
            batch_length: 0x4d,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0x3f06_057b,
            attributes: 0,
            last_offset_delta: 1,
            base_timestamp: ts,
            max_timestamp: ts + 5,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            records_count: 2,
        };
        let mut head = [0u8; HEADER_LEN];
        write_header(&mut head, &h);
        assert_eq!(head[..], golden[..HEADER_LEN]);
        assert_eq!(BatchHeader::parse(&golden).unwrap(), h);

        let mut batch = golden.clone();
        let unsealed = BatchHeader { crc: 0, ..h };
        write_header(batch.first_chunk_mut().unwrap(), &unsealed);
        assert_eq!(batch[17..21], [0, 0, 0, 0]);
        assert_eq!(batch[21..], golden[21..], "only the CRC field differs");
        assert_eq!(seal_crc(&mut batch).unwrap(), 0x3f06_057b);
        assert_eq!(batch, golden);
    }

    #[test]
    fn seal_crc_needs_a_whole_header() {
        assert!(matches!(
            seal_crc(&mut [0u8; HEADER_LEN - 1]),
            Err(Error::InvalidArgument(_))
        ));
        let mut b = [0u8; HEADER_LEN];
        let crc = seal_crc(&mut b).unwrap();
        assert_eq!(crc, crc32c(&[0u8; HEADER_LEN - CRC_START]));
        assert_eq!(b[17..21], crc.to_be_bytes());
    }

    #[test]
    fn golden_batch_decodes() {
        let bytes = unhex(GOLDEN);
        let b = Batch::parse(&bytes).unwrap();
        b.validate().unwrap();
        let recs: Vec<_> = b.records().map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].key(), Some(&b"key"[..]));
        assert_eq!(recs[0].value(), Some(&b"value"[..]));
        let h: Vec<_> = recs[0].headers().collect();
        assert_eq!(
            h,
            vec![HeaderRef {
                key: b"h",
                value: Some(b"v")
            }]
        );
        assert_eq!(
            (recs[1].offset(), recs[1].key(), recs[1].value()),
            (1, None, Some(&b"v2"[..]))
        );
        assert_eq!(recs[1].timestamp(), 0x18bcfe56800 + 5);
        assert_eq!(b.header().max_timestamp, 0x18bcfe56800 + 5);
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let bytes = unhex(GOLDEN);
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let ok = Batch::parse(&b).and_then(|x| x.validate().map(|_| x));
            // baseOffset (bytes 0..8) and partitionLeaderEpoch (12..16) are outside the
            // CRC, as in Kafka; flips there change the offset, not the records.
            if (0..8).contains(&(bit / 8)) || (12..16).contains(&(bit / 8)) {
                continue;
            }
            assert!(ok.is_err(), "flip of bit {bit} not detected");
        }
    }

    #[test]
    fn log_append_time_overrides_record_timestamps() {
        let recs = [
            RecordIn {
                key: None,
                value: Some(b"a"),
                timestamp: 500,
                headers: &[],
            },
            RecordIn {
                key: None,
                value: Some(b"b"),
                timestamp: 500,
                headers: &[],
            },
        ];
        let mut buf = vec![0; encoded_batch_len(&recs)];
        encode_batch(&mut buf, 3, TimestampType::LogAppendTime, &recs).unwrap();
        let b = Batch::parse(&buf).unwrap();
        assert_eq!(b.header().timestamp_type(), TimestampType::LogAppendTime);
        assert!(b.records().all(|r| r.unwrap().timestamp() == 500));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut buf = [0u8; 10];
        assert!(matches!(
            encode_batch(&mut buf, 0, TimestampType::CreateTime, &[]),
            Err(Error::InvalidArgument(_))
        ));
        let recs = [RecordIn {
            key: None,
            value: Some(b"x"),
            timestamp: 0,
            headers: &[],
        }];
        assert!(matches!(
            encode_batch(&mut buf, 0, TimestampType::CreateTime, &recs),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[derive(Debug, Clone)]
    struct OwnedRec {
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        ts: i64,
        headers: Vec<Header>,
    }

    fn arb_bytes(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..max))
    }

    fn arb_rec() -> impl Strategy<Value = OwnedRec> {
        (
            arb_bytes(40),
            // Values past 64 KiB cross varint widths; Miri (some 1000x slower) keeps
            // to the small ones.
            prop_oneof![
                arb_bytes(200),
                arb_bytes(if cfg!(miri) { 2_000 } else { 70_000 }).prop_map(|v| v)
            ],
            any::<i64>(),
            proptest::collection::vec(("[a-z\\u{e9}]{0,8}", arb_bytes(20)), 0..4),
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 64 }))]
        #[test]
        fn random_batches_round_trip(
            recs in proptest::collection::vec(arb_rec(), 1..20),
            base in 0i64..i64::MAX / 2,
        ) {
            let ins: Vec<RecordIn> = recs.iter().map(|r| RecordIn {
                key: r.key.as_deref(), value: r.value.as_deref(), timestamp: r.ts, headers: &r.headers,
            }).collect();
            let len = encoded_batch_len(&ins);
            let mut buf = vec![0u8; len + 7];
            prop_assert_eq!(encode_batch(&mut buf, base, TimestampType::CreateTime, &ins).unwrap(), len);
            let b = Batch::parse(&buf).unwrap();
            b.validate().unwrap();
            prop_assert_eq!(b.as_bytes().len(), len);
            prop_assert_eq!(b.header().last_offset(), base + recs.len() as i64 - 1);
            let got: Vec<RecordRef> = b.records().map(|r| r.unwrap()).collect();
            prop_assert_eq!(got.len(), recs.len());
            for (i, (g, r)) in got.iter().zip(&recs).enumerate() {
                prop_assert_eq!(g.offset(), base + i as i64);
                prop_assert_eq!(g.key(), r.key.as_deref());
                prop_assert_eq!(g.value(), r.value.as_deref());
                prop_assert_eq!(g.timestamp(), r.ts);
                let hs: Vec<HeaderRef> = g.headers().collect();
                prop_assert_eq!(hs.len(), r.headers.len());
                for (h, rh) in hs.iter().zip(&r.headers) {
                    prop_assert_eq!(h.key, rh.key.as_bytes());
                    prop_assert_eq!(h.value, rh.value.as_deref());
                }
            }
        }

        /// Every field lands where [`BatchHeader::parse`] reads it, in big-endian.
        #[test]
        fn written_headers_parse_back(
            base_offset in 0i64..i64::MAX / 2,
            batch_length in 49i32..=i32::MAX,
            partition_leader_epoch in any::<i32>(),
            crc in any::<u32>(),
            attributes in any::<i16>(),
            last_offset_delta in 0i32..=i32::MAX,
            base_timestamp in any::<i64>(),
            max_timestamp in any::<i64>(),
            producer_id in any::<i64>(),
            producer_epoch in any::<i16>(),
            base_sequence in any::<i32>(),
            records_count in 0i32..=i32::MAX,
        ) {
            let h = BatchHeader {
                base_offset, batch_length, partition_leader_epoch, magic: MAGIC, crc,
                attributes, last_offset_delta, base_timestamp, max_timestamp, producer_id,
                producer_epoch, base_sequence, records_count,
            };
            let mut b = [0u8; HEADER_LEN];
            write_header(&mut b, &h);
            prop_assert_eq!(BatchHeader::parse(&b).unwrap(), h);
            prop_assert_eq!(&b[0..8], &base_offset.to_be_bytes()[..]);
            prop_assert_eq!(&b[57..61], &records_count.to_be_bytes()[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(b) = Batch::parse(&bytes) {
                let _ = b.validate();
                for r in b.records().flatten() {
                    let _ = r.headers().count();
                }
            }
        }

        #[test]
        fn mutated_valid_batches_never_panic(
            recs in proptest::collection::vec(arb_rec(), 1..4),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let ins: Vec<RecordIn> = recs.iter().map(|r| RecordIn {
                key: r.key.as_deref(), value: r.value.as_deref(), timestamp: r.ts, headers: &r.headers,
            }).collect();
            let mut buf = vec![0u8; encoded_batch_len(&ins)];
            encode_batch(&mut buf, 0, TimestampType::CreateTime, &ins).unwrap();
            for (at, x) in flips { let n = buf.len(); buf[at % n] ^= x; }
            // Recompute the CRC so that decoding goes past the checksum into the records.
            let crc = crc32c(&buf[CRC_START..]);
            buf[17..21].copy_from_slice(&crc.to_be_bytes());
            if let Ok(b) = Batch::parse(&buf) {
                let _ = b.validate();
                for r in b.records().flatten() { let _ = r.headers().count(); }
            }
        }
    }
}
