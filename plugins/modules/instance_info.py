#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: instance_info
short_description: List instances
version_added: 0.1.0
description:
  - Lists the instances of the provider, filtered by name, location and
    labels, in the same shape M(secure_cloud.iaas.instance) returns.
  - Returns an empty list when nothing matches.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description: Only the instance of this name.
    type: str
  location:
    description: Only instances in this location.
    type: str
  labels:
    description: Only instances that carry all these labels with these values.
    type: dict
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.info_attributes
seealso:
  - module: secure_cloud.iaas.instance
  - plugin: secure_cloud.iaas.instances
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: List the instances of fra1
  secure_cloud.iaas.instance_info:
    location: fra1
  register: fra1

- name: Show each instance's addresses
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.networks | map(attribute='ip') | join(', ') }}"
  loop: "{{ fra1.instances }}"

- name: Find the web servers
  secure_cloud.iaas.instance_info:
    labels:
      role: web
  register: web
"""

RETURN = r"""
instances:
  description:
    - The matching instances, sorted by name; empty when none match.
    - Each has the shape of RV(secure_cloud.iaas.instance#module:instance).
  returned: always
  type: list
  elements: dict
  sample:
    - name: web-1
      location: fra1
      image: debian12
      image_id: sha256:b2e3a333e2157681313b5a48ca06e44178a47878a8987eff4d59baba428c9dcb
      instance_type: small
      cpus: 0.5
      memory: 512m
      hostname: web-1
      networks:
        - {vlan: front, ip: 10.210.1.2, interface: eth0, mac: "02:42:0a:d2:01:02"}
      admin_user: cloudadmin
      ssh_public_keys: []
      labels: {role: web}
      state: running
      provider: docker
      id: 5b2f0a8c7e61
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import InfoModule


class InstanceInfoModule(InfoModule):
    kind = "instance"
    plural = "instances"

    def list_resources(self):
        return self.provider.list_instances()


def main():
    InstanceInfoModule().run()


if __name__ == "__main__":
    main()
