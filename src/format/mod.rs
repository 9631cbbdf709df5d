//! Kafka's RecordBatch v2 codec: pure functions over byte slices, no I/O.
//!
//! Everything here is total: any byte string decodes to a value or to an
//! [`Error::Format`](crate::Error::Format), never to a panic, an out-of-bounds read or an
//! allocation sized by an untrusted length field.

pub mod batch;
pub mod crc;
pub mod murmur2;
pub mod varint;

pub use batch::{
    Batch, BatchHeader, BatchRecords, Header, HeaderRef, RecordIn, RecordRef, TimestampType,
    encode_batch, encode_batch_with_offsets, encoded_batch_len, encoded_batch_len_with_offsets,
};
