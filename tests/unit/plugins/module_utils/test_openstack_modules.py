# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real modules' main() with provider: openstack against the cloud behind requests-mock.

Check mode writes nothing to the cloud; a second identical run reports no
change and writes nothing; the secret auth option never reaches the output.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

pytest.importorskip("openstack")
pytest.importorskip("requests_mock")

sys.path.insert(0, os.path.dirname(__file__))

from openstack_fake_cloud import IDENTITY, modules_on_fake_cloud  # noqa: E402  pylint: disable=wrong-import-position

from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.secure_cloud.iaas.plugins.modules import instance, instance_info, vip, vlan, vlan_info  # noqa: E402

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF admin@example"


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    yield from modules_on_fake_cloud(tmp_path, monkeypatch)


@pytest.fixture
def run(capsys):
    def run_module(main, args, check=False, diff=True):
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result["_raw"] = out
        return bool(exc.value.code) or bool(result.get("failed")), result
    return run_module


FRONT = dict(name="front", location="fra1", type="public", cidr="10.210.1.0/24")
APP = dict(name="app", location="fra1", type="private", cidr="10.210.2.0/24")


def cloud_writes(cloud):
    return [c for c in cloud.writes() if not c[1].startswith(IDENTITY)]


def test_vlan_check_mode_then_create_then_unchanged(cloud, run):
    failed, result = run(vlan.main, FRONT, check=True)
    assert not failed and result["changed"] and result["vlan"]["id"] is None
    assert cloud_writes(cloud) == []
    failed, result = run(vlan.main, FRONT)
    assert not failed and result["changed"] and result["vlan"]["provider"] == "openstack"
    made = len(cloud_writes(cloud))
    failed, again = run(vlan.main, dict(FRONT, vip_range="10.210.1.192-10.210.1.255"))
    assert not failed and not again["changed"] and again["vlan"] == result["vlan"]
    assert len(cloud_writes(cloud)) == made
    failed, found = run(vlan_info.main, dict(location="fra1"))
    assert [v["name"] for v in found["vlans"]] == ["front"]


def test_vlan_cidr_change_is_refused_naming_the_field(cloud, run):
    run(vlan.main, FRONT)
    failed, result = run(vlan.main, dict(FRONT, cidr="10.210.7.0/24"))
    assert failed and result["msg"].startswith("cidr: vlan front has 10.210.1.0/24")


def test_vlan_overlapping_an_external_subnet_is_refused(cloud, run):
    cloud.add("subnets", dict(name="ext", network_id=cloud.external["id"], cidr="10.210.0.0/16", ip_version=4))
    failed, result = run(vlan.main, FRONT)
    assert failed and "overlaps 10.210.0.0/16 (OpenStack subnet ext)" in result["msg"]
    assert cloud_writes(cloud) == []


def make_instance(run, name="web-1", check=False, **extra):
    args = dict(name=name, location="fra1", image="debian12", instance_type="small",
                networks=[dict(vlan="front"), dict(vlan="app")], ssh_public_keys=[KEY])
    args.update(extra)
    return run(instance.main, args, check=check)


def test_instance_check_mode_create_and_idempotent(cloud, run):
    run(vlan.main, FRONT)
    run(vlan.main, APP)
    before = len(cloud_writes(cloud))
    failed, result = make_instance(run, check=True)
    assert not failed and result["changed"] and result["instance"]["id"] is None
    assert len(cloud_writes(cloud)) == before
    failed, created = make_instance(run)
    assert not failed and created["changed"], created.get("msg")
    assert created["instance"]["state"] == "running" and created["instance"]["instance_type"] == "small"
    made = len(cloud_writes(cloud))
    failed, again = make_instance(run)
    assert not failed and not again["changed"], again
    assert again["instance"] == created["instance"]
    assert len(cloud_writes(cloud)) == made
    failed, found = run(instance_info.main, dict(name="web-1"))
    assert found["instances"] == [created["instance"]]


