# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vip resource: its options, its one result shape, and its planning.

A vip is an address reserved in a vlan's vip_range that a set of instances
(``allowed_instances``) may hold, one at a time. The network lets only those
instances send from it. Used by the vip and vip_info modules and every provider.

The rules for the cases that could leave an address behind:

* removing an instance from ``allowed_instances`` while it holds the vip is
  refused, unless the same task moves the vip away (``holder``);
* deleting a vip first removes its address from every instance of the vlan;
* deleting an instance that may hold a vip is refused, naming the vips
  (the instance module asks ``instance_vips``).
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, check_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

VIP_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    vlan=dict(type="str"),
    address=dict(type="str"),
    allowed_instances=dict(type="list", elements="str"),
    # Three meanings: omitted (leave as is), null (release), a name (move there).
    holder=dict(type="raw"),
    labels=dict(type="dict"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)

# A guest that moves the vip itself (keepalived) installs this hook; a planned
# move through the API asks the holder to give way instead of taking the address
# from under it: `HOOK release` on the holder, wait until the new holder has the
# vip, `HOOK rejoin`. The keepalived role installs it.
HANDOVER_HOOK = "/usr/local/lib/secure-cloud-iaas/vip-handover"
# Seconds a hand-over may take before the move fails (VRRP needs well under one).
HANDOVER_TIMEOUT = 10

# Set once at creation; a different value fails and names the field.
IMMUTABLE_FIELDS = ("vlan", "address")


def vip_result(name, vlan, location, address, prefixlen, allowed_instances, holder=None, holders=None,
               unauthorized_holders=None, stored_holder=None, labels=None, provider=None, resource_id=None):
    """The one shape of a vip, returned by vip, vip_info and every provider.

    ``holder`` is what the network shows (the allowed instance that has the
    address); ``stored_holder`` what the last move through the API set.
    """
    return dict(
        name=name,
        vlan=vlan,
        location=location,
        address=str(address),
        prefixlen=prefixlen,
        allowed_instances=sorted(allowed_instances or []),
        holder=holder,
        holders=sorted(holders or []),
        unauthorized_holders=sorted(unauthorized_holders or []),
        stored_holder=stored_holder,
        labels=dict(labels or {}),
        provider=provider,
        id=resource_id,
    )


def _on_vlan(instance, vlan_name):
    return any(n.get("vlan") == vlan_name for n in instance.get("networks") or [])


def check_allowed(names, vlan, instances, field="allowed_instances"):
    """Every allowed instance exists and has a port on the vip's vlan."""
    by_name = dict((i["name"], i) for i in instances)
    for name in names:
        if name not in by_name:
            raise IaasError("instance %r does not exist" % name, field=field,
                            fix="create it first with secure_cloud.iaas.instance, or remove it from the list")
        if not _on_vlan(by_name[name], vlan["name"]):
            raise IaasError("instance %r has no port on vlan %s, so it cannot hold a vip there" % (name, vlan["name"]),
                            field=field, fix="add vlan %s to its networks, or remove it from the list" % vlan["name"])
    return sorted(set(names))


def check_vip_request(params):
    """The request's own fields, before any platform is asked: names, the address, labels."""
    check_name(params["name"])
    if params.get("vlan"):
        check_name(params["vlan"], field="vlan")
    if params.get("address"):
        ipam.parse_ip(params["address"], field="address")
    for name in params.get("allowed_instances") or []:
        check_name(name, field="allowed_instances")
    _check_holder_name(params.get("holder"))
    check_labels(params.get("labels"))


def _check_holder_name(holder, field="holder"):
    if holder is None:
        return None
    if not isinstance(holder, str) or not holder:
        raise IaasError("must be an instance name, or null to release the vip", field=field,
                        fix="e.g. holder: web-1")
    return check_name(holder, field=field)


def check_holder(holder, allowed, field="holder"):
    if _check_holder_name(holder, field) is None:
        return None
    if holder not in allowed:
        raise IaasError("instance %r is not in allowed_instances %s" % (holder, allowed), field=field,
                        fix="add it to allowed_instances, or pick one of them")
    return holder


