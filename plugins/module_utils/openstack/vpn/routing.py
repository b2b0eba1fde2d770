# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the vlans a tunnel serves reach the VPN service's router.

VPNaaS only serves subnets attached to the service's router, and a private
vlan has no router: each served vlan gets a port ``sciaas-vpnrt-<vlan>`` (an
address allocated like an instance's, never the vlan's gateway, so the
guests' default route does not change) attached to that router, a host route
per peer subnet via that port on the vlan's subnet (DHCP option 121), and a
rule in the vlan's security group per peer subnet. Removed again with the
last tunnel that serves the vlan.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import used_addresses
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import MANAGED, make_tags, network_name

ROUTER_PORT_PREFIX = "sciaas-vpnrt-"
RULE_DESCRIPTION = "secure_cloud.iaas vpn_tunnel"


def routing_want(tunnels):
    """{vlan: {"public_vlan", "peers"}} every served vlan needs, from tunnel results or specs."""
    want = {}
    for tunnel in tunnels:
        if not tunnel.get("public_vlan"):
            continue
        for vlan in tunnel["vlans"]:
            entry = want.setdefault(vlan, dict(public_vlan=tunnel["public_vlan"], peers=set()))
            entry["peers"].update(tunnel["peer_subnets"])
    return want


def router_external_ip(router):
    """The router's IPv4 address on the external network, or None."""
    info = getattr(router, "external_gateway_info", None) or {}
    for fixed in info.get("external_fixed_ips") or []:
        if ":" not in (fixed.get("ip_address") or ":"):
            return fixed["ip_address"]
    return None


class VpnRouting(object):
    """The VPN router ports, host routes and security group rules of the served vlans.

    Given the Connection, the Vlans driver and the Instances driver (whose
    addresses a new router port must not take).
    """

    def __init__(self, conn, vlans, instances):
        self.conn = conn
        self.vlans = vlans
        self.instances = instances

    def vlan_router(self, vlan_name, field="public_vlan"):
        router = next(iter(self.conn.list("find the router of vlan %s" % vlan_name, self.conn.network.routers,
                                          name=network_name(vlan_name))), None)
        if router is None:
            raise IaasError("vlan %s has no router (is it public?)" % vlan_name, field=field,
                            fix="give a public vlan; its router carries the VPN service")
        return router

    def vpn_ports(self):
        """{vlan: port} of the VPN router ports."""
        return dict((values.get("vlan"), port) for values, port in self.conn.tagged_ports("vpn_port"))

    def _used_addresses(self):
        """{vlan: {ip: holder}}: the instances' addresses and everything else on the vlans."""
        used = used_addresses(self.instances.list_instances())
        for name, extra in self.vlans.foreign_addresses().items():
            used.setdefault(name, {}).update(extra)
        return used

    def plan_gateway(self, public_vlan, vlan_names):
        """{vlan: address}: the router's external address under public_vlan, the VPN router port on each vlan."""
        out = {public_vlan: router_external_ip(self.vlan_router(public_vlan))}
        vlans = self.vlans.vlans_by_name()
        ports = self.vpn_ports()
        used = self._used_addresses()
        for name in sorted(vlan_names):
            port = ports.get(name)
            if port is not None and port.fixed_ips:
                out[name] = port.fixed_ips[0]["ip_address"]
                continue
            ip = str(ipam.allocate(vlans[name], used.setdefault(name, {}), "vlans"))
            used[name][ip] = "the VPN router"
            out[name] = ip
        return out

    def sync(self, want, apply=True, only=None):
        """Served vlans attached to their VPN router, with host routes and security group rules for the peers.

        want: routing_want(). Returns [reason] for what was (or, with apply=False, would be) changed;
        only: the vlans to look at (all when None).
        """
        vlans = self.vlans.vlans_by_name()
        ports = self.vpn_ports()
        reasons = []
        routers = {}
        for name in sorted(set(want) | set(ports)):
            if only is not None and name not in only:
                continue
            vlan = vlans.get(name)
            if vlan is None:
                continue
            entry = want.get(name)
            port = ports.get(name)
            peers = sorted(entry["peers"]) if entry else []
            if entry is not None:
                router = routers.get(entry["public_vlan"]) or self.vlan_router(entry["public_vlan"])
                routers[entry["public_vlan"]] = router
                if port is None or port.device_id != router.id:
                    reasons.append("vlan %s is not attached to the VPN router" % name)
                    if apply:
                        port = self._attach(vlan, port, router)
            reasons += self._sync_routes(vlan, port, peers, apply)
            reasons += self._sync_rules(name, peers, apply)
            if entry is None and port is not None:
                reasons.append("vlan %s is still attached to the VPN router" % name)
                if apply:
                    self._detach(name, port)
        return reasons

    def _attach(self, vlan, port, router):
        """The vlan's VPN router port (made when there is none) attached to router."""
        net = self.conn.network
        name = vlan["name"]
        if port is None:
            ip = str(ipam.allocate(vlan, self._used_addresses().setdefault(name, {}), "vlans"))
            port = self.conn.api("create the VPN router port of vlan %s" % name, net.create_port,
                                 name=ROUTER_PORT_PREFIX + name, network_id=vlan["id"],
                                 fixed_ips=[dict(subnet_id=self.vlans.subnet_id(vlan), ip_address=ip)],
                                 description="secure_cloud.iaas VPN router port")
            self.conn.forget("ports")
            self.conn.api("tag port %s" % port.name, net.set_tags, port, make_tags(dict(kind="vpn_port", vlan=name)))
        elif port.device_id:
            self.conn.api("detach vlan %s from another router" % name, net.remove_interface_from_router,
                          port.device_id, port=port.id)
        self.conn.api("attach vlan %s to the VPN router" % name, net.add_interface_to_router, router, port=port.id)
        self.conn.forget("ports")
        return port

    def _detach(self, name, port):
        net = self.conn.network
        if port.device_id:
            self.conn.api("detach vlan %s from the VPN router" % name, net.remove_interface_from_router,
                          port.device_id, port=port.id)
        self.conn.api("delete the VPN router port of vlan %s" % name, net.delete_port, port, ignore_missing=True)
        self.conn.forget("ports")

    def _sync_routes(self, vlan, port, peers, apply):
        """The vlan's host routes: one per peer subnet via the VPN router port, none via it otherwise."""
        net = self.conn.network
        name = vlan["name"]
        subnet = next(iter(self.conn.list("list subnets", net.subnets, network_id=vlan["id"])), None)
        if subnet is None:
            return []
        ip = port.fixed_ips[0]["ip_address"] if port is not None and port.fixed_ips else None
        routes = [dict(r) for r in subnet.host_routes or []]
        ours = sorted(r["destination"] for r in routes if ip and r.get("nexthop") == ip)
        if ours == peers:
            return []
        if apply:
            keep = [r for r in routes if not (ip and r.get("nexthop") == ip)]
            self.conn.api("set the host routes of vlan %s" % name, net.update_subnet, subnet,
                          host_routes=keep + [dict(destination=p, nexthop=ip) for p in peers])
        return ["vlan %s does not route %s via the VPN router" % (name, ", ".join(peers)) if peers
                else "vlan %s still routes peer subnets via the VPN router" % name]

    def _sync_rules(self, name, peers, apply):
        """The vlan's security group admits exactly the peer subnets (through rules of its own description)."""
        net = self.conn.network
        group = next(iter(self.conn.list("list security groups", net.security_groups, name=network_name(name),
                                         tags=MANAGED)), None)
        if group is None:
            return []
        rules = [r for r in self.conn.list("list security group rules", net.security_group_rules,
                                           security_group_id=group.id) if r.description == RULE_DESCRIPTION]
        have = dict((r.remote_ip_prefix, r) for r in rules)
        if sorted(have) == peers:
            return []
        if apply:
            for cidr in peers:
                if cidr not in have:
                    self.conn.api("admit %s to vlan %s" % (cidr, name), net.create_security_group_rule,
                                  security_group_id=group.id, direction="ingress", ethertype="IPv4",
                                  remote_ip_prefix=cidr, description=RULE_DESCRIPTION)
            for cidr, rule in have.items():
                if cidr not in peers:
                    self.conn.api("remove the rule for %s from vlan %s" % (cidr, name),
                                  net.delete_security_group_rule, rule, ignore_missing=True)
        return ["the security group of vlan %s does not admit exactly the peer subnets" % name]
