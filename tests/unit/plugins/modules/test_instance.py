# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance and instance_info modules, driven through main() on a provider in memory."""

from __future__ import annotations

import pytest

from ansible_collections.secure_cloud.iaas.plugins.modules import instance, instance_info

from conftest import DEBIAN12_ID

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF admin@example"
WEB = dict(name="web-1", image="debian12", location="fra1",
           networks=[dict(vlan="front"), dict(vlan="back", ip="10.210.2.10")])

# Built from two parts: the collection tarball must hold no private key header (scripts/check_tarball.sh).
PRIVATE_KEY_HEADER = "-----BEGIN OPENSSH PRIVATE" + " KEY-----"


@pytest.fixture
def cloud(provider):
    provider.add_vlan("front", "fra1", "10.210.1.0/24", "public")
    provider.add_vlan("back", "fra1", "10.210.2.0/24")
    provider.add_vlan("remote", "ams1", "10.210.3.0/24")
    provider.add_instance("db-1", "fra1", [dict(vlan="back", ip="10.210.2.20")])
    return provider


def with_networks(*networks, **kw):
    return dict(WEB, networks=list(networks), **kw)


@pytest.mark.parametrize("args, message", [
    (with_networks(dict(vlan="front", ip="10.210.9.9")), "networks[0].ip: 10.210.9.9 is outside vlan front (10.210.1.0/24)"),
    (with_networks(dict(vlan="front", ip="10.210.1.200")),
     "networks[0].ip: 10.210.1.200 is inside the vip_range 10.210.1.192/26 of vlan front, which is reserved for vips"),
    (with_networks(dict(vlan="front"), dict(vlan="back", ip="10.210.2.20")),
     "networks[1].ip: 10.210.2.20 on vlan back is already used by instance db-1"),
    (with_networks(dict(vlan="front", ip="10.210.1.1")), "networks[0].ip: 10.210.1.1 is the gateway of vlan front"),
    (with_networks(dict(vlan="front", ip="10.210.1.0")), "networks[0].ip: 10.210.1.0 is the network or broadcast address"),
    (with_networks(dict(vlan="front", ip="10.210.1.x")), "networks[0].ip: '10.210.1.x' is not a valid IPv4 address"),
    (with_networks(dict(vlan="front"), dict(vlan="dmz")),
     "networks[1].vlan: vlan 'dmz' does not exist. Fix: create it first with secure_cloud.iaas.vlan, or use one of: back, front"),
    (with_networks(dict(vlan="front"), dict(vlan="remote")),
     "networks[1].vlan: vlan remote is in location ams1, not fra1: an instance only joins vlans of its own location"),
    (with_networks(dict(vlan="front"), dict(vlan="front")), "networks[1].vlan: vlan front is listed twice"),
    (with_networks(), "networks: an instance needs at least one network"),
    (dict(WEB, image="centos7"), "image: 'centos7' is not in the image catalog. Fix: use one of: debian12, debian13"),
    (dict(WEB, image_digest="sha256:" + "c" * 64),
     "image_digest: image debian12 is %s, not the pinned sha256:%s" % (DEBIAN12_ID, "c" * 64)),
    (dict(WEB, image_digest="latest"), "image_digest: 'latest' is not a digest"),
    (dict(WEB, name="web_1"), "name: 'web_1' is not a legal name"),
    (dict(WEB, name="-web"), "name: '-web' is not a legal name"),
    (dict(WEB, hostname="web 1"), "hostname: 'web 1' is not a legal hostname"),
    (dict(WEB, admin_user="root"), "admin_user: 'root' is not a legal admin user"),
    (dict(WEB, ssh_public_keys=[PRIVATE_KEY_HEADER]),
     "ssh_public_keys: entry 0 is not an OpenSSH public key"),
    (dict(WEB, memory="lots"), "memory: 'lots' is not a memory size"),
    (dict(WEB, allowed_locations=["ams1"]),
     "location: location 'fra1' is outside allowed_locations ['ams1']: the data-residency policy refuses it"),
    (dict(WEB, location=None), "location: is required to create an instance"),
])
def test_bad_input_fails_naming_the_field_and_creates_nothing(cloud, run_module, args, message):
    failed, result = run_module(instance.main, args)
    assert failed
    assert message in result["msg"]
    assert "Fix: " in result["msg"]
    assert cloud.writes == [] and sorted(cloud.instances) == ["db-1"]


def test_a_private_key_never_reaches_the_output(cloud, run_module):
    secret = PRIVATE_KEY_HEADER + " b3BlbnNzaC1rZXktdjEAAAAA"
    dummy, result = run_module(instance.main, dict(WEB, ssh_public_keys=[secret]))
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in result["msg"]


