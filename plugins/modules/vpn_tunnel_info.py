#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpn_tunnel_info
short_description: List site-to-site IPsec tunnels and their status
version_added: 0.1.0
description:
  - Lists the VPN tunnels of the provider, filtered by name, location and labels,
    in the same shape M(secure_cloud.iaas.vpn_tunnel) returns, with the status
    (C(configured), C(connecting), C(established)) read from the gateway now.
  - Never returns a secret. Returns an empty list when nothing matches.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description: Only the tunnel of this name.
    type: str
  location:
    description: Only tunnels in this location.
    type: str
  labels:
    description: Only tunnels that carry all these labels with these values.
    type: dict
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.info_attributes
seealso:
  - module: secure_cloud.iaas.vpn_tunnel
"""

EXAMPLES = r"""
- name: Is the office tunnel up?
  secure_cloud.iaas.vpn_tunnel_info:
    name: office
  register: office

- name: Show its status and the address the customer gateway must use
  ansible.builtin.debug:
    msg: "{{ office.vpn_tunnels[0].status }} via {{ office.vpn_tunnels[0].gateway_address }}"
"""

RETURN = r"""
vpn_tunnels:
  description: The matching tunnels, sorted by name, in the shape of M(secure_cloud.iaas.vpn_tunnel)'s RV(secure_cloud.iaas.vpn_tunnel#module:vpn_tunnel).
  returned: always
  type: list
  elements: dict
  sample:
    - name: office
      location: fra1
      vlans: [app]
      public_vlan: public
      local_subnets: [10.210.2.0/24]
      peer_address: 198.51.100.7
      peer_subnets: [10.1.0.0/24]
      authentication: psk
      local_id: 10.210.0.3
      remote_id: 198.51.100.7
      ike_proposals: [aes256gcm16-prfsha384-ecp384]
      esp_proposals: [aes256gcm16-ecp384]
      dpd_delay: 2
      status: established
      gateway_address: 10.210.0.3
      gateway_addresses: {public: 10.210.0.3, app: 10.210.2.3}
      backend: libipsec
      psk_file: /root/.local/state/secure_cloud_iaas/vpn/office.psk
      labels: {}
      provider: docker
      id: office
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import InfoModule


class VpnTunnelInfoModule(InfoModule):
    kind = "vpn_tunnel"
    plural = "vpn_tunnels"

    def list_resources(self):
        return self.provider.list_vpn_tunnels()


def main():
    VpnTunnelInfoModule().run()


if __name__ == "__main__":
    main()
