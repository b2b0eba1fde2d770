#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vip_info
short_description: List virtual IPs and who holds them
version_added: 0.1.0
description:
  - Lists the vips of the provider, filtered by name, location and labels, in
    the same shape M(secure_cloud.iaas.vip) returns, with the holder read from
    the network.
  - Returns an empty list when nothing matches.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description: Only the vip of this name.
    type: str
  location:
    description: Only vips in this location.
    type: str
  labels:
    description: Only vips that carry all these labels with these values.
    type: dict
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.info_attributes
seealso:
  - module: secure_cloud.iaas.vip
"""

EXAMPLES = r"""
- name: Who holds the web vip now?
  secure_cloud.iaas.vip_info:
    name: web
  register: web

- name: Show it
  ansible.builtin.debug:
    msg: "{{ web.vips[0].address }} is on {{ web.vips[0].holder | default('nobody', true) }}"
"""

RETURN = r"""
vips:
  description: The matching vips, sorted by name, in the shape of M(secure_cloud.iaas.vip)'s RV(secure_cloud.iaas.vip#module:vip).
  returned: always
  type: list
  elements: dict
  sample:
    - name: web
      vlan: app
      location: fra1
      address: 10.210.2.192
      prefixlen: 24
      allowed_instances: [web-1, web-2]
      holder: web-1
      holders: [web-1]
      unauthorized_holders: []
      stored_holder: web-1
      labels: {}
      provider: docker
      id: web
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import InfoModule


class VipInfoModule(InfoModule):
    kind = "vip"
    plural = "vips"

    def list_resources(self):
        return self.provider.list_vips()


def main():
    VipInfoModule().run()


if __name__ == "__main__":
    main()