def test_create_allocates_outside_the_vip_range_in_interface_order(cloud, run_module):
    failed, result = run_module(instance.main, dict(WEB, ssh_public_keys=[KEY]))
    assert not failed and result["changed"]
    inst = result["instance"]
    assert [(n["vlan"], n["ip"], n["interface"]) for n in inst["networks"]] == [
        ("front", "10.210.1.2", "eth0"), ("back", "10.210.2.10", "eth1")]
    assert (inst["instance_type"], inst["cpus"], inst["memory"]) == ("small", 0.5, "512m")
    assert inst["hostname"] == "web-1" and inst["admin_user"] == "cloudadmin"
    assert inst["image_id"] == DEBIAN12_ID


def test_allocation_skips_taken_addresses_and_stops_at_the_vip_range(provider, run_module):
    provider.add_vlan("tiny", "fra1", "10.210.4.0/29")  # hosts .1-.6, gateway .1, vips .6-.7
    failed, result = run_module(instance.main, dict(WEB, networks=[dict(vlan="tiny", ip="10.210.4.2")]))
    assert not failed
    got = []
    for name in ("b", "c", "d"):
        failed, result = run_module(instance.main, dict(WEB, name=name, networks=[dict(vlan="tiny")]))
        assert not failed
        got.append(result["instance"]["networks"][0]["ip"])
    assert got == ["10.210.4.3", "10.210.4.4", "10.210.4.5"]
    failed, result = run_module(instance.main, dict(WEB, name="e", networks=[dict(vlan="tiny")]))
    assert failed and "networks[0].ip: vlan tiny has no free address outside its vip_range" in result["msg"]


def test_check_mode_predicts_and_creates_nothing(cloud, run_module):
    failed, result = run_module(instance.main, WEB, check=True, diff=True)
    assert not failed and result["changed"]
    assert result["instance"]["networks"][0]["ip"] == "10.210.1.2"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["name"] == "web-1"
    assert cloud.writes == [] and "web-1" not in cloud.instances


def test_second_identical_run_changes_nothing(cloud, run_module):
    run_module(instance.main, dict(WEB, ssh_public_keys=[KEY], instance_type="medium", state="running"))
    failed, result = run_module(instance.main, dict(WEB, ssh_public_keys=[KEY], instance_type="medium",
                                                    state="running"), diff=True)
    assert not failed and not result["changed"]
    assert result["diff"]["before"] == result["diff"]["after"]
    assert cloud.writes == [("create_instance", "web-1"), ("wait", "web-1")]


def test_a_boot_that_times_out_fails_and_removes_the_instance(cloud, run_module):
    cloud.boot_fails = True
    failed, result = run_module(instance.main, dict(WEB, wait_timeout=5))
    assert failed and result["msg"].startswith("wait_timeout: instance did not finish booting within wait_timeout=5s")
    assert cloud.writes == [("create_instance", "web-1"), ("wait", "web-1"), ("delete_instance", "web-1")]
    assert "web-1" not in cloud.instances


def test_no_wait_means_no_wait(cloud, run_module):
    failed, result = run_module(instance.main, dict(WEB, wait=False))
    assert not failed and cloud.writes == [("create_instance", "web-1")]


@pytest.mark.parametrize("change, field", [
    (dict(image="debian13"), "image: instance web-1 has debian12, the request asks debian13"),
    (with_networks(dict(vlan="front", ip="10.210.1.9"), dict(vlan="back")), "networks[0].ip: instance web-1 has 10.210.1.2"),
    (with_networks(dict(vlan="back")), "networks: instance web-1 has ['front', 'back'], the request asks ['back']"),
    (dict(hostname="www"), "hostname: instance web-1 has web-1, the request asks www"),
    (dict(labels={"role": "db"}), "labels: instance web-1 has {}"),
])
def test_immutable_change_without_recreate_fails_naming_the_field(cloud, run_module, change, field):
    run_module(instance.main, WEB)
    failed, result = run_module(instance.main, dict(WEB, **change))
    assert failed
    assert result["msg"].startswith(field)
    assert "set recreate: true" in result["msg"]
    assert cloud.writes == [("create_instance", "web-1"), ("wait", "web-1")]


