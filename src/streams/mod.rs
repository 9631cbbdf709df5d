//! Stream processing over brooklet topics, modelled on Kafka Streams: a topology DSL
//! (`stream`, `map`, `filter`, `group_by`, `count`, windows, ...), in-memory state
//! stores backed by compacted changelog topics, and a runner that processes partitions
//! with worker threads in a consumer group, at least once.
//!
//! It uses only the public [`Producer`](crate::Producer) and
//! [`Consumer`](crate::Consumer) API, as an application would.

mod commit;
mod runtime;
mod serde;
mod topology;
mod window;

pub use runtime::{KafkaStreams, OnError, StreamsConfig, StreamsState};
pub use serde::{Bytes, FnSerde, I32, I64, Serde, Utf8};
pub use topology::{
    KGroupedStream, KStream, KTable, StreamsBuilder, TimeWindowedKStream, Topology,
};
pub use window::{EmitStrategy, TimeWindows, Windowed};
