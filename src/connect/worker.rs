//! [`Worker`]: runs connectors (Kafka Connect's standalone worker and its herder).

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use super::config::ConnectorConfig;
use super::offsets::OffsetStore;
use super::sink::{SinkConnector, SinkRunner, SinkTask};
use super::source::{SourceConnector, SourceRunner, SourceTask};
use super::status::{ConnectorKind, ConnectorState, ConnectorStatus, Control, TaskState};
use crate::{Broker, Error, Result};

enum Plugin {
    Source(Box<dyn SourceConnector>),
    Sink(Box<dyn SinkConnector>),
}

struct Entry {
    plugin: Arc<Mutex<Plugin>>,
    kind: ConnectorKind,
    config: ConnectorConfig,
    control: Arc<Control>,
    threads: Vec<JoinHandle<()>>,
    state: ConnectorState,
    error: Option<String>,
}

struct WorkerInner {
    broker: Broker,
    store: Arc<OffsetStore>,
    connectors: Mutex<BTreeMap<String, Entry>>,
}

/// Runs source and sink connectors on one [`Broker`], each task on its own thread
/// (Kafka Connect's standalone worker). Cheap to clone; dropping the last clone stops
/// every connector.
///
/// Source tasks' records are written with the producer, and their source offsets are
/// stored in the internal compacted topic `__connect_offsets` right after the records
/// (see [`SourceTask`] for the exactly-once recovery). Sink tasks read as members of the
/// consumer group `connect-<name>` and commit only after a successful
/// [`SinkTask::flush`].
///
/// ```
/// use brooklet::connect::{ConnectorConfig, FileSink, FileSource, Worker};
/// use brooklet::{Broker, TopicConfig};
/// use std::time::{Duration, Instant};
///
/// let dir = tempfile::tempdir().unwrap();
/// let input = dir.path().join("in.txt");
/// let output = dir.path().join("out.txt");
/// std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
///
/// let broker = Broker::open(dir.path().join("data"))?;
/// broker.create_topic("lines", TopicConfig::new(1))?;
/// let worker = Worker::new(&broker)?;
/// worker.start_source(FileSource::new(&input, "lines"), ConnectorConfig::new("file-in"))?;
/// worker.start_sink(
///     FileSink::new(&output),
///     ConnectorConfig::new("file-out")
///         .topics(&["lines"])
///         .offset_flush_interval(Duration::from_millis(10)),
/// )?;
/// let deadline = Instant::now() + Duration::from_secs(10);
/// while std::fs::read_to_string(&output).unwrap_or_default().lines().count() < 3 {
///     assert!(Instant::now() < deadline);
///     std::thread::sleep(Duration::from_millis(10));
/// }
/// assert_eq!(worker.status("file-in")?.records(), 3);
/// worker.close();
/// assert_eq!(std::fs::read_to_string(&output).unwrap(), "one\ntwo\nthree\n");
/// # Ok::<(), brooklet::Error>(())
/// ```
#[derive(Clone)]
pub struct Worker {
    inner: Arc<WorkerInner>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("broker", &self.inner.broker)
            .field("connectors", &self.connectors())
            .finish()
    }
}

