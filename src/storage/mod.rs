//! One partition's files: mmap'd segments, sparse offset and time indexes, roll,
//! recovery, flush. All `unsafe` of the crate lives in `mmap.rs`.

mod background;
mod compaction;
mod config;
mod index;
pub(crate) mod io;
mod mmap;
mod notify;
mod partition;
mod read;
mod recovery;
mod repair;
mod segment;

pub use background::Background;
#[doc(hidden)]
pub use compaction::CRASH_AT as COMPACTION_CRASH_AT;
pub use compaction::{CompactionConfig, CompactionReport};
pub use config::{FlushPolicy, LogConfig};
#[doc(hidden)]
pub use io::FaultInjection;
pub(crate) use partition::now_ms;
pub use partition::{AppendInfo, PartitionLog};
pub use read::{FetchedBatchIter, FetchedBatches, FetchedRecords};
pub use recovery::RecoveryReport;
pub use repair::PartitionRepair;
