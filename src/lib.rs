//! brooklet: Apache Kafka's semantics in process.
//!
//! Topics, partitions, producers, consumers and consumer groups over memory-mapped
//! partition files, with no broker process and no network hop. The files are Kafka's
//! own RecordBatch v2, so the data model is Kafka's and Kafka tooling can read them.
//!
//! The layers, bottom up:
//!
//! - [`format`](mod@format): the pure RecordBatch v2 codec (CRC-32C, varints, murmur2);
//! - [`storage`]: one partition's log ([`storage::PartitionLog`]): segments, indexes,
//!   roll, flush and crash recovery;
//! - [`Broker`]: a data directory with its topics; [`Producer`] publishes to them.
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
#![deny(unsafe_code)]

mod admin;
mod broker;
mod config;
pub mod connect;
mod consumer;
mod error;
pub mod format;
mod group;
mod partitioner;
mod producer;
mod record;
pub mod storage;
pub mod streams;

pub use admin::{GroupPartitionOffset, OffsetSpec};
pub use broker::{
    Broker, BrokerBuilder, MaintenanceReport, PartitionDescription, TopicDescription,
};
pub use config::{
    CleanupPolicy, ConsumerConfig, OffsetReset, PartitionerKind, ProducerConfig, TopicConfig,
};
pub use consumer::{
    Consumer, ConsumerRecord, ConsumerRecords, OffsetAndTimestamp, OwnedConsumerRecord,
    RebalanceListener, WakeupHandle,
};
pub use error::{Error, Result};
pub use format::{Header, TimestampType};
pub use group::assignor::{
    Assignment, Assignor, CooperativeStickyAssignor, RangeAssignor, RebalanceProtocol,
    RoundRobinAssignor, StickyAssignor, Subscription, assignor_by_name,
};
pub use group::coordinator::{GroupDescription, GroupState, MemberDescription};
pub use group::offsets::OffsetAndMetadata;
pub use partitioner::{DefaultPartitioner, Partitioner, RoundRobinPartitioner};
pub use producer::Producer;
pub use record::{ProducerRecord, RecordMetadata, TopicPartition};
pub use storage::FlushPolicy;
