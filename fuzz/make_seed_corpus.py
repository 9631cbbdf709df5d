#!/usr/bin/env python3
"""Write the seed corpus of the `batch_decode` fuzz target (fuzz/corpus/batch_decode/).

Standard library only, deterministic: re-running it rewrites the same files. Seeds:
brooklet's 89-byte golden batch, each batch of kafka-python's fixture
(tests/fixtures/kafka_python_batches.log) in its own file and the whole file, and
broken variants -- truncations, bit flips with a stale CRC, and field edits with the
CRC recomputed so that decoding gets past the checksum into the records.
Regression inputs from fuzzing (crash-*) are added by hand and never removed.

Usage: python3 fuzz/make_seed_corpus.py
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "corpus", "batch_decode")
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "kafka_python_batches.log")

# The golden vector of src/format/batch.rs (two records, one header, CRC 0x3f06057b).
GOLDEN = bytes.fromhex(
    "00000000000000000000004d00000000023f06057b0000000000010000018bcfe568000000018bcfe56805"
    "ffffffffffffffffffffffffffff0000000224000000066b65790a76616c7565020268027610000a02010476"
    "3200")

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table

_TABLE = _crc32c_table()

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

assert crc32c(b"123456789") == 0xE3069283

def fix_crc(batch):
    """Recompute the CRC-32C over bytes [21, end) and store it at [17, 21)."""
    b = bytearray(batch)
    struct.pack_into(">I", b, 17, crc32c(bytes(b[21:])))
    return bytes(b)

def edit(batch, at, new_bytes, crc=True):
    b = bytearray(batch)
    b[at:at + len(new_bytes)] = new_bytes
    return fix_crc(b) if crc else bytes(b)

def flip(batch, bit):
    b = bytearray(batch)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)

def split_batches(log):
    out, pos = [], 0
    while pos < len(log):
        (length,) = struct.unpack_from(">i", log, pos + 8)
        out.append(log[pos:pos + 12 + length])
        pos += 12 + length
    assert pos == len(log)
    return out

def main():
    assert len(GOLDEN) == 89 and crc32c(GOLDEN[21:]) == 0x3F06057B
    with open(FIXTURE, "rb") as f:
        log = f.read()
    kp = split_batches(log)
    assert len(kp) == 6
    # An empty batch (records_count 0), as compaction can leave: header only.
    empty = bytearray(GOLDEN[:61])
    struct.pack_into(">i", empty, 8, 61 - 12)   # batch_length
    struct.pack_into(">i", empty, 23, 0)        # last_offset_delta
    struct.pack_into(">i", empty, 57, 0)        # records_count

    seeds = {
        # valid
        "valid_golden": GOLDEN,
        "valid_golden_log_append_time": edit(GOLDEN, 21, b"\x00\x08"),
        "valid_golden_then_zero_tail": GOLDEN + bytes(64),
        "valid_empty_batch": fix_crc(empty),
        "valid_kafka_python_all_batches": log,
        **{"valid_kafka_python_batch_%d_%s" % (i, name): b
           for i, (name, b) in enumerate(zip(
               ["plain", "tombstone", "binary_utf8", "70_headers", "idempotent",
                "compacted_gaps"], kp))},
        # broken: truncated
        "broken_golden_truncated_in_header": GOLDEN[:60],
        "broken_golden_truncated_last_byte": GOLDEN[:88],
        "broken_compacted_truncated_mid_record": kp[5][:len(kp[5]) - 20],
        # broken: bit flips, stale CRC
        "broken_golden_flip_crc": flip(GOLDEN, 17 * 8 + 3),
        "broken_golden_flip_value": flip(GOLDEN, 72 * 8),
        "broken_golden_flip_magic": flip(GOLDEN, 16 * 8 + 1),
        # broken inside the records, CRC recomputed
        "broken_golden_record_length_short": edit(GOLDEN, 61, b"\x22"),
        "broken_golden_header_count_2": edit(GOLDEN, 75, b"\x04"),
        "broken_golden_records_count_3": edit(GOLDEN, 57, struct.pack(">i", 3)),
        "broken_golden_last_offset_delta_0": edit(GOLDEN, 23, struct.pack(">i", 0)),
        "broken_golden_gzip_attribute": edit(GOLDEN, 21, b"\x00\x01"),
        "broken_golden_varint_continuation": edit(GOLDEN, 63, b"\x80"),
        "broken_70_headers_negative_header_count": edit(
            kp[3], kp[3].index(b"\x8c\x01\x06h00"), b"\x03\x01"),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), OUT))

if __name__ == "__main__":
    main()
