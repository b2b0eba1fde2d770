# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: instances
short_description: Every instance of secure_cloud.iaas as a host
version_added: 0.1.0
description:
  - Makes every instance of the provider a host, named after the instance, with
    its resource (the shape M(secure_cloud.iaas.instance_info) returns) in
    C(secure_cloud_iaas) and the usual connection variables.
  - Groups C(location_<location>) and C(vlan_<vlan>) (names made safe for
    Ansible groups); O(keyed_groups), O(groups) and O(compose) make more.
  - On the C(docker) provider the hosts are reached through the Docker
    connection (C(community.docker.docker), the container C(sciaas-<name>)), so
    an instance on private VLANs only needs no open SSH port.
  - The inventory file name must end in C(instances.yml), C(instances.yaml),
    C(.iaas.yml) or C(.iaas.yaml).
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [secure_cloud.iaas.instances]
  running_only:
    description: Only instances that are running.
    type: bool
    default: false
  locations:
    description: Only instances in these locations (all when empty).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - secure_cloud.iaas.provider.inventory
  - constructed
  - inventory_cache
"""

EXAMPLES = r"""
# inventory/cloud.iaas.yml: every instance, grouped by location and vlan
plugin: secure_cloud.iaas.instances

# inventory/openstack.iaas.yml: the instances of an OpenStack cloud of clouds.yaml
# plugin: secure_cloud.iaas.instances
# provider: openstack
# cloud: mycloud
# region_name: RegionOne

# inventory/web.iaas.yml: running instances of fra1, grouped by their labels
# plugin: secure_cloud.iaas.instances
# running_only: true
# locations: [fra1]
# keyed_groups:
#   - key: secure_cloud_iaas.labels.role | default('none')
#     prefix: role
# compose:
#   private_ip: secure_cloud_iaas.networks[-1].ip
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/secure_cloud_iaas_inventory
"""

import re

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import get_provider

GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def group_name(prefix, value):
    return "%s_%s" % (prefix, GROUP_UNSAFE.sub("_", str(value)))


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "secure_cloud.iaas.instances"

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return path.endswith(("instances.yml", "instances.yaml", ".iaas.yml", ".iaas.yaml"))

    # The provider options this plugin documents (secure_cloud.iaas.provider.inventory),
    # handed to the provider as a module would hand them.
    PROVIDER_OPTIONS = ("provider", "docker_host", "docker_timeout", "state_dir", "cloud", "region_name")

    def _fetch(self):
        params = dict((key, self.get_option(key)) for key in self.PROVIDER_OPTIONS)
        try:
            provider = get_provider(params)
            hosts = []
            for inst in provider.list_instances():
                hosts.append(dict(resource=inst, connection=provider.connection_vars(inst)))
            return hosts
        except IaasError as exc:
            raise AnsibleError("secure_cloud.iaas.instances: %s" % exc)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        hosts = None
        if use_cache:
            try:
                hosts = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if hosts is None:
            hosts = self._fetch()
        if update_cache:
            self._cache[cache_key] = hosts
        self._populate(hosts)

    def _populate(self, hosts):
        strict = self.get_option("strict")
        locations = self.get_option("locations") or []
        for entry in hosts:
            inst = entry["resource"]
            if self.get_option("running_only") and inst.get("state") != "running":
                continue
            if locations and inst.get("location") not in locations:
                continue
            name = inst["name"]
            self.inventory.add_host(name)
            for key, value in entry["connection"].items():
                self.inventory.set_variable(name, key, value)
            self.inventory.set_variable(name, "secure_cloud_iaas", inst)
            for group in [group_name("location", inst["location"])] + \
                    [group_name("vlan", net["vlan"]) for net in inst.get("networks") or []]:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            hostvars = dict(entry["connection"], secure_cloud_iaas=inst)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
