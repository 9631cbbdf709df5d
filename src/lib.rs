//! brooklet: Apache Kafka's semantics in process.
//!
//! Topics, partitions, producers, consumers and consumer groups over memory-mapped
//! partition files, with no broker process and no network hop. The files are Kafka's
//! own RecordBatch v2, so the data model is Kafka's and Kafka tooling can read them.
//!
//! The layers, bottom up:
//!
//! - [`format`]: the pure RecordBatch v2 codec (CRC-32C, varints, murmur2);
//! - [`storage`]: one partition's log ([`storage::PartitionLog`]): segments, indexes,
//!   roll, flush and crash recovery.
//!
//! # Quick start
//!
//! ```
//! use brooklet::format::RecordIn;
//! use brooklet::storage::{LogConfig, PartitionLog};
//!
//! let dir = tempfile::tempdir()?;
//! let log = PartitionLog::open(dir.path().join("tweets-0"), LogConfig::default())?;
//! let meta = log.append(&[RecordIn {
//!     key: Some(b"u1"),
//!     value: Some(b"hello"),
//!     timestamp: 1_700_000_000_000,
//!     headers: &[],
//! }])?;
//! assert_eq!(meta.base_offset, 0);
//! for record in log.read(0, 1 << 20)?.records() {
//!     assert_eq!(record?.value(), Some(&b"hello"[..]));
//! }
//! # Ok::<(), brooklet::Error>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod error;
pub mod format;
pub mod storage;

pub use error::{Error, Result};
