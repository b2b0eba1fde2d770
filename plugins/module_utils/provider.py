# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider interface every resource module talks to, and provider selection.

A provider turns the abstract resources (vlan, instance; vip and vpn_tunnel
later) into a platform's objects. It is resource-oriented: for each kind,
``list_<kind>s``, ``get_<kind>``, ``create_<kind>``, ``update_<kind>`` and
``delete_<kind>``, taking and returning the plain result dicts that
``vlan.py`` and ``instance.py`` define. Validation, address allocation and
planning happen above it, once, for every provider; a provider only carries
out a fully specified request.

Modules never import a platform SDK: only a provider module does, and only
``get_provider`` imports a provider module.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import DEFAULT_STATE_DIR, StateStore

PROVIDERS = ("docker", "openstack")

# The provider options, shared by every resource module, _info module and the
# inventory plugin; documented once in the secure_cloud.iaas.provider doc fragment.
# (option, environment variable) pairs: AnsibleModule reads them through
# env_fallback, the inventory plugin through its own option doc.
PROVIDER_ENV = (
    ("provider", "SECURE_CLOUD_PROVIDER"),
    ("docker_host", "DOCKER_HOST"),
    ("docker_timeout", "DOCKER_TIMEOUT"),
    ("allowed_locations", "SECURE_CLOUD_ALLOWED_LOCATIONS"),
    ("state_dir", "SECURE_CLOUD_STATE_DIR"),
    ("cloud", "OS_CLOUD"),
    ("region_name", "OS_REGION_NAME"),
    ("external_network", "SECURE_CLOUD_EXTERNAL_NETWORK"),
)

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def provider_argument_spec():
    env = dict(PROVIDER_ENV)
    spec = dict(
        provider=dict(type="str", default="docker", choices=list(PROVIDERS)),
        docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST),
        docker_timeout=dict(type="int", default=60),
        allowed_locations=dict(type="list", elements="str"),
        state_dir=dict(type="path", default=DEFAULT_STATE_DIR),
        # openstack: the cloud comes from clouds.yaml (or explicit auth, a secret).
        cloud=dict(type="str"),
        region_name=dict(type="str"),
        auth=dict(type="dict", no_log=True),
        auth_type=dict(type="str"),
        availability_zones=dict(type="dict"),
        external_network=dict(type="str"),
        provider_networks=dict(type="dict"),
        flavors=dict(type="dict"),
        admin_cidrs=dict(type="list", elements="str"),
        public_ingress=dict(type="list", elements="dict", options=dict(
            protocol=dict(type="str", required=True),
            port=dict(type="int"),
            remote_ip_prefix=dict(type="str", default="0.0.0.0/0"),
        )),
    )
    for option, variable in env.items():
        spec[option]["fallback"] = (env_fallback, [variable])
    return spec


def check_location_allowed(params, location, field="location"):
    """Data residency: creating anything outside allowed_locations fails."""
    allowed = [loc.strip() for loc in (params.get("allowed_locations") or []) if loc and loc.strip()]
    if allowed and location not in allowed:
        raise IaasError("location %r is outside allowed_locations %s: the data-residency policy refuses it"
                        % (location, allowed), field=field,
                        fix="pick one of %s, or change the policy (allowed_locations / SECURE_CLOUD_ALLOWED_LOCATIONS)"
                        % ", ".join(allowed))


