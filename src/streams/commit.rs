//! What a streams application stores in the metadata string of each input offset it
//! commits, so that a restarted task resumes with the stream time it had.
//!
//! Kafka Streams does the same: the commit of every input partition carries that
//! partition's time and the processors' metadata (`TopicPartitionMetadata`, with
//! `ProcessorMetadata` for KIP-825's emit-on-window-close), and a task takes the
//! largest value of each over its partitions when it is restored.
//!
//! The text form is `brooklet-streams/1;pt=<ms>;st:<store>=<ms>;...`: `pt` is the
//! largest timestamp read from the partition, `st:<store>` the stream time of a
//! windowed store of the task. Store names are topic-name characters (they name the
//! changelog topic), so `;`, `:` and `=` cannot occur in them. A string in any other
//! form (empty, as older versions committed, or written by someone else) decodes to
//! `None`.

use std::collections::BTreeMap;

const TAG: &str = "brooklet-streams/1";

/// The stream times committed with one input partition's offset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CommitMetadata {
    /// The largest record timestamp read from the partition.
    pub(crate) partition_time: Option<i64>,
    /// Stream time of each windowed store of the task, by store name.
    pub(crate) stream_times: BTreeMap<String, i64>,
}

impl CommitMetadata {
    /// The metadata string.
    pub(crate) fn encode(&self) -> String {
        let mut s = TAG.to_string();
        if let Some(pt) = self.partition_time {
            s.push_str(&format!(";pt={pt}"));
        }
        for (store, t) in &self.stream_times {
            s.push_str(&format!(";st:{store}={t}"));
        }
        s
    }

    /// Parses a metadata string; `None` unless it is in this module's form. Entries it
    /// does not know are skipped, so a later version may add some.
    pub(crate) fn decode(s: &str) -> Option<CommitMetadata> {
        let mut parts = s.split(';');
        if parts.next()? != TAG {
            return None;
        }
        let mut m = CommitMetadata::default();
        for part in parts {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let Ok(value) = value.parse::<i64>() else {
                continue;
            };
            if name == "pt" {
                m.partition_time = Some(value);
            } else if let Some(store) = name.strip_prefix("st:") {
                m.stream_times.insert(store.to_string(), value);
            }
        }
        Some(m)
    }

    /// Keeps the larger value of each entry (a task's partitions each carry a copy of
    /// its store times; Kafka's `ProcessorMetadata::update` merges them the same way).
    pub(crate) fn merge_stream_times(&mut self, other: &CommitMetadata) {
        for (store, &t) in &other.stream_times {
            let e = self.stream_times.entry(store.clone()).or_insert(t);
            *e = (*e).max(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m = CommitMetadata {
            partition_time: Some(-5),
            stream_times: [("w.1".to_string(), 13_000), ("x-y".to_string(), 0)].into(),
        };
        assert_eq!(CommitMetadata::decode(&m.encode()), Some(m));
        let empty = CommitMetadata::default();
        assert_eq!(CommitMetadata::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn other_strings_are_not_metadata() {
        for s in ["", "hello", "brooklet-streams/2;pt=1", "pt=1"] {
            assert_eq!(CommitMetadata::decode(s), None, "{s:?}");
        }
    }

    #[test]
    fn unknown_and_bad_entries_are_skipped() {
        let m = CommitMetadata::decode("brooklet-streams/1;pt=x;zz=1;st:a=7;junk").unwrap();
        assert_eq!(m.partition_time, None);
        assert_eq!(m.stream_times, [("a".to_string(), 7)].into());
    }

    #[test]
    fn merge_keeps_the_larger_time() {
        let mut a = CommitMetadata::decode("brooklet-streams/1;st:s=5;st:t=1").unwrap();
        let b = CommitMetadata::decode("brooklet-streams/1;st:s=3;st:u=2").unwrap();
        a.merge_stream_times(&b);
        assert_eq!(
            a.stream_times,
            [
                ("s".to_string(), 5),
                ("t".to_string(), 1),
                ("u".to_string(), 2)
            ]
            .into()
        );
    }
}
