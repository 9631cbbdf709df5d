#!/usr/bin/env python3
"""Write a Kafka RecordBatch v2 fixture with kafka-python's own batch *builder*.

The resulting ``.log`` is produced by an implementation independent of brooklet
(kafka-python's ``kafka.record.default_records.DefaultRecordBatchBuilder``), so
brooklet's Rust decoder reading it back proves it accepts what a real Kafka client
writes. The companion ``.json`` holds the expected records -- derived from the
inputs given to the builder below, not from decoding the file -- in the same JSON
shape that ``read_segments.py`` prints (one object per record).

Usage:
    make_batches.py [--log tests/fixtures/kafka_python_batches.log]
                    [--json tests/fixtures/kafka_python_batches.json]

What the fixture contains (compression none, partition leader epoch 0, magic 2):
  batch A  base 0   3 records: plain key/value + 1 header; null key; empty (not null)
                    value with a null-valued header and an empty-valued header
  batch B  base 3   1 record: tombstone (key, null value)
  batch C  base 4   3 records: binary keys/values with high bytes (0x80-0xff),
                    non-ASCII UTF-8 header keys, timestamps out of order (negative
                    timestamp delta; max_timestamp != last record's timestamp)
  batch D  base 7   2 records: empty key b"", 300-byte value (multi-byte varint
                    lengths), 70 headers (multi-byte varint header count), null key
                    with null value
  batch E  base 9   idempotent-producer batch: producer_id 4242, producer_epoch 3,
                    base_sequence 17, 2 records
  batch F  base 20  compacted-style batch: offset gap before it (12..19 absent) and
                    non-contiguous offset deltas 0, 2, 5 inside it (as Kafka's log
                    cleaner leaves them); last_offset_delta 5 -> next offset 26

The builder always writes BaseOffset 0 (the broker assigns it); like a broker, this
script then stores the real base offset into the first 8 bytes, which the CRC does
not cover.
"""

import argparse
import json
import os
import struct
import sys

from kafka.record.default_records import DefaultRecordBatchBuilder, DefaultRecordBatch

T0 = 1700000000000  # 2023-11-14T22:13:20Z, same base time as the brooklet golden vector

# (base_offset, builder kwargs, [(offset_delta, timestamp, key, value, headers), ...])
BATCHES = [
    (0, {}, [
        (0, T0, b"key-1", b"value-1", [("trace-id", b"abc123")]),
        (1, T0 + 1, None, b"no key here", []),
        (2, T0 + 2, b"key-2", b"", [("null-header", None), ("empty-header", b"")]),
    ]),
    (3, {}, [
        (0, T0 + 10, b"key-1", None, []),  # tombstone
    ]),
    (4, {}, [
        (0, T0 + 100, bytes([0x80, 0x81, 0xfe, 0xff]), bytes(range(0x80, 0x100)),
         [("ключ", b"\xff\x00\x80"), ("キー", b"v")]),
        (1, T0 + 50, bytes([0xff] * 7), b"\x00", [("\U0001f680", None)]),  # ts earlier than first
        (2, T0 + 75, b"\x00\x00\x00", "значение 🚀".encode("utf-8"), []),
    ]),
    (7, {}, [
        (0, T0 + 200, b"", bytes((i * 7 + 3) & 0xff for i in range(300)),
         [("h%02d" % i, bytes([i])) for i in range(70)]),
        (1, T0 + 201, None, None, []),
    ]),
    (9, {"producer_id": 4242, "producer_epoch": 3, "base_sequence": 17}, [
        (0, T0 + 300, b"idem-1", b"first", []),
        (1, T0 + 301, b"idem-2", b"second", [("seq", b"18")]),
    ]),
    (20, {}, [
        (0, T0 + 400, b"compacted-a", b"a", []),
        (2, T0 + 402, b"compacted-b", b"b", []),
        (5, T0 + 405, b"compacted-c", b"c", []),
    ]),
]


def hexor_none(b):
    return None if b is None else bytes(b).hex()


def build_batch(base_offset, kwargs, records):
    b = DefaultRecordBatchBuilder(
        magic=2, compression_type=DefaultRecordBatch.CODEC_NONE,
        is_transactional=False,
        producer_id=kwargs.get("producer_id", -1),
        producer_epoch=kwargs.get("producer_epoch", -1),
        base_sequence=kwargs.get("base_sequence", -1),
        batch_size=1 << 20)
    for delta, ts, key, value, headers in records:
        meta = b.append(delta, timestamp=ts, key=key, value=value, headers=headers)
        assert meta is not None, "builder refused a record"
    buf = b.build()
    struct.pack_into(">q", buf, 0, base_offset)  # what a broker does on append
    return bytes(buf)


def expected_records(file_label):
    out = []
    for base, _kwargs, records in BATCHES:
        for delta, ts, key, value, headers in records:
            out.append({
                "file": file_label,
                "batch_base_offset": base,
                "offset": base + delta,
                "timestamp": ts,
                "timestamp_type": 0,
                "key": hexor_none(key),
                "value": hexor_none(value),
                "headers": [[hk, hexor_none(hv)] for hk, hv in headers],
                "crc_ok": True,
            })
    return out


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.normpath(os.path.join(here, "..", "fixtures"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", default=os.path.join(fixtures, "kafka_python_batches.log"))
    ap.add_argument("--json", default=os.path.join(fixtures, "kafka_python_batches.json"))
    args = ap.parse_args(argv)

    data = b"".join(build_batch(base, kw, recs) for base, kw, recs in BATCHES)
    if len(data) >= 8192:
        sys.exit("fixture too large: %d bytes" % len(data))
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    with open(args.log, "wb") as f:
        f.write(data)
    recs = expected_records(os.path.basename(args.log))
    with open(args.json, "w") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(r) for r in recs))
        f.write("\n]\n")
    print("wrote %s (%d bytes, %d batches) and %s (%d records)"
          % (args.log, len(data), len(BATCHES), args.json, len(recs)))


if __name__ == "__main__":
    main()
