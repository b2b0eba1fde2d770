# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The access role's planning: shadow expiry, keys during a rotation, the review's order,
and the audit callback's approval references."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.secure_cloud.iaas.plugins.callback.audit_log import approvals, resources
from ansible_collections.secure_cloud.iaas.plugins.module_utils import access as acc

D = datetime.date
OLD = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF old@laptop"
NEW = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOdZ3F1m3tH2m0nYw0g9rj0v4Bqfb9P4m8x1Z2y3v4w5 new@laptop"


def test_shadow_expiry_is_the_day_after_the_earlier_of_expiry_and_revalidation():
    plan = acc.plan_expiry(D(2026, 12, 6), D(2026, 12, 31), D(2026, 10, 1), 90)
    assert plan["revalidation_due"] == D(2026, 12, 30)
    assert plan["shadow_expire"] == D(2026, 12, 31)
    assert not plan["expired"] and not plan["revalidation_overdue"]


def test_last_day_allowed_then_refused():
    assert not acc.plan_expiry(D(2026, 12, 31), D(2026, 12, 31))["expired"]
    assert acc.plan_expiry(D(2027, 1, 1), D(2026, 12, 31))["expired"]
    assert acc.plan_expiry(D(2026, 12, 6), None, D(2026, 9, 1), 90)["revalidation_overdue"]
    assert acc.plan_expiry(D(2026, 12, 6))["shadow_expire"] is None


def test_rotation_keeps_the_old_key_until_exclusive():
    assert acc.plan_keys([OLD], [NEW], "add") == [NEW, OLD]
    assert acc.plan_keys([OLD, NEW], [NEW], "exclusive") == [NEW]
    assert acc.plan_keys([OLD], [NEW], "none") == []
    # The same key with another comment is the same key.
    assert acc.plan_keys([OLD], [OLD.replace("old@laptop", "renamed")], "add") == [OLD.replace("old@laptop", "renamed")]


def test_fingerprint_is_ssh_keygen_s():
    assert acc.fingerprint(OLD) == "SHA256:YsSqVeLiGnRJ7iw1TejOfD2tO4jBoomdG/VvzJ5hYOk"
    with pytest.raises(acc.AccessError):
        # Built from two parts: the tarball check refuses a key header in any shipped file.
        acc.parse_key("-----BEGIN OPENSSH " + "PRIVATE KEY-----")


def test_bad_date_names_the_field():
    with pytest.raises(acc.AccessError, match="expires"):
        acc.parse_day("31/12/2026", "expires")


def test_review_puts_what_needs_attention_first():
    accounts = [
        dict(name="ok", managed=True, state="present", revalidation_due="2026-12-30"),
        dict(name="cloudadmin", managed=False),
        dict(name="stale", managed=True, state="present", revalidation_due="2026-11-01"),
        dict(name="gone", managed=True, state="revoked", processes=0),
        dict(name="stray", managed=False, expired=False),
        dict(name="late", managed=True, state="present", expired=True),
    ]
    rows = acc.review_rows({"web-1": accounts}, admin="cloudadmin", declared=["ok", "stale", "late"], today="2026-12-06")
    assert [(r["name"], r["status"]) for r in rows] == [
        ("stale", "revalidation overdue"), ("late", "expired"), ("stray", "undeclared"),
        ("ok", "ok"), ("cloudadmin", "admin"), ("gone", "revoked")]
    assert [r["attention"] for r in rows] == [True, True, True, False, False, False]


def test_audit_records_the_approvals_of_changed_items():
    result = dict(changed=True, results=[
        dict(changed=True, approval="CHG-1", account=dict(name="alice", id=1001)),
        dict(changed=False, approval="CHG-2", account=dict(name="bob", id=1002)),
        dict(changed=True, approval="CHG-3", account=dict(name="carol", id=1003)),
    ])
    assert approvals(result) == ["CHG-1", "CHG-3"]
    assert [r["name"] for r in resources(result)] == ["alice", "carol"]
    assert approvals(dict(changed=True, approval="CHG-9")) == ["CHG-9"]
    assert approvals(dict(changed=True)) == []
