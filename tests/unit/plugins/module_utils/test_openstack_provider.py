# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests: the openstack provider against the documented Neutron, Nova and Glance shapes."""

from __future__ import annotations

import base64
import os
import sys

import pytest

pytest.importorskip("openstack")
requests_mock = pytest.importorskip("requests_mock")

sys.path.insert(0, os.path.dirname(__file__))

from openstack_fake_cloud import CLOUDS_YAML, COMPUTE, NETWORK, FakeCloud, claim_vip  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import desired_instance  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.proposals import neutron_policies  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import desired_vip  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import desired_vlan  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (  # noqa: E402
    DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF admin@example"


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(CLOUDS_YAML)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    for var in ("OS_CLOUD", "OS_AUTH_URL", "OS_PASSWORD", "OS_USERNAME"):
        monkeypatch.delenv(var, raising=False)
    with requests_mock.Mocker() as mocker:
        yield FakeCloud(mocker)


def params(**extra):
    out = dict(provider="openstack", cloud="unit", external_network="public", wait_timeout=5,
               admin_cidrs=["198.51.100.0/24"], public_ingress=[dict(protocol="tcp", port=80)])
    out.update(extra)
    return out


@pytest.fixture
def provider(cloud, tmp_path):
    prov = OpenStackProvider(params(), StateStore(str(tmp_path / "state")))
    prov.conn.poll_interval = 0.01
    return prov


def vlan_spec(name="front", vlan_type="public", cidr="10.210.1.0/24"):
    return desired_vlan(dict(name=name, location="fra1", type=vlan_type, cidr=cidr), "openstack")


def instance_spec(provider, name="web-1", vlans=("front",), **extra):
    args = dict(name=name, location="fra1", image="debian12", networks=[dict(vlan=v) for v in vlans],
                ssh_public_keys=[KEY])
    args.update(extra)
    return desired_instance(args, provider, dict((v["name"], v) for v in provider.list_vlans()),
                            provider.list_instances())


def fresh(provider):
    provider.conn.forget()
    return provider


# -- vlan ------------------------------------------------------------------------

def test_public_vlan_is_network_subnet_security_group_and_router(cloud, provider):
    vlan = provider.create_vlan(vlan_spec())
    assert (vlan["name"], vlan["type"], vlan["cidr"], vlan["gateway"], vlan["vip_range"]) == \
        ("front", "public", "10.210.1.0/24", "10.210.1.1", "10.210.1.192/26")
    net_post = cloud.requests("POST", r"/v2.0/networks$")[0][3]["network"]
    assert net_post["name"] == "sciaas-vlan-front" and net_post["availability_zone_hints"] == ["fra1"]
    assert "provider:segmentation_id" not in net_post
    subnet = cloud.requests("POST", r"/v2.0/subnets$")[0][3]["subnet"]
    assert subnet["cidr"] == "10.210.1.0/24" and subnet["gateway_ip"] == "10.210.1.1" and subnet["ip_version"] == 4
    # DHCP never hands out the gateway or a vip address.
    assert subnet["allocation_pools"] == [dict(start="10.210.1.2", end="10.210.1.127")]
    router = cloud.requests("POST", r"/v2.0/routers$")[0][3]["router"]
    assert router["external_gateway_info"] == {"network_id": cloud.external["id"]}
    assert cloud.requests("PUT", r"/add_router_interface$")
    rules = [c[3]["security_group_rule"] for c in cloud.requests("POST", r"/security-group-rules$")]
    assert dict(rules[0], security_group_id=None)["remote_ip_prefix"] == "10.210.1.0/24"
    assert any(r.get("port_range_min") == 22 and r["remote_ip_prefix"] == "198.51.100.0/24" for r in rules)
    assert any(r.get("port_range_min") == 80 and r["remote_ip_prefix"] == "0.0.0.0/0" for r in rules)
    # State lives in the cloud: a new provider reads the same vlan back.
    assert fresh(provider).get_vlan("front") == vlan


def test_private_vlan_has_no_router(cloud, provider):
    provider.create_vlan(vlan_spec("back", "private", "10.210.2.0/24"))
    assert not cloud.requests("POST", r"/v2.0/routers$")
    rules = [c[3]["security_group_rule"] for c in cloud.requests("POST", r"/security-group-rules$")]
    assert [r["remote_ip_prefix"] for r in rules] == ["10.210.2.0/24"]


def test_provider_network_with_segmentation_id_when_asked(cloud, tmp_path):
    prov = OpenStackProvider(params(provider_networks=dict(back=dict(physical_network="physnet1", segmentation_id=210))),
                             StateStore(str(tmp_path / "s")))
    prov.create_vlan(vlan_spec("back", "private", "10.210.2.0/24"))
    body = cloud.requests("POST", r"/v2.0/networks$")[0][3]["network"]
    assert body["provider:network_type"] == "vlan"
    assert body["provider:physical_network"] == "physnet1" and body["provider:segmentation_id"] == 210


def test_provider_network_refused_without_admin_leaves_nothing(cloud, tmp_path):
    prov = OpenStackProvider(params(provider_networks=dict(back=dict(physical_network="physnet1", segmentation_id=210))),
                             StateStore(str(tmp_path / "s")))
    cloud.fail_next("POST", r"/v2.0/networks$", 403, {"NeutronError": {
        "type": "PolicyNotAuthorized", "message": "rule:create_network:provider:network_type is disallowed by policy",
        "detail": ""}})
    with pytest.raises(IaasError) as err:
        prov.create_vlan(vlan_spec("back", "private", "10.210.2.0/24"))
    assert "not allowed (HTTP 403" in str(err.value) and "admin" in str(err.value)
    assert [n["name"] for n in cloud.store["networks"].values()] == ["public"]


def test_a_failure_half_way_removes_what_was_made(cloud, provider):
    cloud.fail_next("POST", r"/v2.0/routers$", 409, {"NeutronError": {
        "type": "OverQuota", "message": "Quota exceeded for resources: ['router'].", "detail": ""}})
    with pytest.raises(IaasError) as err:
        provider.create_vlan(vlan_spec())
    assert "over quota" in str(err.value) and "raise the quota" in str(err.value)
    assert [n["name"] for n in cloud.store["networks"].values()] == ["public"]
    assert cloud.store["security-groups"] == {} and cloud.store["subnets"] == {}


def test_public_vlan_needs_external_network(cloud, tmp_path):
    prov = OpenStackProvider(params(external_network=None), StateStore(str(tmp_path / "s")))
    with pytest.raises(IaasError) as err:
        prov.create_vlan(vlan_spec())
    assert str(err.value).startswith("external_network: a public vlan needs a router")
    assert cloud.writes() == [c for c in cloud.writes() if "auth/tokens" in c[1]]


def test_lists_follow_pagination_links(cloud, provider):
    for i in range(5):
        provider.create_vlan(vlan_spec("v%d" % i, "private", "10.210.%d.0/24" % (10 + i)))
    cloud.page_size = 2
    names = [v["name"] for v in fresh(provider).list_vlans()]
    assert names == ["v0", "v1", "v2", "v3", "v4"]
    assert any("marker=" in c[1] or "marker" in c[2] for c in cloud.requests("GET", r"/v2.0/networks$"))


def test_delete_vlan_removes_router_network_and_group(cloud, provider):
    vlan = provider.create_vlan(vlan_spec())
    provider.delete_vlan(vlan)
    assert cloud.requests("PUT", r"/remove_router_interface$")
    assert cloud.store["routers"] == {} and cloud.store["security-groups"] == {}
    assert [n["name"] for n in cloud.store["networks"].values()] == ["public"]
    assert fresh(provider).list_vlans() == []


def test_other_subnets_are_reserved(cloud, provider):
    cloud.add("subnets", dict(name="ext", network_id=cloud.external["id"], cidr="203.0.113.0/24", ip_version=4))
    assert ("203.0.113.0/24", "OpenStack subnet ext") in provider.reserved_networks()


# -- instance ---------------------------------------------------------------------

def test_instance_is_ports_with_fixed_ips_keypair_and_server(cloud, provider):
    provider.create_vlan(vlan_spec())
    provider.create_vlan(vlan_spec("back", "private", "10.210.2.0/24"))
    spec = instance_spec(provider, vlans=("front", "back"))
    inst = provider.create_instance(spec, run=True, wait=True, timeout=5)
    ports = [c[3]["port"] for c in cloud.requests("POST", r"/v2.0/ports$")]
    assert [p["fixed_ips"][0]["ip_address"] for p in ports] == ["10.210.1.2", "10.210.2.2"]
    assert all(len(p["security_groups"]) == 1 for p in ports)
    assert cloud.requests("POST", r"/os-keypairs$")[0][3]["keypair"]["public_key"] == KEY
    server = cloud.requests("POST", r"/servers$")[0][3]["server"]
    assert server["flavorRef"] == "f1" and server["imageRef"] == cloud.images[0]["id"]
    assert server["availability_zone"] == "fra1" and server["key_name"] == "sciaas-web-1"
    made = [p["id"] for p in cloud.store["ports"].values() if p["name"].startswith("sciaas-web-1")]
    assert [n["port"] for n in server["networks"]] == made
    user_data = base64.b64decode(server["user_data"]).decode()
    assert "name: cloudadmin" in user_data and KEY in user_data
    assert inst["state"] == "running" and inst["image_id"] == "sha256:" + "c" * 64
    assert [(n["vlan"], n["ip"]) for n in inst["networks"]] == [("front", "10.210.1.2"), ("back", "10.210.2.2")]
    assert inst["instance_type"] == "small" and inst["ssh_public_keys"] == [KEY]
    assert fresh(provider).get_instance("web-1") == inst


def test_dhcp_port_addresses_are_not_given_to_instances(cloud, provider):
    vlan = provider.create_vlan(vlan_spec("back", "private", "10.210.2.0/24"))
    cloud.add("ports", dict(network_id=vlan["id"], device_owner="network:dhcp",
                            fixed_ips=[dict(ip_address="10.210.2.2")]))
    spec = instance_spec(fresh(provider), vlans=("back",))
    assert spec["networks"][0]["ip"] == "10.210.2.3"


def test_image_pin_is_checked_against_the_glance_checksum(cloud, provider):
    provider.create_vlan(vlan_spec())
    with pytest.raises(IaasError) as err:
        instance_spec(provider, image_digest="sha256:" + "e" * 64)
    assert str(err.value).startswith("image_digest: image debian12 is sha256:" + "c" * 64)
    assert instance_spec(provider, image_digest="sha256:" + "c" * 64)["image_id"] == "sha256:" + "c" * 64


def test_flavor_from_the_flavors_option(cloud, tmp_path):
    prov = OpenStackProvider(params(flavors=dict(small="m1.small")), StateStore(str(tmp_path / "s")))
    assert prov.catalog.pick_flavor(0.5, 512).name == "m1.small"
    assert prov.catalog.pick_flavor(2.0, 4096).name == "m1.medium"
    prov = OpenStackProvider(params(flavors=dict(small="m9.huge")), StateStore(str(tmp_path / "s")))
    with pytest.raises(IaasError) as err:
        prov.catalog.pick_flavor(0.5, 512)
    assert str(err.value).startswith("flavors: flavor 'm9.huge' is not offered")


def test_boot_timeout_names_wait_timeout_and_leaves_nothing(cloud, provider):
    provider.create_vlan(vlan_spec())
    cloud.stuck = True
    with pytest.raises(IaasError) as err:
        provider.create_instance(instance_spec(provider), run=True, wait=True, timeout=1)
    assert str(err.value).startswith("wait_timeout: sciaas-web-1 did not reach ACTIVE within wait_timeout=1s")
    assert cloud.servers == {} and cloud.keypairs == {}
    assert not [p for p in cloud.store["ports"].values() if p["name"].startswith("sciaas-web-1")]


def test_compute_quota_error_says_quota_and_leaves_no_port(cloud, provider):
    provider.create_vlan(vlan_spec())
    cloud.fail_next("POST", r"/v2.1/servers$", 403, {"forbidden": {
        "code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"}})
    with pytest.raises(IaasError) as err:
        provider.create_instance(instance_spec(provider), run=True, wait=True, timeout=5)
    assert "over quota" in str(err.value)
    assert not [p for p in cloud.store["ports"].values() if p["name"].startswith("sciaas-web-1")]
    assert cloud.keypairs == {}


def test_taken_address_is_a_conflict(cloud, provider):
    vlan = provider.create_vlan(vlan_spec())
    spec = instance_spec(provider)
    cloud.add("ports", dict(network_id=vlan["id"], fixed_ips=[dict(ip_address=spec["networks"][0]["ip"])]))
    with pytest.raises(IaasError) as err:
        provider.create_instance(spec, run=True, wait=True, timeout=5)
    assert "conflict (HTTP 409" in str(err.value) and "already allocated" in str(err.value)
    assert cloud.servers == {}


def test_stop_start_restart_and_delete(cloud, provider):
    provider.create_vlan(vlan_spec())
    inst = provider.create_instance(instance_spec(provider), run=True, wait=True, timeout=5)
    assert provider.stop_instance(inst, True, 5)["state"] == "stopped"
    assert cloud.requests("POST", r"/action$")[-1][3] == {"os-stop": None}
    assert provider.start_instance(inst, True, 5)["state"] == "running"
    assert provider.restart_instance(inst, True, 5)["state"] == "running"
    assert cloud.requests("POST", r"/action$")[-1][3] == {"reboot": {"type": "SOFT"}}
    provider.delete_instance(inst)
    assert cloud.servers == {} and cloud.keypairs == {}
    assert fresh(provider).list_instances() == []


def test_created_stopped_when_asked(cloud, provider):
    provider.create_vlan(vlan_spec())
    inst = provider.create_instance(instance_spec(provider), run=False, wait=True, timeout=5)
    assert inst["state"] == "stopped"


def test_resize_in_place_is_refused_naming_the_field(cloud, provider):
    provider.create_vlan(vlan_spec())
    inst = provider.create_instance(instance_spec(provider), run=True, wait=True, timeout=5)
    with pytest.raises(IaasError) as err:
        provider.update_instance(inst, dict(memory=1024))
    assert str(err.value).startswith("memory: the openstack provider cannot change memory")


# -- vip ----------------------------------------------------------------------

def two_instances(provider, vlan_type="private"):
    provider.create_vlan(vlan_spec("app", vlan_type, "10.210.3.0/24"))
    for name in ("web-1", "web-2", "other"):
        provider.create_instance(instance_spec(fresh(provider), name=name, vlans=("app",)), True, True, 5)
    fresh(provider)


def vip_request(provider, **extra):
    args = dict(name="web", vlan="app", allowed_instances=["web-2", "web-1"])
    args.update(extra)
    return desired_vip(args, provider.list_vlans(), provider.list_instances(), provider.list_vips(), "openstack")


def pairs_of(cloud, instance):
    port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-%s-app" % instance)
    return port["allowed_address_pairs"]


def test_vip_is_a_port_plus_address_pairs_on_allowed_ports(cloud, provider):
    two_instances(provider)
    vip = provider.create_vip(vip_request(provider, holder="web-1"))
    reserve = cloud.requests("POST", r"/v2.0/ports$")[-1][3]["port"]
    assert reserve["name"] == "sciaas-vip-web" and reserve["fixed_ips"][0]["ip_address"] == "10.210.3.192"
    for name in ("web-1", "web-2"):
        pairs = pairs_of(cloud, name)
        assert [p["ip_address"] for p in pairs] == ["10.210.3.192"] and pairs[0]["mac_address"]
    assert pairs_of(cloud, "other") == []
    assert vip["allowed_instances"] == ["web-1", "web-2"] and vip["holder"] == "web-1"
    assert fresh(provider).get_vip("web") == vip
    # Nothing else can get the address: Neutron answers 409 to another port asking for it.
    vlan = provider.get_vlan("app")
    with pytest.raises(IaasError) as err:
        provider.conn.api("make a port", provider.conn.network.create_port, network_id=vlan["id"],
                          fixed_ips=[dict(ip_address="10.210.3.192")])
    assert "409" in str(err.value)


def test_allow_list_compared_as_a_set_mac_and_other_pairs_kept(cloud, provider):
    two_instances(provider)
    vip = provider.create_vip(vip_request(provider))
    port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-web-1-app")
    port["allowed_address_pairs"].insert(0, dict(ip_address="10.210.3.250", mac_address=port["mac_address"]))
    before = len(cloud.writes())
    provider.update_vip(fresh(provider).get_vip("web"), dict(allowed_instances=["web-1", "web-2"]))
    port_updates = [c for c in cloud.writes()[before:]
                    if "/ports/" in c[1] and c[0] == "PUT" and not c[1].endswith("/tags")]
    assert port_updates == []
    provider.update_vip(fresh(provider).get_vip("web"), dict(allowed_instances=["web-1"]))
    assert pairs_of(cloud, "web-2") == []
    assert sorted(p["ip_address"] for p in pairs_of(cloud, "web-1")) == ["10.210.3.192", "10.210.3.250"]
    assert vip["id"] == fresh(provider).get_vip("web")["id"]


def test_public_vip_floating_ip_stays_on_the_vip_port(cloud, provider):
    two_instances(provider, "public")
    provider.create_vip(vip_request(provider, holder="web-1"))
    fip = list(cloud.store["floatingips"].values())[0]
    vip_port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-vip-web")
    assert fip["floating_network_id"] == cloud.external["id"]
    # Neutron takes only one of the port's own fixed IPs: the vip port's, never a pair's.
    assert (fip["port_id"], fip["fixed_ip_address"]) == (vip_port["id"], "10.210.3.192")
    mark = len(cloud.writes())
    vip = claim_vip(provider, "web", "web-2")
    assert vip["holder"] == "web-2" and vip["stored_holder"] == "web-2"
    assert [c for c in cloud.writes()[mark:] if "/floatingips" in c[1]] == []
    assert (fip["port_id"], fip["fixed_ip_address"]) == (vip_port["id"], "10.210.3.192")
    assert fresh(provider).get_vip("web")["holder"] == "web-2"
    with pytest.raises(IaasError) as err:
        claim_vip(provider, "web", "other")
    assert str(err.value).startswith("holder: instance 'other' is not in allowed_instances")


def test_floating_ip_on_an_instance_port_with_the_vip_address_is_refused(cloud, provider):
    # What the provider did before: real Neutron answers 400, so does the fake.
    two_instances(provider, "public")
    provider.create_vip(vip_request(provider, holder="web-1"))
    fip = list(cloud.store["floatingips"].values())[0]
    port1 = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-web-1-app")
    response = provider.conn.network.put("/floatingips/%s" % fip["id"], raise_exc=False, json={
        "floatingip": {"port_id": port1["id"], "fixed_ip_address": "10.210.3.192"}})
    assert response.status_code == 400 and response.json()["NeutronError"]["message"] == (
        "Bad floatingip request: Port %s does not have fixed ip 10.210.3.192." % port1["id"])


def test_a_floating_ip_moved_away_is_put_back_on_the_next_change(cloud, provider):
    two_instances(provider, "public")
    provider.create_vip(vip_request(provider, holder="web-1"))
    fip = list(cloud.store["floatingips"].values())[0]
    vip_port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-vip-web")
    fip.update(port_id=None, fixed_ip_address=None)
    provider.update_vip(fresh(provider).get_vip("web"), dict(labels=dict(tier="web")))
    assert (fip["port_id"], fip["fixed_ip_address"]) == (vip_port["id"], "10.210.3.192")
    cloud.store["floatingips"].clear()
    provider.update_vip(fresh(provider).get_vip("web"), dict(holder="web-2"))
    fip = list(cloud.store["floatingips"].values())[0]
    assert (fip["port_id"], fip["fixed_ip_address"]) == (vip_port["id"], "10.210.3.192")


def test_unknown_availability_zone_names_location_and_leaves_nothing(cloud, provider):
    with pytest.raises(IaasError) as err:
        provider.create_vlan(desired_vlan(dict(name="app", location="ams1", type="private", cidr="10.210.3.0/24"),
                                          "openstack"))
    assert err.value.field == "location" and "availability_zones" in err.value.fix
    assert "AvailabilityZoneNotFound" not in str(err.value) and "went away" not in str(err.value)
    assert [n["name"] for n in cloud.store["networks"].values()] == ["public"]


def test_delete_vip_removes_pairs_floating_ip_and_port(cloud, provider):
    two_instances(provider, "public")
    vip = provider.create_vip(vip_request(provider, holder="web-1"))
    provider.delete_vip(vip)
    assert pairs_of(cloud, "web-1") == [] and pairs_of(cloud, "web-2") == []
    assert cloud.store["floatingips"] == {}
    assert not [p for p in cloud.store["ports"].values() if p["name"] == "sciaas-vip-web"]
    assert fresh(provider).list_vips() == []


def test_vip_failure_leaves_no_reservation(cloud, provider):
    two_instances(provider)
    cloud.fail_next("PUT", r"/v2.0/ports/", 409, {"NeutronError": {
        "type": "OverQuota", "message": "Quota exceeded", "detail": ""}})
    with pytest.raises(IaasError):
        provider.create_vip(vip_request(provider))
    assert not [p for p in cloud.store["ports"].values() if p["name"] == "sciaas-vip-web"]
    assert all(pairs_of(cloud, n) == [] for n in ("web-1", "web-2"))


# -- vpn (VPNaaS) ---------------------------------------------------------------

VPN = dict(name="dc", public_vlan="front", local_vlans=["back"], peer_address="198.51.100.7",
           peer_cidrs=["192.168.50.0/24"], psk="unit-psk-never-shown")


def vpn_site(**extra):
    """A site spec as VpnTunnels.apply_vpn_tunnel hands it to VpnSites, with the default proposals' policies."""
    ike, ipsec, _notes = neutron_policies(dict(authentication="psk", ike_proposals=DEFAULT_IKE_PROPOSALS,
                                               esp_proposals=DEFAULT_ESP_PROPOSALS))
    return dict(VPN, ike=ike, ipsec=ipsec, **extra)


def test_vpn_site_is_five_vpnaas_objects(cloud, provider):
    provider.create_vlan(vlan_spec())
    provider.create_vlan(vlan_spec("back", "private", "10.210.2.0/24"))
    site = fresh(provider).vpn.sites.create_site(vpn_site())
    assert "psk" not in site and "unit-psk-never-shown" not in repr(site)
    ike = cloud.requests("POST", r"/vpn/ikepolicies$")[0][3]["ikepolicy"]
    assert ike["ike_version"] == "v2" and ike["lifetime"] == {"units": "seconds", "value": 3600}
    service = cloud.requests("POST", r"/vpn/vpnservices$")[0][3]["vpnservice"]
    assert service["router_id"] == list(cloud.store["routers"])[0]
    groups = [c[3]["endpoint_group"] for c in cloud.requests("POST", r"/vpn/endpoint-groups$")]
    assert [g["type"] for g in groups] == ["subnet", "cidr"] and groups[1]["endpoints"] == ["192.168.50.0/24"]
    conn = cloud.requests("POST", r"/vpn/ipsec-site-connections$")[0][3]["ipsec_site_connection"]
    assert conn["peer_address"] == "198.51.100.7" and conn["psk"] == "unit-psk-never-shown"
    assert [t["name"] for t in provider.list_vpn_tunnels()] == ["dc"]
    provider.vpn.sites.delete_site("dc")
    assert all(cloud.store[k] == {} for k in cloud.store if k.startswith("vpn/"))


def test_no_vpnaas_is_a_clear_error(cloud, provider):
    cloud.extensions = []
    provider.create_vlan(vlan_spec())
    with pytest.raises(IaasError) as err:
        provider.vpn.sites.create_site(vpn_site(local_vlans=[]))
    assert "does not offer VPNaaS" in str(err.value) and "ipsec_gateway" in str(err.value)
    assert not cloud.requests("POST", r"/vpn/")


def test_a_service_whose_proxy_cannot_be_made_names_cloud_and_endpoint(tmp_path):
    # A real Neutron behind network_endpoint_override that is down: the SDK fails
    # while making conn.network (the version document), before any call.
    from keystoneauth1 import exceptions as ksa_exc  # pylint: disable=import-outside-toplevel

    class Config(object):
        name = "lab"

        @staticmethod
        def get_endpoint(service):
            return "http://127.0.0.1:9/" if service == "network" else None

    class DownConnection(object):
        config = Config()

        @property
        def network(self):
            raise ksa_exc.DiscoveryFailure("Unable to find a version discovery document at http://127.0.0.1:9/")

    prov = OpenStackProvider(params(), StateStore(str(tmp_path / "state")), connection=DownConnection())
    with pytest.raises(IaasError) as err:
        prov.list_vlans()
    assert str(err.value).startswith("cloud: the network API at http://127.0.0.1:9/ of cloud 'lab' does not answer "
                                     "(DiscoveryFailure: Unable to find a version discovery document")
    assert "network_endpoint_override" in err.value.fix


def test_network_endpoint_is_the_catalog_one(cloud, provider):
    provider.list_vlans()
    assert cloud.requests("GET", "^" + NETWORK + "/v2.0/networks$")
    assert COMPUTE.startswith("https://compute.example.com")


def test_image_and_server_lists_follow_next_links(cloud, provider):
    cloud.images.append(dict(cloud.images[0], id="66666666-2222-3333-4444-555555555555", name="debian13",
                             os_hash_value="f" * 64))
    provider.create_vlan(vlan_spec())
    for name in ("web-1", "web-2", "web-3"):
        provider.create_instance(instance_spec(fresh(provider), name=name), True, True, 5)
    cloud.page_size = 1
    assert [i["name"] for i in fresh(provider).list_images()] == ["debian12", "debian13"]
    assert any("marker" in c[2] for c in cloud.requests("GET", r"/v2/images$"))
    assert [i["name"] for i in fresh(provider).list_instances()] == ["web-1", "web-2", "web-3"]
    assert any("marker" in c[2] for c in cloud.requests("GET", r"/servers/detail$"))


def test_public_ingress_protocols_without_ports(cloud, tmp_path):
    prov = OpenStackProvider(params(public_ingress=[dict(protocol="esp"), dict(protocol="udp", port=4500,
                                                                               remote_ip_prefix="198.51.100.7/32")]),
                             StateStore(str(tmp_path / "s")))
    prov.create_vlan(vlan_spec())
    rules = [c[3]["security_group_rule"] for c in cloud.requests("POST", r"/security-group-rules$")]
    esp = [r for r in rules if r.get("protocol") == "esp"]
    assert len(esp) == 1 and "port_range_min" not in esp[0] and esp[0]["remote_ip_prefix"] == "0.0.0.0/0"
    ike = [r for r in rules if r.get("protocol") == "udp"]
    assert ike == [dict(ike[0], port_range_min=4500, port_range_max=4500, remote_ip_prefix="198.51.100.7/32")]
    assert all(r["direction"] == "ingress" and r["ethertype"] == "IPv4" for r in rules)
