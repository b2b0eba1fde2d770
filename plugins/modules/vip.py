#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vip
short_description: Reserve virtual IPs, say which instances may hold them, and move them
version_added: 0.1.0
description:
  - A virtual IP (vip) is an address in a VLAN's vip_range that several
    instances may hold, one at a time, so a service's address can move to a
    standby. The address is never given to an instance as its own.
  - The network enforces O(allowed_instances) - an instance that is not allowed
    and adds the address to itself gets no traffic and cannot disturb the holder.
  - Guests may configure their own interfaces, so keepalived inside an allowed
    instance can take the vip without any API call (see the
    P(secure_cloud.iaas.keepalived#role) role). O(holder) moves it through the API
    instead - make-before-break - the new holder gets the address and announces
    it with gratuitous ARP, then the old holder drops it.
  - The result reports the holder found on the network, and warns when that
    differs from the last holder set through this module.
  - Rules that leave no stray address - removing the current holder from
    O(allowed_instances) is refused unless the same task moves the vip
    (O(holder)); deleting a vip removes its address from every instance of the
    VLAN; deleting an instance that may hold a vip is refused and names the vips.
  - On the C(docker) provider the reservation is kept in the state store, the
    allow-list is an nftables bridge-family table on the Docker host, and
    moves enter the instances' network namespaces from the host. That needs the
    Docker engine on the host that runs the task, and root there.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - Name of the vip, unique in the provider.
    type: str
    required: true
  vlan:
    description:
      - The VLAN the vip lives on. Required to create one; fixed afterwards.
    type: str
  address:
    description:
      - The address, inside the VLAN's vip_range and used by no other vip.
      - Allocated from the vip_range (the lowest free address) when left out;
        fixed once the vip exists.
    type: str
  allowed_instances:
    description:
      - The instances that may hold the vip. Each must have a port on O(vlan).
      - Compared as a set; order does not matter.
    type: list
    elements: str
  holder:
    description:
      - The instance that should hold the vip now; it must be in O(allowed_instances).
      - V(null) releases the vip from every instance.
      - Left out, the holder stays whatever it is (for example what keepalived chose).
      - When the current holder runs keepalived (the C(secure_cloud.iaas.keepalived) role
        installs the hook C(/usr/local/lib/secure-cloud-iaas/vip-handover)), the move is a
        planned switchover; the holder gives way, VRRP hands the vip to this instance, and the
        old holder rejoins as the standby. This instance must be its keepalived partner.
      - A move cut short between the two (its controller killed) leaves the old holder out of
        the pair; the next run of this module for the vip brings it back as the standby, and
        reports it in RV(rejoined).
    type: raw
  labels:
    description:
      - Free-form labels (string values) to find the vip by.
    type: dict
  state:
    description:
      - V(present) reserves the vip; V(absent) removes its address from every
        instance and deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.wait
  - secure_cloud.iaas.provider.attributes
notes:
  - After a move (O(holder) set, or V(null) to release), O(wait=true) reads the
    network again, after the lock on the provider's records is released, until
    the new holder is the only allowed instance with the address (nobody, after
    a release), and fails naming who holds it when O(wait_timeout) passes. On
    the C(docker) provider the address is read in the instances' network
    namespaces; on C(openstack), which cannot see which guest answers ARP, the
    holder is the one set through the API. A run that moves nothing waits for
    nothing.
  - A planned switchover through keepalived's hand-over hook is bounded by its
    own 10 s whatever O(wait) says (the hook must rejoin the old holder).
seealso:
  - module: secure_cloud.iaas.vip_info
  - module: secure_cloud.iaas.instance
  - module: secure_cloud.iaas.vlan
"""

EXAMPLES = r"""
- name: Reserve a vip that web-1 and web-2 may hold, and give it to web-1
  secure_cloud.iaas.vip:
    name: web
    vlan: app
    allowed_instances: [web-1, web-2]
    holder: web-1
  register: web_vip

- name: Planned switchover to web-2 (make-before-break)
  secure_cloud.iaas.vip:
    name: web
    holder: web-2

- name: Let keepalived decide who holds it; only keep the allow-list
  secure_cloud.iaas.vip:
    name: web
    vlan: app
    address: 10.210.2.200
    allowed_instances: [web-1, web-2]

- name: Release the vip from every instance
  secure_cloud.iaas.vip:
    name: web
    holder: null

- name: Delete the vip (its address is removed everywhere first)
  secure_cloud.iaas.vip:
    name: web
    state: absent
"""

RETURN = r"""
rejoined:
  description:
    - Allowed instances that a move through the API had asked to give way (the keepalived
      hand-over hook) and that were still out, because that move was cut short (its controller
      killed between the two steps); this run brought them back as the standby (would, in check mode).
  returned: when any
  type: list
  elements: str
  sample: [web-1]
repaired:
  description:
    - What the provider enforces on the host that had drifted from the truth of the engine and
      its store (a flushed or edited table, ports renamed by a restart), and that this run put back
      (would put back, in check mode). Any resource module run does it, whatever its own resource.
  returned: when something had drifted
  type: list
  elements: str
  sample: ["vlan isolation table", "vip guard", "VPN routes"]
vip:
  description: The vip as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the vip.
      type: str
      sample: web
    vlan:
      description: The VLAN it lives on.
      type: str
      sample: app
    location:
      description: The VLAN's location.
      type: str
      sample: fra1
    address:
      description: The address.
      type: str
      sample: 10.210.2.192
    prefixlen:
      description: Prefix length of the VLAN's network, used when the address is added to an interface.
      type: int
      sample: 24
    allowed_instances:
      description: The instances that may hold it, sorted.
      type: list
      elements: str
      sample: [web-1, web-2]
    holder:
      description: The allowed instance that holds the address on the network now; null when none does, or several do.
      type: str
      sample: web-1
    holders:
      description: Every allowed instance that has the address (more than one only during a move or a split brain).
      type: list
      elements: str
      sample: [web-1]
    unauthorized_holders:
      description: Instances that added the address although they are not allowed; the network gives them no traffic.
      type: list
      elements: str
      sample: []
    stored_holder:
      description: The holder last set through this module (keepalived may have moved the vip since).
      type: str
      sample: web-1
    labels:
      description: The user's labels.
      type: dict
      sample: {}
    provider:
      description: The provider that holds it.
      type: str
      sample: docker
    id:
      description: The provider's identifier (null in check mode before creation).
      type: str
      sample: web
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils import poll
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import check_location_allowed
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import ResourceModule
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import (
    VIP_ARGUMENT_SPEC,
    check_vip_request,
    desired_vip,
    plan_update,
)

# How often a wait for the new holder reads the network again (a move takes well under a second).
WAIT_INTERVAL = 0.1


class VipModule(ResourceModule):
    kind = "vip"
    argument_spec = VIP_ARGUMENT_SPEC

    def validate(self):
        super(VipModule, self).validate()
        check_vip_request(self.params)

    def execute(self):
        params = self.params
        # "holder: null" (release) and a missing holder (leave it) are different
        # requests, and validation turns both into None: ask the raw arguments.
        self.holder_given = self.given("holder")
        # (before, holder) of a move this run made, waited for after the lock is released.
        self.moved = None
        with self.provider.transaction():
            current = self.provider.get_vip(params["name"])
            if params["state"] == "absent":
                return self.absent(current)
            if current:
                self.present(current)
            else:
                self.create()
        if self.moved and params["wait"]:
            before, holder = self.moved
            self.set_resource(before, self.wait_for_holder(params["name"], holder), True)

    def wait_for_holder(self, name, holder):
        """After a move: until the network shows HOLDER as the one holder of the vip (nobody, after a release)."""
        want = [holder] if holder else []
        timeout = self.params["wait_timeout"]

        def failure(vip):
            found = ", ".join(vip["holders"]) if vip and vip["holders"] else "nobody"
            return IaasError("vip %s is held by %s on the network, not by %s alone, after wait_timeout=%ss"
                             % (name, found, holder or "nobody", timeout), field="wait_timeout",
                             fix="check that %s is running with its interface on the vlan up (and keepalived there, if "
                                 "it runs), then run the task again; or raise wait_timeout, or set wait: false"
                                 % (holder or "every holder"))
        return poll.until(lambda: self.provider.get_vip(name), lambda vip: vip is not None and vip["holders"] == want,
                          timeout, failure, interval=WAIT_INTERVAL)

    def create(self):
        params = self.params
        desired = desired_vip(params, self.provider.list_vlans(), self.provider.list_instances(keys=False),
                              self.provider.list_vips(), self.provider.name)
        check_location_allowed(params, desired["location"])
        after = desired if self.check_mode else self.provider.create_vip(desired)
        if desired["holder"] and not self.check_mode:
            self.moved = (None, desired["holder"])
        self.set_resource(None, after, True)

    def present(self, current):
        # A move cut short leaves an allowed instance out of its pair, with nothing to plan: bring it back.
        rejoined = self.provider.rejoin_released(current, apply=not self.check_mode)
        if rejoined:
            self.result["rejoined"] = rejoined
        vlan = self.provider.get_vlan(current["vlan"])
        changes = plan_update(current, self.params, vlan, self.provider.list_instances(keys=False), self.holder_given)
        if not changes:
            self.warn_on_drift(current)
            return self.set_resource(current, current, bool(rejoined))
        if self.check_mode:
            after = dict(current, **changes)
            if "holder" in changes:
                after.update(holders=[changes["holder"]] if changes["holder"] else [], stored_holder=changes["holder"])
        else:
            after = self.provider.update_vip(current, changes)
            if "holder" in changes:
                self.moved = (current, changes["holder"])
        self.set_resource(current, after, True)

    def absent(self, current):
        if not current:
            return self.set_resource(None, None, False)
        if not self.check_mode:
            self.provider.delete_vip(current)
        self.set_resource(current, None, True)

    def warn_on_drift(self, vip):
        if len(vip["holders"]) > 1:
            self.module.warn("vip %s is held by several instances at once: %s" % (vip["name"], ", ".join(vip["holders"])))
        elif vip["stored_holder"] != vip["holder"]:
            found, stored = vip["holder"] or "nobody", vip["stored_holder"] or "nobody"
            self.module.warn("vip %s is held by %s on the network, not by %s as last set through the API "
                             "(keepalived or a guest moved it)" % (vip["name"], found, stored))


def main():
    VipModule().run()


if __name__ == "__main__":
    main()
