# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker provider: one Docker engine is one cloud.

The contract (provider.py) carried out by the drivers of this package, each
given what it needs: engine.py (client, exec, files, the one way to make a
guest container), images.py (the catalog and its builds), vlans.py, instances.py, vips.py, vpn.py, volumes.py, and host/ for what
the host enforces (isolation table, vip guard, network namespaces, the agent).
Every object carries the label secure_cloud.iaas.managed=true.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import records
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import Engine, container_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import agent, agent_install
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.images import Images
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.instances import Instances
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.vips import Vips
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.vlans import Vlans
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.volumes import Volumes
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.vpn import Vpn
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import DEFAULT_DOCKER_HOST, Capabilities, Provider


class DockerProvider(Provider):
    name = "docker"

    def __init__(self, params, store, run_command=None):
        """STORE: the controller's own (state_dir); the records live in the engine's store
        (records.py), where this moves any the controller's still holds. None: the agent."""
        self.engine = Engine(params.get("docker_host"), params.get("docker_timeout"))
        engine_store = records.engine_store(self.engine, params.get("state_dir"))
        if store is not None and run_command is not None:
            records.adopt(engine_store, store)
        super(DockerProvider, self).__init__(params, engine_store, run_command=run_command)
        self.vlans = Vlans(self.engine, self.run_command)
        self.images = Images(self.engine, self.run_command)
        self.volumes = Volumes(self.engine, self.store, self.run_command)
        self.instances = Instances(self.engine, self.vlans, self.instances_changed, self.volumes.mounts_of)
        self.vips = Vips(self.engine, self.store, self.instances, self.run_command)
        self.vpn = Vpn(self.engine, self.store, self.vlans, self.instances, self.run_command, self.images)
        # The host agent keeps the guests booting and the host's tables on
        # between runs; where the engine is remote, it must run on that host.
        # (Not for a caller that cannot run host commands: the inventory plugin.)
        self._agent_started = bool(self.engine.is_local() and params.get("start_host_agent", True)
                                   and run_command is not None)
        if self._agent_started:
            agent_install.ensure_running(self.run_command, self.engine.docker_host)

    def capabilities(self):
        # The engine resizes a container in place and keys are a file. The
        # host-side tables (isolation, vip guard) are made from the engine's
        # host: a remote engine gets none from here.
        return Capabilities(mutable={"vlan": (), "instance": ("cpus", "memory", "ssh_public_keys")},
                            enforces=(("vip_allow_list", "vlan_isolation", "guest_confinement", "volume_follows_vip",
                                       "backup_schedule")
                                      if self.engine.is_local() else ()),
                            settles=agent.SETTLES if self._agent_started else 0.0)

    # -- what the host enforces follows the instances ----------------------------
    def instances_changed(self):
        """Ports came or went (veth names change on every start): the vip guard follows,
        and instances on vlans a VPN tunnel serves get their routes to its peer subnets.

        Only when vips or tunnels exist (or the guard is still loaded, so it forgets
        the instances removed after the last vip).
        """
        if self.vips.guard_needed():
            self.vips.sync_guard()
        # Routes to the peer subnets of VPN tunnels vanish with a restart.
        if self.store.list("vpn_tunnel"):
            self.vpn.sync_routes()

    def repair_host(self, apply=True):
        # Each table is compared with what the engine and its store say, and
        # rebuilt whole only when it differs (a flushed table, a hand edit, a
        # restart that renamed the ports).
        drifted = []
        if self.vlans.ensure_isolation(apply):
            drifted.append("vlan isolation table")
        drifted.extend(self.vips.repair(apply))
        drifted.extend(self.volumes.follow(apply))
        if self.store.list("vpn_tunnel"):
            if self.vpn.bridge_rules(apply):
                drifted.append("VPN bridge rules")
            if self.vpn.sync_routes(apply):
                drifted.append("VPN routes")
        return drifted

    # -- catalog and host facts ------------------------------------------------------
    def list_images(self):
        return self.images.list()

    def resolve_image(self, image):
        return self.images.resolve(image)

    def get_image(self, name):
        return self.images.get(name)

    def image_inputs(self, spec):
        return self.images.inputs(spec)

    def build_image(self, spec, inputs, timeout):
        return self.images.build(spec, inputs, timeout)

    def delete_image(self, current):
        self.images.delete(current)

    def reserved_networks(self):
        return self.vlans.reserved_networks()

    # -- vlan ---------------------------------------------------------------------------
    def list_vlans(self):
        return self.vlans.list()

    def create_vlan(self, spec):
        return self.vlans.create(spec)

    def ensure_isolation(self):
        """The isolation table alone (the agent's pass each second: it needs no store)."""
        return self.vlans.ensure_isolation()

    def delete_vlan(self, current):
        self.vlans.delete(current)

    def foreign_addresses(self):
        # Instances are counted from their own results; every other container
        # on a vlan (VPN gateways included) holds its address here.
        return self.vlans.foreign_addresses(self.instances.names())

    # -- instance -------------------------------------------------------------------------
    def list_instances(self, keys=True):
        return self.instances.list(keys)

    def get_instance(self, name):
        return self.instances.get(name)

    def interface_names(self, networks, vlans):
        return self.instances.interface_names(networks, vlans)

    def create_instance(self, spec, run, wait, timeout):
        # A failed create removes what it made (instances.create); a killed one leaves the row.
        # (The module holds the lock already: the address was planned under it.)
        with self.transaction():
            self.store.put(records.CREATING, spec["name"], dict(name=spec["name"], location=spec["location"]))
            try:
                return self.instances.create(spec, run, wait, timeout)
            finally:
                self.store.delete(records.CREATING, spec["name"])

    def discard_unfinished_instance(self, name, apply=True):
        # Read without the lock first: a run pays one read when there is nothing to discard. Under
        # the lock, a row is a create that was cut short (a live one holds the lock until it ends).
        if self.store.get(records.CREATING, name) is None:
            return False
        with self.transaction():
            if self.store.get(records.CREATING, name) is None:
                return False
            if apply:
                current = self.instances.get(name)
                if current:
                    self.instances.delete(current)
                self.store.delete(records.CREATING, name)
            return True

    def wait_instance(self, current, timeout):
        return self.instances.wait(current, timeout)

    def update_instance(self, current, changes):
        return self.instances.update(current, changes)

    def start_instance(self, current, wait, timeout):
        return self.instances.start(current, wait, timeout)

    def stop_instance(self, current, wait, timeout):
        return self.instances.stop(current, wait, timeout)

    def restart_instance(self, current, wait, timeout):
        return self.instances.restart(current, wait, timeout)

    def delete_instance(self, current):
        self.instances.delete(current)

    def connection_vars(self, instance):
        hostvars = dict(ansible_connection="community.docker.docker", ansible_host=container_name(instance["name"]))
        if self.engine.docker_host != DEFAULT_DOCKER_HOST:
            hostvars["ansible_docker_host"] = self.engine.docker_host
        return hostvars

    # -- vip -------------------------------------------------------------------------------
    def list_vips(self):
        return self.vips.list()

    def create_vip(self, spec):
        return self.vips.create(spec)

    def update_vip(self, current, changes):
        return self.vips.update(current, changes)

    def delete_vip(self, current):
        self.vips.delete(current)

    def rejoin_released(self, vip, apply=True):
        return self.vips.rejoin_released(vip, apply)

    # -- vpn_tunnel ---------------------------------------------------------------------------
    def list_vpn_tunnels(self):
        return self.vpn.list()

    def prepare_vpn_tunnel(self, tunnel):
        return tunnel, []

    def vpn_tunnel_record(self, name):
        return self.vpn.record(name)

    def plan_vpn_gateway(self, location, public_vlan, vlan_names):
        return self.vpn.plan_gateway(location, public_vlan, vlan_names)

    def prepare_vpn_gateway(self, location, public_vlan, vlan_names, timeout):
        if self.vpn.gateway_ready(location):
            return
        with self.transaction():
            self.vpn.make_gateway(location, public_vlan, vlan_names)
        try:
            self.vpn.ready_gateway(location, timeout)
        except BaseException:
            # Nothing half-made: a gateway no tunnel uses yet goes again.
            with self.transaction():
                self.vpn.remove_unused_gateway(location)
            raise

    def vpn_drift(self, tunnel):
        return self.vpn.drift(tunnel)

    def apply_vpn_tunnel(self, tunnel, secrets, record_extra, restart, timeout):
        return self.vpn.apply(tunnel, secrets, record_extra, restart, timeout)

    def wait_vpn_tunnel(self, name, timeout):
        return self.vpn.wait(name, timeout)

    def delete_vpn_tunnel(self, current, timeout):
        self.vpn.delete(current, timeout)

    # -- volume ---------------------------------------------------------------------------------
    def list_volumes(self):
        return self.volumes.list()

    def create_volume(self, spec, key_file, source, source_secret):
        return self.volumes.create(spec, key_file, source, source_secret)

    def update_volume(self, current, changes):
        return self.volumes.update(current, changes)

    def attach_volume(self, current, instance, mount_path):
        return self.volumes.attach(current, instance, mount_path)

    def detach_volume(self, current):
        return self.volumes.detach(current)

    def delete_volume(self, current):
        self.volumes.delete(current)

    def list_volume_snapshots(self):
        return self.volumes.list_snapshots()

    def snapshot_source(self, name):
        return self.volumes.snapshot_source(name)

    def create_volume_snapshot(self, spec, volume):
        return self.volumes.create_snapshot(spec, volume)

    def update_volume_snapshot(self, current, labels):
        return self.volumes.update_snapshot(current, labels)

    def delete_volume_snapshot(self, current):
        self.volumes.delete_snapshot(current)

    def list_volume_backups(self):
        return self.volumes.list_backups()

    def backup_source(self, name):
        return self.volumes.backup_source(name)

    def create_volume_backup(self, spec, volume, password_file):
        return self.volumes.create_backup(spec, volume, password_file)

    def update_volume_backup(self, current, labels):
        return self.volumes.update_backup(current, labels)

    def delete_volume_backup(self, current):
        self.volumes.delete_backup(current)
