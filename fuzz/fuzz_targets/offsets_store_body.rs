//! The body of the `offsets_store` fuzz target: a broker's `__consumer_offsets` topic
//! filled with records whose keys and values are well-formed commits, tombstones,
//! damaged commits or arbitrary bytes, appended straight into its partitions; then the
//! broker is reopened (so the offset store replays them) and driven through the group
//! API (`list_groups`, `describe_group`, `list_group_offsets`, `Consumer::committed`,
//! `commit_group_offsets`, `Consumer::commit_sync_offsets`, `reset_group_offsets`,
//! `delete_group`, close and reopen), every answer compared with a model. Records of the
//! empty group id replay, but every call naming it is refused, as Kafka's
//! `INVALID_GROUP_ID`. A plain
//! function so that `tests/fuzz_corpus.rs` replays the corpus on stable Rust.
//!
//! The model replays the records as `src/broker/offsets.rs` documents: partitions in
//! order, records in offset order; a key that is not an `OffsetCommitKey` v1 (i16
//! version 1, i16-length UTF-8 group and topic, i32 partition >= 0) is skipped; a null
//! value deletes the key's offset; a value is an `OffsetCommitValue` (i16 version, i64
//! offset, an i32 leader epoch from version 3 on, i16-length UTF-8 metadata, i64
//! commit timestamp; trailing bytes ignored); a value that does not decode under a key
//! that does makes the store `Error::Corrupt`: every call that needs it returns that
//! error, and `list_groups` / `describe_group` see no offsets.
//!
//! Input: byte 0 picks how many records the user topic `t` (2 partitions) holds (0, 1,
//! 7, 300). Then operations (low 3 bits of a byte: which, the other bits: variants),
//! at most 64. Phase 1 writes `__consumer_offsets` records: 0 a well-formed commit
//! (v3 or Kafka's v1 value), 1 a tombstone, 2 arbitrary key and value bytes, 3 a
//! well-formed commit with one byte changed or cut short, 4 append what is pending,
//! 5 roll a partition, 6 a group-metadata or v0 key with arbitrary value bytes, 7 end
//! of phase 1: close, reopen, check. Records normally go to the group's partition
//! (`abs(javaHashCode(group)) % 4`), with a flag to misplace them. Phase 2 uses the
//! API: 0, 6 `commit_group_offsets`, 1 `Consumer::commit_sync_offsets`,
//! 2 `delete_group`, 3 `reset_group_offsets`, 4 check, 5 close, reopen and check,
//! 7 `create_partitions` of `__consumer_offsets` (refused). At the end
//! the broker is closed, reopened and checked once more. Across every reopen in phase
//! 2 the offsets served before the close must be served after it (unless records were
//! misplaced by hand in phase 1).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use brooklet::format::RecordIn;
use brooklet::{
    Broker, ConsumerConfig, Error, GroupState, OffsetAndMetadata, OffsetSpec, TopicConfig,
    TopicPartition,
};

use crate::common::{Input, Scratch};

const MAX_OPS: usize = 64;
const OFFSETS: &str = "__consumer_offsets";
/// Group ids the operations pick from ("" only in records, not through the API).
const GROUPS: [&str; 6] = ["g", "group-1", "ü-ß", "grp", "\u{1f980}", ""];
/// Topics named in commit keys: `t` exists (partitions 0, 1), `gone` does not.
const TOPICS: [&str; 4] = ["t", "gone", "__consumer_offsets", "é"];

/// (group, topic, partition).
type Key = (String, String, u32);

/// A record's key and value bytes (`None`: null).
type RawRecord = (Option<Vec<u8>>, Option<Vec<u8>>);

#[derive(Debug, Clone, PartialEq)]
struct Val {
    offset: i64,
    metadata: String,
    /// `None`: stamped with the time of the commit.
    ts: Option<i64>,
}