class Provider(object):
    """Abstract provider. Every method raises IaasError on failure.

    Result dicts follow the shapes in vlan.py (``vlan_result``) and instance.py
    (``instance_result``); ``id`` is the platform's own identifier.
    """

    name = None
    # Fields a provider can change in place on an existing resource; any other
    # difference is an immutable change (fails, or recreate: true).
    mutable_fields = {"vlan": (), "instance": ()}

    def __init__(self, params, store, run_command=None):
        self.params = params
        self.store = store
        self._run_command = run_command

    def run_command(self, argv, data=None):
        """Run a command on the host that runs the module: (rc, stdout, stderr).

        The module hands in AnsibleModule.run_command; a provider made without
        one (the inventory plugin) cannot run commands.
        """
        if self._run_command is None:
            raise IaasError("this caller cannot run host commands (%s)" % argv[0], field="provider",
                            fix="run the task through a secure_cloud.iaas module")
        return self._run_command(argv, data=data)

    # -- catalog --------------------------------------------------------
    def list_images(self):
        """[{name, reference, digest, id}] for every image of the catalog."""
        raise NotImplementedError

    def resolve_image(self, image):
        """The catalog entry for ``image`` (a catalog name or a reference); IaasError if unknown."""
        raise NotImplementedError

    # -- host facts -----------------------------------------------------
    def reserved_networks(self):
        """[(cidr, description)] a vlan may not overlap: routes of the host, other platform networks."""
        raise NotImplementedError

    # -- vlan -----------------------------------------------------------
    def list_vlans(self):
        raise NotImplementedError

    def get_vlan(self, name):
        for vlan in self.list_vlans():
            if vlan["name"] == name:
                return vlan
        return None

    def create_vlan(self, spec):
        """spec: a complete vlan dict (cidr, gateway, vip_range resolved); returns the result."""
        raise NotImplementedError

    def ensure_isolation(self, apply=True):
        """Whatever keeps vlans apart beyond the platform's own objects, brought in line.

        Returns True when something was (or, with apply=False, would be) changed.
        """
        return False

    def update_vlan(self, current, changes):
        raise IaasError("the %s provider cannot change a vlan in place" % self.name)

    def delete_vlan(self, current):
        raise NotImplementedError

    def foreign_addresses(self):
        """{vlan: {ip: holder}} held on vlans by anything that is not an instance."""
        return {}

    # -- instance -------------------------------------------------------
    def list_instances(self, keys=True):
        """Every instance of the collection. keys=False may leave ssh_public_keys empty:
        for callers that need only names and addresses (a file read per instance on
        the docker provider, which planning under the lock must not pay N times)."""
        raise NotImplementedError

    def get_instance(self, name):
        for inst in self.list_instances():
            if inst["name"] == name:
                return inst
        return None

    def interface_names(self, networks, vlans):
        """The guest's interface name for each entry of networks ([{vlan, ip}]), in that order.

        vlans: {name: vlan}. By default the order of networks: eth0, eth1, ...
        """
        return ["eth%d" % i for i in range(len(networks))]

    def create_instance(self, spec, run, wait, timeout):
        """spec: a complete instance dict (every network has its ip); run: start it.

        On any error nothing of the instance is left behind.
        """
        raise NotImplementedError

    def wait_instance(self, current, timeout):
        """Until the instance is ready (systemd running or degraded); IaasError on timeout."""
        raise NotImplementedError

    def update_instance(self, current, changes):
        """changes: {field: new value} for fields in mutable_fields['instance']."""
        raise NotImplementedError

    def start_instance(self, current, wait, timeout):
        raise NotImplementedError

    def stop_instance(self, current, wait, timeout):
        raise NotImplementedError

    def restart_instance(self, current, wait, timeout):
        raise NotImplementedError

    def delete_instance(self, current):
        raise NotImplementedError

    # -- vip (a provider without vips has none) ------------------------------
    def list_vips(self):
        return []

    # -- vpn_tunnel (a provider without tunnels has none) ---------------------
    def list_vpn_tunnels(self):
        """[vpn_tunnel result] (vpn_tunnel.py ``vpn_tunnel_result``), status read from the gateway."""
        return []

    def get_vpn_tunnel(self, name):
        return next((t for t in self.list_vpn_tunnels() if t["name"] == name), None)

    def prepare_vpn_tunnel(self, tunnel):
        """(tunnel as this provider carries it, [note for the user]); IaasError for what it cannot carry.

        Called before anything is compared or written (and in check mode), so
        a request the platform cannot express fails before any change.
        """
        return tunnel, []

    def vpn_tunnel_record(self, name):
        """The stored settings and secret fingerprint of a tunnel, or None."""
        return None

    def plan_vpn_gateway(self, location, public_vlan, vlan_names):
        """{vlan: address} the location's VPN gateway has or would get."""
        raise IaasError("the %s provider has no VPN tunnels" % self.name, field="provider")

    def vpn_drift(self, tunnel):
        """[reason] why an existing tunnel's platform objects are not in place; empty when they are."""
        return []

    def apply_vpn_tunnel(self, tunnel, secrets, record_extra, restart, timeout):
        """Create or update a tunnel (secrets: {psk} or {cacert, cert, key}, None to keep); the result."""
        raise IaasError("the %s provider has no VPN tunnels" % self.name, field="provider")

    def wait_vpn_tunnel(self, name, timeout):
        """Until established; IaasError naming what it waited for on timeout."""
        raise NotImplementedError

    def delete_vpn_tunnel(self, current, timeout):
        raise NotImplementedError

    # -- connection facts for the inventory ---------------------------------
    def connection_vars(self, instance):
        """Host variables that reach the instance (ansible_connection and friends)."""
        raise NotImplementedError


def get_provider(params, run_command=None):
    """The provider that ``params['provider']`` names, with its state store.

    run_command(argv, data=None) -> (rc, stdout, stderr) runs host commands
    (the module's AnsibleModule.run_command).
    """
    name = params.get("provider") or "docker"
    store = StateStore(params.get("state_dir") or DEFAULT_STATE_DIR)
    if name == "docker":
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.provider import DockerProvider
        return DockerProvider(params, store, run_command=run_command)
    if name == "openstack":
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider
        return OpenStackProvider(params, store, run_command=run_command)
    raise IaasError("unknown provider %r" % name, field="provider", fix="use one of: %s" % ", ".join(PROVIDERS))
