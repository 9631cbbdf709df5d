//! Topic metadata files: `<dir>/topics/<name>.topic`, one small text file per topic.
//!
//! Crash safety: a file is written to `<name>.topic.tmp`, fsynced, renamed over its final
//! name and the directory fsynced. rename(2) is atomic, so after a crash at any instant
//! a topic's file is either absent, the old version or the new one: a topic exists
//! whole or not at all. The file is the commit point: `create_topic` and
//! `create_partitions` allocate the partitions first (so a full disk fails them before
//! anything is committed) and write the file last; partition directories without a
//! file are removed at open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{CleanupPolicy, TopicConfig};
use crate::error::{Error, Result};
use crate::format::TimestampType;
use crate::storage::{FlushPolicy, TopicCompression, io};

const MAGIC_LINE: &str = "brooklet-topic v1";

pub(crate) fn topics_dir(dir: &Path) -> PathBuf {
    dir.join("topics")
}

pub(crate) fn meta_path(dir: &Path, topic: &str) -> PathBuf {
    topics_dir(dir).join(format!("{topic}.topic"))
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Serialises a topic's metadata.
pub(crate) fn encode(name: &str, c: &TopicConfig) -> String {
    let flush = match c.flush {
        FlushPolicy::Os => "os".to_string(),
        FlushPolicy::Interval(d) => format!("interval:{}", ms(d)),
        FlushPolicy::EveryAppend => "every_append".to_string(),
    };
    let ts = match c.timestamp_type {
        TimestampType::CreateTime => "CreateTime",
        TimestampType::LogAppendTime => "LogAppendTime",
    };
    let opt = |v: Option<u128>| v.map_or("-1".to_string(), |v| v.to_string());
    format!(
        "{MAGIC_LINE}\nname={name}\npartitions={}\nsegment.bytes={}\nsegment.ms={}\nretention.ms={}\nretention.bytes={}\ncleanup.policy={}\nmax.message.bytes={}\nflush={flush}\nmessage.timestamp.type={ts}\nindex.interval.bytes={}\ndelete.retention.ms={}\nmin.cleanable.dirty.ratio={}\nmin.compaction.lag.ms={}\ncompression.type={}\n",
        c.partitions,
        c.segment_bytes,
        ms(c.segment_ms),
        opt(c.retention_ms.map(ms)),
        opt(c.retention_bytes.map(u128::from)),
        c.cleanup_policy.as_str(),
        c.max_message_bytes,
        c.index_interval_bytes,
        ms(c.delete_retention_ms),
        c.min_cleanable_dirty_ratio,
        ms(c.min_compaction_lag_ms),
        c.compression_type.name(),
    )
}

/// Parses a metadata file; any damage is [`Error::Corrupt`] naming the line.
pub(crate) fn decode(path: &Path, text: &str) -> Result<(String, TopicConfig)> {
    let corrupt = |line: usize, why: String| Error::corrupt(path, line as u64, why);
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC_LINE) {
        return Err(corrupt(0, format!("first line is not `{MAGIC_LINE}`")));
    }
    let mut name = None;
    let mut c = TopicConfig::new(1);
    let mut have_partitions = false;
    for (i, line) in lines.enumerate() {
        let at = i + 1;
        let Some((k, v)) = line.split_once('=') else {
            return Err(corrupt(at, format!("line `{line}` is not key=value")));
        };
        let num = |v: &str| -> Result<u64> {
            v.parse::<u64>()
                .map_err(|_| corrupt(at, format!("`{k}` has a non-numeric value `{v}`")))
        };
        let opt = |v: &str| -> Result<Option<u64>> {
            if v == "-1" {
                Ok(None)
            } else {
                num(v).map(Some)
            }
        };
        match k {
            "name" => name = Some(v.to_string()),
            "partitions" => {
                c.partitions = u32::try_from(num(v)?)
                    .map_err(|_| corrupt(at, "partitions too large".into()))?;
                have_partitions = true;
            }
            "segment.bytes" => c.segment_bytes = num(v)?,
            "segment.ms" => c.segment_ms = Duration::from_millis(num(v)?),
            "retention.ms" => c.retention_ms = opt(v)?.map(Duration::from_millis),
            "retention.bytes" => c.retention_bytes = opt(v)?,
            "cleanup.policy" => {
                c.cleanup_policy = CleanupPolicy::parse(v)
                    .ok_or_else(|| corrupt(at, format!("unknown cleanup.policy `{v}`")))?
            }
            "max.message.bytes" => {
                c.max_message_bytes = u32::try_from(num(v)?)
                    .map_err(|_| corrupt(at, "max.message.bytes too large".into()))?
            }
            "flush" => {
                c.flush = match v {
                    "os" => FlushPolicy::Os,
                    "every_append" => FlushPolicy::EveryAppend,
                    _ => match v.strip_prefix("interval:") {
                        Some(n) => FlushPolicy::Interval(Duration::from_millis(num(n)?)),
                        None => return Err(corrupt(at, format!("unknown flush policy `{v}`"))),
                    },
                }
            }
            "message.timestamp.type" => {
                c.timestamp_type = match v {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => return Err(corrupt(at, format!("unknown timestamp type `{v}`"))),
                }
            }
            "index.interval.bytes" => {
                c.index_interval_bytes = u32::try_from(num(v)?)
                    .map_err(|_| corrupt(at, "index.interval.bytes too large".into()))?
            }
            "delete.retention.ms" => c.delete_retention_ms = Duration::from_millis(num(v)?),
            "min.cleanable.dirty.ratio" => {
                c.min_cleanable_dirty_ratio = v
                    .parse()
                    .map_err(|_| corrupt(at, format!("bad ratio `{v}`")))?
            }
            "min.compaction.lag.ms" => c.min_compaction_lag_ms = Duration::from_millis(num(v)?),
            // Absent from files written before compression: `producer`, Kafka's default.
            "compression.type" => {
                c.compression_type = TopicCompression::from_name(v)
                    .ok_or_else(|| corrupt(at, format!("unknown compression.type `{v}`")))?
            }
            // Unknown keys come from a newer version: keep going, as Kafka ignores
            // unknown topic configs it does not need.
            _ => {}
        }
    }
    let name = name.ok_or_else(|| corrupt(0, "no name".into()))?;
    if !have_partitions {
        return Err(corrupt(0, "no partition count".into()));
    }
    c.validate().map_err(|e| corrupt(0, e.to_string()))?;
    Ok((name, c))
}

