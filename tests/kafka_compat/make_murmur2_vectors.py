#!/usr/bin/env python3
"""Generate tests/fixtures/murmur2_vectors.txt: Kafka key-partitioning test vectors.

Kafka's default partitioner for a non-null key:
    partition = (Utils.murmur2(key) & 0x7fffffff) % num_partitions
with murmur2 seed 0x9747b28c (org.apache.kafka.common.utils.Utils.murmur2, used by
BuiltInPartitioner.partitionForKey).

The hashes come from kafka-python's independent port
(kafka.partitioner.default.murmur2, which returns the hash as an unsigned 32-bit
value; it is converted to Java's signed int here).

Cross-check against Kafka's Java implementation (not committed: it is a generator
aid only): compile Utils.murmur2 + BuiltInPartitioner.partitionForKey from an
apache/kafka checkout into a standalone class that reads hex keys on stdin and prints
"hex<TAB>murmur2<TAB>p1<TAB>p3<TAB>p7<TAB>p12<TAB>p100" per line, then:

    python3 make_murmur2_vectors.py --keys-out /tmp/keys.txt
    java Murmur2Ref < /tmp/keys.txt > /tmp/java_vectors.txt
    python3 make_murmur2_vectors.py --java /tmp/java_vectors.txt \
        --java-source "apache/kafka@<commit>, javac <version>"

With --java every line must agree exactly or the script exits non-zero, and the
header of the output records the date of that check. Without --java the header says
the Java cross-check was not re-run.

The six vectors from Kafka's own UtilsTest.testMurmur2 are asserted on every run.
"""

import argparse
import datetime
import os
import sys

try:
    from kafka.partitioner.default import murmur2 as kp_murmur2
except ImportError:  # older/newer layouts
    from kafka.partitioner import murmur2 as kp_murmur2  # type: ignore
import kafka

PARTITION_COUNTS = (1, 3, 7, 12, 100)

# From Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java
KNOWN = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]

ASCII_PATTERN = b"abcdefghijklmnopqrstuvwxyz0123456789ABCD"  # 40 bytes
assert len(ASCII_PATTERN) == 40


def binary_pattern(n):
    """n bytes: byte i = (i * 0x9d + 0x3b) & 0xff (covers low and high bytes)."""
    return bytes((i * 0x9D + 0x3B) & 0xFF for i in range(n))


