//! [`Producer`]: publishing records to topics from any thread.

use std::sync::Arc;

use crate::broker::{Broker, append_split, record_size};
use crate::config::{PartitionerKind, ProducerConfig};
use crate::error::{Error, Result};
use crate::format::{Compression, RecordIn};
use crate::partitioner::{DefaultPartitioner, Partitioner, RoundRobinPartitioner};
use crate::record::{ProducerRecord, RecordMetadata};
use crate::storage::{AppendScratch, now_ms};

/// Publishes records (Kafka's `KafkaProducer`). Cheap to clone, `Send + Sync`: share
/// one among threads. Concurrent sends to one partition share a batch (group append).
///
/// ```
/// use brooklet::{Broker, ProducerRecord, TopicConfig};
/// let dir = tempfile::tempdir().unwrap();
/// let broker = Broker::open(dir.path())?;
/// broker.create_topic("t", TopicConfig::new(2))?;
/// let producer = broker.producer();
/// let a = producer.send(ProducerRecord::new("t").key("k").value("v1"))?;
/// let b = producer.send(ProducerRecord::new("t").key("k").value("v2"))?;
/// assert_eq!((a.partition(), a.offset() + 1), (b.partition(), b.offset()));
/// # Ok::<(), brooklet::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Producer {
    inner: Arc<ProducerInner>,
}

/// What routing can reuse between the records of one call.
#[derive(Default)]
struct RouteCache {
    topic: Option<Arc<crate::broker::Topic>>,
    now: Option<i64>,
}

#[derive(Debug)]
struct ProducerInner {
    broker: Broker,
    config: ProducerConfig,
    partitioner: Arc<dyn Partitioner>,
}

impl Producer {
    pub(crate) fn new(broker: Broker, config: ProducerConfig) -> Producer {
        let partitioner: Arc<dyn Partitioner> = match &config.partitioner {
            PartitionerKind::Default => Arc::new(DefaultPartitioner::new(config.batch_size)),
            PartitionerKind::RoundRobin => Arc::new(RoundRobinPartitioner::default()),
            PartitionerKind::Custom(p) => Arc::clone(p),
        };
        Producer {
            inner: Arc::new(ProducerInner {
                broker,
                config,
                partitioner,
            }),
        }
    }

    /// Picks the partition and timestamp of a record and checks its size. `cache` keeps
    /// the last topic and the clock reading across the records of one `send_batch`.
    fn route(
        &self,
        record: &ProducerRecord,
        cache: &mut RouteCache,
    ) -> Result<(Arc<crate::broker::Topic>, u32, i64, usize)> {
        let broker = &self.inner.broker;
        broker.check_open()?;
        self.inner.config.validate()?;
        if let Some(ts) = record.timestamp
            && ts < 0
        {
            // Kafka's ProducerRecord: "Invalid timestamp: ... Timestamp should always be
            // non-negative or null." (-1 is the record format's "no timestamp").
            return Err(Error::InvalidRecord {
                topic: record.topic.clone(),
                reason: format!(
                    "invalid timestamp {ts}: timestamps must be non-negative (ms since the epoch), or left unset for the time of send"
                ),
            });
        }
        let topic = match &cache.topic {
            Some(t) if *t.name == *record.topic => Arc::clone(t),
            _ => {
                let t = broker.topic_for_produce(&record.topic)?;
                cache.topic = Some(Arc::clone(&t));
                t
            }
        };
        let n = topic.partitions().len() as u32;
        let p = match record.partition {
            Some(p) => p,
            None => self.inner.partitioner.partition(
                &record.topic,
                record.key.as_deref(),
                record.value.as_deref(),
                n,
            ),
        };
        if p >= n {
            return Err(Error::UnknownPartition {
                topic: record.topic.clone(),
                partition: p,
                partitions: n,
            });
        }
        let ts = record
            .timestamp
            .unwrap_or_else(|| *cache.now.get_or_insert_with(now_ms));
        let size = record_size(record, ts);
        let (max, policy, compressed) = {
            let c = topic.config.read();
            let stored = c
                .compression_type
                .codec()
                .unwrap_or(self.inner.config.compression);
            (
                batch_limit(&c.log_config()),
                c.cleanup_policy,
                stored != Compression::None,
            )
        };
        if record.key.is_none() && policy != crate::config::CleanupPolicy::Delete {
            // Kafka's broker refuses these too (InvalidRecordException).
            return Err(Error::InvalidRecord {
                topic: record.topic.clone(),
                reason: "the topic is compacted, so every record needs a key".into(),
            });
        }
        // A compressed batch is checked as stored, by the log (Kafka's broker checks the
        // compressed size against max.message.bytes).
        if size > max && !compressed {
            return Err(Error::RecordTooLarge {
                topic: record.topic.clone(),
                size,
                max,
            });
        }
        Ok((topic, p, ts, size))
    }

