#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vlan_info
short_description: List VLANs
version_added: 0.1.0
description:
  - Lists the VLANs of the provider, filtered by name, location and labels,
    in the same shape M(secure_cloud.iaas.vlan) returns.
  - Returns an empty list when nothing matches.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description: Only the VLAN of this name.
    type: str
  location:
    description: Only VLANs in this location.
    type: str
  labels:
    description: Only VLANs that carry all these labels with these values.
    type: dict
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.info_attributes
seealso:
  - module: secure_cloud.iaas.vlan
"""

EXAMPLES = r"""
- name: List the VLANs of fra1
  secure_cloud.iaas.vlan_info:
    location: fra1
  register: fra1_vlans

- name: Show their networks
  ansible.builtin.debug:
    msg: "{{ fra1_vlans.vlans | map(attribute='cidr') | list }}"

- name: Find the database VLANs
  secure_cloud.iaas.vlan_info:
    labels:
      tier: database
  register: db_vlans
"""

RETURN = r"""
vlans:
  description:
    - The matching VLANs, sorted by name; empty when none match.
    - Each has the shape of RV(secure_cloud.iaas.vlan#module:vlan).
  returned: always
  type: list
  elements: dict
  sample:
    - name: front
      location: fra1
      type: public
      cidr: 10.210.1.0/24
      gateway: 10.210.1.1
      vip_range: 10.210.1.192/26
      automatic_range: 10.210.1.0/25
      labels: {}
      provider: docker
      id: 3f6c0d9e2b1a
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import InfoModule


class VlanInfoModule(InfoModule):
    kind = "vlan"
    plural = "vlans"

    def list_resources(self):
        return self.provider.list_vlans()


def main():
    VlanInfoModule().run()


if __name__ == "__main__":
    main()
