//! Wake-ups for readers blocked waiting for new records: no sleep-polling anywhere.

use std::sync::atomic::{AtomicUsize, Ordering, fence};

use crossbeam_utils::sync::Unparker;
use parking_lot::Mutex;

/// Threads to unpark when a partition's end moves.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    count: AtomicUsize,
    list: Mutex<Vec<(u64, Unparker)>>,
}

impl Waiters {
    /// Wakes every registered waiter. Called after the new end offset is stored: the
    /// SeqCst fence pairs with the one in `register`, so either the appender sees the
    /// waiter or the waiter's re-check sees the new end (no lost wake-up).
    pub(crate) fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        for (_, u) in self.list.lock().iter() {
            u.unpark();
        }
    }

    /// Registers `unparker` under `id`; the caller re-checks its condition afterwards.
    pub(crate) fn register(&self, id: u64, unparker: &Unparker) {
        let mut l = self.list.lock();
        l.push((id, unparker.clone()));
        self.count.fetch_add(1, Ordering::Relaxed);
        drop(l);
        fence(Ordering::SeqCst);
    }

    pub(crate) fn unregister(&self, id: u64) {
        let mut l = self.list.lock();
        let before = l.len();
        l.retain(|(i, _)| *i != id);
        self.count.fetch_sub(before - l.len(), Ordering::Relaxed);
    }
}
