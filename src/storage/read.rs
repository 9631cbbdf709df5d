//! Reading a partition: [`PartitionLog::read`] and `offset_for_timestamp`, their
//! zero-copy results, and waiting for appends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_utils::sync::{Parker, Unparker};

use super::partition::PartitionLog;
use super::segment::Segment;
use crate::error::{Error, Result};
use crate::format::{Batch, BatchRecords, RecordRef};

static WAITER_IDS: AtomicU64 = AtomicU64::new(1);

impl PartitionLog {
    /// Reads batches starting with the one that holds `offset`, up to about
    /// `max_bytes` (at least one whole batch, as Kafka's fetch), from one segment. The
    /// result borrows the mapping (zero-copy) and keeps its segment alive even if
    /// retention deletes the file meanwhile.
    ///
    /// Compressed batches are decompressed here, once per read, into one buffer the
    /// result owns and its records borrow from (each batch at most
    /// [`LogConfig::max_decompressed_bytes`](super::LogConfig::max_decompressed_bytes));
    /// the read stops before a compressed batch once `max_bytes` were decompressed,
    /// and before a later one that does not decompress (the next read reports it).
    ///
    /// Reading at the log end returns an empty result.
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] outside `[log_start, log_end]`; [`Error::Corrupt`]
    /// when a batch header on the way is damaged, or the first batch is compressed and
    /// does not decompress (damaged, or a decompression bomb).
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<FetchedBatches> {
        let inner = &*self.inner;
        let start = inner.log_start.load(Ordering::Acquire);
        let end = inner.log_end.load(Ordering::Acquire);
        if offset < start || offset > end {
            return Err(Error::OffsetOutOfRange {
                partition: inner.tp.clone(),
                offset,
                log_start: start,
                log_end: end,
            });
        }
        let segs = self.segments();
        if offset == end {
            return Ok(FetchedBatches::empty(offset));
        }
        let first = segs
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        for (i, seg) in segs.iter().enumerate().skip(first) {
            // A sealed segment's batches end before the next segment begins.
            let ceiling = segs.get(i + 1).map_or(i64::MAX, |n| n.base_offset);
            let bytes = seg.log.bytes();
            let Some(pos) = seg.position_of(bytes, offset)? else {
                continue;
            };
            let mut stop = pos;
            let mut next = offset;
            let mut prev_last = None;
            let mut decoded: Option<Decoded> = None;
            while stop < bytes.len() && (stop == pos || stop - pos < max_bytes) {
                let h = seg.header_at(bytes, stop)?;
                seg.check_order(stop, &h, prev_last)?;
                // A batch appended after `end` was loaded may already be in the
                // segment: stay below the end this read started from, so a reader
                // never moves past what log_end_offset() reports. Appends are dense,
                // so such a batch starts exactly at `end`; one starting past it (or
                // the first batch, which must hold `offset < end`) is damaged.
                if h.base_offset > end
                    || (stop == pos && h.base_offset >= end)
                    || h.last_offset() >= ceiling
                {
                    return Err(Error::corrupt(
                        &seg.log_path,
                        stop as u64,
                        format!(
                            "batch offsets {}..={} are past the log end {end} or the next segment",
                            h.base_offset,
                            h.last_offset()
                        ),
                    ));
                }
                if stop + h.total_len() > bytes.len() {
                    // Only whole batches are ever published: one that runs past them
                    // has a damaged length (outside the CRC, as in Kafka).
                    if stop == pos {
                        return Err(Error::corrupt(
                            &seg.log_path,
                            stop as u64,
                            format!(
                                "batch of {} bytes runs past the segment's {} bytes",
                                h.total_len(),
                                bytes.len()
                            ),
                        ));
                    }
                    break;
                }
                if h.base_offset >= end {
                    break;
                }
                prev_last = Some(h.last_offset());
                if stop > pos && stop + h.total_len() - pos > max_bytes {
                    break;
                }
                if h.compression() != 0 && !h.is_control() {
                    let d = decoded.get_or_insert_with(Decoded::default);
                    if stop > pos && d.buf.len() >= max_bytes {
                        break;
                    }
                    let limit = inner.config.max_decompressed_bytes();
                    match d.push(&bytes[stop..], stop - pos, limit) {
                        Ok(()) => {}
                        Err(e) if stop == pos => {
                            return Err(Error::corrupt(&seg.log_path, stop as u64, e.to_string()));
                        }
                        Err(_) => break,
                    }
                }
                stop += h.total_len();
                next = h.next_offset();
            }
            let mut fetched = FetchedBatches::new(Arc::clone(seg), pos, stop, offset, next);
            fetched.decoded = decoded.map(Arc::new);
            return Ok(fetched);
        }
        Ok(FetchedBatches::empty(offset))
    }

    /// The earliest offset whose record timestamp is `>= timestamp`, with that
    /// timestamp (Kafka's `offsetsForTimes`), through the time index; `None` when every
    /// record is older.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when a batch on the way is damaged.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let start = self.log_start_offset();
        let end = self.log_end_offset();
        let limit = self.inner.config.max_decompressed_bytes();
        let mut scratch = Vec::new();
        for seg in self.segments().iter() {
            if seg.max_timestamp() < timestamp {
                continue;
            }
            let bytes = seg.log.bytes();
            let mut pos = seg.search_start_for_timestamp(bytes, timestamp)?;
            let mut prev_last = None;
            while pos < bytes.len() {
                let h = seg.header_at(bytes, pos)?;
                seg.check_order(pos, &h, prev_last)?;
                if h.base_offset >= end {
                    // Appended after `end` was loaded (dense appends start exactly at
                    // `end`), or damaged.
                    if h.base_offset > end {
                        return Err(Error::corrupt(
                            &seg.log_path,
                            pos as u64,
                            format!(
                                "batch base offset {} is past the log end {end}",
                                h.base_offset
                            ),
                        ));
                    }
                    return Ok(None);
                }
                prev_last = Some(h.last_offset());
                if h.max_timestamp >= timestamp && !h.is_control() && h.last_offset() >= start {
                    let batch = Batch::parse(&bytes[pos..])
                        .map_err(|e| Error::corrupt(&seg.log_path, pos as u64, e.to_string()))?;
                    let records = batch
                        .records_with(&mut scratch, limit)
                        .map_err(|e| Error::corrupt(&seg.log_path, pos as u64, e.to_string()))?;
                    for r in records {
                        let r = r.map_err(|e| {
                            Error::corrupt(&seg.log_path, pos as u64, e.to_string())
                        })?;
                        if r.timestamp() >= timestamp && r.offset() >= start {
                            return Ok(Some((r.offset(), r.timestamp())));
                        }
                    }
                }
                pos += h.total_len();
            }
        }
        Ok(None)
    }

    /// Blocks until the log end passes `offset` or `timeout` elapses; true if it did.
    /// Wakes within microseconds of the append (no sleep-polling).
    // Called only by `internals` users: consumers wait through `register_waiter`.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn wait_for(&self, offset: i64, timeout: Duration) -> bool {
        if self.log_end_offset() > offset {
            return true;
        }
        let parker = Parker::new();
        let id = self.register_waiter(parker.unparker());
        let deadline = std::time::Instant::now() + timeout;
        let ok = loop {
            if self.log_end_offset() > offset {
                break true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                break false;
            }
            parker.park_timeout(deadline - now);
        };
        self.unregister_waiter(id);
        ok
    }

    /// Registers a thread to unpark on every append; returns the id to unregister.
    pub(crate) fn register_waiter(&self, unparker: &Unparker) -> u64 {
        let id = WAITER_IDS.fetch_add(1, Ordering::Relaxed);
        self.inner.waiters.register(id, unparker);
        id
    }

    pub(crate) fn unregister_waiter(&self, id: u64) {
        self.inner.waiters.unregister(id);
    }
}

