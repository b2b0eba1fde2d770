# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vip module's wait: after a move, until the network shows the new holder alone (outside the lock)."""

from __future__ import annotations

import contextlib

import pytest

from ansible_collections.secure_cloud.iaas.plugins.modules import vip

WEB = dict(name="web", vlan="app", allowed_instances=["web-1", "web-2"])


@pytest.fixture
def site(provider, monkeypatch):
    """The fake provider with vips in memory; the network shows a move only after LAG reads."""
    monkeypatch.setattr(vip, "WAIT_INTERVAL", 0.01)
    provider.add_vlan("app", "fra1", "10.210.2.0/24")
    for name, ip in (("web-1", "10.210.2.11"), ("web-2", "10.210.2.12")):
        provider.add_instance(name, "fra1", [dict(vlan="app", ip=ip)])
    provider.lag = 0
    provider.reads = []
    provider.in_transaction = False
    network = {}  # name: [holders] the network shows

    @contextlib.contextmanager
    def transaction():
        provider.in_transaction = True
        try:
            yield provider
        finally:
            provider.in_transaction = False

    def list_vips():
        out = []
        for rec in provider.vips:
            shown = network.get(rec["name"], [])
            if provider.lag_left.get(rec["name"]):
                provider.lag_left[rec["name"]] -= 1
                shown = rec["old_holders"]
            out.append(dict(rec, holders=list(shown), holder=shown[0] if len(shown) == 1 else None))
        return out

    def get_vip(name):
        provider.reads.append(provider.in_transaction)
        return next((v for v in list_vips() if v["name"] == name), None)

    def move(rec, holder, old):
        rec.update(stored_holder=holder, old_holders=old)
        network[rec["name"]] = [holder] if holder else []
        provider.lag_left[rec["name"]] = provider.lag

    def create_vip(spec):
        provider.writes.append(("create_vip", spec["name"]))
        rec = dict(spec, id=spec["name"])
        provider.vips.append(rec)
        move(rec, spec["holder"], [])
        return dict(rec, holders=[], holder=None)  # as read at once: not there yet

    def update_vip(current, changes):
        provider.writes.append(("update_vip", current["name"], sorted(changes)))
        rec = next(v for v in provider.vips if v["name"] == current["name"])
        for field in ("allowed_instances", "labels"):
            if field in changes:
                rec[field] = changes[field]
        if "holder" in changes:
            move(rec, changes["holder"], current["holders"])
        return dict(rec, holders=current["holders"], holder=current["holder"])

    provider.lag_left = {}
    monkeypatch.setattr(provider, "transaction", transaction)
    monkeypatch.setattr(provider, "list_vips", list_vips)
    monkeypatch.setattr(provider, "get_vip", get_vip)
    monkeypatch.setattr(provider, "create_vip", create_vip)
    monkeypatch.setattr(provider, "update_vip", update_vip)
    return provider


def test_a_move_waits_until_the_new_holder_alone_has_the_address_outside_the_lock(site, run_module):
    site.lag = 3
    failed, result = run_module(vip.main, dict(WEB, holder="web-1"))
    assert not failed and result["changed"]
    assert result["vip"]["holders"] == ["web-1"] and result["vip"]["holder"] == "web-1"
    site.reads = []
    failed, result = run_module(vip.main, dict(WEB, holder="web-2"))
    assert not failed and result["vip"]["holders"] == ["web-2"]
    # One read under the lock (planning), then the wait's reads outside it, until the lag is over.
    assert site.reads[0] is True and site.reads[1:] and not any(site.reads[1:]), site.reads
    assert len(site.reads) - 1 == 4


def test_a_release_waits_until_nobody_holds_it(site, run_module):
    run_module(vip.main, dict(WEB, holder="web-1"))
    site.lag = 2
    failed, result = run_module(vip.main, dict(WEB, holder=None))
    assert not failed and result["changed"] and result["vip"]["holders"] == [] and result["vip"]["holder"] is None


def test_the_control_wait_false_returns_what_the_move_returned_without_reading_again(site, run_module):
    site.lag = 3
    site.reads = []
    failed, result = run_module(vip.main, dict(WEB, holder="web-1", wait=False))
    assert not failed and result["changed"] and result["vip"]["holders"] == []  # not there yet, as the provider said
    assert site.reads == [True]  # only the planning read


def test_a_move_the_network_never_shows_fails_naming_wait_timeout_and_who_holds_it(site, run_module):
    run_module(vip.main, dict(WEB, holder="web-1"))
    site.lag = 10 ** 6
    failed, result = run_module(vip.main, dict(WEB, holder="web-2", wait_timeout=1))
    assert failed
    assert result["msg"].startswith("wait_timeout: vip web is held by web-1 on the network, not by web-2 alone, "
                                    "after wait_timeout=1s. Fix: "), result["msg"]


def test_a_run_that_moves_nothing_waits_for_nothing(site, run_module):
    run_module(vip.main, dict(WEB, holder="web-1"))
    site.lag = 10 ** 6  # a wait would time out
    site.reads = []
    failed, result = run_module(vip.main, dict(WEB, labels={"tier": "web"}, wait_timeout=1))
    assert not failed and result["changed"] and site.reads == [True]
