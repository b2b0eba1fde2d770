# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vlans on the openstack provider, and the locations (availability zones) they live in.

A vlan is network ``sciaas-vlan-<name>`` + one IPv4 subnet (the vlan cidr, its
gateway, DHCP limited to the automatic range so Neutron never hands out a vip
address by itself) + security group ``sciaas-vlan-<name>``. A VLAN provider
network with a segmentation id when ``provider_networks`` names the vlan
(admin only), a tenant network otherwise. public: a router to
``external_network``; private: no router. A location is an availability zone
of the region; the ``availability_zones`` option maps a location to another
zone name.
"""

from __future__ import annotations

import functools

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model import ipam
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import vlan_result
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import (
    MANAGED,
    PROVIDER_NAME,
    make_tags,
    network_name,
    read_tags,
    undo_quietly,
)


def allocation_pools(cidr, gateway, automatic_range):
    """DHCP's pools: the automatic range without the gateway (Neutron refuses an overlap)."""
    net = ipam.parse_cidr(cidr)
    space = ipam.netaddr.IPSet([automatic_range]) - ipam.netaddr.IPSet([gateway, net.network, net.broadcast])
    return [dict(start=str(ipam.netaddr.IPAddress(r.first)), end=str(ipam.netaddr.IPAddress(r.last)))
            for r in space.iter_ipranges()]


