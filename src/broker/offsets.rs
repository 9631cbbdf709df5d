//! Committed offsets: records in the internal topic `__consumer_offsets`, replayed at
//! open, exactly as Kafka keeps them.
//!
//! Keys and values use Kafka's own schemas (`OffsetCommitKey` v1 and
//! `OffsetCommitValue` v3), so the topic's files read like Kafka's:
//!
//! - key: version i16 = 1, group (i16 length + UTF-8), topic (i16 length + UTF-8),
//!   partition i32;
//! - value: version i16 = 3, offset i64, leader epoch i32 = -1, metadata (i16 length +
//!   UTF-8), commit timestamp i64; a null value (tombstone) deletes the offset.
//!
//! A group's offsets live in partition `abs(javaHashCode(group)) % partitions`, as in
//! Kafka, so one group's commits are totally ordered.

use parking_lot::RwLock;
use std::collections::HashMap;

use super::Broker;
use crate::config::{CleanupPolicy, TopicConfig};
use crate::error::{Error, Result};
use crate::format::RecordIn;
use crate::record::TopicPartition;
use crate::storage::{PartitionLog, now_ms};

/// Kafka's internal topic of committed offsets.
pub(crate) const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Partitions of `__consumer_offsets` (Kafka's default is 50, sized for a cluster).
const OFFSETS_PARTITIONS: u32 = 4;

/// A committed offset (Kafka's `OffsetAndMetadata`): the next offset to consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    /// The offset of the next record to consume.
    pub offset: i64,
    /// Free-form metadata stored with the commit.
    pub metadata: String,
    /// When the commit was made, ms since the epoch.
    pub commit_timestamp: i64,
}

impl OffsetAndMetadata {
    /// An offset with empty metadata.
    pub fn new(offset: i64) -> Self {
        OffsetAndMetadata {
            offset,
            metadata: String::new(),
            commit_timestamp: -1,
        }
    }
}

type Key = (String, TopicPartition);

/// The offsets of every group, backed by `__consumer_offsets`.
pub(crate) struct OffsetStore {
    logs: Vec<PartitionLog>,
    map: RwLock<HashMap<Key, OffsetAndMetadata>>,
}

fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Kafka's short strings: i16 length. Longer strings are cut at a char boundary
    // (group ids and topics are far shorter; metadata is free-form).
    let mut end = s.len().min(i16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as i16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

fn get_str(b: &[u8], pos: &mut usize) -> Option<String> {
    let len = i16::from_be_bytes(b.get(*pos..*pos + 2)?.try_into().ok()?);
    *pos += 2;
    if len < 0 {
        return None;
    }
    let s = std::str::from_utf8(b.get(*pos..*pos + len as usize)?).ok()?;
    *pos += len as usize;
    Some(s.to_string())
}

/// Kafka's schemas store group ids, topics and metadata as i16-length strings, and
/// partitions as i32: refuse what cannot be stored whole.
pub(crate) fn validate_commit(
    group: &str,
    offsets: &[(TopicPartition, OffsetAndMetadata)],
) -> Result<()> {
    let limit = i16::MAX as usize;
    if group.len() > limit {
        return Err(Error::InvalidGroupId {
            reason: format!(
                "a group id of {} bytes is longer than the {limit} bytes Kafka's offset schema stores",
                group.len()
            ),
        });
    }
    for (tp, o) in offsets {
        if o.metadata.len() > limit {
            return Err(Error::InvalidArgument(format!(
                "commit metadata for {tp} is {} bytes; at most {limit} are stored",
                o.metadata.len()
            )));
        }
        if tp.partition() > i32::MAX as u32 {
            return Err(Error::InvalidArgument(format!(
                "partition {} of `{}` is out of Kafka's range",
                tp.partition(),
                tp.topic()
            )));
        }
    }
    Ok(())
}

pub(crate) fn encode_key(group: &str, tp: &TopicPartition) -> Vec<u8> {
    let mut k = Vec::with_capacity(12 + group.len() + tp.topic().len());
    k.extend_from_slice(&1i16.to_be_bytes());
    put_str(&mut k, group);
    put_str(&mut k, tp.topic());
    k.extend_from_slice(&(tp.partition() as i32).to_be_bytes());
    k
}

fn decode_key(b: &[u8]) -> Option<Key> {
    if b.get(..2)? != 1i16.to_be_bytes() {
        return None; // group metadata records (version 2) and unknown versions
    }
    let mut pos = 2;
    let group = get_str(b, &mut pos)?;
    let topic = get_str(b, &mut pos)?;
    let p = i32::from_be_bytes(b.get(pos..pos + 4)?.try_into().ok()?);
    Some((group, TopicPartition::new(topic, u32::try_from(p).ok()?)))
}

fn encode_value(o: &OffsetAndMetadata) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + o.metadata.len());
    v.extend_from_slice(&3i16.to_be_bytes());
    v.extend_from_slice(&o.offset.to_be_bytes());
    v.extend_from_slice(&(-1i32).to_be_bytes());
    put_str(&mut v, &o.metadata);
    v.extend_from_slice(&o.commit_timestamp.to_be_bytes());
    v
}

fn decode_value(b: &[u8]) -> Option<OffsetAndMetadata> {
    let version = i16::from_be_bytes(b.get(..2)?.try_into().ok()?);
    let offset = i64::from_be_bytes(b.get(2..10)?.try_into().ok()?);
    let mut pos = 10;
    if version >= 3 {
        pos += 4; // leader epoch
    }
    let metadata = get_str(b, &mut pos)?;
    let commit_timestamp = i64::from_be_bytes(b.get(pos..pos + 8)?.try_into().ok()?);
    Some(OffsetAndMetadata {
        offset,
        metadata,
        commit_timestamp,
    })
}

