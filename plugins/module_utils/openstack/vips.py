# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vips on the openstack provider.

- The reservation is a Neutron port ``sciaas-vip-<name>`` holding the fixed
  address on the vlan's subnet, so Neutron gives it to nothing else. Its tags
  carry the allow-list, the holder set through the API and the labels.
- The allow-list is Neutron's port security: each allowed instance's port on
  the vlan has the address in its ``allowed_address_pairs``; no other port may
  send from it. Pairs are compared by address only (Neutron fills in the MAC of
  the port), in any order, and other pairs on the port are left alone.
- keepalived inside an allowed instance claims the vip with no API call.
- A public vip also gets a floating IP of ``external_network``, associated
  with the vip's own port ``sciaas-vip-<name>`` and its fixed address (Neutron
  accepts as ``fixed_ip_address`` only one of the port's own fixed IPs, never
  an address of its ``allowed_address_pairs``). The router sends the floating
  IP's traffic to the vip address, which the holder answers (ARP): a move
  never touches the floating IP, as in the usual keepalived-on-OpenStack setup.
- Neutron cannot see which guest answers ARP: the holder reported, public or
  private, is the one last set through the API (the module or keepalived's
  cloud_api action).
"""

from __future__ import annotations

import functools

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import vip_result
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import (
    PROVIDER_NAME,
    make_tags,
    read_tags,
    tag_list,
    undo_quietly,
)

VIP_PREFIX = "sciaas-vip-"


def vip_port_name(name):
    return VIP_PREFIX + name


def pair_addresses(port):
    return set(p.get("ip_address") for p in (port.allowed_address_pairs or []))


class Vips(object):
    """Vip ports, allowed address pairs and floating IPs; given the Connection and the Vlans driver."""

    def __init__(self, conn, vlans):
        self.conn = conn
        self.vlans = vlans

    def _vip_ports(self):
        return [port for _values, port in self.conn.tagged_ports("vip")]

    def _ports_on(self, vlan_name):
        """{instance name: port} on a vlan."""
        return dict((values.get("instance"), port) for values, port in self.conn.tagged_ports("port", vlan=vlan_name))

    def grants(self, instance_name):
        """{vlan: [allowed address pair]} of the vips an instance is allowed to hold (kept when it is made again)."""
        out = {}
        for values, port in self.conn.tagged_ports("vip"):
            if instance_name in tag_list(values, "allowed"):
                out.setdefault(values.get("vlan"), []).append(dict(ip_address=port.fixed_ips[0]["ip_address"]))
        return out

    def _floating_ip(self, vip_port):
        found = self.conn.list("list floating IPs", self.conn.network.ips, description=vip_port.name)
        return found[0] if found else None

    def _vip_from(self, port):
        values, labels = read_tags(port.tags)
        address = port.fixed_ips[0]["ip_address"]
        vlan = next((v for v in self.vlans.list_vlans() if v["name"] == values.get("vlan")), None)
        prefixlen = int(vlan["cidr"].split("/")[1]) if vlan else None
        allowed = tag_list(values, "allowed")
        ports = self._ports_on(values.get("vlan"))
        paired = sorted(name for name, p in ports.items() if address in pair_addresses(p))
        holder = values.get("holder") or None
        return vip_result(
            name=values.get("name"), vlan=values.get("vlan"), location=values.get("location"), address=address,
            prefixlen=prefixlen, allowed_instances=allowed, holder=holder if holder in allowed else None,
            holders=[holder] if holder in allowed else [],
            unauthorized_holders=[n for n in paired if n not in allowed], stored_holder=holder, labels=labels,
            provider=PROVIDER_NAME, resource_id=port.id,
        )

    def list_vips(self):
        return sorted((self._vip_from(p) for p in self._vip_ports()), key=lambda v: v["name"])

    def get_vip(self, name):
        return next((v for v in self.list_vips() if v["name"] == name), None)

    @staticmethod
    def _vip_tags(vip):
        tags = make_tags(dict(kind="vip", name=vip["name"], vlan=vip["vlan"], location=vip["location"],
                              holder=vip.get("stored_holder")), vip["labels"])
        return tags + ["sciaas:allowed=%s" % name for name in vip["allowed_instances"]]

    def _set_pairs(self, port, address, present):
        """Add or remove one address among a port's allowed_address_pairs; True when it changed."""
        pairs = [dict(p) for p in port.allowed_address_pairs or []]
        has = address in pair_addresses(port)
        if present and not has:
            pairs.append(dict(ip_address=address))
        elif not present and has:
            pairs = [p for p in pairs if p.get("ip_address") != address]
        else:
            return False
        self.conn.api("update the allowed address pairs of port %s" % port.name, self.conn.network.update_port, port,
                      allowed_address_pairs=pairs)
        return True

    def _sync_pairs(self, vlan_name, address, allowed):
        for name, port in self._ports_on(vlan_name).items():
            self._set_pairs(port, address, name in allowed)

    def _ensure_floating_ip(self, vip_port, vip):
        """The public vip's floating IP, on the vip's own port and address (made or put back when it is not)."""
        fip = self._floating_ip(vip_port)
        if fip is None:
            external = self.vlans.external_network()
            return self.conn.api("create the floating IP of vip %s" % vip["name"], self.conn.network.create_ip,
                                 floating_network_id=external.id, description=vip_port.name, port_id=vip_port.id,
                                 fixed_ip_address=vip["address"])
        if fip.port_id != vip_port.id or fip.fixed_ip_address != vip["address"]:
            fip = self.conn.api("point the floating IP of vip %s at its port" % vip["name"],
                                self.conn.network.update_ip, fip, port_id=vip_port.id, fixed_ip_address=vip["address"])
        return fip

    def create_vip(self, spec):
        net = self.conn.network
        vlan = self.vlans.vlan(spec["vlan"])
        port = None
        try:
            port = self.conn.api("reserve the address of vip %s" % spec["name"], net.create_port,
                                 name=vip_port_name(spec["name"]), network_id=vlan["id"],
                                 fixed_ips=[dict(subnet_id=self.vlans.subnet_id(vlan), ip_address=spec["address"])],
                                 description="secure_cloud.iaas vip %s" % spec["name"])
            self.conn.api("tag port %s" % port.name, net.set_tags, port, self._vip_tags(spec))
            self.conn.forget("ports")
            self._sync_pairs(spec["vlan"], spec["address"], spec["allowed_instances"])
            if vlan["type"] == "public":
                self._ensure_floating_ip(port, spec)
        except BaseException:
            # Nothing half-made: no pair, no floating IP, no reservation.
            if port is not None:
                self.conn.forget("ports")
                try:
                    self._sync_pairs(spec["vlan"], spec["address"], [])
                except IaasError:
                    pass
                fip = self._floating_ip(port) if vlan["type"] == "public" else None
                undo = [functools.partial(net.delete_port, port, ignore_missing=True)]
                if fip is not None:
                    undo.append(functools.partial(net.delete_ip, fip, ignore_missing=True))
                undo_quietly(undo)
            self.conn.forget("ports")
            raise
        self.conn.forget("ports")
        return self.get_vip(spec["name"])

    def update_vip(self, current, changes):
        port = self.conn.api("read port", self.conn.network.get_port, current["id"])
        rec = dict(current)
        for field in ("allowed_instances", "labels"):
            if field in changes:
                rec[field] = changes[field]
        if "holder" in changes:
            rec["stored_holder"] = changes["holder"]
        # Grant the new holder first, move, then revoke (make before break).
        self._sync_pairs(current["vlan"], current["address"],
                         set(rec["allowed_instances"]) | set(current["allowed_instances"]))
        if self.vlans.vlan(current["vlan"])["type"] == "public":
            # A move leaves the floating IP where it is; this only repairs it.
            self._ensure_floating_ip(port, current)
        self._sync_pairs(current["vlan"], current["address"], rec["allowed_instances"])
        self.conn.api("tag port %s" % port.name, self.conn.network.set_tags, port, self._vip_tags(rec))
        self.conn.forget("ports")
        return self.get_vip(current["name"])

    def delete_vip(self, current):
        net = self.conn.network
        port = self.conn.api("read port", net.find_port, current["id"], ignore_missing=True)
        # The address leaves every port of the vlan, allowed or not.
        self._sync_pairs(current["vlan"], current["address"], [])
        if port is not None:
            fip = self._floating_ip(port)
            if fip is not None:
                self.conn.api("delete the floating IP of vip %s" % current["name"], net.delete_ip, fip,
                              ignore_missing=True)
            self.conn.api("delete port %s" % port.name, net.delete_port, port, ignore_missing=True)
        self.conn.forget("ports")
