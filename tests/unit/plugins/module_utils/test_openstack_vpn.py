# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vpn_tunnel on provider: openstack (Neutron VPNaaS) against the cloud behind requests-mock.

The proposal mapping; the real module's create, idempotent re-run, check
mode, change, delete; refusals before any write; rollback when the cloud
fails midway; and the pre-shared key never in a result, diff or message.
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

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common import warnings as ansible_warnings  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.proposals import (  # noqa: E402
    map_proposal,
    neutron_policies,
    proposal_name,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (  # noqa: E402
    DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS,
)
from ansible_collections.secure_cloud.iaas.plugins.modules import instance, vlan, vpn_tunnel, vpn_tunnel_info  # noqa: E402

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF admin@example"
PSK = "unit-psk-0123456789-never-shown"
FRONT = dict(name="front", location="fra1", type="public", cidr="10.210.1.0/24")
APP = dict(name="app", location="fra1", type="private", cidr="10.210.2.0/24")
DB = dict(name="db", location="fra1", type="private", cidr="10.210.3.0/24")


# -- the proposal mapping -----------------------------------------------------------

def test_default_proposals_map_to_aes_gcm_sha384_group20():
    ike, ipsec, notes = neutron_policies(dict(authentication="psk", ike_proposals=DEFAULT_IKE_PROPOSALS,
                                              esp_proposals=DEFAULT_ESP_PROPOSALS))
    assert ike == dict(encryption_algorithm="aes-256-gcm-16", auth_algorithm="sha384", pfs="group20", ike_version="v2",
                       phase1_negotiation_mode="main", lifetime=dict(units="seconds", value=3600))
    assert (ipsec["encryption_algorithm"], ipsec["pfs"], ipsec["transform_protocol"], ipsec["encapsulation_mode"]) == \
        ("aes-256-gcm-16", "group20", "esp", "tunnel")
    assert ipsec["auth_algorithm"] == "sha256"  # Neutron needs one; unused next to an AEAD cipher
    assert len(notes) == 2 and "uses aes256gcm16-prfsha384-ecp384 and not aes256gcm16-prfsha384-x25519" in notes[0]


@pytest.mark.parametrize("kind,proposal,neutron,canonical", [
    ("ike", "aes256gcm16-prfsha384-ecp384", ("aes-256-gcm-16", "sha384", "group20"), "aes256gcm16-prfsha384-ecp384"),
    ("ike", "aes256gcm-prfsha512-x25519", ("aes-256-gcm-16", "sha512", "group31"), "aes256gcm16-prfsha512-x25519"),
    ("ike", "aes128gcm16-sha256-ecp256", ("aes-128-gcm-16", "sha256", "group19"), "aes128gcm16-prfsha256-ecp256"),
    ("ike", "aes256-sha256-modp3072", ("aes-256", "sha256", "group15"), "aes256-sha256-modp3072"),
    ("ike", "aes256-sha2_384-prfsha384-ecp521", ("aes-256", "sha384", "group21"), "aes256-sha384-ecp521"),
    ("ike", "aes192ctr-sha512-curve25519", ("aes-192-ctr", "sha512", "group31"), "aes192ctr-sha512-x25519"),
    ("esp", "aes256gcm16-ecp384", ("aes-256-gcm-16", "sha256", "group20"), "aes256gcm16-ecp384"),
    ("esp", "aes128ccm12-modp2048", ("aes-128-ccm-12", "sha256", "group14"), "aes128ccm12-modp2048"),
    ("esp", "aes256-sha512-ecp512bp-noesn", ("aes-256", "sha512", "group30"), "aes256-sha512-ecp512bp"),
])
def test_proposal_maps_to_neutron_and_back(kind, proposal, neutron, canonical):
    attrs = map_proposal(proposal, kind)
    assert (attrs["encryption_algorithm"], attrs["auth_algorithm"], attrs["pfs"]) == neutron
    assert proposal_name(attrs, kind) == canonical
    assert map_proposal(canonical, kind) == attrs


@pytest.mark.parametrize("kind,proposal,fragment,fix", [
    ("esp", "chacha20poly1305-ecp384", "no encryption_algorithm for chacha20poly1305", "ipsec_gateway"),
    ("ike", "camellia256-sha256-ecp384", "no encryption_algorithm for camellia256", "AES-GCM"),
    ("ike", "aes256gcm16-prfsha384-x448", "no pfs group for x448", "group20"),
    ("esp", "aes256gcm16", "no key exchange group", "aes256gcm16-ecp384"),
    ("esp", "aes256gcm16-ecp384-esn", "extended sequence numbers", "leave esn out"),
    ("ike", "aes256-aes128-sha256-ecp384", "lists 2 ciphers", "one cipher per proposal"),
    ("ike", "aes256-sha256-prfsha384-ecp384", "sha256 and sha384", "one hash"),
    ("esp", "aes256gcm16-ecp384-ecp256", "2 key exchange groups", "one group per proposal"),
])
def test_what_neutron_cannot_express_names_the_field_and_the_fix(kind, proposal, fragment, fix):
    with pytest.raises(IaasError) as err:
        map_proposal(proposal, kind, 0)
    assert err.value.field == "%s_proposals[0]" % kind
    assert fragment in str(err.value) and fix in err.value.fix


def test_certificates_are_refused_naming_authentication():
    with pytest.raises(IaasError) as err:
        neutron_policies(dict(authentication="pubkey", ike_proposals=DEFAULT_IKE_PROPOSALS,
                              esp_proposals=DEFAULT_ESP_PROPOSALS))
    assert err.value.field == "authentication" and "pre-shared key" in err.value.msg


# -- the module against the fake cloud ------------------------------------------------

@pytest.fixture
def cloud(tmp_path, monkeypatch):
    yield from modules_on_fake_cloud(tmp_path, monkeypatch)


@pytest.fixture
def run(capsys, monkeypatch):
    warned = []
    real_warn = AnsibleModule.warn

    def warn(self, warning):
        # Recorded here: once controller code is imported (the inventory tests), a
        # module's warnings no longer reach its JSON in this process.
        warned.append(warning)
        return real_warn(self, warning)

    monkeypatch.setattr(AnsibleModule, "warn", warn)

    def run_module(main, args, check=False, diff=True):
        # Warnings are collected process-wide; each run here is its own task.
        ansible_warnings._global_warnings.clear()
        del warned[:]
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result["_raw"] = out
        result["_warned"] = list(warned)
        return bool(exc.value.code) or bool(result.get("failed")), result
    return run_module


@pytest.fixture
def site(cloud, run):
    for args in (FRONT, APP, DB):
        failed, result = run(vlan.main, args)
        assert not failed, result.get("msg")
    return cloud


def warnings_of(result):
    """The warnings the module gave in that run."""
    return result["_warned"]


def cloud_writes(cloud):
    return [c for c in cloud.writes() if not c[1].startswith(IDENTITY)]


def vpn_objects(cloud):
    return dict((k, sorted(o["name"] for o in cloud.store[k].values())) for k in cloud.store if k.startswith("vpn/"))


def subnet_of(cloud, vlan_name):
    net = next(n for n in cloud.store["networks"].values() if n["name"] == "sciaas-vlan-" + vlan_name)
    return next(s for s in cloud.store["subnets"].values() if s["network_id"] == net["id"])


def vpn_rules(cloud):
    return sorted(r["remote_ip_prefix"] for r in cloud.store["security-group-rules"].values()
                  if r.get("description") == "secure_cloud.iaas vpn_tunnel")


def router_ports(cloud):
    return sorted(p["name"] for p in cloud.store["ports"].values() if p["name"].startswith("sciaas-vpnrt-"))


def tunnel_args(tmp_path, **extra):
    """The tunnel's arguments; psk_file=None leaves the option out (it may not stand beside psk or certificates)."""
    args = dict(name="office", location="fra1", vlans=["app"], peer_address="198.51.100.7",
                peer_subnets=["192.168.50.0/24"], psk_file=str(tmp_path / "keys" / "office.psk"))
    args.update(extra)
    return dict((k, v) for k, v in args.items() if not (k == "psk_file" and v is None))


def test_create_is_service_policies_groups_connection_and_routing(site, run, tmp_path):
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert not failed and result["changed"], result.get("msg")
    tunnel = result["vpn_tunnel"]
    assert tunnel["provider"] == "openstack" and tunnel["backend"] == "neutron-vpnaas"
    assert tunnel["status"] == "established" and tunnel["authentication"] == "psk"
    assert tunnel["ike_proposals"] == ["aes256gcm16-prfsha384-ecp384"]
    assert tunnel["esp_proposals"] == ["aes256gcm16-ecp384"]
    assert tunnel["local_subnets"] == ["10.210.2.0/24"] and tunnel["peer_subnets"] == ["192.168.50.0/24"]
    assert tunnel["gateway_address"] == "203.0.113.100" and tunnel["local_id"] == "203.0.113.100"
    assert tunnel["gateway_addresses"] == {"front": "203.0.113.100", "app": "10.210.2.2"}
    assert tunnel["remote_id"] == "198.51.100.7" and tunnel["dpd_delay"] == 2
    assert any("one proposal per policy" in w for w in warnings_of(result))
    assert vpn_objects(site) == {
        "vpn/ikepolicies": ["sciaas-vpn-office"], "vpn/ipsecpolicies": ["sciaas-vpn-office"],
        "vpn/vpnservices": ["sciaas-vpngw-fra1"], "vpn/endpoint-groups": ["sciaas-vpn-office-local",
                                                                          "sciaas-vpn-office-peer"],
        "vpn/ipsec-site-connections": ["sciaas-vpn-office"]}
    conn = site.requests("POST", r"/vpn/ipsec-site-connections$")[0][3]["ipsec_site_connection"]
    key = (tmp_path / "keys" / "office.psk").read_text().strip()
    assert conn["psk"] == key and conn["dpd"] == {"action": "restart", "interval": 2, "timeout": 9}
    assert conn["initiator"] == "bi-directional" and "local_id" not in conn
    # The private vlan reaches the VPN router through its own port, not its gateway address.
    assert router_ports(site) == ["sciaas-vpnrt-app"]
    port = next(p for p in site.store["ports"].values() if p["name"] == "sciaas-vpnrt-app")
    assert port["device_owner"] == "network:router_interface" and port["fixed_ips"][0]["ip_address"] == "10.210.2.2"
    assert subnet_of(site, "app")["host_routes"] == [{"destination": "192.168.50.0/24", "nexthop": "10.210.2.2"}]
    assert vpn_rules(site) == ["192.168.50.0/24"]
    assert key not in result["_raw"]


def test_rerun_changes_nothing_and_writes_nothing(site, run, tmp_path):
    failed, created = run(vpn_tunnel.main, tunnel_args(tmp_path))
    before = len(cloud_writes(site))
    failed, again = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert not failed and not again["changed"], again
    assert again["vpn_tunnel"] == created["vpn_tunnel"]
    assert len(cloud_writes(site)) == before
    failed, found = run(vpn_tunnel_info.main, dict(name="office"))
    assert found["vpn_tunnels"] == [created["vpn_tunnel"]]


def test_check_mode_writes_nothing_and_predicts_the_result(site, run, tmp_path):
    before = len(cloud_writes(site))
    failed, planned = run(vpn_tunnel.main, tunnel_args(tmp_path, psk=PSK, psk_file=None), check=True)
    assert not failed and planned["changed"], planned.get("msg")
    assert len(cloud_writes(site)) == before and vpn_objects(site)["vpn/ipsec-site-connections"] == []
    assert planned["diff"]["after"]["credentials"] == "(changed)"
    failed, created = run(vpn_tunnel.main, tunnel_args(tmp_path, psk=PSK, psk_file=None))
    for field in ("gateway_address", "gateway_addresses", "ike_proposals", "esp_proposals", "local_id", "vlans"):
        assert planned["vpn_tunnel"][field] == created["vpn_tunnel"][field], field
    made = len(cloud_writes(site))
    failed, change = run(vpn_tunnel.main, tunnel_args(tmp_path, psk=PSK, psk_file=None,
                                                      peer_subnets=["192.168.60.0/24"]), check=True)
    assert not failed and change["changed"] and len(cloud_writes(site)) == made
    assert change["diff"]["before"]["peer_subnets"] == ["192.168.50.0/24"]
    assert change["diff"]["after"]["peer_subnets"] == ["192.168.60.0/24"]
    assert PSK not in planned["_raw"] and PSK not in change["_raw"]


def test_change_replaces_the_objects_and_the_routing(site, run, tmp_path):
    run(vpn_tunnel.main, tunnel_args(tmp_path))
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path, vlans=["app", "db"], peer_subnets=["192.168.60.0/24"],
                                                      ike_proposals=["aes256-sha512-ecp521"], dpd_delay=5))
    assert not failed and result["changed"], result.get("msg")
    tunnel = result["vpn_tunnel"]
    assert tunnel["vlans"] == ["app", "db"] and tunnel["peer_subnets"] == ["192.168.60.0/24"]
    assert tunnel["ike_proposals"] == ["aes256-sha512-ecp521"] and tunnel["dpd_delay"] == 5
    assert not any("ike_proposals" in w for w in warnings_of(result))
    objects = vpn_objects(site)
    assert all(len(names) == len(set(names)) for names in objects.values()), objects  # the old objects are gone
    assert router_ports(site) == ["sciaas-vpnrt-app", "sciaas-vpnrt-db"]
    assert subnet_of(site, "app")["host_routes"] == [{"destination": "192.168.60.0/24", "nexthop": "10.210.2.2"}]
    assert subnet_of(site, "db")["host_routes"] == [{"destination": "192.168.60.0/24", "nexthop": "10.210.3.2"}]
    assert vpn_rules(site) == ["192.168.60.0/24", "192.168.60.0/24"]
    failed, again = run(vpn_tunnel.main, tunnel_args(tmp_path, vlans=["app", "db"], peer_subnets=["192.168.60.0/24"],
                                                     ike_proposals=["aes256-sha512-ecp521"], dpd_delay=5))
    assert not failed and not again["changed"], again


