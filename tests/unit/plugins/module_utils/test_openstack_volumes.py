# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests: volumes, snapshots and backups of the openstack provider against the fake Cinder and Nova."""

from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("openstack")
pytest.importorskip("requests_mock")

sys.path.insert(0, os.path.dirname(__file__))

# The fixtures cloud and provider come from the provider's contract tests.
from test_openstack_provider import cloud, fresh, instance_spec, params, provider, vlan_spec  # noqa: E402,F401  pylint: disable=unused-import

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import desired_volume  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider  # noqa: E402
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore  # noqa: E402


def volume_spec(name="data", source=None, **extra):
    args = dict(name=name, location="fra1", size=10, labels=dict(tier="db"))
    if source is not None:
        args.pop("location")
        args.pop("size")
    args.update(extra)
    return desired_volume(args, "openstack", source=source)


def with_instance(provider, name="web-1"):
    if provider.get_vlan("front") is None:
        provider.create_vlan(vlan_spec())
    return provider.create_instance(instance_spec(fresh(provider), name=name), run=True, wait=True, timeout=5)


def only(store):
    assert len(store) == 1, store
    return list(store.values())[0]


# -- volumes ------------------------------------------------------------------------

def test_encrypted_volume_is_of_the_encrypted_type_in_the_zone_with_its_labels(cloud, provider):
    vol = provider.create_volume(volume_spec(), "/never/read.key", None, None)
    body = cloud.requests("POST", r"/v3/volumes$")[0][3]["volume"]
    # The type whose encryption is set, found by asking each type's encryption.
    assert body["volume_type"] == "LUKS" and body["availability_zone"] == "fra1" and body["size"] == 10
    assert body["name"] == "sciaas-vol-data"
    assert body["metadata"]["sciaas_label_tier"] == "db" and body["metadata"]["secure_cloud.iaas.managed"] == "true"
    assert vol == dict(name="data", location="fra1", size=10, encrypted=True, instance=None, mount_path=None,
                       key_file=None, source=None, follow_vip=None, backup_schedule=None, status="available",
                       labels=dict(tier="db"),
                       provider="openstack",
                       id=only(cloud.volumes)["id"])
    # Cinder keeps the key: nothing was read from the key file, and the cloud holds what is read back.
    assert fresh(provider).get_volume("data") == vol


def test_unencrypted_volume_takes_the_default_type(cloud, provider):
    vol = provider.create_volume(volume_spec(encrypted=False), None, None, None)
    assert "volume_type" not in cloud.requests("POST", r"/v3/volumes$")[0][3]["volume"]
    assert vol["encrypted"] is False and only(cloud.volumes)["volume_type"] == "__DEFAULT__"


def test_volume_types_option_names_the_type(cloud, tmp_path):
    cloud.volume_types.append(dict(id="t-luks2", name="LUKS-fast", is_public=True, extra_specs={}))
    cloud.type_encryption["t-luks2"] = dict(cloud.type_encryption["t-luks"], volume_type_id="t-luks2")
    prov = OpenStackProvider(params(volume_types=dict(encrypted="LUKS-fast")), StateStore(str(tmp_path / "s")))
    prov.conn.poll_interval = 0.01
    prov.create_volume(volume_spec(), None, None, None)
    assert cloud.requests("POST", r"/v3/volumes$")[0][3]["volume"]["volume_type"] == "LUKS-fast"
    # The option is trusted: no type's encryption was asked.
    assert not cloud.requests("GET", r"/encryption$")


def test_two_encrypted_types_without_the_option_is_refused_naming_them(cloud, provider):
    cloud.volume_types.append(dict(id="t-luks2", name="LUKS-fast", is_public=True, extra_specs={}))
    cloud.type_encryption["t-luks2"] = dict(cloud.type_encryption["t-luks"], volume_type_id="t-luks2")
    with pytest.raises(IaasError) as err:
        provider.create_volume(volume_spec(), None, None, None)
    assert err.value.field == "volume_types" and "LUKS, LUKS-fast" in str(err.value)
    assert cloud.volumes == {}


