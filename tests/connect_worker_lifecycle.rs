//! The worker's life cycle: a connector runs N tasks, pause stops the flow (for a
//! source and for a sink) and resume restarts it where it stopped, stop and restart
//! keep the offsets, status reports every task, and bad requests are typed errors;
//! the console connectors move lines from a reader to a writer.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brooklet::connect::{
    ConnectorConfig, ConnectorKind, ConnectorState, FileSink, FileSource, StdinSource, StdoutSink,
    TaskState, Worker,
};
use brooklet::{Broker, Error, TopicConfig};

mod support;
use support::wait;

fn append(path: &std::path::Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn topic_len(b: &Broker, t: &str) -> i64 {
    b.describe_topic(t)
        .unwrap()
        .partitions
        .iter()
        .map(|p| p.log_end_offset)
        .sum()
}

#[test]
fn pause_resume_stop_restart_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b_file, out) = (
        dir.path().join("a.log"),
        dir.path().join("b.log"),
        dir.path().join("out.log"),
    );
    append(&a, "a1\na2\n");
    append(&b_file, "b1\n");
    let b = Broker::open(dir.path().join("data")).unwrap();
    b.create_topic("logs", TopicConfig::new(2)).unwrap();
    let w = Worker::new(&b).unwrap();
    let fast = |name: &str| {
        ConnectorConfig::new(name)
            .poll_interval(Duration::from_millis(5))
            .offset_flush_interval(Duration::from_millis(5))
    };
    w.start_source(
        FileSource::new(&a, "logs").file(&b_file),
        fast("in").tasks_max(4),
    )
    .unwrap();
    w.start_sink(FileSink::new(&out), fast("out").topics(&["logs"]))
        .unwrap();
    let st = w.status("in").unwrap();
    assert_eq!(
        (st.kind, st.tasks.len()),
        (ConnectorKind::Source, 2),
        "one task per file"
    );
    wait("3 lines out", || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .count()
            == 3
    });

    // Paused, the source reads nothing new.
    w.pause("in").unwrap();
    wait("source tasks paused", || {
        w.status("in")
            .unwrap()
            .tasks
            .iter()
            .all(|t| t.state == TaskState::Paused)
    });
    append(&a, "a3\n");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(topic_len(&b, "logs"), 3);
    assert_eq!(w.status("in").unwrap().state, ConnectorState::Paused);
    w.resume("in").unwrap();
    wait("a3 in the topic", || topic_len(&b, "logs") == 4);

    // Paused, the sink writes nothing new; resumed, it catches up.
    wait("4 lines out", || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .count()
            == 4
    });
    w.pause("out").unwrap();
    wait("sink task paused", || {
        w.status("out").unwrap().tasks[0].state == TaskState::Paused
    });
    append(&b_file, "b2\n");
    wait("b2 in the topic", || topic_len(&b, "logs") == 5);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);
    w.resume("out").unwrap();
    wait("5 lines out", || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .count()
            == 5
    });

    // Stop keeps the offsets; a restart continues after them.
    w.stop("in").unwrap();
    let st = w.status("in").unwrap();
    assert_eq!(st.state, ConnectorState::Stopped);
    assert!(
        st.tasks.iter().all(|t| t.state == TaskState::Stopped),
        "{st:?}"
    );
    assert_eq!(w.offsets("in").len(), 2, "one offset per file");
    append(&a, "a4\n");
    w.restart("in").unwrap();
    wait("a4 in the topic", || topic_len(&b, "logs") == 6);
    assert_eq!(w.status("in").unwrap().state, ConnectorState::Running);
    wait("6 lines out", || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .count()
            == 6
    });

    // Typed errors for bad requests.
    assert!(matches!(
        w.pause("nope"),
        Err(Error::UnknownConnector { .. })
    ));
    assert!(matches!(
        w.start_source(FileSource::new(&a, "logs"), fast("in")),
        Err(Error::ConnectorExists { .. })
    ));
    assert!(matches!(
        w.start_sink(FileSink::new(&out), fast("no-topics")),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        w.start_sink(
            FileSink::new(&out),
            fast("dlq")
                .topics(&["logs"])
                .errors_tolerance(brooklet::connect::ErrorTolerance::All)
                .dead_letter_topic("missing")
        ),
        Err(Error::UnknownTopic { .. })
    ));
    assert_eq!(w.connectors(), ["in", "out"]);
    w.remove("out").unwrap();
    assert_eq!(w.connectors(), ["in"]);
    w.close();
    let lines = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<&str> = lines.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["a1", "a2", "a3", "a4", "b1", "b2"]);
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn console_connectors_move_lines_from_reader_to_writer() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("console", TopicConfig::new(1)).unwrap();
    let w = Worker::new(&b).unwrap();
    let out = Shared::default();
    w.start_source(
        StdinSource::from_reader("console", &b"hello\r\nworld\n"[..]),
        ConnectorConfig::new("stdin"),
    )
    .unwrap();
    w.start_sink(
        StdoutSink::to_writer(out.clone()),
        ConnectorConfig::new("stdout")
            .topics(&["console"])
            .offset_flush_interval(Duration::from_millis(5)),
    )
    .unwrap();
    wait("two lines", || out.0.lock().unwrap().len() == 12);
    w.close();
    assert_eq!(&*out.0.lock().unwrap(), b"hello\nworld\n");
}