    /// Appends one record and returns where it landed, once it is readable by
    /// consumers and, when the topic's flush policy asks, on stable storage.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] (unless the broker auto-creates topics),
    /// [`Error::UnknownPartition`] for an explicit or partitioner-chosen partition out
    /// of range, [`Error::RecordTooLarge`] beyond the topic's `max_message_bytes`,
    /// [`Error::InvalidRecord`] for a negative timestamp (as Kafka's
    /// `ProducerRecord`) or a keyless record on a compacted topic,
    /// [`Error::InvalidConfig`] for a [`ProducerConfig`] out of Kafka's ranges (see
    /// [`ProducerConfig::validate`]),
    /// [`Error::Poisoned`] after a failed flush of the partition, [`Error::Closed`] after
    /// the broker was closed, [`Error::Io`] when a segment cannot be created (disk full).
    pub fn send(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        let (topic, p, ts, size) = self.route(&record, &mut RouteCache::default())?;
        let part = Arc::clone(&topic.partitions()[p as usize]);
        let topic_name = Arc::clone(&topic.name);
        let log = part.log()?;
        let (offset, stored_ts) = part.appender.append(
            log,
            record,
            ts,
            size,
            self.inner.config.linger,
            self.inner.config.batch_size,
            self.codec(),
        )?;
        Ok(RecordMetadata {
            topic: topic_name,
            partition: p,
            offset,
            timestamp: stored_ts,
            timestamp_type: log.config().timestamp_type,
        })
    }

    /// Appends many records, one batch per partition where they fit, and returns their
    /// metadata in input order. Every record is routed and checked before anything is
    /// written, so argument errors write nothing; an I/O error can leave the records of
    /// earlier partitions written.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_batch(
        &self,
        records: impl IntoIterator<Item = ProducerRecord>,
    ) -> Result<Vec<RecordMetadata>> {
        let records: Vec<ProducerRecord> = records.into_iter().collect();
        let mut routed = Vec::with_capacity(records.len());
        let mut cache = RouteCache::default();
        for r in &records {
            routed.push(self.route(r, &mut cache)?);
        }
        // Group by (topic, partition), keeping input order inside each group.
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| {
            (records[a].topic.as_str(), routed[a].1).cmp(&(records[b].topic.as_str(), routed[b].1))
        });
        let mut out: Vec<Option<RecordMetadata>> = vec![None; records.len()];
        let mut scratch = AppendScratch::default();
        let mut runs = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let (topic, p, ..) = &routed[order[i]];
            let part = Arc::clone(&topic.partitions()[*p as usize]);
            let log = part.log()?;
            let max = batch_limit(log.config());
            let mut j = i;
            while j < order.len()
                && records[order[j]].topic == records[order[i]].topic
                && routed[order[j]].1 == *p
            {
                j += 1;
            }
            // Chunks that fit max_message_bytes (sizes are per-record upper bounds).
            let mut start = i;
            while start < j {
                let mut end = start + 1;
                let mut bytes = routed[order[start]].3;
                while end < j && bytes + routed[order[end]].3 <= max {
                    bytes += routed[order[end]].3;
                    end += 1;
                }
                let ins: Vec<RecordIn<'_>> = order[start..end]
                    .iter()
                    .map(|&k| RecordIn {
                        key: records[k].key.as_deref(),
                        value: records[k].value.as_deref(),
                        timestamp: routed[k].2,
                        headers: &records[k].headers,
                    })
                    .collect();
                runs.clear();
                append_split(log, &ins, self.codec(), &mut scratch, &mut runs);
                let mut keys = order[start..end].iter();
                for (len, info) in runs.drain(..) {
                    let info = info?;
                    for (n, &k) in keys.by_ref().take(len).enumerate() {
                        out[k] = Some(RecordMetadata {
                            topic: Arc::clone(&topic.name),
                            partition: *p,
                            offset: info.base_offset + n as i64,
                            timestamp: info.log_append_time.unwrap_or(routed[k].2),
                            timestamp_type: log.config().timestamp_type,
                        });
                    }
                }
                start = end;
            }
            i = j;
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// The configured `compression.type` and level.
    fn codec(&self) -> (Compression, Option<i32>) {
        (
            self.inner.config.compression,
            self.inner.config.compression_level,
        )
    }

    /// Forces everything appended so far, by any producer, to stable storage. (Sends
    /// are synchronous, so unlike Kafka's `flush` there is nothing in flight to wait
    /// for; this is the durability barrier.)
    ///
    /// # Errors
    /// [`Error::Poisoned`] when a flush fails; [`Error::Closed`].
    pub fn flush(&self) -> Result<()> {
        self.inner.broker.check_open()?;
        self.inner.broker.flush()
    }
}

/// The largest batch a partition accepts: `max_message_bytes`, and never more than a
/// segment (a batch cannot span segments).
fn batch_limit(c: &crate::storage::LogConfig) -> usize {
    (c.max_message_bytes as usize).min(c.segment_bytes as usize)
}
