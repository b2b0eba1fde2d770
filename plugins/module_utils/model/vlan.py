# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vlan resource: its options, its one result shape, and its planning.

Used by the vlan and vlan_info modules and by every provider.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, check_location, check_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

VLAN_TYPES = ("public", "private")

VLAN_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    location=dict(type="str"),
    type=dict(type="str", choices=list(VLAN_TYPES)),
    cidr=dict(type="str"),
    gateway=dict(type="str"),
    vip_range=dict(type="str"),
    labels=dict(type="dict"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)

# The fields a user compares; all are fixed once the vlan exists.
VLAN_FIELDS = ("location", "type", "cidr", "gateway", "vip_range", "labels")


def vlan_result(name, location, vlan_type, cidr, gateway, vip_range, labels=None,
                provider=None, resource_id=None, automatic_range=None):
    """The one shape of a vlan, returned by vlan, vlan_info and every provider."""
    return dict(
        name=name,
        location=location,
        type=vlan_type,
        cidr=str(cidr),
        gateway=str(gateway),
        vip_range=str(vip_range),
        automatic_range=str(automatic_range) if automatic_range else None,
        labels=dict(labels or {}),
        provider=provider,
        id=resource_id,
    )


def desired_vlan(params, provider_name=None):
    """The vlan the parameters ask for, every default resolved; IaasError on bad input."""
    check_name(params["name"])
    check_location(params.get("location"), "a vlan")
    if not params.get("cidr"):
        raise IaasError("is required to create a vlan", field="cidr", fix="give its network, e.g. cidr: 10.210.1.0/24")
    net = ipam.parse_cidr(params["cidr"])
    if params.get("gateway"):
        gateway = ipam.check_gateway(net, ipam.parse_ip(params["gateway"], field="gateway"))
    else:
        gateway = ipam.default_gateway(net)
    if params.get("vip_range"):
        rng = ipam.check_vip_range(net, gateway, ipam.parse_range(params["vip_range"]))
    else:
        rng = ipam.check_vip_range(net, gateway, ipam.parse_range(str(ipam.default_vip_range(net))))
    return vlan_result(
        name=params["name"], location=params["location"], vlan_type=params.get("type") or "private",
        cidr=net, gateway=gateway, vip_range=ipam.format_range(rng), labels=check_labels(params.get("labels")),
        provider=provider_name, automatic_range=ipam.automatic_range(net, rng),
    )


def check_vlan_request(params):
    """The request's own fields, before any platform is asked: name, location, cidr, gateway, vip_range, labels.

    What needs the platform (is the vlan there, does the cidr overlap) is checked later.
    """
    check_name(params["name"])
    if params.get("location"):
        check_name(params["location"], field="location")
    want = normalise_request(params)
    if "cidr" in want:
        net = ipam.parse_cidr(want["cidr"])
        gateway = ipam.check_gateway(net, ipam.parse_ip(want["gateway"], field="gateway")) if "gateway" in want \
            else ipam.default_gateway(net)
        if "vip_range" in want:
            ipam.check_vip_range(net, gateway, ipam.parse_range(want["vip_range"]))


def check_vlan_placement(desired, vlans, reserved):
    """Refuse a cidr that overlaps another vlan or a network of the host."""
    net = ipam.parse_cidr(desired["cidr"])
    ipam.check_no_overlap(net, [(v["cidr"], "vlan %s in %s" % (v["name"], v["location"]))
                                for v in vlans if v["name"] != desired["name"]])
    ipam.check_no_overlap(net, reserved)


def normalise_request(params):
    """The user's options in the result's spelling, only those given (for comparison)."""
    want = {}
    if params.get("location") is not None:
        want["location"] = params["location"]
    if params.get("type") is not None:
        want["type"] = params["type"]
    net = None
    if params.get("cidr"):
        net = ipam.parse_cidr(params["cidr"])
        want["cidr"] = str(net)
    if params.get("gateway"):
        want["gateway"] = str(ipam.parse_ip(params["gateway"], field="gateway"))
    if params.get("vip_range"):
        want["vip_range"] = ipam.format_range(ipam.parse_range(params["vip_range"]))
    if params.get("labels") is not None:
        want["labels"] = check_labels(params["labels"])
    return want


def vlan_differences(current, params):
    """[(field, have, want)] for every option the user set that differs."""
    want = normalise_request(params)
    return [(field, current.get(field), want[field]) for field in VLAN_FIELDS
            if field in want and current.get(field) != want[field]]
