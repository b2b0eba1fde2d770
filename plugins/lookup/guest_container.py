# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: guest_container
short_description: The options of community.docker.docker_container that make a container a confined guest
version_added: 0.1.0
description:
  - Returns one dictionary of C(community.docker.docker_container) options, the same
    confinement the docker provider gives its instances and VPN gateways (no
    C(SYS_ADMIN), the engine's seccomp profile, a private cgroup namespace, a pids
    and a memory limit, only the devices allowed), and the label by which the host
    agent lets the container boot (it waits at its entrypoint until then).
  - Use it for containers a playbook makes by hand that stand for a machine, as
    C(playbooks/site/customer_site.yml) does for the demo's customer site.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  memory:
    description: Memory limit, in mebibytes.
    type: int
    default: 512
  capabilities:
    description: Capabilities beyond the engine's defaults; only C(NET_ADMIN), C(NET_RAW) and C(NET_BROADCAST) are allowed.
    type: list
    elements: str
    default: [NET_ADMIN, NET_RAW]
  devices:
    description: Host devices to give; only C(/dev/net/tun) is allowed.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: A customer gateway, confined like every guest
  community.docker.docker_container:
    name: custgw
    image: secure-cloud-iaas/instance:debian12
    entrypoint: "{{ guest.entrypoint }}"
    command: "{{ guest.command }}"
    env: "{{ guest.env }}"
    capabilities: "{{ guest.capabilities }}"
    cap_drop: "{{ guest.cap_drop }}"
    cgroupns_mode: "{{ guest.cgroupns_mode }}"
    devices: "{{ guest.devices }}"
    tmpfs: "{{ guest.tmpfs }}"
    memory: "{{ guest.memory }}"
    memory_swap: "{{ guest.memory_swap }}"
    pids_limit: "{{ guest.pids_limit }}"
    labels: "{{ guest.labels }}"
  vars:
    guest: "{{ lookup('secure_cloud.iaas.guest_container', devices=['/dev/net/tun']) }}"
"""

RETURN = r"""
_raw:
  description: One dictionary of C(community.docker.docker_container) options.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        memory = self.get_option("memory") * 1024 * 1024
        try:
            sdk = guest.create_options(memory, tuple(self.get_option("capabilities")),
                                       devices=tuple(self.get_option("devices")))
        except IaasError as exc:
            raise AnsibleError(str(exc))
        return [dict(
            entrypoint=sdk["entrypoint"], command=sdk["command"], env=sdk["environment"],
            capabilities=sdk["cap_add"], cap_drop=sdk["cap_drop"], cgroupns_mode=sdk["cgroupns"],
            devices=sdk["devices"], tmpfs=["%s" % path for path in sorted(sdk["tmpfs"])],
            memory=str(sdk["mem_limit"]), memory_swap=str(sdk["memswap_limit"]), pids_limit=sdk["pids_limit"],
            labels={guest.GUEST_LABEL: "true"},
        )]
