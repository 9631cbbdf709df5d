//! Per-log settings.

use std::time::Duration;

use crate::format::{Compression, TimestampType};

/// When appended records are forced to stable storage.
///
/// Whatever the policy, an append is visible to readers as soon as `append` returns,
/// and survives a crash of the *process* (the page cache holds it). The policy decides
/// what survives a crash of the *machine*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// Leave write-back to the operating system, as Kafka does by default
    /// (`flush.messages` and `flush.ms` unset). Fastest; a power loss may drop the
    /// last seconds of records.
    #[default]
    Os,
    /// Flush in the background every interval (Kafka's `flush.ms`).
    Interval(Duration),
    /// Flush before acknowledging every append (Kafka's `flush.messages=1`). Concurrent
    /// appenders share flushes: one `msync` covers every batch appended before it
    /// (group commit).
    EveryAppend,
}

/// A topic's `compression.type`: how its log stores the batches producers send.
///
/// Kafka's meaning: [`Producer`](Self::Producer) keeps each batch as the producer
/// compressed it; any other value makes the log store every batch with that codec,
/// recompressing (decompress, then compress) batches that came with another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TopicCompression {
    /// `producer` (Kafka's default): the batch as the producer sent it.
    #[default]
    Producer,
    /// `uncompressed`: every batch stored uncompressed.
    Uncompressed,
    /// `gzip`.
    Gzip,
    /// `snappy`.
    Snappy,
    /// `lz4`.
    Lz4,
    /// `zstd`.
    Zstd,
}

impl TopicCompression {
    /// Every value, in Kafka's order.
    pub const ALL: [TopicCompression; 6] = [
        TopicCompression::Producer,
        TopicCompression::Uncompressed,
        TopicCompression::Gzip,
        TopicCompression::Snappy,
        TopicCompression::Lz4,
        TopicCompression::Zstd,
    ];

    /// The codec every batch is stored with; `None` for [`Producer`](Self::Producer)
    /// (the producer's choice), `Some(Compression::None)` for
    /// [`Uncompressed`](Self::Uncompressed).
    pub fn codec(self) -> Option<Compression> {
        match self {
            TopicCompression::Producer => None,
            TopicCompression::Uncompressed => Some(Compression::None),
            TopicCompression::Gzip => Some(Compression::Gzip),
            TopicCompression::Snappy => Some(Compression::Snappy),
            TopicCompression::Lz4 => Some(Compression::Lz4),
            TopicCompression::Zstd => Some(Compression::Zstd),
        }
    }

    /// Kafka's value: `producer`, `uncompressed`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            TopicCompression::Producer => "producer",
            TopicCompression::Uncompressed => "uncompressed",
            TopicCompression::Gzip => "gzip",
            TopicCompression::Snappy => "snappy",
            TopicCompression::Lz4 => "lz4",
            TopicCompression::Zstd => "zstd",
        }
    }

    /// The value named `name` (Kafka's spelling, lower case); `None` for others.
    pub fn from_name(name: &str) -> Option<TopicCompression> {
        TopicCompression::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl std::fmt::Display for TopicCompression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The least a log lets one batch's records decompress to: 64 MiB. See
/// [`LogConfig::max_decompressed_bytes`].
pub const MIN_DECOMPRESSED_BYTES: usize = 64 << 20;

/// Settings of one partition log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Size of a segment file; files are preallocated to it. Default: 64 MiB (Kafka's
    /// 1 GiB `segment.bytes` preallocated per partition is too much for an embedded log).
    pub segment_bytes: u64,
    /// Roll a segment once its first record is this old (Kafka's `segment.ms`).
    /// Default: 7 days.
    pub segment_ms: Duration,
    /// Bytes of batches between two `.index` entries (Kafka's `index.interval.bytes`).
    /// Default: 4096.
    pub index_interval_bytes: u32,
    /// Maximum size of an index file (Kafka's `segment.index.bytes`); a full index rolls
    /// the segment. Default: 10 MiB.
    pub max_index_bytes: u32,
    /// Durability policy. Default: [`FlushPolicy::Os`].
    pub flush: FlushPolicy,
    /// Which timestamp the log stores. Default: CreateTime.
    pub timestamp_type: TimestampType,
    /// Largest batch accepted, in bytes (Kafka's `max.message.bytes`). Default: 1,048,588.
    pub max_message_bytes: u32,
    /// Fault pages of the active segment in ahead of the writer, on the background
    /// thread, so that appends do not pay first-touch page faults. Default: on.
    pub prefault: bool,
    /// Kafka's `compression.type`. Default: [`TopicCompression::Producer`].
    pub compression: TopicCompression,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 64 << 20,
            segment_ms: Duration::from_secs(7 * 24 * 3600),
            index_interval_bytes: 4096,
            max_index_bytes: 10 << 20,
            flush: FlushPolicy::Os,
            timestamp_type: TimestampType::CreateTime,
            max_message_bytes: 1_048_588,
            prefault: true,
            compression: TopicCompression::Producer,
        }
    }
}

impl LogConfig {
    /// The most bytes one batch's records may decompress to in this log: its
    /// `max_message_bytes`, and never less than [`MIN_DECOMPRESSED_BYTES`] (64 MiB).
    /// An append whose records would decompress to more is refused
    /// ([`Error::RecordTooLarge`](crate::Error::RecordTooLarge)); a stored batch that
    /// does (a decompression bomb, or damage) is `Corrupt` when read, without
    /// allocating more than this.
    pub fn max_decompressed_bytes(&self) -> usize {
        (self.max_message_bytes as usize).max(MIN_DECOMPRESSED_BYTES)
    }

    /// Checks the values that would make a log unusable.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let bad = |setting: &'static str, m: &str| {
            Err(crate::Error::InvalidConfig {
                setting,
                reason: m.to_string(),
            })
        };
        if self.segment_bytes < 1024 {
            return bad("segment_bytes", "segment_bytes must be at least 1024");
        }
        if self.segment_bytes > i32::MAX as u64 {
            return bad(
                "segment_bytes",
                "segment_bytes must fit Kafka's 32-bit index positions (< 2 GiB)",
            );
        }
        if self.index_interval_bytes == 0 {
            return bad(
                "index_interval_bytes",
                "index_interval_bytes must be at least 1",
            );
        }
        if self.max_index_bytes < 4096 {
            return bad("max_index_bytes", "max_index_bytes must be at least 4096");
        }
        if self.max_message_bytes == 0 {
            return bad("max_message_bytes", "max_message_bytes must be at least 1");
        }
        // Kafka's `flush.ms` and `segment.ms` are LONG milliseconds (segment.ms
        // atLeast(1)); a longer duration would wrap where it is compared with a clock.
        let max = std::time::Duration::from_millis(i64::MAX as u64);
        if let FlushPolicy::Interval(d) = self.flush {
            if d.is_zero() {
                return bad("flush", "a flush interval must be longer than zero");
            }
            if d > max {
                return bad(
                    "flush",
                    "a flush interval must be at most i64::MAX ms (Kafka's `flush.ms`)",
                );
            }
        }
        if self.segment_ms.is_zero() {
            return bad("segment_ms", "segment_ms must be longer than zero");
        }
        if self.segment_ms > max {
            return bad(
                "segment_ms",
                "segment_ms must be at most i64::MAX ms (Kafka's `segment.ms`)",
            );
        }
        Ok(())
    }
}
