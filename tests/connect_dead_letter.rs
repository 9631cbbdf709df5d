//! The error policy: under `errors_tolerance = all` a bad record (a failing transform,
//! a record the sink reports, a line of a JSON Lines file that is not JSON) goes to the
//! dead-letter topic with headers saying why, and the connector keeps going; under
//! `none` the task stops at it, and its group commits nothing past it.

use std::collections::BTreeMap;
use std::time::Duration;

use brooklet::connect::{
    ConnectorConfig, ErrorTolerance, FileFormat, FileSink, FileSource, TaskState, Worker,
    transforms,
};
use brooklet::{Broker, OwnedConsumerRecord, ProducerRecord, TopicConfig};

mod support;
use support::{read_topic, wait};

fn header<'a>(r: &'a OwnedConsumerRecord, key: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| std::str::from_utf8(h.value.as_deref()?).ok())
}

/// Orders as JSON; #3 is not JSON (the key transform fails) and #6 holds a line break
/// (the file sink reports it).
fn orders(b: &Broker) {
    b.create_topic("orders", TopicConfig::new(1)).unwrap();
    let p = b.producer();
    for i in 0..10 {
        let v = match i {
            3 => "{oops".to_string(),
            6 => "{\"id\":6,\n\"note\":\"two lines\"}".to_string(),
            _ => format!("{{\"id\":{i}}}"),
        };
        p.send(ProducerRecord::new("orders").value(v)).unwrap();
    }
}

fn sink_config(name: &str) -> ConnectorConfig {
    ConnectorConfig::new(name)
        .topics(&["orders"])
        .transform(transforms::key_from_field("id"))
        .offset_flush_interval(Duration::from_millis(5))
}

#[test]
fn bad_sink_records_go_to_the_dead_letter_topic_and_the_sink_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path().join("data")).unwrap();
    orders(&b);
    b.create_topic("orders-dlq", TopicConfig::new(1)).unwrap();
    let out = dir.path().join("orders.jsonl");
    let w = Worker::new(&b).unwrap();
    w.start_sink(
        FileSink::new(&out),
        sink_config("orders-file")
            .errors_tolerance(ErrorTolerance::All)
            .dead_letter_topic("orders-dlq"),
    )
    .unwrap();
    wait("all orders committed", || {
        b.list_group_offsets("connect-orders-file")
            .unwrap()
            .iter()
            .map(|o| o.committed)
            .sum::<i64>()
            == 10
    });
    let status = w.status("orders-file").unwrap();
    w.close();
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let want: Vec<String> = (0..10)
        .filter(|i| *i != 3 && *i != 6)
        .map(|i| format!("{{\"id\":{i}}}"))
        .collect();
    assert_eq!(lines, want);
    assert_eq!(status.tasks[0].skipped, 2, "{status:?}");
    assert_eq!(status.tasks[0].state, TaskState::Running);

    let dead = read_topic(&b, "orders-dlq");
    assert_eq!(dead.len(), 2);
    let by_offset: BTreeMap<&str, &OwnedConsumerRecord> = dead
        .iter()
        .map(|r| (header(r, "__connect.errors.offset").unwrap(), r))
        .collect();
    let bad_json = by_offset["3"];
    assert_eq!(
        bad_json.value.as_deref(),
        Some(&b"{oops"[..]),
        "the original record"
    );
    assert_eq!(
        header(bad_json, "__connect.errors.stage"),
        Some("TRANSFORMATION")
    );
    assert_eq!(header(bad_json, "__connect.errors.topic"), Some("orders"));
    assert_eq!(header(bad_json, "__connect.errors.partition"), Some("0"));
    assert_eq!(
        header(bad_json, "__connect.errors.connector.name"),
        Some("orders-file")
    );
    assert!(
        header(bad_json, "__connect.errors.exception.message")
            .unwrap()
            .contains("not JSON")
    );
    let two_lines = by_offset["6"];
    assert_eq!(
        header(two_lines, "__connect.errors.stage"),
        Some("TASK_PUT")
    );
    assert!(
        header(two_lines, "__connect.errors.exception.message")
            .unwrap()
            .contains("line break")
    );
}

#[test]
fn without_tolerance_the_task_stops_at_the_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open(dir.path().join("data")).unwrap();
    orders(&b);
    let w = Worker::new(&b).unwrap();
    w.start_sink(
        FileSink::new(dir.path().join("out.jsonl")),
        sink_config("strict"),
    )
    .unwrap();
    wait("the task to fail", || {
        w.status("strict").unwrap().has_failed()
    });
    let status = w.status("strict").unwrap();
    let err = status.tasks[0].error.clone().unwrap();
    assert!(err.contains("orders-0@3"), "{err}");
    for o in b.list_group_offsets("connect-strict").unwrap() {
        assert!(
            o.committed <= 3,
            "committed {} past the bad record",
            o.committed
        );
    }
    // A restart meets the same record again and fails the same way.
    w.restart("strict").unwrap();
    wait("the task to fail again", || {
        w.status("strict").unwrap().has_failed()
    });
    w.close();
}

#[test]
fn bad_lines_of_a_json_lines_file_go_to_the_dead_letter_topic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, "{\"a\":1}\n\nnot json\n{\"a\":2}\n").unwrap();
    let b = Broker::open(dir.path().join("data")).unwrap();
    b.create_topic("events", TopicConfig::new(1)).unwrap();
    b.create_topic("events-dlq", TopicConfig::new(1)).unwrap();
    let w = Worker::new(&b).unwrap();
    w.start_source(
        FileSource::new(&file, "events").format(FileFormat::JsonLines),
        ConnectorConfig::new("events-in")
            .errors_tolerance(ErrorTolerance::All)
            .dead_letter_topic("events-dlq"),
    )
    .unwrap();
    wait("the good lines", || read_topic(&b, "events").len() == 2);
    wait("the dead letter", || {
        read_topic(&b, "events-dlq").len() == 1
    });
    // The offset moved past the bad line, so a restart does not meet it again.
    w.restart("events-in").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    w.close();
    let good: Vec<Vec<u8>> = read_topic(&b, "events")
        .into_iter()
        .filter_map(|r| r.value)
        .collect();
    assert_eq!(good, [b"{\"a\":1}".to_vec(), b"{\"a\":2}".to_vec()]);
    let dead = read_topic(&b, "events-dlq");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(&b"not json"[..]));
    assert_eq!(
        header(&dead[0], "__connect.errors.stage"),
        Some("VALUE_CONVERTER")
    );
}
