//! Source offsets in the internal compacted topic `__connect_offsets` (Kafka Connect's
//! `offset.storage.topic`), replayed when a [`Worker`](super::Worker) opens.
//!
//! One partition, so that every write of a batch commit is one append (all or
//! nothing) and all writes are totally ordered. Records (JSON text, as Kafka Connect
//! writes its offsets; see `docs/format.md`):
//!
//! - source offset: key `["<connector>","<source partition>"]`, value the source offset
//!   string (a null value deletes it);
//! - write intent: key `["<connector>",T]` (T the task number), value
//!   `{"task":T,"ends":[["<topic>",P,END],...],"counts":[["<source partition>",N],...]}`
//!   written before a batch's records, deleted (tombstone) by the commit that follows
//!   them. An intent still present at start-up marks a batch whose records may have
//!   been written without their offsets: the runner uses it to recognise them (see
//!   `source.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::internal::{Reader, ensure_internal_topic};
use super::json::{self, Json, quote};
use crate::{
    Broker, CleanupPolicy, Error, Producer, ProducerRecord, Result, TopicConfig, TopicPartition,
};

/// The internal topic of source offsets.
pub(crate) const CONNECT_OFFSETS_TOPIC: &str = "__connect_offsets";

/// What a source batch is about to write: enough to find its records after a crash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Intent {
    /// The task that wrote it.
    pub(crate) task: usize,
    /// Per destination partition: its log end before the batch was written (the
    /// batch's records there are at or after it).
    pub(crate) ends: Vec<(TopicPartition, i64)>,
    /// Per source partition: how many records the task returned for it in the batch.
    pub(crate) counts: Vec<(String, u64)>,
}

impl Intent {
    fn encode(&self) -> String {
        let ends: Vec<String> = self
            .ends
            .iter()
            .map(|(tp, e)| format!("[{},{},{e}]", quote(tp.topic()), tp.partition()))
            .collect();
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(s, n)| format!("[{},{n}]", quote(s)))
            .collect();
        format!(
            "{{\"task\":{},\"ends\":[{}],\"counts\":[{}]}}",
            self.task,
            ends.join(","),
            counts.join(",")
        )
    }

    fn decode(b: &[u8]) -> Option<Intent> {
        let v = json::parse(b).ok()?;
        let task = usize::try_from(v.get("task")?.as_i64()?).ok()?;
        let mut ends = Vec::new();
        for e in v.get("ends")?.as_array()? {
            let e = e.as_array()?;
            let p = u32::try_from(e.get(1)?.as_i64()?).ok()?;
            ends.push((
                TopicPartition::new(e.first()?.as_str()?, p),
                e.get(2)?.as_i64()?,
            ));
        }
        let mut counts = Vec::new();
        for c in v.get("counts")?.as_array()? {
            let c = c.as_array()?;
            counts.push((
                c.first()?.as_str()?.to_string(),
                u64::try_from(c.get(1)?.as_i64()?).ok()?,
            ));
        }
        Some(Intent { task, ends, counts })
    }
}

#[derive(Default)]
struct State {
    offsets: HashMap<(String, String), String>,
    intents: HashMap<(String, usize), Intent>,
}

/// The offsets of every source connector of a broker, backed by `__connect_offsets`.
pub(crate) struct OffsetStore {
    producer: Producer,
    state: Mutex<State>,
}

fn offset_key(connector: &str, partition: &str) -> String {
    format!("[{},{}]", quote(connector), quote(partition))
}

fn intent_key(connector: &str, task: usize) -> String {
    format!("[{},{task}]", quote(connector))
}

impl OffsetStore {
    /// Creates `__connect_offsets` on first use and replays it.
    pub(crate) fn open(broker: &Broker) -> Result<Arc<OffsetStore>> {
        let config = TopicConfig::new(1)
            .segment_bytes(1 << 20)
            .retention_ms(None)
            .cleanup_policy(CleanupPolicy::Compact);
        ensure_internal_topic(broker, CONNECT_OFFSETS_TOPIC, config)?;
        let tp = TopicPartition::new(CONNECT_OFFSETS_TOPIC, 0);
        let mut reader = Reader::new(broker);
        let end = reader.end_offset(&tp)?;
        let mut state = State::default();
        let corrupt = |offset: i64, why: &str| Error::Corrupt {
            path: broker.dir().join(format!("{CONNECT_OFFSETS_TOPIC}-0")),
            offset: offset.max(0) as u64,
            reason: format!("{CONNECT_OFFSETS_TOPIC}: {why}"),
        };
        reader.scan(&tp, 0, end, |r| {
            let Some(key) = r.key().and_then(|k| json::parse(k).ok()) else {
                return Err(corrupt(r.offset(), "record key is not JSON"));
            };
            let parts = key.as_array().unwrap_or_default();
            let connector = parts.first().and_then(Json::as_str).map(str::to_string);
            let (Some(c), 2) = (connector, parts.len()) else {
                // Records of a later version are left for it.
                return Ok(true);
            };
            match (&parts[1], r.value()) {
                (Json::Str(p), Some(v)) => {
                    let v = String::from_utf8(v.to_vec())
                        .map_err(|_| corrupt(r.offset(), "source offset is not UTF-8"))?;
                    state.offsets.insert((c, p.clone()), v);
                }
                (Json::Str(p), None) => {
                    state.offsets.remove(&(c, p.clone()));
                }
                (task @ Json::Num(_), v) => {
                    let task = task
                        .as_i64()
                        .and_then(|t| usize::try_from(t).ok())
                        .ok_or_else(|| corrupt(r.offset(), "bad task number in intent key"))?;
                    match v {
                        Some(v) => {
                            let i = Intent::decode(v)
                                .ok_or_else(|| corrupt(r.offset(), "undecodable write intent"))?;
                            state.intents.insert((c, task), i);
                        }
                        None => {
                            state.intents.remove(&(c, task));
                        }
                    }
                }
                _ => {}
            }
            Ok(true)
        })?;
        Ok(Arc::new(OffsetStore {
            producer: broker.producer(),
            state: Mutex::new(state),
        }))
    }

