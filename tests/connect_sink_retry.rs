//! A sink whose tasks fail half-way (a `put` that errors after taking half its batch,
//! a `flush` that loses its buffer) is retried until every record is flushed, and the
//! offsets its group commits never pass what it had flushed: checked before every
//! `put` and `flush`, and at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brooklet::connect::{
    ConnectorConfig, SinkConnector, SinkRecord, SinkTask, SinkTaskContext, Worker,
};
use brooklet::{Broker, Error, ProducerRecord, TopicConfig};

const GROUP: &str = "connect-flaky";

#[derive(Default)]
struct State {
    /// Per partition, every offset flushed (possibly more than once).
    flushed: BTreeMap<u32, BTreeSet<i64>>,
    /// Per partition, the length of the flushed prefix `0..n` with no hole.
    prefix: BTreeMap<u32, i64>,
    flushed_total: u64,
    put_calls: u64,
    flush_calls: u64,
    put_failures: u64,
    flush_failures: u64,
    violations: Vec<String>,
}

struct Flaky {
    broker: Broker,
    state: Arc<Mutex<State>>,
}

struct FlakyTask {
    broker: Broker,
    state: Arc<Mutex<State>>,
    staged: Vec<(u32, i64)>,
}

impl SinkConnector for Flaky {
    fn tasks(&mut self, max: usize) -> brooklet::Result<Vec<Box<dyn SinkTask>>> {
        Ok((0..max)
            .map(|_| {
                Box::new(FlakyTask {
                    broker: self.broker.clone(),
                    state: Arc::clone(&self.state),
                    staged: Vec::new(),
                }) as Box<dyn SinkTask>
            })
            .collect())
    }
}

impl FlakyTask {
    /// Every committed offset must be covered by flushed records.
    fn check(&self, st: &mut State, when: &str) {
        for o in self.broker.list_group_offsets(GROUP).unwrap() {
            let prefix = st
                .prefix
                .get(&o.partition.partition())
                .copied()
                .unwrap_or(0);
            if o.committed > prefix {
                st.violations.push(format!(
                    "{when}: {} committed at {} beyond what was flushed",
                    o.partition, o.committed
                ));
            }
        }
    }
}

impl SinkTask for FlakyTask {
    fn put(&mut self, records: &[SinkRecord], _: &mut SinkTaskContext) -> brooklet::Result<()> {
        let mut st = self.state.lock().unwrap();
        self.check(&mut st, "put");
        st.put_calls += 1;
        let fail = st.put_calls % 7 == 3;
        let take = if fail {
            records.len() / 2
        } else {
            records.len()
        };
        self.staged.extend(
            records[..take]
                .iter()
                .map(|r| (r.source.partition(), r.offset())),
        );
        if fail {
            st.put_failures += 1;
            return Err(Error::InvalidArgument("put failed half-way".into()));
        }
        Ok(())
    }

    fn flush(&mut self) -> brooklet::Result<()> {
        let mut st = self.state.lock().unwrap();
        self.check(&mut st, "flush");
        st.flush_calls += 1;
        if st.flush_calls % 4 == 2 {
            // The buffer is lost with the failure.
            self.staged.clear();
            st.flush_failures += 1;
            return Err(Error::InvalidArgument("flush failed".into()));
        }
        for (p, o) in self.staged.drain(..) {
            st.flushed.entry(p).or_default().insert(o);
            st.flushed_total += 1;
        }
        let State {
            flushed, prefix, ..
        } = &mut *st;
        for (p, set) in flushed.iter() {
            let n = prefix.entry(*p).or_insert(0);
            while set.contains(n) {
                *n += 1;
            }
        }
        Ok(())
    }
}

#[test]
fn failing_sink_is_retried_and_commits_only_what_it_flushed() {
    let stress = std::env::var_os("BROOKLET_STRESS").is_some();
    let n: i64 = if stress { 200_000 } else { 6_000 };
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    b.create_topic("in", TopicConfig::new(3)).unwrap();
    let p = b.producer();
    p.send_batch((0..n).map(|i| {
        ProducerRecord::new("in")
            .key(format!("k{i}"))
            .value(i.to_string())
    }))
    .unwrap();

    let state = Arc::new(Mutex::new(State::default()));
    let w = Worker::new(&b).unwrap();
    w.start_sink(
        Flaky {
            broker: b.clone(),
            state: Arc::clone(&state),
        },
        ConnectorConfig::new("flaky")
            .topics(&["in"])
            .tasks_max(2)
            .batch_size(100)
            .max_retries(5)
            .retry_backoff(Duration::from_millis(1))
            .offset_flush_interval(Duration::from_millis(2)),
    )
    .unwrap();

    let committed = || -> i64 {
        b.list_group_offsets(GROUP)
            .unwrap()
            .iter()
            .map(|o| o.committed)
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed() < n {
        let st = w.status("flaky").unwrap();
        assert!(!st.has_failed(), "{st:?}");
        assert!(
            Instant::now() < deadline,
            "committed {} of {n}",
            committed()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    w.close();

    let st = state.lock().unwrap();
    assert!(st.violations.is_empty(), "{:#?}", st.violations);
    assert!(
        st.put_failures > 0 && st.flush_failures > 0,
        "no failure was injected"
    );
    for p in 0..3 {
        let end = b.partition_log("in", p).unwrap().log_end_offset();
        let flushed = st.flushed.get(&p).map_or(0, BTreeSet::len) as i64;
        assert_eq!(flushed, end, "partition {p}: every record flushed");
    }
    for o in b.list_group_offsets(GROUP).unwrap() {
        assert_eq!(o.lag, 0, "{}", o.partition);
    }
    let status = w.status("flaky").unwrap();
    let retries: u64 = status.tasks.iter().map(|t| t.retries).sum();
    assert!(retries >= st.put_failures, "{status:?}");
    eprintln!(
        "sink retry: {n} records, {} puts ({} failed), {} flushes ({} failed), {} flushed incl. {} again",
        st.put_calls,
        st.put_failures,
        st.flush_calls,
        st.flush_failures,
        st.flushed_total,
        st.flushed_total - n as u64
    );
}
