# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Volumes, their snapshots and their backups: options, result shapes and the rules.

A volume is persistent storage in one location, attached to at most one
instance at a mount path. It is encrypted at rest by default with a key the
collection generates into a 0600 file on the controller (or one the user
gives). A snapshot is a point-in-time copy in the volume's location; a backup
an encrypted, deduplicated copy in a backup location, which the data-residency
policy (allowed_locations) governs like any other location. A volume can be
made from either.

The rules for the cases that could lose data or leave it behind:

* a volume is never shrunk (only grown) and never moves between locations;
* deleting a volume is refused while it is attached, and while snapshots of it
  exist (they would be left without the volume whose key they share);
* attaching a volume that is attached to another instance is refused: it is
  detached first (``instance: null``), so two instances never have it at once;
  a volume that follows a vip (``follow_vip``) is moved by the provider, which
  fences the old holder before the new one gets it;
* deleting an instance is refused while a volume is attached to it.

A volume can carry a backup schedule: once a day at a UTC time the provider
backs it up as NAME-YYYYMMDD (the first at once) and keeps the newest ``keep``
of those; backups taken by hand are never pruned.
"""

from __future__ import annotations

import datetime
import os
import posixpath
import re

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, check_location, check_name

MAX_SIZE_GB = 16384
# A scheduled backup is named VOLUME-YYYYMMDD, and a name has at most 40 characters.
SCHEDULED_NAME_MAX = 31
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

BACKUP_SCHEDULE_SPEC = dict(
    enabled=dict(type="bool", default=True),
    backup_location=dict(type="str"),
    time=dict(type="str", default="02:00"),
    keep=dict(type="int", default=7),
    # A path, not a secret: said so, or Ansible warns of a missing no_log for its name.
    password_file=dict(type="path", no_log=False),
)

VOLUME_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    location=dict(type="str"),
    size=dict(type="int"),
    encrypted=dict(type="bool"),
    encryption_key_file=dict(type="path"),
    # Three meanings, as a vip's holder: omitted (leave as is), null (detach), a name (attach there).
    instance=dict(type="raw"),
    # As instance: omitted (leave as is), null (stop following, stay attached), a vip's name.
    follow_vip=dict(type="raw"),
    mount_path=dict(type="str"),
    snapshot=dict(type="str"),
    backup=dict(type="str"),
    backup_schedule=dict(type="dict", options=BACKUP_SCHEDULE_SPEC),
    labels=dict(type="dict"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)
VOLUME_MUTUALLY_EXCLUSIVE = [["snapshot", "backup"], ["instance", "follow_vip"]]

VOLUME_SNAPSHOT_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    volume=dict(type="str"),
    labels=dict(type="dict"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)

VOLUME_BACKUP_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    volume=dict(type="str"),
    backup_location=dict(type="str"),
    # A path, not a secret: said so, or Ansible warns of a missing no_log for its name.
    password_file=dict(type="path", no_log=False),
    labels=dict(type="dict"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)

# Paths a volume may not be mounted on: the guest's own system would be hidden.
SYSTEM_PATHS = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin", "/sys",
                "/tmp", "/usr", "/var", "/home")


def volume_result(name, location, size, encrypted, instance=None, mount_path=None, key_file=None, source=None,
                  follow_vip=None, backup_schedule=None, status="available", labels=None, provider=None, resource_id=None):
    """The one shape of a volume. ``key_file`` is where its key is (a path, never the key); ``follow_vip``
    the vip whose holder it is attached to (``instance``: that holder now); ``backup_schedule``
    {backup_location, time, keep, password_file} or None."""
    return dict(name=name, location=location, size=size, encrypted=bool(encrypted), instance=instance,
                mount_path=mount_path if instance or follow_vip else None, key_file=key_file, source=source,
                follow_vip=follow_vip, backup_schedule=dict(backup_schedule) if backup_schedule else None, status=status,
                labels=dict(labels or {}), provider=provider, id=resource_id)


def snapshot_result(name, volume, location, size, encrypted, created=None, labels=None, provider=None, resource_id=None):
    return dict(name=name, volume=volume, location=location, size=size, encrypted=bool(encrypted), created=created,
                labels=dict(labels or {}), provider=provider, id=resource_id)


def backup_result(name, volume, location, volume_location, size, incremental, added_bytes=None, created=None,
                  scheduled=False, repository=None, labels=None, provider=None, resource_id=None):
    """``location`` is the backup location; ``added_bytes`` what this backup stored that earlier ones had not;
    ``scheduled``: taken by the volume's backup schedule (and pruned by it); ``repository``: where in the
    location the provider keeps it (a path or a container name)."""
    return dict(name=name, volume=volume, location=location, volume_location=volume_location, size=size,
                incremental=bool(incremental), added_bytes=added_bytes, created=created, scheduled=bool(scheduled),
                repository=repository, encrypted=True, labels=dict(labels or {}), provider=provider, id=resource_id)


def default_mount_path(name):
    return "/mnt/%s" % name


def check_mount_path(path, field="mount_path"):
    if not isinstance(path, str) or not path.startswith("/") or posixpath.normpath(path) != path.rstrip("/") or \
            ".." in path.split("/") or len(path) > 200:
        raise IaasError("%r is not an absolute, normalised path" % (path,), field=field,
                        fix="give a path such as /srv/data")
    if any(path == p or (p != "/" and p in ("/proc", "/sys", "/dev", "/run") and path.startswith(p + "/"))
           for p in SYSTEM_PATHS):
        raise IaasError("%s would hide part of the guest's own system" % path, field=field,
                        fix="mount the volume on a path of its own, such as /srv/data or /mnt/NAME")
    return path


def check_volume_request(params):
    """The task's own parameters, before anything is connected to."""
    check_name(params["name"])
    check_labels(params.get("labels"))
    if params.get("location") is not None:
        check_name(params["location"], field="location")
    if params.get("size") is not None and not 1 <= params["size"] <= MAX_SIZE_GB:
        raise IaasError("must be from 1 to %d (GiB)" % MAX_SIZE_GB, field="size", fix="give e.g. size: 10")
    instance = params.get("instance")
    if instance is not None:
        if not isinstance(instance, str):
            raise IaasError("must be an instance name, or null to detach", field="instance",
                            fix="give e.g. instance: db-1")
        check_name(instance, field="instance")
    if params.get("mount_path") is not None:
        check_mount_path(params["mount_path"])
    follow = params.get("follow_vip")
    if follow is not None:
        if not isinstance(follow, str):
            raise IaasError("must be a vip's name, or null to stop following", field="follow_vip",
                            fix="give e.g. follow_vip: db")
        check_name(follow, field="follow_vip")
    for field in ("snapshot", "backup"):
        if params.get(field) is not None:
            check_name(params[field], field=field)
    check_backup_schedule(params)
    if params.get("encrypted") is False and params.get("encryption_key_file"):
        raise IaasError("an unencrypted volume has no key", field="encryption_key_file",
                        fix="leave encryption_key_file out, or set encrypted: true")