/// The settings `__consumer_offsets` is created with, for `partitions` partitions.
pub(crate) fn offsets_topic_config(partitions: u32) -> TopicConfig {
    TopicConfig::new(partitions)
        .segment_bytes(1 << 20)
        .retention_ms(None)
        .cleanup_policy(CleanupPolicy::Compact)
}

impl OffsetStore {
    /// Opens the store, creating `__consumer_offsets` on first use, and replays it.
    pub(crate) fn open(broker: &Broker) -> Result<OffsetStore> {
        let config = offsets_topic_config(OFFSETS_PARTITIONS);
        match broker.create_topic_unchecked(OFFSETS_TOPIC, config) {
            Ok(()) | Err(Error::TopicExists { .. }) => {}
            Err(e) => return Err(e),
        }
        let n = broker.partition_count(OFFSETS_TOPIC)?;
        let logs = (0..n)
            .map(|p| broker.partition_log(OFFSETS_TOPIC, p))
            .collect::<Result<Vec<_>>>()?;
        let mut map = HashMap::new();
        for log in &logs {
            let mut offset = log.log_start_offset();
            while offset < log.log_end_offset() {
                let f = log.read(offset, 1 << 20)?;
                for r in f.records() {
                    let r = r?;
                    let Some(key) = r.key().and_then(decode_key) else {
                        continue;
                    };
                    match r.value().map(decode_value) {
                        None => {
                            map.remove(&key);
                        }
                        Some(Some(v)) => {
                            map.insert(key, v);
                        }
                        Some(None) => {
                            return Err(Error::corrupt(
                                log.name(),
                                r.offset() as u64,
                                "undecodable offset commit value",
                            ));
                        }
                    }
                }
                if f.next_offset() <= offset {
                    break;
                }
                offset = f.next_offset();
            }
        }
        Ok(OffsetStore {
            logs,
            map: RwLock::new(map),
        })
    }

    fn log_for(&self, group: &str) -> &PartitionLog {
        let h = java_hash(group);
        // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0.
        let h = if h == i32::MIN { 0 } else { h.abs() };
        &self.logs[h as usize % self.logs.len()]
    }

    /// Appends the commits as one batch (all or nothing), then makes them visible.
    pub(crate) fn commit(
        &self,
        group: &str,
        offsets: &[(TopicPartition, OffsetAndMetadata)],
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let stamped: Vec<(Vec<u8>, Vec<u8>)> = offsets
            .iter()
            .map(|(tp, o)| {
                let mut o = o.clone();
                if o.commit_timestamp < 0 {
                    o.commit_timestamp = now;
                }
                (encode_key(group, tp), encode_value(&o))
            })
            .collect();
        let recs: Vec<RecordIn<'_>> = stamped
            .iter()
            .map(|(k, v)| RecordIn {
                key: Some(k),
                value: Some(v),
                timestamp: now,
                headers: &[],
            })
            .collect();
        // The map's lock is held across the append, so the log and the map see
        // concurrent commits in the same order.
        let mut map = self.map.write();
        self.log_for(group).append(&recs)?;
        for (tp, o) in offsets {
            let mut o = o.clone();
            if o.commit_timestamp < 0 {
                o.commit_timestamp = now;
            }
            map.insert((group.to_string(), tp.clone()), o);
        }
        Ok(())
    }

    pub(crate) fn committed(&self, group: &str, tp: &TopicPartition) -> Option<OffsetAndMetadata> {
        self.map
            .read()
            .get(&(group.to_string(), tp.clone()))
            .cloned()
    }

    /// Every committed offset of a group, sorted by partition.
    pub(crate) fn group_offsets(&self, group: &str) -> Vec<(TopicPartition, OffsetAndMetadata)> {
        let mut v: Vec<_> = self
            .map
            .read()
            .iter()
            .filter(|((g, _), _)| g == group)
            .map(|((_, tp), o)| (tp.clone(), o.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Groups with at least one committed offset.
    pub(crate) fn groups(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map.read().keys().map(|(g, _)| g.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Deletes every offset of a group (tombstones, as Kafka's DeleteGroups).
    pub(crate) fn delete_group(&self, group: &str) -> Result<()> {
        let keys: Vec<Vec<u8>> = self
            .group_offsets(group)
            .iter()
            .map(|(tp, _)| encode_key(group, tp))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let recs: Vec<RecordIn<'_>> = keys
            .iter()
            .map(|k| RecordIn {
                key: Some(k),
                value: None,
                timestamp: now_ms(),
                headers: &[],
            })
            .collect();
        self.log_for(group).append(&recs)?;
        self.map.write().retain(|(g, _), _| g != group);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_schemas_round_trip() {
        let tp = TopicPartition::new("tweets", 3);
        let k = encode_key("g1", &tp);
        // version 1, "g1", "tweets", 3
        assert_eq!(
            k,
            [
                0, 1, 0, 2, b'g', b'1', 0, 6, b't', b'w', b'e', b'e', b't', b's', 0, 0, 0, 3
            ]
        );
        assert_eq!(decode_key(&k), Some(("g1".to_string(), tp)));
        let v = OffsetAndMetadata {
            offset: 42,
            metadata: "m".into(),
            commit_timestamp: 7,
        };
        assert_eq!(decode_value(&encode_value(&v)), Some(v));
        assert_eq!(decode_key(&[0, 2, 0, 0]), None);
        assert_eq!(decode_value(&[0, 3, 1]), None);
    }

    #[test]
    fn java_string_hash() {
        // "hello".hashCode() in Java.
        assert_eq!(java_hash("hello"), 99162322);
        assert_eq!(java_hash(""), 0);
    }
}
