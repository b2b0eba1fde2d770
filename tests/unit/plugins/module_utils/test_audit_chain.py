# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit log's hash chain on a real file: appends, tampering, modes, concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils import audit_chain


def write_log(path, count):
    for number in range(1, count + 1):
        audit_chain.append(str(path), dict(task="task %d" % number, host="web-1", changed=True))


def lines_of(path):
    return path.read_bytes().split(b"\n")[:-1]


def rewrite(path, lines):
    path.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "state" / "audit.log"
    write_log(path, 5)
    return path


def test_intact_log_verifies_and_reports_its_head(log):
    result = audit_chain.verify_file(str(log))
    last = json.loads(lines_of(log)[-1])
    assert result == dict(valid=True, records=5, head=last["hash"], first_bad=None)
    assert [json.loads(line)["seq"] for line in lines_of(log)] == [1, 2, 3, 4, 5]


def test_edited_record_is_named(log):
    lines = lines_of(log)
    lines[2] = lines[2].replace(b"task 3", b"task X")
    rewrite(log, lines)
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert (bad["line"], bad["seq"], bad["kind"]) == (3, 3, "edited")


def test_edited_last_record_is_named(log):
    lines = lines_of(log)
    lines[4] = lines[4].replace(b'"changed":true', b'"changed":false')
    rewrite(log, lines)
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert (bad["line"], bad["kind"]) == (5, "edited")


def test_edit_with_its_hash_recomputed_is_named_by_the_next_link(log):
    lines = lines_of(log)
    record = json.loads(lines[1])
    record["task"] = "innocent"
    record["hash"] = audit_chain.record_hash(record)
    lines[1] = audit_chain.canonical(record).encode()
    rewrite(log, lines)
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert (bad["line"], bad["kind"]) == (2, "edited")
    assert "line 3 (seq 3) does not chain onto line 2" in bad["reason"]


def test_removed_record_is_named(log):
    lines = lines_of(log)
    del lines[2]
    rewrite(log, lines)
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert bad == dict(line=3, seq=4, kind="removed", reason="seq 3 removed before line 3")


def test_removed_first_record_is_named(log):
    rewrite(log, lines_of(log)[1:])
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert (bad["line"], bad["kind"], bad["reason"]) == (1, "removed", "seq 1 removed before line 1")


def test_reordered_records_are_named(log):
    lines = lines_of(log)
    lines[1], lines[3] = lines[3], lines[1]
    rewrite(log, lines)
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert (bad["line"], bad["seq"], bad["kind"]) == (2, 4, "reordered")
    assert "seq 2 is on line 4" in bad["reason"]


def test_garbage_line_is_named(log):
    lines = lines_of(log)
    lines[3] = b"{not json"
    rewrite(log, lines)
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert (bad["line"], bad["kind"]) == (4, "malformed")


def test_cut_tail_is_caught_against_a_kept_head(log):
    kept = audit_chain.verify_file(str(log))
    rewrite(log, lines_of(log)[:3])
    assert audit_chain.verify_file(str(log))["valid"]
    bad = audit_chain.verify_file(str(log), anchor=(kept["head"], kept["records"]))["first_bad"]
    assert (bad["line"], bad["kind"]) == (4, "truncated")
    write_log(log, 3)
    bad = audit_chain.verify_file(str(log), anchor=(kept["head"], kept["records"]))["first_bad"]
    assert (bad["line"], bad["kind"]) == (5, "edited")


def test_append_after_a_torn_line_keeps_the_torn_line_named(log):
    with open(str(log), "ab") as handle:
        handle.write(b'{"seq":6,"ta')
    audit_chain.append(str(log), dict(task="after crash"))
    bad = audit_chain.verify_file(str(log))["first_bad"]
    assert (bad["line"], bad["kind"]) == (6, "malformed")


def test_new_log_is_0600_in_a_0700_directory_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "new" / "audit.log"
        audit_chain.append(str(path), dict(task="t"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_wider_log_is_made_private_and_said_so(log):
    os.chmod(str(log), 0o644)
    _record, warning = audit_chain.append(str(log), dict(task="t"))
    assert warning == "%s had mode 0644; it is now 0600" % log
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_symbolic_link_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "audit.log"
    link.symlink_to(target)
    with pytest.raises(audit_chain.AuditLogError, match="symbolic link"):
        audit_chain.append(str(link), dict(task="t"))
    assert target.read_text() == ""


def _writer(path, name, count):
    for number in range(count):
        audit_chain.append(path, dict(task="%s-%d" % (name, number)))


def test_concurrent_writers_build_one_valid_chain(tmp_path):
    path = str(tmp_path / "audit.log")
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_writer, args=(path, "w%d" % n, 40)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    result = audit_chain.verify_file(path)
    assert result["valid"], result["first_bad"]
    assert result["records"] == 160
