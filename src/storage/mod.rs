//! One partition's files: mmap'd segments, sparse offset and time indexes, roll,
//! recovery, flush. All `unsafe` of the crate lives in `mmap.rs`.
//!
//! **Unsupported internals.** This module is public only with the `internals` cargo
//! feature, which exists for brooklet's own tests, benches and fuzz targets. It is
//! unstable (it may change in any release) and it bypasses the broker's guarantees: a
//! [`PartitionLog`] opened here takes no data-directory lock, so it can open a
//! partition a live `Broker` holds and overwrite acknowledged records. Applications
//! use the API at the crate root.

mod append;
mod background;
mod checkpoint;
mod clock;
mod compaction;
mod config;
#[cfg(feature = "fault-injection")]
mod fault;
mod index;
pub(crate) mod io;
mod mmap;
mod notify;
// `PartitionLog::open`, `recovery_report` and other methods are called only by
// `internals` users (tests, benches, fuzz targets): without the feature they are dead.
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
mod partition;
mod read;
mod recovery;
mod repair;
mod retention;
mod segment;

pub use append::AppendScratch;
pub use background::Background;
pub(crate) use clock::now_ms;
pub use compaction::CompactionConfig;
#[cfg(feature = "internals")]
pub use config::MIN_DECOMPRESSED_BYTES;
pub use config::{FlushPolicy, LogConfig, TopicCompression};
pub use partition::PartitionLog;
pub use read::FetchedBatches;

// Named only by `internals` users: the crate itself never spells these types.
pub use append::AppendInfo;
#[cfg(feature = "internals")]
pub use compaction::CompactionReport;
#[cfg(feature = "internals")]
pub use read::{FetchedBatchIter, FetchedRecords};
#[cfg(feature = "internals")]
pub use recovery::RecoveryReport;
pub use repair::PartitionRepair;

// Test hooks, compiled only with the `fault-injection` feature (which implies
// `internals`): an application build contains none of them.
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub use compaction::CRASH_AT as COMPACTION_CRASH_AT;
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub use fault::FaultInjection;