def test_changed_key_is_noticed_and_replaced(site, run, tmp_path):
    run(vpn_tunnel.main, tunnel_args(tmp_path, psk=PSK, psk_file=None))
    failed, same = run(vpn_tunnel.main, tunnel_args(tmp_path, psk=PSK, psk_file=None))
    assert not failed and not same["changed"]
    failed, changed = run(vpn_tunnel.main, tunnel_args(tmp_path, psk=PSK + "-rotated", psk_file=None))
    assert not failed and changed["changed"] and changed["diff"]["after"]["credentials"] == "(changed)"
    conns = list(site.store["vpn/ipsec-site-connections"].values())
    assert len(conns) == 1 and conns[0]["psk"] == PSK + "-rotated"
    assert PSK not in changed["_raw"]


def test_delete_removes_every_object_and_the_routing(site, run, tmp_path):
    run(vpn_tunnel.main, tunnel_args(tmp_path))
    failed, result = run(vpn_tunnel.main, dict(name="office", state="absent"), check=True)
    assert not failed and result["changed"] and vpn_objects(site)["vpn/ipsec-site-connections"]
    failed, result = run(vpn_tunnel.main, dict(name="office", state="absent"))
    assert not failed and result["changed"], result.get("msg")
    assert all(names == [] for names in vpn_objects(site).values())
    assert router_ports(site) == [] and vpn_rules(site) == []
    assert subnet_of(site, "app")["host_routes"] == []
    failed, result = run(vpn_tunnel.main, dict(name="office", state="absent"))
    assert not failed and not result["changed"]


