#!/usr/bin/env python3
"""Write compressed RecordBatch v2 fixtures with kafka-python's own batch *builder*.

kafka-python (an implementation independent of brooklet) compresses each batch with
its codec modules: ``gzip`` (standard library), ``python-snappy`` (snappy-java's
xerial framing), ``lz4`` (LZ4 frames; kafka-python stores the content size in the
frame header, which Kafka's Java client does not) and ``zstandard``. brooklet's Rust
decoder reading the file back (``tests/kafka_fixtures.rs``) proves it reads what a
real Kafka client writes, with every codec. The ``.json`` holds the expected records,
derived from the builder's inputs (not by decoding the file), in the shape
``read_segments.py`` prints (so ``read_segments.py --expect`` checks the pair).

Usage (needs ``pip install kafka-python==3.0.12 python-snappy lz4 zstandard``):
    make_compressed_batches.py [--log tests/fixtures/kafka_python_compressed.log]
                               [--json tests/fixtures/kafka_python_compressed.json]

For each codec, in the order gzip, snappy, lz4, zstd, two batches:
  small  3 records: key/value + header; null key; empty value with a null-valued
         and an empty-valued header; non-ASCII header key, high bytes
  large  40 records of about 3 KB (120 KB uncompressed): several snappy blocks
         (32 KiB of input each) and LZ4 blocks (64 KiB); one tombstone
Then one more snappy batch whose records are a *raw* snappy block (no xerial
header), as some clients write it; the builder cannot write that, so the script
builds it uncompressed, compresses the records section with ``snappy.compress`` and
seals the batch with kafka-python's own CRC-32C.

gzip's header holds a modification time, which Python sets to the clock: the script
pins the clock to 0 while building, so the output is the same on every run (and
carries mtime 0, as Kafka's Java client writes it).

The builder always writes base offset 0; like a broker, the script writes the real
base offset into the first 8 bytes, which the CRC does not cover. It fails if the
builder fell back to no compression (it does when compression does not shrink).
"""

import argparse
import json
import os
import struct
import sys
import time
from unittest import mock

import snappy
from kafka.record.default_records import DefaultRecordBatchBuilder, DefaultRecordBatch
from kafka.record.util import calc_crc32c

T0 = 1700000000000

CODECS = [
    ("gzip", DefaultRecordBatch.CODEC_GZIP),
    ("snappy", DefaultRecordBatch.CODEC_SNAPPY),
    ("lz4", DefaultRecordBatch.CODEC_LZ4),
    ("zstd", DefaultRecordBatch.CODEC_ZSTD),
]


def small_records(t):
    return [
        (0, t, b"key-1", b"value-1 value-1 value-1 value-1", [("trace-id", b"abc123")]),
        (1, t + 1, None, b"no key here, no key here, no key here", []),
        (2, t + 2, bytes([0x80, 0xff, 0x00]), b"",
         [("null-header", None), ("empty-header", b""), ("\u043a\u043b\u044e\u0447", b"\xff\x00")]),
    ]


def large_records(t):
    out = []
    for i in range(40):
        # Compressible but not trivial: a repeating pattern that shifts per record.
        value = bytes(((j * 7 + i) % 61) + 32 for j in range(3000)) if i != 17 else None
        key = ("key-%03d" % i).encode()
        headers = [("i", str(i).encode())] if i % 5 == 0 else []
        out.append((i, t + i, key, value, headers))
    return out


def build(codec_id, records):
    with mock.patch.object(time, "time", return_value=0.0):
        return _build(codec_id, records)


def _build(codec_id, records):
    b = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec_id, is_transactional=False,
        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 22)
    for delta, ts, key, value, headers in records:
        meta = b.append(delta, timestamp=ts, key=key, value=value, headers=headers)
        assert meta is not None, "builder refused a record"
    return bytearray(b.build())


def with_base_offset(buf, base_offset):
    struct.pack_into(">q", buf, 0, base_offset)  # what a broker does on append
    return bytes(buf)


def codec_of(buf):
    return struct.unpack_from(">h", buf, 21)[0] & 0x07


def raw_snappy_batch(records):
    """An uncompressed batch rebuilt with a raw snappy records section, re-sealed."""
    buf = build(DefaultRecordBatch.CODEC_NONE, records)
    header, body = bytes(buf[:61]), bytes(buf[61:])
    out = bytearray(header) + snappy.compress(body)
    struct.pack_into(">i", out, 8, len(out) - 12)            # batchLength
    attrs = struct.unpack_from(">h", out, 21)[0]
    struct.pack_into(">h", out, 21, attrs | DefaultRecordBatch.CODEC_SNAPPY)
    struct.pack_into(">I", out, 17, calc_crc32c(bytes(out[21:])))
    return out


def hexor_none(b):
    return None if b is None else bytes(b).hex()


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.normpath(os.path.join(here, "..", "fixtures"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", default=os.path.join(fixtures, "kafka_python_compressed.log"))
    ap.add_argument("--json", default=os.path.join(fixtures, "kafka_python_compressed.json"))
    args = ap.parse_args(argv)

    batches = []  # (codec name, base offset, records, bytes)
    base = 0
    t = T0
    for name, codec_id in CODECS:
        for records in (small_records(t), large_records(t + 100)):
            buf = build(codec_id, records)
            if codec_of(buf) != codec_id:
                sys.exit("kafka-python wrote a %s batch uncompressed" % name)
            batches.append((name, base, records, with_base_offset(buf, base)))
            base += len(records)
            t += 1000
    records = small_records(t)
    batches.append(("snappy", base, records, with_base_offset(raw_snappy_batch(records), base)))

    data = b"".join(b for _, _, _, b in batches)
    if len(data) >= 64 * 1024:
        sys.exit("fixture too large: %d bytes" % len(data))
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    with open(args.log, "wb") as f:
        f.write(data)
    label = os.path.basename(args.log)
    expected = []
    for name, base, records, _ in batches:
        for delta, ts, key, value, headers in records:
            expected.append({
                "file": label,
                "batch_base_offset": base, "offset": base + delta,
                "timestamp": ts, "timestamp_type": 0,
                "key": hexor_none(key), "value": hexor_none(value),
                "headers": [[hk, hexor_none(hv)] for hk, hv in headers],
                "crc_ok": True,
            })
    with open(args.json, "w") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(r) for r in expected))
        f.write("\n]\n")
    print("wrote %s (%d bytes, %d batches) and %s (%d records)"
          % (args.log, len(data), len(batches), args.json, len(expected)))


if __name__ == "__main__":
    main()
