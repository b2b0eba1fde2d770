# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openstack provider: a cloud reached through openstacksdk, as a set of drivers.

Each driver is given what it needs when it is made; the provider makes them
in dependency order and implements the contract by handing each operation
to the driver that owns it:

- conn.py       Connection: sign-in, the error mapping, the shared read cache;
                names, tags and metadata of the collection's objects
- catalog.py    Catalog: Glance images, the flavor that fits (Connection)
- vlans.py      Vlans: networks, subnets, security groups, routers; locations
                as availability zones (Connection)
- vips.py       Vips: vip ports, allowed address pairs, floating IPs (Connection, Vlans)
- instances.py  Instances: servers, their ports, keypairs (Connection, Vlans, Catalog, Vips)
- volumes.py    Volumes: Cinder volumes, snapshots, backups; Nova volume
                attachments (Connection, Vlans, Instances)
- vpn/          VPNaaS: proposals.py (policy mapping, pure), routing.py
                VpnRouting (Connection, Vlans, Instances), sites.py VpnSites
                (Connection, Vlans, VpnRouting), tunnels.py VpnTunnels
                (Connection, VpnSites, VpnRouting)

Nothing is kept in the state store: what the collection remembers lives on
the cloud's objects. Only conn.py imports openstacksdk.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.catalog import Catalog
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.conn import PROVIDER_NAME, Connection, connect
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.instances import Instances
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vips import Vips
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vlans import Vlans
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.volumes import Volumes
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.routing import VpnRouting
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.sites import VpnSites
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.vpn.tunnels import VpnTunnels
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import Capabilities, Provider


class OpenStackProvider(Provider):
    """The contract on an OpenStack cloud. connection: an openstacksdk connection (signed in from params when None)."""

    name = PROVIDER_NAME

    def __init__(self, params, store, run_command=None, connection=None):
        super(OpenStackProvider, self).__init__(params, store, run_command=run_command)
        self.conn = Connection(params, connection if connection is not None else connect(params))
        self.catalog = Catalog(self.conn)
        self.vlans = Vlans(self.conn)
        self.vips = Vips(self.conn, self.vlans)
        self.instances = Instances(self.conn, self.vlans, self.catalog, self.vips)
        self.volumes = Volumes(self.conn, self.vlans, self.instances)
        routing = VpnRouting(self.conn, self.vlans, self.instances)
        self.vpn = VpnTunnels(self.conn, VpnSites(self.conn, self.vlans, routing), routing)

    def capabilities(self):
        # Nova cannot change a flavor or a keypair without a resize or a rebuild:
        # nothing of an instance changes in place on this provider.
        return Capabilities(mutable={"vlan": (), "instance": ()}, enforces=("vip_allow_list", "vlan_isolation"),
                            platform_keys=True)

    # -- catalog --------------------------------------------------------
    def list_images(self):
        return self.catalog.list_images()

    def resolve_image(self, image):
        return self.catalog.resolve_image(image)

    def image_inputs(self, spec):
        return self.catalog.refuse_build(spec)

    def build_image(self, spec, inputs, timeout):
        return self.catalog.refuse_build(spec)

    def delete_image(self, current):
        return self.catalog.refuse_build(current)

    # -- host facts -----------------------------------------------------
    def reserved_networks(self):
        return self.vlans.reserved_networks()

    # -- vlan -----------------------------------------------------------
    def list_vlans(self):
        return self.vlans.list_vlans()

    def create_vlan(self, spec):
        return self.vlans.create_vlan(spec)

    def repair_host(self, apply=True):
        # Neutron enforces all of it itself (separate networks, security
        # groups made with each vlan, allowed address pairs): nothing of a
        # host's to bring in line.
        return []

    def delete_vlan(self, current):
        return self.vlans.delete_vlan(current)

    def foreign_addresses(self):
        return self.vlans.foreign_addresses()

    # -- instance -------------------------------------------------------
    def list_instances(self, keys=True):  # keys cost nothing more here: they are in the metadata
        return self.instances.list_instances()

    def get_instance(self, name):
        return self.instances.get_instance(name)

    def interface_names(self, networks, vlans):
        return self.instances.interface_names(networks)

    def create_instance(self, spec, run, wait, timeout):
        return self.instances.create_instance(spec, run, wait, timeout)

    def wait_instance(self, current, timeout):
        return self.instances.wait_instance(current, timeout)

    def update_instance(self, current, changes):
        return self.instances.update_instance(current, changes)

    def start_instance(self, current, wait, timeout):
        return self.instances.start_instance(current, wait, timeout)

    def stop_instance(self, current, wait, timeout):
        return self.instances.stop_instance(current, wait, timeout)

    def restart_instance(self, current, wait, timeout):
        return self.instances.restart_instance(current, wait, timeout)

    def delete_instance(self, current):
        return self.instances.delete_instance(current)

    def connection_vars(self, instance):
        return self.instances.connection_vars(instance)

    # -- vip ------------------------------------------------------------
    def list_vips(self):
        return self.vips.list_vips()

    def create_vip(self, spec):
        return self.vips.create_vip(spec)

    def update_vip(self, current, changes):
        return self.vips.update_vip(current, changes)

    def delete_vip(self, current):
        return self.vips.delete_vip(current)

    # -- vpn_tunnel -----------------------------------------------------
    def list_vpn_tunnels(self):
        return self.vpn.list_vpn_tunnels()

    def prepare_vpn_tunnel(self, tunnel):
        return self.vpn.prepare_vpn_tunnel(tunnel)

    def vpn_tunnel_record(self, name):
        return self.vpn.vpn_tunnel_record(name)

    def plan_vpn_gateway(self, location, public_vlan, vlan_names):
        return self.vpn.plan_vpn_gateway(public_vlan, vlan_names)

    def prepare_vpn_gateway(self, location, public_vlan, vlan_names, timeout):
        # Neutron's VPN service is the gateway: nothing to make or boot.
        return None

    def vpn_drift(self, tunnel):
        return self.vpn.vpn_drift(tunnel)

    def apply_vpn_tunnel(self, tunnel, secrets, record_extra, restart, timeout):
        return self.vpn.apply_vpn_tunnel(tunnel, secrets, record_extra)

    def wait_vpn_tunnel(self, name, timeout):
        return self.vpn.wait_vpn_tunnel(name, timeout)

    def delete_vpn_tunnel(self, current, timeout):
        return self.vpn.delete_vpn_tunnel(current)

    # -- volume ---------------------------------------------------------------------------------
    def list_volumes(self):
        return self.volumes.list()

    def create_volume(self, spec, key_file, source, source_secret):
        # Cinder and Barbican keep the keys: key_file and source_secret are not used.
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