def check_backup_schedule(params):
    """The schedule's own values, before anything is connected to."""
    schedule = params.get("backup_schedule")
    if not schedule or not schedule["enabled"]:
        return
    field = "backup_schedule"
    if not TIME_RE.match(schedule["time"] or ""):
        raise IaasError("time %r is not HH:MM (UTC, 24 hours)" % (schedule["time"],), field=field + ".time",
                        fix="give e.g. time: \"02:30\" (quoted, or YAML reads it as a number)")
    if not 1 <= schedule["keep"] <= 366:
        raise IaasError("keep must be from 1 to 366 (scheduled backups kept)", field=field + ".keep", fix="give e.g. keep: 7")
    if schedule.get("backup_location") is not None:
        check_name(schedule["backup_location"], field=field + ".backup_location")
    if len(params["name"]) > SCHEDULED_NAME_MAX:
        raise IaasError("volume %s has a name of %d characters; its scheduled backups are named NAME-YYYYMMDD, and a name "
                        "has at most 40" % (params["name"], len(params["name"])), field=field,
                        fix="give the volume a name of at most %d characters" % SCHEDULED_NAME_MAX)


def desired_schedule(schedule, location, state_dir):
    """The schedule as the provider keeps it ({backup_location, time, keep, password_file}), None when off."""
    if not schedule or not schedule["enabled"]:
        return None
    backup_location = schedule.get("backup_location") or location
    return dict(backup_location=backup_location, time=schedule["time"], keep=schedule["keep"],
                password_file=schedule.get("password_file") or default_backup_password_file(state_dir, backup_location))


