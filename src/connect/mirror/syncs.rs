//! The mirror's record of where each source record landed (MirrorMaker 2's
//! offset-syncs), in the internal compacted topic `__mirror_offset_syncs` of the
//! *target* broker, so it travels with the copy.
//!
//! Per source partition it keeps the progress (the next source offset to copy, and the
//! target offset it will get) and the *sync points*: the (source, target) offset pairs
//! of copied records that do not directly follow the previous copied record on both
//! sides. Between two points both sides are contiguous, so every source offset
//! translates exactly with one subtraction, and a partition without gaps needs a
//! single point however much is copied. Records (JSON text; see `docs/format.md`):
//!
//! - progress: key `["progress","<mirror>","<topic>",P]`, value
//!   `{"target_topic":"<t>","target_partition":P,"source_next":S,"target_next":T}`;
//! - sync point: key `["sync","<mirror>","<topic>",P,S]`, value `{"target":T}`.
//!
//! Keys of points are unique, so compaction keeps all of them and only older
//! progress records go.

use std::collections::BTreeMap;

use parking_lot::Mutex;

use crate::connect::internal::{Reader, ensure_internal_topic};
use crate::connect::json::{self, Json, quote};
use crate::{
    Broker, CleanupPolicy, Error, Producer, ProducerRecord, Result, TopicConfig, TopicPartition,
};

/// The internal topic of offset syncs, on the target broker.
pub(crate) const SYNCS_TOPIC: &str = "__mirror_offset_syncs";

/// What is known about one mirrored source partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionSyncs {
    pub(crate) target: TopicPartition,
    /// The next source offset to copy.
    pub(crate) source_next: i64,
    /// Where the next copied record lands on the target.
    pub(crate) target_next: i64,
    /// Sync points, ascending on both sides.
    pub(crate) points: Vec<(i64, i64)>,
}

impl PartitionSyncs {
    pub(crate) fn new(target: TopicPartition, source_next: i64, target_next: i64) -> Self {
        PartitionSyncs {
            target,
            source_next,
            target_next,
            points: Vec::new(),
        }
    }

    /// Notes that source record `src` was copied to target offset `tgt`; returns the new
    /// sync point when the pair does not continue the previous run.
    pub(crate) fn record(&mut self, src: i64, tgt: i64) -> Option<(i64, i64)> {
        let point = (self.points.is_empty() || src != self.source_next || tgt != self.target_next)
            .then_some((src, tgt));
        if let Some(p) = point {
            self.points.push(p);
        }
        self.source_next = src + 1;
        self.target_next = tgt + 1;
        point
    }

    /// The target offset at which a consumer that committed source offset `committed`
    /// (the next record it would read) continues: the target offset of the first
    /// copied record at or after `committed`, or the target's next offset when every
    /// copied record is before it. `None` when the mirror has not copied up to
    /// `committed` yet.
    pub(crate) fn translate(&self, committed: i64) -> Option<i64> {
        if committed > self.source_next {
            return None;
        }
        if committed == self.source_next {
            return Some(self.target_next);
        }
        let i = self.points.partition_point(|(s, _)| *s <= committed);
        if i == 0 {
            // Before the first copied record (older records were never copied).
            return Some(self.points.first().map_or(self.target_next, |p| p.1));
        }
        let (s, t) = self.points[i - 1];
        // Inside the run from point i-1 the offsets are contiguous; past its end (a
        // source gap) the next copied record is the next point's.
        let cap = self.points.get(i).map_or(self.target_next, |p| p.1);
        Some((t + (committed - s)).min(cap))
    }
}

/// The offset syncs of one mirror, backed by `__mirror_offset_syncs` on the target.
pub(crate) struct SyncStore {
    mirror: String,
    producer: Producer,
    pub(crate) parts: Mutex<BTreeMap<TopicPartition, PartitionSyncs>>,
}

fn progress_key(mirror: &str, tp: &TopicPartition) -> String {
    format!(
        "[\"progress\",{},{},{}]",
        quote(mirror),
        quote(tp.topic()),
        tp.partition()
    )
}

fn point_key(mirror: &str, tp: &TopicPartition, src: i64) -> String {
    format!(
        "[\"sync\",{},{},{},{src}]",
        quote(mirror),
        quote(tp.topic()),
        tp.partition()
    )
}

