# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The volume, volume_snapshot and volume_backup modules against the fake provider: check mode, diff,
idempotence, the key file, and every refusal before anything is written."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.secure_cloud.iaas.plugins.modules import instance, volume, volume_backup, volume_snapshot


@pytest.fixture
def cloud(provider, tmp_path):
    provider.add_vlan("back", "dc1", "10.230.1.0/24")
    provider.add_instance("db-1", "dc1", [dict(vlan="back", ip="10.230.1.10", interface="eth0")])
    provider.add_instance("db-2", "dc1", [dict(vlan="back", ip="10.230.1.11", interface="eth0")])
    provider.add_instance("far-1", "dc2", [dict(vlan="back", ip="10.230.1.12", interface="eth0")])
    provider.state_dir = str(tmp_path / "state")
    return provider


def args(cloud, **kwargs):
    base = dict(name="data", state_dir=cloud.state_dir)
    base.update(kwargs)
    return base


def test_create_generates_a_private_key_once_and_is_idempotent(cloud, run_module):
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, instance="db-1", mount_path="/srv/db"),
                                diff=True)
    assert not failed, result
    key_file = os.path.join(cloud.state_dir, "volumes", "data.key")
    assert result["changed"] and result["volume"]["key_file"] == key_file
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    with open(key_file) as handle:
        key = handle.read()
    assert len(key.strip()) >= 32 and key.strip() not in str(result)
    assert result["diff"]["before"] == {} and result["diff"]["after"]["instance"] == "db-1"
    assert cloud.writes == [("create_volume", "data", key_file, None, None)]
    failed, again = run_module(volume.main, args(cloud, location="dc1", size=2, instance="db-1", mount_path="/srv/db"))
    assert not failed and not again["changed"]
    with open(key_file) as handle:
        assert handle.read() == key
    assert len(cloud.writes) == 1


def test_check_mode_create_writes_no_key_and_nothing(cloud, run_module):
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2), check=True)
    assert not failed and result["changed"] and result["volume"]["encrypted"]
    assert not os.path.exists(os.path.join(cloud.state_dir, "volumes", "data.key"))
    assert cloud.writes == [] and cloud.volumes == {}


@pytest.mark.parametrize("extra, field", [
    (dict(size=1), "size"),
    (dict(location="dc2"), "location"),
    (dict(encrypted=False), "encrypted"),
    (dict(instance="db-2"), "instance"),
])
def test_what_cannot_change_is_refused_before_any_write(cloud, run_module, extra, field):
    run_module(volume.main, args(cloud, location="dc1", size=2, instance="db-1"))
    writes = list(cloud.writes)
    failed, result = run_module(volume.main, args(cloud, **extra))
    assert failed and result["msg"].startswith(field + ":"), result["msg"]
    assert cloud.writes == writes


def test_grow_detach_and_attach_elsewhere_in_check_mode_then_for_real(cloud, run_module):
    run_module(volume.main, args(cloud, location="dc1", size=2, instance="db-1"))
    del cloud.writes[:]
    failed, result = run_module(volume.main, args(cloud, size=3, instance=None), check=True, diff=True)
    assert not failed and result["changed"] and cloud.writes == []
    assert result["diff"]["before"]["size"] == 2 and result["diff"]["after"]["size"] == 3
    assert result["diff"]["after"]["instance"] is None
    failed, result = run_module(volume.main, args(cloud, size=3, instance=None))
    assert not failed and cloud.writes == [("update_volume", "data", {"size": 3}), ("detach_volume", "data")]
    failed, result = run_module(volume.main, args(cloud, instance="db-2"))
    assert not failed and result["volume"]["mount_path"] == "/mnt/data"
    assert cloud.writes[-1] == ("attach_volume", "data", "db-2", "/mnt/data")


def test_attach_in_another_location_is_refused(cloud, run_module):
    run_module(volume.main, args(cloud, location="dc1", size=2))
    failed, result = run_module(volume.main, args(cloud, instance="far-1"))
    assert failed and "instance: instance far-1 is in dc2" in result["msg"]
    assert not any(w[0] == "attach_volume" for w in cloud.writes)


def test_delete_refused_while_attached_or_snapshotted_then_done(cloud, run_module):
    run_module(volume.main, args(cloud, location="dc1", size=2, instance="db-1"))
    failed, result = run_module(volume.main, args(cloud, state="absent"))
    assert failed and "attached to db-1" in result["msg"] and "instance: null" in result["msg"]
    failed, result = run_module(instance.main, dict(name="db-1", state="absent"))
    assert failed and "volumes attached: data" in result["msg"]
    assert "db-1" in cloud.instances
    run_module(volume.main, args(cloud, instance=None))
    run_module(volume_snapshot.main, dict(name="snap", volume="data"))
    failed, result = run_module(volume.main, args(cloud, state="absent"))
    assert failed and "still has snapshots: snap" in result["msg"]
    run_module(volume_snapshot.main, dict(name="snap", state="absent"))
    failed, result = run_module(volume.main, args(cloud, state="absent"))
    assert not failed and result["changed"] and cloud.volumes == {}