def check_vip_address(vlan, address, vips, name, field="address"):
    """The address lies in the vlan's vip_range and no other vip has it."""
    ip = ipam.parse_ip(address, field=field)
    rng = ipam.parse_range(vlan["vip_range"])
    if ip not in ipam.parse_cidr(vlan["cidr"]):
        raise IaasError("%s is outside vlan %s (%s)" % (ip, vlan["name"], vlan["cidr"]), field=field,
                        fix="pick an address of the vip_range %s, or leave address out" % vlan["vip_range"])
    if ip not in rng:
        raise IaasError("%s is outside the vip_range %s of vlan %s" % (ip, vlan["vip_range"], vlan["name"]),
                        field=field, fix="pick an address of %s, or leave address out" % vlan["vip_range"])
    for other in vips:
        if other["name"] != name and other["address"] == str(ip):
            raise IaasError("%s is already used by vip %s" % (ip, other["name"]), field=field,
                            fix="pick a free address of %s, or leave address out" % vlan["vip_range"])
    return ip


def allocate_vip_address(vlan, vips, field="address"):
    """The lowest address of the vip_range that no vip of the vlan has."""
    taken = set(v["address"] for v in vips if v["vlan"] == vlan["name"])
    for ip in ipam.parse_range(vlan["vip_range"]):
        if str(ip) not in taken:
            return ip
    raise IaasError("the vip_range %s of vlan %s is full" % (vlan["vip_range"], vlan["name"]), field=field,
                    fix="delete a vip there, or use another vlan")


def desired_vip(params, vlans, instances, vips, provider_name=None):
    """The vip the parameters ask for, every default resolved; IaasError on bad input."""
    check_name(params["name"])
    if not params.get("vlan"):
        raise IaasError("is required to create a vip", field="vlan", fix="name the vlan it lives on, e.g. vlan: app")
    vlan = next((v for v in vlans if v["name"] == params["vlan"]), None)
    if vlan is None:
        raise IaasError("vlan %r does not exist" % params["vlan"], field="vlan",
                        fix="create it first with secure_cloud.iaas.vlan")
    if params.get("address"):
        address = check_vip_address(vlan, params["address"], vips, params["name"])
    else:
        address = allocate_vip_address(vlan, vips)
    allowed = check_allowed(params.get("allowed_instances") or [], vlan, instances)
    holder = check_holder(params.get("holder"), allowed)
    return vip_result(
        name=params["name"], vlan=vlan["name"], location=vlan["location"], address=address,
        prefixlen=ipam.parse_cidr(vlan["cidr"]).prefixlen, allowed_instances=allowed, holder=holder,
        holders=[holder] if holder else [], stored_holder=holder, labels=check_labels(params.get("labels")),
        provider=provider_name,
    )


def plan_update(current, params, vlan, instances, holder_given):
    """What must change on an existing vip: {field: new value}; IaasError on a forbidden change."""
    for field in IMMUTABLE_FIELDS:
        want = params.get(field)
        if want is None:
            continue
        if field == "address":
            want = str(ipam.parse_ip(want, field="address"))
        if want != current[field]:
            raise IaasError("cannot change from %s to %s: a vip keeps its %s" % (current[field], want, field),
                            field=field, fix="delete the vip and create it again (state: absent, then present)")
    changes = {}
    allowed = current["allowed_instances"]
    if params.get("allowed_instances") is not None:
        allowed = check_allowed(params["allowed_instances"], vlan, instances)
        if allowed != current["allowed_instances"]:
            changes["allowed_instances"] = allowed
    if params.get("labels") is not None:
        labels = check_labels(params["labels"])
        if labels != current["labels"]:
            changes["labels"] = labels
    holder = current["holder"]
    if holder_given:
        holder = check_holder(params.get("holder"), allowed)
        if holder != current["holder"] or current["holders"] != ([holder] if holder else []):
            changes["holder"] = holder
    if current["holder"] and current["holder"] not in allowed and holder == current["holder"]:
        raise IaasError("instance %r holds the vip, so it cannot leave allowed_instances" % current["holder"],
                        field="allowed_instances",
                        fix="move the vip in the same task (holder: another allowed instance, or null to release it)")
    return changes


def instance_vips(instance_name, vips):
    """The vips an instance may hold: deleting it is refused while there are any."""
    return sorted(v["name"] for v in vips if instance_name in v["allowed_instances"])