/// Batches read from one segment, borrowed from its mapping without copying. Holding
/// this keeps the segment's mapping alive, even after retention deletes its file.
#[derive(Debug, Clone)]
pub struct FetchedBatches {
    seg: Option<Arc<Segment>>,
    /// The records of the compressed batches, decompressed by the read.
    decoded: Option<Arc<Decoded>>,
    start: usize,
    end: usize,
    from_offset: i64,
    next_offset: i64,
}

impl FetchedBatches {
    pub(crate) fn empty(offset: i64) -> Self {
        FetchedBatches {
            seg: None,
            decoded: None,
            start: 0,
            end: 0,
            from_offset: offset,
            next_offset: offset,
        }
    }

    pub(crate) fn new(
        seg: Arc<Segment>,
        start: usize,
        end: usize,
        from_offset: i64,
        next_offset: i64,
    ) -> Self {
        FetchedBatches {
            seg: Some(seg),
            decoded: None,
            start,
            end,
            from_offset,
            next_offset,
        }
    }

    /// The raw bytes: whole Kafka v2 batches, as stored.
    pub fn bytes(&self) -> &[u8] {
        match &self.seg {
            None => &[],
            // The segment's published bytes only grow, so the range stays valid.
            Some(s) => &s.log.bytes()[self.start..self.end],
        }
    }

