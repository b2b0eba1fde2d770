# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker host is outside every vlan: what enters it from a vlan's bridge is dropped.

Docker keeps bridge networks apart in its FORWARD chains and gives an
``internal`` network no way out, but the host still answers a container on
every one of its own addresses (INPUT): a guest that is root can add a route
and reach the host on another vlan's gateway or on its uplink. This nftables
table (family inet, hook input) closes that:

* from a private vlan's bridge, nothing reaches the host;
* from a public vlan's bridge, only the vlan's own gateway address does;
* answers to connections the host opened pass.

Forwarded traffic (a public vlan's way out, NAT) is not touched. The table is
rebuilt whole in one transaction from the list of vlans, so it is never half
applied.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import ProviderError

TABLE = "secure_cloud_iaas_vlans"


def rules(vlans):
    """[rule text] as ``nft list`` prints it; vlans: [{bridge, type, gateway}]."""
    if not vlans:
        return []
    # Answers to what the host itself started (a ping, an SSH session from
    # the host) still come back.
    out = ["ct state established,related accept"]
    for vlan in sorted(vlans, key=lambda v: v["bridge"]):
        if vlan["type"] == "public":
            out.append('iifname "%s" ip daddr != %s drop' % (vlan["bridge"], vlan["gateway"]))
        else:
            out.append('iifname "%s" drop' % vlan["bridge"])
    return out


def render(vlans):
    script = "table inet %s\ndelete table inet %s\n" % (TABLE, TABLE)
    if not vlans:
        return script
    script += "table inet %s {\n  chain input {\n    type filter hook input priority filter - 10; policy accept;\n" % TABLE
    script += "".join("    %s\n" % rule for rule in rules(vlans))
    script += "  }\n}\n"
    return script


def _nft(run, args, stdin=None):
    """run: the module's command runner, run(argv, data=None) -> (rc, stdout, stderr)."""
    try:
        return run(["nft"] + args, data=stdin)
    except OSError as exc:
        raise ProviderError("cannot run nft (%s)" % exc, field="provider",
                            fix="install nftables on the Docker host (make docker does) and run as root")


def current_rules(run):
    rc, out, _err = _nft(run, ["list", "table", "inet", TABLE])
    if rc != 0:
        return None
    return [line.strip() for line in out.splitlines() if line.strip().startswith(("iifname ", "ct state "))]


def in_place(vlans, run):
    return current_rules(run) == rules(vlans) if vlans else current_rules(run) is None


def apply(vlans, run):
    rc, _out, err = _nft(run, ["-f", "-"], stdin=render(vlans))
    if rc != 0:
        raise ProviderError("nft refused the vlan isolation table: %s" % err.strip(), field="provider",
                            fix="run the module as root on the Docker host, with nftables installed")
