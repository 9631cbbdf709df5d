//! Per-log settings.

use std::time::Duration;

use crate::format::TimestampType;

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
        }
    }
}

impl LogConfig {
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
