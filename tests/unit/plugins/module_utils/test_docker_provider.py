# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker provider against the real engine, where only that is an honest test.

Each test makes its own vlans (10.210.250.0/24 and up) and removes them.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from docker import errors as docker_errors

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import isolation as host_isolation
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.vlans import local_routes
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import desired_instance
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import get_provider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import desired_vlan

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


def test_host_routes_are_read_without_the_default_route(tmp_path):
    path = tmp_path / "route"
    path.write_text(ROUTES)
    assert local_routes(str(path)) == [
        ("192.0.2.0/24", "a route of the host via eth0"), ("172.17.0.0/16", "a route of the host via docker0")]


def run_command(argv, data=None):
    proc = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def engine(tmp_path):
    try:
        provider = get_provider(dict(provider="docker", state_dir=str(tmp_path / "state")), run_command=run_command)
    except IaasError as exc:
        pytest.skip("no Docker engine: %s" % exc)
    made = []
    yield provider, made
    for name in made:
        inst = provider.get_instance(name)
        if inst:
            provider.delete_instance(inst)
    for vlan in provider.list_vlans():
        if vlan["name"].startswith("ut-"):
            provider.delete_vlan(vlan)


def _vlan(provider, name, cidr, vlan_type="private"):
    spec = desired_vlan(dict(name=name, location="ut", type=vlan_type, cidr=cidr, labels=None), provider.name)
    return provider.create_vlan(spec)


def test_vlan_maps_to_a_labelled_network_with_the_automatic_range(engine):
    provider = engine[0]
    vlan = _vlan(provider, "ut-priv", "10.210.250.0/24")
    assert (vlan["cidr"], vlan["gateway"], vlan["vip_range"], vlan["automatic_range"]) == (
        "10.210.250.0/24", "10.210.250.1", "10.210.250.192/26", "10.210.250.0/25")
    net = provider.engine.client.networks.get("sciaas-vlan-ut-priv")
    assert net.attrs["Internal"] is True
    assert net.attrs["Labels"]["secure_cloud.iaas.managed"] == "true"
    assert provider.vlans.bridge("ut-priv") == "br-" + net.id[:12]
    # The vlan's cidr is now taken for every later vlan, and it is no "host route".
    assert ("10.210.250.0/24", "a route of the host via br-" + net.id[:12]) not in provider.reserved_networks()
    # Nothing from a private vlan reaches the host; the rule goes with the vlan.
    assert 'iifname "br-%s" drop' % net.id[:12] in host_isolation.current_rules(run_command)
    provider.delete_vlan(vlan)
    assert 'iifname "br-%s" drop' % net.id[:12] not in (host_isolation.current_rules(run_command) or [])


def test_a_failed_second_network_leaves_no_container(engine, monkeypatch):
    provider, made = engine
    _vlan(provider, "ut-a", "10.210.251.0/24")
    _vlan(provider, "ut-b", "10.210.252.0/24")
    spec = desired_instance(dict(name="ut-broken", location="ut", image="debian12",
                                 networks=[dict(vlan="ut-a"), dict(vlan="ut-b")]),
                            provider, dict((v["name"], v) for v in provider.list_vlans()), [])
    made.append("ut-broken")
    real_connect = provider.engine.client.api.connect_container_to_network

    def refuse(container, net, **kwargs):
        # The engine refuses the second network, as it does for an address in use.
        real_connect(container, net, **kwargs)
        raise docker_errors.APIError("Address already in use")

    monkeypatch.setattr(provider.engine.client.api, "connect_container_to_network", refuse)
    with pytest.raises(IaasError) as err:
        provider.create_instance(spec, run=True, wait=False, timeout=30)
    assert "Address already in use" in str(err.value)
    assert provider.engine.client.containers.list(all=True, filters={"name": "sciaas-ut-broken"}) == []


def test_a_failed_vlan_leaves_no_network(engine, monkeypatch):
    provider = engine[0]
    spec = desired_vlan(dict(name="ut-late", location="ut", type="public", cidr="10.210.253.0/24", labels=None),
                        provider.name)
    collection = type(provider.engine.client.networks)
    real_create = collection.create

    def late_failure(self, name, **kwargs):
        # The engine made the network, but the answer never arrived (a client timeout).
        real_create(self, name, **kwargs)
        raise docker_errors.APIError("read timed out")

    monkeypatch.setattr(collection, "create", late_failure)
    with pytest.raises(IaasError) as err:
        provider.create_vlan(spec)
    assert "read timed out" in str(err.value)
    assert provider.engine.client.networks.list(names=["sciaas-vlan-ut-late"]) == []


