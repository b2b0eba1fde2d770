# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site-to-site tunnels on the openstack provider: Neutron VPNaaS (mixed into OpenStackProvider).

One tunnel ``<name>`` is five objects, all named ``sciaas-vpn-<name>``: an IKE
policy, an IPsec policy, a VPN service on the router of the public vlan, two
endpoint groups (the local vlans' subnets, the peer's cidrs) and the IPsec
site connection that ties them to the peer with the pre-shared key.

These are provider methods (``vpnaas_available``, ``list_vpn_sites``,
``create_vpn_site``, ``delete_vpn_site``) taking a fully specified request;
the vpn_tunnel module plans and validates above them.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

VPN_PREFIX = "sciaas-vpn-"


def vpn_object_name(name):
    return VPN_PREFIX + name


class OpenStackVpn(object):
    """Needs from its host class: conn, _api, _list, _quietly, list_vlans."""

    def vpnaas_available(self):
        ext = self._api("look up the vpnaas extension", self.conn.network.find_extension, "vpnaas",
                        ignore_missing=True)
        return ext is not None

    def _require_vpnaas(self):
        if not self.vpnaas_available():
            raise IaasError("this OpenStack cloud does not offer VPNaaS (no 'vpnaas' network extension)",
                            field="provider", fix="ask the cloud's operator to enable neutron-vpnaas, or run the "
                                                  "VPN gateway as an instance (secure_cloud.iaas.ipsec_gateway role)")

    def list_vpn_sites(self):
        """[{name, id, status, peer_address, peer_cidrs, local_vlans}] of the collection's site connections."""
        out = []
        for conn in self._list("list IPsec site connections", self.conn.network.vpn_ipsec_site_connections):
            if not (conn.name or "").startswith(VPN_PREFIX):
                continue
            out.append(dict(name=conn.name[len(VPN_PREFIX):], id=conn.id, status=conn.status,
                            peer_address=conn.peer_address, peer_id=conn.peer_id))
        return sorted(out, key=lambda s: s["name"])

    def create_vpn_site(self, spec):
        """spec: {name, public_vlan, local_vlans, peer_address, peer_id, peer_cidrs, psk,
        ike_version, encryption, integrity, dh_group, lifetime, dpd_interval, dpd_timeout}.

        The psk goes to Neutron only; it is never returned.
        """
        self._require_vpnaas()
        net = self.conn.network
        name = vpn_object_name(spec["name"])
        vlans = dict((v["name"], v) for v in self.list_vlans())
        router = next(iter(self._list("find the router of vlan %s" % spec["public_vlan"], net.routers,
                                      name="sciaas-vlan-" + spec["public_vlan"])), None)
        if router is None:
            raise IaasError("vlan %s has no router (is it public?)" % spec["public_vlan"], field="public_vlan",
                            fix="give a public vlan; its router carries the VPN service")
        local_subnets = [self._subnet_id(vlans[v]) for v in spec["local_vlans"]]
        made = []
        try:
            ike = self._api("create IKE policy %s" % name, net.create_vpn_ike_policy, name=name,
                            ike_version=spec.get("ike_version", "v2"), auth_algorithm=spec.get("integrity", "sha256"),
                            encryption_algorithm=spec.get("encryption", "aes-256"),
                            pfs=spec.get("dh_group", "group14"), phase1_negotiation_mode="main",
                            lifetime=dict(units="seconds", value=spec.get("lifetime", 3600)))
            made.append((net.delete_vpn_ike_policy, ike))
            ipsec = self._api("create IPsec policy %s" % name, net.create_vpn_ipsec_policy, name=name,
                              transform_protocol="esp", encapsulation_mode="tunnel",
                              auth_algorithm=spec.get("integrity", "sha256"),
                              encryption_algorithm=spec.get("encryption", "aes-256"),
                              pfs=spec.get("dh_group", "group14"),
                              lifetime=dict(units="seconds", value=spec.get("lifetime", 3600)))
            made.append((net.delete_vpn_ipsec_policy, ipsec))
            service = self._api("create VPN service %s" % name, net.create_vpn_service, name=name, router_id=router.id)
            made.append((net.delete_vpn_service, service))
            local = self._api("create the local endpoint group of %s" % name, net.create_vpn_endpoint_group,
                              name=name + "-local", type="subnet", endpoints=local_subnets)
            made.append((net.delete_vpn_endpoint_group, local))
            peer = self._api("create the peer endpoint group of %s" % name, net.create_vpn_endpoint_group,
                             name=name + "-peer", type="cidr", endpoints=list(spec["peer_cidrs"]))
            made.append((net.delete_vpn_endpoint_group, peer))
            site = self._api("create IPsec site connection %s" % name, net.create_vpn_ipsec_site_connection,
                             name=name, vpnservice_id=service.id, ikepolicy_id=ike.id, ipsecpolicy_id=ipsec.id,
                             local_ep_group_id=local.id, peer_ep_group_id=peer.id,
                             peer_address=spec["peer_address"], peer_id=spec.get("peer_id") or spec["peer_address"],
                             psk=spec["psk"], initiator="bi-directional",
                             dpd=dict(action="restart", interval=spec.get("dpd_interval", 10),
                                      timeout=spec.get("dpd_timeout", 30)))
        except BaseException:
            for delete, obj in reversed(made):
                try:
                    delete(obj, ignore_missing=True)
                except Exception:  # pylint: disable=broad-except
                    pass
            raise
        return dict(name=spec["name"], id=site.id, status=site.status, peer_address=site.peer_address,
                    peer_id=site.peer_id)

    def delete_vpn_site(self, name):
        """Delete the site connection and the objects it used, in the order Neutron requires."""
        net = self.conn.network
        full = vpn_object_name(name)
        for site in self._list("list IPsec site connections", net.vpn_ipsec_site_connections, name=full):
            self._api("delete IPsec site connection %s" % full, net.delete_vpn_ipsec_site_connection, site,
                      ignore_missing=True)
        for group in self._list("list endpoint groups", net.vpn_endpoint_groups):
            if group.name in (full + "-local", full + "-peer"):
                self._api("delete endpoint group %s" % group.name, net.delete_vpn_endpoint_group, group,
                          ignore_missing=True)
        for service in self._list("list VPN services", net.vpn_services, name=full):
            self._api("delete VPN service %s" % full, net.delete_vpn_service, service, ignore_missing=True)
        for policy in self._list("list IPsec policies", net.vpn_ipsec_policies, name=full):
            self._api("delete IPsec policy %s" % full, net.delete_vpn_ipsec_policy, policy, ignore_missing=True)
        for policy in self._list("list IKE policies", net.vpn_ike_policies, name=full):
            self._api("delete IKE policy %s" % full, net.delete_vpn_ike_policy, policy, ignore_missing=True)
