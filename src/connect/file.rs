//! The file connectors: [`FileSource`] tails text or JSON Lines files into a topic,
//! resuming by byte position; [`FileSink`] appends records to a file as lines (Kafka's
//! `FileStreamSource` and `FileStreamSink`, with rotation handling added).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::json;
use super::record::{ConnectRecord, SinkRecord, SourceRecord};
use super::sink::{SinkConnector, SinkTask, SinkTaskContext};
use super::source::{SourceConnector, SourceTask, SourceTaskContext};
use crate::{Error, Result};

/// How a file's lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileFormat {
    /// Every line is a record, its bytes the value (without the line break).
    #[default]
    Text,
    /// JSON Lines: every non-blank line must be one JSON document, and is the value of
    /// a record; a line that is not JSON is a bad record for the connector's
    /// [`ErrorTolerance`](super::ErrorTolerance). Blank lines are skipped.
    JsonLines,
}

/// Tails files into a topic (Kafka's `FileStreamSource`): one record per line, value =
/// the line, null key, timestamp = the time it is written.
///
/// - **Resume.** The source partition is the path as given; the source offset after
///   each line is `{"position":<byte after the line>,"inode":<inode>}`. A restarted
///   task continues at that byte if the file at the path is still the same file
///   (same inode) and not shorter; otherwise it starts the file at the beginning.
/// - **Tail.** Only complete lines (ending in `\n`) are read; a partial last line waits
///   for its line break. `\r\n` endings lose the `\r` too.
/// - **Truncation** (the file became shorter than the position read) restarts at the
///   start of the file. A truncation followed by new writes past the old position
///   before the next poll cannot be seen (as in Kafka and `tail -f`).
/// - **Rotation** (the path names a new file, by inode): the rest of the old file is
///   read to its end through the open handle (a last line without a line break
///   included), then the new file from its start. A rotation while the task is not
///   running loses the old file's unread tail, since only the new file can be found by
///   the path.
/// - Several files: each is its own source partition; with `tasks_max > 1` they are
///   spread over tasks.
///
/// Files are polled (every `poll_interval` while idle): there is no portable change
/// notification for files, so this is the one place brooklet polls for data.
///
/// ```
/// use brooklet::connect::{FileFormat, FileSource};
/// let source = FileSource::new("/var/log/app.jsonl", "app-logs").format(FileFormat::JsonLines);
/// # let _ = source;
/// ```
#[derive(Debug, Clone)]
pub struct FileSource {
    files: Vec<PathBuf>,
    topic: String,
    format: FileFormat,
}

impl FileSource {
    /// Tails `path` into `topic`.
    pub fn new(path: impl AsRef<Path>, topic: impl Into<String>) -> Self {
        FileSource {
            files: vec![path.as_ref().to_path_buf()],
            topic: topic.into(),
            format: FileFormat::Text,
        }
    }

    /// Tails another file into the same topic.
    #[must_use]
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// How lines are read. Default: [`FileFormat::Text`].
    #[must_use]
    pub fn format(mut self, format: FileFormat) -> Self {
        self.format = format;
        self
    }
}

impl SourceConnector for FileSource {
    fn tasks(&mut self, max_tasks: usize) -> Result<Vec<Box<dyn SourceTask>>> {
        let n = max_tasks.clamp(1, self.files.len().max(1));
        let mut tasks: Vec<FileSourceTask> = (0..n)
            .map(|_| FileSourceTask {
                tails: Vec::new(),
                topic: self.topic.clone(),
                format: self.format,
                next: 0,
            })
            .collect();
        for (i, f) in self.files.iter().enumerate() {
            tasks[i % n].tails.push(Tail::new(f.clone()));
        }
        Ok(tasks
            .into_iter()
            .map(|t| Box::new(t) as Box<dyn SourceTask>)
            .collect())
    }
}

/// Bytes read from a file per read call.
const READ_CHUNK: usize = 256 * 1024;

/// One tailed file.
#[derive(Debug)]
struct Tail {
    path: PathBuf,
    partition: String,
    file: Option<File>,
    inode: u64,
    /// Byte position of the first unconsumed byte (the start of `buf`).
    position: u64,
    /// Bytes read after `position` that are not yet lines.
    buf: Vec<u8>,
    /// Where to resume when the file is first opened: (position, inode).
    resume: Option<(u64, u64)>,
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(m)
}

#[cfg(not(unix))]
fn inode(_m: &std::fs::Metadata) -> u64 {
    0
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source: std::sync::Arc::new(source),
    }
}

