//! Choosing a partition for a record: explicit > key hash > keyless strategy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::format::murmur2::partition_for_key;

/// Picks the partition of records sent without an explicit one.
///
/// ```
/// use brooklet::Partitioner;
/// #[derive(Debug)]
/// struct Always0;
/// impl Partitioner for Always0 {
///     fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, _: u32) -> u32 { 0 }
/// }
/// assert_eq!(Always0.partition("t", None, None, 3), 0);
/// ```
pub trait Partitioner: Send + Sync + std::fmt::Debug {
    /// The partition, in `0..partitions`, for a record of `topic`. A result outside
    /// that range makes `send` fail with [`Error::UnknownPartition`](crate::Error).
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: u32,
    ) -> u32;
}

/// Kafka's default partitioner: keyed records go to
/// `(murmur2(key) & 0x7fffffff) % partitions`, exactly as Kafka's Java client and
/// librdkafka's `murmur2_random`; keyless records stick to one partition until
/// `batch_size` bytes were sent to it, then move to another one chosen at random
/// (Kafka's built-in sticky partitioning, KIP-480 and KIP-794).
#[derive(Debug)]
pub struct DefaultPartitioner {
    batch_size: usize,
    sticky: Mutex<HashMap<String, (u32, usize)>>,
    rng: AtomicU64,
}

impl DefaultPartitioner {
    /// A partitioner that moves keyless records on after `batch_size` bytes.
    pub fn new(batch_size: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
        DefaultPartitioner {
            batch_size: batch_size.max(1),
            sticky: Mutex::new(HashMap::new()),
            rng: AtomicU64::new(seed | 1),
        }
    }

    /// The partition Kafka's default partitioner picks for a record with this key:
    /// `(murmur2(key) & 0x7fffffff) % partitions` (Kafka's
    /// `BuiltInPartitioner.partitionForKey`), the same as [`Partitioner::partition`]
    /// of a `DefaultPartitioner` for a keyed record. For code that routes records
    /// itself and must agree with Kafka's clients; `partitions` 0 yields 0.
    ///
    /// ```
    /// use brooklet::DefaultPartitioner;
    /// // Kafka: murmur2("21") = -973932308, so 1173551340 % 7.
    /// assert_eq!(DefaultPartitioner::partition_for_key(b"21", 7), 1173551340 % 7);
    /// ```
    pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
        partition_for_key(key, partitions)
    }

    fn random(&self) -> u64 {
        // xorshift64*; contention only costs a retry.
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl Partitioner for DefaultPartitioner {
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: u32,
    ) -> u32 {
        if let Some(key) = key {
            return partition_for_key(key, partitions);
        }
        let size = value.map_or(0, <[u8]>::len) + 1;
        let mut sticky = self.sticky.lock();
        let entry = match sticky.get_mut(topic) {
            Some(e) => e,
            None => sticky
                .entry(topic.to_string())
                .or_insert(((self.random() % partitions as u64) as u32, 0)),
        };
        if entry.0 >= partitions {
            entry.0 %= partitions;
        }
        if entry.1 >= self.batch_size {
            // Switch to a different partition, as Kafka does when a batch is full.
            let next = if partitions > 1 {
                let step = 1 + (self.random() % (partitions as u64 - 1)) as u32;
                (entry.0 + step) % partitions
            } else {
                0
            };
            *entry = (next, 0);
        }
        entry.1 += size;
        entry.0
    }
}

/// Every record to the next partition in turn, keyed or not (Kafka's
/// `RoundRobinPartitioner`).
#[derive(Debug, Default)]
pub struct RoundRobinPartitioner {
    next: Mutex<HashMap<String, u32>>,
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(&self, topic: &str, _: Option<&[u8]>, _: Option<&[u8]>, partitions: u32) -> u32 {
        let mut next = self.next.lock();
        let n = match next.get_mut(topic) {
            Some(n) => n,
            None => next.entry(topic.to_string()).or_insert(0),
        };
        let p = *n % partitions;
        *n = n.wrapping_add(1);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_records_use_murmur2() {
        let p = DefaultPartitioner::new(100);
        // Kafka: murmur2("21") = -973932308 -> 1173551340 % 7 = 0... computed below.
        let want = ((-973932308i32 & 0x7fff_ffff) as u32) % 7;
        assert_eq!(p.partition("t", Some(b"21"), None, 7), want);
    }

    #[test]
    fn keyless_records_stick_until_batch_size_then_move() {
        let p = DefaultPartitioner::new(100);
        let first = p.partition("t", None, Some(&[0; 49]), 4);
        assert_eq!(p.partition("t", None, Some(&[0; 49]), 4), first);
        // 100 bytes reached: the next record moves to a different partition.
        let moved = p.partition("t", None, Some(&[0; 10]), 4);
        assert_ne!(moved, first);
        assert!(moved < 4);
        assert_eq!(p.partition("t", None, Some(&[0; 10]), 4), moved);
        assert_eq!(p.partition("u", None, None, 1), 0);
    }

    #[test]
    fn round_robin_cycles() {
        let p = RoundRobinPartitioner::default();
        let got: Vec<u32> = (0..7)
            .map(|_| p.partition("t", Some(b"k"), None, 3))
            .collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0]);
    }
}
