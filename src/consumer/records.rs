//! What `poll` returns: zero-copy record views grouped by partition.

use crate::format::{Header, HeaderRef, RecordRef, TimestampType};
use crate::record::TopicPartition;
use crate::storage::FetchedBatches;

/// The records of one partition in a poll.
#[derive(Debug, Clone)]
pub(crate) struct PartitionRecords {
    pub(crate) tp: TopicPartition,
    pub(crate) fetched: FetchedBatches,
    pub(crate) from: i64,
    pub(crate) until: i64,
}

impl PartitionRecords {
    fn iter(&self) -> impl Iterator<Item = ConsumerRecord<'_>> + '_ {
        let (from, until) = (self.from, self.until);
        // Every batch was CRC-checked and validated by `poll` before it returned, and
        // published bytes never change, so decoding cannot fail here.
        self.fetched
            .records()
            .filter_map(Result::ok)
            .skip_while(move |r| r.offset() < from)
            .take_while(move |r| r.offset() < until)
            .map(move |rec| ConsumerRecord { tp: &self.tp, rec })
    }
}

/// The records returned by one [`Consumer::poll`](crate::Consumer::poll) (Kafka's
/// `ConsumerRecords`), borrowed from the log's mapping without copying. Iterate it, or
/// take one partition at a time with [`records`](Self::records).
#[derive(Debug, Clone, Default)]
pub struct ConsumerRecords {
    pub(crate) parts: Vec<PartitionRecords>,
    pub(crate) count: usize,
}

impl ConsumerRecords {
    /// Number of records.
    pub fn count(&self) -> usize {
        self.count
    }
    /// True when the poll returned nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The partitions that have records.
    pub fn partitions(&self) -> impl Iterator<Item = &TopicPartition> + '_ {
        self.parts.iter().map(|p| &p.tp)
    }
    /// The records of one partition, in offset order.
    pub fn records<'a>(
        &'a self,
        tp: &'a TopicPartition,
    ) -> impl Iterator<Item = ConsumerRecord<'a>> + 'a {
        self.parts
            .iter()
            .filter(move |p| &p.tp == tp)
            .flat_map(PartitionRecords::iter)
    }
    /// Every record, partition by partition, each partition in offset order.
    pub fn iter(&self) -> impl Iterator<Item = ConsumerRecord<'_>> + '_ {
        self.parts.iter().flat_map(PartitionRecords::iter)
    }
}

impl<'a> IntoIterator for &'a ConsumerRecords {
    type Item = ConsumerRecord<'a>;
    type IntoIter = Box<dyn Iterator<Item = ConsumerRecord<'a>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// One record as a consumer sees it (Kafka's `ConsumerRecord`), borrowing key, value
/// and headers from the log. [`to_owned`](Self::to_owned) copies it out.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerRecord<'a> {
    tp: &'a TopicPartition,
    rec: RecordRef<'a>,
}

impl<'a> ConsumerRecord<'a> {
    /// The topic.
    pub fn topic(&self) -> &'a str {
        self.tp.topic()
    }
    /// The partition.
    pub fn partition(&self) -> u32 {
        self.tp.partition()
    }
    /// The record's offset.
    pub fn offset(&self) -> i64 {
        self.rec.offset()
    }
    /// Timestamp in ms since the epoch.
    pub fn timestamp(&self) -> i64 {
        self.rec.timestamp()
    }
    /// CreateTime or LogAppendTime.
    pub fn timestamp_type(&self) -> TimestampType {
        self.rec.timestamp_type()
    }
    /// The key, `None` when null.
    pub fn key(&self) -> Option<&'a [u8]> {
        self.rec.key()
    }
    /// The value, `None` for a tombstone.
    pub fn value(&self) -> Option<&'a [u8]> {
        self.rec.value()
    }
    /// The headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = HeaderRef<'a>> + 'a {
        self.rec.headers()
    }
    /// An owned copy.
    pub fn to_owned(&self) -> OwnedConsumerRecord {
        OwnedConsumerRecord {
            topic: self.topic().to_string(),
            partition: self.partition(),
            offset: self.offset(),
            timestamp: self.timestamp(),
            timestamp_type: self.timestamp_type(),
            key: self.key().map(<[u8]>::to_vec),
            value: self.value().map(<[u8]>::to_vec),
            headers: self
                .headers()
                .map(|h| Header {
                    key: String::from_utf8_lossy(h.key).into_owned(),
                    value: h.value.map(<[u8]>::to_vec),
                })
                .collect(),
        }
    }
}

/// An owned consumer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedConsumerRecord {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// The offset.
    pub offset: i64,
    /// Timestamp in ms.
    pub timestamp: i64,
    /// CreateTime or LogAppendTime.
    pub timestamp_type: TimestampType,
    /// The key.
    pub key: Option<Vec<u8>>,
    /// The value.
    pub value: Option<Vec<u8>>,
    /// The headers (keys decoded as UTF-8, lossily).
    pub headers: Vec<Header>,
}
