//! The records connectors exchange with the runner: [`ConnectRecord`] (what
//! transforms see), [`SourceRecord`] (a record plus where it came from) and
//! [`SinkRecord`] (a record plus where it was read).

use crate::{Header, ProducerRecord, TopicPartition};

/// A record on its way into or out of brooklet (Kafka Connect's `ConnectRecord`): the
/// part that single-message transforms read and change.
///
/// ```
/// use brooklet::connect::ConnectRecord;
/// let r = ConnectRecord::new("lines").key("k").value("hello").header("origin", "file");
/// assert_eq!(r.value.as_deref(), Some(&b"hello"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRecord {
    /// The topic (for a source record: where it is written; for a sink record: where it
    /// was read, or what a transform renamed it to).
    pub topic: String,
    /// The partition; `None` lets the runner choose (see
    /// [`Worker`](crate::connect::Worker) for how).
    pub partition: Option<u32>,
    /// The key; `None` is a null key.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is a null value (a tombstone on compacted topics).
    pub value: Option<Vec<u8>>,
    /// CreateTime in ms since the epoch; `None` means the time it is written.
    pub timestamp: Option<i64>,
    /// The headers, in order.
    pub headers: Vec<Header>,
}

impl ConnectRecord {
    /// A record for `topic` with null key and value, no timestamp and no headers.
    pub fn new(topic: impl Into<String>) -> Self {
        ConnectRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            timestamp: None,
            headers: Vec::new(),
        }
    }
    /// Sets the key.
    #[must_use]
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Sets the value.
    #[must_use]
    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }
    /// Sends to this partition.
    #[must_use]
    pub fn partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }
    /// Sets the timestamp (ms since the epoch).
    #[must_use]
    pub fn timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }
    /// Adds a header.
    #[must_use]
    pub fn header(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header::new(key, value));
        self
    }

    /// The record as the producer's record, to `partition` (the producer picks when
    /// `None`).
    pub(crate) fn to_producer_record(&self, partition: Option<u32>) -> ProducerRecord {
        let mut r = ProducerRecord::new(self.topic.clone());
        if let Some(p) = partition {
            r = r.partition(p);
        }
        if let Some(k) = &self.key {
            r = r.key(k.clone());
        }
        if let Some(v) = &self.value {
            r = r.value(v.clone());
        }
        // As Kafka Connect's ConnectUtils.checkAndConvertTimestamp: -1 is "no timestamp"
        // (the producer stamps the send time); other negative ones are refused by the
        // producer.
        if let Some(ts) = self.timestamp.filter(|&ts| ts != -1) {
            r = r.timestamp(ts);
        }
        for h in &self.headers {
            // ProducerRecord cannot carry a null header value; an empty one stands in.
            r = r.header(h.key.clone(), h.value.clone().unwrap_or_default());
        }
        r
    }
}

/// A record produced by a [`SourceTask`](crate::connect::SourceTask) (Kafka Connect's
/// `SourceRecord`): the record, plus the source partition it comes from (a file, a
/// table) and its source offset in it (a byte position, a row id). The runner stores
/// the offset of the last record of each source partition it wrote in
/// `__connect_offsets`, and a restarted task resumes from
/// [`SourceTaskContext::offset_for`](crate::connect::SourceTaskContext::offset_for).
///
/// Offsets are opaque strings to the runner: a source encodes what it needs to resume
/// (the file source uses `{"position":N,"inode":I}`).
///
/// ```
/// use brooklet::connect::{ConnectRecord, SourceRecord};
/// let r = SourceRecord::new("/var/log/app.log", "120", ConnectRecord::new("logs").value("line"));
/// assert_eq!(r.source_offset, "120");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Where in the outside world the record comes from (Kafka's `sourcePartition`).
    pub source_partition: String,
    /// Where to resume after this record (Kafka's `sourceOffset`).
    pub source_offset: String,
    /// The record itself.
    pub record: ConnectRecord,
    /// Why the source could not turn the input into a record, if it could not.
    pub(crate) error: Option<String>,
}

impl SourceRecord {
    /// A record from `source_partition`, after which the source resumes at
    /// `source_offset`.
    pub fn new(
        source_partition: impl Into<String>,
        source_offset: impl Into<String>,
        record: ConnectRecord,
    ) -> Self {
        SourceRecord {
            source_partition: source_partition.into(),
            source_offset: source_offset.into(),
            record,
            error: None,
        }
    }

    /// Marks the record as one the source could not convert (Kafka's converter
    /// failure): the runner applies the connector's
    /// [`errors_tolerance`](crate::connect::ConnectorConfig::errors_tolerance) to it
    /// (stop, or skip it to the dead-letter topic) and still moves past its offset
    /// when skipping.
    #[must_use]
    pub fn failed(mut self, reason: impl Into<String>) -> Self {
        self.error = Some(reason.into());
        self
    }

    /// The conversion error set by [`failed`](Self::failed).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// A record delivered to a [`SinkTask`](crate::connect::SinkTask) (Kafka Connect's
/// `SinkRecord`): the record after transforms, and the topic-partition and offset it
/// was read from (which the runner commits once the task flushed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkRecord {
    /// The record, after transforms; `record.partition` and `record.timestamp` are set.
    pub record: ConnectRecord,
    /// Where it was read (before any renaming transform).
    pub source: TopicPartition,
    /// Its offset there.
    pub offset: i64,
}

impl SinkRecord {
    /// The topic (after transforms).
    pub fn topic(&self) -> &str {
        &self.record.topic
    }
    /// The key.
    pub fn key(&self) -> Option<&[u8]> {
        self.record.key.as_deref()
    }
    /// The value.
    pub fn value(&self) -> Option<&[u8]> {
        self.record.value.as_deref()
    }
    /// The offset in the partition it was read from.
    pub fn offset(&self) -> i64 {
        self.offset
    }
    /// The timestamp, ms since the epoch.
    pub fn timestamp(&self) -> i64 {
        self.record.timestamp.unwrap_or(-1)
    }
    /// The headers.
    pub fn headers(&self) -> &[Header] {
        &self.record.headers
    }
}
