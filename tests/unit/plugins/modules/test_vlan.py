# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vlan and vlan_info modules, driven through main() on a provider in memory."""

from __future__ import annotations

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.secure_cloud.iaas.plugins.modules import vlan, vlan_info

FRONT = dict(name="front", location="fra1", type="public", cidr="10.210.1.0/24")


@pytest.mark.parametrize("args, message", [
    (dict(cidr="10.210.1.0"), "cidr: '10.210.1.0' is not in CIDR notation"),
    (dict(cidr="10.210.300.0/24"), "cidr: '10.210.300.0/24' is not a valid IPv4 network"),
    (dict(cidr="10.210.1.5/24"), "cidr: 10.210.1.5/24 has host bits set. Fix: use the network address: 10.210.1.0/24"),
    (dict(cidr="10.210.1.0/31"), "cidr: prefix length /31 is out of range"),
    (dict(cidr="10.210.9.0/24"), "cidr: 10.210.9.0/24 overlaps 10.210.8.0/22 (vlan back in fra1)"),
    (dict(cidr="192.0.2.128/25"), "cidr: 192.0.2.128/25 overlaps 192.0.2.0/24 (a route of the host via eth0)"),
    (dict(gateway="10.210.2.1"), "gateway: 10.210.2.1 is outside the cidr 10.210.1.0/24"),
    (dict(gateway="10.210.1.255"), "gateway: 10.210.1.255 is the network or broadcast address of 10.210.1.0/24"),
    (dict(vip_range="10.210.2.0/26"), "vip_range: 10.210.2.0/26 is outside the cidr 10.210.1.0/24"),
    (dict(vip_range="10.210.1.0-10.210.1.20"), "vip_range: 10.210.1.0-10.210.1.20 holds the gateway 10.210.1.1"),
    (dict(vip_range="10.210.1.0/24"), "vip_range: 10.210.1.0/24 holds the gateway"),
    (dict(vip_range="top"), "vip_range: 'top' is not an address range"),
    (dict(name="Front_1"), "name: 'Front_1' is not a legal name"),
    (dict(location="Frankfurt 1"), "location: 'Frankfurt 1' is not a legal name"),
    (dict(location=None), "location: is required to create a vlan"),
    (dict(labels={"Bad Key": "x"}), "labels: label key 'Bad Key' is not legal"),
])
def test_bad_input_fails_naming_the_field_and_creates_nothing(provider, run_module, args, message):
    provider.add_vlan("back", "fra1", "10.210.8.0/22")
    failed, result = run_module(vlan.main, dict(FRONT, **args))
    assert failed
    assert message in result["msg"]
    assert "Fix: " in result["msg"]
    assert provider.writes == []


def test_defaults_gateway_first_host_and_vip_range_top_quarter(provider, run_module):
    failed, result = run_module(vlan.main, FRONT)
    assert not failed and result["changed"]
    assert result["vlan"]["gateway"] == "10.210.1.1"
    assert result["vlan"]["vip_range"] == "10.210.1.192/26"
    assert result["vlan"]["automatic_range"] == "10.210.1.0/25"
    assert provider.writes == [("create_vlan", "front")]


def test_type_defaults_to_private(provider, run_module):
    failed, result = run_module(vlan.main, dict(name="back", location="fra1", cidr="10.210.2.0/24"))
    assert not failed and result["vlan"]["type"] == "private"


def test_a_vlan_the_provider_cannot_isolate_from_here_is_refused_unless_accepted(provider, run_module, monkeypatch):
    # Recorded at the source: once controller code is imported in this process
    # (the inventory tests), a module's warnings no longer reach its JSON.
    warned = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning: warned.append(warning))
    back = dict(name="back", location="fra1", cidr="10.210.2.0/24")
    failed, result = run_module(vlan.main, back)
    assert not failed and warned == []  # the control: isolation enforced, nothing said
    provider.enforces = ()  # as the docker provider says of a remote engine
    provider.writes = []
    failed, result = run_module(vlan.main, dict(back, name="back2", cidr="10.210.3.0/24"))
    assert failed and "docker_host: the fake provider cannot keep this vlan apart" in result["msg"]
    assert "accept_unenforced_isolation: true" in result["msg"] and provider.writes == []
    failed, result = run_module(vlan.main, dict(back, name="back2", cidr="10.210.3.0/24", accept_unenforced_isolation=True))
    assert not failed and result["changed"] and any("cannot keep this vlan apart" in w for w in warned), warned
    # Deleting weakens nothing: never refused.
    failed, result = run_module(vlan.main, dict(name="back2", state="absent"))
    assert not failed and result["changed"]