/// Writes a topic's metadata crash-safely (see the module docs).
pub(crate) fn write(dir: &Path, name: &str, c: &TopicConfig) -> Result<()> {
    let tdir = topics_dir(dir);
    let path = meta_path(dir, name);
    let tmp = tdir.join(format!("{name}.topic.tmp"));
    io::write_synced(&tmp, encode(name, c).as_bytes()).map_err(|e| Error::io(&tmp, e))?;
    io::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    sync_dir(&tdir)
}

/// Removes a topic's metadata durably.
pub(crate) fn remove(dir: &Path, name: &str) -> Result<()> {
    let path = meta_path(dir, name);
    io::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    sync_dir(&topics_dir(dir))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    io::sync_path(dir).map_err(|e| Error::io(dir, e))
}

/// The longest file name most file systems hold (`NAME_MAX`: ext4, XFS, btrfs, tmpfs).
pub(crate) const NAME_MAX: usize = 255;

/// The longest topic name brooklet can store: every file and directory named after a
/// topic must fit [`NAME_MAX`]. The longest is a partition directory marked for
/// deletion, `<name>-<partition>.<uuid>-delete` as Kafka names it, with up to 10
/// partition digits (`u32::MAX`) and 32 hex digits: the name plus 51 bytes. The
/// others are shorter: `<name>-<partition>` and `topics/<name>.topic.tmp` (the name
/// plus 10).
pub(crate) const MAX_STORED_NAME_LEN: usize =
    NAME_MAX - ("-".len() + 10 + ".".len() + 32 + "-delete".len());

