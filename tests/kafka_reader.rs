//! Segment files are plain Kafka RecordBatch v2: kafka-python, an independent Kafka
//! implementation, decodes every batch brooklet wrote (CRC checked), with the same
//! offsets, keys, values, headers and timestamps, across rolled, closed and still-open
//! (zero-tailed) segments.
//!
//! Runs where `python3` can import `kafka` (kafka-python). `.ci/run` installs it and
//! sets `BROOKLET_REQUIRE_KAFKA_READER=1`, which turns a missing reader into a failure.

mod support;

use std::process::Command;

use brooklet::format::{Header, RecordIn};
use brooklet::storage::{LogConfig, PartitionLog};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn reader_available() -> bool {
    support::kafka_python_available("import kafka.record", "pip install kafka-python==3.0.12")
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    support::json_field(line, name)
}

#[test]
fn kafka_python_decodes_brooklet_segments() {
    if !reader_available() {
        eprintln!("skipped: kafka-python not installed (pip install kafka-python==3.0.12)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 16 * 1024,
        index_interval_bytes: 512,
        ..LogConfig::default()
    };
    let closed = PartitionLog::open(dir.path().join("closed-0"), cfg.clone()).unwrap();
    let open = PartitionLog::open(dir.path().join("open-0"), cfg).unwrap();
    let mut expected = Vec::new();
    for i in 0..400u32 {
        let key = (i % 3 != 0).then(|| format!("k{i}").into_bytes());
        let value = (i % 17 != 5).then(|| vec![(i % 251) as u8; (i as usize * 7) % 300]);
        let headers = if i % 4 == 0 {
            vec![
                Header::new("h", vec![i as u8]),
                Header {
                    key: "n".into(),
                    value: None,
                },
            ]
        } else {
            vec![]
        };
        let ts = 1_700_000_000_000 + i as i64;
        let r = RecordIn {
            key: key.as_deref(),
            value: value.as_deref(),
            timestamp: ts,
            headers: &headers,
        };
        // Batches of varying sizes: one record, or several.
        let n = if i % 5 == 0 { 1 } else { 3 };
        for log in [&closed, &open] {
            let recs: Vec<RecordIn> = std::iter::repeat_n(r, n).collect();
            log.append(&recs).unwrap();
        }
        for _ in 0..n {
            expected.push((key.clone(), value.clone(), ts, headers.len()));
        }
    }
    closed.close().unwrap();
    assert!(closed.segment_count() > 3);
    // `open` stays open: its active segment still has its preallocated zero tail.
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kafka_compat/read_segments.py"
        ))
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kafka-python rejected our files: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    for name in ["closed-0", "open-0"] {
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains(&format!("/{name}/")))
            .collect();
        assert_eq!(lines.len(), expected.len(), "{name}: record count");
        for (i, (line, (key, value, ts, nh))) in lines.iter().zip(&expected).enumerate() {
            assert_eq!(field(line, "offset"), i.to_string(), "{line}");
            assert_eq!(field(line, "crc_ok"), "true");
            assert_eq!(field(line, "timestamp"), ts.to_string());
            let want_key = key.as_deref().map_or("null".to_string(), hex);
            let want_val = value.as_deref().map_or("null".to_string(), hex);
            assert_eq!(field(line, "key"), want_key, "{line}");
            assert_eq!(field(line, "value"), want_val, "{line}");
            assert_eq!(line.contains("[[\"h\""), *nh > 0, "{line}");
        }
    }
}
