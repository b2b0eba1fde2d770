#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: instance
short_description: Provision instances from the image catalog on public and private VLANs
version_added: 0.1.0
description:
  - An instance is a machine from the image catalog in one location, with one
    address on each of its VLANs, an admin user with SSH keys, and CPU and
    memory limits.
  - Every VLAN of O(networks) must be in the instance's location. An address
    left out is allocated, the lowest free one outside the VLAN's vip_range.
  - The platform names the guest's interfaces and RV(instance.networks[].interface)
    reports each. On the C(docker) provider the engine attaches public VLANs
    first, then private ones, each group in order of the VLAN name (a public
    VLAN alone is always V(eth0)).
  - Changing an immutable field (O(image), O(image_digest), O(networks), an
    address, O(hostname), O(admin_user), O(labels)) fails and names the field,
    unless O(recreate=true). O(instance_type), O(cpus), O(memory) and
    O(ssh_public_keys) change in place. An instance never moves between
    locations, not even with O(recreate=true).
  - A failed creation leaves nothing behind. A creation cut short (its controller
    killed) leaves a half-made instance, without its admin user, say; on the C(docker)
    provider the next run of this module for it removes that and makes it anew,
    with a warning (the create keeps a row in the engine's state store until it ends).
  - On the C(docker) provider an instance is the container C(sciaas-<name>),
    with systemd as PID 1, confined as a tenant (no C(SYS_ADMIN), the engine's
    seccomp profile, its own cgroup namespace, a pids limit and the memory limit;
    C(NET_ADMIN), C(NET_RAW) and C(NET_BROADCAST) act on its own interfaces
    only, as root on a VM would), restarted with the engine unless stopped.
    The provider's host agent lets it boot at every start. Its
    default route goes through the gateway of the first public VLAN in
    O(networks); an instance on private VLANs only has none.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - Name of the instance, unique in the provider; also the default O(hostname).
      - 1 to 40 lower-case letters, digits and hyphens, starting with a letter.
    type: str
    required: true
  image:
    description:
      - Image from the local catalog, required to create an instance.
      - On the C(docker) provider the catalog is every image
        C(secure-cloud-iaas/instance:<name>) labelled
        C(secure_cloud.iaas.managed=true), named by its tag (V(debian12),
        V(debian13)) or its full reference, and every image labelled also
        C(secure_cloud.iaas.catalog=true), named by its full reference.
      - M(secure_cloud.iaas.image) builds catalog images (V(name=debian12), say)
        with the collection alone.
    type: str
  image_digest:
    description:
      - Pin the image to a digest (V(sha256:...), or V(sha512:...) for a Glance
        image hashed with sha512, as RV(instance.image_id) shows). Creation is
        refused when the catalog's image differs.
    type: str
  image_signature:
    description:
      - Path of a detached SSH signature over O(image_digest), checked against
        O(image_signing_key) before anything is created (check mode included).
      - The signed message is the digest string itself, without a newline, in the
        namespace C(secure-cloud-iaas-image), as
        C(printf %s sha256:... | ssh-keygen -Y sign -f signer -n secure-cloud-iaas-image > image.sig)
        makes it. Verified with C(ssh-keygen -Y verify) on the host that runs the module.
      - A signature that does not verify, or is missing while O(image_signing_key) is
        set, refuses the creation and names this field.
      - Checked when the instance is created or recreated; an existing instance is
        held to its digest by O(image_digest).
    type: path
  image_signing_key:
    description:
      - The public key the image signature must verify against, as an OpenSSH public
        key line (V(ssh-ed25519 AAAA...)) or the path of a file holding it.
      - When set, O(image_digest) and O(image_signature) are required.
    type: str
  location:
    description:
      - Location (data center) of the instance, required to create one. Must
        be in O(allowed_locations) when that policy is set.
    type: str
  instance_type:
    description:
      - Size of the instance. V(small) is 0.5 CPU and 512 MiB, V(medium) 1 CPU
        and 1 GiB, V(large) 2 CPUs and 4 GiB.
      - O(cpus) and O(memory) override its parts.
      - Defaults to V(small) when the instance is created.
    type: str
    choices: [large, medium, small]
  cpus:
    description: CPU limit, in CPUs (V(0.5) is half of one).
    type: float
  memory:
    description: Memory limit, like V(512m) or V(2g).
    type: str
  networks:
    description:
      - The VLANs of the instance, one address on each. Required to create an
        instance. The first public VLAN in this list carries the default route.
    type: list
    elements: dict
    suboptions:
      vlan:
        description: Name of a VLAN in the instance's location.
        type: str
        required: true
      ip:
        description:
          - The address on that VLAN, inside its cidr and outside its
            vip_range. Allocated when left out.
        type: str
  admin_user:
    description:
      - The admin user created in the instance, with passwordless sudo as on
        a cloud image. Defaults to V(cloudadmin).
    type: str
  ssh_public_keys:
    description:
      - OpenSSH public keys (the one-line contents of C(.pub) files) for the
        admin user's C(authorized_keys). Compared as a set; changed in place.
    type: list
    elements: str
  hostname:
    description: Hostname of the instance. Defaults to O(name).
    type: str
  labels:
    description:
      - Free-form labels (string values) to find the instance by, in
        M(secure_cloud.iaas.instance_info) and the inventory's O(ignore:keyed_groups).
    type: dict
  recreate:
    description:
      - Delete and create the instance again when an immutable field differs,
        instead of failing. Its data is lost.
    type: bool
    default: false
  state:
    description:
      - V(present) creates the instance (running) if it is missing and leaves
        the run state of an existing one alone.
      - V(running), V(stopped) and V(restarted) also set the run state;
        V(restarted) always restarts.
      - V(absent) deletes the instance; refused while it may hold a vip or has
        a volume attached (M(secure_cloud.iaas.volume)), naming them. A volume
        attached to an instance stays attached across its restarts.
    type: str
    choices: [present, running, stopped, restarted, absent]
    default: present
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.wait
  - secure_cloud.iaas.provider.isolation
  - secure_cloud.iaas.provider.attributes
notes:
  - O(wait=true) waits until systemd in the instance reports V(running) or
    V(degraded).
  - With a remote O(docker_host) on the C(docker) provider, nothing made from
    here keeps the instance's VLANs apart from the engine's host (the VLAN's
    isolation table); the task is refused unless
    O(accept_unenforced_isolation=true). Deleting (V(absent)) is never refused.
seealso:
  - module: secure_cloud.iaas.instance_info
  - module: secure_cloud.iaas.image
  - module: secure_cloud.iaas.vlan
  - plugin: secure_cloud.iaas.instances
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Create a web server on the public and the private VLAN
  secure_cloud.iaas.instance:
    name: web-1
    image: debian12
    location: fra1
    instance_type: small
    networks:
      - vlan: front            # public: eth0 and the default route, address allocated
      - vlan: back             # private: eth1
        ip: 10.210.2.10
    ssh_public_keys:
      - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
  register: web

- name: Create an instance only from a signed image digest
  secure_cloud.iaas.instance:
    name: signed-1
    image: debian12
    image_digest: "{{ web.instance.image_id }}"
    image_signature: files/debian12.sig
    image_signing_key: "{{ lookup('ansible.builtin.file', 'files/image-signer.pub') }}"
    location: fra1
    networks:
      - vlan: back

- name: Create a database server on the private VLAN only, with its image pinned
  secure_cloud.iaas.instance:
    name: db-1
    image: debian12
    image_digest: "{{ web.instance.image_id }}"
    location: fra1
    cpus: 1
    memory: 2g
    networks:
      - vlan: back

- name: Stop an instance
  secure_cloud.iaas.instance:
    name: db-1
    state: stopped

- name: Move web-1 to another address (a new instance, its data is lost)
  secure_cloud.iaas.instance:
    name: web-1
    networks:
      - vlan: front
        ip: 10.210.1.20
      - vlan: back
    recreate: true

- name: Delete an instance
  secure_cloud.iaas.instance:
    name: web-1
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
instance:
  description: The instance as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the instance.
      type: str
      sample: web-1
    location:
      description: Its location.
      type: str
      sample: fra1
    image:
      description: The catalog name of its image.
      type: str
      sample: debian12
    image_id:
      description: The digest of its image (what O(image_digest) pins).
      type: str
      sample: sha256:b2e3a333e2157681313b5a48ca06e44178a47878a8987eff4d59baba428c9dcb
    instance_type:
      description: V(small), V(medium), V(large), or V(custom) when O(cpus) or O(memory) differ from every type.
      type: str
      sample: small
    cpus:
      description: CPU limit.
      type: float
      sample: 0.5
    memory:
      description: Memory limit.
      type: str
      sample: 512m
    hostname:
      description: Hostname.
      type: str
      sample: web-1
    networks:
      description: One entry per VLAN, in the order of O(networks).
      type: list
      elements: dict
      contains:
        vlan:
          description: The VLAN.
          type: str
          sample: front
        ip:
          description: The address on it.
          type: str
          sample: 10.210.1.2
        interface:
          description: The interface in the instance.
          type: str
          sample: eth0
        mac:
          description: The interface's MAC address, when the platform knows it (a running Docker instance).
          type: str
          sample: "02:42:0a:d2:01:02"
    admin_user:
      description: The admin user.
      type: str
      sample: cloudadmin
    ssh_public_keys:
      description: The admin user's authorized public keys.
      type: list
      elements: str
      sample: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF admin@example"]
    labels:
      description: The user's labels.
      type: dict
      sample: {role: web}
    state:
      description: V(running) or V(stopped).
      type: str
      sample: running
    provider:
      description: The provider that holds it.
      type: str
      sample: docker
    id:
      description: The platform's identifier (null in check mode before creation).
      type: str
      sample: 5b2f0a8c7e61
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import (
    INSTANCE_ARGUMENT_SPEC,
    apply_changes,
    check_instance_request,
    desired_instance,
    instance_differences,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import check_location_allowed
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import volumes_of_instance
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import ResourceModule
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import instance_vips


class InstanceModule(ResourceModule):
    kind = "instance"
    argument_spec = INSTANCE_ARGUMENT_SPEC
    isolation_option = True

    def validate(self):
        super(InstanceModule, self).validate()
        check_instance_request(self.params)

    def execute(self):
        params = self.params
        if params["state"] != "absent":
            self.require_enforced("vlan_isolation", "keep this instance's vlans apart from the engine's host")
        # A create cut short (its controller killed) left a half-made instance, which would pass for
        # a finished one: it goes, and this run makes it anew (or, for absent, is done).
        discarded = self.provider.discard_unfinished_instance(params["name"], apply=not self.check_mode)
        if discarded:
            self.module.warn("instance %s was left half-made by a run that was cut short: %s"
                             % (params["name"], "it is made anew" if params["state"] != "absent" else "it is removed"))
        current = None if discarded else self.provider.get_instance(params["name"])
        self.execute_on(current)
        if discarded:
            self.result["changed"] = True

    def execute_on(self, current):
        params = self.params
        if params["state"] == "absent":
            return self.absent(current)
        if current is None:
            return self.create(params, before=None)
        if params.get("location") and params["location"] != current["location"]:
            raise IaasError("instance %s is in location %s; a resource never moves between locations"
                            % (current["name"], current["location"]), field="location",
                            fix="keep location %s, or delete the instance (state: absent) and create it in %s"
                                % (current["location"], params["location"]))
        immutable, mutable = instance_differences(current, params, self.provider)
        if immutable:
            if not params["recreate"]:
                field, have, want = immutable[0]
                others = [d[0] for d in immutable[1:]]
                raise IaasError("instance %s has %s, the request asks %s; it cannot change in place%s"
                                % (current["name"], have, want, " (also: %s)" % ", ".join(others) if others else ""),
                                field=field, fix="keep the current value, or set recreate: true to replace the "
                                                 "instance (its data is lost)")
            return self.create(self.recreate_params(current), before=current)
        self.reconcile(current, mutable)

    def recreate_params(self, current):
        """The request, with what it leaves out taken from the instance it replaces."""
        params = dict(self.params)
        for field in ("location", "image", "hostname", "admin_user", "ssh_public_keys", "labels", "cpus"):
            if params.get(field) is None:
                params[field] = current[field]
        if params.get("memory") is None and not params.get("instance_type"):
            params["memory"] = current["memory"]
        if params.get("networks") is None:
            params["networks"] = [dict(vlan=n["vlan"], ip=n["ip"]) for n in current["networks"]]
        else:
            # A vlan the instance keeps keeps its address unless the request names one.
            kept = dict((n["vlan"], n["ip"]) for n in current["networks"])
            params["networks"] = [dict(vlan=n["vlan"], ip=n.get("ip") or kept.get(n["vlan"]))
                                  for n in params["networks"]]
        if params.get("instance_type") and self.params.get("cpus") is None:
            params["cpus"] = None
        return params

    def plan(self, params, replacing=None):
        vlans = dict((v["name"], v) for v in self.provider.list_vlans())
        return desired_instance(params, self.provider, vlans, self.provider.list_instances(keys=False),
                                exclude=replacing)

    def create(self, params, before):
        check_location_allowed(self.params, params.get("location") or "")
        replacing = before["name"] if before else None
        run = params["state"] != "stopped"
        if self.check_mode:
            desired = self.plan(params, replacing)
            desired["state"] = "running" if run else "stopped"
            return self.set_resource(before, desired, True)
        # Planning (addresses) and creation run under one lock: two runs at
        # once never pick the same address. The boot is waited for after the
        # lock is released, so another run need not wait for it.
        with self.provider.transaction():
            desired = self.plan(params, replacing)
            if before:
                self.provider.delete_instance(before)
            after = self.provider.create_instance(desired, run=run, wait=False, timeout=self.params["wait_timeout"])
        if run and self.params["wait"]:
            try:
                after = self.provider.wait_instance(after, self.params["wait_timeout"])
            except BaseException:
                # A new instance that does not come up is not left half-made.
                self.provider.delete_instance(after)
                raise
        self.set_resource(before, after, True)

    def reconcile(self, current, mutable):
        state = self.params["state"]
        wait, timeout = self.params["wait"], self.params["wait_timeout"]
        after = apply_changes(current, mutable)
        action = None
        if state == "running" and current["state"] != "running":
            action, after["state"] = "start", "running"
        elif state == "stopped" and current["state"] != "stopped":
            action, after["state"] = "stop", "stopped"
        elif state == "restarted":
            action, after["state"] = "restart", "running"
        changed = bool(mutable) or action is not None
        if self.check_mode or not changed:
            return self.set_resource(current, after, changed)
        result = current
        if mutable:
            result = self.provider.update_instance(current, mutable)
        if action == "start":
            result = self.provider.start_instance(result, wait, timeout)
        elif action == "stop":
            result = self.provider.stop_instance(result, wait, timeout)
        elif action == "restart":
            result = self.provider.restart_instance(result, wait, timeout)
        self.set_resource(current, result, True)

    def absent(self, current):
        if current is None:
            return self.set_resource(None, None, False)
        vips = instance_vips(current["name"], self.provider.list_vips())
        if vips:
            raise IaasError("instance %s may hold vips: %s" % (current["name"], ", ".join(vips)), field="state",
                            fix="take it out of those vips' allowed_instances (secure_cloud.iaas.vip) first")
        volumes = volumes_of_instance(current["name"], self.provider.list_volumes())
        if volumes:
            raise IaasError("instance %s has volumes attached: %s" % (current["name"], ", ".join(volumes)), field="state",
                            fix="detach them first (secure_cloud.iaas.volume, instance: null); their data stays")
        if not self.check_mode:
            self.provider.delete_instance(current)
        self.set_resource(current, None, True)


def main():
    InstanceModule().run()


if __name__ == "__main__":
    main()
