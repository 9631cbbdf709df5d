//! [`StdinSource`] and [`StdoutSink`]: the console connectors (Kafka's
//! `FileStreamSource` and `FileStreamSink` without a file).

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};
use parking_lot::Mutex;

use super::record::{ConnectRecord, SinkRecord, SourceRecord};
use super::sink::{SinkConnector, SinkTask, SinkTaskContext};
use super::source::{SourceConnector, SourceTask};
use crate::{Error, Result};

type BoxedReader = Box<dyn Read + Send>;

/// Reads lines from standard input (or any reader) into a topic, one record per line.
///
/// Input cannot be read twice, so there is nothing to resume: the source offset is
/// the line number, stored for information only. A background thread reads the input
/// (reads block); it ends at end of input and is not joined. One task.
///
/// ```
/// use brooklet::connect::StdinSource;
/// let from_stdin = StdinSource::new("console");
/// let from_bytes = StdinSource::from_reader("console", &b"a\nb\n"[..]);
/// # let _ = (from_stdin, from_bytes);
/// ```
pub struct StdinSource {
    topic: String,
    reader: Arc<Mutex<Option<BoxedReader>>>,
    lines: Arc<Mutex<Option<Receiver<Vec<u8>>>>>,
    count: Arc<AtomicU64>,
}

impl std::fmt::Debug for StdinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdinSource")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl StdinSource {
    /// Reads standard input into `topic`.
    pub fn new(topic: impl Into<String>) -> Self {
        Self::from_reader(topic, std::io::stdin())
    }

    /// Reads `reader` into `topic`.
    pub fn from_reader(topic: impl Into<String>, reader: impl Read + Send + 'static) -> Self {
        StdinSource {
            topic: topic.into(),
            reader: Arc::new(Mutex::new(Some(Box::new(reader)))),
            lines: Arc::new(Mutex::new(None)),
            count: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The channel of lines, starting the reader thread on first use (and keeping it
    /// across restarts of the connector).
    fn lines(&self) -> Result<Receiver<Vec<u8>>> {
        let mut slot = self.lines.lock();
        if let Some(rx) = &*slot {
            return Ok(rx.clone());
        }
        let Some(reader) = self.reader.lock().take() else {
            return Err(Error::IllegalState(
                "the stdin source lost its reader (its reader thread failed to start earlier); create a new StdinSource".into(),
            ));
        };
        let (tx, rx) = bounded::<Vec<u8>>(4096);
        std::thread::Builder::new()
            .name("connect-stdin".into())
            .spawn(move || {
                let mut r = BufReader::new(reader);
                loop {
                    let mut line = Vec::new();
                    match r.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            if line.last() == Some(&b'\n') {
                                line.pop();
                            }
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                            if tx.send(line).is_err() {
                                return;
                            }
                        }
                    }
                }
            })
            .map_err(|e| Error::Io {
                path: "<stdin>".into(),
                source: std::sync::Arc::new(e),
            })?;
        *slot = Some(rx.clone());
        Ok(rx)
    }
}

impl SourceConnector for StdinSource {
    fn tasks(&mut self, _max_tasks: usize) -> Result<Vec<Box<dyn SourceTask>>> {
        Ok(vec![Box::new(StdinTask {
            topic: self.topic.clone(),
            rx: self.lines()?,
            count: Arc::clone(&self.count),
        })])
    }
}

struct StdinTask {
    topic: String,
    rx: Receiver<Vec<u8>>,
    count: Arc<AtomicU64>,
}

impl SourceTask for StdinTask {
    fn poll(&mut self, max_records: usize) -> Result<Vec<SourceRecord>> {
        let mut out = Vec::new();
        let first = match self.rx.recv_timeout(Duration::from_millis(50)) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return Ok(out),
        };
        let mut push = |line: Vec<u8>| {
            let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
            out.push(SourceRecord::new(
                "stdin",
                n.to_string(),
                ConnectRecord::new(self.topic.clone()).value(line),
            ));
        };
        push(first);
        for _ in 1..max_records {
            match self.rx.try_recv() {
                Ok(l) => push(l),
                Err(_) => break,
            }
        }
        Ok(out)
    }
}

/// Writes each record's value to standard output (or any writer) as a line; null
/// values are skipped. One task.
///
/// ```
/// use brooklet::connect::StdoutSink;
/// let to_stdout = StdoutSink::new();
/// let to_buffer = StdoutSink::to_writer(Vec::new());
/// # let _ = (to_stdout, to_buffer);
/// ```
#[derive(Clone)]
pub struct StdoutSink {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for StdoutSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdoutSink").finish_non_exhaustive()
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

impl StdoutSink {
    /// Writes to standard output.
    pub fn new() -> Self {
        Self::to_writer(std::io::stdout())
    }

    /// Writes to `w`.
    pub fn to_writer(w: impl Write + Send + 'static) -> Self {
        StdoutSink {
            out: Arc::new(Mutex::new(Box::new(w))),
        }
    }
}

impl SinkConnector for StdoutSink {
    fn tasks(&mut self, _max_tasks: usize) -> Result<Vec<Box<dyn SinkTask>>> {
        Ok(vec![Box::new(self.clone())])
    }
}

fn stdout_err(e: std::io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        source: std::sync::Arc::new(e),
    }
}

impl SinkTask for StdoutSink {
    fn put(&mut self, records: &[SinkRecord], _context: &mut SinkTaskContext) -> Result<()> {
        let mut w = self.out.lock();
        for r in records {
            if let Some(v) = r.value() {
                w.write_all(v)
                    .and_then(|_| w.write_all(b"\n"))
                    .map_err(stdout_err)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.out.lock().flush().map_err(stdout_err)
    }
}
