# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vlan guard's nft script: nft itself must accept it, and it must say what we mean."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import bridge_guard

A = {"port": "veth1a", "mac": "02:42:0a:00:00:02", "addresses": ["10.0.0.2"]}
B = {"port": "veth2b", "mac": "02:42:0a:00:00:03", "addresses": ["10.0.0.3", "10.9.0.3"]}
C = {"port": "veth3c", "mac": "02:42:0a:00:00:04", "addresses": ["10.0.0.4"]}


def set_elements(script, name):
    line = next((ln for ln in script.splitlines() if ln.strip().startswith("set %s {" % name)), None)
    assert line, "set %s missing" % name
    match = re.search(r"elements = \{ (.*) \};", line)
    return set(e.strip() for e in match.group(1).split(",")) if match else set()


def test_each_mac_may_send_only_its_own_addresses_and_granted_vips():
    script = bridge_guard.render([A, B, C], {"10.0.0.200": [A["mac"], B["mac"]]})
    src_ok = set_elements(script, "src_ok")
    assert src_ok == {
        "02:42:0a:00:00:02 . 10.0.0.2", "02:42:0a:00:00:03 . 10.0.0.3", "02:42:0a:00:00:03 . 10.9.0.3",
        "02:42:0a:00:00:04 . 10.0.0.4",
        "02:42:0a:00:00:02 . 10.0.0.200", "02:42:0a:00:00:03 . 10.0.0.200",
    }
    # C is guarded but holds no grant for the vip.
    assert "02:42:0a:00:00:04 . 10.0.0.200" not in src_ok
    assert set_elements(script, "vips") == {"10.0.0.200"}
    assert set_elements(script, "port_mac") == {'"veth1a" . 02:42:0a:00:00:02', '"veth2b" . 02:42:0a:00:00:03',
                                                '"veth3c" . 02:42:0a:00:00:04'}


def test_ip_from_a_vip_is_held_to_the_allow_list_on_its_subnet_only():
    # Its answers routed onto another bridge (a customer's VPN gateway
    # forwarding them to the site's network) come from that gateway's MAC.
    script = bridge_guard.render([A, B], {"10.0.0.200": [A["mac"]], "10.5.0.200": [B["mac"]]},
                                 {"10.0.0.200": "10.0.0.0/24"})
    assert ("ether type ip ip saddr 10.0.0.200 ip daddr { 10.0.0.0/24, 224.0.0.0/4, 255.255.255.255 }"
            " ether saddr . ip saddr != @src_ok drop") in script
    # Without a subnet, anywhere; ARP claims for every vip, anywhere.
    assert set_elements(script, "vips_anywhere") == {"10.5.0.200"}
    assert set_elements(script, "vips") == {"10.0.0.200", "10.5.0.200"}
    assert "ether type arp arp saddr ip @vips ether saddr . arp saddr ip != @src_ok drop" in script


def test_render_is_stable_whatever_the_input_order():
    grants = {"10.0.0.200": [A["mac"]], "10.0.0.201": [B["mac"]]}
    assert bridge_guard.render([A, B, C], grants) == bridge_guard.render([C, A, B], dict(reversed(list(grants.items()))))


def test_replaces_the_table_in_one_transaction():
    script = bridge_guard.render([A], {})
    # Declaring then deleting first makes the load work whether or not the table exists.
    assert script.startswith("table bridge %s\ndelete table bridge %s\n" % ((bridge_guard.TABLE,) * 2))


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed (make docker installs it)")
@pytest.mark.parametrize("ports,grants,nets", [
    ([], {}, {}),
    ([A, B, C], {"10.0.0.200": [A["mac"], B["mac"]]}, {}),
    ([A, B, C], {"10.0.0.200": [A["mac"], B["mac"]], "10.0.0.201": [C["mac"]]}, {"10.0.0.200": "10.0.0.0/24"}),
])
def test_nft_accepts_the_script(ports, grants, nets):
    proc = subprocess.run(["nft", "-c", "-f", "-"], input=bridge_guard.render(ports, grants, nets),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_present_asks_nft_for_the_table_only():
    calls = []

    def run(argv, data=None):
        calls.append(argv)
        return (0 if len(calls) == 1 else 1), "", ""

    assert bridge_guard.present(run) is True
    assert bridge_guard.present(run) is False
    assert calls[0] == ["nft", "list", "table", "bridge", bridge_guard.TABLE]


@pytest.fixture
def netns_nft():
    """run(argv, data) that runs nft in a network namespace of the test's own (tables are per namespace)."""
    if shutil.which("nft") is None or shutil.which("ip") is None:
        pytest.skip("nft and ip are needed (make docker installs them)")
    name = "sciaas-unit-guard-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", name], check=True)

    def run(argv, data=None):
        proc = subprocess.run(["ip", "netns", "exec", name] + argv, input=data, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    yield run
    subprocess.run(["ip", "netns", "delete", name], check=True)


def test_in_place_sees_every_kind_of_drift_of_the_loaded_guard(netns_nft):
    grants, nets = {"10.0.0.200": [A["mac"], B["mac"]], "10.0.0.201": [C["mac"]]}, {"10.0.0.200": "10.0.0.0/24"}
    assert bridge_guard.in_place([], {}, {}, netns_nft)  # nothing to guard, no table: in place
    assert not bridge_guard.in_place([A, B, C], grants, nets, netns_nft)  # the table is missing
    bridge_guard.apply(bridge_guard.render([A, B, C], grants, nets), netns_nft)
    assert bridge_guard.in_place([A, B, C], grants, nets, netns_nft)
    # Each drift a person could make by hand, and the drift of the truth itself.
    assert not bridge_guard.in_place([A, B], grants, nets, netns_nft)
    assert not bridge_guard.in_place([A, B, C], dict(grants, **{"10.0.0.202": [A["mac"]]}), nets, netns_nft)
    assert not bridge_guard.in_place([], {}, {}, netns_nft)  # a guard left when nothing is to be guarded
    rc, _out, err = netns_nft(["nft", "delete", "element", "bridge", bridge_guard.TABLE, "src_ok",
                               "{ %s . 10.0.0.200 }" % B["mac"]])
    assert rc == 0, err
    assert not bridge_guard.in_place([A, B, C], grants, nets, netns_nft)
    bridge_guard.apply(bridge_guard.render([A, B, C], grants, nets), netns_nft)
    rc, out, err = netns_nft(["nft", "-a", "list", "chain", "bridge", bridge_guard.TABLE, "guard"])
    handle = re.search(r"ip saddr 10\.0\.0\.200 .* # handle (\d+)", out).group(1)
    assert netns_nft(["nft", "delete", "rule", "bridge", bridge_guard.TABLE, "guard", "handle", handle])[0] == 0
    assert not bridge_guard.in_place([A, B, C], grants, nets, netns_nft)