impl Tail {
    fn new(path: PathBuf) -> Tail {
        Tail {
            partition: path.display().to_string(),
            path,
            file: None,
            inode: 0,
            position: 0,
            buf: Vec::new(),
            resume: None,
        }
    }

    fn offset(&self) -> String {
        format!(
            "{{\"position\":{},\"inode\":{}}}",
            self.position, self.inode
        )
    }

    /// Opens the file at the path (if it exists), at the resume position when it is
    /// the same file, else at its start.
    fn open(&mut self) -> Result<bool> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err(&self.path)(e)),
        };
        let m = f.metadata().map_err(io_err(&self.path))?;
        self.inode = inode(&m);
        self.position = match self.resume.take() {
            Some((pos, ino)) if ino == self.inode && pos <= m.len() => pos,
            _ => 0,
        };
        let mut f = f;
        f.seek(SeekFrom::Start(self.position))
            .map_err(io_err(&self.path))?;
        self.buf.clear();
        self.file = Some(f);
        Ok(true)
    }

    /// Reads what the open handle has, up to `READ_CHUNK` bytes; returns bytes read.
    fn fill(&mut self) -> Result<usize> {
        let Some(f) = &mut self.file else {
            return Ok(0);
        };
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let n = f.read(&mut self.buf[old..]).map_err(io_err(&self.path));
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                return Err(e);
            }
        };
        self.buf.truncate(old + n);
        Ok(n)
    }

    /// Takes up to `max` complete lines from `buf` (all remaining bytes as a last line
    /// when `flush_partial`).
    fn lines(&mut self, max: usize, flush_partial: bool, out: &mut Vec<(Vec<u8>, String)>) {
        let mut taken = 0;
        let mut consumed = 0;
        while taken < max {
            let rest = &self.buf[consumed..];
            let (line, used) = match rest.iter().position(|&b| b == b'\n') {
                Some(nl) => (&rest[..nl], nl + 1),
                None if flush_partial && !rest.is_empty() => (rest, rest.len()),
                None => break,
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line).to_vec();
            consumed += used;
            self.position += used as u64;
            out.push((line, self.offset()));
            taken += 1;
        }
        self.buf.drain(..consumed);
    }

    /// Up to `max` new lines, each with the source offset after it.
    fn poll(&mut self, max: usize) -> Result<Vec<(Vec<u8>, String)>> {
        let mut out = Vec::new();
        if self.file.is_none() && !self.open()? {
            return Ok(out);
        }
        // Lines already buffered come first.
        self.lines(max, false, &mut out);
        if out.len() >= max {
            return Ok(out);
        }
        match std::fs::metadata(&self.path) {
            Ok(m) if inode(&m) != self.inode => {
                // Rotated: finish the old file through its handle, then switch.
                while self.fill()? > 0 {}
                self.lines(usize::MAX, true, &mut out);
                self.file = None;
                self.open()?;
                return Ok(out);
            }
            Ok(m) if m.len() < self.position + self.buf.len() as u64 => {
                // Truncated: start again at the beginning.
                self.resume = None;
                self.open()?;
            }
            Ok(_) => {}
            // Removed (a rotation in progress): drain the old handle and wait for
            // the new file.
            Err(_) => {
                while self.fill()? > 0 {}
                self.lines(usize::MAX, true, &mut out);
                self.file = None;
                return Ok(out);
            }
        }
        while out.len() < max {
            if self.fill()? == 0 {
                break;
            }
            self.lines(max - out.len(), false, &mut out);
        }
        Ok(out)
    }
}

struct FileSourceTask {
    tails: Vec<Tail>,
    topic: String,
    format: FileFormat,
    /// The tail polled first next time, so that a busy file cannot starve the others.
    next: usize,
}

impl SourceTask for FileSourceTask {
    fn start(&mut self, context: &SourceTaskContext) -> Result<()> {
        for t in &mut self.tails {
            t.resume = context.offset_for(&t.partition).and_then(|o| {
                let v = json::parse(o.as_bytes()).ok()?;
                let pos = u64::try_from(v.get("position")?.as_i64()?).ok()?;
                let ino = u64::try_from(v.get("inode")?.as_i64()?).unwrap_or(0);
                Some((pos, ino))
            });
        }
        Ok(())
    }

