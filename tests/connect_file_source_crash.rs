//! A file source killed mid-file (child process, SIGKILL) while the file is still
//! being written, and restarted again and again, writes every line of the file to its
//! topic exactly once, each partition in file order: source offsets are stored right
//! after each batch, and a batch cut short by a kill is recognised on restart.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use brooklet::connect::{ConnectorConfig, FileSource, Worker, transforms};
use brooklet::{Broker, ConsumerConfig, TopicConfig, TopicPartition};

mod support;
use support::this_test_again;

const CHILD: &str = "BROOKLET_CONNECT_CRASH_CHILD";
const PARTITIONS: u32 = 3;

fn config() -> ConnectorConfig {
    ConnectorConfig::new("tail")
        .batch_size(97)
        .poll_interval(Duration::from_millis(5))
        // Keys spread the lines over partitions, so a batch writes several of them.
        .transform(transforms::map(|mut r| {
            r.key = r.value.as_ref().map(|v| v[v.len() - 2..].to_vec());
            r
        }))
}

fn line(i: usize) -> String {
    format!("line-{i:08}")
}

fn append(path: &Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut s = String::new();
    for i in from..to {
        s.push_str(&line(i));
        s.push('\n');
    }
    f.write_all(s.as_bytes()).unwrap();
}

/// Every line in the topic, per partition, in offset order.
fn topic_lines(b: &Broker) -> BTreeMap<u32, Vec<String>> {
    let mut c = b.consumer(ConsumerConfig::new().max_poll_records(5000));
    let tps: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new("lines", p))
        .collect();
    c.assign(&tps).unwrap();
    c.seek_to_beginning(&[]).unwrap();
    let ends = c.end_offsets(&tps).unwrap();
    let mut out: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    while tps.iter().any(|tp| c.position(tp).unwrap() < ends[tp]) {
        for r in c.poll(Duration::from_millis(100)).unwrap().iter() {
            out.entry(r.partition())
                .or_default()
                .push(String::from_utf8(r.value().unwrap().to_vec()).unwrap());
        }
    }
    out
}

#[test]
fn killed_file_source_writes_every_line_once() {
    if let Ok(dir) = std::env::var(CHILD) {
        let dir = Path::new(&dir);
        let b = Broker::open(dir.join("data")).unwrap();
        let w = Worker::new(&b).unwrap();
        w.start_source(FileSource::new(dir.join("input.txt"), "lines"), config())
            .unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let stress = std::env::var_os("BROOKLET_STRESS").is_some();
    let (n, kills) = if stress { (300_000, 40) } else { (30_000, 8) };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    {
        let b = Broker::open(dir.path().join("data")).unwrap();
        b.create_topic("lines", TopicConfig::new(PARTITIONS))
            .unwrap();
        b.close().unwrap();
    }
    // Half the file exists up front; the rest is appended while the source runs.
    append(&input, 0, n / 2);
    let mut written = n / 2;
    let per_kill = (n - written) / kills;
    for k in 0..kills {
        let mut child = this_test_again(
            "killed_file_source_writes_every_line_once",
            CHILD,
            dir.path(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        for _ in 0..4 {
            append(&input, written, written + per_kill / 4);
            written += per_kill / 4;
            std::thread::sleep(Duration::from_millis(20 + (k as u64 * 37) % 60));
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    append(&input, written, n);
    // A last, clean run to the end of the file.
    let b = Broker::open(dir.path().join("data")).unwrap();
    let w = Worker::new(&b).unwrap();
    w.start_source(FileSource::new(&input, "lines"), config())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let total = || {
        b.describe_topic("lines")
            .unwrap()
            .partitions
            .iter()
            .map(|p| p.log_end_offset)
            .sum::<i64>()
    };
    while total() < n as i64 {
        let st = w.status("tail").unwrap();
        assert!(!st.has_failed(), "{st:?}");
        assert!(Instant::now() < deadline, "only {} of {n} lines", total());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let a duplicate, if the recovery wrote one, show up before checking.
    std::thread::sleep(Duration::from_millis(100));
    w.close();
    let parts = topic_lines(&b);
    let mut seen = vec![0u32; n];
    for (p, lines) in &parts {
        let mut last = None;
        for l in lines {
            let i: usize = l["line-".len()..].parse().unwrap();
            seen[i] += 1;
            assert!(last < Some(i), "partition {p}: {l} after line {last:?}");
            last = Some(i);
        }
    }
    let missing: Vec<usize> = (0..n).filter(|&i| seen[i] == 0).collect();
    let twice: Vec<usize> = (0..n).filter(|&i| seen[i] > 1).collect();
    assert!(
        missing.is_empty(),
        "lines never written: {:?}",
        &missing[..missing.len().min(10)]
    );
    assert!(
        twice.is_empty(),
        "lines written twice: {:?}",
        &twice[..twice.len().min(10)]
    );
    eprintln!("file source crash: {kills} kills, {n} lines, each written once");
}