fn unknown(name: &str) -> Error {
    Error::UnknownConnector {
        name: name.to_string(),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Worker {
    /// A worker on `broker`: creates `__connect_offsets` on first use and reads the
    /// stored source offsets.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Corrupt`] when `__connect_offsets` cannot be read;
    /// [`Error::Closed`].
    pub fn new(broker: &Broker) -> Result<Worker> {
        Ok(Worker {
            inner: Arc::new(WorkerInner {
                broker: broker.clone(),
                store: OffsetStore::open(broker)?,
                connectors: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// Starts a source connector with up to `config.tasks_max` tasks.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad config; [`Error::ConnectorExists`] for a name
    /// that is not stopped; [`Error::UnknownTopic`] for a missing dead-letter topic. A connector whose
    /// tasks cannot be created is started as `Failed` (see [`status`](Self::status)).
    pub fn start_source(
        &self,
        connector: impl SourceConnector + 'static,
        config: ConnectorConfig,
    ) -> Result<()> {
        self.start(
            Plugin::Source(Box::new(connector)),
            ConnectorKind::Source,
            config,
        )
    }

    /// Starts a sink connector with up to `config.tasks_max` tasks, reading
    /// `config.topics` (or `config.topics_regex`) as the group `connect-<name>`.
    ///
    /// # Errors
    /// As [`start_source`](Self::start_source); [`Error::InvalidConfig`] without
    /// topics.
    pub fn start_sink(
        &self,
        connector: impl SinkConnector + 'static,
        config: ConnectorConfig,
    ) -> Result<()> {
        if config.topics.is_empty() && config.topics_regex.is_none() {
            return Err(Error::InvalidConfig {
                setting: "topics",
                reason: format!(
                    "sink connector `{}` needs topics or topics_regex",
                    config.name
                ),
            });
        }
        self.start(
            Plugin::Sink(Box::new(connector)),
            ConnectorKind::Sink,
            config,
        )
    }

    fn start(&self, plugin: Plugin, kind: ConnectorKind, config: ConnectorConfig) -> Result<()> {
        config.validate()?;
        self.inner.broker.ensure_open()?;
        if let Some(t) = &config.dead_letter_topic {
            self.inner.broker.partition_count(t)?;
        }
        let mut map = self.inner.connectors.lock();
        if let Some(e) = map.get(&config.name)
            && e.state != ConnectorState::Stopped
        {
            return Err(Error::ConnectorExists {
                name: config.name.clone(),
            });
        }
        let mut entry = Entry {
            plugin: Arc::new(Mutex::new(plugin)),
            kind,
            control: Arc::new(Control::new(0, false)),
            config,
            threads: Vec::new(),
            state: ConnectorState::Running,
            error: None,
        };
        self.spawn(&mut entry);
        map.insert(entry.config.name.clone(), entry);
        Ok(())
    }

    /// Creates the tasks of `entry` and starts a thread for each.
    fn spawn(&self, entry: &mut Entry) {
        enum Tasks {
            Source(Vec<Box<dyn SourceTask>>),
            Sink(Vec<Box<dyn SinkTask>>),
        }
        let max = entry.config.tasks_max;
        let made = catch_unwind(AssertUnwindSafe(|| match &mut *entry.plugin.lock() {
            Plugin::Source(c) => c.tasks(max).map(Tasks::Source),
            Plugin::Sink(c) => c.tasks(max).map(Tasks::Sink),
        }));
        let tasks = match made {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => return fail(entry, e.to_string()),
            Err(p) => return fail(entry, format!("tasks() panicked: {}", panic_message(&*p))),
        };
        let n = match &tasks {
            Tasks::Source(t) => t.len(),
            Tasks::Sink(t) => t.len(),
        };
        let control = Arc::new(Control::new(n, false));
        entry.control = Arc::clone(&control);
        entry.state = ConnectorState::Running;
        entry.error = None;
        let name = entry.config.name.clone();
        let mut threads = Vec::with_capacity(n);
        let spawn = |i: usize, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(format!("connect-{name}-{i}"))
                .spawn(body)
        };
        let mut spawned = Vec::new();
        match tasks {
            Tasks::Source(ts) => {
                for (i, task) in ts.into_iter().enumerate() {
                    let mut runner = SourceRunner::new(
                        self.inner.broker.clone(),
                        Arc::clone(&self.inner.store),
                        entry.config.clone(),
                        Arc::clone(&control),
                        i,
                        task,
                    );
                    let control = Arc::clone(&control);
                    spawned.push(spawn(
                        i,
                        Box::new(move || {
                            let res = catch_unwind(AssertUnwindSafe(|| runner.run()));
                            let _ = catch_unwind(AssertUnwindSafe(|| runner.stop_task()));
                            finish(&control, i, res);
                        }),
                    ));
                }
            }
            Tasks::Sink(ts) => {
                for (i, task) in ts.into_iter().enumerate() {
                    let mut runner = SinkRunner::new(
                        self.inner.broker.clone(),
                        entry.config.clone(),
                        Arc::clone(&control),
                        i,
                        task,
                    );
                    let control = Arc::clone(&control);
                    spawned.push(spawn(
                        i,
                        Box::new(move || {
                            let res = catch_unwind(AssertUnwindSafe(|| runner.run()));
                            let _ = catch_unwind(AssertUnwindSafe(|| runner.stop_task()));
                            finish(&control, i, res);
                        }),
                    ));
                }
            }
        }
        for (i, s) in spawned.into_iter().enumerate() {
            match s {
                Ok(h) => threads.push(h),
                Err(e) => control.update(i, |t| {
                    t.state = TaskState::Failed;
                    t.error = Some(format!("could not start a thread: {e}"));
                }),
            }
        }
        entry.threads = threads;
    }

    /// Stops a connector's tasks (each finishes its current batch; sinks flush and
    /// commit) and waits for them. Its status stays readable, as `Stopped`.
    ///
    /// # Errors
    /// [`Error::UnknownConnector`] for an unknown connector.
    pub fn stop(&self, name: &str) -> Result<()> {
        let threads = {
            let mut map = self.inner.connectors.lock();
            let e = map.get_mut(name).ok_or_else(|| unknown(name))?;
            e.control.request_stop();
            if e.state != ConnectorState::Failed {
                e.state = ConnectorState::Stopped;
            }
            std::mem::take(&mut e.threads)
        };
        for t in threads {
            let _ = t.join();
        }
        Ok(())
    }

    /// Stops a connector and forgets it.
    ///
    /// # Errors
    /// [`Error::UnknownConnector`] for an unknown connector.
    pub fn remove(&self, name: &str) -> Result<()> {
        self.stop(name)?;
        self.inner.connectors.lock().remove(name);
        Ok(())
    }

    /// Stops a connector and starts it again with fresh tasks from its connector
    /// (Kafka's restart with `includeTasks`): the way back from a `Failed` task. Tasks
    /// resume from the stored offsets (sources) or committed offsets (sinks).
    ///
    /// # Errors
    /// [`Error::UnknownConnector`] for an unknown connector.
    pub fn restart(&self, name: &str) -> Result<()> {
        self.stop(name)?;
        let mut map = self.inner.connectors.lock();
        let e = map.get_mut(name).ok_or_else(|| unknown(name))?;
        self.spawn(e);
        Ok(())
    }

    /// Pauses a connector: source tasks are not polled; sink tasks pause their
    /// partitions but stay in the group.
    ///
    /// # Errors
    /// [`Error::UnknownConnector`] for an unknown connector; [`Error::IllegalState`]
    /// for a stopped or failed one.
    pub fn pause(&self, name: &str) -> Result<()> {
        self.set_paused(name, true)
    }

    /// Resumes a paused connector.
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub fn resume(&self, name: &str) -> Result<()> {
        self.set_paused(name, false)
    }

    fn set_paused(&self, name: &str, on: bool) -> Result<()> {
        let mut map = self.inner.connectors.lock();
        let e = map.get_mut(name).ok_or_else(|| unknown(name))?;
        if matches!(e.state, ConnectorState::Stopped | ConnectorState::Failed) {
            return Err(Error::IllegalState(format!(
                "connector `{name}` is not running; restart it first"
            )));
        }
        e.control.set_paused(on);
        e.state = if on {
            ConnectorState::Paused
        } else {
            ConnectorState::Running
        };
        Ok(())
    }

    /// The state of a connector and of each of its tasks.
    ///
    /// # Errors
    /// [`Error::UnknownConnector`] for an unknown connector.
    pub fn status(&self, name: &str) -> Result<ConnectorStatus> {
        let map = self.inner.connectors.lock();
        let e = map.get(name).ok_or_else(|| unknown(name))?;
        Ok(ConnectorStatus {
            name: name.to_string(),
            kind: e.kind,
            state: e.state,
            error: e.error.clone(),
            tasks: e.control.tasks.lock().clone(),
        })
    }

    /// Names of the connectors, sorted.
    pub fn connectors(&self) -> Vec<String> {
        self.inner.connectors.lock().keys().cloned().collect()
    }

    /// The stored source offsets of a source connector, by source partition (Kafka's
    /// `GET /connectors/<name>/offsets`).
    pub fn offsets(&self, name: &str) -> HashMap<String, String> {
        self.inner.store.offsets_of(name)
    }

    /// Stops every connector and waits for their tasks.
    pub fn close(&self) {
        self.inner.close();
    }
}

impl WorkerInner {
    fn close(&self) {
        let threads: Vec<JoinHandle<()>> = {
            let mut map = self.connectors.lock();
            map.values_mut()
                .flat_map(|e| {
                    e.control.request_stop();
                    if e.state != ConnectorState::Failed {
                        e.state = ConnectorState::Stopped;
                    }
                    std::mem::take(&mut e.threads)
                })
                .collect()
        };
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for WorkerInner {
    fn drop(&mut self) {
        self.close();
    }
}

fn fail(entry: &mut Entry, error: String) {
    entry.state = ConnectorState::Failed;
    entry.error = Some(error);
    entry.control = Arc::new(Control::new(0, false));
}

/// Records how a task thread ended.
fn finish(control: &Control, task: usize, res: std::thread::Result<Result<()>>) {
    control.update(task, |s| match res {
        Ok(Ok(())) => s.state = TaskState::Stopped,
        Ok(Err(e)) => {
            s.state = TaskState::Failed;
            s.error = Some(e.to_string());
        }
        Err(p) => {
            s.state = TaskState::Failed;
            s.error = Some(format!("task panicked: {}", panic_message(&*p)));
        }
    });
}
