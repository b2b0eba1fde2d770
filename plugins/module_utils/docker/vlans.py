# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vlans on the docker provider: one bridge network each, and the host's isolation table.

- vlan -> bridge network ``sciaas-vlan-<name>``; public: outbound NAT;
  private: ``internal`` (no route out). Docker's isolation chains keep bridge
  networks apart; the host's table (host/isolation.py) drops everything a
  vlan's bridge delivers to the host itself. IPAM: the vlan cidr, its gateway,
  and an ``ip_range`` outside the vip_range so the engine never hands out a
  vip address by itself (addresses are always given explicitly).
"""

from __future__ import annotations

import socket

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import (
    KIND_LABEL,
    MANAGED,
    PREFIX,
    USER_LABEL,
    bridge_name,
    network_name,
    user_labels,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import isolation
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import vlan_result

try:
    from docker.types import IPAMConfig, IPAMPool
except ImportError:
    pass  # engine.py reports the missing SDK before any of this runs


def local_routes(path="/proc/net/route"):
    """[(cidr, description)] of the host's routes, the default route left out."""
    out = []
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()[1:]
    except (IOError, OSError):
        return out
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, dest, mask = fields[0], fields[1], fields[7]
        dest_ip = socket.inet_ntoa(bytes.fromhex(dest)[::-1])
        mask_ip = socket.inet_ntoa(bytes.fromhex(mask)[::-1])
        prefix = sum(bin(int(part)).count("1") for part in mask_ip.split("."))
        if prefix == 0:
            continue
        out.append(("%s/%d" % (dest_ip, prefix), "a route of the host via %s" % iface))
    return out


class Vlans(object):
    """engine: the Engine; run: the host's command runner (the isolation table)."""

    def __init__(self, engine, run):
        self.engine = engine
        self.run = run

    def _from_network(self, net):
        labels = net.attrs.get("Labels") or {}
        pool = ((net.attrs.get("IPAM") or {}).get("Config") or [{}])[0]
        return vlan_result(
            name=labels.get(PREFIX + "name"), location=labels.get(PREFIX + "location"),
            vlan_type=labels.get(PREFIX + "type"), cidr=pool.get("Subnet"), gateway=pool.get("Gateway"),
            vip_range=labels.get(PREFIX + "vip_range"), labels=user_labels(labels), provider="docker",
            resource_id=net.id, automatic_range=pool.get("IPRange"),
        )

    def networks(self):
        return self.engine.api("list networks", self.engine.client.networks.list,
                               filters={"label": [MANAGED + "=true", PREFIX + "kind=vlan"]})

    def list(self):
        return sorted((self._from_network(n) for n in self.networks()), key=lambda v: v["name"])

    def reserved_networks(self):
        """Other Docker networks, and the host's routes where the engine runs here."""
        out = []
        for net in self.engine.api("list networks", self.engine.client.networks.list):
            labels = net.attrs.get("Labels") or {}
            if labels.get(KIND_LABEL) == "vlan":
                continue
            for pool in (net.attrs.get("IPAM") or {}).get("Config") or []:
                if pool.get("Subnet") and ":" not in pool["Subnet"]:
                    out.append((pool["Subnet"], "Docker network %s" % net.name))
        if self.engine.is_local():
            vlan_cidrs = set(v["cidr"] for v in self.list())
            out.extend(r for r in local_routes() if r[0] not in vlan_cidrs)
        return out

    def create(self, spec):
        labels = {MANAGED: "true", KIND_LABEL: "vlan", PREFIX + "name": spec["name"],
                  PREFIX + "location": spec["location"], PREFIX + "type": spec["type"],
                  PREFIX + "vip_range": spec["vip_range"]}
        labels.update((USER_LABEL + k, v) for k, v in spec["labels"].items())
        ipam_config = IPAMConfig(pool_configs=[IPAMPool(subnet=spec["cidr"], gateway=spec["gateway"],
                                                        iprange=spec["automatic_range"])])
        options = {"com.docker.network.bridge.enable_ip_masquerade": "true" if spec["type"] == "public" else "false"}
        name = network_name(spec["name"])
        try:
            net = self.engine.api("create network %s" % name, self.engine.client.networks.create, name,
                                  driver="bridge", internal=spec["type"] == "private", ipam=ipam_config,
                                  labels=labels, options=options, check_duplicate=True)
            net.reload()
            self.ensure_isolation()
        except BaseException:
            # Nothing half-made: no network, and the isolation table as before.
            self._remove_if_ours(name)
            try:
                self.ensure_isolation()
            except IaasError:
                pass
            raise
        return self._from_network(net)

    def _remove_if_ours(self, name):
        try:
            net = self.engine.client.networks.get(name)
            if (net.attrs.get("Labels") or {}).get(MANAGED) == "true":
                net.remove()
        except Exception:  # pylint: disable=broad-except
            pass

    def delete(self, current):
        net = self.engine.find_network(current["id"])
        if net is not None:
            self.engine.api("remove network %s" % net.name, net.remove)
        self.ensure_isolation()

    def ensure_isolation(self, apply=True):
        """The host's isolation table matches the vlans (and other guest networks); True when it had to change.

        Only where the engine runs on this host (its bridges are ours to filter).
        """
        if not self.engine.is_local():
            return False
        wanted = [bridge_name(net) for net in self.networks()]
        for net in self.engine.api("list networks", self.engine.client.networks.list,
                                   filters={"label": guest.GUEST_NETWORK_LABEL + "=true"}):
            wanted.append(bridge_name(net))
        if isolation.in_place(wanted, self.run):
            return False
        if apply:
            isolation.apply(wanted, self.run)
        return True

    def bridge(self, vlan_name):
        """The host's bridge interface of a vlan (for vips: anti-spoofing rules, gratuitous ARP)."""
        return bridge_name(self.engine.api("inspect network", self.engine.client.networks.get, network_name(vlan_name)))

    def foreign_addresses(self, instance_names):
        """{vlan: {ip: holder}} of every container on a vlan that is not one of INSTANCE_NAMES' containers
        (VPN gateways, containers made by hand)."""
        out = {}
        for net in self.networks():
            net.reload()
            vlan = (net.attrs.get("Labels") or {}).get(PREFIX + "name")
            for cid, endpoint in (net.attrs.get("Containers") or {}).items():
                ip = (endpoint.get("IPv4Address") or "").split("/")[0]
                name = endpoint.get("Name") or cid[:12]
                if ip and name not in instance_names:
                    out.setdefault(vlan, {})[ip] = "container %s" % name
        return out