/// A record of `__consumer_offsets` as the model knows it.
#[derive(Debug, Clone)]
enum MRec {
    /// Written through the API or encoded by this harness: its meaning is known.
    Known(Key, Option<Val>),
    /// Arbitrary bytes: their meaning is what the documented schema gives them.
    Raw(Option<Vec<u8>>, Option<Vec<u8>>),
}

// Kafka's schemas, written from docs/format.md.

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_key(k: &Key) -> Vec<u8> {
    let mut v = 1i16.to_be_bytes().to_vec();
    put_str(&mut v, &k.0);
    put_str(&mut v, &k.1);
    v.extend_from_slice(&(k.2 as i32).to_be_bytes());
    v
}

/// `OffsetCommitValue` v3, or v1 (Kafka's: no leader epoch, an expire timestamp after
/// the commit timestamp).
fn encode_value(o: &Val, v1: bool) -> Vec<u8> {
    let mut v = (if v1 { 1i16 } else { 3i16 }).to_be_bytes().to_vec();
    v.extend_from_slice(&o.offset.to_be_bytes());
    if !v1 {
        v.extend_from_slice(&(-1i32).to_be_bytes());
    }
    put_str(&mut v, &o.metadata);
    v.extend_from_slice(&o.ts.unwrap_or(-1).to_be_bytes());
    if v1 {
        v.extend_from_slice(&(-1i64).to_be_bytes());
    }
    v
}

fn get_str(b: &[u8], pos: &mut usize) -> Option<String> {
    let len = i16::from_be_bytes(b.get(*pos..*pos + 2)?.try_into().ok()?);
    *pos += 2;
    let len = usize::try_from(len).ok()?;
    let s = String::from_utf8(b.get(*pos..*pos + len)?.to_vec()).ok()?;
    *pos += len;
    Some(s)
}

fn get_i64(b: &[u8], pos: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(pos..pos + 8)?.try_into().ok()?))
}

fn decode_key(b: &[u8]) -> Option<Key> {
    if b.get(..2)? != [0, 1] {
        return None;
    }
    let mut pos = 2;
    let group = get_str(b, &mut pos)?;
    let topic = get_str(b, &mut pos)?;
    let p = i32::from_be_bytes(b.get(pos..pos + 4)?.try_into().ok()?);
    Some((group, topic, u32::try_from(p).ok()?))
}

fn decode_value(b: &[u8]) -> Option<Val> {
    let version = i16::from_be_bytes(b.get(..2)?.try_into().ok()?);
    let offset = get_i64(b, 2)?;
    let mut pos = if version >= 3 { 14 } else { 10 };
    let metadata = get_str(b, &mut pos)?;
    let ts = get_i64(b, pos)?;
    Some(Val {
        offset,
        metadata,
        ts: Some(ts),
    })
}

fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of a group among `n` (Kafka's `Utils.abs` of the
/// hash).
fn home(group: &str, n: usize) -> usize {
    let h = java_hash(group);
    let h = if h == i32::MIN { 0 } else { h.abs() };
    h as usize % n
}

struct Model {
    /// Records of each `__consumer_offsets` partition, in offset order.
    parts: Vec<Vec<MRec>>,
    /// Records of `t-0`.
    user_records: i64,
    /// What the open broker serves: `None` when the store is corrupt.
    live: Option<BTreeMap<Key, Val>>,
    /// Groups the open broker's coordinator knows (a consumer was made for them).
    known: BTreeSet<String>,
    /// Some record is not in its group's partition (hand-made): a commit may then be
    /// shadowed at the next replay by the misplaced record in a later partition.
    misplaced: bool,
}

impl Model {
    /// What replaying the partitions gives; `None` when a value does not decode under
    /// a key that does.
    fn replay(&self) -> Option<BTreeMap<Key, Val>> {
        let mut map = BTreeMap::new();
        for part in &self.parts {
            for r in part {
                let (key, value) = match r {
                    MRec::Known(k, v) => (k.clone(), v.clone().map(Some)),
                    MRec::Raw(k, v) => {
                        let Some(key) = k.as_deref().and_then(decode_key) else {
                            continue;
                        };
                        (key, v.as_deref().map(decode_value))
                    }
                };
                match value {
                    None => {
                        map.remove(&key);
                    }
                    Some(Some(v)) => {
                        map.insert(key, v);
                    }
                    Some(None) => return None,
                }
            }
        }
        Some(map)
    }

    /// The log end of a partition, `None` when it does not exist.
    fn end(&self, topic: &str, p: u32) -> Option<i64> {
        match topic {
            "t" if p == 0 => Some(self.user_records),
            "t" if p == 1 => Some(0),
            OFFSETS if (p as usize) < self.parts.len() => Some(self.parts[p as usize].len() as i64),
            _ => None,
        }
    }

    fn groups(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .live
            .iter()
            .flat_map(|m| m.keys().map(|k| k.0.clone()))
            .collect();
        v.dedup();
        v
    }

    fn group_offsets(&self, g: &str) -> Vec<(Key, Val)> {
        self.live
            .iter()
            .flat_map(|m| m.iter())
            .filter(|(k, _)| k.0 == g)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn tp(k: &Key) -> TopicPartition {
    TopicPartition::new(k.1.clone(), k.2)
}

fn is_corrupt<T: std::fmt::Debug>(r: &brooklet::Result<T>, what: &str) {
    match r {
        Err(Error::Corrupt { .. }) => {}
        other => panic!("{what} with a corrupt offsets store: {other:?}"),
    }
}

/// Closes and reopens the broker. Unless records were misplaced by hand, the offsets
/// served before the close are served after it (commits are durable).
fn reopen(b: Broker, dir: &Path, m: &mut Model) -> Broker {
    let before = m.live.clone();
    b.close().unwrap();
    drop(b);
    let b = open(dir);
    m.live = m.replay();
    m.known.clear();
    if !m.misplaced {
        assert_eq!(
            m.live, before,
            "committed offsets before a clean close and after the reopen"
        );
    }
    check(&b, m);
    b
}

fn open(dir: &Path) -> Broker {
    match Broker::builder(dir)
        .maintenance_interval(Duration::ZERO)
        .open()
    {
        Ok(b) => b,
        Err(e) => panic!("open the broker: {e}"),
    }
}

/// Appends the pending records of each partition as one batch.
fn flush(b: &Broker, m: &mut Model, pending: &mut [Vec<MRec>]) {
    for (p, recs) in pending.iter_mut().enumerate() {
        if recs.is_empty() {
            continue;
        }
        let bytes: Vec<RawRecord> = recs
            .iter()
            .map(|r| match r {
                MRec::Known(k, v) => (
                    Some(encode_key(k)),
                    v.as_ref().map(|v| encode_value(v, false)),
                ),
                MRec::Raw(k, v) => (k.clone(), v.clone()),
            })
            .collect();
        let ins: Vec<RecordIn<'_>> = bytes
            .iter()
            .map(|(k, v)| RecordIn {
                key: k.as_deref(),
                value: v.as_deref(),
                timestamp: 1_000,
                headers: &[],
            })
            .collect();
        let log = b.partition_log(OFFSETS, p as u32).unwrap();
        let info = log.append(&ins).unwrap();
        assert_eq!(info.base_offset, m.parts[p].len() as i64);
        m.parts[p].append(recs);
    }
}

fn pick_key(input: &mut Input<'_>) -> Key {
    let g = GROUPS[input.u8() as usize % GROUPS.len()];
    let t = TOPICS[input.u8() as usize % TOPICS.len()];
    (g.to_string(), t.to_string(), u32::from(input.u8() % 5))
}

fn pick_val(input: &mut Input<'_>) -> Val {
    let offset = input.i64();
    let metadata = "m".repeat(input.u8() as usize % 24);
    Val {
        offset,
        metadata,
        ts: Some(input.i64()),
    }
}

pub fn run(data: &[u8]) {
    let mut input = Input(data);
    let user_records = [0, 1, 7, 300][(input.u8() & 3) as usize];
    let scratch = Scratch::new("offsets-store");
    let dir = scratch.0.join("broker");
    let mut m = Model {
        parts: vec![Vec::new(); 4],
        user_records,
        live: Some(BTreeMap::new()),
        known: BTreeSet::new(),
        misplaced: false,
    };

    // Phase 0: a broker with the user topic and an empty offsets store.
    let mut b = open(&dir);
    b.create_topic("t", TopicConfig::new(2).segment_bytes(64 * 1024))
        .unwrap();
    let t0 = b.partition_log("t", 0).unwrap();
    for i in 0..user_records {
        let v = i.to_be_bytes();
        t0.append(&[RecordIn {
            key: None,
            value: Some(&v),
            timestamp: 1_000 + i,
            headers: &[],
        }])
        .unwrap();
    }
    drop(t0);
    assert_eq!(b.list_group_offsets("g").unwrap(), vec![]);
    assert_eq!(b.partition_count(OFFSETS).unwrap(), 4);

    // Phase 1: records straight into the partitions.
    let mut pending: Vec<Vec<MRec>> = vec![Vec::new(); 4];
    let mut ops = 0;
    while ops < MAX_OPS && !input.is_empty() {
        ops += 1;
        let op = input.u8();
        // Misplaced: another partition than the group's.
        let part = |g: &str| {
            (home(g, 4)
                + if op & 0x10 != 0 {
                    1 + (op >> 5) as usize % 3
                } else {
                    0
                })
                % 4
        };
        match op & 7 {
            0 => {
                let k = pick_key(&mut input);
                let v = pick_val(&mut input);
                let p = part(&k.0);
                if op & 8 != 0 {
                    // Kafka's v1 value: the same meaning.
                    let raw = MRec::Raw(Some(encode_key(&k)), Some(encode_value(&v, true)));
                    pending[p].push(raw);
                } else {
                    pending[p].push(MRec::Known(k, Some(v)));
                }
            }
            1 => {
                let k = pick_key(&mut input);
                let p = part(&k.0);
                pending[p].push(MRec::Known(k, None));
            }
            2 => {
                let key = input.bytes();
                let value = input.bytes();
                pending[(op >> 3 & 3) as usize].push(MRec::Raw(key, value));
            }
            3 => {
                let k = pick_key(&mut input);
                let v = pick_val(&mut input);
                let p = part(&k.0);
                let (which, at, x) = (input.u8(), input.u8() as usize, input.u8());
                let mut key = encode_key(&k);
                let mut value = encode_value(&v, op & 8 != 0);
                let field = if which & 1 == 0 { &mut key } else { &mut value };
                if which & 2 == 0 {
                    let i = at % field.len();
                    field[i] ^= x.max(1);
                } else {
                    field.truncate(at % field.len());
                }
                pending[p].push(MRec::Raw(Some(key), Some(value)));
            }
            4 => flush(&b, &mut m, &mut pending),
            5 => {
                flush(&b, &mut m, &mut pending);
                let p = (op >> 3 & 3) as u32;
                b.partition_log(OFFSETS, p).unwrap().roll().unwrap();
            }
            6 => {
                // Group metadata (key version 2) or a Kafka v0 offset key: skipped.
                let g = GROUPS[input.u8() as usize % GROUPS.len()];
                let mut key = (if op & 8 != 0 { 0i16 } else { 2i16 })
                    .to_be_bytes()
                    .to_vec();
                put_str(&mut key, g);
                if op & 8 != 0 {
                    put_str(&mut key, "t");
                    key.extend_from_slice(&0i32.to_be_bytes());
                }
                let value = input.bytes();
                pending[part(g)].push(MRec::Raw(Some(key), value));
            }
            _ => break,
        }
    }
    flush(&b, &mut m, &mut pending);
    m.misplaced = m.parts.iter().enumerate().any(|(p, recs)| {
        recs.iter().any(|r| {
            let key = match r {
                MRec::Known(k, _) => Some(k.clone()),
                MRec::Raw(k, _) => k.as_deref().and_then(decode_key),
            };
            key.is_some_and(|k| home(&k.0, 4) != p)
        })
    });
    b.close().unwrap();
    drop(b);
    b = open(&dir);
    m.live = m.replay();
    m.known.clear();
    check(&b, &mut m);

    // Phase 2: the API.
    while ops < MAX_OPS && !input.is_empty() {
        ops += 1;
        let op = input.u8();
        let g = GROUPS[input.u8() as usize % (GROUPS.len() - 1)];
        match op & 7 {
            1 => consumer_commit(&b, &mut m, &mut input, g),
            2 => delete_group(&b, &mut m, g),
            3 => reset(&b, &mut m, &mut input, op, g),
            4 => check(&b, &mut m),
            5 => b = reopen(b, &dir, &mut m),
            7 => {
                // A group's partition is its id's hash modulo the count: the count of
                // the offsets topic cannot change (as in Kafka).
                let n = m.parts.len() as u32 + 1 + u32::from(op >> 3 & 3);
                let r = b.create_partitions(OFFSETS, n);
                assert!(
                    matches!(r, Err(Error::InvalidArgument(_))),
                    "create_partitions({OFFSETS}, {n}): {r:?}"
                );
                assert_eq!(b.partition_count(OFFSETS).unwrap(), 4);
            }
            _ => admin_commit(&b, &mut m, &mut input, op, g),
        }
    }
    check(&b, &mut m);
    let b = reopen(b, &dir, &mut m);
    b.close().unwrap();
    drop(b);
    drop(scratch);
}

/// Records a commit of `offsets` by `g` in the model (one batch in the group's
/// partition), as the store does.
fn committed_in_model(m: &mut Model, g: &str, offsets: Vec<(Key, Val)>) {
    for (k, v) in offsets {
        m.parts[home(g, 4)].push(MRec::Known(k.clone(), Some(v.clone())));
        m.live.as_mut().unwrap().insert(k, v);
    }
}

fn admin_commit(b: &Broker, m: &mut Model, input: &mut Input<'_>, op: u8, g: &str) {
    let p = u32::from(input.u8() % 3);
    let offset = if op & 8 != 0 {
        -1 - i64::from(input.u8())
    } else {
        i64::from(input.u16())
    };
    let r = b.commit_group_offsets(g, &[(TopicPartition::new("t", p), offset)]);
    if p >= 2 {
        assert!(
            matches!(r, Err(Error::UnknownPartition { .. })),
            "commit to t-{p}: {r:?}"
        );
    } else if offset < 0 {
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "commit of {offset}: {r:?}"
        );
    } else if m.live.is_none() {
        is_corrupt(&r, "commit_group_offsets");
    } else {
        r.unwrap_or_else(|e| panic!("commit_group_offsets({g}, t-{p}, {offset}): {e}"));
        let k = (g.to_string(), "t".to_string(), p);
        let v = Val {
            offset,
            metadata: String::new(),
            ts: None,
        };
        committed_in_model(m, g, vec![(k, v)]);
    }
}

fn consumer_commit(b: &Broker, m: &mut Model, input: &mut Input<'_>, g: &str) {
    let p = u32::from(input.u8() % 3);
    let offset = i64::from(input.u16() as i16);
    let metadata = "x".repeat(input.u8() as usize % 40);
    let ts = i64::from(input.u16() as i16);
    let mut c = b.consumer(ConsumerConfig::new().group_id(g));
    m.known.insert(g.to_string());
    let o = OffsetAndMetadata {
        offset,
        metadata: metadata.clone(),
        commit_timestamp: ts,
    };
    let r = c.commit_sync_offsets(&[(TopicPartition::new("t", p), o)]);
    if offset < 0 {
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "commit of {offset}: {r:?}"
        );
    } else if p >= 2 {
        assert!(
            matches!(r, Err(Error::UnknownPartition { .. })),
            "commit to t-{p}: {r:?}"
        );
    } else if m.live.is_none() {
        is_corrupt(&r, "commit_sync_offsets");
    } else {
        r.unwrap_or_else(|e| panic!("commit_sync_offsets({g}, t-{p}, {offset}): {e}"));
        let k = (g.to_string(), "t".to_string(), p);
        let v = Val {
            offset,
            metadata,
            ts: (ts >= 0).then_some(ts),
        };
        committed_in_model(m, g, vec![(k, v)]);
    }
    c.close().unwrap();
}

fn delete_group(b: &Broker, m: &mut Model, g: &str) {
    let offsets = m.group_offsets(g);
    let r = b.delete_group(g);
    if offsets.is_empty() && !m.known.contains(g) {
        assert!(
            matches!(r, Err(Error::UnknownGroup { .. })),
            "delete_group({g:?}) of an unknown group: {r:?}"
        );
    } else if m.live.is_none() {
        is_corrupt(&r, "delete_group");
    } else {
        r.unwrap_or_else(|e| panic!("delete_group({g:?}): {e}"));
        for (k, _) in offsets {
            m.parts[home(g, 4)].push(MRec::Known(k.clone(), None));
            m.live.as_mut().unwrap().remove(&k);
        }
        m.known.remove(g);
    }
}

fn reset(b: &Broker, m: &mut Model, input: &mut Input<'_>, op: u8, g: &str) {
    let spec = match op >> 3 & 3 {
        0 => OffsetSpec::Earliest,
        1 => OffsetSpec::Latest,
        _ => OffsetSpec::Offset(i64::from(input.u16() as i16)),
    };
    let r = b.reset_group_offsets(g, &[], spec);
    if m.live.is_none() {
        is_corrupt(&r, "reset_group_offsets");
        return;
    }
    let offsets = m.group_offsets(g);
    let mut want = Vec::new();
    for (k, _) in &offsets {
        let Some(end) = m.end(&k.1, k.2) else {
            assert!(
                matches!(
                    r,
                    Err(Error::UnknownTopic { .. } | Error::UnknownPartition { .. })
                ),
                "reset_group_offsets({g:?}) with an offset for {}-{}: {r:?}",
                k.1,
                k.2
            );
            return;
        };
        let to = match spec {
            OffsetSpec::Earliest => 0,
            OffsetSpec::Latest => end,
            OffsetSpec::Offset(o) => o.clamp(0, end),
            OffsetSpec::Timestamp(_) => unreachable!(),
        };
        want.push((k.clone(), to));
    }
    let got = r.unwrap_or_else(|e| panic!("reset_group_offsets({g:?}, {spec:?}): {e}"));
    let want_tps: Vec<(TopicPartition, i64)> = want.iter().map(|(k, o)| (tp(k), *o)).collect();
    assert_eq!(got, want_tps, "reset_group_offsets({g:?}, {spec:?})");
    let commits = want
        .into_iter()
        .map(|(k, offset)| {
            let v = Val {
                offset,
                metadata: String::new(),
                ts: None,
            };
            (k, v)
        })
        .collect();
    committed_in_model(m, g, commits);
}

fn same(got: &OffsetAndMetadata, want: &Val, what: &str) {
    assert_eq!(got.offset, want.offset, "{what}: offset");
    assert_eq!(got.metadata, want.metadata, "{what}: metadata");
    match want.ts {
        Some(ts) => assert_eq!(got.commit_timestamp, ts, "{what}: commit timestamp"),
        None => assert!(
            got.commit_timestamp > 0,
            "{what}: commit timestamp {}",
            got.commit_timestamp
        ),
    }
}

/// Kafka refuses an empty group id (INVALID_GROUP_ID) even where records hold offsets
/// for it: every group call that names it says so, whatever the store holds.
fn empty_group_is_refused(b: &Broker) {
    let t0 = TopicPartition::new("t", 0);
    let mut c = b.consumer(ConsumerConfig::new().group_id(""));
    let results = [
        ("list_group_offsets", b.list_group_offsets("").map(|_| ())),
        ("describe_group", b.describe_group("").map(|_| ())),
        (
            "committed",
            c.committed(std::slice::from_ref(&t0)).map(|_| ()),
        ),
        (
            "commit_group_offsets",
            b.commit_group_offsets("", &[(t0, 0)]),
        ),
        ("delete_group", b.delete_group("")),
    ];
    for (what, r) in results {
        assert!(
            matches!(&r, Err(Error::InvalidGroupId { reason }) if reason.contains("group_id is empty")),
            "{what}(\"\"): {r:?}"
        );
    }
    c.close().unwrap();
}

/// Every group call agrees with the model.
fn check(b: &Broker, m: &mut Model) {
    let groups = m.groups();
    assert_eq!(b.list_groups(), groups, "list_groups");
    let mut all: BTreeSet<String> = GROUPS.iter().map(|g| g.to_string()).collect();
    all.extend(groups);
    for g in &all {
        if g.is_empty() {
            empty_group_is_refused(b);
            continue;
        }
        let offsets = m.group_offsets(g);
        // list_group_offsets: sorted by partition, with the lag (saturated).
        let r = b.list_group_offsets(g);
        if m.live.is_none() {
            is_corrupt(&r, "list_group_offsets");
        } else {
            let got = r.unwrap_or_else(|e| panic!("list_group_offsets({g:?}): {e}"));
            assert_eq!(
                got.len(),
                offsets.len(),
                "list_group_offsets({g:?}): {got:?}"
            );
            for (o, (k, v)) in got.iter().zip(&offsets) {
                assert_eq!(o.partition, tp(k), "list_group_offsets({g:?})");
                assert_eq!(o.committed, v.offset, "list_group_offsets({g:?}) {k:?}");
                let end = m.end(&k.1, k.2).unwrap_or(v.offset);
                assert_eq!(o.log_end_offset, end, "log end of {k:?}");
                assert_eq!(o.lag, end.saturating_sub(v.offset).max(0), "lag of {k:?}");
            }
        }
        match b.describe_group(g) {
            Ok(d) => {
                assert!(
                    !offsets.is_empty(),
                    "describe_group({g:?}) without offsets: {d:?}"
                );
                assert_eq!(d.group_id, *g);
                assert_eq!(d.state, GroupState::Empty);
                assert_eq!((d.generation, d.members.len()), (0, 0));
            }
            Err(Error::UnknownGroup { .. }) => {
                assert!(
                    offsets.is_empty(),
                    "describe_group({g:?}) with offsets {offsets:?}"
                );
            }
            Err(e) => panic!("describe_group({g:?}): {e}"),
        }
        // Consumer::committed, for the group's partitions and t's.
        let mut tps: BTreeSet<TopicPartition> = offsets.iter().map(|(k, _)| tp(k)).collect();
        tps.extend([TopicPartition::new("t", 0), TopicPartition::new("t", 1)]);
        let tps: Vec<TopicPartition> = tps.into_iter().collect();
        let mut c = b.consumer(ConsumerConfig::new().group_id(g.clone()));
        m.known.insert(g.clone());
        let r = c.committed(&tps);
        if m.live.is_none() {
            is_corrupt(&r, "Consumer::committed");
        } else {
            let got = r.unwrap_or_else(|e| panic!("committed({g:?}): {e}"));
            assert_eq!(got.len(), tps.len());
            for t in &tps {
                let want = offsets.iter().find(|(k, _)| tp(k) == *t).map(|(_, v)| v);
                match (got.get(t).unwrap(), want) {
                    (None, None) => {}
                    (Some(o), Some(v)) => same(o, v, &format!("committed({g:?}, {t})")),
                    (o, v) => panic!("committed({g:?}, {t}) = {o:?}, model {v:?}"),
                }
            }
        }
        c.close().unwrap();
    }
}