    fn poll(&mut self, max_records: usize) -> Result<Vec<SourceRecord>> {
        let mut out = Vec::new();
        let n = self.tails.len();
        for i in 0..n {
            if out.len() >= max_records {
                break;
            }
            let t = &mut self.tails[(self.next + i) % n];
            for (line, offset) in t.poll(max_records - out.len())? {
                let record = ConnectRecord::new(self.topic.clone());
                let r = match self.format {
                    FileFormat::Text => {
                        SourceRecord::new(t.partition.clone(), offset, record.value(line))
                    }
                    FileFormat::JsonLines => {
                        if line.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        let bad = json::parse(&line).err();
                        let r = SourceRecord::new(t.partition.clone(), offset, record.value(line));
                        match bad {
                            Some(why) => r.failed(format!("not a JSON document: {why}")),
                            None => r,
                        }
                    }
                };
                out.push(r);
            }
        }
        self.next = self.next.wrapping_add(1);
        Ok(out)
    }
}

/// Appends each record's value to a file as a line (Kafka's `FileStreamSink`).
///
/// Runs one task whatever `tasks_max` says, since a file has one writer. Null values
/// (tombstones) are skipped; a value containing a line break cannot be one line and is
/// reported as a bad record (see [`SinkTaskContext::report`]). `flush` writes the
/// buffer and `fsync`s the file, so committed offsets only cover lines on disk.
///
/// ```
/// use brooklet::connect::FileSink;
/// let sink = FileSink::new("/tmp/out.txt");
/// # let _ = sink;
/// ```
#[derive(Debug, Clone)]
pub struct FileSink {
    path: PathBuf,
}

impl FileSink {
    /// Appends to `path` (created if missing).
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileSink {
            path: path.as_ref().to_path_buf(),
        }
    }
}

impl SinkConnector for FileSink {
    fn tasks(&mut self, _max_tasks: usize) -> Result<Vec<Box<dyn SinkTask>>> {
        Ok(vec![Box::new(FileSinkTask {
            path: self.path.clone(),
            out: None,
        })])
    }
}

struct FileSinkTask {
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl FileSinkTask {
    fn writer(&mut self) -> Result<&mut BufWriter<File>> {
        if self.out.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(io_err(&self.path))?;
            self.out = Some(BufWriter::with_capacity(256 * 1024, f));
        }
        // Set just above.
        self.out.as_mut().ok_or_else(|| {
            Error::IllegalState("internal: the file sink has no writer; please report this".into())
        })
    }
}

impl SinkTask for FileSinkTask {
    fn put(&mut self, records: &[SinkRecord], context: &mut SinkTaskContext) -> Result<()> {
        let path = self.path.clone();
        let w = self.writer()?;
        for r in records {
            let Some(v) = r.value() else { continue };
            if v.contains(&b'\n') {
                context.report(
                    r,
                    "the value contains a line break, so it cannot be one line",
                );
                continue;
            }
            w.write_all(v)
                .and_then(|_| w.write_all(b"\n"))
                .map_err(io_err(&path))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let Some(w) = &mut self.out else {
            return Ok(());
        };
        let res = w.flush().and_then(|_| w.get_ref().sync_data());
        if res.is_err() {
            // What the buffer held may be half written: reopen for the redelivery.
            self.out = None;
        }
        res.map_err(io_err(&self.path))
    }

    fn stop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll_all(t: &mut Tail) -> Vec<String> {
        t.poll(1000)
            .unwrap()
            .into_iter()
            .map(|(l, _)| String::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn tails_complete_lines_and_resumes_by_position() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "one\r\ntwo\npart").unwrap();
        let mut t = Tail::new(p.clone());
        assert_eq!(poll_all(&mut t), ["one", "two"]);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"ial\nfour\n").unwrap();
        let got = t.poll(1).unwrap();
        assert_eq!(got[0].0, b"partial");
        // Resume a new tail from the offset after "partial".
        let mut t2 = Tail::new(p.clone());
        let v = json::parse(got[0].1.as_bytes()).unwrap();
        t2.resume = Some((
            v.get("position").unwrap().as_i64().unwrap() as u64,
            v.get("inode").unwrap().as_i64().unwrap() as u64,
        ));
        assert_eq!(poll_all(&mut t2), ["four"]);
    }

    #[test]
    fn notices_truncation_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.log");
        std::fs::write(&p, "a\nb\nc\n").unwrap();
        let mut t = Tail::new(p.clone());
        assert_eq!(poll_all(&mut t), ["a", "b", "c"]);
        // Truncated and rewritten shorter.
        std::fs::write(&p, "x\n").unwrap();
        assert_eq!(poll_all(&mut t), ["x"]);
        // Rotated: the old file gets a last line (no break), the new one starts.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"y\nlast").unwrap();
        std::fs::rename(&p, dir.path().join("b.log.1")).unwrap();
        std::fs::write(&p, "new1\n").unwrap();
        assert_eq!(poll_all(&mut t), ["y", "last"]);
        assert_eq!(poll_all(&mut t), ["new1"]);
    }
}
