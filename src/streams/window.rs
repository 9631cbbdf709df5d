//! Event-time windows.

use std::time::Duration;

/// Tumbling or hopping event-time windows (Kafka Streams' `TimeWindows`), with a grace
/// period for late records.
///
/// ```
/// use brooklet::streams::TimeWindows;
/// use std::time::Duration;
/// let w = TimeWindows::tumbling(Duration::from_secs(10)).grace(Duration::from_secs(2));
/// assert_eq!(w.windows_for(25_000), vec![20_000]);
/// let h = TimeWindows::hopping(Duration::from_secs(10), Duration::from_secs(5));
/// assert_eq!(h.windows_for(12_000), vec![5_000, 10_000]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindows {
    pub(crate) size_ms: i64,
    pub(crate) advance_ms: i64,
    pub(crate) grace_ms: i64,
}

impl TimeWindows {
    /// Non-overlapping windows of `size` (Kafka's `ofSizeWithNoGrace`). Grace: 0.
    /// A zero size is raised to 1 ms.
    pub fn tumbling(size: Duration) -> Self {
        let s = (size.as_millis() as i64).max(1);
        TimeWindows {
            size_ms: s,
            advance_ms: s,
            grace_ms: 0,
        }
    }

    /// Windows of `size` starting every `advance` (`advance <= size`; clamped).
    pub fn hopping(size: Duration, advance: Duration) -> Self {
        let s = (size.as_millis() as i64).max(1);
        let a = (advance.as_millis() as i64).clamp(1, s);
        TimeWindows {
            size_ms: s,
            advance_ms: a,
            grace_ms: 0,
        }
    }

    /// How long after a window ends late records are still counted into it.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace_ms = grace.as_millis() as i64;
        self
    }

    /// Window size in ms.
    pub fn size_ms(&self) -> i64 {
        self.size_ms
    }

    /// Start times of every window containing `ts`, oldest first.
    pub fn windows_for(&self, ts: i64) -> Vec<i64> {
        let last = ts - ts.rem_euclid(self.advance_ms);
        let mut out = Vec::new();
        let mut start = last;
        while start > ts - self.size_ms {
            out.push(start);
            start -= self.advance_ms;
        }
        out.reverse();
        out
    }
}

/// A key within a window (Kafka Streams' `Windowed<K>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Windowed<K> {
    /// The key.
    pub key: K,
    /// Window start, ms (inclusive).
    pub start: i64,
    /// Window end, ms (exclusive).
    pub end: i64,
}

/// When a windowed aggregation emits results (Kafka Streams' `EmitStrategy`; Spark's
/// update vs append output modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmitStrategy {
    /// Every update of a window's aggregate (Spark's update mode). Default.
    #[default]
    OnUpdate,
    /// One final result per window once stream time passes its end plus grace
    /// (Spark's append mode; Kafka's `onWindowClose`). Windows open when the
    /// application stops (or its tasks move in a rebalance) emit theirs after the
    /// restart; windows closed before it are not emitted again. Under at-least-once, a
    /// crash can repeat a final result produced by records after the last commit.
    OnWindowClose,
}