def murmur2_i32(data):
    h = kp_murmur2(bytes(data)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def partition(h, n):
    return (h & 0x7FFFFFFF) % n


def sections():
    """Yield (section title, [keys]) in file order."""
    yield "Kafka UtilsTest.testMurmur2 vectors", [k for k, _ in KNOWN]
    yield "empty key (zero-length, not null: a null key is never hashed)", [b""]
    singles = [0x00, 0x01, 0x02, 0x07, 0x0F, 0x10, 0x1F, 0x20, 0x30, 0x41, 0x5A, 0x61,
               0x7A, 0x7E, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xAA, 0xBF, 0xC0,
               0xC3, 0xD0, 0xDF, 0xE0, 0xEF, 0xF0, 0xFE, 0xFF]
    yield "single bytes", [bytes([b]) for b in singles]
    high = [
        b"\x80\x80", b"\xff\xff", b"\x80\x80\x80", b"\xff\xff\xff",
        b"\x80\x00\x00\x00", b"\x00\x00\x00\x80", b"\xff\xff\xff\xff", b"\x80\x80\x80\x80",
        b"\x00\x00\x00\x00\x80", b"\x00\x00\x00\x00\x80\x80", b"\x00\x00\x00\x00\x80\x80\x80",
        b"\x00\x00\x00\x00\xff", b"\x00\x00\x00\x00\xff\xff", b"\x00\x00\x00\x00\xff\xff\xff",
        b"\x7f\xff\xff\xff", b"\xff\xff\xff\x7f", b"\xde\xad\xbe\xef", b"\xca\xfe\xba\xbe\xde\xad\xbe\xef\xff",
        b"\xf0\xe1\xd2\xc3\xb4\xa5\x96\x87", b"\x81\x82\x83\x84\x85\x86\x87",
        b"\xff" * 8, b"\xff" * 13, b"\x80" * 15, b"\xfe\xdc\xba\x98\x76\x54\x32\x10\x01",
        bytes(range(0x80, 0x100)),  # all high bytes, 128 long
        bytes(range(0xFF, 0x7F, -1)),  # same, descending
    ]
    yield "binary keys with high bytes (sign-extension traps, body and tail)", high
    yield "lengths 1..40 of ASCII pattern %r" % ASCII_PATTERN.decode(), \
        [ASCII_PATTERN[:n] for n in range(1, 41)]
    yield "lengths 1..40 of binary pattern byte[i] = (i*0x9d + 0x3b) & 0xff", \
        [binary_pattern(n) for n in range(1, 41)]
    yield "typical application keys", [s.encode() for s in (
        "0", "1", "key", "user-1", "user-2", "user-10", "order-12345",
        "123e4567-e89b-12d3-a456-426614174000", "tenant/acme/device/42")]
    yield "UTF-8 keys: \u043a\u043b\u044e\u0447, \u30ad\u30fc, \U0001f680, caf\u00e9, " \
          "\u00dcn\u00efc\u00f6d\u00e9, \u043a\u043b\u044e\u0447-123, \U0001f680\U0001f680\U0001f680, " \
          "\u4e2d\u6587\u952e", [s.encode("utf-8") for s in (
              "ключ", "キー", "🚀", "café", "Ünïcödé", "ключ-123", "🚀🚀🚀", "中文键")]
    yield "long keys: 1000 x ASCII pattern; 1024 x byte i&0xff; 1031 x binary pattern; " \
          "1001 x 0x80; 4096 x 0xff", [
              (ASCII_PATTERN * 25)[:1000],
              bytes(i & 0xFF for i in range(1024)),
              binary_pattern(1031),
              b"\x80" * 1001,
              b"\xff" * 4096,
          ]


def all_keys():
    # No de-duplication: each section stays complete (e.g. "abc" is both a Kafka
    # UtilsTest vector and the length-3 ASCII pattern prefix).
    return list(sections())


def vector_line(key):
    h = murmur2_i32(key)
    return "\t".join([key.hex(), str(h)] + [str(partition(h, n)) for n in PARTITION_COUNTS])


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Generate Kafka murmur2 partitioning vectors.")
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "fixtures", "murmur2_vectors.txt")))
    ap.add_argument("--keys-out", help="only write the hex keys, one per line (input for the Java reference), and exit")
    ap.add_argument("--java", help="output of the Java reference for --keys-out; every line must match")
    ap.add_argument("--java-source", default="apache/kafka Utils.murmur2",
                    help="description of the Java reference, recorded in the header")
    args = ap.parse_args(argv)

    for key, want in KNOWN:
        got = murmur2_i32(key)
        if got != want:
            sys.exit("kafka-python murmur2(%r) = %d, Kafka UtilsTest expects %d" % (key, got, want))

    groups = all_keys()
    keys = [k for _, ks in groups for k in ks]

    if args.keys_out:
        with open(args.keys_out, "w") as f:
            f.writelines(k.hex() + "\n" for k in keys)
        print("wrote %d keys to %s" % (len(keys), args.keys_out))
        return 0

    lines = {k: vector_line(k) for k in keys}

    if args.java:
        with open(args.java) as f:
            java_lines = [l.rstrip("\n") for l in f if not l.startswith("#")]
        if len(java_lines) != len(keys):
            sys.exit("Java output has %d lines, expected %d" % (len(java_lines), len(keys)))
        bad = [(lines[k], j) for k, j in zip(keys, java_lines) if lines[k] != j]
        for py, j in bad[:10]:
            sys.stderr.write("MISMATCH\n  kafka-python: %s\n  java:         %s\n" % (py, j))
        if bad:
            sys.exit("%d of %d vectors disagree between kafka-python and Java" % (len(bad), len(keys)))
        java_note = ("# Cross-checked on %s: all %d lines agree exactly with Kafka's Java reference\n"
                     "# (%s; Utils.murmur2 and BuiltInPartitioner.partitionForKey compiled standalone).\n"
                     % (datetime.date.today().isoformat(), len(keys), args.java_source))
    else:
        java_note = "# Java cross-check: NOT re-run in this generation (regenerate with --java to re-check).\n"

    header = (
        "# Kafka murmur2 key-partitioning test vectors for brooklet.\n"
        "# Generated by tests/kafka_compat/make_murmur2_vectors.py with kafka-python %s\n"
        "# (kafka.partitioner.default.murmur2).\n"
        "%s"
        "# The 6 vectors of Kafka's UtilsTest.testMurmur2 come first and are asserted by the generator.\n"
        "#\n"
        "# Format: lines starting with '#' are comments (anywhere); every other line is\n"
        "#   hex_key<TAB>murmur2_as_i32<TAB>p1<TAB>p3<TAB>p7<TAB>p12<TAB>p100\n"
        "# hex_key: the key bytes as lowercase hex (empty field = zero-length key)\n"
        "# murmur2_as_i32: Kafka Utils.murmur2(key), seed 0x9747b28c, as a signed 32-bit int\n"
        "# pN: partition for N partitions = (murmur2 & 0x7fffffff) %% N\n"
        % (kafka.__version__, java_note)
    )
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(header)
        for title, ks in groups:
            if not ks:
                continue
            f.write("# --- %s (%d)\n" % (title, len(ks)))
            for k in ks:
                f.write(lines[k] + "\n")
    print("wrote %d vectors to %s" % (len(keys), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
