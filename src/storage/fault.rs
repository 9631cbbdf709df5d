//! Fault injection for brooklet's own reliability tests (cargo feature
//! `fault-injection`): an armed [`FaultInjection`] makes the file-system calls of
//! [`io`](super::io) fail as planned (see its module docs). Without the feature this
//! file is not compiled and [`io::check`](super::io::check) is a constant `Ok`.

use std::collections::BTreeSet;
use std::io;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};

use super::io::Op;

static ARMED: AtomicBool = AtomicBool::new(false);
static STATE: Mutex<Plan> = Mutex::new(Plan::new());
/// Held by the armed [`FaultInjection`]: one plan at a time per process.
static ARMING: Mutex<()> = Mutex::new(());

#[derive(Debug)]
struct Plan {
    /// Operations counted so far (of the kind the plan counts).
    ops: u64,
    /// The first operation to fail (1-based).
    fail_at: u64,
    /// Fail every operation from `fail_at` on, not only that one.
    persistent: bool,
    errno: i32,
    /// Count and fail only [`Op::Space`] operations.
    space_only: bool,
    fired: u64,
    fired_syncs: u64,
    failed_syncs: Vec<(&'static str, u32)>,
    seen: BTreeSet<(&'static str, u32)>,
    failed: BTreeSet<(&'static str, u32)>,
}

impl Plan {
    const fn new() -> Plan {
        Plan {
            ops: 0,
            fail_at: u64::MAX,
            persistent: false,
            errno: 0,
            space_only: false,
            fired: 0,
            fired_syncs: 0,
            failed_syncs: Vec::new(),
            seen: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }
}

/// Whether a plan is armed: one relaxed load, the whole cost of an unarmed check.
#[inline]
pub(super) fn armed() -> bool {
    ARMED.load(Ordering::Relaxed)
}

/// Counts `op` at `site` and fails it when the armed plan says so.
#[cold]
pub(super) fn check_armed(op: Op, site: &'static Location<'static>) -> io::Result<()> {
    let mut p = STATE.lock();
    if p.space_only && op != Op::Space {
        return Ok(());
    }
    p.ops += 1;
    let key = (site.file(), site.line());
    p.seen.insert(key);
    let fail = p.ops == p.fail_at || (p.persistent && p.ops > p.fail_at);
    if fail {
        p.fired += 1;
        if op == Op::Sync {
            p.fired_syncs += 1;
            p.failed_syncs.push(key);
        }
        p.failed.insert(key);
        return Err(io::Error::from_raw_os_error(p.errno));
    }
    Ok(())
}

/// A test hook: while this guard lives, file-system operations of the whole process
/// fail as planned (see the module docs). Not part of the stable API.
#[doc(hidden)]
#[derive(Debug)]
pub struct FaultInjection {
    _arming: MutexGuard<'static, ()>,
}

impl FaultInjection {
    /// Fails the `nth` operation (1-based) with `errno`, and with `persistent` every
    /// later one too. Waits while another plan is armed.
    pub fn fail_nth(nth: u64, persistent: bool, errno: i32) -> FaultInjection {
        FaultInjection::arm(nth, persistent, errno, false)
    }

    /// A full disk from the `nth` space-using operation on: it and every later
    /// allocation, write, growth or creation fails with `ENOSPC` until the guard drops
    /// (space freed).
    pub fn disk_full(nth: u64) -> FaultInjection {
        FaultInjection::arm(nth, true, libc::ENOSPC, true)
    }

    fn arm(nth: u64, persistent: bool, errno: i32, space_only: bool) -> FaultInjection {
        let guard = ARMING.lock();
        *STATE.lock() = Plan {
            fail_at: nth.max(1),
            persistent,
            errno,
            space_only,
            ..Plan::new()
        };
        ARMED.store(true, Ordering::SeqCst);
        FaultInjection { _arming: guard }
    }

    /// Operations counted since arming.
    pub fn ops(&self) -> u64 {
        STATE.lock().ops
    }

    /// Operations failed since arming.
    pub fn fired(&self) -> u64 {
        STATE.lock().fired
    }

    /// fsyncs and msyncs failed since arming.
    pub fn fired_syncs(&self) -> u64 {
        STATE.lock().fired_syncs
    }

    /// The call sites (`file:line`) of the failed fsyncs and msyncs, in order.
    pub fn failed_sync_sites(&self) -> Vec<String> {
        let p = STATE.lock();
        p.failed_syncs
            .iter()
            .map(|(f, l)| format!("{f}:{l}"))
            .collect()
    }

    /// Call sites (`file:line`) that performed a counted operation.
    pub fn sites_seen(&self) -> Vec<String> {
        let p = STATE.lock();
        p.seen.iter().map(|(f, l)| format!("{f}:{l}")).collect()
    }

    /// Call sites (`file:line`) whose operation was failed.
    pub fn sites_failed(&self) -> Vec<String> {
        let p = STATE.lock();
        p.failed.iter().map(|(f, l)| format!("{f}:{l}")).collect()
    }
}

impl Drop for FaultInjection {
    fn drop(&mut self) {
        ARMED.store(false, Ordering::SeqCst);
    }
}
