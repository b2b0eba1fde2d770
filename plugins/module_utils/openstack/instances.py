# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instances on the openstack provider.

An instance is server ``sciaas-<name>`` from a Glance image, a flavor that
fits the requested cpus and memory, a keypair, one port ``sciaas-<name>-<vlan>``
per vlan with its fixed address; the admin user and its keys through
cloud-init. What the collection reads back lives in the server's metadata.
"""

from __future__ import annotations

import base64
import functools

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import instance_result, parse_memory
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import (
    MANAGED,
    META,
    PROVIDER_NAME,
    make_tags,
    meta_chunks,
    meta_join,
    network_name,
    port_name,
    server_name,
    undo_quietly,
)


def cloud_init(user, keys, hostname):
    """user_data (base64) that makes the admin user with passwordless sudo and its keys."""
    lines = ["#cloud-config", "hostname: %s" % hostname.split(".")[0], "fqdn: %s" % hostname,
             "users:", "  - name: %s" % user, "    groups: [sudo]", "    shell: /bin/bash",
             "    sudo: 'ALL=(ALL) NOPASSWD:ALL'", "    ssh_authorized_keys:"]
    lines += ["      - '%s'" % key.replace("'", "''") for key in keys]
    if not keys:
        lines[-1] = "    ssh_authorized_keys: []"
    return base64.b64encode(("\n".join(lines) + "\n").encode()).decode()


class Instances(object):
    """Servers, their ports and keypairs; given the Connection and the Vlans, Catalog and Vips drivers."""

    def __init__(self, conn, vlans, catalog, vips):
        self.conn = conn
        self.vlans = vlans
        self.catalog = catalog
        self.vips = vips

    # -- reading ------------------------------------------------------------
    def _instance_ports(self, name):
        """{vlan: port} of an instance."""
        return dict((values.get("vlan"), port) for values, port in self.conn.tagged_ports("port", instance=name))

    def _instance_from(self, server):
        meta = server.metadata or {}
        name = meta.get(META + "name")
        ports = self._instance_ports(name)
        order = [v for v in (meta.get(META + "networks") or "").split(",") if v]
        networks = []
        for i, vlan in enumerate(order):
            port = ports.get(vlan)
            ip = port.fixed_ips[0]["ip_address"] if port is not None and port.fixed_ips else None
            networks.append(dict(vlan=vlan, ip=ip, interface="eth%d" % i, mac=port.mac_address if port else None))
        keys = [k for k in meta_join(meta, META + "keys_").split("\n") if k]
        labels = dict((k[len(META + "label_"):], v) for k, v in meta.items() if k.startswith(META + "label_"))
        state = {"ACTIVE": "running", "SHUTOFF": "stopped"}.get(server.status, (server.status or "unknown").lower())
        return instance_result(
            name=name, location=meta.get(META + "location"), image=meta.get(META + "image"),
            image_id=meta.get(META + "image_id"), cpus=float(meta.get(META + "cpus") or 0) or None,
            memory_mb=int(meta.get(META + "memory") or 0) or None, hostname=meta.get(META + "hostname"),
            networks=networks, admin_user=meta.get(META + "admin_user"), ssh_public_keys=keys, labels=labels,
            state=state, provider=PROVIDER_NAME, resource_id=server.id,
        )

    def list_instances(self):
        servers = self.conn.list("list servers", self.conn.compute.servers, details=True)
        servers = [s for s in servers if (s.metadata or {}).get(META + "kind") == "instance"]
        return sorted((self._instance_from(s) for s in servers), key=lambda i: i["name"])

    def get_instance(self, name):
        for server in self.conn.list("list servers", self.conn.compute.servers, details=True,
                                     name="^%s$" % server_name(name)):
            meta = server.metadata or {}
            if meta.get(META + "kind") == "instance" and meta.get(META + "name") == name:
                return self._instance_from(server)
            raise IaasError("a server named %s exists but is not an instance of this collection" % server_name(name),
                            field="name", fix="pick another name, or remove that server")
        return None

    @staticmethod
    def interface_names(networks):
        # The ports are attached in the order given.
        return ["eth%d" % i for i in range(len(networks))]

    def connection_vars(self, instance):
        """SSH to the address on the first public vlan (else the first vlan), as the admin user."""
        vlans = self.vlans.vlans_by_name()
        nets = instance["networks"]
        public = [n for n in nets if vlans.get(n["vlan"], {}).get("type") == "public"]
        first = (public or nets or [{}])[0]
        return dict(ansible_connection="ssh", ansible_host=first.get("ip"), ansible_user=instance["admin_user"])

    # -- writing ------------------------------------------------------------
    def create_instance(self, spec, run, wait, timeout):
        conn = self.conn
        image = self.catalog.resolve_image(spec["image"])
        memory = parse_memory(spec["memory"])
        flavor = self.catalog.pick_flavor(spec["cpus"], memory, image.get("min_disk") or 0)
        vlans = self.vlans.vlans_by_name()
        groups = conn.list("list security groups", conn.network.security_groups, tags=MANAGED)
        groups = dict((g.name, g) for g in groups)
        metadata = {META + "kind": "instance", META + "name": spec["name"], META + "location": spec["location"],
                    META + "image": spec["image"], META + "image_id": spec["image_id"], META + "cpus": str(spec["cpus"]),
                    META + "memory": str(memory), META + "hostname": spec["hostname"],
                    META + "admin_user": spec["admin_user"],
                    META + "networks": ",".join(n["vlan"] for n in spec["networks"]), MANAGED: "true"}
        metadata.update(meta_chunks(META + "keys_", "\n".join(spec["ssh_public_keys"])))
        metadata.update((META + "label_" + k, v) for k, v in spec["labels"].items())
        # An instance created again (recreate: true) keeps the vips it may hold.
        grants = self.vips.grants(spec["name"])
        made = []
        try:
            ports = []
            for net in spec["networks"]:
                vlan = vlans[net["vlan"]]
                subnet_id = self.vlans.subnet_id(vlan)
                group = groups.get(network_name(net["vlan"]))
                extra = dict(allowed_address_pairs=grants[net["vlan"]]) if grants.get(net["vlan"]) else {}
                port = conn.api("create the port of %s on vlan %s" % (spec["name"], net["vlan"]),
                                conn.network.create_port, name=port_name(spec["name"], net["vlan"]),
                                network_id=vlan["id"], fixed_ips=[dict(subnet_id=subnet_id, ip_address=net["ip"])],
                                security_group_ids=[group.id] if group else [], **extra)
                made.append(functools.partial(conn.network.delete_port, port, ignore_missing=True))
                conn.api("tag port %s" % port.name, conn.network.set_tags, port,
                         make_tags(dict(kind="port", instance=spec["name"], vlan=net["vlan"])))
                ports.append(port)
            key_name = None
            if spec["ssh_public_keys"]:
                key_name = server_name(spec["name"])
                keypair = conn.api("create keypair %s" % key_name, conn.compute.create_keypair, name=key_name,
                                   public_key=spec["ssh_public_keys"][0])
                made.append(functools.partial(conn.compute.delete_keypair, keypair, ignore_missing=True))
            attrs = dict(name=server_name(spec["name"]), image_id=image["uuid"], flavor_id=flavor.id,
                         networks=[dict(port=p.id) for p in ports], metadata=metadata,
                         availability_zone=self.vlans.availability_zone(spec["location"]),
                         user_data=cloud_init(spec["admin_user"], spec["ssh_public_keys"], spec["hostname"]))
            if key_name:
                attrs["key_name"] = key_name
            server = conn.api("create server %s" % attrs["name"], conn.compute.create_server, **attrs)
            made.append(functools.partial(self._remove_server, server))
            if wait or not run:
                server = conn.wait_server(server, "ACTIVE", timeout, "boot %s" % attrs["name"])
            if not run:
                conn.api("stop %s" % attrs["name"], conn.compute.stop_server, server)
                if wait:
                    server = conn.wait_server(server, "SHUTOFF", timeout, "stop %s" % attrs["name"])
        except BaseException:
            undo_quietly(made)
            conn.forget("ports")
            raise
        conn.forget("ports")
        return self._instance_from(conn.api("read server", conn.compute.get_server, server.id))

    def _remove_server(self, server):
        self.conn.compute.delete_server(server, ignore_missing=True)
        self.conn.compute.wait_for_delete(server, interval=self.conn.poll_interval, wait=60)

    def _server(self, current):
        return self.conn.api("read server %s" % current["name"], self.conn.compute.get_server, current["id"])

    def wait_instance(self, current, timeout):
        server = self.conn.wait_server(self._server(current), "ACTIVE", timeout,
                                       "boot %s" % server_name(current["name"]))
        return self._instance_from(server)

    @staticmethod
    def update_instance(current, changes):
        field = sorted(changes)[0]
        raise IaasError("the openstack provider cannot change %s of instance %s in place (Nova needs a resize or "
                        "a rebuild)" % (field, current["name"]), field=field,
                        fix="keep the current value, or delete the instance (state: absent) and create it again")

    def _act(self, current, what, action, status, wait, timeout, *args):
        """One server action (start, stop, reboot), then its status when asked to wait; the instance as it is then."""
        server = self._server(current)
        self.conn.api("%s %s" % (what, server.name), action, server, *args)
        if wait:
            self.conn.wait_server(server, status, timeout, "%s %s" % (what, server.name))
        return self._instance_from(self._server(current))

    def start_instance(self, current, wait, timeout):
        return self._act(current, "start", self.conn.compute.start_server, "ACTIVE", wait, timeout)

    def stop_instance(self, current, wait, timeout):
        return self._act(current, "stop", self.conn.compute.stop_server, "SHUTOFF", wait, timeout)

    def restart_instance(self, current, wait, timeout):
        return self._act(current, "reboot", self.conn.compute.reboot_server, "ACTIVE", wait, timeout, "SOFT")

    def delete_instance(self, current):
        compute = self.conn.compute
        server = self.conn.api("read server", compute.find_server, current["id"], ignore_missing=True)
        if server is not None:
            self.conn.api("delete server %s" % server.name, compute.delete_server, server, ignore_missing=True)
            self.conn.api("wait for server %s to go" % server.name, compute.wait_for_delete, server,
                          interval=self.conn.poll_interval, wait=int(self.conn.params.get("wait_timeout") or 180))
        for port in self._instance_ports(current["name"]).values():
            self.conn.api("delete port %s" % port.name, self.conn.network.delete_port, port, ignore_missing=True)
        self.conn.api("delete keypair", compute.delete_keypair, server_name(current["name"]), ignore_missing=True)
        self.conn.forget("ports")
