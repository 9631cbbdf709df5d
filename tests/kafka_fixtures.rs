//! Proves brooklet's codec agrees with an independent Kafka implementation: it decodes batches written by kafka-python's builder to exactly the records kafka-python was given, uncompressed and with each of gzip, snappy (xerial and raw), lz4 and zstd, and its murmur2 partitioner matches kafka-python's (and Kafka's Java) hash for every committed vector.
//!
//! The fixtures come from `tests/kafka_compat/make_batches.py`,
//! `tests/kafka_compat/make_compressed_batches.py` and
//! `tests/kafka_compat/make_murmur2_vectors.py`; see `tests/kafka_compat/README.md`.
//! The 89-byte golden batch is covered by the unit tests in `src/format/batch.rs`.

use std::path::{Path, PathBuf};

use brooklet::format::murmur2::{murmur2, partition_for_key};
use brooklet::format::{Batch, Compression, TimestampType};

mod support;
use support::unhex;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

// ---------------------------------------------------------------------------
// A minimal JSON reader: enough for the fixture (objects, arrays, strings with
// `\uXXXX` escapes and surrogate pairs, integers, true/false/null). It rejects
// anything else loudly rather than guessing.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("missing field {key:?} in {self:?}")),
            _ => panic!("not an object: {self:?}"),
        }
    }
    fn int(&self) -> i64 {
        match self {
            Json::Int(i) => *i,
            _ => panic!("not an integer: {self:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array: {self:?}"),
        }
    }
    /// A hex string, or `null`.
    fn hex_or_null(&self) -> Option<Vec<u8>> {
        match self {
            Json::Null => None,
            Json::Str(s) => Some(unhex(s)),
            _ => panic!("not hex or null: {self:?}"),
        }
    }
}

struct JsonReader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl JsonReader<'_> {
    fn parse(text: &str) -> Json {
        let mut r = JsonReader {
            b: text.as_bytes(),
            pos: 0,
        };
        let v = r.value();
        r.ws();
        assert_eq!(r.pos, r.b.len(), "trailing bytes after JSON value");
        v
    }

    fn fail(&self, what: &str) -> ! {
        panic!("JSON: {what} at byte {}", self.pos)
    }

    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> u8 {
        self.ws();
        match self.b.get(self.pos) {
            Some(&c) => c,
            None => self.fail("unexpected end"),
        }
    }

    fn expect(&mut self, c: u8) {
        if self.peek() != c {
            self.fail(&format!("expected {:?}", c as char));
        }
        self.pos += 1;
    }

    fn literal(&mut self, word: &str, v: Json) -> Json {
        if !self.b[self.pos..].starts_with(word.as_bytes()) {
            self.fail(&format!("expected {word}"));
        }
        self.pos += word.len();
        v
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.pos += 1;
                let mut fields = Vec::new();
                if self.peek() == b'}' {
                    self.pos += 1;
                    return Json::Obj(fields);
                }
                loop {
                    let k = self.string();
                    self.expect(b':');
                    fields.push((k, self.value()));
                    match self.peek() {
                        b',' => self.pos += 1,
                        b'}' => {
                            self.pos += 1;
                            return Json::Obj(fields);
                        }
                        _ => self.fail("expected ',' or '}'"),
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.peek() == b']' {
                    self.pos += 1;
                    return Json::Arr(items);
                }
                loop {
                    items.push(self.value());
                    match self.peek() {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            return Json::Arr(items);
                        }
                        _ => self.fail("expected ',' or ']'"),
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                self.pos += 1;
                while self.pos < self.b.len() && self.b[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
                if matches!(self.b.get(self.pos), Some(b'.' | b'e' | b'E')) {
                    self.fail("non-integer numbers are not supported");
                }
                let s = std::str::from_utf8(&self.b[start..self.pos]).unwrap();
                Json::Int(s.parse().unwrap_or_else(|_| self.fail("bad integer")))
            }
            _ => self.fail("unexpected character"),
        }
    }

    fn hex4(&mut self) -> u32 {
        let Some(h) = self.b.get(self.pos..self.pos + 4) else {
            self.fail("truncated \\u escape")
        };
        let h = std::str::from_utf8(h).unwrap_or_else(|_| self.fail("bad \\u escape"));
        let v = u32::from_str_radix(h, 16).unwrap_or_else(|_| self.fail("bad \\u escape"));
        self.pos += 4;
        v
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                self.fail("unterminated string")
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.b.get(self.pos) else {
                        self.fail("truncated escape")
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4();
                            let cp = if (0xd800..0xdc00).contains(&hi) {
                                if !self.b[self.pos..].starts_with(b"\\u") {
                                    self.fail("lone high surrogate");
                                }
                                self.pos += 2;
                                let lo = self.hex4();
                                if !(0xdc00..0xe000).contains(&lo) {
                                    self.fail("bad low surrogate");
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(cp).unwrap_or_else(|| self.fail("bad code point"))
                        }
                        _ => self.fail("unknown escape"),
                    };
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                c if c < 0x20 => self.fail("control character in string"),
                c => out.push(c),
            }
        }
        String::from_utf8(out).unwrap_or_else(|_| self.fail("string is not UTF-8"))
    }
}