/// The rule brooklet adds to Kafka's at creation: a name its files can hold. Kafka's
/// own limit (249) is checked by [`validate_name`]; this one is lower.
pub(crate) fn validate_stored_name(name: &str) -> Result<()> {
    if name.len() > MAX_STORED_NAME_LEN {
        return Err(Error::InvalidTopicName {
            name: name.to_string(),
            reason: format!(
                "it is {} characters long, and brooklet stores topic names of at most {MAX_STORED_NAME_LEN} characters, so that every file it names after the topic fits the file system's {NAME_MAX}-byte limit (the longest is a partition directory marked for deletion, `<name>-<partition>.<32 hex digits>-delete`)",
                name.len()
            ),
        });
    }
    Ok(())
}

/// Kafka's `Topic.hasCollision`: two names collide when they are equal once `.` is read
/// as `_` (the metric names Kafka derives from them would be equal).
pub(crate) fn collides(a: &str, b: &str) -> bool {
    a != b && a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| unify(x) == unify(y))
}

fn unify(b: u8) -> u8 {
    if b == b'.' { b'_' } else { b }
}

/// Kafka's topic name rules: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidTopicName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 249 {
        return bad("it is longer than 249 characters");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not allowed");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(&format!(
            "character {c:?} is not allowed (use ASCII letters, digits, `.`, `_` and `-`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let c = TopicConfig::new(3)
            .segment_bytes(1 << 20)
            .retention_ms(None)
            .retention_bytes(Some(12345))
            .cleanup_policy(CleanupPolicy::CompactDelete)
            .flush(FlushPolicy::Interval(Duration::from_millis(250)))
            .message_timestamp_type(TimestampType::LogAppendTime)
            .min_cleanable_dirty_ratio(0.25);
        let text = encode("my.topic-1", &c);
        let (name, back) = decode(Path::new("x"), &text).unwrap();
        assert_eq!(name, "my.topic-1");
        assert_eq!(back, c);
        for tc in TopicCompression::ALL {
            let c = TopicConfig::new(1).compression_type(tc);
            let text = encode("t", &c);
            assert!(text.contains(&format!("\ncompression.type={}\n", tc.name())));
            assert_eq!(decode(Path::new("x"), &text).unwrap().1, c);
        }
        // Files written before compression have no such line: Kafka's default.
        let old = "brooklet-topic v1\nname=t\npartitions=2\n";
        let c = decode(Path::new("x"), old).unwrap().1;
        assert_eq!(c.get_compression_type(), TopicCompression::Producer);
    }

    #[test]
    fn damage_is_corrupt() {
        for bad in [
            "",
            "nope\n",
            "brooklet-topic v1\nname=x\n",
            "brooklet-topic v1\nname=x\npartitions=abc\n",
            "brooklet-topic v1\nname=x\npartitions=0\n",
            "brooklet-topic v1\nname=x\npartitions=1\ncompression.type=none\n",
        ] {
            assert!(
                matches!(decode(Path::new("x"), bad), Err(Error::Corrupt { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn collisions_are_kafkas() {
        assert!(collides("x.y", "x_y"));
        assert!(collides("a_b.c", "a.b_c"));
        assert!(!collides("x.y", "x.y"));
        assert!(!collides("x.y", "x-y"));
        assert!(!collides("x.y", "x.yz"));
        assert_eq!(MAX_STORED_NAME_LEN, 204);
        validate_stored_name(&"x".repeat(204)).unwrap();
        assert!(validate_stored_name(&"x".repeat(205)).is_err());
    }

    #[test]
    fn names_follow_kafka_rules() {
        for ok in ["a", "tweets", "a.b_c-D9", &"x".repeat(249)] {
            validate_name(ok).unwrap();
        }
        for bad in ["", ".", "..", "a b", "a/b", "é", &"x".repeat(250)] {
            assert!(
                matches!(validate_name(bad), Err(Error::InvalidTopicName { .. })),
                "{bad:?}"
            );
        }
    }
}