def test_second_tunnel_shares_the_service_and_the_last_one_removes_it(site, run, tmp_path):
    run(vpn_tunnel.main, tunnel_args(tmp_path))
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path, name="branch", peer_address="203.0.113.20",
                                                      peer_subnets=["192.168.70.0/24"],
                                                      psk_file=str(tmp_path / "keys" / "branch.psk")))
    assert not failed, result.get("msg")
    assert vpn_objects(site)["vpn/vpnservices"] == ["sciaas-vpngw-fra1"]
    routes = sorted(r["destination"] for r in subnet_of(site, "app")["host_routes"])
    assert routes == ["192.168.50.0/24", "192.168.70.0/24"]
    run(vpn_tunnel.main, dict(name="office", state="absent"))
    assert vpn_objects(site)["vpn/vpnservices"] == ["sciaas-vpngw-fra1"]
    assert subnet_of(site, "app")["host_routes"] == [{"destination": "192.168.70.0/24", "nexthop": "10.210.2.2"}]
    run(vpn_tunnel.main, dict(name="branch", state="absent"))
    assert all(names == [] for names in vpn_objects(site).values()) and router_ports(site) == []


@pytest.mark.parametrize("extra,message", [
    (dict(esp_proposals=["chacha20poly1305-ecp384"]),
     "esp_proposals[0]: Neutron VPNaaS has no encryption_algorithm for chacha20poly1305"),
    (dict(ike_proposals=["aes256gcm16-prfsha384-x448"]), "ike_proposals[0]: Neutron VPNaaS has no pfs group for x448"),
    (dict(esp_proposals=["aes256gcm16"]), "esp_proposals[0]: 'aes256gcm16' has no key exchange group"),
    (dict(labels=dict(("label%d" % i, "x" * 20) for i in range(12))), "labels: is too long"),
])
@pytest.mark.parametrize("check", [True, False])
def test_bad_request_fails_before_any_write(site, run, tmp_path, extra, message, check):
    before = len(cloud_writes(site))
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path, **extra), check=check)
    assert failed and result["msg"].startswith(message), result["msg"]
    assert "Fix:" in result["msg"]
    assert len(cloud_writes(site)) == before
    assert not (tmp_path / "keys" / "office.psk").exists()


