//! Connector and task status (Kafka Connect's `/connectors/<name>/status`), and the
//! control block a connector's task threads share with the [`Worker`](super::Worker).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::WakeupHandle;

/// Whether a connector reads from outside into topics, or from topics to outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    /// A [`SourceConnector`](super::SourceConnector).
    Source,
    /// A [`SinkConnector`](super::SinkConnector).
    Sink,
}

/// The state of a connector as a whole (Kafka Connect's connector state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorState {
    /// Its tasks run (each task has its own state, which may be `Failed`).
    Running,
    /// Paused by [`Worker::pause`](super::Worker::pause).
    Paused,
    /// Its tasks could not be created; see [`ConnectorStatus::error`].
    Failed,
    /// Stopped by [`Worker::stop`](super::Worker::stop).
    Stopped,
}

/// The state of one task (Kafka Connect's task state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Started and working.
    Running,
    /// Paused: a source task is not polled; a sink task's partitions are paused.
    Paused,
    /// Stopped by an error; see [`TaskStatus::error`].
    Failed,
    /// Stopped on request.
    Stopped,
}

/// The status of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// The task's number, `0..tasks`.
    pub id: usize,
    /// Its state.
    pub state: TaskState,
    /// The error that failed it (Kafka's `trace`).
    pub error: Option<String>,
    /// Records written to topics (source) or delivered with `put` (sink).
    pub records: u64,
    /// Records dropped by a filter transform.
    pub filtered: u64,
    /// Bad records skipped under `ErrorTolerance::All` (written to the dead-letter
    /// topic when one is set).
    pub skipped: u64,
    /// Why the last bad record was skipped: the "log" of log-and-skip.
    pub last_skipped_error: Option<String>,
    /// Retries of `poll`, `put` and `flush` so far.
    pub retries: u64,
}

impl TaskStatus {
    pub(crate) fn new(id: usize) -> Self {
        TaskStatus {
            id,
            state: TaskState::Running,
            error: None,
            records: 0,
            filtered: 0,
            skipped: 0,
            last_skipped_error: None,
            retries: 0,
        }
    }
}

/// The status of a connector and its tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    /// The connector's name.
    pub name: String,
    /// Source or sink.
    pub kind: ConnectorKind,
    /// Its state.
    pub state: ConnectorState,
    /// Why it failed, when `state` is `Failed`.
    pub error: Option<String>,
    /// Its tasks.
    pub tasks: Vec<TaskStatus>,
}

impl ConnectorStatus {
    /// True when a task failed or the connector did.
    pub fn has_failed(&self) -> bool {
        self.state == ConnectorState::Failed
            || self.tasks.iter().any(|t| t.state == TaskState::Failed)
    }
    /// Records written or flushed by all tasks.
    pub fn records(&self) -> u64 {
        self.tasks.iter().map(|t| t.records).sum()
    }
}

/// Shared between a connector's task threads and the worker.
pub(crate) struct Control {
    stop: AtomicBool,
    paused: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
    pub(crate) tasks: Mutex<Vec<TaskStatus>>,
    pub(crate) wakeups: Mutex<Vec<WakeupHandle>>,
    /// Serialises the source batches of a connector's tasks (intent, records, commit),
    /// so that at most one batch per connector is ever uncommitted.
    pub(crate) write_lock: Mutex<()>,
}

impl Control {
    pub(crate) fn new(tasks: usize, paused: bool) -> Control {
        Control {
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(paused),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            tasks: Mutex::new((0..tasks).map(TaskStatus::new).collect()),
            wakeups: Mutex::new(Vec::new()),
            write_lock: Mutex::new(()),
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub(crate) fn paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    fn signal(&self) {
        let _g = self.lock.lock();
        self.cv.notify_all();
        for w in self.wakeups.lock().iter() {
            w.wakeup();
        }
    }

    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.signal();
    }

    pub(crate) fn set_paused(&self, on: bool) {
        self.paused.store(on, Ordering::Release);
        self.signal();
    }

    /// Waits up to `d`, or until stop, pause or resume is requested.
    pub(crate) fn wait(&self, d: Duration) {
        let mut g = self.lock.lock();
        if self.stopping() {
            return;
        }
        let _ = self.cv.wait_for(&mut g, d);
    }

    pub(crate) fn update(&self, task: usize, f: impl FnOnce(&mut TaskStatus)) {
        if let Some(t) = self.tasks.lock().get_mut(task) {
            f(t);
        }
    }
}
