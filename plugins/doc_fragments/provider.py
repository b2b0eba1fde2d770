# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The provider options of every module (module_utils/provider.py builds
    # the argument spec from the same names and environment variables).
    DOCUMENTATION = r"""
options:
  provider:
    description:
      - The platform that holds the resources.
      - C(docker) is the local Docker engine, one host as one cloud; see the
        collection README for how resources map onto Docker objects.
      - If not set, the environment variable E(SECURE_CLOUD_PROVIDER) is used.
    type: str
    default: docker
    choices: [docker]
  docker_host:
    description:
      - The Docker engine's API address, for O(provider=docker).
      - If not set, the environment variable E(DOCKER_HOST) is used, then
        C(unix:///var/run/docker.sock).
    type: str
    default: unix:///var/run/docker.sock
  docker_timeout:
    description:
      - Seconds to wait for one answer of the Docker API.
      - If not set, the environment variable E(DOCKER_TIMEOUT) is used.
    type: int
    default: 60
  allowed_locations:
    description:
      - The data-residency policy. A request to create anything in a location
        outside this list fails and names the policy; existing resources are
        still read and may be deleted.
      - Empty or unset allows every location.
      - If not set, the environment variable E(SECURE_CLOUD_ALLOWED_LOCATIONS)
        (comma-separated) is used.
      - Set it once for every module with the C(group/secure_cloud.iaas.iaas)
        C(module_defaults) group.
    type: list
    elements: str
  state_dir:
    description:
      - Directory of the state store (SQLite, with a file lock), for state the
        platform cannot hold itself and to serialise playbooks that run at
        once. Created private to its owner (mode 0700).
      - If not set, the environment variable E(SECURE_CLOUD_STATE_DIR) is used.
    type: path
    default: ~/.local/state/secure_cloud_iaas
requirements:
  - netaddr
  - docker (the Python SDK, for O(provider=docker))
"""

    # Options of mutating modules.
    WAIT = r"""
options:
  wait:
    description:
      - Wait until the resource is ready before returning; an instance is
        ready when systemd reports C(running) or C(degraded).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true). A timeout fails the task and names
        what it waited for; a new resource that does not become ready is removed.
    type: int
    default: 180
"""

    # The attributes of every mutating module.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Returns the resource as it would be; creates, changes and deletes nothing.
  diff_mode:
    support: full
    description: Shows the resource before and after.
  idempotent:
    support: full
    description: A second run with the same options changes nothing; only the options a user set are compared.
  action_group:
    support: full
    description: In the C(secure_cloud.iaas.iaas) group, for C(module_defaults).
    membership:
      - secure_cloud.iaas.iaas
"""

    # The attributes of every _info module.
    INFO_ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: N/A
    description: Changes nothing, so there is no diff.
  idempotent:
    support: full
    description: Reads only.
  action_group:
    support: full
    description: In the C(secure_cloud.iaas.iaas) group, for C(module_defaults).
    membership:
      - secure_cloud.iaas.iaas
"""

    # The same provider options for the inventory plugin, with their
    # environment variables.
    INVENTORY = r"""
options:
  provider:
    description: The platform that holds the instances (see the modules' O(provider)).
    type: str
    default: docker
    choices: [docker]
    env:
      - name: SECURE_CLOUD_PROVIDER
  docker_host:
    description: The Docker engine's API address, for O(provider=docker).
    type: str
    default: unix:///var/run/docker.sock
    env:
      - name: DOCKER_HOST
  docker_timeout:
    description: Seconds to wait for one answer of the Docker API.
    type: int
    default: 60
    env:
      - name: DOCKER_TIMEOUT
  state_dir:
    description: Directory of the state store.
    type: path
    default: ~/.local/state/secure_cloud_iaas
    env:
      - name: SECURE_CLOUD_STATE_DIR
requirements:
  - netaddr
  - docker (the Python SDK, for O(provider=docker))
"""
