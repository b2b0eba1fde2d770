# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance resource: its options, its one result shape, and its planning.

Used by the instance and instance_info modules and by every provider.
"""

from __future__ import annotations

import re

from ansible_collections.secure_cloud.iaas.plugins.module_utils import image_signature
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import HOSTNAME_RE, check_labels, check_location, check_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

# instance_type: (cpus, memory in MiB). Sized for small hosts: a provider
# refuses more CPUs than its host has.
INSTANCE_TYPES = {
    "small": (0.5, 512),
    "medium": (1.0, 1024),
    "large": (2.0, 4096),
}
DEFAULT_INSTANCE_TYPE = "small"
DEFAULT_ADMIN_USER = "cloudadmin"
RUN_STATES = ("present", "running", "stopped", "restarted", "absent")

INSTANCE_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    image=dict(type="str"),
    image_digest=dict(type="str"),
    image_signature=dict(type="path"),
    image_signing_key=dict(type="str", no_log=False),
    location=dict(type="str"),
    instance_type=dict(type="str", choices=sorted(INSTANCE_TYPES)),
    cpus=dict(type="float"),
    memory=dict(type="str"),
    networks=dict(type="list", elements="dict", options=dict(
        vlan=dict(type="str", required=True),
        ip=dict(type="str"),
    )),
    admin_user=dict(type="str"),
    ssh_public_keys=dict(type="list", elements="str", no_log=False),
    hostname=dict(type="str"),
    labels=dict(type="dict"),
    recreate=dict(type="bool", default=False),
    state=dict(type="str", choices=list(RUN_STATES), default="present"),
)

# Fields that cannot change on an existing instance without recreate: true.

USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
KEY_RE = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
                    r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$")
# A pinned image digest: sha256 (Docker image ids, Glance images hashed with sha256)
# or sha512 (Glance's default os_hash_algo).
DIGEST_RE = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})\Z")


def parse_memory(value, field="memory"):
    """'512m', '2g', '1.5g' or a bare number of MiB, as MiB."""
    text = str(value).strip().lower()
    match = re.match(r"^(\d+(\.\d+)?)\s*(m|mb|mib|g|gb|gib)?$", text)
    if not match:
        raise IaasError("%r is not a memory size" % (value,), field=field, fix="give e.g. 512m or 2g")
    number = float(match.group(1))
    mib = number * 1024 if (match.group(3) or "m").startswith("g") else number
    if mib < 64 or mib != int(mib):
        raise IaasError("%r is too small or not a whole number of MiB" % (value,), field=field,
                        fix="give at least 64m, in whole MiB (e.g. 512m, 2g)")
    return int(mib)


def format_memory(mib):
    if mib is None:
        return None
    return "%dg" % (mib // 1024) if mib % 1024 == 0 else "%dm" % mib


def instance_type_of(cpus, memory_mb):
    for name, (type_cpus, type_mem) in INSTANCE_TYPES.items():
        if cpus == type_cpus and memory_mb == type_mem:
            return name
    return "custom"


def instance_result(name, location, image, image_id, cpus, memory_mb, hostname, networks,
                    admin_user, ssh_public_keys, labels=None, state=None, provider=None, resource_id=None):
    """The one shape of an instance, returned by instance, instance_info and every provider.

    networks: [{vlan, ip, interface, mac}] in the order the user gave; interface
    is the guest's name for it, as the provider's interface_names() says.
    """
    return dict(
        name=name,
        location=location,
        image=image,
        image_id=image_id,
        instance_type=instance_type_of(cpus, memory_mb),
        cpus=cpus,
        memory=format_memory(memory_mb),
        hostname=hostname,
        networks=[dict(vlan=n["vlan"], ip=str(n["ip"]) if n.get("ip") else None,
                       interface=n.get("interface") or "eth%d" % i, mac=n.get("mac"))
                  for i, n in enumerate(networks)],
        admin_user=admin_user,
        ssh_public_keys=list(ssh_public_keys or []),
        labels=dict(labels or {}),
        state=state,
        provider=provider,
        id=resource_id,
    )


def check_keys(keys, field="ssh_public_keys"):
    out = []
    for i, key in enumerate(keys or []):
        key = " ".join(str(key).split())
        if not KEY_RE.match(key):
            raise IaasError("entry %d is not an OpenSSH public key" % i, field=field,
                            fix="give the one-line contents of a .pub file (ssh-ed25519 AAAA... comment); never a private key")
        if key not in out:
            out.append(key)
    return out


def sizing(params, current=None):
    """(cpus, memory MiB) the request asks for; None where it asks nothing and an instance exists."""
    cpus = memory = None
    if params.get("instance_type"):
        cpus, memory = INSTANCE_TYPES[params["instance_type"]]
    elif current is None:
        cpus, memory = INSTANCE_TYPES[DEFAULT_INSTANCE_TYPE]
    if params.get("cpus") is not None:
        if not 0.01 <= params["cpus"] <= 64:
            raise IaasError("%s is out of range" % params["cpus"], field="cpus", fix="give 0.01 to 64")
        cpus = float(params["cpus"])
    if params.get("memory") is not None:
        memory = parse_memory(params["memory"])
    return cpus, memory


def used_addresses(instances, foreign=None, exclude=None):
    """{vlan: {ip: holder}}: the instances' addresses (leaving out ``exclude``) and FOREIGN's
    ({vlan: {ip: holder}} of anything else on the vlans, as provider.foreign_addresses())."""
    used = {}
    for inst in instances:
        if inst["name"] == exclude:
            continue
        for net in inst.get("networks") or []:
            if net.get("ip"):
                used.setdefault(net["vlan"], {})[net["ip"]] = "instance %s" % inst["name"]
    for vlan, extra in (foreign or {}).items():
        used.setdefault(vlan, {}).update(extra)
    return used


def plan_networks(requested, location, vlans, used):
    """[{vlan, ip}] with every ip checked or allocated. vlans: {name: vlan result}."""
    if not requested:
        raise IaasError("an instance needs at least one network", field="networks",
                        fix="give e.g. networks: [{vlan: front}]")
    out = []
    seen = set()
    for i, req in enumerate(requested):
        field = "networks[%d]" % i
        name = req.get("vlan")
        vlan = vlans.get(name)
        if vlan is None:
            here = sorted(v["name"] for v in vlans.values() if v["location"] == location)
            raise IaasError("vlan %r does not exist" % (name,), field=field + ".vlan",
                            fix="create it first with secure_cloud.iaas.vlan, or use one of: %s"
                                % (", ".join(here) or "(no vlan in location %s yet)" % location))
        if vlan["location"] != location:
            raise IaasError("vlan %s is in location %s, not %s: an instance only joins vlans of its own location"
                            % (name, vlan["location"], location), field=field + ".vlan",
                            fix="use a vlan of location %s" % location)
        if name in seen:
            raise IaasError("vlan %s is listed twice" % name, field=field + ".vlan",
                            fix="list each vlan once; an instance has one address per vlan")
        seen.add(name)
        taken = used.setdefault(name, {})
        if req.get("ip"):
            ip = ipam.check_instance_ip(vlan, ipam.parse_ip(req["ip"], field=field + ".ip"), taken, field + ".ip")
        else:
            ip = ipam.allocate(vlan, taken, field + ".ip")
        taken[str(ip)] = "this request"
        out.append(dict(vlan=name, ip=str(ip)))
    return out


def check_digest(digest):
    if digest and not DIGEST_RE.match(digest):
        raise IaasError("%r is not a digest" % (digest,), field="image_digest",
                        fix="give sha256: and 64 hex digits or sha512: and 128 hex digits (lower case), as "
                            "image_id in instance_info shows")
    return digest


def check_hostname(hostname):
    if not HOSTNAME_RE.match(hostname):
        raise IaasError("%r is not a legal hostname" % hostname, field="hostname",
                        fix="use lower-case letters, digits, hyphens and dots (e.g. web-1.example.internal)")
    return hostname


def check_admin_user(admin_user):
    if not USER_RE.match(admin_user) or admin_user == "root":
        raise IaasError("%r is not a legal admin user" % admin_user, field="admin_user",
                        fix="use a lower-case user name other than root, e.g. cloudadmin")
    return admin_user


def check_instance_request(params):
    """The request's own fields, before any platform is asked: names, sizes, keys, networks, labels.

    What needs the platform (the image in the catalog, the vlans, free addresses) is checked later.
    """
    check_name(params["name"])
    if params.get("location"):
        check_name(params["location"], field="location")
    check_digest(params.get("image_digest"))
    sizing(params)
    if params.get("hostname"):
        check_hostname(params["hostname"])
    if params.get("admin_user"):
        check_admin_user(params["admin_user"])
    check_keys(params.get("ssh_public_keys"))
    check_labels(params.get("labels"))
    for i, net in enumerate(params.get("networks") or []):
        check_name(net.get("vlan"), field="networks[%d].vlan" % i)
        if net.get("ip"):
            ipam.parse_ip(net["ip"], field="networks[%d].ip" % i)


def check_image_pin(image, digest):
    """image: a catalog entry {name, reference, id, digests}."""
    if not check_digest(digest):
        return
    if digest != image["id"] and digest not in (image.get("digests") or []):
        raise IaasError("image %s is %s, not the pinned %s" % (image["name"], image["id"], digest),
                        field="image_digest",
                        fix="pin the catalog's current digest, or rebuild the image you meant to pin")


def desired_instance(params, provider, vlans, instances, exclude=None):
    """The instance the parameters ask for, every default resolved and every address set.

    vlans: {name: vlan}; instances: every instance (for addresses in use);
    exclude: the name of an instance being recreated (its addresses are free).
    """
    check_name(params["name"])
    check_location(params.get("location"), "an instance")
    if not params.get("image"):
        raise IaasError("is required to create an instance", field="image",
                        fix="name a catalog image, e.g. image: debian12")
    image = provider.resolve_image(params["image"])
    check_image_pin(image, params.get("image_digest"))
    image_signature.verify(params, provider.run_command)
    cpus, memory = sizing(params)
    hostname = check_hostname(params.get("hostname") or params["name"])
    admin_user = check_admin_user(params.get("admin_user") or DEFAULT_ADMIN_USER)
    keys = check_keys(params.get("ssh_public_keys"))
    labels = check_labels(params.get("labels"))
    used = used_addresses(instances, provider.foreign_addresses(), exclude=exclude or params["name"])
    networks = plan_networks(params.get("networks"), params["location"], vlans, used)
    for net, name in zip(networks, provider.interface_names(networks, vlans)):
        net["interface"] = name
    return instance_result(
        name=params["name"], location=params["location"], image=image["name"], image_id=image["id"],
        cpus=cpus, memory_mb=memory, hostname=hostname, networks=networks, admin_user=admin_user,
        ssh_public_keys=keys, labels=labels, state="running", provider=provider.name,
    )


def instance_differences(current, params, provider):
    """([(field, have, want)] immutable, {field: want} mutable) for the options the user set."""
    immutable = []
    if params.get("image"):
        image = provider.resolve_image(params["image"])
        if image["name"] != current["image"]:
            immutable.append(("image", current["image"], image["name"]))
    if params.get("image_digest") and params["image_digest"] != current.get("image_id"):
        immutable.append(("image_digest", current.get("image_id"), params["image_digest"]))
    if params.get("hostname") and params["hostname"] != current["hostname"]:
        immutable.append(("hostname", current["hostname"], params["hostname"]))
    if params.get("admin_user") and params["admin_user"] != current["admin_user"]:
        immutable.append(("admin_user", current["admin_user"], params["admin_user"]))
    if params.get("labels") is not None and check_labels(params["labels"]) != current["labels"]:
        immutable.append(("labels", current["labels"], check_labels(params["labels"])))
    if params.get("networks") is not None:
        have = current["networks"]
        want = params["networks"]
        if [n["vlan"] for n in have] != [n["vlan"] for n in want]:
            immutable.append(("networks", [n["vlan"] for n in have], [n["vlan"] for n in want]))
        else:
            for i, (h, w) in enumerate(zip(have, want)):
                if w.get("ip") and str(ipam.parse_ip(w["ip"], field="networks[%d].ip" % i)) != h["ip"]:
                    immutable.append(("networks[%d].ip" % i, h["ip"], w["ip"]))
    mutable = {}
    cpus, memory = sizing(params, current=current)
    if cpus is not None and cpus != current["cpus"]:
        mutable["cpus"] = cpus
    if memory is not None and format_memory(memory) != current["memory"]:
        mutable["memory"] = memory
    if params.get("ssh_public_keys") is not None:
        keys = check_keys(params["ssh_public_keys"])
        if sorted(keys) != sorted(current["ssh_public_keys"]):
            mutable["ssh_public_keys"] = keys
    # What this provider cannot change in place is an immutable change there,
    # so check mode promises only what the real run does.
    capabilities = provider.capabilities()
    for field in sorted(mutable):
        if not capabilities.can_change("instance", field):
            immutable.append((field, current[field], mutable.pop(field)))
    return immutable, mutable


def apply_changes(current, mutable):
    """The instance as it will be after the in-place changes (for check mode and diff)."""
    after = dict(current)
    if "cpus" in mutable:
        after["cpus"] = mutable["cpus"]
    if "memory" in mutable:
        after["memory"] = format_memory(mutable["memory"])
    if "ssh_public_keys" in mutable:
        after["ssh_public_keys"] = list(mutable["ssh_public_keys"])
    after["instance_type"] = instance_type_of(after["cpus"], parse_memory(after["memory"]))
    return after
