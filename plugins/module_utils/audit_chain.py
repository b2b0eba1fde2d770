# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hash chain of the audit log: appending a record and verifying a file.

One JSON object per line, in canonical form (sorted keys, no spaces, ASCII).
Each record carries:

- ``seq``: 1 for the first record of a file, then one more per record, so a
  removed or moved record can be named;
- ``prev``: the ``hash`` of the record before it (64 zeros for the first);
- ``hash``: sha256 of the record's canonical JSON without ``hash``, so an
  edit of any record, the last one included, is seen.

Used by the ``secure_cloud.iaas.audit_log`` callback (append) and the
``secure_cloud.iaas.audit_log_verify`` module (verify).

What the chain proves: nobody removed, reordered or edited a record without
rewriting every record after it. Someone who can write the file can rewrite
the whole tail; compare the ``head`` the verifier returns with a copy kept
elsewhere (a ticket, another host) to catch that too.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import stat

GENESIS = "0" * 64
LOG_MODE = 0o600
DIR_MODE = 0o700
# Enough to hold the last record; records are small (no args, no values).
_TAIL_CHUNK = 65536


class AuditLogError(Exception):
    """The log cannot be written safely (path, owner or mode)."""


def canonical(record):
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def record_hash(record):
    body = dict((k, v) for k, v in record.items() if k != "hash")
    return hashlib.sha256(canonical(body).encode("ascii")).hexdigest()


def seal(record, prev_record):
    """The record with seq, prev and hash set after prev_record (None for the first)."""
    sealed = dict((k, v) for k, v in record.items() if k not in ("seq", "prev", "hash"))
    if prev_record is None:
        sealed["seq"], sealed["prev"] = 1, GENESIS
    else:
        sealed["seq"] = int(prev_record.get("seq", 0)) + 1
        sealed["prev"] = prev_record.get("hash") or GENESIS
    sealed["hash"] = record_hash(sealed)
    return sealed


def _last_line(fd):
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    start = max(0, size - _TAIL_CHUNK)
    while True:
        data = os.pread(fd, size - start, start)
        lines = data.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or start == 0:
            return lines[-1]
        start = max(0, start - _TAIL_CHUNK)


def _ensure_private(path, fd):
    """A log that others can read is made private again (0600), and said so."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise AuditLogError("%s is not a regular file" % path)
    if info.st_uid != os.geteuid():
        raise AuditLogError("%s belongs to uid %d, not to this user (uid %d): refusing to append to it"
                            % (path, info.st_uid, os.geteuid()))
    mode = stat.S_IMODE(info.st_mode)
    if mode != LOG_MODE:
        os.fchmod(fd, LOG_MODE)
        return "%s had mode %04o; it is now 0600" % (path, mode)
    return None


def open_log(path):
    """(fd, warning): the log opened for appending, created 0600 whatever the umask."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, DIR_MODE)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, LOG_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AuditLogError("%s is a symbolic link: refusing to follow it" % path)
        raise AuditLogError("cannot open %s: %s" % (path, exc.strerror))
    try:
        warning = _ensure_private(path, fd)
    except BaseException:
        os.close(fd)
        raise
    return fd, warning


