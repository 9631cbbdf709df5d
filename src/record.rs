//! The client-side record model: what producers send and what they get back.

use crate::format::{Header, TimestampType};

pub use crate::topic_partition::TopicPartition;

/// A record to publish (Kafka's `ProducerRecord`): topic, optional partition, key,
/// value, timestamp and headers.
///
/// ```
/// use brooklet::ProducerRecord;
/// let r = ProducerRecord::new("tweets").key("user-1").value("hello").header("lang", "en");
/// assert_eq!(r.key_bytes(), Some(&b"user-1"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    pub(crate) topic: String,
    pub(crate) partition: Option<u32>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) headers: Vec<Header>,
}

impl ProducerRecord {
    /// A record for `topic` with null key and value, the current time, no headers.
    pub fn new(topic: impl Into<String>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            timestamp: None,
            headers: Vec::new(),
        }
    }
    /// Sets the key; keyed records go to `murmur2(key) % partitions`, as in Kafka.
    #[must_use]
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Sets the value (a null value is a tombstone on compacted topics).
    #[must_use]
    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }
    /// Sends to this partition, bypassing the partitioner.
    #[must_use]
    pub fn partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }
    /// Sets the CreateTime timestamp in ms since the epoch. Default: the time of `send`.
    /// It must not be negative: as Kafka's `ProducerRecord` ("Invalid timestamp"), a
    /// negative one makes `send` fail with
    /// [`Error::InvalidRecord`](crate::Error::InvalidRecord).
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
    /// Adds a header whose value is null (Kafka allows null header values).
    #[must_use]
    pub fn header_null(mut self, key: impl Into<String>) -> Self {
        self.headers.push(Header {
            key: key.into(),
            value: None,
        });
        self
    }
    /// Appends headers, in order.
    #[must_use]
    pub fn headers_from(mut self, headers: impl IntoIterator<Item = Header>) -> Self {
        self.headers.extend(headers);
        self
    }
    /// The topic.
    pub fn topic_name(&self) -> &str {
        &self.topic
    }
    /// The key bytes.
    pub fn key_bytes(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }
    /// The value bytes.
    pub fn value_bytes(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }
    /// The headers.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }
}

/// Where a record landed (Kafka's `RecordMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub(crate) topic: std::sync::Arc<str>,
    pub(crate) partition: u32,
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
    pub(crate) timestamp_type: TimestampType,
}

impl RecordMetadata {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
    /// The partition.
    pub fn partition(&self) -> u32 {
        self.partition
    }
    /// The record's offset in its partition.
    pub fn offset(&self) -> i64 {
        self.offset
    }
    /// The stored timestamp: the record's CreateTime, or the log's append time under
    /// LogAppendTime.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
    /// Which clock the timestamp comes from.
    pub fn timestamp_type(&self) -> TimestampType {
        self.timestamp_type
    }
}
