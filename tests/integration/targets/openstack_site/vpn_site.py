# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VPN scenario through the provider: a VPNaaS site connection made, read back and removed.

python3 vpn_site.py PUBLIC_VLAN PRIVATE_VLAN PEER_ADDRESS (OS_CLOUD and
SECURE_CLOUD_EXTERNAL_NETWORK in the environment).
"""

from __future__ import annotations

import os
import secrets
import sys

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import (
    DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.proposals import neutron_policies
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import DEFAULT_STATE_DIR, StateStore


def main():
    public, private, peer = sys.argv[1:4]
    params = dict(cloud=os.environ["OS_CLOUD"], region_name=os.environ.get("OS_REGION_NAME"),
                  external_network=os.environ.get("SECURE_CLOUD_EXTERNAL_NETWORK"))
    provider = OpenStackProvider(params, StateStore(os.path.expanduser(DEFAULT_STATE_DIR)))
    sites = provider.vpn.sites
    if not sites.available():
        print("skipped: this cloud does not offer VPNaaS")
        return 0
    ike, ipsec, _notes = neutron_policies(dict(authentication="psk", ike_proposals=DEFAULT_IKE_PROPOSALS,
                                               esp_proposals=DEFAULT_ESP_PROPOSALS))
    try:
        site = sites.create_site(dict(name="it-dc", public_vlan=public, local_vlans=[private], peer_address=peer,
                                      peer_cidrs=["192.168.231.0/24"], psk=secrets.token_urlsafe(24), ike=ike,
                                      ipsec=ipsec))
        names = [t["name"] for t in provider.list_vpn_tunnels()]
        assert "it-dc" in names, names
        print("site connection %s: %s" % (site["id"], site["status"]))
    finally:
        sites.delete_site("it-dc")
    assert "it-dc" not in [t["name"] for t in provider.list_vpn_tunnels()]
    return 0


if __name__ == "__main__":
    sys.exit(main())