    /// Every stored offset of a connector.
    pub(crate) fn offsets_of(&self, connector: &str) -> HashMap<String, String> {
        self.state
            .lock()
            .offsets
            .iter()
            .filter(|((c, _), _)| c == connector)
            .map(|((_, p), o)| (p.clone(), o.clone()))
            .collect()
    }

    /// The intent of a batch of `task` that was written but never committed, if any.
    pub(crate) fn pending_intent(&self, connector: &str, task: usize) -> Option<Intent> {
        self.state
            .lock()
            .intents
            .get(&(connector.to_string(), task))
            .cloned()
    }

    fn record(key: String, value: Option<String>) -> ProducerRecord {
        let r = ProducerRecord::new(CONNECT_OFFSETS_TOPIC)
            .partition(0)
            .key(key);
        match value {
            Some(v) => r.value(v),
            None => r,
        }
    }

    /// Stores the intent of the batch about to be written.
    pub(crate) fn write_intent(&self, connector: &str, intent: &Intent) -> Result<()> {
        self.producer.send(Self::record(
            intent_key(connector, intent.task),
            Some(intent.encode()),
        ))?;
        self.state
            .lock()
            .intents
            .insert((connector.to_string(), intent.task), intent.clone());
        Ok(())
    }

    /// Stores the offsets after a batch of `task` and clears its intent, in one append.
    pub(crate) fn commit(
        &self,
        connector: &str,
        task: usize,
        offsets: &[(String, String)],
    ) -> Result<()> {
        let mut recs: Vec<ProducerRecord> = offsets
            .iter()
            .map(|(p, o)| Self::record(offset_key(connector, p), Some(o.clone())))
            .collect();
        recs.push(Self::record(intent_key(connector, task), None));
        self.producer.send_batch(recs)?;
        let mut st = self.state.lock();
        for (p, o) in offsets {
            st.offsets
                .insert((connector.to_string(), p.clone()), o.clone());
        }
        st.intents.remove(&(connector.to_string(), task));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_round_trips() {
        let i = Intent {
            task: 3,
            ends: vec![(TopicPartition::new("a\"b", 2), 17)],
            counts: vec![("/tmp/x.log".into(), 5)],
        };
        assert_eq!(Intent::decode(i.encode().as_bytes()), Some(i));
        assert_eq!(
            Intent::decode(b"{\"task\":-1,\"ends\":[],\"counts\":[]}"),
            None
        );
    }

    #[test]
    fn offsets_and_intents_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = Broker::open(dir.path()).unwrap();
            let s = OffsetStore::open(&b).unwrap();
            s.commit(
                "c",
                0,
                &[("f1".into(), "10".into()), ("f2".into(), "3".into())],
            )
            .unwrap();
            s.commit("c", 1, &[("f1".into(), "12".into())]).unwrap();
            let i = Intent {
                task: 0,
                ends: vec![(TopicPartition::new("t", 0), 4)],
                counts: vec![("f1".into(), 2)],
            };
            s.write_intent("c", &i).unwrap();
            s.write_intent("d", &i).unwrap();
            s.commit("d", 0, &[]).unwrap();
            // Another task's commit leaves task 0's intent alone.
            s.commit("c", 1, &[]).unwrap();
            b.close().unwrap();
        }
        let b = Broker::open(dir.path()).unwrap();
        let s = OffsetStore::open(&b).unwrap();
        let c = s.offsets_of("c");
        assert_eq!(c.get("f1").map(String::as_str), Some("12"));
        assert_eq!(c.get("f2").map(String::as_str), Some("3"));
        assert_eq!(c.len(), 2);
        assert_eq!(s.pending_intent("c", 0).map(|i| i.counts.len()), Some(1));
        assert_eq!(s.pending_intent("c", 1), None);
        assert_eq!(s.pending_intent("d", 0), None);
        assert!(!b.list_topics().contains(&CONNECT_OFFSETS_TOPIC.to_string()));
    }
}
