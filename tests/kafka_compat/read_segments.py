#!/usr/bin/env python3
"""Decode brooklet partition segment files with an independent Kafka client library.

brooklet writes its partition ``.log`` files as Kafka RecordBatch v2 (magic 2).
This script reads them back with kafka-python's own record decoder
(``kafka.record.MemoryRecords`` -> ``kafka.record.default_records.DefaultRecordBatch``,
CRC-32C checked with ``DefaultRecordBatch.validate_crc()``), so any divergence from
the Kafka wire/log format shows up as a decode or CRC failure.

Usage:
    read_segments.py DIR [DIR ...]          # DIR/<topic>-<partition>/<20-digit>.log (or DIR/*.log)
    read_segments.py FILE.log [FILE.log ...]
    read_segments.py --summary DIR
    read_segments.py --expect EXPECTED.json FILE.log   # also compare records (ignoring "file")

Output (default): one JSON object per record, one per line:
    {"file": ..., "batch_base_offset": ..., "offset": ..., "timestamp": ...,
     "timestamp_type": 0|1, "key": hex|null, "value": hex|null,
     "headers": [[key, hex|null], ...], "crc_ok": true}
Records of control batches (transaction markers) additionally carry "control": true.

With --summary: one JSON object per file with batch/record/byte counts instead.

Framing rules:
  * Batches are laid end to end from byte 0.
  * A zero tail is accepted: once the bytes at a batch boundary are all zero to the
    end of the file (a preallocated, not yet written region of an active segment),
    decoding stops there without error.
  * Anything else that does not decode -- a CRC-32C mismatch, a magic other than 2,
    a batch running past end of file, bad record framing, non-zero garbage -- is an
    error: it is reported on stderr and the exit status is 1.
  * --allow-torn-tail relaxes this for crash tests: the *last* batch may be invalid
    (partially written) provided that nothing but zeros follows it. It is reported
    on stderr as a warning and not decoded.
  * Kafka log invariants are also checked: batch offsets strictly increase within a
    file, every batch's base offset is >= the segment base offset in the file name,
    record offsets lie within [base_offset, base_offset + last_offset_delta] and
    strictly increase.

Exit status: 0 all good, 1 decode/CRC/format failure (or --expect mismatch), 2 usage error / kafka-python missing.
"""

import argparse
import json
import os
import re
import struct
import sys

try:
    import kafka
    from kafka.record import MemoryRecords
    from kafka.record.default_records import DefaultRecordBatch
    from kafka.record.util import calc_crc32c
    from kafka.errors import KafkaError
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        "read_segments: cannot import kafka-python (%s).\n"
        "Install it with: python3 -m pip install kafka-python==3.0.12\n" % exc)
    sys.exit(2)

LOG_OVERHEAD = 12  # baseOffset int64 + length int32
BATCH_HEADER_SIZE = DefaultRecordBatch.HEADER_STRUCT.size  # 61
MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD  # 49: length field of an empty batch
SEGMENT_NAME_RE = re.compile(r"^(\d{20})\.log$")
PARTITION_DIR_RE = re.compile(r"^(.*)-(\d+)$")


class SegmentError(Exception):
    pass


def hexor_none(b):
    return None if b is None else bytes(b).hex()


def is_zero(buf, start):
    """True if buf[start:] is empty or all zero bytes."""
    return buf.count(0, start) == len(buf) - start


def segment_base_offset(path):
    m = SEGMENT_NAME_RE.match(os.path.basename(path))
    return int(m.group(1)) if m else None


def find_log_files(arg):
    """Expand one command-line argument into an ordered list of .log files."""
    if os.path.isfile(arg):
        return [arg]
    if not os.path.isdir(arg):
        raise FileNotFoundError(arg)

    def part_key(name):
        m = PARTITION_DIR_RE.match(name)
        return (m.group(1), int(m.group(2))) if m else (name, -1)

    def logs_in(d):
        names = [n for n in os.listdir(d) if n.endswith(".log") and os.path.isfile(os.path.join(d, n))]
        return [os.path.join(d, n) for n in sorted(names)]

    files = logs_in(arg)  # a partition directory given directly
    subdirs = sorted((n for n in os.listdir(arg) if os.path.isdir(os.path.join(arg, n))), key=part_key)
    for sub in subdirs:
        files.extend(logs_in(os.path.join(arg, sub)))
    return files