def test_a_vlan_has_nothing_to_wait_for_so_no_wait_option(provider, run_module):
    failed, result = run_module(vlan.main, dict(FRONT, wait=True))
    assert failed and "Unsupported parameters" in result["msg"] and "wait" in result["msg"]
    assert "wait" not in vlan.VlanModule.argument_spec and provider.writes == []


def test_a_run_that_finds_the_host_drifted_mends_it_and_says_so(provider, run_module):
    provider.add_vlan("front", "fra1", "10.210.1.0/24", vlan_type="public")
    failed, result = run_module(vlan.main, FRONT)
    assert not failed and not result["changed"] and "repaired" not in result  # the control: nothing adrift
    provider.drifted = ["vlan isolation table", "vip guard"]
    failed, result = run_module(vlan.main, FRONT, check=True)
    assert not failed and result["changed"] and result["repaired"] == ["vlan isolation table", "vip guard"]
    assert provider.writes == []  # check mode only looks
    failed, result = run_module(vlan.main, FRONT)
    assert not failed and result["changed"] and result["repaired"] == ["vlan isolation table", "vip guard"]
    assert provider.writes == [("repair_host", ["vlan isolation table", "vip guard"])]
    failed, result = run_module(vlan.main, FRONT)
    assert not failed and not result["changed"]


def test_drift_the_platforms_keeper_mends_in_time_is_not_this_runs_change(provider, run_module):
    # An instance another run restarted: the docker host agent puts its port in the guard within
    # capabilities().settles; the run waits for that instead of reporting it.
    provider.add_vlan("front", "fra1", "10.210.1.0/24", vlan_type="public")
    provider.drifted, provider.settles, provider.keeper_mends_after = ["vip guard"], 5.0, 2
    failed, result = run_module(vlan.main, FRONT)
    assert not failed and not result["changed"] and provider.writes == []
    # The control: a keeper that does not come in time leaves it to the run.
    provider.drifted, provider.settles, provider.keeper_mends_after = ["vip guard"], 0.5, 100
    failed, result = run_module(vlan.main, FRONT)
    assert not failed and result["changed"] and result["repaired"] == ["vip guard"]
    assert provider.writes == [("repair_host", ["vip guard"])]


def test_check_mode_predicts_and_creates_nothing(provider, run_module):
    failed, result = run_module(vlan.main, FRONT, check=True, diff=True)
    assert not failed and result["changed"]
    assert result["vlan"]["cidr"] == "10.210.1.0/24" and result["vlan"]["id"] is None
    assert result["diff"] == dict(before={}, after=result["vlan"])
    assert provider.writes == [] and provider.vlans == {}


def test_second_identical_run_changes_nothing(provider, run_module):
    run_module(vlan.main, dict(FRONT, vip_range="10.210.1.192-10.210.1.255"))
    failed, result = run_module(vlan.main, dict(FRONT, vip_range="10.210.1.192/26"), diff=True)
    assert not failed and not result["changed"]
    assert result["diff"]["before"] == result["diff"]["after"]
    assert provider.writes == [("create_vlan", "front")]


def test_changing_a_field_fails_naming_it(provider, run_module):
    run_module(vlan.main, FRONT)
    failed, result = run_module(vlan.main, dict(FRONT, cidr="10.210.7.0/24"))
    assert failed
    assert result["msg"].startswith("cidr: vlan front has 10.210.1.0/24, the request asks 10.210.7.0/24")


