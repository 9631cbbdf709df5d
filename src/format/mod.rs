//! Kafka's RecordBatch v2 codec: pure functions over byte slices, no I/O.
//!
//! Everything here is total: any byte string decodes to a value or to an
//! [`Error::Format`](crate::Error::Format), never to a panic, an out-of-bounds read or an
//! allocation sized by an untrusted length field.
//!
//! **Unsupported internals.** This module is public only with the `internals` cargo
//! feature, which exists for brooklet's own tests, benches and fuzz targets. It is
//! unstable (it may change in any release) and it bypasses the broker's guarantees;
//! see the crate docs. Applications use the API at the crate root.

pub mod batch;
pub mod compressed_batch;
pub mod compression;
pub mod crc;
pub mod murmur2;
pub mod varint;

#[cfg(feature = "internals")]
pub use batch::encode_batch;
// Used by tests and `internals` users until the producer and read path take them up.
pub use batch::{
    Batch, BatchHeader, BatchRecords, Header, HeaderRef, RecordIn, RecordRef, TimestampType,
    encode_batch_with_offsets, encoded_batch_len, encoded_batch_len_with_offsets,
};
#[cfg(feature = "internals")]
pub use compressed_batch::compress_batch;
pub use compressed_batch::{encode_batch_compressed, recompress_batch};
pub use compression::Compression;
#[cfg(feature = "internals")]
pub use compression::{compress, decompress};
