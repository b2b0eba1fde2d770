# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway's nftables table: it forwards only between each connection's local
and remote subnets, and only through the tunnel; on the public interface it
accepts IKE, ESP (raw or in UDP), ICMP and the given TCP ports."""

from __future__ import annotations

import ipaddress


def family(net):
    """'ip' or 'ip6': the nftables family keyword of a network."""
    return "ip6" if ipaddress.ip_network(str(net), strict=False).version == 6 else "ip"


def forward_rules(conn, backend):
    """The accept rules of one connection, both directions, each local/remote pair of one family."""
    rules = []
    for local in conn["local_ts"]:
        fam = family(local)
        for remote in conn["remote_ts"]:
            if family(remote) != fam:
                continue
            if backend == "libipsec":
                # kernel-libipsec: the clear traffic goes through the ipsec0 TUN device.
                rules.append('oifname "ipsec0" %s saddr %s %s daddr %s accept' % (fam, local, fam, remote))
                rules.append('iifname "ipsec0" %s saddr %s %s daddr %s accept' % (fam, remote, fam, local))
            else:
                # kernel ESP: policy-matched traffic (rt: leaves through an SA; meta: came in through one).
                rules.append("rt ipsec exists %s saddr %s %s daddr %s accept" % (fam, local, fam, remote))
                rules.append("meta ipsec exists %s saddr %s %s daddr %s accept" % (fam, remote, fam, local))
    return rules


def render_firewall(conns, public_interface, backend, table, tcp_ports=()):
    """The nft -f text: the table replaced atomically (other tables stay).

    conns: dicts with name, local_ts and remote_ts, in the order they are written.
    """
    lines = [
        "# The gateway forwards only between each connection's local and remote subnets,",
        "# and only through the tunnel; on the public interface it accepts IKE, ESP",
        "# (raw or in UDP), ICMP and the management ports.",
        "table inet %s" % table,
        "delete table inet %s" % table,
        "table inet %s {" % table,
        "    chain input {",
        "        type filter hook input priority filter; policy accept;",
        '        iifname != "%s" accept' % public_interface,
        "        ct state established,related accept",
        "        ct state invalid drop",
        "        udp dport { 500, 4500 } accept",
        # Protocol numbers: minimal images lack /etc/protocols.
        '        meta l4proto 50 accept comment "ESP"',
        '        meta l4proto { 1, 58 } accept comment "ICMP, ICMPv6"',
    ]
    if tcp_ports:
        lines.append("        tcp dport { %s } accept" % ", ".join(str(p) for p in tcp_ports))
    lines += ["        counter drop", "    }", "", "    chain forward {",
              "        type filter hook forward priority filter; policy drop;"]
    for conn in conns:
        lines.append("        # connection %s" % conn["name"])
        lines += ["        " + rule for rule in forward_rules(conn, backend)]
    lines += ["        counter drop", "    }", "}", ""]
    return "\n".join(lines)
