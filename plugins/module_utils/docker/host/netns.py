# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work inside an instance's network namespace from the Docker host.

The Docker provider moves vips the way a cloud's API does: from outside the
guest. It enters the container's network namespace with nsenter (root on the
Docker host), adds or removes an address, and sends gratuitous ARP so the
vlan learns the new holder at once. Nothing here runs inside the guest's own
processes, so a guest that is busy or broken cannot stall a move.
"""

from __future__ import annotations

import json
import os
import sys

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import ProviderError

# Sends one gratuitous ARP reply and one request for IP from interface IFNAME;
# run with the interpreter that runs the module, inside the namespace.
_GARP = r"""
import socket, struct, sys
ifname, ip, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
mac, addr, bcast = s.getsockname()[4], socket.inet_aton(ip), b"\xff" * 6
head = bcast + mac + struct.pack("!H", 0x0806)
for _ in range(count):
    for op, target in ((2, bcast), (1, b"\0" * 6)):
        s.send(head + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac, addr, target, addr))
"""


def _run(run, argv, what):
    """run: the module's command runner, run(argv, data=None) -> (rc, stdout, stderr)."""
    try:
        rc, out, err = run(argv)
    except OSError as exc:
        raise ProviderError("%s failed: %s" % (what, exc))
    if rc != 0:
        hint = ""
        if os.geteuid() != 0:
            hint = " (the Docker provider changes instance networks from the host and needs root there)"
        raise ProviderError("%s failed: %s%s" % (what, (err or out).strip(), hint))
    return out


def in_netns(run, pid, argv, what):
    """Run ARGV inside the network namespace of process PID; return its stdout."""
    if not pid:
        raise ProviderError("%s: the instance is not running" % what)
    return _run(run, ["nsenter", "-t", str(pid), "-n", "--"] + list(argv), what)


def links(run, pid):
    """The instance's interfaces: name, MAC, host-side peer ifindex, IPv4 addresses."""
    raw = json.loads(in_netns(run, pid, ["ip", "-j", "addr", "show"], "listing interfaces") or "[]")
    result = []
    for link in raw:
        if link.get("ifname") == "lo":
            continue
        result.append({
            "ifname": link["ifname"],
            "mac": link.get("address", "").lower(),
            "peer_ifindex": link.get("link_index"),
            # address -> prefix length
            "addresses": dict((a["local"], a["prefixlen"]) for a in link.get("addr_info", []) if a.get("family") == "inet"),
        })
    return result


def host_ifnames(run):
    """{ifindex: name} of the host's interfaces (the host ends of the instances' veths)."""
    raw = json.loads(_run(run, ["ip", "-j", "link", "show"], "listing host interfaces") or "[]")
    return dict((link["ifindex"], link["ifname"]) for link in raw)


def add_address(run, pid, ifname, address, prefixlen, garp_count=3):
    """Add ADDRESS to IFNAME in the namespace (if absent), then announce it."""
    present = any(address in link["addresses"] for link in links(run, pid) if link["ifname"] == ifname)
    if not present:
        in_netns(run, pid, ["ip", "addr", "add", "%s/%d" % (address, prefixlen), "dev", ifname],
                 "adding %s to %s" % (address, ifname))
    in_netns(run, pid, [sys.executable, "-c", _GARP, ifname, address, str(garp_count)],
             "announcing %s with gratuitous ARP" % address)


def remove_address(run, pid, address, known_links=None):
    """Remove ADDRESS from whichever interface holds it in the namespace (KNOWN_LINKS: as links() read them)."""
    for link in known_links if known_links is not None else links(run, pid):
        if address in link["addresses"]:
            in_netns(run, pid, ["ip", "addr", "del", "%s/%d" % (address, link["addresses"][address]),
                                "dev", link["ifname"]],
                     "removing %s from %s" % (address, link["ifname"]))
