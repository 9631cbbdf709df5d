//! brooklet: Apache Kafka's semantics in process.
//!
//! Topics, partitions, producers, consumers and consumer groups over memory-mapped
//! partition files, with no broker process and no network hop. The files are Kafka's
//! own RecordBatch v2, so the data model is Kafka's and Kafka tooling can read them.
//!
//! The layers, bottom up:
//!
//! - `format`: the pure RecordBatch v2 codec (CRC-32C, varints, murmur2);
//! - `storage`: one partition's log (`PartitionLog`): segments, indexes, roll, flush
//!   and crash recovery;
//! - [`Broker`]: a data directory with its topics; [`Producer`] publishes to them,
//!   [`Consumer`] reads them; [`streams`] and [`connect`] build on those clients.
//!
//! `format` and `storage` are the broker's internals and are private: the supported
//! API is everything at the crate root plus [`streams`] and [`connect`]. The few
//! types of the lower layers that appear in it ([`Header`], [`HeaderRef`],
//! [`TimestampType`], [`FlushPolicy`]) are re-exported here.
//!
//! # Cargo features
//!
//! - `internals` (off by default): makes `brooklet::format`, `brooklet::storage` and
//!   `Broker::partition_log` public, for brooklet's own tests, benches and fuzz
//!   targets. **It is unsupported and unstable**: anything behind it may change or
//!   disappear in any release, including a patch release. **It bypasses the broker's
//!   guarantees**: a `PartitionLog` opened or written directly does not take the data
//!   directory's lock, so it can open a partition a live `Broker` holds and overwrite
//!   or truncate acknowledged records, skip the producer's validation, and leave
//!   indexes, committed offsets and consumers inconsistent. Do not enable it in an
//!   application.
//!
//! # Quick start
//!
//! ```
//! use brooklet::{Broker, ProducerRecord, TopicConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let broker = Broker::open(dir.path())?;
//! broker.create_topic("tweets", TopicConfig::new(4))?;
//!
//! let producer = broker.producer();
//! let meta = producer.send(ProducerRecord::new("tweets").key("u1").value("hello"))?;
//! println!("{}-{}@{}", meta.topic(), meta.partition(), meta.offset());
//! # Ok::<(), brooklet::Error>(())
//! ```
#![deny(missing_docs)]
// A type that shows in a public signature but cannot be named (one from the private
// `format` or `storage` modules) is a leak of the internals: re-export it or hide the
// item. The lint only sees it in builds without the `internals` feature.
#![warn(unnameable_types)]

mod admin;
mod assignor;
mod broker;
mod config;
pub mod connect;
mod consumer;
mod error;
#[cfg(feature = "internals")]
pub mod format;
#[cfg(not(feature = "internals"))]
mod format;
mod partitioner;
mod producer;
mod record;
#[cfg(feature = "internals")]
pub mod storage;
#[cfg(not(feature = "internals"))]
mod storage;
pub mod streams;
mod topic_partition;

pub use admin::{GroupPartitionOffset, OffsetSpec};
pub use assignor::{
    Assignment, Assignor, CooperativeStickyAssignor, RangeAssignor, RebalanceProtocol,
    RoundRobinAssignor, StickyAssignor, Subscription, assignor_by_name,
};
pub use broker::coordinator::{GroupDescription, GroupState, MemberDescription};
pub use broker::offsets::OffsetAndMetadata;
pub use broker::{
    Broker, BrokerBuilder, MaintenanceReport, OpenReport, PartitionDescription, RepairReport,
    TopicDescription,
};
pub use config::{
    CleanupPolicy, ConsumerConfig, OffsetReset, PartitionerKind, ProducerConfig, TopicConfig,
};
pub use consumer::{
    Consumer, ConsumerRecord, ConsumerRecords, OffsetAndTimestamp, OwnedConsumerRecord,
    RebalanceListener, WakeupHandle,
};
pub use error::{Error, Result};
pub use format::{Compression, Header, HeaderRef, TimestampType};
pub use partitioner::{DefaultPartitioner, Partitioner, RoundRobinPartitioner};
pub use producer::Producer;
pub use record::{ProducerRecord, RecordMetadata, TopicPartition};
pub use storage::{FlushPolicy, PartitionRepair, TopicCompression};

/// The README's code blocks, compiled as doc-tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
