# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker host is outside every vlan: nothing that enters it from a vlan's bridge reaches it.

Docker keeps bridge networks apart in its FORWARD chains and gives an
``internal`` network no way out, but the host still answers a container on
every one of its own addresses (INPUT): a service listening on the host's
0.0.0.0 would answer a guest on its vlan's gateway address, on another vlan's
gateway, or on the host's uplink. This nftables table (family inet, hook
input) drops everything a vlan's bridge delivers to the host itself, public
and private vlans alike, and the same for any other network guests sit on
that carries the label guest.GUEST_NETWORK_LABEL (the demo's customer site). The one exception: answers to connections the host
opened (the provider's own checks) pass.

Forwarded traffic (a public vlan's way out, NAT) is not touched: it never
enters INPUT. The table is rebuilt whole in one transaction from the list of
vlans, so it is never half applied; the host agent restores it within a
second when it is gone (``nft flush ruleset``, a reboot).
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import ProviderError

TABLE = "secure_cloud_iaas_vlans"


def rules(bridges):
    """[rule text] as ``nft list`` prints it, for the guests' BRIDGES (host interface names)."""
    if not bridges:
        return []
    # Answers to what the host itself started (a ping, an SSH session from
    # the host) still come back.
    out = ["ct state established,related accept"]
    out.extend('iifname "%s" drop' % bridge for bridge in sorted(set(bridges)))
    return out


def render(bridges):
    script = "table inet %s\ndelete table inet %s\n" % (TABLE, TABLE)
    if not bridges:
        return script
    script += "table inet %s {\n  chain input {\n    type filter hook input priority filter - 10; policy accept;\n" % TABLE
    script += "".join("    %s\n" % rule for rule in rules(bridges))
    script += "  }\n}\n"
    return script


def _nft(run, args, stdin=None):
    """run: the module's command runner, run(argv, data=None) -> (rc, stdout, stderr)."""
    try:
        return run(["nft"] + args, data=stdin)
    except OSError as exc:
        raise ProviderError("cannot run nft (%s)" % exc, field="provider",
                            fix="install nftables on the Docker host (apt-get install nftables) and run as root")


def current_rules(run):
    rc, out, _err = _nft(run, ["list", "table", "inet", TABLE])
    if rc != 0:
        return None
    return [line.strip() for line in out.splitlines() if line.strip().startswith(("iifname ", "ct state "))]


def in_place(bridges, run):
    return current_rules(run) == rules(bridges) if bridges else current_rules(run) is None


def apply(bridges, run):
    rc, _out, err = _nft(run, ["-f", "-"], stdin=render(bridges))
    if rc != 0:
        raise ProviderError("nft refused the vlan isolation table: %s" % err.strip(), field="provider",
                            fix="run the module as root on the Docker host, with nftables installed")
