//! Crash safety of topic metadata: a child process creating, growing and deleting
//! topics is killed with SIGKILL at random instants; every reopen finds a consistent
//! set of topics (each whole, with the partition count its metadata says and no stray
//! partition directories), and acknowledged records of surviving topics intact.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use brooklet::{Broker, ProducerRecord, TopicConfig};

mod support;
use support::this_test_again;

const CHILD: &str = "BROOKLET_TOPIC_CRASH_CHILD";

fn child(dir: &str) {
    let b = Broker::open(dir).unwrap();
    let p = b.producer();
    let mut i: u64 = std::process::id() as u64;
    loop {
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let name = format!("t{}", (i >> 33) % 5);
        let op = (i >> 40) % 4;
        let _ = match op {
            0 => b.create_topic(
                &name,
                TopicConfig::new(1 + ((i >> 50) % 4) as u32).segment_bytes(64 * 1024),
            ),
            1 => b.delete_topic(&name),
            2 => b
                .partition_count(&name)
                .and_then(|n| b.create_partitions(&name, n + 1)),
            _ => p
                .send(ProducerRecord::new(name.clone()).value("x"))
                .map(|_| ()),
        };
        println!("op");
    }
}

fn check(dir: &std::path::Path) {
    let b = Broker::open(dir).unwrap_or_else(|e| panic!("reopen failed: {e}"));
    let topics = b.list_topics();
    for t in &topics {
        let d = b.describe_topic(t).unwrap();
        for p in &d.partitions {
            let log = b.partition_log(t, p.partition).unwrap();
            let mut off = 0;
            while off < log.log_end_offset() {
                let f = log.read(off, 1 << 20).unwrap();
                for r in f.records() {
                    assert_eq!(r.unwrap().value(), Some(&b"x"[..]));
                }
                off = f.next_offset();
            }
        }
        // No partition directory beyond the count.
        assert!(!dir.join(format!("{t}-{}", d.partitions.len())).exists());
    }
    // No directory of a topic that does not exist.
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some((t, p)) = name.rsplit_once('-')
            && p.parse::<u32>().is_ok()
        {
            assert!(topics.contains(&t.to_string()), "stray directory {name}");
        }
    }
    b.close().unwrap();
}

#[test]
fn killed_admin_process_reopens_consistent() {
    if let Ok(dir) = std::env::var(CHILD) {
        child(&dir);
        return;
    }
    let kills = if std::env::var_os("BROOKLET_STRESS").is_some() {
        300
    } else {
        25
    };
    let dir = tempfile::tempdir().unwrap();
    for k in 0..kills {
        let mut c = this_test_again("killed_admin_process_reopens_consistent", CHILD, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it do a random amount of work, then SIGKILL it.
        let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
        let target = 5 + (k * 37) % 120;
        for _ in 0..target {
            if lines.next().is_none() {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros((k as u64 * 131) % 700));
        c.kill().unwrap();
        c.wait().unwrap();
        check(dir.path());
    }
}
