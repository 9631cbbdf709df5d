//! Zero-copy read results.

use std::sync::Arc;

use super::segment::Segment;
use crate::error::{Error, Result};
use crate::format::{Batch, BatchRecords, RecordRef};

/// Batches read from one segment, borrowed from its mapping without copying. Holding
/// this keeps the segment's mapping alive, even after retention deletes its file.
#[derive(Debug, Clone)]
pub struct FetchedBatches {
    seg: Option<Arc<Segment>>,
    start: usize,
    end: usize,
    from_offset: i64,
    next_offset: i64,
}

impl FetchedBatches {
    pub(crate) fn empty(offset: i64) -> Self {
        FetchedBatches {
            seg: None,
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
                Ok(b) => self.current = Some(b.records()),
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