def test_recreate_replaces_and_keeps_addresses_not_named(cloud, run_module):
    run_module(instance.main, WEB)
    failed, result = run_module(instance.main, dict(WEB, image="debian13", recreate=True), diff=True)
    assert not failed and result["changed"]
    assert result["diff"]["before"]["image"] == "debian12" and result["instance"]["image"] == "debian13"
    assert [n["ip"] for n in result["instance"]["networks"]] == ["10.210.1.2", "10.210.2.10"]
    assert cloud.writes[2:] == [("delete_instance", "web-1"), ("create_instance", "web-1"), ("wait", "web-1")]


def test_an_instance_never_moves_between_locations_even_with_recreate(cloud, run_module):
    run_module(instance.main, WEB)
    failed, result = run_module(instance.main, dict(WEB, location="ams1", networks=[dict(vlan="remote")], recreate=True))
    assert failed
    assert "location: instance web-1 is in location fra1; a resource never moves between locations" in result["msg"]


def test_a_failed_creation_leaves_nothing(cloud, run_module):
    cloud.fail_on_network = "back"
    failed, result = run_module(instance.main, WEB)
    assert failed and "Docker refused to attach web-1 to vlan back" in result["msg"]
    assert "web-1" not in cloud.instances


def test_sizes_and_keys_change_in_place(cloud, run_module):
    run_module(instance.main, WEB)
    failed, result = run_module(instance.main, dict(name="web-1", cpus=1.5, memory="2g", ssh_public_keys=[KEY]),
                                check=True)
    assert not failed and result["changed"]
    assert (result["instance"]["cpus"], result["instance"]["memory"], result["instance"]["instance_type"]) == (1.5, "2g", "custom")
    assert cloud.writes == [("create_instance", "web-1"), ("wait", "web-1")]
    failed, result = run_module(instance.main, dict(name="web-1", instance_type="large", ssh_public_keys=[KEY]))
    assert not failed and result["changed"] and result["instance"]["instance_type"] == "large"
    assert cloud.writes[-1] == ("update_instance", "web-1", ["cpus", "memory", "ssh_public_keys"])


@pytest.mark.parametrize("state, start, expected_write, changed", [
    ("stopped", "running", ("stop", "web-1"), True),
    ("stopped", "stopped", None, False),
    ("running", "stopped", ("start", "web-1"), True),
    ("present", "stopped", None, False),
    ("restarted", "running", ("restart", "web-1"), True),
])
def test_run_states(cloud, run_module, state, start, expected_write, changed):
    cloud.add_instance("web-1", "fra1", [dict(vlan="front", ip="10.210.1.2")], state=start)
    failed, result = run_module(instance.main, dict(name="web-1", state=state))
    assert not failed and result["changed"] == changed
    assert cloud.writes == ([expected_write] if expected_write else [])


def test_create_stopped(cloud, run_module):
    failed, result = run_module(instance.main, dict(WEB, state="stopped"))
    # The module asked the provider for a container that does not run, and
    # waited for no boot (what the engine then does: molecule/provisioning).
    assert not failed and result["changed"]
    assert cloud.last_create == dict(run=False, wait=False)
    assert cloud.writes == [("create_instance", "web-1")]


def test_delete(cloud, run_module):
    failed, result = run_module(instance.main, dict(name="db-1", state="absent"))
    assert not failed and result["changed"] and "db-1" not in cloud.instances
    failed, result = run_module(instance.main, dict(name="db-1", state="absent"))
    assert not failed and not result["changed"]


def test_wait_timeout_must_be_positive(cloud, run_module):
    failed, result = run_module(instance.main, dict(WEB, wait_timeout=0))
    assert failed and result["msg"].startswith("wait_timeout: must be at least 1 second")


def test_info_filters_and_returns_an_empty_list(cloud, run_module):
    cloud.add_instance("web-1", "fra1", [dict(vlan="front", ip="10.210.1.2")])
    cloud.instances["web-1"]["labels"] = {"role": "web"}
    cloud.add_instance("far-1", "ams1", [dict(vlan="remote", ip="10.210.3.2")])
    dummy, result = run_module(instance_info.main, {})
    assert [i["name"] for i in result["instances"]] == ["db-1", "far-1", "web-1"]
    dummy, result = run_module(instance_info.main, dict(location="fra1"))
    assert [i["name"] for i in result["instances"]] == ["db-1", "web-1"]
    dummy, result = run_module(instance_info.main, dict(labels={"role": "web"}))
    assert [i["name"] for i in result["instances"]] == ["web-1"]
    dummy, result = run_module(instance_info.main, dict(name="web-9"))
    assert result["instances"] == []


def test_info_and_module_share_the_shape(cloud, run_module):
    dummy, created = run_module(instance.main, WEB)
    dummy, listed = run_module(instance_info.main, dict(name="web-1"))
    assert listed["instances"] == [created["instance"]]