class Vlans(object):
    """Networks, subnets, security groups and routers of the vlans; given the Connection."""

    def __init__(self, conn):
        self.conn = conn

    # -- location ----------------------------------------------------------
    def availability_zone(self, location):
        return (self.conn.params.get("availability_zones") or {}).get(location) or location

    def _unknown_zone(self, location):
        """The cloud has no availability zone for this location (Neutron's AvailabilityZoneNotFound)."""
        zone = self.availability_zone(location)
        mapped = " (availability_zones maps it to %r)" % zone if zone != location else ""
        try:
            offered = sorted(set(z.name for z in self.conn.network.availability_zones() if z.resource == "network"))
        except Exception:  # pylint: disable=broad-except
            offered = []
        return IaasError("OpenStack has no availability zone %r for location %s%s" % (zone, location, mapped),
                         field="location",
                         fix="use a location the cloud has, or map it to one of its zones with availability_zones "
                             "(e.g. availability_zones: {%s: %s})" % (location, offered[0] if offered else "nova")
                         + ("; the cloud's network zones: %s" % ", ".join(offered) if offered else ""))

    # -- reading ------------------------------------------------------------
    def reserved_networks(self):
        """Subnets of the project (and shared or external ones) that are not vlans of this collection."""
        ours = set(v["id"] for v in self.list_vlans())
        return [(s.cidr, "OpenStack subnet %s" % (s.name or s.id))
                for s in self.conn.list("list subnets", self.conn.network.subnets)
                if s.network_id not in ours and s.ip_version == 4]

    @staticmethod
    def _vlan_from(net, subnet):
        values, labels = read_tags(net.tags)
        pools = (subnet.allocation_pools if subnet else None) or []
        return vlan_result(
            name=values.get("name"), location=values.get("location"), vlan_type=values.get("type"),
            cidr=subnet.cidr if subnet else None, gateway=subnet.gateway_ip if subnet else None,
            vip_range=values.get("vip_range"), labels=labels, provider=PROVIDER_NAME, resource_id=net.id,
            automatic_range=values.get("automatic_range") or (pools[0]["start"] if pools else None),
        )

    def list_vlans(self):
        return self.conn.cached("vlans", self._read_vlans)

    def _read_vlans(self):
        nets = [n for n in self.conn.list("list networks", self.conn.network.networks, tags=MANAGED)
                if read_tags(n.tags)[0].get("kind") == "vlan"]
        subnets = dict((s.network_id, s)
                       for s in self.conn.list("list subnets", self.conn.network.subnets, tags=MANAGED))
        return sorted((self._vlan_from(n, subnets.get(n.id)) for n in nets), key=lambda v: v["name"])

    def vlan(self, name):
        """The vlan NAME (it must exist)."""
        return next(v for v in self.list_vlans() if v["name"] == name)

    def vlans_by_name(self):
        return dict((v["name"], v) for v in self.list_vlans())

    def subnet_id(self, vlan):
        subnets = self.conn.list("list subnets", self.conn.network.subnets, network_id=vlan["id"])
        if not subnets:
            raise ProviderError("vlan %s has no subnet in the cloud" % vlan["name"], field="networks",
                                fix="delete the vlan and create it again")
        return subnets[0].id

    def external_network(self):
        name = self.conn.params.get("external_network")
        if not name:
            raise IaasError("a public vlan needs a router to an external network", field="external_network",
                            fix="name the cloud's external network (external_network: public)")
        return self.conn.api("find external network %s" % name, self.conn.network.find_network, name,
                             ignore_missing=False)

    def foreign_addresses(self):
        """Addresses on vlans held by ports that are not an instance's or a vip's (DHCP, router, VPN router)."""
        out = {}
        for vlan in self.list_vlans():
            for port in self.conn.list("list ports", self.conn.network.ports, network_id=vlan["id"]):
                if MANAGED in (port.tags or []) and read_tags(port.tags)[0].get("kind") != "vpn_port":
                    continue
                for fixed in port.fixed_ips or []:
                    out.setdefault(vlan["name"], {})[fixed["ip_address"]] = "port %s (%s)" % (
                        port.name or port.id, port.device_owner or "no owner")
        return out

    # -- writing ------------------------------------------------------------
    def create_vlan(self, spec):
        net_api = self.conn.network
        api = self.conn.api
        tags = make_tags(dict(kind="vlan", name=spec["name"], location=spec["location"], type=spec["type"],
                              vip_range=spec["vip_range"], automatic_range=spec["automatic_range"]), spec["labels"])
        segment = (self.conn.params.get("provider_networks") or {}).get(spec["name"])
        external = self.external_network() if spec["type"] == "public" else None
        made = []
        try:
            attrs = dict(name=network_name(spec["name"]), description="secure_cloud.iaas vlan %s" % spec["name"],
                         availability_zone_hints=[self.availability_zone(spec["location"])])
            if segment:
                attrs.update(provider_network_type="vlan", provider_physical_network=segment.get("physical_network"),
                             provider_segmentation_id=segment.get("segmentation_id"))
            try:
                net = api("create network %s" % attrs["name"], net_api.create_network, **attrs)
            except ProviderError as err:
                if err.details.get("error_type") == "AvailabilityZoneNotFound":
                    raise self._unknown_zone(spec["location"])
                raise
            made.append(functools.partial(net_api.delete_network, net, ignore_missing=True))
            api("tag network %s" % net.name, net_api.set_tags, net, tags)
            subnet = api("create the subnet of vlan %s" % spec["name"], net_api.create_subnet,
                         name=network_name(spec["name"]), network_id=net.id, ip_version=4, cidr=spec["cidr"],
                         gateway_ip=spec["gateway"], enable_dhcp=True,
                         allocation_pools=allocation_pools(spec["cidr"], spec["gateway"], spec["automatic_range"]))
            api("tag subnet %s" % subnet.name, net_api.set_tags, subnet, [MANAGED])
            group = api("create security group %s" % net.name, net_api.create_security_group,
                        name=net.name, description="secure_cloud.iaas vlan %s" % spec["name"])
            made.append(functools.partial(net_api.delete_security_group, group, ignore_missing=True))
            api("tag security group %s" % group.name, net_api.set_tags, group, [MANAGED])
            for rule in self.security_rules(spec):
                api("add a rule to security group %s" % group.name, net_api.create_security_group_rule,
                    security_group_id=group.id, direction="ingress", ethertype="IPv4", **rule)
            if external is not None:
                router = api("create router %s" % net.name, net_api.create_router, name=net.name,
                             external_gateway_info=dict(network_id=external.id))
                made.append(functools.partial(net_api.delete_router, router, ignore_missing=True))
                api("tag router %s" % router.name, net_api.set_tags, router, [MANAGED])
                api("attach vlan %s to its router" % spec["name"], net_api.add_interface_to_router,
                    router, subnet=subnet.id)
                made.append(functools.partial(net_api.remove_interface_from_router, router, subnet=subnet.id))
        except BaseException:
            # Nothing half-made: undo in reverse order, quietly.
            undo_quietly(made)
            raise
        self.conn.forget("vlans")
        return next((v for v in self.list_vlans() if v["name"] == spec["name"]), None)

    def security_rules(self, vlan):
        """Ingress rules of a vlan's security group.

        Everything from the vlan itself (instances of a vlan reach each other,
        as on a Docker bridge: VRRP between a pair, the demo service); on a
        public vlan also SSH from admin_cidrs and what public_ingress lists
        (HTTP to a vip, IKE and ESP to a VPN gateway). The guests' own firewall
        (secure_cloud.iaas.firewall) narrows it per host.
        """
        params = self.conn.params
        rules = [dict(remote_ip_prefix=vlan["cidr"])]
        if vlan["type"] == "public":
            for cidr in params.get("admin_cidrs") or []:
                rules.append(dict(protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix=cidr))
            for entry in params.get("public_ingress") or []:
                rule = dict(protocol=entry["protocol"], remote_ip_prefix=entry.get("remote_ip_prefix") or "0.0.0.0/0")
                if entry.get("port"):
                    rule.update(port_range_min=entry["port"], port_range_max=entry["port"])
                rules.append(rule)
        return rules

    def delete_vlan(self, current):
        net = self.conn.network
        name = network_name(current["name"])
        for router in self.conn.list("list routers", net.routers, name=name, tags=MANAGED):
            for subnet in self.conn.list("list subnets", net.subnets, network_id=current["id"]):
                self.conn.api("detach vlan %s from its router" % current["name"], net.remove_interface_from_router,
                              router, subnet=subnet.id)
            self.conn.api("delete router %s" % name, net.delete_router, router, ignore_missing=True)
        self.conn.api("delete network %s" % name, net.delete_network, current["id"], ignore_missing=True)
        for group in self.conn.list("list security groups", net.security_groups, name=name, tags=MANAGED):
            self.conn.api("delete security group %s" % name, net.delete_security_group, group, ignore_missing=True)
        self.conn.forget("vlans")
