//! brooklet's compressed batches are Kafka's: kafka-python, an independent Kafka
//! implementation with its own codec modules, decodes batches brooklet compressed with
//! gzip, snappy, lz4 and zstd (at default and boundary levels, across snappy's 32 KiB
//! and LZ4's 64 KiB blocks), CRC checked, to the records brooklet was given.
//!
//! Runs where `python3` can import kafka-python and its codec modules (python-snappy,
//! lz4, zstandard). `.ci/run` installs them and sets `BROOKLET_REQUIRE_KAFKA_READER=1`,
//! which turns a missing reader into a failure.

mod support;

use std::process::Command;

use brooklet::format::{Compression, Header, RecordIn, TimestampType, encode_batch_compressed};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn reader_available() -> bool {
    support::kafka_python_available(
        "import kafka.record, kafka.codec as c; assert c.has_snappy() and c.has_lz4() and c.has_zstd()",
        "pip install kafka-python==3.0.12 python-snappy lz4 zstandard",
    )
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    support::json_field(line, name)
}

/// A record's key, value and timestamp, owned.
type Owned = (Option<Vec<u8>>, Option<Vec<u8>>, i64);

struct Want {
    codec: Compression,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: i64,
    headers: usize,
}

#[test]
fn kafka_python_decodes_brooklet_compressed_batches() {
    if !reader_available() {
        eprintln!(
            "skipped: kafka-python or its codec modules not installed (pip install kafka-python==3.0.12 python-snappy lz4 zstandard)"
        );
        return;
    }
    let headers = [
        Header::new("h", "v"),
        Header {
            key: "n".into(),
            value: None,
        },
    ];
    let (mut file, mut scratch, mut want) = (Vec::new(), Vec::new(), Vec::new());
    let mut offset = 0i64;
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut levels = vec![None];
        if let Some(r) = codec.level_range() {
            levels.extend([Some(*r.start()), Some(*r.end())]);
        }
        for level in levels {
            // One small batch, one of ~150 KB (several snappy and LZ4 blocks).
            for (n, size) in [(3usize, 40usize), (50, 3_000)] {
                let owned: Vec<Owned> = (0..n)
                    .map(|i| {
                        let key = (i % 4 != 1).then(|| format!("{codec}-{i}").into_bytes());
                        let value = (i % 9 != 4).then(|| {
                            (0..size)
                                .map(|j| ((j * 31 + i * 7) % 53) as u8 + 40)
                                .collect()
                        });
                        (key, value, 1_700_000_000_000 + offset + i as i64)
                    })
                    .collect();
                let ins: Vec<RecordIn> = owned
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v, ts))| RecordIn {
                        key: k.as_deref(),
                        value: v.as_deref(),
                        timestamp: *ts,
                        headers: if i % 3 == 0 { &headers } else { &[] },
                    })
                    .collect();
                encode_batch_compressed(
                    &mut file,
                    &mut scratch,
                    offset,
                    TimestampType::CreateTime,
                    &ins,
                    codec,
                    level,
                )
                .unwrap();
                for (i, (k, v, ts)) in owned.into_iter().enumerate() {
                    want.push(Want {
                        codec,
                        key: k,
                        value: v,
                        timestamp: ts,
                        headers: if i % 3 == 0 { 2 } else { 0 },
                    });
                }
                offset += n as i64;
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compressed.log");
    std::fs::write(&path, &file).unwrap();
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kafka_compat/read_compressed.py"
        ))
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kafka-python rejected our compressed batches: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), want.len(), "record count");
    for (i, (line, w)) in lines.iter().zip(&want).enumerate() {
        assert_eq!(field(line, "codec"), w.codec.name(), "{line}");
        assert_eq!(field(line, "offset"), i.to_string(), "{line}");
        assert_eq!(field(line, "crc_ok"), "true");
        assert_eq!(field(line, "timestamp"), w.timestamp.to_string());
        let want_key = w.key.as_deref().map_or("null".to_string(), hex);
        let want_val = w.value.as_deref().map_or("null".to_string(), hex);
        assert_eq!(field(line, "key"), want_key, "{line}");
        assert_eq!(field(line, "value"), want_val, "record {i}");
        assert_eq!(
            line.contains("[[\"h\", \"76\"], [\"n\", null]]"),
            w.headers == 2,
            "{line}"
        );
    }
}

/// The segments a broker writes through the producer with each codec (one-record
/// batches from `send`, many-record ones from `send_batch`) are Kafka's: kafka-python
/// reads each `.log` file, record for record.
#[test]
fn kafka_python_reads_segments_brooklet_wrote_with_each_codec() {
    use brooklet::format::BatchHeader;
    use brooklet::{Broker, ProducerConfig, ProducerRecord, TopicConfig};
    if !reader_available() {
        eprintln!(
            "skipped: kafka-python or its codec modules not installed (pip install kafka-python==3.0.12 python-snappy lz4 zstandard)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path()).unwrap();
    let value =
        |i: usize| format!("record {i} of a segment, text that compresses well").repeat(i % 5 + 1);
    for codec in Compression::ALL {
        let topic = format!("t-{codec}");
        b.create_topic(&topic, TopicConfig::new(1)).unwrap();
        let p = b.producer_with(ProducerConfig::new().compression(codec));
        for i in 0..3 {
            p.send(
                ProducerRecord::new(&topic)
                    .key(format!("k{i}"))
                    .value(value(i))
                    .timestamp(1_000 + i as i64),
            )
            .unwrap();
        }
        p.send_batch((3..40).map(|i| {
            ProducerRecord::new(&topic)
                .key(format!("k{i}"))
                .value(value(i))
                .timestamp(1_000 + i as i64)
                .header("h", "v")
        }))
        .unwrap();
    }
    b.close().unwrap();
    for codec in Compression::ALL {
        // The segment up to its zero tail (the active segment is preallocated).
        let seg = dir
            .path()
            .join(format!("t-{codec}-0"))
            .join(format!("{:020}.log", 0));
        let bytes = std::fs::read(&seg).unwrap();
        let mut end = 0;
        while let Ok(h) = BatchHeader::parse(&bytes[end..]) {
            end += h.total_len();
        }
        let path = dir.path().join(format!("{codec}.log"));
        std::fs::write(&path, &bytes[..end]).unwrap();
        let out = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/kafka_compat/read_compressed.py"
            ))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kafka-python rejected brooklet's {codec} segment: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 40, "{codec}");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(field(line, "codec"), codec.name(), "{line}");
            assert_eq!(field(line, "offset"), i.to_string(), "{line}");
            assert_eq!(field(line, "crc_ok"), "true", "{line}");
            assert_eq!(field(line, "timestamp"), (1_000 + i).to_string(), "{line}");
            assert_eq!(
                field(line, "key"),
                hex(format!("k{i}").as_bytes()),
                "{line}"
            );
            assert_eq!(field(line, "value"), hex(value(i).as_bytes()), "{line}");
            assert_eq!(line.contains("[[\"h\", \"76\"]]"), i >= 3, "{line}");
        }
    }
}
