# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One connection shape (see ``swanctl``) from either caller's input.

Where the vpn_tunnel module and the ipsec_gateway role differ, on purpose:
- ``encap``: the module's gateway always puts ESP in UDP 4500, so both ends agree
  from the start whatever backend either has; the role does only with kernel-libipsec
  (which needs it), and uses raw ESP with kernel ESP.
- ``mode`` and ``close_action``: the role writes them (close_action is a role option);
  the module leaves strongSwan's defaults (tunnel, none), which are the same values.
- start_action and dpd_action are role options (default start, restart); the module
  always uses start and restart.
- The module's pre-shared key applies to the peer's identity only; the role's to
  the local and the peer's identity.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec.proposals import (
    DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.ipsec.swanctl import DEFAULT_DPD_DELAY


def from_tunnel(tunnel, public_ip):
    """A vpn_tunnel result (or stored record) on a gateway whose public address is public_ip."""
    return dict(
        name=tunnel["name"],
        local_addrs=[public_ip],
        remote_addrs=[tunnel["peer_address"]],
        local_id=tunnel.get("local_id") or public_ip,
        remote_id=tunnel["remote_id"],
        auth=tunnel["authentication"],
        local_ts=list(tunnel["local_subnets"]),
        remote_ts=list(tunnel["peer_subnets"]),
        ike_proposals=list(tunnel["ike_proposals"]),
        esp_proposals=list(tunnel["esp_proposals"]),
        dpd_delay=tunnel["dpd_delay"],
        encap=True,
        mode=None,
        start_action="start",
        dpd_action="restart",
        close_action=None,
    )


def _given(conn, key, default):
    value = conn.get(key)
    return default if value is None else value


def from_role(conn, backend, local_addr, ike_proposals=None, esp_proposals=None, dpd_delay=None):
    """An entry of ipsec_gateway_connections with the role's defaults applied.

    local_addr: the address of the default route's interface (local_addrs and local_id
    default to it); backend: the ESP backend in use.
    """
    local_addrs = list(conn.get("local_addrs") or ([local_addr] if local_addr else []))
    if not local_addrs:
        raise ValueError("connection %s gives no local_addrs and the host has no default route address"
                         % conn.get("name"))
    return dict(
        name=conn["name"],
        local_addrs=local_addrs,
        remote_addrs=list(conn["remote_addrs"]),
        local_id=_given(conn, "local_id", local_addrs[0]),
        remote_id=_given(conn, "remote_id", conn["remote_addrs"][0]),
        auth=_given(conn, "auth", "psk"),
        local_ts=list(conn["local_ts"]),
        remote_ts=list(conn["remote_ts"]),
        ike_proposals=list(_given(conn, "ike_proposals", ike_proposals or DEFAULT_IKE_PROPOSALS)),
        esp_proposals=list(_given(conn, "esp_proposals", esp_proposals or DEFAULT_ESP_PROPOSALS)),
        dpd_delay=_given(conn, "dpd_delay", DEFAULT_DPD_DELAY if dpd_delay is None else dpd_delay),
        encap=backend == "libipsec",
        mode="tunnel",
        start_action=_given(conn, "start_action", "start"),
        dpd_action=_given(conn, "dpd_action", "restart"),
        close_action=_given(conn, "close_action", "none"),
    )
