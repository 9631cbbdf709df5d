//! Helpers shared by the scenario tests (`mod support;` in each test that uses them):
//! reading a topic back through a consumer, waiting for a condition, re-running the
//! test binary as a child to kill, a seeded generator, hex fixtures.
// Each test crate compiles its own copy and uses part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::process::Command;
use std::time::{Duration, Instant};

use brooklet::{Broker, ConsumerConfig, OwnedConsumerRecord, TopicPartition};

/// Every record of `topic`'s partition `p`, from the log start, in offset order.
pub fn read_partition(b: &Broker, topic: &str, p: u32) -> Vec<OwnedConsumerRecord> {
    read(b, &[TopicPartition::new(topic, p)])
}

/// Every record of every partition of `topic`, from each log start.
pub fn read_topic(b: &Broker, topic: &str) -> Vec<OwnedConsumerRecord> {
    let tps: Vec<TopicPartition> = (0..b.partition_count(topic).unwrap())
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    read(b, &tps)
}

/// Polls a group-less consumer assigned `tps` from their beginnings until a poll
/// returns nothing (reads are local, so that is the log end).
fn read(b: &Broker, tps: &[TopicPartition]) -> Vec<OwnedConsumerRecord> {
    let mut c = b.consumer(ConsumerConfig::new().max_poll_records(5000));
    c.assign(tps).unwrap();
    c.seek_to_beginning(&[]).unwrap();
    let mut out = Vec::new();
    loop {
        let r = c.poll(Duration::ZERO).unwrap();
        if r.is_empty() {
            return out;
        }
        out.extend(r.iter().map(|r| r.to_owned()));
    }
}

/// Waits until `done` returns true, checking every 5 ms; panics naming `what` after
/// 30 s (a bound for slow machines, not a timing assertion).
pub fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let timeout = Duration::from_secs(30);
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// This test binary again, running only the test named `test` (one thread, output not
/// captured), with `var=value` in its environment: the child side of a crash test,
/// which the parent kills. The caller sets stdout / stderr and spawns it.
pub fn this_test_again(test: &str, var: &str, value: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(var, value);
    c
}

/// SplitMix64: small, seedable, good enough to pick sizes, delays and damage, so a
/// failure can be replayed from its seed.
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose state starts at `state`.
    pub fn new(state: u64) -> Self {
        SplitMix64(state)
    }

    /// Seeded from `BROOKLET_SEED` when set, else from the clock and the process id;
    /// returns the seed too, for the failure message.
    pub fn from_env_or_clock() -> (Self, u64) {
        let seed = std::env::var("BROOKLET_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    ^ u64::from(std::process::id())
            });
        (SplitMix64(seed), seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, n)`.
    pub fn below_u64(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The bytes of a hex string (fixtures).
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{s:?}: {e}")))
        .collect()
}

/// Copies the directory tree `from` into `to` (a crash image when `from` is open, or a
/// committed fixture into a scratch directory).
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// Whether `python3 -c <check>` succeeds, i.e. kafka-python (and whatever `check`
/// imports) is there. Under `BROOKLET_REQUIRE_KAFKA_READER` (set by `.ci/run`) a
/// missing reader panics with `install` as the hint instead of skipping.
pub fn kafka_python_available(check: &str, install: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", check])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok && std::env::var_os("BROOKLET_REQUIRE_KAFKA_READER").is_some() {
        panic!("BROOKLET_REQUIRE_KAFKA_READER is set but `python3 -c '{check}'` fails ({install})");
    }
    ok
}

/// The value of field `name` in one line of flat JSON that the kafka-python reader
/// scripts print (strings unquoted).
pub fn json_field<'a>(line: &'a str, name: &str) -> &'a str {
    let pat = format!("\"{name}\": ");
    let start = line
        .find(&pat)
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        + pat.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"')
}
