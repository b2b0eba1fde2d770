# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address management: the rules every resource module relies on."""

from __future__ import annotations

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

VLAN = dict(name="front", cidr="10.210.1.0/24", gateway="10.210.1.1", vip_range="10.210.1.192/26")


def test_default_vip_range_is_the_top_quarter():
    assert str(ipam.default_vip_range(ipam.parse_cidr("10.210.0.0/16"))) == "10.210.192.0/18"
    assert str(ipam.default_vip_range(ipam.parse_cidr("10.210.4.0/29"))) == "10.210.4.6/31"


def test_range_spellings_normalise_to_one():
    assert ipam.format_range(ipam.parse_range("10.210.1.192-10.210.1.255")) == "10.210.1.192/26"
    assert ipam.format_range(ipam.parse_range("10.210.1.200 - 10.210.1.210")) == "10.210.1.200-10.210.1.210"


def test_automatic_range_avoids_the_vip_range():
    net = ipam.parse_cidr("10.210.1.0/24")
    assert str(ipam.automatic_range(net, ipam.parse_range("10.210.1.192/26"))) == "10.210.1.0/25"
    assert str(ipam.automatic_range(net, ipam.parse_range("10.210.1.0/26"))) == "10.210.1.128/25"


def test_allocation_takes_the_lowest_free_address_outside_gateway_and_vips():
    used = {"10.210.1.2": "instance a", "10.210.1.4": "instance b"}
    assert str(ipam.allocate(VLAN, used, "ip")) == "10.210.1.3"
    gateway_high = dict(VLAN, gateway="10.210.1.2")
    assert str(ipam.allocate(gateway_high, {}, "ip")) == "10.210.1.1"


def test_overlap_is_symmetric_and_names_the_other():
    net = ipam.parse_cidr("10.210.0.0/16")
    with pytest.raises(IaasError) as err:
        ipam.check_no_overlap(net, [("10.210.5.0/24", "vlan x in fra1")])
    assert str(err.value).startswith("cidr: 10.210.0.0/16 overlaps 10.210.5.0/24 (vlan x in fra1)")
    ipam.check_no_overlap(net, [("10.211.0.0/16", "vlan y")])


def test_ipv6_is_refused_with_a_reason():
    with pytest.raises(IaasError) as err:
        ipam.parse_cidr("fd00::/64")
    assert "cidr:" in str(err.value)


def test_vip_range_may_not_swallow_the_network():
    net = ipam.parse_cidr("10.210.1.0/29")
    gateway = ipam.default_gateway(net)
    with pytest.raises(IaasError) as err:
        ipam.check_vip_range(net, gateway, ipam.parse_range("10.210.1.2-10.210.1.7"))
    assert "leaves no address for instances" in str(err.value)
