# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Anti-spoofing on the vlans' bridges: the network enforces who may hold a vip.

One nftables table of the bridge family on the Docker host, rebuilt whole and
replaced in one transaction each time ports or vips change, so it is never half
applied. For every instance port it knows, the guard

* pins the port to the instance's MAC (a guest cannot take another's MAC), and
* lets a MAC send IP packets and ARP only from the instance's own addresses and
  the vips it is allowed to hold.

Frames from any source that claim a vip are dropped unless the sending MAC is
allowed that vip, so an instance off the allow-list that adds the vip to its
own interface gets no traffic and cannot poison its neighbours' ARP caches.
For IP packets from a vip sent by a MAC the guard does not know, that holds on
the vip's own subnet (and for broadcast and multicast): the bridge family
cannot match the bridge here (no ``meta ibrname`` on every kernel), and the
vip's answers routed elsewhere, e.g. by a customer's VPN gateway onto the
customer's own bridge, legitimately carry the vip as source from that
gateway's MAC. ARP for a vip is held to the allow-list everywhere.

The host end of a container's veth is renamed by Docker when the container
restarts; ``sync`` runs after every instance start, and a port the guard does not
know yet is still held to the MAC rules for vips.
"""

from __future__ import annotations

import json

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import ProviderError

TABLE = "secure_cloud_iaas_guard"
# The rules of the chain "guard" besides one per vip with a subnet (render).
_GUARD_RULES = 5


def _sets(ports, vip_grants, vip_nets):
    """{set name: (nft type, {element as a tuple of its parts})}: what render loads and in_place compares."""
    src_ok = set((p["mac"], a) for p in ports for a in p["addresses"])
    src_ok.update((mac, vip) for vip, allowed in vip_grants.items() for mac in allowed)
    return {
        "ports": ("ifname", set((p["port"],) for p in ports)),
        "port_mac": ("ifname . ether_addr", set((p["port"], p["mac"]) for p in ports)),
        "guarded_macs": ("ether_addr", set((p["mac"],) for p in ports)),
        "src_ok": ("ether_addr . ipv4_addr", src_ok),
        "vips": ("ipv4_addr", set((v,) for v in vip_grants)),
        "vips_anywhere": ("ipv4_addr", set((v,) for v in vip_grants if not vip_nets.get(v))),
    }


def _set(name, type_, elements):
    quoted = [i for i, part in enumerate(type_.split(" . ")) if part == "ifname"]
    items = [" . ".join('"%s"' % part if i in quoted else part for i, part in enumerate(element))
             for element in sorted(elements)]
    body = "type %s;" % type_
    if items:
        body += " elements = { %s };" % ", ".join(items)
    return "  set %s { %s }\n" % (name, body)


def render(ports, vip_grants, vip_nets=None):
    """The whole nft script for PORTS and VIP_GRANTS.

    ports: list of {"port": host veth name, "mac": "aa:bb:..", "addresses": [ip, ...]}
    vip_grants: dict vip address -> list of MACs allowed to send from it. The
      set is host-wide: Docker refuses overlapping subnets between networks, so a
      vip's address belongs to one bridge only.
    vip_nets: dict vip address -> its vlan's subnet (CIDR). IP packets from the
      vip are held to the allow-list when they go to that subnet, broadcast or
      multicast; a vip without a subnet here is held to it whatever the
      destination.
    """
    vip_nets = vip_nets or {}
    script = "table bridge %s\ndelete table bridge %s\n" % (TABLE, TABLE)
    script += "table bridge %s {\n" % TABLE
    for name, (type_, elements) in sorted(_sets(ports, vip_grants, vip_nets).items()):
        script += _set(name, type_, elements)
    on_subnet = "".join(
        "    ether type ip ip saddr %s ip daddr { %s, 224.0.0.0/4, 255.255.255.255 } ether saddr . ip saddr != @src_ok drop\n"
        % (vip, vip_nets[vip]) for vip in sorted(vip_grants) if vip_nets.get(vip))
    script += """  chain guard {
    iifname @ports iifname . ether saddr != @port_mac drop
    ether type arp arp saddr ip @vips ether saddr . arp saddr ip != @src_ok drop
    ether type ip ip saddr @vips_anywhere ether saddr . ip saddr != @src_ok drop
""" + on_subnet + """    ether type arp ether saddr @guarded_macs ether saddr . arp saddr ip != @src_ok drop
    ether type ip ether saddr @guarded_macs ether saddr . ip saddr != @src_ok drop
  }
  chain forward { type filter hook forward priority 0; policy accept; jump guard; }
  chain input { type filter hook input priority 0; policy accept; jump guard; }
}
"""
    return script


def _loaded(run):
    """What the loaded table holds: ({set name: {element tuple}}, {chain: rule count}); None without the table."""
    try:
        rc, out, _err = run(["nft", "-j", "list", "table", "bridge", TABLE])
    except OSError as exc:
        raise ProviderError("cannot read the vlan guard: %s" % exc, fix="install nftables on the Docker host (apt-get install nftables)")
    if rc != 0:
        return None
    sets, rules = {}, {}
    for item in json.loads(out)["nftables"]:
        if "set" in item:
            sets[item["set"]["name"]] = set(
                tuple(e["concat"]) if isinstance(e, dict) else (e,) for e in item["set"].get("elem", []))
        elif "chain" in item:
            rules.setdefault(item["chain"]["name"], 0)
        elif "rule" in item:
            rules[item["rule"]["chain"]] = rules.get(item["rule"]["chain"], 0) + 1
    return sets, rules


def in_place(ports, vip_grants, vip_nets, run):
    """Whether the loaded guard is the one render() makes of these (no table when there is nothing to guard)."""
    loaded = _loaded(run)
    if not ports and not vip_grants:
        return loaded is None
    on_subnet = sum(1 for vip in vip_grants if vip_nets.get(vip))
    want = (dict((name, elements) for name, (_type, elements) in _sets(ports, vip_grants, vip_nets).items()),
            dict(guard=_GUARD_RULES + on_subnet, forward=1, input=1))
    return loaded == want


def apply(script, run):
    """Load SCRIPT with nft after checking it; the old table stays on any error.

    run: the module's command runner, run(argv, data=None) -> (rc, stdout, stderr).
    """
    for argv, what in ((["nft", "-c", "-f", "-"], "checking"), (["nft", "-f", "-"], "loading")):
        try:
            rc, _out, err = run(argv, data=script)
        except OSError as exc:
            raise ProviderError("%s the vlan guard failed: %s" % (what, exc),
                                fix="install nftables on the Docker host (apt-get install nftables)")
        if rc != 0:
            raise ProviderError("%s the vlan guard failed: %s" % (what, err.strip()),
                                fix="the Docker provider programs the bridges with nft and needs root on the Docker host")


def present(run):
    """Whether the guard table is loaded (its ports must follow the instances until the last goes)."""
    try:
        rc, _out, _err = run(["nft", "list", "table", "bridge", TABLE])
    except OSError:
        return False
    return rc == 0


def remove(run):
    """Drop the guard table (nothing left to guard); absent already is fine."""
    try:
        run(["nft", "delete", "table", "bridge", TABLE])
    except OSError:
        pass