def schedule_slot(time_of_day, now):
    """The latest daily slot at TIME_OF_DAY (HH:MM, UTC) not after NOW (an aware UTC datetime)."""
    hour, minute = (int(part) for part in time_of_day.split(":"))
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return slot if slot <= now else slot - datetime.timedelta(days=1)


def scheduled_backup_name(volume, slot):
    return "%s-%s" % (volume, slot.strftime("%Y%m%d"))


def due_backup(volume, schedule, backups, now):
    """The name of the backup VOLUME's schedule wants now, or None when it exists, or a later day's does
    (the clock was set back: the day is not taken twice). A new schedule's first backup is due at once
    (its slot is the latest one passed)."""
    name = scheduled_backup_name(volume, schedule_slot(schedule["time"], now))
    if any(b["name"] == name or (b["volume"] == volume and b.get("scheduled") and b["name"] > name) for b in backups):
        return None
    return name


def backups_to_prune(volume, keep, backups):
    """Names of VOLUME's scheduled backups beyond the newest KEEP (the dated names sort by age)."""
    own = sorted(b["name"] for b in backups if b["volume"] == volume and b.get("scheduled"))
    return own[:-keep] if len(own) > keep else []


def default_key_file(state_dir, name):
    return os.path.join(os.path.abspath(os.path.expanduser(state_dir)), "volumes", "%s.key" % name)


def default_backup_password_file(state_dir, location):
    return os.path.join(os.path.abspath(os.path.expanduser(state_dir)), "backups", "%s.key" % location)


def desired_volume(params, provider_name, source=None):
    """The volume a create would make (source: the snapshot or backup result it is made from)."""
    snapshot = source is not None and source["kind"] == "snapshot"
    if source is not None:
        location = params.get("location") or source.get("volume_location") or source["location"]
        size = params.get("size") or source["size"]
        if params.get("size") and params["size"] < source["size"]:
            raise IaasError("%s holds %d GiB; a volume made from it cannot be smaller" % (source["name"], source["size"]),
                            field="size", fix="give size: %d or more, or leave size out" % source["size"])
    else:
        location = check_location(params.get("location"), "a volume")
        size = params.get("size")
        if not size:
            raise IaasError("is required to create a volume", field="size", fix="give the size in GiB, e.g. size: 10")
    encrypted = params.get("encrypted")
    if encrypted is None:
        encrypted = source["encrypted"] if snapshot else True
    if snapshot and encrypted != source["encrypted"]:
        raise IaasError("snapshot %s is %s; a volume made from it is the same" % (
            source["name"], "encrypted" if source["encrypted"] else "not encrypted"), field="encrypted",
            fix="leave encrypted out")
    instance, follow = params.get("instance"), params.get("follow_vip")
    return volume_result(params["name"], location, size, encrypted, instance=instance,
                         mount_path=(params.get("mount_path") or default_mount_path(params["name"])) if instance or follow
                         else None, follow_vip=follow, source=source["name"] if source else None,
                         backup_schedule=desired_schedule(params.get("backup_schedule"), location, params.get("state_dir")),
                         labels=check_labels(params.get("labels")), provider=provider_name)


