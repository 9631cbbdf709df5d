//! Consumer-group administration on the [`Broker`] (Kafka's `Admin` group calls and
//! `kafka-consumer-groups.sh`).

use crate::broker::Broker;
use crate::broker::coordinator::{GroupDescription, GroupState};
use crate::broker::offsets::OffsetAndMetadata;
use crate::error::{Error, Result};
use crate::record::TopicPartition;

/// Where [`Broker::reset_group_offsets`] moves a group's offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start.
    Earliest,
    /// The log end.
    Latest,
    /// The first offset with a timestamp at or after this one (ms); the log end when
    /// every record is older.
    Timestamp(i64),
    /// This offset, clamped to the log's range.
    Offset(i64),
}

/// A group's committed offset for one partition, and how far behind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPartitionOffset {
    /// The partition.
    pub partition: TopicPartition,
    /// The committed offset.
    pub committed: i64,
    /// The partition's log end.
    pub log_end_offset: i64,
    /// `log_end_offset - committed`.
    pub lag: i64,
}

impl Broker {
    /// Every group with members or committed offsets, sorted.
    pub fn list_groups(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .groups()
            .ids()
            .into_iter()
            .filter(|g| self.groups().get(g).is_some_and(|g| !g.is_empty()))
            .collect();
        if self.has_offsets_topic()
            && let Ok(store) = self.offset_store()
        {
            v.extend(store.groups());
        }
        v.sort();
        v.dedup();
        v
    }

    /// Members, assignment, generation and state of a group.
    ///
    /// # Errors
    /// [`Error::UnknownGroup`] when the group has neither members nor offsets;
    /// [`Error::InvalidGroupId`] for an empty group id (Kafka's `INVALID_GROUP_ID`).
    pub fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        crate::config::validate_group_id(group)?;
        if let Some(g) = self.groups().get(group) {
            let d = g.describe();
            if d.state != GroupState::Empty || self.group_has_offsets(group) {
                return Ok(d);
            }
        }
        if self.group_has_offsets(group) {
            return Ok(GroupDescription {
                group_id: group.to_string(),
                state: GroupState::Empty,
                generation: 0,
                assignor: None,
                members: Vec::new(),
            });
        }
        Err(unknown_group(group))
    }

    fn group_has_offsets(&self, group: &str) -> bool {
        self.has_offsets_topic()
            && self
                .offset_store()
                .is_ok_and(|s| !s.group_offsets(group).is_empty())
    }

    /// A group's committed offsets with the lag of each partition.
    ///
    /// # Errors
    /// [`Error::Io`] when `__consumer_offsets` cannot be read;
    /// [`Error::InvalidGroupId`] for an empty group id (Kafka's `INVALID_GROUP_ID`).
    pub fn list_group_offsets(&self, group: &str) -> Result<Vec<GroupPartitionOffset>> {
        crate::config::validate_group_id(group)?;
        let store = self.offset_store()?;
        Ok(store
            .group_offsets(group)
            .into_iter()
            .map(|(tp, o)| {
                let end = self
                    .partition_log(tp.topic(), tp.partition())
                    .map_or(o.offset, |l| l.log_end_offset());
                GroupPartitionOffset {
                    lag: end.saturating_sub(o.offset).max(0),
                    log_end_offset: end,
                    committed: o.offset,
                    partition: tp,
                }
            })
            .collect())
    }

    /// Moves a group's committed offsets for `partitions` (every partition it has
    /// committed when empty) and returns the new offsets. As with
    /// `kafka-consumer-groups.sh --reset-offsets`, the group must have no members.
    ///
    /// # Errors
    /// [`Error::GroupNotEmpty`] while the group has members; [`Error::InvalidGroupId`]
    /// for an empty group id; [`Error::UnknownTopic`] / [`Error::UnknownPartition`];
    /// [`Error::Io`].
    pub fn reset_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        to: OffsetSpec,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        crate::config::validate_group_id(group)?;
        self.require_no_members(group)?;
        let store = self.offset_store()?;
        let tps: Vec<TopicPartition> = if partitions.is_empty() {
            store
                .group_offsets(group)
                .into_iter()
                .map(|(tp, _)| tp)
                .collect()
        } else {
            partitions.to_vec()
        };
        let mut out = Vec::new();
        for tp in tps {
            let log = self.partition_log(tp.topic(), tp.partition())?;
            let (start, end) = (log.log_start_offset(), log.log_end_offset());
            let offset = match to {
                OffsetSpec::Earliest => start,
                OffsetSpec::Latest => end,
                OffsetSpec::Timestamp(ts) => log.offset_for_timestamp(ts)?.map_or(end, |(o, _)| o),
                OffsetSpec::Offset(o) => o.clamp(start, end),
            };
            out.push((tp, offset));
        }
        let commits: Vec<(TopicPartition, OffsetAndMetadata)> = out
            .iter()
            .map(|(tp, o)| (tp.clone(), OffsetAndMetadata::new(*o)))
            .collect();
        store.commit(group, &commits)?;
        Ok(out)
    }

    /// Sets a group's committed offsets to exactly these values (Kafka's
    /// `alterConsumerGroupOffsets`). As with Kafka, the group must have no members.
    ///
    /// # Errors
    /// [`Error::GroupNotEmpty`] while the group has members; [`Error::InvalidArgument`]
    /// for a negative offset or metadata longer than Kafka stores;
    /// [`Error::InvalidGroupId`] for an empty group id; [`Error::UnknownTopic`] /
    /// [`Error::UnknownPartition`]; [`Error::Io`].
    pub fn commit_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<()> {
        self.check_open()?;
        crate::config::validate_group_id(group)?;
        self.require_no_members(group)?;
        for (tp, o) in offsets {
            self.partition_log(tp.topic(), tp.partition())?;
            if *o < 0 {
                return Err(Error::InvalidArgument(format!(
                    "offset {o} for `{tp}` is negative"
                )));
            }
        }
        let commits: Vec<(TopicPartition, OffsetAndMetadata)> = offsets
            .iter()
            .map(|(tp, o)| (tp.clone(), OffsetAndMetadata::new(*o)))
            .collect();
        crate::broker::offsets::validate_commit(group, &commits)?;
        self.offset_store()?.commit(group, &commits)
    }

    /// Deletes a group's committed offsets (Kafka's `deleteConsumerGroups`).
    ///
    /// # Errors
    /// [`Error::GroupNotEmpty`] while the group has members; [`Error::UnknownGroup`]
    /// when it does not exist; [`Error::InvalidGroupId`] for an empty group id;
    /// [`Error::Io`].
    pub fn delete_group(&self, group: &str) -> Result<()> {
        crate::config::validate_group_id(group)?;
        self.require_no_members(group)?;
        if !self.group_has_offsets(group) && self.groups().get(group).is_none() {
            return Err(unknown_group(group));
        }
        if self.has_offsets_topic() {
            self.offset_store()?.delete_group(group)?;
        }
        self.groups().remove_if_empty(group);
        Ok(())
    }

    fn require_no_members(&self, group: &str) -> Result<()> {
        match self.groups().get(group) {
            Some(g) if !g.is_empty() => Err(Error::GroupNotEmpty {
                group: group.to_string(),
            }),
            _ => Ok(()),
        }
    }
}

fn unknown_group(group: &str) -> Error {
    Error::UnknownGroup {
        group: group.to_string(),
    }
}