def test_certificates_fail_naming_authentication_before_any_write(site, run, tmp_path):
    before = len(cloud_writes(site))
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path, authentication="pubkey", psk_file=None,
                                                      remote_id="gw.office.example", cacert="x", cert="y", key="z"))
    assert failed and result["msg"].startswith("authentication: Neutron VPNaaS authenticates only with a pre-shared")
    assert len(cloud_writes(site)) == before


def test_no_vpnaas_fails_clearly_and_lists_nothing(site, run, tmp_path):
    site.extensions = []
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert failed and "does not offer VPNaaS" in result["msg"] and "ipsec_gateway" in result["msg"]
    assert not site.requests("POST", r"/vpn/")
    failed, found = run(vpn_tunnel_info.main, dict())
    assert not failed and found["vpn_tunnels"] == []


def test_failure_midway_removes_what_was_made(site, run, tmp_path):
    before = dict((k, dict(v)) for k, v in site.store.items())
    app_routes = subnet_of(site, "app").get("host_routes")
    site.fail_next("POST", r"/vpn/ipsec-site-connections$", 409, {"NeutronError": {
        "type": "OverQuota", "message": "Quota exceeded for resources: ['ipsec_site_connection'].", "detail": ""}})
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert failed and "over quota" in result["msg"], result["msg"]
    assert all(names == [] for names in vpn_objects(site).values()), vpn_objects(site)
    assert router_ports(site) == [] and vpn_rules(site) == []
    assert (subnet_of(site, "app").get("host_routes") or []) == (app_routes or [])
    assert set(site.store["ports"]) == set(before["ports"])
    assert set(site.store["security-group-rules"]) == set(before["security-group-rules"])


