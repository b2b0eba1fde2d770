# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider contract every resource module talks to, the common provider options, and provider selection.

A provider turns the abstract resources (vlan, instance, vip, vpn_tunnel)
into a platform's objects. It is resource-oriented: for each kind,
``list_<kind>s``, ``get_<kind>``, ``create_<kind>``, ``update_<kind>`` and
``delete_<kind>``, taking and returning the plain result dicts that model/
defines. Validation, address allocation and planning happen above it, in
model/, once for every provider; a provider only carries out a fully
specified request. ``Provider`` declares every operation a module or plugin
calls; ``capabilities()`` tells the planners what the platform can change in
place. How to add a provider: docs/architecture.md.

Modules never import a platform SDK: only a provider package does, and only
``get_provider`` imports a provider package.
"""

from __future__ import annotations

import abc
import contextlib

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
        volume_types=dict(type="dict"),
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


class Capabilities(object):
    """What a provider can do beyond the common contract; planners read it instead of lists of their own.

    mutable: {kind: fields that change in place on an existing resource}; any
    other difference is an immutable change (it fails, or needs recreate).
    enforces: what the platform itself keeps true (for reports and docs):
    ``vip_allow_list`` (only allowed instances get a vip's traffic),
    ``vlan_isolation`` (vlans cannot reach each other or the host),
    ``guest_confinement`` (root in a guest stays in the guest),
    ``volume_follows_vip`` (a volume moves to whoever holds a vip, fenced),
    ``backup_schedule`` (a volume's daily backups are taken and pruned without a playbook run).
    settles: seconds within which the platform's own keeper (the docker host
    agent) mends what an event drifts (a restarted instance's renamed port); a
    module run that finds drift gives it that long before it mends it and
    reports it, so another run's restart is not reported as this run's change.
    platform_keys: the platform keeps volume and backup keys itself (Cinder with
    Barbican); else the collection generates them into key files.
    """

    def __init__(self, mutable, enforces=(), settles=0.0, platform_keys=False):
        self.mutable = dict((kind, tuple(fields)) for kind, fields in mutable.items())
        self.enforces = frozenset(enforces)
        self.settles = settles
        self.platform_keys = platform_keys

    def can_change(self, kind, field):
        return field in self.mutable.get(kind, ())


class Provider(abc.ABC):
    """The one contract between the modules (and the inventory plugin) and a platform.

    Every method raises IaasError on failure. Results follow the shapes of
    model/ (``vlan_result``, ``instance_result``, ``vip_result``,
    ``vpn_tunnel_result``); ``id`` is the platform's own identifier. A module
    calls nothing that is not declared here.
    """

    name = None

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

    @contextlib.contextmanager
    def transaction(self):
        """Held while a module reads, plans and writes, so two runs at once never
        plan with the same free address or the same reservation. The only lock a
        module takes; never held across a package install or a wait for a boot."""
        with self.store.lock():
            yield self

    @abc.abstractmethod
    def capabilities(self):
        """This provider's Capabilities."""

    # -- catalog --------------------------------------------------------
    @abc.abstractmethod
    def list_images(self):
        """[image result] (model/image.py: name, reference, id, digests, inputs, ...) for every image of the catalog."""

    @abc.abstractmethod
    def resolve_image(self, image):
        """The catalog entry for ``image`` (a catalog name or a reference); IaasError if unknown."""

    def get_image(self, name):
        """The catalog image NAME or None (derived from list_images)."""
        return next((i for i in self.list_images() if i["name"] == name), None)

    @abc.abstractmethod
    def image_inputs(self, spec):
        """What the image SPEC (model/image.py desired_image) would be built from, as a string: an image whose
        ``inputs`` equal it is current. IaasError for a request this platform cannot build (before any change)."""

    @abc.abstractmethod
    def build_image(self, spec, inputs, timeout):
        """Build or import the catalog image SPEC, labelled with INPUTS, within TIMEOUT seconds; the image result."""

    @abc.abstractmethod
    def delete_image(self, current):
        """Remove the catalog image; IaasError naming the instances that still use it."""

    # -- host facts -----------------------------------------------------
    @abc.abstractmethod
    def reserved_networks(self):
        """[(cidr, description)] a vlan may not overlap: routes of the host, other platform networks."""

    # -- vlan -----------------------------------------------------------
    @abc.abstractmethod
    def list_vlans(self):
        """[vlan result], sorted by name."""

    def get_vlan(self, name):
        """The vlan NAME or None (derived from list_vlans)."""
        return next((v for v in self.list_vlans() if v["name"] == name), None)

    @abc.abstractmethod
    def create_vlan(self, spec):
        """spec: a complete vlan dict (cidr, gateway, vip_range resolved); returns the result."""

    @abc.abstractmethod
    def repair_host(self, apply=True):
        """What the provider enforces beyond the platform's own objects (tables that keep vlans apart,
        the vip guard, VPN routes), compared with the platform's truth and rebuilt where it drifted.

        Returns [what had drifted], empty when all was in place; apply=False only looks.
        Every resource module run calls it under transaction().
        """

    @abc.abstractmethod
    def delete_vlan(self, current):
        """Remove the vlan; the module has checked that nothing uses it."""

    @abc.abstractmethod
    def foreign_addresses(self):
        """{vlan: {ip: holder}} held on vlans by anything that is not an instance."""

    # -- instance -------------------------------------------------------
    @abc.abstractmethod
    def list_instances(self, keys=True):
        """Every instance of the collection. keys=False may leave ssh_public_keys empty:
        for callers that need only names and addresses (a file read per instance on
        the docker provider, which planning under the lock must not pay N times)."""

    def get_instance(self, name):
        """The instance NAME or None (derived from list_instances; a provider may look it up directly)."""
        return next((i for i in self.list_instances() if i["name"] == name), None)

    @abc.abstractmethod
    def interface_names(self, networks, vlans):
        """The guest's interface name for each entry of networks ([{vlan, ip}]), in that order; vlans: {name: vlan}."""

    @abc.abstractmethod
    def create_instance(self, spec, run, wait, timeout):
        """spec: a complete instance dict (every network has its ip); run: start it.

        On any error nothing of the instance is left behind.
        """

    def discard_unfinished_instance(self, name, apply=True):
        """An instance NAME whose create was cut short (its controller killed before the create
        ended, so nothing removed it) is removed with all of it (unless not APPLY), for the run to
        make it anew. True when there was one. Only a provider that can tell a create cut short from
        a finished one finds any (the docker provider: its create keeps a row until it ends)."""
        return False

    @abc.abstractmethod
    def wait_instance(self, current, timeout):
        """Until the instance is ready (systemd running or degraded); IaasError on timeout."""

    @abc.abstractmethod
    def update_instance(self, current, changes):
        """changes: {field: new value}, fields that capabilities() says change in place."""

    @abc.abstractmethod
    def start_instance(self, current, wait, timeout):
        """Start it; the instance as it is then."""

    @abc.abstractmethod
    def stop_instance(self, current, wait, timeout):
        """Stop it; the instance as it is then."""

    @abc.abstractmethod
    def restart_instance(self, current, wait, timeout):
        """Restart it; the instance as it is then."""

    @abc.abstractmethod
    def delete_instance(self, current):
        """Remove it and everything that was its own (ports, volumes of the container)."""

    @abc.abstractmethod
    def connection_vars(self, instance):
        """Host variables that reach the instance (ansible_connection and friends), for the inventory."""

    # -- vip ------------------------------------------------------------
    @abc.abstractmethod
    def list_vips(self):
        """[vip result]; holder read from the network, not from a record."""

    def get_vip(self, name):
        """The vip NAME or None (derived from list_vips)."""
        return next((v for v in self.list_vips() if v["name"] == name), None)

    @abc.abstractmethod
    def create_vip(self, spec):
        """Reserve spec's address for spec's allowed instances (and give it to spec's holder, if any)."""

    @abc.abstractmethod
    def update_vip(self, current, changes):
        """changes: {allowed_instances, holder, labels}; a holder change is make-before-break."""

    @abc.abstractmethod
    def delete_vip(self, current):
        """The address leaves every instance of the vlan, then the reservation goes."""

    def rejoin_released(self, vip, apply=True):
        """[name] of VIP's allowed instances that a move through the API asked to give way and that are
        still out, because that move was cut short (its controller killed between asking and the
        rejoin); brought back as the standby unless not APPLY. Called under transaction(), where no
        move is under way. A provider whose moves never ask a guest to give way has none."""
        return []

    # -- vpn_tunnel -----------------------------------------------------
    @abc.abstractmethod
    def list_vpn_tunnels(self):
        """[vpn_tunnel result], status read from the platform."""

    def get_vpn_tunnel(self, name):
        """The tunnel NAME or None (derived from list_vpn_tunnels)."""
        return next((t for t in self.list_vpn_tunnels() if t["name"] == name), None)

    @abc.abstractmethod
    def prepare_vpn_tunnel(self, tunnel):
        """(tunnel as this provider carries it, [note for the user]); IaasError for what it cannot carry.

        Called before anything is compared or written (and in check mode), so
        a request the platform cannot express fails before any change.
        """

    @abc.abstractmethod
    def vpn_tunnel_record(self, name):
        """The stored settings and secret fingerprint of a tunnel, or None."""

    @abc.abstractmethod
    def plan_vpn_gateway(self, location, public_vlan, vlan_names):
        """{vlan: address} the location's VPN gateway has or would get."""

    @abc.abstractmethod
    def prepare_vpn_gateway(self, location, public_vlan, vlan_names, timeout):
        """Have the location's VPN gateway made and ready to carry tunnels (on docker: a guest booted with
        strongSwan installed, a minute or more). Called outside the transaction; takes it only as long as it
        reserves the gateway's addresses."""

    @abc.abstractmethod
    def vpn_drift(self, tunnel):
        """[reason] why an existing tunnel's platform objects are not in place; empty when they are."""

    @abc.abstractmethod
    def apply_vpn_tunnel(self, tunnel, secrets, record_extra, restart, timeout):
        """Create or update a tunnel (secrets: {psk} or {cacert, cert, key}, None to keep); the result."""

    @abc.abstractmethod
    def wait_vpn_tunnel(self, name, timeout):
        """Until established; IaasError naming what it waited for on timeout."""

    @abc.abstractmethod
    def delete_vpn_tunnel(self, current, timeout):
        """Remove the tunnel (and the location's gateway with its last tunnel)."""

    # -- volume (model/volume.py) --------------------------------------------------
    @abc.abstractmethod
    def list_volumes(self):
        """[volume result], sorted by name; ``instance``/``mount_path`` say where it is attached."""

    def get_volume(self, name):
        """The volume NAME or None (derived from list_volumes)."""
        return next((v for v in self.list_volumes() if v["name"] == name), None)

    @abc.abstractmethod
    def create_volume(self, spec, key_file, source, source_secret):
        """Make spec's volume (model/volume.py desired_volume), encrypted with the key in KEY_FILE when
        spec asks (a platform that keeps keys itself may ignore it); from SOURCE (a snapshot_source or
        backup_source, else None; SOURCE_SECRET: the backup's password file); attached to
        spec['instance'] at spec['mount_path'] when it names one. On any error nothing of it is left."""

    @abc.abstractmethod
    def update_volume(self, current, changes):
        """changes: {size (larger, while attached too), labels}; the result."""

    @abc.abstractmethod
    def attach_volume(self, current, instance, mount_path):
        """Attach the detached volume to INSTANCE (running or not) at MOUNT_PATH; it stays attached across
        the instance's restarts."""

    @abc.abstractmethod
    def detach_volume(self, current):
        """Take it out of its instance; ProviderError (nothing changed) while something there uses it."""

    @abc.abstractmethod
    def delete_volume(self, current):
        """Remove the detached volume and its data."""

    @abc.abstractmethod
    def list_volume_snapshots(self):
        """[snapshot result], sorted by name."""

    @abc.abstractmethod
    def snapshot_source(self, name):
        """The snapshot NAME as create_volume takes it as a source: its result with kind='snapshot'."""

    @abc.abstractmethod
    def create_volume_snapshot(self, spec, volume):
        """A point-in-time copy of VOLUME in its location; spec: {name, labels}."""

    @abc.abstractmethod
    def update_volume_snapshot(self, current, labels):
        """New labels; the result."""

    @abc.abstractmethod
    def delete_volume_snapshot(self, current):
        """Remove the snapshot."""

    @abc.abstractmethod
    def list_volume_backups(self):
        """[backup result], sorted by name."""

    @abc.abstractmethod
    def backup_source(self, name):
        """The backup NAME as create_volume takes it as a source: its result with kind='backup'."""

    @abc.abstractmethod
    def create_volume_backup(self, spec, volume, password_file):
        """An encrypted, deduplicated backup of VOLUME into spec['location'] (a backup location); spec:
        {name, location, labels}; PASSWORD_FILE: the location's repository password (a platform that
        keeps keys itself may ignore it)."""

    @abc.abstractmethod
    def update_volume_backup(self, current, labels):
        """New labels; the result."""

    @abc.abstractmethod
    def delete_volume_backup(self, current):
        """Remove the backup (what later backups still share stays)."""


def get_provider(params, run_command=None):
    """The provider that ``params['provider']`` names, with its state store.

    run_command(argv, data=None) -> (rc, stdout, stderr) runs host commands
    (the module's AnsibleModule.run_command).
    """
    # The one place that imports a provider, and only the one asked for:
    # importing the other's SDK too would cost every module run 0.2 s.
    name = params.get("provider") or "docker"
    store = StateStore(params.get("state_dir") or DEFAULT_STATE_DIR)
    if name == "docker":
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.provider import DockerProvider
        return DockerProvider(params, store, run_command=run_command)
    if name == "openstack":
        from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider
        return OpenStackProvider(params, store, run_command=run_command)
    raise IaasError("unknown provider %r" % name, field="provider", fix="use one of: %s" % ", ".join(PROVIDERS))
