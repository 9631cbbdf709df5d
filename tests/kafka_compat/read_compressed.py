#!/usr/bin/env python3
"""Decode files of RecordBatch v2 batches with any codec using kafka-python.

Prints one JSON line per record, in the ``read_segments.py`` shape plus the batch's
``codec`` name ("none", "gzip", "snappy", "lz4", "zstd"):

    {"file": "b.log", "codec": "zstd", "batch_base_offset": 0, "offset": 0,
     "timestamp": 1700000000000, "timestamp_type": 0, "key": "6b", "value": "76",
     "headers": [["h", "76"]], "crc_ok": true}

kafka-python decompresses with its own codec modules (``kafka/codec.py``): gzip from
the standard library, snappy through ``python-snappy`` (xerial framing or raw),
LZ4 frames through ``lz4``, zstd through ``zstandard``. Usage:

    read_compressed.py FILE...

Exit status: 0 every batch decoded with a good CRC and the record count it declares;
1 a batch did not; 2 kafka-python or one of its codec modules is missing
(``pip install kafka-python==3.0.12 python-snappy lz4 zstandard``).
"""

import json
import os
import sys

try:
    from kafka import codec
    from kafka.record import MemoryRecords
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write("read_compressed: cannot import kafka-python (%s)\n" % exc)
    sys.exit(2)

MISSING = [name for name, ok in (("python-snappy", codec.has_snappy()),
                                 ("lz4", codec.has_lz4()),
                                 ("zstandard", codec.has_zstd())) if not ok]
if MISSING:
    sys.stderr.write("read_compressed: kafka-python's codec modules are missing: %s\n"
                     "Install them with: python3 -m pip install python-snappy lz4 zstandard\n"
                     % ", ".join(MISSING))
    sys.exit(2)

NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def hexor_none(b):
    return None if b is None else bytes(b).hex()


def read_file(path):
    with open(path, "rb") as f:
        data = f.read()
    records = MemoryRecords(data)
    label = os.path.basename(path)
    batches = 0
    while records.has_next():
        batch = records.next_batch()
        if batch is None:
            raise ValueError("%s: kafka-python found no batch after %d batches" % (path, batches))
        if not batch.validate_crc():
            raise ValueError("%s: batch at offset %d fails its CRC" % (path, batch.base_offset))
        name = NAMES.get(batch.compression_type, str(batch.compression_type))
        decoded = list(batch)  # decompresses; raises on damaged data or framing
        if len(decoded) != batch.records_count:
            raise ValueError("%s: batch at offset %d declares %d records, holds %d"
                             % (path, batch.base_offset, batch.records_count, len(decoded)))
        for r in decoded:
            print(json.dumps({
                "file": label, "codec": name,
                "batch_base_offset": batch.base_offset, "offset": r.offset,
                "timestamp": r.timestamp, "timestamp_type": r.timestamp_type,
                "key": hexor_none(r.key), "value": hexor_none(r.value),
                "headers": [[k, hexor_none(v)] for k, v in r.headers],
                "crc_ok": True,
            }))
        batches += 1
    return batches


def main(argv):
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    try:
        for path in argv:
            read_file(path)
    except Exception as exc:  # any decode failure is the answer we report
        sys.stderr.write("read_compressed: %s: %s\n" % (type(exc).__name__, exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
