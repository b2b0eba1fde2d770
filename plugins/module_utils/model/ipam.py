# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address management for every resource module, in one place (netaddr).

Validation, overlap checks and allocation. IPv4 only for now: every function
raises IaasError naming the field and the fix.
"""

from __future__ import annotations

import traceback

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

try:
    import netaddr
    HAS_NETADDR = True
    NETADDR_IMPORT_ERROR = None
except ImportError:
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR = traceback.format_exc()

# A vlan needs room for the network and broadcast addresses, a gateway, vips
# and at least one instance.
MIN_PREFIX = 8
MAX_PREFIX = 29


def require_netaddr():
    if not HAS_NETADDR:
        raise IaasError("the netaddr Python library is missing on the host that runs the module",
                        fix="install it there (pip install netaddr)")


def parse_cidr(value, field="cidr"):
    """A network in CIDR notation whose address is the network's own."""
    require_netaddr()
    text = str(value or "").strip()
    if "/" not in text:
        raise IaasError("%r is not in CIDR notation" % (value,), field=field,
                        fix="give an IPv4 network with its prefix length, e.g. 10.210.1.0/24")
    try:
        net = netaddr.IPNetwork(text)
        netaddr.IPAddress(text.split("/", maxsplit=1)[0], version=4, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise IaasError("%r is not a valid IPv4 network" % (value,), field=field,
                        fix="give an IPv4 network with its prefix length, e.g. 10.210.1.0/24")
    if net.version != 4:
        raise IaasError("%s is not IPv4; only IPv4 vlans are supported" % text, field=field,
                        fix="give an IPv4 network, e.g. 10.210.1.0/24")
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise IaasError("prefix length /%d is out of range" % net.prefixlen, field=field,
                        fix="use a prefix length from /%d to /%d" % (MIN_PREFIX, MAX_PREFIX))
    if net.ip != net.network:
        raise IaasError("%s has host bits set" % text, field=field,
                        fix="use the network address: %s" % net.cidr)
    return net.cidr


def parse_subnet(value, field):
    """A network in CIDR form with no host bits (any prefix length, IPv4)."""
    require_netaddr()
    text = str(value or "").strip()
    try:
        if "/" not in text:
            raise ValueError(text)
        net = netaddr.IPNetwork(text, version=4)
        netaddr.IPAddress(text.split("/", 1)[0], version=4, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise IaasError("%r is not an IPv4 network in CIDR form" % (value,), field=field,
                        fix="give e.g. 10.1.0.0/24")
    if net.ip != net.network:
        raise IaasError("%s has host bits set" % text, field=field, fix="use the network address: %s" % net.cidr)
    return net.cidr


def parse_ip(value, field="ip"):
    require_netaddr()
    try:
        return netaddr.IPAddress(str(value).strip(), version=4, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise IaasError("%r is not a valid IPv4 address" % (value,), field=field,
                        fix="give a single IPv4 address such as 10.210.1.10")


def host_bounds(net):
    """First and last usable host address of a network."""
    return netaddr.IPAddress(net.first + 1), netaddr.IPAddress(net.last - 1)


def default_gateway(net):
    return host_bounds(net)[0]


def check_gateway(net, gateway, field="gateway"):
    first, last = host_bounds(net)
    if gateway not in net:
        raise IaasError("%s is outside the cidr %s" % (gateway, net), field=field,
                        fix="pick an address from %s to %s, or leave it out for %s" % (first, last, first))
    if not first <= gateway <= last:
        raise IaasError("%s is the network or broadcast address of %s" % (gateway, net), field=field,
                        fix="pick an address from %s to %s" % (first, last))
    return gateway


def default_vip_range(net):
    """The top quarter of the network, as a CIDR (the broadcast is never handed out)."""
    return netaddr.IPNetwork("%s/%d" % (netaddr.IPAddress(net.first + 3 * (net.size // 4)), net.prefixlen + 2)).cidr


def parse_range(value, field="vip_range"):
    """'a.b.c.d-e.f.g.h' or a CIDR, as a netaddr.IPRange."""
    require_netaddr()
    text = str(value or "").strip()
    try:
        if "-" in text:
            start, end = [part.strip() for part in text.split("-", 1)]
            rng = netaddr.IPRange(parse_ip(start, field), parse_ip(end, field))
        elif "/" in text:
            net = netaddr.IPNetwork(text)
            if net.version != 4:
                raise ValueError(text)
            rng = netaddr.IPRange(net.first, net.last)
        else:
            raise ValueError(text)
    except (netaddr.AddrFormatError, ValueError, TypeError, IaasError):
        raise IaasError("%r is not an address range" % (value,), field=field,
                        fix="give FIRST-LAST (10.210.1.192-10.210.1.254) or a CIDR (10.210.1.192/26)")
    return rng


def format_range(rng):
    """A CIDR when the range is exactly one, else FIRST-LAST: one spelling for comparisons."""
    cidrs = rng.cidrs()
    if len(cidrs) == 1:
        return str(cidrs[0])
    return "%s-%s" % (netaddr.IPAddress(rng.first), netaddr.IPAddress(rng.last))


def check_vip_range(net, gateway, rng, field="vip_range"):
    if rng.first < net.first or rng.last > net.last:
        raise IaasError("%s is outside the cidr %s" % (format_range(rng), net), field=field,
                        fix="pick a sub-range of %s, e.g. %s (the default)" % (net, default_vip_range(net)))
    if gateway in rng:
        raise IaasError("%s holds the gateway %s" % (format_range(rng), gateway), field=field,
                        fix="move the range or the gateway so they do not meet")
    if rng.size >= net.size - 3:
        raise IaasError("%s leaves no address for instances in %s" % (format_range(rng), net), field=field,
                        fix="make the range smaller, e.g. %s (the default)" % default_vip_range(net))
    return rng


def overlaps(a, b):
    a = netaddr.IPNetwork(str(a))
    b = netaddr.IPNetwork(str(b))
    return a.first <= b.last and b.first <= a.last


def check_no_overlap(net, taken, field="cidr"):
    """taken: iterable of (cidr, what) pairs; the first one that overlaps is named."""
    for cidr, what in taken:
        if overlaps(net, cidr):
            raise IaasError("%s overlaps %s (%s)" % (net, cidr, what), field=field,
                            fix="choose a cidr that overlaps no other vlan and no route of the host")


def automatic_range(net, vip_rng):
    """The largest CIDR of the network outside the vip range.

    The platform's own allocator (Docker's IPAM ip_range) is limited to it so it
    never hands out a vip address by itself (it knows the gateway itself).
    """
    space = netaddr.IPSet([net]) - netaddr.IPSet(vip_rng)
    best = None
    for cidr in space.iter_cidrs():
        if best is None or cidr.size > best.size:
            best = cidr
    return best


def assignable(net, gateway, vip_rng):
    """Every address an instance may take in the vlan."""
    first, last = host_bounds(net)
    space = netaddr.IPSet(netaddr.IPRange(first, last)) - netaddr.IPSet(vip_rng) - netaddr.IPSet([gateway])
    return space


def check_instance_ip(vlan, ip, used, field):
    """vlan: the vlan result dict; used: {ip: holder}."""
    net = netaddr.IPNetwork(vlan["cidr"])
    gateway = netaddr.IPAddress(vlan["gateway"])
    vip_rng = parse_range(vlan["vip_range"])
    if ip not in net:
        raise IaasError("%s is outside vlan %s (%s)" % (ip, vlan["name"], net), field=field,
                        fix="pick an address of %s outside its vip_range %s, or leave ip out" % (net, vlan["vip_range"]))
    if ip in vip_rng:
        raise IaasError("%s is inside the vip_range %s of vlan %s, which is reserved for vips" % (ip, vlan["vip_range"], vlan["name"]),
                        field=field, fix="pick an address outside %s, or leave ip out" % vlan["vip_range"])
    if ip == gateway:
        raise IaasError("%s is the gateway of vlan %s" % (ip, vlan["name"]), field=field,
                        fix="pick another address, or leave ip out")
    first, last = host_bounds(net)
    if not first <= ip <= last:
        raise IaasError("%s is the network or broadcast address of vlan %s" % (ip, vlan["name"]), field=field,
                        fix="pick an address from %s to %s" % (first, last))
    holder = used.get(str(ip))
    if holder:
        raise IaasError("%s on vlan %s is already used by %s" % (ip, vlan["name"], holder), field=field,
                        fix="pick a free address, or leave ip out to get one")
    return ip


def allocate(vlan, used, field):
    """The lowest free address of the vlan outside its vip_range."""
    net = netaddr.IPNetwork(vlan["cidr"])
    space = assignable(net, netaddr.IPAddress(vlan["gateway"]), parse_range(vlan["vip_range"]))
    space -= netaddr.IPSet(used.keys())
    for cidr in space.iter_cidrs():
        return netaddr.IPAddress(cidr.first)
    raise IaasError("vlan %s has no free address outside its vip_range" % vlan["name"], field=field,
                    fix="free an address, or use a larger vlan")
