//! A model test: random sequences of append / read / roll / close / reopen against a
//! plain `Vec` of records agree at every step, including offsets and timestamps.

use brooklet::format::{Header, RecordIn};
use brooklet::storage::{FlushPolicy, LogConfig, PartitionLog};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq)]
struct Rec {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    ts: i64,
    headers: Vec<Header>,
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<Rec>),
    Read { at: usize, max_bytes: usize },
    Roll,
    Flush,
    Reopen,
    TimeLookup(i64),
}

fn arb_rec() -> impl Strategy<Value = Rec> {
    (
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        0i64..10_000,
        proptest::collection::vec(
            (
                "[a-z]{1,4}",
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
            ),
            0..2,
        ),
    )
        .prop_map(|(key, value, ts, hs)| Rec {
            key,
            value,
            ts,
            headers: hs
                .into_iter()
                .map(|(k, v)| Header { key: k, value: v })
                .collect(),
        })
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => proptest::collection::vec(arb_rec(), 1..12).prop_map(Op::Append),
        4 => (any::<usize>(), 1usize..3000).prop_map(|(at, max_bytes)| Op::Read { at, max_bytes }),
        1 => Just(Op::Roll),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
        1 => (0i64..11_000).prop_map(Op::TimeLookup),
    ]
}

fn config() -> LogConfig {
    LogConfig {
        // Small segments and index intervals so rolls and index entries happen often.
        segment_bytes: 8 * 1024,
        index_interval_bytes: 256,
        flush: FlushPolicy::Os,
        ..LogConfig::default()
    }
}

fn check_read(log: &PartitionLog, model: &[Rec], at: usize, max_bytes: usize) {
    let end = model.len();
    let offset = at % (end + 1);
    let fetched = log.read(offset as i64, max_bytes).unwrap();
    if offset == end {
        assert!(fetched.is_empty());
        return;
    }
    let got: Vec<_> = fetched.records().map(|r| r.unwrap()).collect();
    assert!(
        !got.is_empty(),
        "read at {offset} of {end} returned nothing"
    );
    assert_eq!(fetched.next_offset(), got.last().unwrap().offset() + 1);
    for (i, r) in got.iter().enumerate() {
        let want = &model[offset + i];
        assert_eq!(r.offset(), (offset + i) as i64);
        assert_eq!(r.key(), want.key.as_deref());
        assert_eq!(r.value(), want.value.as_deref());
        assert_eq!(r.timestamp(), want.ts);
        let hs: Vec<_> = r
            .headers()
            .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
            .collect();
        let want_hs: Vec<_> = want
            .headers
            .iter()
            .map(|h| (h.key.as_bytes().to_vec(), h.value.clone()))
            .collect();
        assert_eq!(hs, want_hs);
    }
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model-0");
    let mut log = PartitionLog::open(&path, config()).unwrap();
    let mut model: Vec<Rec> = Vec::new();
    for op in ops {
        match op {
            Op::Append(recs) => {
                let ins: Vec<RecordIn> = recs
                    .iter()
                    .map(|r| RecordIn {
                        key: r.key.as_deref(),
                        value: r.value.as_deref(),
                        timestamp: r.ts,
                        headers: &r.headers,
                    })
                    .collect();
                let info = log.append(&ins).unwrap();
                assert_eq!(info.base_offset, model.len() as i64);
                assert_eq!(info.last_offset, (model.len() + recs.len() - 1) as i64);
                model.extend(recs);
            }
            Op::Read { at, max_bytes } => check_read(&log, &model, at, max_bytes),
            Op::Roll => log.roll().unwrap(),
            Op::Flush => {
                log.flush().unwrap();
                assert_eq!(log.durable_offset(), model.len() as i64);
            }
            Op::Reopen => {
                log.close().unwrap();
                drop(log);
                log = PartitionLog::open(&path, config()).unwrap();
                assert!(log.recovery_report().clean_shutdown);
                assert_eq!(log.recovery_report().truncated_bytes, 0);
            }
            Op::TimeLookup(ts) => {
                let want = model
                    .iter()
                    .enumerate()
                    .find(|(_, r)| r.ts >= ts)
                    .map(|(i, r)| (i as i64, r.ts));
                assert_eq!(
                    log.offset_for_timestamp(ts).unwrap(),
                    want,
                    "offset_for_timestamp({ts})"
                );
            }
        }
        assert_eq!(log.log_end_offset(), model.len() as i64);
        assert_eq!(log.log_start_offset(), 0);
    }
    // A final full scan agrees record for record.
    let mut offset = 0;
    while (offset as usize) < model.len() {
        let f = log.read(offset, 4096).unwrap();
        check_read(&log, &model, offset as usize, 4096);
        offset = f.next_offset();
    }
}

fn cases() -> u32 {
    if std::env::var_os("BROOKLET_STRESS").is_some() {
        2000
    } else {
        48
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]
    #[test]
    fn log_agrees_with_vec_model(ops in proptest::collection::vec(arb_op(), 1..60)) {
        run(ops);
    }
}

#[test]
fn unclean_reopen_keeps_everything_appended() {
    // Dropping the process without close() is simulated by reopening from a copy of the
    // files taken while the log is open (the page cache holds what was appended).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t-0");
    let log = PartitionLog::open(&path, config()).unwrap();
    let mut n = 0;
    for i in 0..500u32 {
        let v = i.to_be_bytes();
        log.append(&[RecordIn {
            key: None,
            value: Some(&v),
            timestamp: i as i64,
            headers: &[],
        }])
        .unwrap();
        n += 1;
    }
    let copy = dir.path().join("copy-0");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(&path).unwrap() {
        let e = e.unwrap();
        // A temp file renamed by the background thread meanwhile is not in the image.
        match std::fs::copy(e.path(), copy.join(e.file_name())) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => panic!("{err}"),
        }
    }
    let reopened = PartitionLog::open(&copy, config()).unwrap();
    assert!(!reopened.recovery_report().clean_shutdown);
    assert_eq!(reopened.log_end_offset(), n);
    assert!(reopened.segment_count() > 1);
    let mut offset = 0;
    let mut seen = 0u32;
    while offset < n {
        let f = reopened.read(offset, 1 << 16).unwrap();
        for r in f.records() {
            let r = r.unwrap();
            assert_eq!(r.value().unwrap(), seen.to_be_bytes());
            seen += 1;
        }
        offset = f.next_offset();
    }
    assert_eq!(seen as i64, n);
    // And appends continue densely after recovery.
    let info = reopened
        .append(&[RecordIn {
            key: None,
            value: Some(b"x"),
            timestamp: 0,
            headers: &[],
        }])
        .unwrap();
    assert_eq!(info.base_offset, n);
}
