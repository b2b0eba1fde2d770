"""The keepalived role's OpenStack cloud action against the requests-mock cloud.

Vips are made by the openstack provider; the action (files/actions/openstack_vip.py)
must claim and report them the way a holder change through the provider (claim_vip of
openstack_fake_cloud.py) and the provider's vip read-back do,
with the same Neutron writes, and never create or delete anything.
"""

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openstack")
requests_mock = pytest.importorskip("requests_mock")

ROOT = Path(__file__).resolve().parents[3]
ACTIONS = ROOT / "roles" / "keepalived" / "files" / "actions"
sys.path.insert(0, str(ACTIONS))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins" / "module_utils"))

import openstack_vip  # noqa: E402  (imported from the role's files)
from openstack_fake_cloud import CLOUDS_YAML, IDENTITY, FakeCloud, claim_vip  # noqa: E402

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import desired_instance  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import desired_vip  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import desired_vlan  # noqa: E402

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF admin@example"


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(CLOUDS_YAML)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.setenv("OS_CLOUD", "unit")
    with requests_mock.Mocker() as mocker:
        yield FakeCloud(mocker)


@pytest.fixture
def provider(cloud, tmp_path):
    prov = OpenStackProvider(dict(provider="openstack", cloud="unit", external_network="public", wait_timeout=5),
                             StateStore(str(tmp_path / "state")))
    prov.conn.poll_interval = 0.01
    for name, kind, cidr in (("front", "public", "10.210.1.0/24"), ("app", "private", "10.210.2.0/24")):
        prov.create_vlan(desired_vlan(dict(name=name, location="fra1", type=kind, cidr=cidr), "openstack"))
    for name in ("web-1", "web-2", "web-3"):
        prov.conn.forget()
        spec = desired_instance(dict(name=name, location="fra1", image="debian12", ssh_public_keys=[KEY],
                                     networks=[dict(vlan="front"), dict(vlan="app")]),
                                prov, dict((v["name"], v) for v in prov.list_vlans()), prov.list_instances())
        prov.create_instance(spec, True, True, 5)
    for name, vlan in (("web", "front"), ("db", "app")):
        prov.conn.forget()
        spec = desired_vip(dict(name=name, vlan=vlan, allowed_instances=["web-1", "web-2"], holder="web-1"),
                           prov.list_vlans(), prov.list_instances(), prov.list_vips(), "openstack")
        prov.create_vip(spec)
    prov.conn.forget()
    return prov


def action(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = openstack_vip.main(list(argv), out=out, err=err)
    return rc, out.getvalue().strip(), err.getvalue().strip()


def writes(cloud, since=0):
    """(method, path with ids as ID, body keys) of the cloud writes after the first ``since``."""
    out = []
    for method, url, _query, body in [c for c in cloud.writes() if not c[1].startswith(IDENTITY)][since:]:
        body = body or {}
        # Neutron wraps a resource's fields in one key ({"floatingip": {...}}); tags come bare.
        inner = list(body.values())[0] if len(body) == 1 and isinstance(list(body.values())[0], dict) else body
        out.append((method, re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "ID", url), sorted(inner)))
    return out


def address(provider, name):
    return provider.get_vip(name)["address"]


@pytest.mark.parametrize("name", ["web", "db"])
def test_claim_is_what_claim_vip_does_and_reads_back_the_same(cloud, provider, name):
    vip = address(provider, name)
    assert action("holder", vip)[1] == "web-1"
    before = len([c for c in cloud.writes() if not c[1].startswith(IDENTITY)])
    rc, _out, err = action("claim", vip, "web-2")
    assert rc == 0, err
    by_action = writes(cloud, before)
    provider.conn.forget()
    current = provider.get_vip(name)
    assert current["holder"] == "web-2" and current["stored_holder"] == "web-2"
    assert action("holder", vip)[1] == "web-2"
    # Both allowed ports keep the pair (the allow-list is the vip module's).
    for inst in ("web-1", "web-2"):
        port = next(p for p in cloud.store["ports"].values()
                    if p["name"] == "sciaas-%s-%s" % (inst, "front" if name == "web" else "app"))
        assert vip in [p["ip_address"] for p in port["allowed_address_pairs"]]
    # The same claim through the provider, back to web-1, makes the same kind of writes.
    mark = len([c for c in cloud.writes() if not c[1].startswith(IDENTITY)])
    claim_vip(provider, name, "web-1")
    assert writes(cloud, mark) == by_action
    assert action("holder", vip)[1] == "web-1"
    # A claim writes only the holder tag; a public vip's floating IP stays on the vip port.
    assert [w[0] for w in by_action] == ["PUT"] and by_action[0][1].endswith("/tags")
    if name == "web":
        fip = next(iter(cloud.store["floatingips"].values()))
        vip_port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-vip-web")
        assert (fip["port_id"], fip["fixed_ip_address"]) == (vip_port["id"], vip)


def test_claim_adds_the_pair_when_the_port_lost_it(cloud, provider):
    vip = address(provider, "db")
    port = next(p for p in cloud.store["ports"].values() if p["name"] == "sciaas-web-2-app")
    port["allowed_address_pairs"] = [dict(ip_address="10.210.2.250", mac_address=port["mac_address"])]
    assert action("claim", vip, "web-2")[0] == 0
    assert sorted(p["ip_address"] for p in port["allowed_address_pairs"]) == sorted(["10.210.2.250", vip])


def test_a_node_outside_the_allow_list_changes_nothing(cloud, provider):
    vip = address(provider, "web")
    before = len(cloud.writes())
    rc, _out, err = action("claim", vip, "web-3")
    assert rc == 1 and "web-3 is not allowed to hold vip" in err
    assert [c for c in cloud.writes()[before:] if not c[1].startswith(IDENTITY)] == []


def test_unknown_vip_and_bad_usage(cloud, provider):
    rc, _out, err = action("holder", "10.210.2.99")
    assert rc == 1 and "0 secure_cloud.iaas vip ports hold 10.210.2.99" in err
    assert action()[0] == 2 and action("claim", "10.210.2.192")[0] == 2 and action("frobnicate", "x")[0] == 2


def test_claim_never_touches_floating_ips(cloud, provider):
    vip = address(provider, "web")
    cloud.store["floatingips"].clear()
    mark = len(cloud.calls)
    rc, _out, err = action("claim", vip, "web-2")
    assert rc == 0, err
    assert not [c for c in cloud.calls[mark:] if "/floatingips" in c[1]]
    assert action("holder", vip)[1] == "web-2"


def test_wrapper_runs_the_python_action(tmp_path):
    script = ACTIONS / "openstack.sh"
    done = subprocess.run(["sh", str(script), "transition", "INSTANCE", "VI_1", "MASTER", "100"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "usage" in done.stderr