    /// True when nothing was read (the offset was the log end).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The offset to read next: one past the last batch returned.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// The batches, each CRC-checked as it is reached.
    ///
    /// # Errors
    /// Each item is [`Error::Corrupt`] (naming the file and byte position) for a batch
    /// whose checksum or framing is wrong; iteration stops after it.
    pub fn batches(&self) -> FetchedBatchIter<'_> {
        FetchedBatchIter {
            fetched: self,
            pos: 0,
            failed: false,
        }
    }

    /// The records at or after the offset asked for (records before it in the first
    /// batch are skipped), skipping control batches, as zero-copy views.
    ///
    /// # Errors
    /// Items are [`Error::Corrupt`] for damaged batches or records.
    pub fn records(&self) -> FetchedRecords<'_> {
        FetchedRecords {
            batches: self.batches(),
            current: None,
            from: self.from_offset,
        }
    }

    /// The records of the compressed batch at `pos` (in [`Self::bytes`]), as the read
    /// decompressed them.
    fn decoded_records(&self, pos: usize) -> Option<&[u8]> {
        let d = self.decoded.as_deref()?;
        let i = d.spans.binary_search_by_key(&pos, |s| s.0).ok()?;
        let (_, from, to) = d.spans[i];
        d.buf.get(from..to)
    }
}

/// The decompressed records of a read's compressed batches, one after the other.
#[derive(Debug, Default)]
struct Decoded {
    buf: Vec<u8>,
    /// (batch position in the fetched bytes, its records in `buf`), by position.
    spans: Vec<(usize, usize, usize)>,
}

impl Decoded {
    /// Decompresses the batch at the start of `bytes` (CRC checked first), which sits
    /// at `pos` in the fetched bytes.
    fn push(&mut self, bytes: &[u8], pos: usize, limit: usize) -> Result<()> {
        let batch = Batch::parse(bytes)?;
        let from = self.buf.len();
        batch.decompress_into(limit, &mut self.buf)?;
        self.spans.push((pos, from, self.buf.len()));
        Ok(())
    }
}

/// Iterator over [`FetchedBatches::records`].
#[derive(Debug)]
pub struct FetchedRecords<'a> {
    batches: FetchedBatchIter<'a>,
    current: Option<BatchRecords<'a>>,
    from: i64,
}

impl<'a> Iterator for FetchedRecords<'a> {
    type Item = Result<RecordRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(records) = &mut self.current {
                match records.next() {
                    Some(Ok(r)) if r.offset() < self.from => continue,
                    Some(Ok(r)) => return Some(Ok(r)),
                    Some(Err(e)) => {
                        self.current = None;
                        let seg = self.batches.fetched.seg.as_ref()?;
                        return Some(Err(Error::corrupt(
                            &seg.log_path,
                            (self.batches.fetched.start + self.batches.pos) as u64,
                            e.to_string(),
                        )));
                    }
                    None => self.current = None,
                }
            }
            match self.batches.next()? {
                Err(e) => return Some(Err(e)),
                // By header: control batches carry no user records, and batches that end
                // before the requested offset hold none the caller wants.
                Ok(b) if b.header().is_control() || b.header().last_offset() < self.from => {}
                Ok(b) if b.header().compression() == 0 => self.current = Some(b.records()),
                Ok(b) => {
                    let fetched = self.batches.fetched;
                    let at = self.batches.pos - b.as_bytes().len();
                    match fetched.decoded_records(at) {
                        Some(records) => self.current = Some(b.records_in(records)),
                        None => {
                            let seg = fetched.seg.as_ref()?;
                            return Some(Err(Error::corrupt(
                                &seg.log_path,
                                (fetched.start + at) as u64,
                                "a compressed batch the read did not decompress".to_string(),
                            )));
                        }
                    }
                }
            }
        }
    }
}

/// Iterator over [`FetchedBatches::batches`].
#[derive(Debug)]
pub struct FetchedBatchIter<'a> {
    fetched: &'a FetchedBatches,
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for FetchedBatchIter<'a> {
    type Item = Result<Batch<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.fetched.bytes();
        if self.failed || self.pos >= bytes.len() {
            return None;
        }
        match Batch::parse(&bytes[self.pos..]) {
            Ok(b) => {
                self.pos += b.as_bytes().len();
                Some(Ok(b))
            }
            Err(e) => {
                self.failed = true;
                let seg = self.fetched.seg.as_ref()?;
                Some(Err(Error::corrupt(
                    &seg.log_path,
                    (self.fetched.start + self.pos) as u64,
                    e.to_string(),
                )))
            }
        }
    }
}
