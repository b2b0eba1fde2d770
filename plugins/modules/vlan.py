#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vlan
short_description: Create and delete public and private VLANs
version_added: 0.1.0
description:
  - A VLAN is an isolated layer-2 segment with one IPv4 network, in one
    location (data center).
  - A C(public) VLAN routes out through the provider with outbound NAT. A
    C(private) VLAN has no route out, and no traffic passes between any two
    VLANs.
  - A cidr that overlaps another VLAN or a route of the host is refused.
    Deleting a VLAN that instances still use is refused and names them.
  - A VLAN's options are fixed once it exists; a request that changes one fails
    and names the field. A VLAN never moves between locations.
  - On the C(docker) provider a VLAN is the bridge network
    C(sciaas-vlan-<name>); a private one is C(internal). Docker's own address
    allocator is limited to the largest block outside the O(vip_range)
    (RV(vlan.automatic_range)); instances always get explicit addresses.
  - On the C(docker) provider the Docker host is outside every VLAN. Docker
    keeps bridge networks apart; in addition the nftables table
    C(inet secure_cloud_iaas_vlans) drops whatever enters the host from a
    private VLAN, and from a public VLAN whatever is not addressed to its
    gateway, so a guest that adds routes as root still reaches nothing. This
    needs root and C(nft) on the Docker host. For a remote O(docker_host) the
    table cannot be made from here (nor the host's routes read for the overlap
    check), so the task is refused unless O(accept_unenforced_isolation=true).
    A run that finds the table missing (after a restart of the host) restores
    it and reports a change.
  - A VLAN is ready when the provider has made it; there is nothing to wait
    for, so this module has no C(wait) option.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - Name of the VLAN, unique in the provider (not only in its location).
      - 1 to 40 lower-case letters, digits and hyphens, starting with a letter.
    type: str
    required: true
  location:
    description:
      - The location (data center) of the VLAN. Required to create one.
      - Must be in O(allowed_locations) when that policy is set.
    type: str
  type:
    description:
      - V(public) routes out with outbound NAT; V(private) has no route out.
      - Defaults to V(private) when the VLAN is created.
    type: str
    choices: [public, private]
  cidr:
    description:
      - The IPv4 network, in CIDR notation with its network address
        (V(10.210.1.0/24)), from /8 to /29. Required to create a VLAN.
    type: str
  gateway:
    description:
      - Gateway address inside O(cidr). Defaults to the first host address.
    type: str
  vip_range:
    description:
      - Sub-range of O(cidr) reserved for virtual IPs, never given to instances,
        as V(FIRST-LAST) or a CIDR. It may not hold the gateway.
      - Defaults to the top quarter of O(cidr) (V(10.210.1.192/26) for V(10.210.1.0/24)).
    type: str
  labels:
    description:
      - Free-form labels (string values) to find the VLAN by, with
        M(secure_cloud.iaas.vlan_info) for example. Fixed once the VLAN exists.
    type: dict
  state:
    description:
      - V(present) creates the VLAN if it is missing; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.isolation
  - secure_cloud.iaas.provider.attributes
seealso:
  - module: secure_cloud.iaas.vlan_info
  - module: secure_cloud.iaas.instance
"""

EXAMPLES = r"""
- name: Create a public VLAN in fra1 (gateway and vip_range take their defaults)
  secure_cloud.iaas.vlan:
    name: front
    location: fra1
    type: public
    cidr: 10.210.1.0/24

- name: Create a private VLAN with an explicit gateway and vip range
  secure_cloud.iaas.vlan:
    name: back
    location: fra1
    type: private
    cidr: 10.210.2.0/24
    gateway: 10.210.2.254
    vip_range: 10.210.2.200-10.210.2.250
    labels:
      tier: database

- name: Keep every resource in the EU data centers
  module_defaults:
    group/secure_cloud.iaas.iaas:
      allowed_locations: [fra1, ams1]
  secure_cloud.iaas.vlan:
    name: batch
    location: fra1
    cidr: 10.210.3.0/24

- name: Delete a VLAN (refused while instances use it)
  secure_cloud.iaas.vlan:
    name: batch
    state: absent
"""

RETURN = r"""
repaired:
  description:
    - What the provider enforces on the host that had drifted from the truth of the engine and
      its store (a flushed or edited table, ports renamed by a restart), and that this run put back
      (would put back, in check mode). Any resource module run does it, whatever its own resource.
  returned: when something had drifted
  type: list
  elements: str
  sample: ["vlan isolation table", "vip guard", "VPN routes"]
