//! Moving data between brooklet and the outside world, and between brokers: Kafka
//! Connect's source and sink connectors, and MirrorMaker's topic mirroring.
//!
//! - [`SourceConnector`] / [`SourceTask`]: `poll` returns [`SourceRecord`]s, each with
//!   a source partition and offset; a [`Worker`] writes them to topics and stores the
//!   offsets in the internal compacted topic `__connect_offsets`, so a restarted task
//!   resumes from [`SourceTaskContext::offset_for`]. Offsets are stored right after
//!   the records, and a batch cut short by a crash is recognised on restart, so every
//!   record is written once (see [`SourceTask`] and `docs/design.md` for the
//!   conditions; where they do not hold, at least once).
//! - [`SinkConnector`] / [`SinkTask`]: `put` batches and `flush`; the worker reads as
//!   the consumer group `connect-<name>` and commits only after a successful flush.
//! - The [`Worker`] starts, stops, pauses, resumes and restarts connectors with N
//!   tasks each, applies the error policy ([`ErrorTolerance`], dead-letter topic), and
//!   reports [`ConnectorStatus`] per connector and task.
//! - Single-message [`transforms`] are plain closures.
//! - Built-ins: [`FileSource`] (text or JSON Lines, resuming by byte position, noticing
//!   truncation and rotation), [`FileSink`], [`StdinSource`], [`StdoutSink`].
//! - [`Mirror`] copies topics matching a pattern from one [`Broker`](crate::Broker) to
//!   another, records how offsets map, moves consumer groups over
//!   ([`Mirror::migrate_group`]) and reports lag.
//!
//! Like [`streams`](crate::streams), this module uses only the public API, as an
//! application would: the [`Producer`](crate::Producer) and
//! [`Consumer`](crate::Consumer), and for its internal topics (`__connect_offsets` on
//! the worker's broker, `__mirror_offset_syncs` on a mirror's target), whose `__` names
//! [`Broker::create_topic`](crate::Broker::create_topic) reserves,
//! [`Broker::create_internal_topic`](crate::Broker::create_internal_topic).
//!
//! ```
//! use brooklet::connect::{ConnectorConfig, FileSource, Worker, transforms};
//! use brooklet::{Broker, ConsumerConfig, OffsetReset, TopicConfig};
//! use std::time::Duration;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let log = dir.path().join("app.log");
//! std::fs::write(&log, "INFO up\nDEBUG noise\nWARN disk 91%\n").unwrap();
//!
//! let broker = Broker::open(dir.path().join("data"))?;
//! broker.create_topic("logs", TopicConfig::new(1))?;
//! let worker = Worker::new(&broker)?;
//! worker.start_source(
//!     FileSource::new(&log, "logs"),
//!     ConnectorConfig::new("app-log")
//!         .transform(transforms::filter(|r| !r.value.as_deref().unwrap_or_default().starts_with(b"DEBUG"))),
//! )?;
//!
//! let mut consumer = broker.consumer(ConsumerConfig::new().group_id("ops").auto_offset_reset(OffsetReset::Earliest));
//! consumer.subscribe(&["logs"])?;
//! let mut lines = Vec::new();
//! while lines.len() < 2 {
//!     for r in consumer.poll(Duration::from_secs(5))?.iter() {
//!         lines.push(String::from_utf8_lossy(r.value().unwrap_or_default()).into_owned());
//!     }
//! }
//! assert_eq!(lines, ["INFO up", "WARN disk 91%"]);
//! worker.close();
//! # Ok::<(), brooklet::Error>(())
//! ```

mod config;
mod dead_letter;
mod file;
mod internal;
mod json;
mod mirror;
mod offsets;
mod record;
mod sink;
mod source;
mod status;
mod stdio;
pub mod transforms;
mod worker;

pub use config::{ConnectorConfig, ErrorTolerance, Transform};
pub use file::{FileFormat, FileSink, FileSource};
pub use mirror::{Mirror, MirrorConfig, MirrorLag, MirrorStatus, OffsetTranslation};
pub use record::{ConnectRecord, SinkRecord, SourceRecord};
pub use sink::{SinkConnector, SinkTask, SinkTaskContext};
pub use source::{SourceConnector, SourceTask, SourceTaskContext};
pub use status::{ConnectorKind, ConnectorState, ConnectorStatus, TaskState, TaskStatus};
pub use stdio::{StdinSource, StdoutSink};
pub use worker::Worker;
