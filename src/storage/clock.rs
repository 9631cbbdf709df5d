//! Wall clocks: a precise one for timestamps that are stored (`LogAppendTime`, commit
//! times), and a coarse one for checks that only need millisecond-ish precision (the
//! segment age roll on every append).
//!
//! A leaf of storage: everything above may use it; it uses only [`mmap`](super::mmap),
//! for the one system call std does not wrap.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Wall-clock milliseconds from the coarse clock (CLOCK_REALTIME_COARSE: a few ns per
/// read instead of ~25, resolution of a scheduler tick), for checks that do not need
/// precision; [`now_ms`] when the coarse clock cannot be read.
pub(crate) fn coarse_now_ms() -> i64 {
    super::mmap::realtime_coarse_ms().unwrap_or_else(now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2020-01-01T00:00:00Z: any clock reading before it is wrong.
    const Y2020_MS: i64 = 1_577_836_800_000;

    #[test]
    fn now_ms_is_epoch_milliseconds() {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let ms = now_ms();
        assert!(ms > Y2020_MS, "{ms} is not a current epoch time in ms");
        // Milliseconds, not seconds or microseconds: within a few seconds of `secs`.
        assert!((ms / 1000 - secs).abs() <= 5, "{ms} ms against {secs} s");
    }

    /// The coarse clock is the same wall clock, at most a scheduler tick (a few ms,
    /// 10 ms at HZ=100) behind the precise one, and never runs backwards between reads.
    #[test]
    fn coarse_clock_tracks_the_wall_clock() {
        let mut last = coarse_now_ms();
        for _ in 0..1_000 {
            let before = now_ms();
            let coarse = coarse_now_ms();
            let after = now_ms();
            assert!(
                coarse >= last,
                "coarse clock went back from {last} to {coarse}"
            );
            // The coarse clock may lag by a tick but never leads the precise one.
            assert!(
                coarse <= after,
                "coarse {coarse} is ahead of precise {after}"
            );
            assert!(
                before - coarse <= 1_000,
                "coarse {coarse} lags precise {before} by more than a second"
            );
            last = coarse;
        }
    }
}