def test_instance_resize_is_refused_with_a_clear_message(cloud, run):
    run(vlan.main, FRONT)
    run(vlan.main, APP)
    make_instance(run)
    failed, result = make_instance(run, instance_type="medium")
    # capabilities() says nothing of an instance changes in place: the planner refuses, before any write.
    assert failed and result["msg"].startswith("cpus: instance web-1 has 0.5, the request asks 1.0; it cannot "
                                               "change in place")


def test_instance_stop_then_absent(cloud, run):
    run(vlan.main, FRONT)
    run(vlan.main, APP)
    make_instance(run)
    failed, result = make_instance(run, state="stopped")
    assert not failed and result["changed"] and result["instance"]["state"] == "stopped"
    failed, result = make_instance(run, state="stopped")
    assert not failed and not result["changed"]
    failed, result = run(instance.main, dict(name="web-1", state="absent"))
    assert not failed and result["changed"]
    assert cloud.servers == {}
    failed, result = run(instance.main, dict(name="web-1", state="absent"))
    assert not failed and not result["changed"]


def test_vip_check_mode_create_idempotent_move_and_delete(cloud, run):
    run(vlan.main, FRONT)
    run(vlan.main, APP)
    make_instance(run, "web-1")
    make_instance(run, "web-2")
    args = dict(name="web", vlan="front", allowed_instances=["web-2", "web-1"], holder="web-1")
    before = len(cloud_writes(cloud))
    failed, result = run(vip.main, args, check=True)
    assert not failed and result["changed"] and len(cloud_writes(cloud)) == before
    failed, created = run(vip.main, args)
    assert not failed and created["changed"] and created["vip"]["holder"] == "web-1", created.get("msg")
    made = len(cloud_writes(cloud))
    failed, again = run(vip.main, dict(args, allowed_instances=["web-1", "web-2"]))
    assert not failed and not again["changed"] and len(cloud_writes(cloud)) == made
    # The floating IP sits on the vip's own port and address (Neutron refuses any other address).
    fip = next(iter(cloud.store["floatingips"].values()))
    vip_port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-vip-web")
    assert (fip["port_id"], fip["fixed_ip_address"]) == (vip_port["id"], created["vip"]["address"])
    failed, moved = run(vip.main, dict(name="web", holder="web-2"))
    assert not failed and moved["changed"] and moved["vip"]["holder"] == "web-2", moved.get("msg")
    assert not [c for c in cloud_writes(cloud)[made:] if "/floatingips" in c[1]]
    assert (fip["port_id"], fip["fixed_ip_address"]) == (vip_port["id"], created["vip"]["address"])
    failed, again = run(vip.main, dict(name="web", holder="web-2"))
    assert not failed and not again["changed"] and again["vip"]["holder"] == "web-2"
    failed, refused = run(instance.main, dict(name="web-2", state="absent"))
    assert refused["msg"].startswith("state: instance web-2 may hold vips: web")
    failed, gone = run(vip.main, dict(name="web", state="absent"))
    assert not failed and gone["changed"] and cloud.store["floatingips"] == {}


def test_auth_secret_never_reaches_the_output(cloud, run, monkeypatch):
    monkeypatch.delenv("OS_CLOUD")
    auth = dict(auth_url=IDENTITY, username="admin", password="s3cret-unit-password", project_name="admin",
                user_domain_name="default", project_domain_name="default")
    failed, result = run(vlan.main, dict(FRONT, auth=auth, region_name="RegionOne"))
    assert not failed, result.get("msg")
    assert "s3cret-unit-password" not in result["_raw"]


def test_no_cloud_named_is_a_clear_error(cloud, run, monkeypatch):
    monkeypatch.delenv("OS_CLOUD")
    failed, result = run(vlan.main, FRONT)
    assert failed and result["msg"].startswith("cloud: no cloud is named")


def test_sign_in_failure_names_the_cloud_without_the_password(cloud, run):
    cloud.fail_next("POST", r"/v3/auth/tokens$", 401, {"error": {"code": 401, "message": "The request you have made "
                                                                 "requires authentication.", "title": "Unauthorized"}})
    failed, result = run(vlan.main, FRONT)
    assert failed and result["msg"].startswith("cloud: could not sign in to OpenStack cloud 'unit'")
    assert "s3cret-unit-password" not in result["_raw"]