impl SyncStore {
    /// Creates the topic on first use and replays this mirror's syncs.
    pub(crate) fn open(target: &Broker, mirror: &str) -> Result<SyncStore> {
        let config = TopicConfig::new(1)
            .segment_bytes(1 << 20)
            .retention_ms(None)
            .cleanup_policy(CleanupPolicy::Compact);
        ensure_internal_topic(target, SYNCS_TOPIC, config)?;
        let tp = TopicPartition::new(SYNCS_TOPIC, 0);
        let mut reader = Reader::new(target);
        let end = reader.end_offset(&tp)?;
        let mut parts: BTreeMap<TopicPartition, PartitionSyncs> = BTreeMap::new();
        let mut points: BTreeMap<TopicPartition, BTreeMap<i64, i64>> = BTreeMap::new();
        let corrupt = |offset: i64, why: &str| Error::Corrupt {
            path: target.dir().join(format!("{SYNCS_TOPIC}-0")),
            offset: offset.max(0) as u64,
            reason: format!("{SYNCS_TOPIC}: {why}"),
        };
        reader.scan(&tp, 0, end, |r| {
            let key = r
                .key()
                .and_then(|k| json::parse(k).ok())
                .ok_or_else(|| corrupt(r.offset(), "record key is not JSON"))?;
            let k = key.as_array().unwrap_or_default();
            let (Some(kind), Some(m), Some(topic), Some(p)) = (
                k.first().and_then(Json::as_str),
                k.get(1).and_then(Json::as_str),
                k.get(2).and_then(Json::as_str),
                k.get(3)
                    .and_then(Json::as_i64)
                    .and_then(|p| u32::try_from(p).ok()),
            ) else {
                return Ok(true);
            };
            if m != mirror {
                return Ok(true);
            }
            let src_tp = TopicPartition::new(topic, p);
            let Some(v) = r.value() else {
                return Ok(true);
            };
            let v = json::parse(v).map_err(|e| corrupt(r.offset(), &e))?;
            let num = |f: &str| {
                v.get(f)
                    .and_then(Json::as_i64)
                    .ok_or_else(|| corrupt(r.offset(), &format!("missing `{f}`")))
            };
            match kind {
                "progress" => {
                    let tt = v
                        .get("target_topic")
                        .and_then(Json::as_str)
                        .ok_or_else(|| corrupt(r.offset(), "missing `target_topic`"))?;
                    let tpn = u32::try_from(num("target_partition")?)
                        .map_err(|_| corrupt(r.offset(), "bad `target_partition`"))?;
                    let e = PartitionSyncs::new(
                        TopicPartition::new(tt, tpn),
                        num("source_next")?,
                        num("target_next")?,
                    );
                    parts.insert(src_tp, e);
                }
                "sync" => {
                    let src = k
                        .get(4)
                        .and_then(Json::as_i64)
                        .ok_or_else(|| corrupt(r.offset(), "sync key without offset"))?;
                    points
                        .entry(src_tp)
                        .or_default()
                        .insert(src, num("target")?);
                }
                _ => {}
            }
            Ok(true)
        })?;
        for (tp, pts) in points {
            if let Some(e) = parts.get_mut(&tp) {
                e.points = pts.into_iter().collect();
            }
        }
        Ok(SyncStore {
            mirror: mirror.to_string(),
            producer: target.producer(),
            parts: Mutex::new(parts),
        })
    }

    /// Appends new sync points and the progress of `tp` as one append.
    pub(crate) fn write(
        &self,
        tp: &TopicPartition,
        state: &PartitionSyncs,
        new_points: &[(i64, i64)],
    ) -> Result<()> {
        let mut recs: Vec<ProducerRecord> = new_points
            .iter()
            .map(|(s, t)| {
                ProducerRecord::new(SYNCS_TOPIC)
                    .partition(0)
                    .key(point_key(&self.mirror, tp, *s))
                    .value(format!("{{\"target\":{t}}}"))
            })
            .collect();
        recs.push(
            ProducerRecord::new(SYNCS_TOPIC)
                .partition(0)
                .key(progress_key(&self.mirror, tp))
                .value(format!(
                    "{{\"target_topic\":{},\"target_partition\":{},\"source_next\":{},\"target_next\":{}}}",
                    quote(state.target.topic()),
                    state.target.partition(),
                    state.source_next,
                    state.target_next
                )),
        );
        self.producer.send_batch(recs).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syncs(pairs: &[(i64, i64)]) -> PartitionSyncs {
        let mut s = PartitionSyncs::new(TopicPartition::new("t", 0), pairs[0].0, 0);
        for &(a, b) in pairs {
            s.record(a, b);
        }
        s
    }

    #[test]
    fn a_contiguous_copy_needs_one_point() {
        let s = syncs(&(5..100).map(|i| (i, i - 5)).collect::<Vec<_>>());
        assert_eq!(s.points, vec![(5, 0)]);
        assert_eq!(s.translate(0), Some(0), "before the first copied record");
        assert_eq!(s.translate(5), Some(0));
        assert_eq!(s.translate(50), Some(45));
        assert_eq!(s.translate(100), Some(95), "everything consumed");
        assert_eq!(s.translate(101), None, "not copied yet");
    }

    #[test]
    fn gaps_in_the_source_translate_to_the_next_copied_record() {
        // Source offsets 0,1,2 then 10,11 (compacted away 3..10), target 0..5.
        let s = syncs(&[(0, 0), (1, 1), (2, 2), (10, 3), (11, 4)]);
        assert_eq!(s.points, vec![(0, 0), (10, 3)]);
        assert_eq!(s.translate(2), Some(2));
        assert_eq!(
            s.translate(3),
            Some(3),
            "in the gap: the next record is 10 -> 3"
        );
        assert_eq!(s.translate(7), Some(3));
        assert_eq!(s.translate(10), Some(3));
        assert_eq!(s.translate(11), Some(4));
        assert_eq!(s.translate(12), Some(5));
        // Every translation is monotonic.
        let t: Vec<i64> = (0..=12).map(|c| s.translate(c).unwrap()).collect();
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
    }
}