def append(path, record):
    """Append one record to the chain in path; returns (sealed record, warning or None).

    The last record is read under an exclusive lock on the file itself, so
    playbooks that run at once each chain onto the other's records.
    """
    fd, warning = open_log(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            last = _last_line(fd)
            prev = None
            if last is not None:
                try:
                    prev = json.loads(last.decode("utf-8"))
                except ValueError:
                    # A torn or edited last line: chain onto its bytes so the
                    # verifier still names that line, and never lose this record.
                    prev = dict(seq=_seq_guess(fd), hash=hashlib.sha256(last).hexdigest())
                if not isinstance(prev, dict):
                    prev = dict(seq=0, hash=hashlib.sha256(last).hexdigest())
            sealed = seal(record, prev)
            os.write(fd, (canonical(sealed) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return sealed, warning


def _seq_guess(fd):
    count = 0
    offset = 0
    while True:
        data = os.pread(fd, _TAIL_CHUNK, offset)
        if not data:
            return count
        count += data.count(b"\n")
        offset += len(data)


def _problem(line, seq, kind, reason):
    return dict(line=line, seq=seq, kind=kind, reason=reason)


def verify_lines(lines, anchor=(None, None)):
    """Walk the records; returns {valid, records, head, first_bad}.

    lines: the file's lines as bytes, without their newline. anchor:
    (head, records) from an earlier verification, kept elsewhere: the record
    at that position must still carry that hash, and the log must be at least
    that long. first_bad is None or {line, seq, kind, reason} with kind one of
    edited, removed, reordered, malformed, truncated.
    """
    anchor_head, anchor_records = anchor
    parsed = []
    for number, raw in enumerate(lines, 1):
        try:
            record = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            record = None
        parsed.append(record if isinstance(record, dict) else None)
    seqs_later = {}
    for number, record in enumerate(parsed, 1):
        if record is not None and isinstance(record.get("seq"), int):
            seqs_later.setdefault(record["seq"], number)

    prev_hash, expected = GENESIS, 1
    head = GENESIS
    for number, record in enumerate(parsed, 1):
        if record is None:
            return _result(number - 1, head, _problem(
                number, None, "malformed", "line %d is not a JSON record: it was edited or cut short" % number))
        seq = record.get("seq")
        if not isinstance(seq, int) or not isinstance(record.get("prev"), str) or not isinstance(record.get("hash"), str):
            return _result(number - 1, head, _problem(
                number, seq, "malformed", "line %d lacks seq, prev or hash: it is not a record of this log" % number))
        if record_hash(record) != record["hash"]:
            return _result(number - 1, head, _problem(
                number, seq, "edited", "line %d (seq %d) was edited: its content does not match its hash"
                                       % (number, seq)))
        if seq != expected:
            where = seqs_later.get(expected)
            if where is not None and where > number:
                return _result(number - 1, head, _problem(
                    number, seq, "reordered", "line %d holds seq %d where seq %d belongs (seq %d is on line %d): "
                                              "records were reordered" % (number, seq, expected, expected, where)))
            if seq > expected:
                missing = ("seq %d" % expected) if seq == expected + 1 else ("seqs %d-%d" % (expected, seq - 1))
                return _result(number - 1, head, _problem(
                    number, seq, "removed", "%s removed before line %d" % (missing, number)))
            return _result(number - 1, head, _problem(
                number, seq, "reordered", "line %d holds seq %d again after seq %d: a record was copied or moved"
                                          % (number, seq, expected - 1)))
        if record["prev"] != prev_hash and number == 1:
            return _result(0, head, _problem(
                1, seq, "edited", "line 1 (seq 1) does not start a chain: its prev was rewritten"))
        if record["prev"] != prev_hash:
            return _result(number - 1, head, _problem(
                number - 1, seq - 1, "edited",
                "line %d (seq %d) does not chain onto line %d: line %d was replaced or rewritten"
                % (number, seq, number - 1, number - 1)))
        if anchor_head and number == anchor_records and record["hash"] != anchor_head:
            return _result(number - 1, head, _problem(
                number, seq, "edited", "line %d (seq %d) is not the record verified before as head %s: "
                                       "the log was rewritten at or before it" % (number, seq, anchor_head[:12])))
        prev_hash = head = record["hash"]
        expected = seq + 1
    if anchor_head and anchor_records and len(parsed) < anchor_records:
        return _result(len(parsed), head, _problem(
            len(parsed) + 1, None, "truncated", "the log holds %d records, fewer than the %d verified before: "
                                                "its tail was removed" % (len(parsed), int(anchor_records))))
    return _result(len(parsed), head, None)


def _result(records, head, first_bad):
    return dict(valid=first_bad is None, records=records, head=head, first_bad=first_bad)


def verify_file(path, anchor=(None, None)):
    """verify_lines over a file; a file that does not exist is an error, an empty one is valid."""
    with open(path, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            data = handle.read()
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return verify_lines(lines, anchor)