def test_unknown_location_names_the_field_and_the_mapping(cloud, run):
    failed, result = run(vlan.main, dict(APP, location="ams1"))
    assert failed and result["msg"].startswith("location: OpenStack has no availability zone 'ams1' for location ams1")
    assert "availability_zones" in result["msg"] and "fra1, nova" in result["msg"]
    assert "went away" not in result["msg"]
    assert [n["name"] for n in cloud.store["networks"].values()] == ["public"]
    failed, result = run(vlan.main, dict(APP, location="ams1", availability_zones=dict(ams1="nowhere")))
    assert failed and "zone 'nowhere' for location ams1 (availability_zones maps it to 'nowhere')" in result["msg"]
    failed, result = run(vlan.main, dict(APP, location="ams1", availability_zones=dict(ams1="nova")))
    assert not failed and result["vlan"]["location"] == "ams1", result.get("msg")


def test_api_down_is_a_provider_error_naming_cloud_and_endpoint(cloud, run):
    from openstack_fake_cloud import NETWORK  # pylint: disable=import-outside-toplevel
    cloud.down.add(NETWORK)
    failed, result = run(vlan.main, APP)
    assert failed and "unexpected error" not in result["msg"]
    assert result["msg"].startswith("cloud: could not list networks: the network API at %s" % NETWORK), result["msg"]
    assert "of cloud 'unit' does not answer" in result["msg"] and "network_endpoint_override" in result["msg"]
    assert "s3cret-unit-password" not in result["_raw"]


def test_api_down_behind_an_endpoint_override_names_cloud_and_endpoint(cloud, run):
    # With network_endpoint_override the SDK reads the version document when it makes
    # the proxy (conn.network), before any call: a real Neutron that is down fails there.
    from openstack_fake_cloud import NETWORK  # pylint: disable=import-outside-toplevel
    cloud.down.add(NETWORK)
    failed, result = run(vlan.main, dict(APP, cloud="unit-override"))
    assert failed and "unexpected error" not in result["msg"], result["msg"]
    assert result["msg"].startswith("cloud: ")
    assert "the network API at %s/ of cloud 'unit-override' does not answer (" % NETWORK in result["msg"]
    assert "network_endpoint_override" in result["msg"]


def test_vlan_absent_then_absent_again(cloud, run):
    run(vlan.main, APP)
    failed, result = run(vlan.main, dict(name="app", state="absent"), check=True)
    assert not failed and result["changed"] and len(cloud.store["networks"]) == 2
    failed, result = run(vlan.main, dict(name="app", state="absent"))
    assert not failed and result["changed"]
    assert [n["name"] for n in cloud.store["networks"].values()] == ["public"]
    failed, result = run(vlan.main, dict(name="app", state="absent"))
    assert not failed and not result["changed"]


def test_inventory_style_selection_reads_os_cloud_and_reaches_ssh(cloud, run, tmp_path):
    # The inventory plugin hands only provider and state_dir; OS_CLOUD names the cloud.
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import get_provider
    run(vlan.main, FRONT)
    run(vlan.main, APP)
    make_instance(run)
    prov = get_provider(dict(provider="openstack", state_dir=str(tmp_path / "inv")))
    inst = prov.get_instance("web-1")
    assert prov.connection_vars(inst) == dict(ansible_connection="ssh", ansible_host="10.210.1.2",
                                              ansible_user="cloudadmin")


def test_recreated_instance_keeps_the_vips_it_may_hold(cloud, run):
    run(vlan.main, FRONT)
    run(vlan.main, APP)
    make_instance(run, "web-1")
    make_instance(run, "web-2")
    run(vip.main, dict(name="web", vlan="app", allowed_instances=["web-1", "web-2"]))
    failed, result = make_instance(run, "web-1", image="debian12", hostname="web-1.example.internal", recreate=True)
    assert not failed and result["changed"], result.get("msg")
    port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-web-1-app")
    assert [p["ip_address"] for p in port["allowed_address_pairs"]] == ["10.210.2.192"]
    front = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-web-1-front")
    assert front["allowed_address_pairs"] == []