def test_member_who_cannot_read_type_encryption_is_told_to_name_the_type(cloud, provider):
    cloud.type_encryption_forbidden = True
    with pytest.raises(IaasError) as err:
        provider.create_volume(volume_spec(), None, None, None)
    assert err.value.field == "volume_types" and "admins only" in str(err.value)
    assert "volume_types: {encrypted: NAME}" in err.value.fix and "LUKS" in err.value.fix
    assert cloud.volumes == {}


def test_unknown_volume_type_in_the_option_lists_the_cloud_types(cloud, tmp_path):
    prov = OpenStackProvider(params(volume_types=dict(encrypted="gold")), StateStore(str(tmp_path / "s")))
    with pytest.raises(IaasError) as err:
        prov.create_volume(volume_spec(), None, None, None)
    assert str(err.value).startswith("volume_types: volume type 'gold' (volume_types.encrypted) is not offered")
    assert "LUKS, __DEFAULT__" in err.value.fix and cloud.volumes == {}


def test_a_type_that_is_not_encrypted_fails_the_create_and_leaves_nothing(cloud, tmp_path):
    # The operator named the wrong type: Cinder makes the volume unencrypted, which must not pass as encrypted.
    prov = OpenStackProvider(params(volume_types=dict(encrypted="__DEFAULT__")), StateStore(str(tmp_path / "s")))
    prov.conn.poll_interval = 0.01
    with pytest.raises(IaasError) as err:
        prov.create_volume(volume_spec(), None, None, None)
    assert err.value.field == "volume_types" and "not encrypted" in str(err.value)
    assert cloud.volumes == {} and cloud.requests("DELETE", r"/v3/volumes/")


def test_unknown_zone_names_location_and_the_cloud_zones(cloud, provider):
    with pytest.raises(IaasError) as err:
        provider.create_volume(volume_spec(location="ams1"), None, None, None)
    assert err.value.field == "location" and "'ams1'" in str(err.value)
    assert "volume zones: fra1, nova" in err.value.fix and "availability_zones" in err.value.fix
    assert cloud.volumes == {}


def test_volume_that_goes_to_error_is_removed(cloud, provider):
    cloud.cinder_errors.add("creating")
    with pytest.raises(IaasError) as err:
        provider.create_volume(volume_spec(), None, None, None)
    assert "make volume sciaas-vol-data" in str(err.value)
    assert cloud.volumes == {}


def test_create_attached_is_a_nova_attachment_and_the_mount_path_in_metadata(cloud, provider):
    inst = with_instance(provider)
    vol = provider.create_volume(volume_spec(instance="web-1", mount_path="/srv/data"), None, None, None)
    attach = cloud.requests("POST", r"/os-volume_attachments$")[0]
    assert attach[1].endswith("/servers/%s/os-volume_attachments" % inst["id"])
    assert attach[3]["volumeAttachment"]["volumeId"] == vol["id"]
    stored = only(cloud.volumes)
    assert stored["status"] == "in-use" and stored["attachments"][0]["server_id"] == inst["id"]
    assert stored["metadata"]["sciaas_mount_path"] == "/srv/data"
    assert (vol["instance"], vol["mount_path"], vol["status"]) == ("web-1", "/srv/data", "in-use")
    assert fresh(provider).get_volume("data") == vol


def test_failed_attach_in_create_leaves_no_volume(cloud, provider):
    with_instance(provider)
    cloud.cinder_errors.add("attaching")
    with pytest.raises(IaasError):
        provider.create_volume(volume_spec(instance="web-1"), None, None, None)
    assert cloud.volumes == {}


def test_attach_to_a_missing_instance_names_the_field_and_leaves_nothing(cloud, provider):
    with pytest.raises(IaasError) as err:
        provider.create_volume(volume_spec(instance="ghost"), None, None, None)
    assert str(err.value).startswith("instance: instance ghost does not exist")
    assert cloud.volumes == {}


def test_grow_while_attached_and_labels_replaced(cloud, provider):
    with_instance(provider)
    vol = provider.create_volume(volume_spec(instance="web-1"), None, None, None)
    grown = provider.update_volume(vol, dict(size=25, labels=dict(team="ops")))
    assert cloud.requests("POST", r"/action$")[-1][3] == {"os-extend": {"new_size": 25}}
    assert grown["size"] == 25 and grown["status"] == "in-use" and grown["instance"] == "web-1"
    meta = only(cloud.volumes)["metadata"]
    assert meta.get("sciaas_label_team") == "ops" and "sciaas_label_tier" not in meta
    # What is not a label stays.
    assert meta["sciaas_name"] == "data" and meta["sciaas_mount_path"] == "/mnt/data"
    assert fresh(provider).get_volume("data")["labels"] == dict(team="ops")