def test_failure_midway_through_a_change_puts_the_old_tunnel_back(site, run, tmp_path):
    failed, created = run(vpn_tunnel.main, tunnel_args(tmp_path))
    site.fail_next("POST", r"/vpn/ipsec-site-connections$", 500, {"NeutronError": {
        "type": "HTTPInternalServerError", "message": "driver failure", "detail": ""}})
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path, vlans=["app", "db"], peer_subnets=["192.168.60.0/24"]))
    assert failed and "driver failure" in result["msg"], result["msg"]
    assert "could not be put back" not in result["msg"]
    failed, found = run(vpn_tunnel_info.main, dict(name="office"))
    restored = found["vpn_tunnels"][0]
    for field in ("vlans", "peer_subnets", "ike_proposals", "esp_proposals", "gateway_addresses", "psk_file"):
        assert restored[field] == created["vpn_tunnel"][field], field
    assert all(len(names) == len(set(names)) for names in vpn_objects(site).values()), vpn_objects(site)
    assert router_ports(site) == ["sciaas-vpnrt-app"] and vpn_rules(site) == ["192.168.50.0/24"]
    assert subnet_of(site, "app")["host_routes"] == [{"destination": "192.168.50.0/24", "nexthop": "10.210.2.2"}]
    assert not subnet_of(site, "db").get("host_routes")
    # The key in force is still the one of the file: a re-run changes nothing.
    failed, again = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert not failed and not again["changed"], again