#[test]
fn json_reader_handles_the_escapes_the_fixture_uses() {
    let v = JsonReader::parse(
        r#" [ {"a": "\u043a\u30ad\ud83d\ude80\"\\", "b": null, "c": [-12, true, false], "d": {}} ] "#,
    );
    let o = &v.arr()[0];
    assert_eq!(o.get("a").str(), "к\u{30ad}🚀\"\\");
    assert_eq!(*o.get("b"), Json::Null);
    assert_eq!(
        o.get("c").arr(),
        &[Json::Int(-12), Json::Bool(true), Json::Bool(false)]
    );
    assert_eq!(*o.get("d"), Json::Obj(vec![]));
}

// ---------------------------------------------------------------------------
// (a) kafka-python's batches
// ---------------------------------------------------------------------------

/// One record as the fixture JSON describes it.
#[derive(Debug, PartialEq)]
struct Expected {
    batch_base_offset: i64,
    offset: i64,
    timestamp: i64,
    timestamp_type: TimestampType,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn expected_records() -> Vec<Expected> {
    expected_records_of("kafka_python_batches")
}

/// The records of fixture `<name>.json`, which describes `<name>.log`.
fn expected_records_of(name: &str) -> Vec<Expected> {
    let text = std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap();
    let log = format!("{name}.log");
    JsonReader::parse(&text)
        .arr()
        .iter()
        .map(|r| {
            assert_eq!(r.get("file").str(), log);
            assert_eq!(*r.get("crc_ok"), Json::Bool(true));
            Expected {
                batch_base_offset: r.get("batch_base_offset").int(),
                offset: r.get("offset").int(),
                timestamp: r.get("timestamp").int(),
                timestamp_type: match r.get("timestamp_type").int() {
                    0 => TimestampType::CreateTime,
                    1 => TimestampType::LogAppendTime,
                    t => panic!("timestamp_type {t}"),
                },
                key: r.get("key").hex_or_null(),
                value: r.get("value").hex_or_null(),
                headers: r
                    .get("headers")
                    .arr()
                    .iter()
                    .map(|h| {
                        let [k, v] = h.arr() else {
                            panic!("header is not a [key, value] pair: {h:?}")
                        };
                        (k.str().as_bytes().to_vec(), v.hex_or_null())
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Every batch of the file, decoded and validated, as `Expected`-shaped records, plus
/// the batch headers in file order.
fn decode_log(bytes: &[u8]) -> (Vec<Expected>, Vec<brooklet::format::BatchHeader>) {
    let mut records = Vec::new();
    let mut headers = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let batch = Batch::parse(&bytes[pos..])
            .unwrap_or_else(|e| panic!("batch at file byte {pos} rejected: {e}"));
        batch
            .validate()
            .unwrap_or_else(|e| panic!("batch at file byte {pos} fails validation: {e}"));
        let h = *batch.header();
        let mut n = 0;
        for r in batch.records() {
            let r = r.unwrap_or_else(|e| panic!("record in batch at file byte {pos}: {e}"));
            let hs: Vec<_> = r
                .headers()
                .map(|hr| (hr.key.to_vec(), hr.value.map(<[u8]>::to_vec)))
                .collect();
            assert_eq!(hs.len(), r.header_count(), "header_count vs headers()");
            records.push(Expected {
                batch_base_offset: h.base_offset,
                offset: r.offset(),
                timestamp: r.timestamp(),
                timestamp_type: h.timestamp_type(),
                key: r.key().map(<[u8]>::to_vec),
                value: r.value().map(<[u8]>::to_vec),
                headers: hs,
            });
            n += 1;
        }
        assert_eq!(n, h.records_count, "records in batch at file byte {pos}");
        assert_eq!(batch.as_bytes().len(), h.total_len());
        pos += h.total_len();
        headers.push(h);
    }
    assert_eq!(pos, bytes.len(), "file ends inside a batch");
    (records, headers)
}

#[test]
fn decodes_kafka_python_batches_to_the_expected_records() {
    let bytes = std::fs::read(fixture("kafka_python_batches.log")).unwrap();
    let want = expected_records();
    assert_eq!(want.len(), 14, "fixture JSON should hold 14 records");
    let (got, headers) = decode_log(&bytes);
    assert_eq!(headers.len(), 6, "fixture log should hold 6 batches");
    assert_eq!(got.len(), want.len(), "record count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "record {i} (offset {})", w.offset);
    }
}

#[test]
fn kafka_python_batch_headers_are_read_as_written() {
    let bytes = std::fs::read(fixture("kafka_python_batches.log")).unwrap();
    let (records, headers) = decode_log(&bytes);
    let bases: Vec<i64> = headers.iter().map(|h| h.base_offset).collect();
    assert_eq!(bases, [0, 3, 4, 7, 9, 20]);
    for h in &headers {
        assert_eq!(h.magic, 2);
        assert_eq!(h.compression(), 0);
        assert_eq!(h.partition_leader_epoch, 0);
        assert!(!h.is_transactional() && !h.is_control());
        // Kafka's producer sets baseTimestamp to the first record's timestamp and
        // maxTimestamp to the largest one (batch C has them out of order).
        let recs: Vec<_> = records
            .iter()
            .filter(|r| r.batch_base_offset == h.base_offset)
            .collect();
        assert_eq!(recs.len(), h.records_count as usize);
        assert_eq!(h.base_timestamp, recs[0].timestamp);
        assert_eq!(
            h.max_timestamp,
            recs.iter().map(|r| r.timestamp).max().unwrap()
        );
        assert_eq!(h.last_offset(), recs.last().unwrap().offset);
    }
    // Batch E: the idempotent producer's fields.
    let e = &headers[4];
    assert_eq!(
        (e.producer_id, e.producer_epoch, e.base_sequence),
        (4242, 3, 17)
    );
    for h in headers.iter().filter(|h| h.base_offset != 9) {
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (-1, -1, -1)
        );
    }
    // Batch F: compacted, offsets 20, 22, 25 with last_offset_delta 5 (next offset 26).
    let f = &headers[5];
    assert_eq!((f.records_count, f.last_offset_delta), (3, 5));
    assert_eq!(f.next_offset(), 26);
}

// ---------------------------------------------------------------------------
// (c) kafka-python's compressed batches
// ---------------------------------------------------------------------------

/// Every batch of a file of batches with any codec, decompressed once per batch into
/// one reused buffer, validated, and decoded as `Expected`-shaped records; plus each
/// batch's codec.
fn decode_compressed_log(bytes: &[u8]) -> (Vec<Expected>, Vec<Compression>) {
    const MAX_OUT: usize = 1 << 20;
    let mut scratch = Vec::new();
    let (mut records, mut codecs) = (Vec::new(), Vec::new());
    let mut pos = 0;
    while pos < bytes.len() {
        let batch = Batch::parse(&bytes[pos..])
            .unwrap_or_else(|e| panic!("batch at file byte {pos} rejected: {e}"));
        batch
            .validate_with(&mut scratch, MAX_OUT)
            .unwrap_or_else(|e| panic!("batch at file byte {pos} fails validation: {e}"));
        let h = *batch.header();
        codecs.push(batch.codec().unwrap());
        let before = records.len();
        for r in batch.records_with(&mut scratch, MAX_OUT).unwrap() {
            let r = r.unwrap_or_else(|e| panic!("record in batch at file byte {pos}: {e}"));
            records.push(Expected {
                batch_base_offset: h.base_offset,
                offset: r.offset(),
                timestamp: r.timestamp(),
                timestamp_type: h.timestamp_type(),
                key: r.key().map(<[u8]>::to_vec),
                value: r.value().map(<[u8]>::to_vec),
                headers: r
                    .headers()
                    .map(|hr| (hr.key.to_vec(), hr.value.map(<[u8]>::to_vec)))
                    .collect(),
            });
        }
        assert_eq!(records.len() - before, h.records_count as usize);
        pos += h.total_len();
    }
    assert_eq!(pos, bytes.len(), "file ends inside a batch");
    (records, codecs)
}

#[test]
fn decodes_kafka_python_compressed_batches_with_every_codec() {
    use Compression::{Gzip, Lz4, Snappy, Zstd};
    let bytes = std::fs::read(fixture("kafka_python_compressed.log")).unwrap();
    let want = expected_records_of("kafka_python_compressed");
    assert_eq!(want.len(), 175, "fixture JSON should hold 175 records");
    let (got, codecs) = decode_compressed_log(&bytes);
    // A small and a large batch per codec, then a raw (unframed) snappy batch.
    assert_eq!(
        codecs,
        [Gzip, Gzip, Snappy, Snappy, Lz4, Lz4, Zstd, Zstd, Snappy]
    );
    let raw_snappy = &bytes[bytes.len() - 174 + 61..];
    assert_ne!(
        &raw_snappy[..8],
        b"\x82SNAPPY\0",
        "last batch is raw snappy"
    );
    assert_eq!(got.len(), want.len(), "record count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "record {i} (offset {})", w.offset);
    }
}

// ---------------------------------------------------------------------------
// (b) murmur2 vectors
// ---------------------------------------------------------------------------

#[test]
fn murmur2_and_partition_for_key_match_every_vector() {
    const PARTITIONS: [u32; 5] = [1, 3, 7, 12, 100];
    let text = std::fs::read_to_string(fixture("murmur2_vectors.txt")).unwrap();
    let mut checked = 0;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 7, "line {}: {line:?}", n + 1);
        let key = unhex(fields[0]);
        let hash: i32 = fields[1].parse().unwrap();
        assert_eq!(murmur2(&key), hash, "murmur2 of line {}", n + 1);
        for (p, want) in PARTITIONS.iter().zip(&fields[2..]) {
            let want: u32 = want.parse().unwrap();
            assert_eq!(
                partition_for_key(&key, *p),
                want,
                "partition_for_key(line {}, {p})",
                n + 1
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 167, "vector lines in murmur2_vectors.txt");
}
