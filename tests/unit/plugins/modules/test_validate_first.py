# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module checks its own options before it connects to anything (ResourceModule.validate()).

The modules run with the real provider selection against a Docker engine that
cannot answer (tcp://127.0.0.1:1): a bad option must fail naming the option,
not the engine, and leave the state directory unmade. The control: the same
task with the option fixed fails on the engine, so the test would see a module
that connects first.
"""

from __future__ import annotations

import pytest

from ansible_collections.secure_cloud.iaas.plugins.modules import (
    instance,
    instance_info,
    vip,
    vip_info,
    vlan,
    vlan_info,
    vpn_tunnel,
    vpn_tunnel_info,
)

UNREACHABLE = dict(provider="docker", docker_host="tcp://127.0.0.1:1", docker_timeout=2)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdRvVPgyPBO7+0nHcT6Yh5Zq3eLdfMN0nYqZPBWzqHB test"

# (module, a task that is good but for the bad option, the bad option, the message that names it)
CASES = [
    (vlan, dict(location="fra1", cidr="10.210.1.0/24"), dict(name="Bad_Name"), "name: 'Bad_Name' is not a legal name"),
    (vlan, dict(name="front", location="fra1"), dict(cidr="10.210.1.5/24"), "cidr: 10.210.1.5/24 has host bits set"),
    (vlan, dict(name="front", location="fra1", cidr="10.210.1.0/24"), dict(gateway="10.210.2.1"),
     "gateway: 10.210.2.1 is outside the cidr"),
    (vlan, dict(name="front", cidr="10.210.1.0/24"), dict(location="Frankfurt 1"), "location: 'Frankfurt 1' is not a legal name"),
    (vlan, dict(name="front", location="fra1", cidr="10.210.1.0/24"), dict(labels={"Bad Key": "x"}),
     "labels: label key 'Bad Key' is not legal"),
    (vip, dict(vlan="app"), dict(name="Bad_Name"), "name: 'Bad_Name' is not a legal name"),
    (vip, dict(name="web", vlan="app"), dict(address="10.210.2.300"), "address: '10.210.2.300' is not a valid IPv4 address"),
    (vip, dict(name="web", vlan="app"), dict(allowed_instances=["web-1", "Web 2"]), "allowed_instances: 'Web 2' is not a legal name"),
    (vip, dict(name="web", vlan="app"), dict(holder=["web-1"]), "holder: must be an instance name"),
    (vip, dict(name="web", vlan="app"), dict(wait_timeout=0), "wait_timeout: must be at least 1 second"),
    (instance, dict(image="debian12", location="fra1", networks=[dict(vlan="app")]), dict(name="Bad_Name"),
     "name: 'Bad_Name' is not a legal name"),
    (instance, dict(name="web-1", image="debian12", location="fra1"), dict(networks=[dict(vlan="app", ip="10.1")]),
     "networks[0].ip: '10.1' is not a valid IPv4 address"),
    (instance, dict(name="web-1", image="debian12", location="fra1"), dict(ssh_public_keys=[KEY, "not a key"]),
     "ssh_public_keys: entry 1 is not an OpenSSH public key"),
    (instance, dict(name="web-1", image="debian12", location="fra1"), dict(memory="lots"), "memory: 'lots' is not a memory size"),
    (instance, dict(name="web-1", image="debian12", location="fra1"), dict(admin_user="root"), "admin_user: 'root' is not a legal admin user"),
    (instance, dict(name="web-1", image="debian12", location="fra1"), dict(image_digest="sha256:abc"), "image_digest: 'sha256:abc' is not a digest"),
    (vpn_tunnel, dict(location="fra1", vlans=["app"], peer_address="198.51.100.7", peer_subnets=["10.1.0.0/24"]),
     dict(name="Bad_Name"), "name: 'Bad_Name' is not a legal name"),
    (vpn_tunnel, dict(name="office", location="fra1", vlans=["app"], peer_address="198.51.100.7"),
     dict(peer_subnets=["10.1.0.5/24"]), "peer_subnets[0]: 10.1.0.5/24 has host bits set"),
    (vpn_tunnel, dict(name="office", location="fra1", vlans=["app"], peer_subnets=["10.1.0.0/24"]),
     dict(peer_address="office.example"), "peer_address: 'office.example' is not a valid IPv4 address"),
    (vpn_tunnel, dict(name="office", location="fra1", vlans=["app"], peer_address="198.51.100.7", peer_subnets=["10.1.0.0/24"]),
     dict(esp_proposals=["3des-sha1-modp1024"]), "esp_proposals: '3des-sha1-modp1024'"),
    (vpn_tunnel, dict(name="office", location="fra1", vlans=["app"], peer_address="198.51.100.7", peer_subnets=["10.1.0.0/24"]),
     dict(authentication="pubkey", psk_file="/nonexistent/office.psk", remote_id="gw.site.example"), "psk_file: is for authentication: psk"),
    (vpn_tunnel, dict(name="office", location="fra1", vlans=["app"], peer_address="198.51.100.7", peer_subnets=["10.1.0.0/24"]),
     dict(dpd_delay=0), "dpd_delay: 0 is out of range"),
    (vlan_info, dict(), dict(name="Bad_Name"), "name: 'Bad_Name' is not a legal name"),
    (vip_info, dict(), dict(labels={"Bad Key": "x"}), "labels: label key 'Bad Key' is not legal"),
    (instance_info, dict(), dict(location="Frankfurt 1"), "location: 'Frankfurt 1' is not a legal name"),
    (vpn_tunnel_info, dict(), dict(name="Bad_Name"), "name: 'Bad_Name' is not a legal name"),
]


@pytest.fixture
def unreachable(tmp_path, monkeypatch):
    for variable in ("SECURE_CLOUD_PROVIDER", "SECURE_CLOUD_ALLOWED_LOCATIONS", "DOCKER_HOST", "SECURE_CLOUD_STATE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return dict(UNREACHABLE, state_dir=str(tmp_path / "state"))


@pytest.mark.parametrize("module, good, bad, message", CASES,
                         ids=["%s-%s" % (c[0].__name__.rsplit(".", 1)[-1], "-".join(c[2])) for c in CASES])
def test_a_bad_option_fails_on_the_option_before_any_connection(run_module, unreachable, tmp_path, module, good, bad, message):
    failed, result = run_module(module.main, dict(unreachable, **dict(good, **bad)))
    assert failed
    assert message in result["msg"], result["msg"]
    assert "Fix: " in result["msg"]
    assert "docker" not in result["msg"].lower()  # nothing was asked of the engine
    assert not (tmp_path / "state").exists()  # nothing was made or read


@pytest.mark.parametrize("module, args", [
    (vlan, dict(name="front", location="fra1", cidr="10.210.1.0/24")),
    (vip, dict(name="web", vlan="app")),
    (instance, dict(name="web-1", image="debian12", location="fra1", networks=[dict(vlan="app")])),
    (vpn_tunnel, dict(name="office", location="fra1", vlans=["app"], peer_address="198.51.100.7", peer_subnets=["10.1.0.0/24"])),
    (vlan_info, dict(name="front")),
])
def test_the_control_a_good_task_reaches_the_unreachable_engine(run_module, unreachable, module, args):
    failed, result = run_module(module.main, dict(unreachable, **args))
    assert failed
    assert "127.0.0.1:1" in result["msg"] or "docker" in result["msg"].lower(), result["msg"]
    assert "is not a legal name" not in result["msg"]