vlan:
  description: The VLAN as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the VLAN.
      type: str
      sample: front
    location:
      description: Location of the VLAN.
      type: str
      sample: fra1
    type:
      description: V(public) or V(private).
      type: str
      sample: public
    cidr:
      description: The network.
      type: str
      sample: 10.210.1.0/24
    gateway:
      description: The gateway address.
      type: str
      sample: 10.210.1.1
    vip_range:
      description: The range reserved for virtual IPs, as a CIDR when it is one, else V(FIRST-LAST).
      type: str
      sample: 10.210.1.192/26
    automatic_range:
      description: The block the platform's own allocator may use (outside the vip range).
      type: str
      sample: 10.210.1.0/25
    labels:
      description: The user's labels.
      type: dict
      sample: {tier: web}
    provider:
      description: The provider that holds it.
      type: str
      sample: docker
    id:
      description: The platform's identifier (null in check mode before creation).
      type: str
      sample: 3f6c0d9e2b1a
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import check_location_allowed
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import ResourceModule
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import (
    VLAN_ARGUMENT_SPEC,
    check_vlan_placement,
    check_vlan_request,
    desired_vlan,
    vlan_differences,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vpn_tunnel import tunnels_on_vlan


class VlanModule(ResourceModule):
    kind = "vlan"
    argument_spec = VLAN_ARGUMENT_SPEC
    # A vlan is there once the provider made it: nothing to wait for.
    waits = False
    isolation_option = True

    def validate(self):
        super(VlanModule, self).validate()
        check_vlan_request(self.params)

    def execute(self):
        params = self.params
        if params["state"] == "present":
            self.require_enforced("vlan_isolation", "keep this vlan apart from the host and other vlans")
        current = self.provider.get_vlan(params["name"])
        if params["state"] == "absent":
            return self.absent(current)
        if current:
            return self.present(current)
        desired = desired_vlan(params, self.provider.name)
        check_location_allowed(params, desired["location"])
        if self.check_mode:
            check_vlan_placement(desired, self.provider.list_vlans(), self.provider.reserved_networks())
            return self.set_resource(None, desired, True)
        # The overlap check and the creation run under one lock, so two runs at
        # once cannot both take the same range.
        with self.provider.transaction():
            check_vlan_placement(desired, self.provider.list_vlans(), self.provider.reserved_networks())
            after = self.provider.create_vlan(desired)
        self.set_resource(None, after, True)

    def present(self, current):
        params = self.params
        if params.get("location") and params["location"] != current["location"]:
            raise IaasError("vlan %s is in location %s; a resource never moves between locations"
                            % (current["name"], current["location"]), field="location",
                            fix="keep location %s, or create a vlan with another name in %s"
                                % (current["location"], params["location"]))
        differences = vlan_differences(current, params)
        if differences:
            field, have, want = differences[0]
            raise IaasError("vlan %s has %s, the request asks %s; a vlan cannot change once created%s"
                            % (current["name"], have, want,
                               " (also: %s)" % ", ".join(d[0] for d in differences[1:]) if differences[1:] else ""),
                            field=field,
                            fix="keep the current value, or delete the vlan (state: absent, after its instances) "
                                "and create it again")
        # The host-side isolation, if it drifted, is mended by every module run (ResourceModule.repair_host).
        self.set_resource(current, current, False)

    def absent(self, current):
        if not current:
            return self.set_resource(None, None, False)
        # Checked and deleted under one lock: nothing starts to use it in between.
        with self.provider.transaction():
            self.check_unused(current)
            if not self.check_mode:
                self.provider.delete_vlan(current)
        self.set_resource(current, None, True)

    def check_unused(self, current):
        """Refuse to delete a vlan that anything still uses, naming it and what to do."""
        name = current["name"]
        users = sorted(inst["name"] for inst in self.provider.list_instances(keys=False)
                       if any(net["vlan"] == name for net in inst["networks"]))
        if users:
            raise IaasError("vlan %s is still used by instances: %s" % (name, ", ".join(users)),
                            field="state", fix="delete those instances or take them off the vlan first")
        vips = sorted(v["name"] for v in self.provider.list_vips() if v["vlan"] == name)
        if vips:
            raise IaasError("vlan %s still holds vips: %s" % (name, ", ".join(vips)), field="state",
                            fix="delete those vips first (secure_cloud.iaas.vip, state: absent)")
        tunnels = self.provider.list_vpn_tunnels()
        users = sorted(set(tunnels_on_vlan(name, tunnels) + [t["name"] for t in tunnels if t["public_vlan"] == name]))
        if users:
            raise IaasError("vlan %s is still used by VPN tunnels: %s" % (name, ", ".join(users)),
                            field="state", fix="delete those tunnels (secure_cloud.iaas.vpn_tunnel, state: absent) or "
                                               "take the vlan out of their vlans first")


def main():
    VlanModule().run()


if __name__ == "__main__":
    main()
