//! Group append: concurrent senders to one partition share a batch.
//!
//! Each sender queues its record. The first one to find no leader becomes the leader:
//! it (optionally lingers, then) takes the whole queue, appends it as one batch — one
//! writer lock, one batch header, one CRC for all of them — and hands each sender its
//! offset. If more records queued meanwhile, it promotes the oldest waiting sender to
//! lead the next batch instead of draining forever itself, so no sender starves. The
//! queue is FIFO, so each thread's records keep their order within the partition.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::format::{Compression, RecordIn, encoded_batch_len};
use crate::record::ProducerRecord;
use crate::storage::{AppendInfo, AppendScratch, PartitionLog};

const WAITING: u8 = 0;
const DONE: u8 = 1;
const LEAD: u8 = 2;

/// Where one queued record landed: (offset, stored timestamp).
type Outcome = Result<(i64, i64)>;

struct Slot {
    state: AtomicU8,
    outcome: Mutex<Option<Outcome>>,
    thread: Thread,
}

struct Pending {
    record: ProducerRecord,
    timestamp: i64,
    size: usize,
    slot: Arc<Slot>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    bytes: usize,
    leader: bool,
}

/// One partition's shared append queue.
#[derive(Default)]
pub(crate) struct GroupAppender {
    queue: Mutex<Queue>,
    more: Condvar,
    /// The compressed batch on its way; only the leader uses it (never contended).
    scratch: Mutex<AppendScratch>,
}

/// The producer's `compression.type` and level.
pub(crate) type Codec = (Compression, Option<i32>);

impl GroupAppender {
    /// Appends one record, sharing a batch with concurrent senders; returns its offset
    /// and stored timestamp.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn append(
        &self,
        log: &PartitionLog,
        record: ProducerRecord,
        timestamp: i64,
        size: usize,
        linger: Duration,
        batch_size: usize,
        codec: Codec,
    ) -> Outcome {
        let mut q = self.queue.lock();
        if linger.is_zero() && !q.leader && q.pending.is_empty() {
            // Uncontended: append directly, without queueing or allocating a slot.
            q.leader = true;
            drop(q);
            let rin = RecordIn {
                key: record.key.as_deref(),
                value: record.value.as_deref(),
                timestamp,
                headers: &record.headers,
            };
            let result = log
                .append_with(
                    std::slice::from_ref(&rin),
                    codec.0,
                    codec.1,
                    &mut self.scratch.lock(),
                )
                .map(|info| (info.base_offset, info.log_append_time.unwrap_or(timestamp)));
            self.hand_off(self.queue.lock());
            return result;
        }
        let slot = Arc::new(Slot {
            state: AtomicU8::new(WAITING),
            outcome: Mutex::new(None),
            thread: std::thread::current(),
        });
        q.pending.push(Pending {
            record,
            timestamp,
            size,
            slot: Arc::clone(&slot),
        });
        q.bytes += size;
        if q.leader {
            if q.bytes >= batch_size {
                self.more.notify_one();
            }
            drop(q);
            loop {
                match slot.state.load(Ordering::Acquire) {
                    DONE => break,
                    LEAD => {
                        self.lead(log, linger, batch_size, codec);
                        break;
                    }
                    _ => std::thread::park(),
                }
            }
        } else {
            q.leader = true;
            drop(q);
            self.lead(log, linger, batch_size, codec);
        }
        slot.outcome.lock().take().unwrap_or_else(|| {
            Err(Error::IllegalState(
                "internal: a grouped append finished without an outcome; please report this".into(),
            ))
        })
    }

    /// Writes the queue as one batch (after lingering, if configured), then passes the
    /// lead on or gives it up.
    fn lead(&self, log: &PartitionLog, linger: Duration, batch_size: usize, codec: Codec) {
        let mut q = self.queue.lock();
        if !linger.is_zero() {
            let deadline = Instant::now() + linger;
            while q.bytes < batch_size {
                if self.more.wait_until(&mut q, deadline).timed_out() {
                    break;
                }
            }
        }
        let batch = std::mem::take(&mut q.pending);
        q.bytes = 0;
        drop(q);
        write_batch(log, batch, codec, &mut self.scratch.lock());
        self.hand_off(self.queue.lock());
    }

    /// Gives up the lead: to the oldest queued sender, or to nobody.
    fn hand_off(&self, mut q: parking_lot::MutexGuard<'_, Queue>) {
        match q.pending.first() {
            None => q.leader = false,
            Some(next) => {
                next.slot.state.store(LEAD, Ordering::Release);
                next.slot.thread.unpark();
            }
        }
    }
}

/// Appends `batch` in as few batches as `max_message_bytes` allows (compressed with
/// `codec` when it is not none) and hands out the outcomes.
fn write_batch(log: &PartitionLog, batch: Vec<Pending>, codec: Codec, scratch: &mut AppendScratch) {
    let max = log.config().max_message_bytes as usize;
    let mut start = 0;
    while start < batch.len() {
        // Records were checked one by one against the limit; group as many as fit.
        let mut end = start + 1;
        let mut bytes = batch[start].size;
        while end < batch.len() && bytes + batch[end].size <= max {
            bytes += batch[end].size;
            end += 1;
        }
        let chunk = &batch[start..end];
        let ins: Vec<RecordIn<'_>> = chunk.iter().map(record_in).collect();
        let mut runs = Vec::new();
        append_split(log, &ins, codec, scratch, &mut runs);
        let mut pending = chunk.iter();
        for (len, result) in &runs {
            for (i, p) in pending.by_ref().take(*len).enumerate() {
                let outcome = match result {
                    Ok(info) => Ok((
                        info.base_offset + i as i64,
                        info.log_append_time.unwrap_or(p.timestamp),
                    )),
                    Err(e) => Err(e.clone()),
                };
                *p.slot.outcome.lock() = Some(outcome);
                p.slot.state.store(DONE, Ordering::Release);
                p.slot.thread.unpark();
            }
        }
        start = end;
    }
}

/// Appends `ins` as one batch compressed with `codec`; a batch of several records that
/// compression left larger than `max_message_bytes` (incompressible records grow by
/// the codec's framing) is split in halves, again as needed, as Kafka's producer
/// splits a batch the broker refused as too large. Pushes each run's length and
/// outcome, in order; the runs cover `ins`.
pub(crate) fn append_split(
    log: &PartitionLog,
    ins: &[RecordIn<'_>],
    codec: Codec,
    scratch: &mut AppendScratch,
    runs: &mut Vec<(usize, Result<AppendInfo>)>,
) {
    match log.append_with(ins, codec.0, codec.1, scratch) {
        Err(Error::RecordTooLarge { .. }) if ins.len() > 1 && codec.0 != Compression::None => {
            let (a, b) = ins.split_at(ins.len() / 2);
            append_split(log, a, codec, scratch, runs);
            append_split(log, b, codec, scratch, runs);
        }
        result => runs.push((ins.len(), result)),
    }
}

fn record_in(p: &Pending) -> RecordIn<'_> {
    RecordIn {
        key: p.record.key.as_deref(),
        value: p.record.value.as_deref(),
        timestamp: p.timestamp,
        headers: &p.record.headers,
    }
}

/// Bytes `record` adds to a batch (its own batch size minus the shared header, plus
/// the header once, as an upper bound for the size check).
pub(crate) fn record_size(record: &ProducerRecord, timestamp: i64) -> usize {
    encoded_batch_len(&[RecordIn {
        key: record.key.as_deref(),
        value: record.value.as_deref(),
        timestamp,
        headers: &record.headers,
    }])
}
