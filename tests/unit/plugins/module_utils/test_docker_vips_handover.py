# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order of a planned hand-over to keepalived: release, wait for the new holder, rejoin.

A recording guest stands in for the instances: which holder VRRP elects is
keepalived's business (proven by the failover drill and the site scenario);
here only what the provider asks, and in which order, is checked.
"""

from __future__ import annotations

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import vips as docker_vips
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import HANDOVER_HOOK

VIP = dict(name="web", vlan="app", address="10.250.1.200", prefixlen=24)


class Instances(object):
    """Two instances with keepalived (the Instances driver's part a move uses): a release on the holder
    makes the partner the holder (when it answers)."""

    def __init__(self, partner_answers, hooks):
        self.calls, self.holder, self.partner_answers, self.hooks = [], "a", partner_answers, hooks

    def run_in(self, name, argv):
        self.calls.append((name, argv[-1]))
        if argv[0] == "test":
            return (0 if name in self.hooks else 1), ""
        if argv == [HANDOVER_HOOK, "release"]:
            self.holder = "b" if self.partner_answers else None
        return 0, ""

    def pid(self, name):
        return 4242


class Guests(docker_vips.Vips):
    def __init__(self, partner_answers=True, hooks=("a",)):
        super(Guests, self).__init__(engine=None, store=None, instances=Instances(partner_answers, hooks), run=None)
        self.calls = self.instances.calls

    @property
    def holder(self):
        return self.instances.holder

    def _holds(self, name, address):
        return self.instances.holder == name


def test_a_keepalived_holder_is_asked_to_give_way_then_rejoins():
    guests = Guests()
    guests._move(VIP, "b", ["a"], site=None)
    assert guests.calls == [("a", HANDOVER_HOOK), ("a", "release"), ("a", "rejoin")]
    assert guests.holder == "b"


def test_a_hand_over_that_does_not_happen_fails_on_holder_and_the_node_rejoins(monkeypatch):
    monkeypatch.setattr(docker_vips, "HANDOVER_TIMEOUT", 0.1)
    guests = Guests(partner_answers=False)
    with pytest.raises(IaasError) as err:
        guests._move(VIP, "b", ["a"], site=None)
    assert err.value.field == "holder"
    assert "did not move to b" in str(err.value) and "keepalived" in err.value.fix
    assert guests.calls[-1] == ("a", "rejoin")


class Released(Instances):
    """STATUS: what each instance's hook answers to "status" ((exit code, output)); STOPPED: not running."""

    def __init__(self, status, stopped=()):
        super(Released, self).__init__(partner_answers=True, hooks=tuple(status))
        self.status, self.stopped = status, stopped

    def run_in(self, name, argv):
        self.calls.append((name, argv[-1]))
        return self.status[name] if argv[-1] == "status" else (0, "")

    def pid(self, name):
        return None if name in self.stopped else 4242


def released(status, stopped=()):
    guests = Guests()
    guests.instances = Released(status, stopped)
    return guests


def test_a_node_left_given_way_by_a_move_cut_short_rejoins():
    # The controller was killed between release and rejoin: keepalived on "a" is in FAULT.
    guests = released({"a": (0, "released"), "b": (0, "joined")})
    assert guests.rejoin_released(dict(VIP, allowed_instances=["a", "b"])) == ["a"]
    assert guests.instances.calls == [("a", "status"), ("b", "status"), ("a", "rejoin")]


def test_check_mode_only_asks_and_an_old_or_missing_hook_or_a_stopped_node_is_left_alone():
    # An older hook answers "usage: ... release|rejoin" with exit 2; no hook: the exec fails (127).
    guests = released({"a": (0, "released"), "b": (2, "usage"), "c": (127, "no such file"), "d": (0, "released")},
                      stopped=("d",))
    assert guests.rejoin_released(dict(VIP, allowed_instances=["a", "b", "c", "d"]), apply=False) == ["a"]
    assert ("a", "rejoin") not in guests.instances.calls and ("d", "status") not in guests.instances.calls