def test_snapshot_is_taken_once_and_a_volume_made_from_it(cloud, run_module):
    run_module(volume.main, args(cloud, location="dc1", size=2))
    failed, result = run_module(volume_snapshot.main, dict(name="snap", volume="data"), check=True)
    assert not failed and result["changed"] and cloud.snapshots == {}
    failed, result = run_module(volume_snapshot.main, dict(name="snap", volume="data"))
    assert not failed and result["changed"] and result["volume_snapshot"]["location"] == "dc1"
    failed, result = run_module(volume_snapshot.main, dict(name="snap", volume="data"))
    assert not failed and not result["changed"]
    failed, result = run_module(volume_snapshot.main, dict(name="snap", volume="other"))
    assert failed and result["msg"].startswith("volume:")
    failed, result = run_module(volume.main, args(cloud, name="copy", snapshot="snap", size=1))
    assert failed and result["msg"].startswith("size:") and "copy" not in cloud.volumes
    failed, result = run_module(volume.main, args(cloud, name="copy", snapshot="snap"))
    assert not failed and result["volume"]["source"] == "snap" and result["volume"]["size"] == 2
    assert cloud.writes[-1][:4] == ("create_volume", "copy", os.path.join(cloud.state_dir, "volumes", "copy.key"), "snap")


def test_backup_outside_allowed_locations_is_refused_before_anything(cloud, run_module):
    run_module(volume.main, args(cloud, location="dc1", size=2))
    writes = list(cloud.writes)
    failed, result = run_module(volume_backup.main, dict(name="b1", volume="data", backup_location="dc9",
                                                         allowed_locations=["dc1", "dc2"], state_dir=cloud.state_dir))
    assert failed and result["msg"].startswith("backup_location:") and "data-residency policy" in result["msg"]
    assert cloud.writes == writes and not os.path.exists(os.path.join(cloud.state_dir, "backups"))


def test_backups_are_incremental_after_the_first_and_restore_into_a_new_volume(cloud, run_module):
    run_module(volume.main, args(cloud, location="dc1", size=2))
    common = dict(volume="data", backup_location="dc2", allowed_locations=["dc1", "dc2"], state_dir=cloud.state_dir)
    failed, first = run_module(volume_backup.main, dict(common, name="b1"))
    assert not failed and not first["volume_backup"]["incremental"]
    password = os.path.join(cloud.state_dir, "backups", "dc2.key")
    assert stat.S_IMODE(os.stat(password).st_mode) == 0o600
    failed, second = run_module(volume_backup.main, dict(common, name="b2"))
    assert second["volume_backup"]["incremental"]
    failed, again = run_module(volume_backup.main, dict(common, name="b2"))
    assert not failed and not again["changed"]
    failed, result = run_module(volume.main, args(cloud, name="restored", backup="b2", location="dc1"))
    assert not failed and result["volume"]["source"] == "b2"
    assert cloud.writes[-1][3:] == ("b2", password)
    failed, result = run_module(volume.main, args(cloud, name="nothing", backup="b9", location="dc1"))
    assert failed and result["msg"].startswith("backup: backup b9 does not exist")


def test_follow_vip_is_refused_where_the_provider_cannot_keep_it_and_excludes_instance(cloud, run_module):
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, follow_vip="web"))
    assert failed and result["msg"].startswith("follow_vip: the fake provider cannot move a volume")
    assert cloud.volumes == {}
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, follow_vip="web", instance="db-1"))
    assert failed and "mutually exclusive" in result["msg"]


def test_follow_vip_needs_an_existing_vip_in_the_location(cloud, run_module):
    cloud.enforces = cloud.enforces + ("volume_follows_vip",)
    cloud.vips = [dict(name="far", location="dc2")]
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, follow_vip="web"))
    assert failed and result["msg"].startswith("follow_vip: vip web does not exist")
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, follow_vip="far"))
    assert failed and result["msg"].startswith("follow_vip: vip far is in dc2")
    assert cloud.volumes == {}


def test_a_following_volume_is_not_deleted(cloud, run_module):
    cloud.enforces = cloud.enforces + ("volume_follows_vip",)
    cloud.vips = [dict(name="web", location="dc1")]
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, follow_vip="web", mount_path="/srv/web"))
    assert not failed and result["volume"]["follow_vip"] == "web" and result["volume"]["mount_path"] == "/srv/web"
    failed, result = run_module(volume.main, args(cloud, state="absent"))
    assert failed and "follows vip web" in result["msg"] and "follow_vip: null" in result["msg"]
    assert "data" in cloud.volumes


