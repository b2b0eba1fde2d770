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
      - On C(docker), modules run as root on the engine's host; the first run
        there starts the collection's host agent (a systemd unit where the host
        runs systemd), which lets confined guests boot and keeps the vlan
        isolation and the vip guard in force between runs.
      - C(openstack) is an OpenStack cloud reached through openstacksdk (many
        hosts); see C(docs/openstack.md) for the mapping and what differs.
      - If not set, the environment variable E(SECURE_CLOUD_PROVIDER) is used.
    type: str
    default: docker
    choices: [docker, openstack]
  docker_host:
    description:
      - The Docker engine's API address, for O(provider=docker).
      - If not set, the environment variable E(DOCKER_HOST) is used, then
        C(unix:///var/run/docker.sock).
      - For an engine on another host, the host agent must run on that host
        (its guests wait to boot until it does).
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
      - With O(provider=docker) and the engine on this host, the records (vips,
        VPN tunnels) live in the engine's own store instead,
        C(/var/lib/secure-cloud-iaas/engines/<engine ID>), which every controller
        of that engine shares, so that what the host enforces follows every vip
        on the engine, whoever declared it; records an earlier version kept here
        move there on the first run. Generated pre-shared keys stay here.
      - If not set, the environment variable E(SECURE_CLOUD_STATE_DIR) is used.
    type: path
    default: ~/.local/state/secure_cloud_iaas
  cloud:
    description:
      - For O(provider=openstack) - the name of a cloud in C(clouds.yaml), which
        holds the credentials.
      - If not set, the environment variable E(OS_CLOUD) is used.
    type: str
  region_name:
    description:
      - For O(provider=openstack) - the region; a location is an availability
        zone of it.
      - If not set, the environment variable E(OS_REGION_NAME) is used, then the
        cloud's own C(region_name).
    type: str
  auth:
    description:
      - For O(provider=openstack) - credentials given directly instead of
        O(cloud) (C(auth_url), C(username), C(password), C(project_name), ...
        or an application credential). A secret - never logged or returned.
    type: dict
  auth_type:
    description:
      - For O(provider=openstack) with O(auth) - the keystoneauth plugin, for
        example C(v3applicationcredential); C(password) if not set.
    type: str
  availability_zones:
    description:
      - For O(provider=openstack) - the availability zone of each location,
        for example C(fra1) to C(nova); a location not listed is an availability
        zone of the same name.
    type: dict
  external_network:
    description:
      - For O(provider=openstack) - the cloud's external network. A public vlan
        gets a router to it and a public vip a floating IP from it; required
        for those.
      - If not set, the environment variable E(SECURE_CLOUD_EXTERNAL_NETWORK) is used.
    type: str
  provider_networks:
    description:
      - For O(provider=openstack) - vlans that are VLAN provider networks
        (admin only), by vlan name, each a dictionary with C(physical_network)
        and C(segmentation_id); the other vlans are tenant networks.
    type: dict
  flavors:
    description:
      - For O(provider=openstack) - the flavor of each instance type, for
        example C(small) to C(m1.tiny). An instance type not listed, or custom
        cpus/memory, gets the smallest flavor with at least that many vCPUs
        (rounded up) and that much memory.
    type: dict
  volume_types:
    description:
      - For O(provider=openstack) - the Cinder volume type of new volumes, a
        dictionary with C(encrypted) (the type for encrypted volumes)
        and C(unencrypted) (for unencrypted ones), for example C(encrypted)
        set to C(LUKS).
      - Without C(encrypted), the one type of the cloud whose encryption is
        set; Cinder shows a type's encryption to admins only, so a project
        member names the type. Without C(unencrypted), the cloud's default type.
      - A volume whose type turns out not to be what was asked for fails and is removed.
      - Cinder and Barbican keep an encrypted volume's key; no key file is made on the controller.
    type: dict
  admin_cidrs:
    description:
      - For O(provider=openstack) - networks allowed to reach SSH (TCP 22) on
        instances' public vlan ports (the vlan's security group).
    type: list
    elements: str
  public_ingress:
    description:
      - For O(provider=openstack) - further security group rules for public
        vlans, for example HTTP to a vip or IKE and ESP to a VPN gateway.
      - Traffic inside a vlan is always allowed (VRRP between a pair).
    type: list
    elements: dict
    suboptions:
      protocol:
        description: C(tcp), C(udp), C(icmp), C(esp) or a protocol number (C(112) is VRRP).
        type: str
        required: true
      port:
        description: The destination port (TCP and UDP); every port when left out.
        type: int
      remote_ip_prefix:
        description: Where the traffic may come from.
        type: str
        default: 0.0.0.0/0
requirements:
  - netaddr
  - docker (the Python SDK, for O(provider=docker))
  - openstacksdk (for O(provider=openstack))
"""

    # Options of mutating modules that have something to wait for (not vlan).
    WAIT = r"""
options:
  wait:
    description:
      - Wait until the change has taken effect before returning. What that is
        depends on the module - an instance is ready when systemd reports
        C(running) or C(degraded); a vip when its new holder has the address
        (or nobody, after a release); a VPN tunnel when it is established.
      - V(false) returns as soon as the provider has made the change.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true), at least 1. A timeout fails the task
        and names what it waited for; a new instance that does not boot in
        time is removed.
    type: int
    default: 180
"""

    # Modules whose guarantees a provider may be unable to keep from where the task runs.
    ISOLATION = r"""
options:
  accept_unenforced_isolation:
    description:
      - What keeps VLANs apart from each other and from the host (the
        nftables isolation table of the C(docker) provider) is made from the
        Docker engine's host. With a remote O(docker_host) the task cannot make
        it, and is refused, naming the option.
      - V(true) goes on without it, with a warning. The host agent, if it runs
        on the engine's host, still keeps the table there.
      - Makes no difference where the provider enforces isolation itself
        (a local engine, C(openstack)).
      - Only the vlan and instance modules take it, so set it on their tasks,
        not in the C(group/secure_cloud.iaas.iaas) C(module_defaults) group.
    type: bool
    default: false
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
    description:
      - The platform that holds the instances (see the modules' O(provider)).
      - For C(openstack) the cloud is the one O(cloud) names (or the E(OS_*)
        credentials), and hosts are reached over SSH as the admin user at their
        address on the first public vlan.
    type: str
    default: docker
    choices: [docker, openstack]
    env:
      - name: SECURE_CLOUD_PROVIDER
  cloud:
    description:
      - For O(provider=openstack), the cloud of C(clouds.yaml) that holds the
        instances (as the modules' C(cloud) names it). Without it openstacksdk
        reads the E(OS_*) credentials.
    type: str
    env:
      - name: OS_CLOUD
  region_name:
    description:
      - For O(provider=openstack), the region of O(cloud); defaults to the one its
        C(clouds.yaml) entry names.
    type: str
    env:
      - name: OS_REGION_NAME
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
  - openstacksdk (for O(provider=openstack))
"""