def volume_changes(current, params):
    """{field: new value} a present volume needs; IaasError for what cannot change."""
    changes = {}
    if params.get("location") and params["location"] != current["location"]:
        raise IaasError("volume %s is in location %s; a resource never moves between locations"
                        % (current["name"], current["location"]), field="location",
                        fix="keep location %s; to copy the data elsewhere back it up to a location you allow" % current["location"])
    if params.get("encrypted") is not None and params["encrypted"] != current["encrypted"]:
        raise IaasError("volume %s is %s; that is fixed when it is made" % (
            current["name"], "encrypted" if current["encrypted"] else "not encrypted"), field="encrypted",
            fix="keep encrypted: %s, or make a new volume and copy the data" % str(current["encrypted"]).lower())
    for field in ("snapshot", "backup"):
        if params.get(field) and params[field] != current.get("source"):
            raise IaasError("volume %s exists; %s only applies when it is made" % (current["name"], field), field=field,
                            fix="leave %s out, or give a new volume name to make one from %s" % (field, params[field]))
    if params.get("size") is not None and params["size"] != current["size"]:
        if params["size"] < current["size"]:
            raise IaasError("volume %s has %d GiB; a volume is never shrunk (its data would be cut)"
                            % (current["name"], current["size"]), field="size",
                            fix="give size: %d or more" % current["size"])
        changes["size"] = params["size"]
    if params.get("labels") is not None and check_labels(params["labels"]) != current["labels"]:
        changes["labels"] = check_labels(params["labels"])
    if params.get("backup_schedule") is not None:
        schedule = desired_schedule(params["backup_schedule"], current["location"], params.get("state_dir"))
        if schedule != current.get("backup_schedule"):
            changes["backup_schedule"] = schedule
    return changes


def follow_change(current, params, given_follow):
    """{follow_vip, mount_path} when the task changes which vip the volume follows, else {}."""
    if not given_follow or params.get("follow_vip") == current.get("follow_vip"):
        return {}
    change = dict(follow_vip=params.get("follow_vip"))
    if params.get("follow_vip"):
        change["mount_path"] = params.get("mount_path") or current.get("mount_path") or default_mount_path(current["name"])
    return change


def check_followable(volume_name, vip_name, vips, location):
    """The vip exists and is in the volume's location."""
    vip = next((v for v in vips if v["name"] == vip_name), None)
    if vip is None:
        raise IaasError("vip %s does not exist" % vip_name, field="follow_vip",
                        fix="create it first (secure_cloud.iaas.vip), or name an existing one")
    if vip["location"] != location:
        raise IaasError("vip %s is in %s and volume %s in %s" % (vip_name, vip["location"], volume_name, location),
                        field="follow_vip", fix="follow a vip in %s" % location)


def attachment_change(current, params, given_instance):
    """(instance, mount_path) the volume should end with, or None when the task leaves it."""
    if not given_instance:
        if params.get("mount_path") and current.get("instance") and params["mount_path"] != current["mount_path"]:
            return current["instance"], params["mount_path"]
        return None
    instance = params.get("instance")
    if instance is None:
        return (None, None) if current.get("instance") else None
    path = params.get("mount_path") or (current["mount_path"] if current.get("instance") == instance else None) \
        or default_mount_path(current["name"])
    if current.get("instance") == instance and current.get("mount_path") == path:
        return None
    return instance, path


def check_attachable(volume_name, instance_name, instances, location):
    """The instance exists and is in the volume's location."""
    by_name = dict((i["name"], i) for i in instances)
    if instance_name not in by_name:
        raise IaasError("instance %s does not exist" % instance_name, field="instance",
                        fix="create it first (secure_cloud.iaas.instance), or name an existing one")
    if by_name[instance_name].get("location") != location:
        raise IaasError("instance %s is in %s and volume %s in %s; a volume attaches only in its own location"
                        % (instance_name, by_name[instance_name].get("location"), volume_name, location),
                        field="instance", fix="attach it to an instance in %s" % location)


def volumes_of_instance(name, volumes):
    return sorted(v["name"] for v in volumes if v.get("instance") == name)