def frame_batches(buf, path, allow_torn_tail, warn):
    """Split buf into (start, end) batch frames. Returns (frames, data_end, note).

    data_end is where the zero tail (or torn tail) starts, or len(buf).
    """
    n = len(buf)
    frames = []
    pos = 0
    while pos < n:
        if is_zero(buf, pos):
            return frames, pos, "zero-tail"
        if n - pos < LOG_OVERHEAD:
            if allow_torn_tail:
                warn("%s: byte %d: torn tail (%d trailing bytes, too short for a batch header) ignored"
                     % (path, pos, n - pos))
                return frames, pos, "torn-tail"
            raise SegmentError("byte %d: %d trailing non-zero bytes, too short for a batch header"
                               % (pos, n - pos))
        base_offset, length = struct.unpack_from(">qi", buf, pos)
        end = pos + LOG_OVERHEAD + length
        if length == 0 and base_offset == 0:
            # a zero batch header that is not followed by zeros only
            first_nonzero = next(i for i in range(pos, n) if buf[i])
            raise SegmentError("byte %d: zero batch header (zero tail?) but non-zero byte 0x%02x at byte %d"
                               % (pos, buf[first_nonzero], first_nonzero))
        if length < MIN_BATCH_LENGTH:
            if allow_torn_tail and is_zero(buf, pos + LOG_OVERHEAD):
                warn("%s: byte %d: torn tail (batch length %d) ignored" % (path, pos, length))
                return frames, pos, "torn-tail"
            raise SegmentError("byte %d: batch base_offset=%d has invalid length %d (minimum %d)"
                               % (pos, base_offset, length, MIN_BATCH_LENGTH))
        if end > n:
            if allow_torn_tail:
                warn("%s: byte %d: torn tail (batch base_offset=%d length %d runs %d bytes past EOF) ignored"
                     % (path, pos, base_offset, length, end - n))
                return frames, pos, "torn-tail"
            raise SegmentError("byte %d: batch base_offset=%d length %d runs past end of file (%d bytes, %d missing)"
                               % (pos, base_offset, length, n, end - n))
        frames.append((pos, end))
        pos = end
    return frames, pos, None


def decode_batch(frame_bytes):
    """Decode exactly one batch with kafka-python. Returns (batch, records, crc_ok, computed_crc)."""
    mr = MemoryRecords(frame_bytes)
    batch = mr.next_batch()
    if batch is None:
        raise SegmentError("kafka-python found no batch in the frame")
    if mr.has_next():
        raise SegmentError("kafka-python framed more than one batch in a single frame")
    magic = batch.magic
    if magic != 2:
        raise SegmentError("magic %d (brooklet segments must be RecordBatch v2, magic 2)" % magic)
    # validate_crc() must run before iteration (kafka-python asserts this)
    crc_ok = batch.validate_crc()
    if not crc_ok:
        computed = calc_crc32c(memoryview(frame_bytes)[DefaultRecordBatch.ATTRIBUTES_OFFSET:])
        return batch, None, False, computed
    records = list(batch)  # raises CorruptRecordError on bad record framing
    if len(records) != batch.records_count:
        raise SegmentError("records count %d but %d records decoded" % (batch.records_count, len(records)))
    return batch, records, True, None


def read_file(path, allow_torn_tail, emit, warn):
    """Decode one .log file. Returns a summary dict. Raises SegmentError on failure."""
    with open(path, "rb") as f:
        buf = f.read()
    seg_base = segment_base_offset(path)
    frames, data_end, note = frame_batches(buf, path, allow_torn_tail, warn)
    summary = {
        "file": path,
        "segment_base_offset": seg_base,
        "bytes": len(buf),
        "valid_bytes": 0,
        "zero_tail_bytes": len(buf) - data_end if note == "zero-tail" else 0,
        "torn_tail_bytes": len(buf) - data_end if note == "torn-tail" else 0,
        "batches": 0,
        "records": 0,
        "control_batches": 0,
        "first_offset": None,
        "last_offset": None,
    }
    prev_last_offset = None
    for i, (start, end) in enumerate(frames):
        frame_bytes = bytes(buf[start:end])
        where = "byte %d: batch #%d base_offset=%d" % (start, i, struct.unpack_from(">q", buf, start)[0])
        is_last = i == len(frames) - 1
        try:
            batch, records, crc_ok, computed = decode_batch(frame_bytes)
            if not crc_ok:
                raise SegmentError("CRC-32C mismatch: stored 0x%08x, computed 0x%08x"
                                   % (batch.crc, computed))
        except (SegmentError, KafkaError, ValueError, IndexError, AssertionError, struct.error) as exc:
            if allow_torn_tail and is_last and is_zero(buf, end):
                warn("%s: %s: torn tail (%s) ignored" % (path, where, exc))
                summary["torn_tail_bytes"] = len(buf) - start
                summary["zero_tail_bytes"] = 0
                break
            raise SegmentError("%s: %s" % (where, exc))

        base = batch.base_offset
        last = batch.last_offset
        if batch.last_offset_delta < 0:
            raise SegmentError("%s: negative last_offset_delta %d" % (where, batch.last_offset_delta))
        if seg_base is not None and base < seg_base:
            raise SegmentError("%s: base offset below the segment base offset %d in the file name"
                               % (where, seg_base))
        if prev_last_offset is not None and base <= prev_last_offset:
            raise SegmentError("%s: offsets not increasing (previous batch ended at offset %d)"
                               % (where, prev_last_offset))
        prev_off = None
        for r in records:
            if not (base <= r.offset <= last):
                raise SegmentError("%s: record offset %d outside [%d, %d]" % (where, r.offset, base, last))
            if prev_off is not None and r.offset <= prev_off:
                raise SegmentError("%s: record offsets not increasing (%d after %d)" % (where, r.offset, prev_off))
            prev_off = r.offset
            out = {
                "file": path,
                "batch_base_offset": base,
                "offset": r.offset,
                "timestamp": r.timestamp,
                "timestamp_type": r.timestamp_type,
                "key": hexor_none(r.key),
                "value": hexor_none(r.value),
                "headers": [[hk, hexor_none(hv)] for hk, hv in r.headers],
                "crc_ok": True,
            }
            if batch.is_control_batch:
                out["control"] = True
            emit(out)
        prev_last_offset = last
        summary["batches"] += 1
        summary["records"] += len(records)
        summary["control_batches"] += 1 if batch.is_control_batch else 0
        summary["valid_bytes"] = end
        if summary["first_offset"] is None:
            summary["first_offset"] = base
        summary["last_offset"] = last
    return summary


