# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A provider in memory, and a helper that runs a module's main() as Ansible would."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.secure_cloud.iaas.plugins.module_utils import resource
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import (
    apply_changes,
    instance_result,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import desired_vlan
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import backup_result, snapshot_result
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import Capabilities, Provider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore

DEBIAN12_ID = "sha256:" + "a" * 64
DEBIAN13_ID = "sha256:" + "b" * 64


class FakeProvider(Provider):
    """Holds vlans and instances in dicts and records every write."""

    name = "fake"

    def __init__(self, store):
        super(FakeProvider, self).__init__({}, store)
        self.vlans = {}
        self.instances = {}
        self.writes = []
        self.routes = [("192.0.2.0/24", "a route of the host via eth0")]
        self.fail_on_network = None
        self.boot_fails = False
        self.vips = []
        self.volumes, self.snapshots, self.backups = {}, {}, {}
        self.enforces = ("vip_allow_list", "vlan_isolation")
        self.drifted = []
        self.settles = 0.0
        self.keeper_mends_after = None  # looks after which the platform's keeper has mended the drift

    def capabilities(self):
        return Capabilities(mutable={"vlan": (), "instance": ("cpus", "memory", "ssh_public_keys")},
                            enforces=self.enforces, settles=self.settles)

    def list_images(self):
        return [dict(name="debian12", reference="secure-cloud-iaas/instance:debian12", id=DEBIAN12_ID, digests=[]),
                dict(name="debian13", reference="secure-cloud-iaas/instance:debian13", id=DEBIAN13_ID, digests=[])]

    def _no_builds(self, *args, **kwargs):
        raise IaasError("the fake provider builds no images", field="provider")

    # The catalog's builds: tests/unit/plugins/modules/test_image.py has a provider of its own.
    image_inputs = build_image = delete_image = _no_builds

    def resolve_image(self, image):
        for entry in self.list_images():
            if image in (entry["name"], entry["reference"]):
                return entry
        raise IaasError("%r is not in the image catalog" % image, field="image", fix="use one of: debian12, debian13")

    def reserved_networks(self):
        return list(self.routes)

    def list_vlans(self):
        return [dict(self.vlans[name]) for name in sorted(self.vlans)]

    def create_vlan(self, spec):
        self.writes.append(("create_vlan", spec["name"]))
        self.vlans[spec["name"]] = dict(spec, id="net-" + spec["name"])
        return dict(self.vlans[spec["name"]])

    def delete_vlan(self, current):
        self.writes.append(("delete_vlan", current["name"]))
        del self.vlans[current["name"]]

    def list_instances(self, keys=True):
        return [dict(self.instances[name]) for name in sorted(self.instances)]

    def create_instance(self, spec, run, wait, timeout):
        self.writes.append(("create_instance", spec["name"]))
        self.last_create = dict(run=run, wait=wait)
        for net in spec["networks"]:
            if net["vlan"] == self.fail_on_network:
                raise IaasError("Docker refused to attach %s to vlan %s" % (spec["name"], net["vlan"]))
        self.instances[spec["name"]] = dict(spec, id="ctr-" + spec["name"], state="running" if run else "stopped")
        return dict(self.instances[spec["name"]])

    def wait_instance(self, current, timeout):
        self.writes.append(("wait", current["name"]))
        if self.boot_fails:
            raise IaasError("instance did not finish booting within wait_timeout=%ss" % timeout, field="wait_timeout",
                            fix="raise wait_timeout")
        return dict(self.instances[current["name"]])

    def update_instance(self, current, changes):
        self.writes.append(("update_instance", current["name"], sorted(changes)))
        self.instances[current["name"]] = apply_changes(self.instances[current["name"]], changes)
        return dict(self.instances[current["name"]])

    def _set_state(self, current, state, what):
        self.writes.append((what, current["name"]))
        self.instances[current["name"]]["state"] = state
        return dict(self.instances[current["name"]])

    def start_instance(self, current, wait, timeout):
        return self._set_state(current, "running", "start")

    def stop_instance(self, current, wait, timeout):
        return self._set_state(current, "stopped", "stop")

    def restart_instance(self, current, wait, timeout):
        return self._set_state(current, "running", "restart")

    def delete_instance(self, current):
        self.writes.append(("delete_instance", current["name"]))
        del self.instances[current["name"]]

    def connection_vars(self, instance):
        return dict(ansible_connection="local")

    def repair_host(self, apply=True):
        # What a test set adrift; mended (and written down) unless only looked at.
        if self.keeper_mends_after is not None:
            self.keeper_mends_after -= 1
            if self.keeper_mends_after < 0:
                self.drifted = []
        drifted = list(self.drifted)
        if apply and drifted:
            self.writes.append(("repair_host", drifted))
            self.drifted = []
        return drifted

    def foreign_addresses(self):
        return {}

    def interface_names(self, networks, vlans):
        return ["eth%d" % i for i in range(len(networks))]

    # Vips only as arranged by a test, no tunnels (the vip and vpn_tunnel modules
    # have tests of their own against the docker and openstack providers).
    def list_vips(self):
        return [dict(v) for v in self.vips]

    def list_vpn_tunnels(self):
        return []

    def _unsupported(self, *args, **kwargs):
        raise IaasError("the fake provider has no vips or tunnels", field="provider")

    create_vip = update_vip = delete_vip = _unsupported
    prepare_vpn_tunnel = vpn_tunnel_record = plan_vpn_gateway = prepare_vpn_gateway = vpn_drift = _unsupported
    apply_vpn_tunnel = wait_vpn_tunnel = delete_vpn_tunnel = _unsupported

    # Volumes in dicts (the docker and openstack drivers have tests of their own).
    def list_volumes(self):
        return [dict(v) for _n, v in sorted(self.volumes.items())]

    def create_volume(self, spec, key_file, source, source_secret):
        self.writes.append(("create_volume", spec["name"], key_file, source and source["name"], source_secret))
        self.volumes[spec["name"]] = dict(spec, id="vol-" + spec["name"], status="in-use" if spec["instance"] else "available")
        return dict(self.volumes[spec["name"]])

    def update_volume(self, current, changes):
        self.writes.append(("update_volume", current["name"], changes))
        self.volumes[current["name"]].update(changes)
        return dict(self.volumes[current["name"]])

    def attach_volume(self, current, instance, mount_path):
        self.writes.append(("attach_volume", current["name"], instance, mount_path))
        self.volumes[current["name"]].update(instance=instance, mount_path=mount_path, status="in-use")
        return dict(self.volumes[current["name"]])

    def detach_volume(self, current):
        self.writes.append(("detach_volume", current["name"]))
        self.volumes[current["name"]].update(instance=None, mount_path=None, status="available")
        return dict(self.volumes[current["name"]])

    def delete_volume(self, current):
        self.writes.append(("delete_volume", current["name"]))
        del self.volumes[current["name"]]

    def list_volume_snapshots(self):
        return [dict(v) for _n, v in sorted(self.snapshots.items())]

    def snapshot_source(self, name):
        return dict(self.snapshots[name], kind="snapshot")

    def create_volume_snapshot(self, spec, volume):
        self.writes.append(("create_volume_snapshot", spec["name"], volume["name"]))
        self.snapshots[spec["name"]] = snapshot_result(spec["name"], volume["name"], volume["location"], volume["size"],
                                                       volume["encrypted"], created="now", labels=spec["labels"],
                                                       provider=self.name, resource_id="snap-" + spec["name"])
        return dict(self.snapshots[spec["name"]])

    def update_volume_snapshot(self, current, labels):
        self.snapshots[current["name"]]["labels"] = labels
        return dict(self.snapshots[current["name"]])

    def delete_volume_snapshot(self, current):
        self.writes.append(("delete_volume_snapshot", current["name"]))
        del self.snapshots[current["name"]]

    def list_volume_backups(self):
        return [dict(v) for _n, v in sorted(self.backups.items())]

    def backup_source(self, name):
        return dict(self.backups[name], kind="backup")

    def create_volume_backup(self, spec, volume, password_file):
        self.writes.append(("create_volume_backup", spec["name"], volume["name"], spec["location"], password_file))
        incremental = any(b["volume"] == volume["name"] and b["location"] == spec["location"] for b in self.backups.values())
        self.backups[spec["name"]] = backup_result(spec["name"], volume["name"], spec["location"], volume["location"],
                                                   volume["size"], incremental, added_bytes=1, created="now",
                                                   labels=spec["labels"], provider=self.name, resource_id="b-" + spec["name"])
        return dict(self.backups[spec["name"]])

    def update_volume_backup(self, current, labels):
        self.backups[current["name"]]["labels"] = labels
        return dict(self.backups[current["name"]])

    def delete_volume_backup(self, current):
        self.writes.append(("delete_volume_backup", current["name"]))
        del self.backups[current["name"]]

    # Helpers for arranging a test.
    def add_vlan(self, name, location, cidr, vlan_type="private", gateway=None, vip_range=None):
        spec = desired_vlan(dict(name=name, location=location, type=vlan_type, cidr=cidr, gateway=gateway,
                                 vip_range=vip_range, labels=None), self.name)
        self.vlans[name] = dict(spec, id="net-" + name)

    def add_instance(self, name, location, networks, image="debian12", state="running"):
        self.instances[name] = instance_result(
            name=name, location=location, image=image, image_id=DEBIAN12_ID, cpus=0.5, memory_mb=512,
            hostname=name, networks=networks, admin_user="cloudadmin", ssh_public_keys=[], state=state,
            provider=self.name, resource_id="ctr-" + name)


@pytest.fixture
def provider(tmp_path, monkeypatch):
    fake = FakeProvider(StateStore(str(tmp_path / "state")))
    monkeypatch.setattr(resource, "get_provider", lambda params, run_command=None: fake)
    for variable in ("SECURE_CLOUD_ALLOWED_LOCATIONS", "SECURE_CLOUD_PROVIDER"):
        monkeypatch.delenv(variable, raising=False)
    return fake


@pytest.fixture
def run_module(capsys):
    """run_module(main, args, check=False, diff=False) -> (failed, result)."""

    def run(main, args, check=False, diff=False):
        args = dict(args)
        args.update(_ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                main()
        result = json.loads(capsys.readouterr().out)
        return bool(exc.value.code) or bool(result.get("failed")), result

    return run