def test_a_failed_extend_is_an_error(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    cloud.cinder_errors.add("extending")
    with pytest.raises(IaasError) as err:
        provider.update_volume(vol, dict(size=20))
    assert "grow volume sciaas-vol-data" in str(err.value)


def test_detach_then_attach_elsewhere_and_delete(cloud, provider):
    with_instance(provider)
    other = with_instance(provider, "web-2")
    vol = provider.create_volume(volume_spec(instance="web-1"), None, None, None)
    detached = provider.detach_volume(vol)
    assert (detached["instance"], detached["mount_path"], detached["status"]) == (None, None, "available")
    assert "sciaas_mount_path" not in only(cloud.volumes)["metadata"]
    moved = provider.attach_volume(detached, "web-2", "/srv/x")
    assert only(cloud.volumes)["attachments"][0]["server_id"] == other["id"]
    assert (moved["instance"], moved["mount_path"]) == ("web-2", "/srv/x")
    provider.delete_volume(provider.detach_volume(moved))
    assert cloud.volumes == {} and fresh(provider).list_volumes() == []


def test_detach_the_guest_does_not_release_is_an_error_and_the_volume_stays(cloud, provider):
    with_instance(provider)
    vol = provider.create_volume(volume_spec(instance="web-1"), None, None, None)
    cloud.detach_refused = True
    # Nova hands the volume back to in-use; waiting for available ends in the timeout.
    provider.conn.params["wait_timeout"] = 1
    with pytest.raises(ProviderError) as err:
        provider.detach_volume(vol)
    assert err.value.field == "instance" and "unmount" in err.value.fix
    assert fresh(provider).get_volume("data")["instance"] == "web-1"
    assert only(cloud.volumes)["metadata"]["sciaas_mount_path"] == "/mnt/data"


def test_attached_volume_is_not_deleted_by_cinder(cloud, provider):
    # The model refuses before; Cinder does too, and the driver says so.
    with_instance(provider)
    vol = provider.create_volume(volume_spec(instance="web-1"), None, None, None)
    with pytest.raises(IaasError) as err:
        provider.delete_volume(vol)
    assert "HTTP 400" in str(err.value) and "attached" in str(err.value)
    assert len(cloud.volumes) == 1


def test_attaching_a_volume_attached_elsewhere_is_refused_without_a_call(cloud, provider):
    with_instance(provider)
    with_instance(provider, "web-2")
    vol = provider.create_volume(volume_spec(instance="web-1"), None, None, None)
    before = len(cloud.requests("POST", r"/os-volume_attachments$"))
    with pytest.raises(ProviderError) as err:
        provider.attach_volume(vol, "web-2", "/srv/x")
    assert err.value.field == "instance" and "detach it first" in err.value.fix
    assert len(cloud.requests("POST", r"/os-volume_attachments$")) == before


def test_other_volumes_of_the_project_are_not_listed(cloud, provider):
    cloud.volumes["x"] = dict(id="x", name="theirs", size=1, status="available", metadata={}, attachments=[],
                              availability_zone="nova", encrypted=False, volume_type="__DEFAULT__")
    provider.create_volume(volume_spec(), None, None, None)
    assert [v["name"] for v in fresh(provider).list_volumes()] == ["data"]


# -- snapshots ---------------------------------------------------------------------

def test_snapshot_of_an_attached_volume_is_forced_and_read_back(cloud, provider):
    with_instance(provider)
    vol = provider.create_volume(volume_spec(instance="web-1"), None, None, None)
    snap = provider.create_volume_snapshot(dict(name="before-upgrade", labels=dict(why="upgrade")), vol)
    body = cloud.requests("POST", r"/v3/snapshots$")[0][3]["snapshot"]
    assert body["volume_id"] == vol["id"] and body["force"] is True and body["name"] == "sciaas-snap-before-upgrade"
    assert (snap["name"], snap["volume"], snap["location"], snap["size"], snap["encrypted"]) == \
        ("before-upgrade", "data", "fra1", 10, True)
    assert snap["labels"] == dict(why="upgrade") and snap["created"]
    assert fresh(provider).list_volume_snapshots() == [snap]


def test_snapshot_of_a_detached_volume_is_not_forced(cloud, provider):
    vol = provider.create_volume(volume_spec(encrypted=False), None, None, None)
    snap = provider.create_volume_snapshot(dict(name="s", labels={}), vol)
    assert cloud.requests("POST", r"/v3/snapshots$")[0][3]["snapshot"]["force"] is False
    assert snap["encrypted"] is False


def test_volume_from_snapshot_is_in_its_zone_and_of_its_type(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    provider.create_volume_snapshot(dict(name="s", labels={}), vol)
    source = provider.snapshot_source("s")
    copy = provider.create_volume(volume_spec("copy", source=source, size=12), None, source, None)
    body = cloud.requests("POST", r"/v3/volumes$")[-1][3]["volume"]
    assert body["snapshot_id"] == source["id"] and "volume_type" not in body and body["size"] == 12
    assert (copy["source"], copy["location"], copy["encrypted"], copy["size"]) == ("s", "fra1", True, 12)
    assert cloud.volumes[copy["id"]]["volume_type"] == "LUKS"


def test_volume_from_snapshot_in_another_location_is_refused_before_any_call(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    provider.create_volume_snapshot(dict(name="s", labels={}), vol)
    source = provider.snapshot_source("s")
    before = len(cloud.writes())
    with pytest.raises(IaasError) as err:
        provider.create_volume(volume_spec("copy", source=source, location="nova"), None, source, None)
    assert err.value.field == "location" and "back the volume up" in err.value.fix
    assert len(cloud.writes()) == before


def test_snapshot_labels_change_and_delete(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    snap = provider.create_volume_snapshot(dict(name="s", labels=dict(a="1")), vol)
    changed = provider.update_volume_snapshot(snap, dict(b="2"))
    assert changed["labels"] == dict(b="2") and only(cloud.snapshots)["metadata"]["sciaas_name"] == "s"
    # Cinder refuses to delete a volume that still has snapshots.
    with pytest.raises(IaasError) as err:
        provider.delete_volume(vol)
    assert "dependent snapshots" in str(err.value)
    provider.delete_volume_snapshot(changed)
    assert cloud.snapshots == {} and provider.list_volume_snapshots() == []
    provider.delete_volume(vol)
    assert cloud.volumes == {}


def test_unknown_snapshot_source_names_the_field(cloud, provider):
    with pytest.raises(IaasError) as err:
        provider.snapshot_source("nope")
    assert err.value.field == "snapshot"


# -- backups ----------------------------------------------------------------------

def test_backups_go_to_the_location_zone_and_container_and_chain_within_it(cloud, provider):
    with_instance(provider)
    vol = provider.create_volume(volume_spec(instance="web-1"), "/k", None, None)
    first = provider.create_volume_backup(dict(name="b1", location="fra1", labels=dict(k="v")), vol, "/never/read")
    second = provider.create_volume_backup(dict(name="b2", location="fra1", labels={}), vol, None)
    other = provider.create_volume_backup(dict(name="b3", location="nova", labels={}), vol, None)
    posts = [c[3]["backup"] for c in cloud.requests("POST", r"/v3/backups$")]
    assert [(p["container"], p["availability_zone"], p["incremental"], p["force"]) for p in posts] == [
        ("sciaas-backups-fra1", "fra1", False, True), ("sciaas-backups-fra1", "fra1", True, True),
        # The latest backup of the volume is in fra1: nova's chain starts with a full backup.
        ("sciaas-backups-nova", "nova", False, True)]
    assert (first["incremental"], second["incremental"], other["incremental"]) == (False, True, False)
    assert (first["name"], first["volume"], first["location"], first["volume_location"], first["size"]) == \
        ("b1", "data", "fra1", "fra1", 10)
    assert first["encrypted"] is True and first["added_bytes"] is None and first["labels"] == dict(k="v")
    assert (first["repository"], other["repository"]) == ("sciaas-backups-fra1", "sciaas-backups-nova")
    assert fresh(provider).list_volume_backups() == [first, second, other]


def test_backup_of_an_unencrypted_volume_is_refused(cloud, provider):
    vol = provider.create_volume(volume_spec(encrypted=False), None, None, None)
    with pytest.raises(IaasError) as err:
        provider.create_volume_backup(dict(name="b", location="fra1", labels={}), vol, None)
    assert err.value.field == "volume" and "not encrypted" in str(err.value)
    assert cloud.backups == {}


def test_backup_location_without_a_backup_service_names_backup_location(cloud, provider):
    cloud.backup_zones = ["nova"]
    vol = provider.create_volume(volume_spec(), None, None, None)
    with pytest.raises(IaasError) as err:
        provider.create_volume_backup(dict(name="b", location="fra1", labels={}), vol, None)
    assert err.value.field == "backup_location" and "no backup service" in str(err.value)
    assert "went away" not in str(err.value) and cloud.backups == {}


def test_backup_that_fails_is_removed(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    cloud.cinder_errors.add("creating")
    with pytest.raises(IaasError):
        provider.create_volume_backup(dict(name="b", location="fra1", labels={}), vol, None)
    assert cloud.backups == {}


def test_restore_makes_the_volume_then_restores_into_it(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    provider.create_volume_backup(dict(name="b1", location="fra1", labels={}), vol, None)
    source = provider.backup_source("b1")
    spec = volume_spec("restored", source=source, location="nova", size=20)
    copy = provider.create_volume(spec, None, source, "/never/read")
    body = cloud.requests("POST", r"/v3/volumes$")[-1][3]["volume"]
    assert (body["availability_zone"], body["size"], body["volume_type"]) == ("nova", 20, "LUKS")
    restore = cloud.requests("POST", r"/restore$")[0]
    assert source["id"] in restore[1] and restore[3] == {"restore": {"volume_id": copy["id"]}}
    assert (copy["name"], copy["source"], copy["location"], copy["status"]) == ("restored", "b1", "nova", "available")
    assert cloud.volumes[copy["id"]]["backup_id"] == source["id"]


def test_restore_into_an_unencrypted_volume_is_refused(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    provider.create_volume_backup(dict(name="b1", location="fra1", labels={}), vol, None)
    source = provider.backup_source("b1")
    with pytest.raises(IaasError) as err:
        provider.create_volume(volume_spec("plain", source=source, encrypted=False), None, source, None)
    assert err.value.field == "encrypted" and len(cloud.volumes) == 1


def test_failed_restore_leaves_no_volume(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    provider.create_volume_backup(dict(name="b1", location="fra1", labels={}), vol, None)
    source = provider.backup_source("b1")
    cloud.cinder_errors.add("restoring-backup")
    with pytest.raises(IaasError):
        provider.create_volume(volume_spec("restored", source=source), None, source, None)
    assert list(cloud.volumes) == [vol["id"]]


def test_backup_labels_are_replaced_and_other_metadata_kept(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    backup = provider.create_volume_backup(dict(name="b1", location="fra1", labels=dict(a="1")), vol, None)
    changed = provider.update_volume_backup(backup, dict(b="2"))
    assert changed["labels"] == dict(b="2")
    meta = only(cloud.backups)["metadata"]
    assert meta["sciaas_name"] == "b1" and meta["sciaas_location"] == "fra1" and "sciaas_label_a" not in meta


def test_a_backup_later_incrementals_build_on_is_kept_naming_them(cloud, provider):
    vol = provider.create_volume(volume_spec(), None, None, None)
    first = provider.create_volume_backup(dict(name="b1", location="fra1", labels={}), vol, None)
    second = provider.create_volume_backup(dict(name="b2", location="fra1", labels={}), vol, None)
    with pytest.raises(ProviderError) as err:
        provider.delete_volume_backup(first)
    assert "(b2)" in str(err.value) and "newest first" in err.value.fix
    assert len(cloud.backups) == 2
    provider.delete_volume_backup(second)
    provider.delete_volume_backup(fresh(provider).list_volume_backups()[0])
    assert cloud.backups == {} and provider.list_volume_backups() == []