def test_way_out_through_the_public_vlan_and_the_facts_vips_need(engine):
    provider, made = engine
    _vlan(provider, "ut-back", "10.210.251.0/24")
    _vlan(provider, "ut-front", "10.210.252.0/24", vlan_type="public")
    _vlan(provider, "ut-aaa", "10.210.253.0/24")
    # The engine attaches the public vlan first, then the private ones by
    # name, whatever the order asked; the result says so, and the way out is
    # through the public vlan.
    spec = desired_instance(dict(name="ut-two", location="ut", image="debian12",
                                 networks=[dict(vlan="ut-back"), dict(vlan="ut-front", ip="10.210.252.7"),
                                           dict(vlan="ut-aaa")]),
                            provider, dict((v["name"], v) for v in provider.list_vlans()), [])
    made.append("ut-two")
    inst = provider.create_instance(spec, run=True, wait=False, timeout=30)
    assert [(n["vlan"], n["ip"], n["interface"]) for n in inst["networks"]] == [
        ("ut-back", "10.210.251.2", "eth2"), ("ut-front", "10.210.252.7", "eth0"), ("ut-aaa", "10.210.253.2", "eth1")]
    container = provider.engine.client.containers.get("sciaas-ut-two")
    route = container.exec_run(["ip", "route", "show", "default"]).output.decode().strip()
    assert route.startswith("default via 10.210.252.1 dev eth0")
    # What the guest really sees matches what the result reported: each
    # vlan's MAC is on the interface the result names, the other end of a veth
    # on the host.
    seen = _guest_interfaces(container)
    assert [(n["vlan"], seen[n["mac"]][0]) for n in inst["networks"]] == [
        ("ut-back", "eth2"), ("ut-front", "eth0"), ("ut-aaa", "eth1")]
    host_ifaces = _host_interfaces()
    assert all(host_ifaces.get(seen[n["mac"]][1], "").startswith("veth") for n in inst["networks"])
    assert provider.instances.pid("ut-two") > 1


def _guest_interfaces(container):
    """{mac: (interface, the ifindex of its peer on the host)} as the guest sees them."""
    listing = container.exec_run(["/bin/sh", "-c", 'for d in /sys/class/net/*; do '
                                  'echo "${d##*/} $(cat $d/address) $(cat $d/iflink)"; done']).output.decode()
    return dict((mac, (name, iflink)) for name, mac, iflink in (line.split() for line in listing.splitlines()))


def _host_interfaces():
    """{ifindex: name} of the host's interfaces."""
    out = {}
    for name in os.listdir("/sys/class/net"):
        with open("/sys/class/net/%s/ifindex" % name) as handle:
            out[handle.read().strip()] = name
    return out


def test_listing_for_planning_skips_the_keys_but_keeps_the_addresses(engine):
    provider, made = engine
    _vlan(provider, "ut-keys", "10.210.254.0/24")
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHV0LWtleXMtdGVzdC1rZXktbm90LXVzZWQtYW55d2hlcmU ut@keys"
    spec = desired_instance(dict(name="ut-keys", location="ut", image="debian12", networks=[dict(vlan="ut-keys")],
                                 ssh_public_keys=[key]),
                            provider, dict((v["name"], v) for v in provider.list_vlans()), [])
    made.append("ut-keys")
    provider.create_instance(spec, run=True, wait=False, timeout=30)
    full = next(i for i in provider.list_instances() if i["name"] == "ut-keys")
    light = next(i for i in provider.list_instances(keys=False) if i["name"] == "ut-keys")
    # The full listing reads authorized_keys from the guest; the planning one
    # (one file read fewer per instance, under the lock) has what planning needs.
    assert full["ssh_public_keys"] == [key]
    assert light["ssh_public_keys"] == []
    assert light["networks"] == full["networks"] and light["networks"][0]["ip"] == "10.210.254.2"


def test_every_controller_of_the_engine_writes_one_store_under_one_lock(engine, tmp_path):
    # Two controllers (two state dirs) of one engine: what one records, the
    # other's drivers read, and one's transaction keeps the other's out.
    one = engine[0]
    other = get_provider(dict(provider="docker", state_dir=str(tmp_path / "other")), run_command=run_command)
    assert one.store.db_path == other.store.db_path != os.path.join(str(tmp_path / "state"), "state.sqlite3")
    kind = "ut-probe-%d" % os.getpid()  # a kind nothing else reads: the engine's vips stay as they are
    try:
        with one.transaction():
            one.store.put(kind, "seen", dict(by="one"))
            with other.store.lock_if_free() as free:
                assert free is False
        for driver in (other.vips, other.vpn):
            assert driver.store.list(kind) == {"seen": dict(by="one")}
    finally:
        with one.transaction():
            one.store.delete(kind, "seen")


def test_a_create_cut_short_is_found_and_the_next_run_removes_what_it_made(engine, tmp_path):
    # The controller killed mid-create: the container runs, but the rest of the create (the admin
    # user, its keys) never happened, and nothing removed it. Without the row it passes for an instance.
    provider, made = engine
    _vlan(provider, "ut-cut", "10.210.249.0/24")
    spec = desired_instance(dict(name="ut-cut", location="ut", image="debian12", networks=[dict(vlan="ut-cut")]),
                            provider, dict((v["name"], v) for v in provider.list_vlans()), [])
    made.append("ut-cut")
    params = dict(provider="docker", state_dir=str(tmp_path / "state"))
    child = os.fork()
    if child == 0:  # pragma: no cover - the killed controller
        code = 1
        try:
            killed = get_provider(params, run_command=run_command)
            # os._exit: no except and no finally of the create runs, as under SIGKILL.
            killed.instances._inject_admin = lambda *args: os._exit(0)
            killed.create_instance(spec, run=True, wait=False, timeout=30)
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0
    provider = get_provider(params, run_command=run_command)
    half = provider.get_instance("ut-cut")
    assert half is not None and half["state"] == "running"
    assert provider.discard_unfinished_instance("ut-cut", apply=False) is True
    assert provider.get_instance("ut-cut") is not None
    assert provider.discard_unfinished_instance("ut-cut") is True
    assert provider.get_instance("ut-cut") is None
    assert provider.discard_unfinished_instance("ut-cut") is False
    # A create that ends (or fails) leaves no row: the instance is not taken for half-made.
    provider.create_instance(spec, run=True, wait=False, timeout=30)
    assert provider.discard_unfinished_instance("ut-cut") is False
    assert provider.get_instance("ut-cut") is not None