def test_a_vlan_never_moves_between_locations(provider, run_module):
    run_module(vlan.main, FRONT)
    failed, result = run_module(vlan.main, dict(FRONT, location="ams1"))
    assert failed
    assert "location: vlan front is in location fra1; a resource never moves between locations" in result["msg"]


def test_location_outside_allowed_locations_is_refused(provider, run_module):
    failed, result = run_module(vlan.main, dict(FRONT, allowed_locations=["ams1", "par1"]))
    assert failed
    assert ("location: location 'fra1' is outside allowed_locations ['ams1', 'par1']: "
            "the data-residency policy refuses it") in result["msg"]
    assert provider.writes == []


def test_allowed_locations_from_the_environment(provider, run_module, monkeypatch):
    monkeypatch.setenv("SECURE_CLOUD_ALLOWED_LOCATIONS", "ams1,par1")
    failed, result = run_module(vlan.main, FRONT)
    assert failed and "data-residency policy" in result["msg"]
    monkeypatch.setenv("SECURE_CLOUD_ALLOWED_LOCATIONS", "ams1,fra1")
    failed, result = run_module(vlan.main, FRONT)
    assert not failed and result["changed"]


def test_deleting_a_vlan_in_use_names_the_instances(provider, run_module):
    provider.add_vlan("front", "fra1", "10.210.1.0/24", "public")
    provider.add_instance("web-2", "fra1", [dict(vlan="front", ip="10.210.1.3")])
    provider.add_instance("web-1", "fra1", [dict(vlan="front", ip="10.210.1.2")])
    failed, result = run_module(vlan.main, dict(name="front", state="absent"))
    assert failed
    assert "state: vlan front is still used by instances: web-1, web-2" in result["msg"]
    assert "front" in provider.vlans


@pytest.mark.parametrize("check", [True, False])
def test_deleting_a_vlan_that_holds_a_vip_names_the_vip(provider, run_module, check):
    provider.add_vlan("front", "fra1", "10.210.1.0/24", "public")
    provider.vips.append(dict(name="web", vlan="front", address="10.210.1.200"))
    failed, result = run_module(vlan.main, dict(name="front", state="absent"), check=check)
    assert failed
    assert "state: vlan front still holds vips: web" in result["msg"] and "secure_cloud.iaas.vip" in result["msg"]
    assert "front" in provider.vlans and provider.writes == []


def test_delete_then_delete_again(provider, run_module):
    provider.add_vlan("front", "fra1", "10.210.1.0/24", "public")
    failed, result = run_module(vlan.main, dict(name="front", state="absent"), check=True)
    assert not failed and result["changed"] and "front" in provider.vlans
    failed, result = run_module(vlan.main, dict(name="front", state="absent"), diff=True)
    assert not failed and result["changed"] and result["diff"]["after"] == {}
    failed, result = run_module(vlan.main, dict(name="front", state="absent"))
    assert not failed and not result["changed"]
    assert provider.vlans == {}


def test_info_filters_and_returns_an_empty_list(provider, run_module):
    provider.add_vlan("front", "fra1", "10.210.1.0/24", "public")
    provider.add_vlan("back", "ams1", "10.210.2.0/24")
    provider.vlans["back"]["labels"] = {"tier": "db"}
    dummy, result = run_module(vlan_info.main, {})
    assert [v["name"] for v in result["vlans"]] == ["back", "front"]
    dummy, result = run_module(vlan_info.main, dict(location="fra1"))
    assert [v["name"] for v in result["vlans"]] == ["front"]
    dummy, result = run_module(vlan_info.main, dict(labels={"tier": "db"}))
    assert [v["name"] for v in result["vlans"]] == ["back"]
    dummy, result = run_module(vlan_info.main, dict(name="nothing"))
    assert result["vlans"] == [] and not result["changed"]


def test_info_and_module_share_the_shape(provider, run_module):
    dummy, created = run_module(vlan.main, FRONT)
    dummy, listed = run_module(vlan_info.main, dict(name="front"))
    assert listed["vlans"] == [created["vlan"]]
