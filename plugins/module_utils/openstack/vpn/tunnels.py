# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site-to-site tunnels on the openstack provider (Neutron VPNaaS): the vpn_tunnel operations of the contract.

A tunnel's proposals become Neutron policy fields (proposals.py), its
VPNaaS objects are written and read back by VpnSites (sites.py), the served
vlans reach the VPN service's router through VpnRouting (routing.py).
"""

from __future__ import annotations

import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import STATUS_ESTABLISHED
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.proposals import (
    neutron_policies,
    proposal_name,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.routing import routing_want
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.sites import (
    BACKEND,
    STATUS_ERROR,
    meta_description,
    referenced_ids,
    tunnel_objects,
    vpn_object_name,
)


class VpnTunnels(object):
    """The vpn_tunnel operations; given the Connection and the VpnSites and VpnRouting drivers."""

    def __init__(self, conn, sites, routing):
        self.conn = conn
        self.sites = sites
        self.routing = routing

    def list_vpn_tunnels(self):
        return self.sites.list_tunnels()

    def get_vpn_tunnel(self, name):
        return next((t for t in self.list_vpn_tunnels() if t["name"] == name), None)

    def vpn_tunnel_record(self, name):
        return self.sites.record(name)

    def prepare_vpn_tunnel(self, tunnel):
        """The tunnel as this provider carries it, and notes for the user; IaasError before any write.

        Proposals become the one Neutron policy each list maps to, in the
        canonical spelling the tunnel is read back with.
        """
        ike, ipsec, notes = neutron_policies(tunnel)
        meta_description(dict(labels=tunnel.get("labels") or {}), "labels")
        self.sites.require()
        out = dict(tunnel, ike_proposals=[proposal_name(ike, "ike")], esp_proposals=[proposal_name(ipsec, "esp")],
                   backend=BACKEND)
        return out, notes

    def plan_vpn_gateway(self, public_vlan, vlan_names):
        return self.routing.plan_gateway(public_vlan, vlan_names)

    def vpn_drift(self, tunnel):
        """[reason] why an existing tunnel's objects are not in place; empty when they are."""
        reasons = []
        tunnels = self.list_vpn_tunnels()
        if not tunnel.get("public_vlan") or not tunnel.get("location"):
            reasons.append("its VPN service or router is missing")
        if not tunnel.get("ike_proposals") or not tunnel.get("esp_proposals"):
            reasons.append("its IKE or IPsec policy is missing")
        if tunnel.get("public_vlan"):
            reasons += self.routing.sync(routing_want(tunnels), apply=False, only=tunnel["vlans"])
        referenced = referenced_ids(self.sites.site_connections(tunnel["name"]))
        leftovers = [obj for _kind, obj in tunnel_objects(self.sites.state(), tunnel["name"])
                     if obj.id not in referenced]
        if leftovers:
            reasons.append("%d leftover VPNaaS object(s) named %s" % (len(leftovers), vpn_object_name(tunnel["name"])))
        return reasons

    def apply_vpn_tunnel(self, tunnel, secrets, record_extra):
        """Create the tunnel, or replace its objects when it exists (Neutron refuses to change a policy in use)."""
        psk = (secrets or {}).get("psk")
        if not psk:
            raise IaasError("Neutron VPNaaS needs the pre-shared key", field="psk",
                            fix="give psk, or let the module generate one into psk_file")
        ike, ipsec, _notes = neutron_policies(tunnel)
        descriptions = dict(
            conn=meta_description(dict(psk=(record_extra or {}).get("secret_fingerprint")), "psk"),
            ike=meta_description(dict(labels=tunnel.get("labels") or {}), "labels"),
            ipsec=meta_description(dict(psk_file=tunnel.get("psk_file")), "psk_file"))
        self.sites.create_site(dict(
            name=tunnel["name"], location=tunnel["location"], public_vlan=tunnel["public_vlan"],
            local_vlans=tunnel["vlans"], peer_address=tunnel["peer_address"], peer_id=tunnel["remote_id"],
            local_id=tunnel.get("local_id"), peer_cidrs=tunnel["peer_subnets"], psk=psk, ike=ike, ipsec=ipsec,
            dpd_interval=tunnel["dpd_delay"], descriptions=descriptions))
        return self.get_vpn_tunnel(tunnel["name"])

    def wait_vpn_tunnel(self, name, timeout):
        """Until Neutron reports the site connection ACTIVE; ERROR or a timeout fail naming what to look at."""
        deadline = time.monotonic() + timeout
        while True:
            tunnel = self.get_vpn_tunnel(name)
            if tunnel and tunnel["status"] == STATUS_ESTABLISHED:
                return tunnel
            if tunnel and tunnel["status"] == STATUS_ERROR:
                raise ProviderError("Neutron reports IPsec site connection %s in ERROR" % vpn_object_name(name),
                                    fix="check that the peer %s has matching settings and the cloud's VPN agent "
                                        "logs (openstack vpn ipsec site connection show %s)"
                                        % (tunnel["peer_address"], vpn_object_name(name)))
            if time.monotonic() >= deadline:
                raise ProviderError(
                    "tunnel %s was not established within wait_timeout=%ss (status %s): waited for Neutron to report "
                    "IPsec site connection %s ACTIVE with peer %s" % (
                        name, timeout, tunnel and tunnel["status"], vpn_object_name(name),
                        tunnel and tunnel["peer_address"]), field="wait_timeout",
                    fix="check that the peer is up with matching settings (openstack vpn ipsec site connection "
                        "show %s), or use wait: false" % vpn_object_name(name))
            time.sleep(self.conn.poll_interval)

    def delete_vpn_tunnel(self, current):
        self.sites.require()
        self.sites.delete_site(current["name"])
