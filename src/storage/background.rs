//! The storage layer's background thread: prefaulting pages ahead of writers and
//! timed flushes. The owner (a broker, or a standalone log) joins it on drop.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

use super::mmap::MappedRegion;

type Periodic = Box<dyn FnMut() -> bool + Send>;

enum Job {
    Prefault(Weak<MappedRegion>, usize, usize),
    Every(Duration, Periodic),
    Once(Box<dyn FnOnce() + Send>),
}

/// A handle to one background thread; cheap to clone. The thread stops and is joined
/// when the last handle is dropped.
#[derive(Clone)]
pub struct Background {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("poisoned", &self.is_poisoned())
            .finish()
    }
}

struct Inner {
    tx: Mutex<Option<Sender<Job>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    panicked: Arc<AtomicBool>,
}

impl Background {
    /// Starts the thread.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when the thread cannot be spawned.
    pub fn new(name: &str) -> crate::Result<Background> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let panicked = Arc::new(AtomicBool::new(false));
        let p = Arc::clone(&panicked);
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || run(rx, p))
            .map_err(|e| crate::Error::io(name, e))?;
        Ok(Background {
            inner: Arc::new(Inner {
                tx: Mutex::new(Some(tx)),
                handle: Mutex::new(Some(handle)),
                panicked,
            }),
        })
    }

    /// Whether a background task panicked; the owner refuses further work if so.
    pub fn is_poisoned(&self) -> bool {
        self.inner.panicked.load(Ordering::Acquire)
    }

    /// Stops the thread and waits for it (idempotent). Periodic tasks stop running.
    pub fn shutdown(&self) {
        self.inner.tx.lock().take();
        if let Some(h) = self.inner.handle.lock().take()
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
    }

    pub(crate) fn prefault(&self, region: &Arc<MappedRegion>, from: usize, len: usize) {
        self.send(Job::Prefault(Arc::downgrade(region), from, len));
    }

    /// Runs `task` once, soon, on the background thread.
    pub(crate) fn run(&self, task: impl FnOnce() + Send + 'static) {
        self.send(Job::Once(Box::new(task)));
    }

    /// Runs `task` every `period` until it returns false.
    pub(crate) fn every(&self, period: Duration, task: impl FnMut() -> bool + Send + 'static) {
        self.send(Job::Every(period, Box::new(task)));
    }

    fn send(&self, job: Job) {
        if let Some(tx) = self.inner.tx.lock().as_ref() {
            let _ = tx.send(job);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.tx.lock().take();
        if let Some(h) = self.handle.lock().take()
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
    }
}

fn run(rx: Receiver<Job>, panicked: Arc<AtomicBool>) {
    let mut periodic: Vec<(Duration, Instant, Periodic)> = Vec::new();
    loop {
        let next = periodic.iter().map(|p| p.1).min();
        let job = match next {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match job {
            Ok(Job::Prefault(region, from, len)) => {
                if let Some(r) = region.upgrade() {
                    // Best effort: a failure only means the writer takes the faults.
                    let _ = r.populate_write(from, len);
                }
            }
            Ok(Job::Every(period, task)) => periodic.push((period, Instant::now() + period, task)),
            Ok(Job::Once(task)) => {
                if catch_unwind(AssertUnwindSafe(task)).is_err() {
                    panicked.store(true, Ordering::Release);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        periodic.retain_mut(|(period, at, task)| {
            if *at > now {
                return true;
            }
            *at = now + *period;
            match catch_unwind(AssertUnwindSafe(&mut *task)) {
                Ok(keep) => keep,
                Err(_) => {
                    panicked.store(true, Ordering::Release);
                    false
                }
            }
        });
    }
}