def test_key_echoed_by_the_cloud_never_reaches_the_output(site, run, tmp_path):
    keyfile = tmp_path / "keys" / "office.psk"
    keyfile.parent.mkdir(mode=0o700)
    keyfile.write_text(PSK + "\n")
    keyfile.chmod(0o600)
    site.fail_next("POST", r"/vpn/ipsec-site-connections$", 400, {"NeutronError": {
        "type": "HTTPBadRequest", "message": "Invalid input for psk. Reason: '%s' is not valid." % PSK, "detail": ""}})
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert failed and "Invalid input for psk" in result["msg"]
    assert PSK not in result["_raw"]
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert not failed and PSK not in result["_raw"]
    # The cloud hands the key back on every read; no result carries it.
    assert any(c.get("psk") == PSK for c in site.store["vpn/ipsec-site-connections"].values())
    failed, found = run(vpn_tunnel_info.main, dict())
    assert PSK not in found["_raw"]


def test_wait_fails_naming_wait_timeout_or_the_error(site, run, tmp_path):
    site.vpn_status = "DOWN"
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path, wait_timeout=1))
    assert failed and result["msg"].startswith("wait_timeout: tunnel office was not established within"), result["msg"]
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path, wait=False))
    assert not failed and result["vpn_tunnel"]["status"] == "connecting"
    next(iter(site.store["vpn/ipsec-site-connections"].values()))["status"] = "ERROR"
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert failed and "in ERROR" in result["msg"]


def test_instances_do_not_take_the_vpn_router_address_and_served_vlans_stay(site, run, tmp_path):
    run(vpn_tunnel.main, tunnel_args(tmp_path))
    for name in ("app", "front"):
        failed, result = run(vlan.main, dict(name=name, state="absent"))
        assert failed and result["msg"].startswith("state: vlan %s is still used by VPN tunnels: office" % name)
    failed, result = run(instance.main, dict(name="app-1", location="fra1", image="debian12", instance_type="small",
                                             networks=[dict(vlan="app")], ssh_public_keys=[KEY]))
    assert not failed, result.get("msg")
    assert result["instance"]["networks"][0]["ip"] == "10.210.2.3"


def test_drift_is_repaired(site, run, tmp_path):
    run(vpn_tunnel.main, tunnel_args(tmp_path))
    subnet_of(site, "app")["host_routes"] = []
    failed, result = run(vpn_tunnel.main, tunnel_args(tmp_path))
    assert not failed and result["changed"], result
    assert any("was repaired" in w and "does not route 192.168.50.0/24" in w for w in warnings_of(result))
    assert subnet_of(site, "app")["host_routes"] == [{"destination": "192.168.50.0/24", "nexthop": "10.210.2.2"}]