def test_backup_schedule_is_refused_where_the_provider_cannot_keep_it(cloud, run_module):
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, backup_schedule=dict(time="03:15")))
    assert failed and result["msg"].startswith("backup_schedule: the fake provider does not take scheduled backups")
    assert cloud.writes == [] and not os.path.exists(os.path.join(cloud.state_dir, "backups"))


@pytest.mark.parametrize("schedule, field, words", [
    (dict(time="3:15"), "backup_schedule.time", "is not HH:MM"),
    (dict(time="24:00"), "backup_schedule.time", "is not HH:MM"),
    (dict(keep=0), "backup_schedule.keep", "from 1 to 366"),
    (dict(backup_location="DC 2"), "backup_schedule.backup_location", ""),
    (dict(backup_location="dc9"), "backup_schedule.backup_location", "data-residency policy"),
])
def test_a_bad_backup_schedule_is_refused_naming_its_field_before_anything(cloud, run_module, schedule, field, words):
    cloud.enforces = cloud.enforces + ("backup_schedule",)
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, allowed_locations=["dc1", "dc2"],
                                                  backup_schedule=schedule))
    assert failed and result["msg"].startswith(field + ":") and words in result["msg"], result["msg"]
    assert cloud.writes == [] and not os.path.exists(os.path.join(cloud.state_dir, "backups"))


def test_a_volume_with_a_long_name_gets_no_schedule(cloud, run_module):
    cloud.enforces = cloud.enforces + ("backup_schedule",)
    failed, result = run_module(volume.main, args(cloud, name="d" * 32, location="dc1", size=2, backup_schedule={}))
    assert failed and result["msg"].startswith("backup_schedule: volume %s has a name of 32 characters" % ("d" * 32))
    assert cloud.writes == []


def test_backup_schedule_is_set_idempotently_changed_and_stopped(cloud, run_module):
    cloud.enforces = cloud.enforces + ("backup_schedule",)
    run_module(volume.main, args(cloud, location="dc1", size=2))
    common = args(cloud, allowed_locations=["dc1", "dc2"])
    password = os.path.join(cloud.state_dir, "backups", "dc2.key")
    failed, result = run_module(volume.main, dict(common, backup_schedule=dict(backup_location="dc2", time="03:15")),
                                check=True, diff=True)
    assert not failed and result["changed"] and not os.path.exists(password)
    assert result["diff"]["before"]["backup_schedule"] is None
    assert result["diff"]["after"]["backup_schedule"] == dict(backup_location="dc2", time="03:15", keep=7,
                                                              password_file=password)
    assert len(cloud.writes) == 1
    failed, result = run_module(volume.main, dict(common, backup_schedule=dict(backup_location="dc2", time="03:15")))
    assert not failed and result["changed"] and result["volume"]["backup_schedule"]["time"] == "03:15"
    assert stat.S_IMODE(os.stat(password).st_mode) == 0o600
    with open(password) as handle:
        assert handle.read().strip() not in str(result)
    failed, again = run_module(volume.main, dict(common, backup_schedule=dict(backup_location="dc2", time="03:15")))
    assert not failed and not again["changed"]
    # Left out: the schedule stays as it is.
    failed, again = run_module(volume.main, dict(common, size=2))
    assert not failed and not again["changed"] and again["volume"]["backup_schedule"]["keep"] == 7
    failed, result = run_module(volume.main, dict(common, backup_schedule=dict(backup_location="dc2", time="03:15", keep=14)))
    assert result["changed"] and cloud.writes[-1] == ("update_volume", "data", dict(backup_schedule=dict(
        backup_location="dc2", time="03:15", keep=14, password_file=password)))
    failed, result = run_module(volume.main, dict(common, backup_schedule=dict(enabled=False)))
    assert not failed and result["changed"] and result["volume"]["backup_schedule"] is None
    failed, again = run_module(volume.main, dict(common, backup_schedule=dict(enabled=False)))
    assert not failed and not again["changed"]


def test_a_new_volume_is_made_with_its_schedule_in_its_own_location(cloud, run_module):
    cloud.enforces = cloud.enforces + ("backup_schedule",)
    failed, result = run_module(volume.main, args(cloud, location="dc1", size=2, backup_schedule={}))
    assert not failed and result["volume"]["backup_schedule"] == dict(
        backup_location="dc1", time="02:00", keep=7, password_file=os.path.join(cloud.state_dir, "backups", "dc1.key"))
    assert cloud.volumes["data"]["backup_schedule"]["backup_location"] == "dc1"