def load_expected(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def compare_expected(path, decoded):
    """True if decoded records equal those in the JSON file at path (ignoring "file")."""
    strip = lambda r: {k: v for k, v in r.items() if k != "file"}
    want = [strip(r) for r in load_expected(path)]
    got = [strip(r) for r in decoded]
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            sys.stderr.write("read_segments: ERROR: record #%d differs from %s\n  expected: %s\n  decoded:  %s\n"
                             % (i, path, json.dumps(w), json.dumps(g)))
            return False
    if len(want) != len(got):
        sys.stderr.write("read_segments: ERROR: decoded %d records, %s expects %d\n" % (len(got), path, len(want)))
        return False
    sys.stderr.write("read_segments: all %d records match %s\n" % (len(got), path))
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Decode brooklet .log segments (Kafka RecordBatch v2) with kafka-python "
                    "%s and print one JSON line per record." % kafka.__version__)
    ap.add_argument("paths", nargs="+", metavar="PATH",
                    help="a .log file, a partition directory, or a directory of <topic>-<partition> directories")
    ap.add_argument("--summary", action="store_true",
                    help="print one JSON line of counts per file instead of the records")
    ap.add_argument("--allow-torn-tail", action="store_true",
                    help="tolerate an invalid last batch followed only by zeros (crash tests); warn instead of failing")
    ap.add_argument("--expect", metavar="JSON",
                    help="compare the decoded records, in order and ignoring \"file\", with this JSON "
                         "(an array of record objects, or JSON lines) and fail on any difference")
    args = ap.parse_args(argv)

    files = []
    for p in args.paths:
        try:
            found = find_log_files(p)
        except FileNotFoundError:
            sys.stderr.write("read_segments: ERROR: no such file or directory: %s\n" % p)
            return 2
        if not found:
            sys.stderr.write("read_segments: ERROR: no .log files under %s\n" % p)
            return 2
        files.extend(found)

    out = sys.stdout
    failures = 0
    decoded = []

    def emit(obj):
        if args.expect:
            decoded.append(obj)
        if not args.summary:
            out.write(json.dumps(obj) + "\n")

    def warn(msg):
        sys.stderr.write("read_segments: WARNING: %s\n" % msg)

    for path in files:
        try:
            summary = read_file(path, args.allow_torn_tail, emit, warn)
        except SegmentError as exc:
            failures += 1
            sys.stderr.write("read_segments: ERROR: %s: %s\n" % (path, exc))
            if args.summary:
                out.write(json.dumps({"file": path, "error": str(exc)}) + "\n")
            continue
        except OSError as exc:
            failures += 1
            sys.stderr.write("read_segments: ERROR: %s: %s\n" % (path, exc))
            continue
        if args.summary:
            out.write(json.dumps(summary) + "\n")
    out.flush()
    if failures:
        sys.stderr.write("read_segments: %d of %d file(s) failed to decode\n" % (failures, len(files)))
        return 1
    if args.expect and not compare_expected(args.expect, decoded):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
