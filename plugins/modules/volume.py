#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume
short_description: Create, grow, attach, detach and delete encrypted volumes
version_added: 0.1.0
description:
  - A volume is persistent storage in one location that outlives the instances
    it is attached to. It is attached to at most one instance at a time, at a
    mount path, and can be attached and detached while the instance runs; it
    stays attached across restarts of the instance.
  - Encrypted at rest by default, with a key the module generates with the
    operating system's CSPRNG into O(encryption_key_file) (mode 0600, directory
    0700) on the host that runs the module, or a key you give there. Lose the
    key file and the data is lost with it.
  - A volume can be made from a snapshot (M(secure_cloud.iaas.volume_snapshot))
    or restored from a backup (M(secure_cloud.iaas.volume_backup)).
  - A volume only grows; it never moves between locations. Deleting one is
    refused while it is attached, and while snapshots of it exist. Attaching a
    volume that is attached to another instance is refused (detach it first,
    O(instance=null)), so two instances never have it at once.
  - Deleting an instance that has a volume attached is refused by
    M(secure_cloud.iaas.instance).
  - On the C(docker) provider a volume is a sparse ext4 image file in the
    engine's store on the Docker host (its size is the limit), and what the
    image holds is gocryptfs ciphertext (AES-256-GCM over file contents and
    names; the number and sizes of files stay visible). It is opened on the host only
    while attached (or for a snapshot or backup), and placed into the guest with
    the kernel's mount API, so the guest needs no capability. This needs root,
    C(gocryptfs), C(e2fsprogs) and C(restic) on the Docker host and a local engine.
  - On the C(openstack) provider a volume is a Cinder volume (an encrypted
    volume type, whose key Barbican keeps; O(encryption_key_file) is not used).
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - Name of the volume, unique in the provider.
      - 1 to 40 lower-case letters, digits and hyphens, starting with a letter.
    type: str
    required: true
  location:
    description:
      - The location (data center) of the volume. Required to create one, except
        from a snapshot or backup (then it defaults to the source volume's).
      - Must be in O(allowed_locations) when that policy is set.
    type: str
  size:
    description:
      - Size in GiB. Required to create a volume (from a snapshot or backup it
        defaults to the source's size). A larger value grows the volume in
        place, attached or not; a smaller one is refused.
    type: int
  encrypted:
    description:
      - Whether the data is encrypted at rest. Fixed once the volume exists.
      - Defaults to V(true); a volume made from a snapshot is as its snapshot.
    type: bool
  encryption_key_file:
    description:
      - The file on the host that runs the module that holds the volume's key.
        When missing, a new random key is written there (mode 0600).
      - Defaults to C(<state_dir>/volumes/<name>.key).
      - A volume made from a snapshot uses the key of the snapshot's volume.
    type: path
  instance:
    description:
      - The instance to attach the volume to (in the volume's location), or
        V(null) to detach it. Left out, the attachment stays as it is.
      - Detaching is refused while a process in the instance uses the mount.
    type: raw
  follow_vip:
    description:
      - Keep the volume attached to whichever instance holds this vip (the
        active of a keepalived pair). When the vip moves, the old holder is
        fenced first (its processes that use the volume are killed and the
        mount is taken away), then the new holder gets it, so two instances
        never have it at once. The host agent watches the vip's holder ten
        times a second; every module run checks it too.
      - V(null) stops following and leaves the volume where it is.
      - Mutually exclusive with O(instance). Only on the C(docker) provider
        with a local engine.
    type: raw
  mount_path:
    description:
      - Where the volume appears in the instance. Defaults to C(/mnt/<name>).
      - A different path on the same instance moves the mount.
    type: str
  snapshot:
    description:
      - Make the new volume from this snapshot. Only used when the volume is made.
      - Mutually exclusive with O(backup).
    type: str
  backup:
    description:
      - Restore this backup into the new volume. Only used when the volume is made.
      - The backup location's password file is read from its default place
        (see M(secure_cloud.iaas.volume_backup)).
      - Mutually exclusive with O(snapshot).
    type: str
  backup_schedule:
    description:
      - Back the volume up once a day, encrypted and deduplicated (as
        M(secure_cloud.iaas.volume_backup) does), into backups named
        C(<name>-YYYYMMDD). The first is taken at once, then one a day at
        O(backup_schedule.time); the newest O(backup_schedule.keep) of them are
        kept and older ones deleted. Backups taken by hand are never deleted.
      - The provider takes them, whether or not a playbook runs (on the
        C(docker) provider the host agent, which checks every ten seconds).
      - Left out, the schedule stays as it is; O(backup_schedule.enabled=false)
        stops it and keeps the backups taken.
      - The volume's name has at most 31 characters. Only on the C(docker) provider with a local engine.
    type: dict
    suboptions:
      enabled:
        description: Whether the volume is backed up every day.
        type: bool
        default: true
      backup_location:
        description:
          - Where the backups go. Defaults to the volume's own location.
          - Must be in O(allowed_locations) when that policy is set.
        type: str
      time:
        description: The time of day of the backup, C(HH:MM) in UTC (quote it in YAML).
        type: str
        default: "02:00"
      keep:
        description: How many scheduled backups are kept (1 to 366).
        type: int
        default: 7
      password_file:
        description:
          - The backup location's password file (see M(secure_cloud.iaas.volume_backup)),
            generated (mode 0600) when missing.
          - Defaults to C(<state_dir>/backups/<backup_location>.key).
        type: path
  labels:
    description:
      - Free-form labels (string values) to find the volume by.
    type: dict
  state:
    description:
      - V(present) makes, grows or (de)attaches the volume; V(absent) deletes it and its data.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.attributes
notes:
  - In check mode no key is generated; RV(volume.key_file) names where it would be.
seealso:
  - module: secure_cloud.iaas.volume_info
  - module: secure_cloud.iaas.volume_snapshot
  - module: secure_cloud.iaas.volume_backup
"""

EXAMPLES = r"""
- name: An encrypted 10 GiB volume for the database, attached at /srv/db
  secure_cloud.iaas.volume:
    name: db-data
    location: fra1
    size: 10
    instance: db-1
    mount_path: /srv/db
  register: db_data

- name: Grow it to 20 GiB while the database runs
  secure_cloud.iaas.volume:
    name: db-data
    size: 20

- name: Back it up every night at 02:30 UTC into the second data centre, keeping two weeks
  module_defaults:
    group/secure_cloud.iaas.iaas:
      allowed_locations: [fra1, fra2]
  secure_cloud.iaas.volume:
    name: db-data
    backup_schedule:
      backup_location: fra2
      time: "02:30"
      keep: 14

- name: Detach it (refused while something in db-1 uses /srv/db)
  secure_cloud.iaas.volume:
    name: db-data
    instance: null

- name: A new volume from last night's backup, on another instance
  secure_cloud.iaas.volume:
    name: db-data-restored
    backup: db-data-nightly
    instance: db-2
    mount_path: /srv/db
"""

RETURN = r"""
repaired:
  description:
    - What the provider enforces on the host that had drifted from the truth of the engine and
      its store, and that this run put back (would put back, in check mode).
  returned: when something had drifted
  type: list
  elements: str
  sample: ["vlan isolation table"]
volume:
  description: The volume as it is after the task (as it would be, in check mode); empty when absent. Never holds a key.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the volume.
      type: str
      sample: db-data
    location:
      description: Location of the volume.
      type: str
      sample: fra1
    size:
      description: Size in GiB.
      type: int
      sample: 10
    encrypted:
      description: Whether the data is encrypted at rest.
      type: bool
      sample: true
    key_file:
      description: The file that holds the key on the host that ran the module (null when not encrypted, or kept by the platform).
      type: str
      sample: /root/.local/state/secure_cloud_iaas/volumes/db-data.key
    instance:
      description: The instance it is attached to, or null.
      type: str
      sample: db-1
    mount_path:
      description: Where it appears in that instance, or null.
      type: str
      sample: /srv/db
    follow_vip:
      description: The vip whose holder it is attached to, or null.
      type: str
      sample: db
    backup_schedule:
      description: The daily backup schedule (RV(volume.backup_schedule.password_file) is a path, never the password), or null.
      type: dict
      contains:
        backup_location:
          description: Where the scheduled backups go.
          type: str
          sample: fra2
        time:
          description: Time of day of the backup (UTC).
          type: str
          sample: "02:30"
        keep:
          description: Scheduled backups kept.
          type: int
          sample: 14
        password_file:
          description: The backup location's password file.
          type: str
          sample: /root/.local/state/secure_cloud_iaas/backups/fra2.key
    source:
      description: The snapshot or backup it was made from, or null.
      type: str
      sample: db-data-nightly
    status:
      description: V(available), V(in-use), or what is wrong with it.
      type: str
      sample: in-use
    labels:
      description: The user's labels.
      type: dict
      sample: {tier: database}
    provider:
      description: The provider that holds it.
      type: str
      sample: docker
    id:
      description: The platform's identifier (null in check mode before creation).
      type: str
      sample: vol-3f6c0d9e2b1a
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils import secret_file
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import check_location_allowed
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import ResourceModule
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import (
    VOLUME_ARGUMENT_SPEC,
    VOLUME_MUTUALLY_EXCLUSIVE,
    attachment_change,
    check_attachable,
    check_followable,
    follow_change,
    check_volume_request,
    default_backup_password_file,
    default_key_file,
    desired_volume,
    volume_changes,
)


class VolumeModule(ResourceModule):
    kind = "volume"
    argument_spec = VOLUME_ARGUMENT_SPEC
    module_kwargs = dict(mutually_exclusive=VOLUME_MUTUALLY_EXCLUSIVE)
    # Made, grown and attached within the run: nothing is left to wait for.
    waits = False

    def validate(self):
        super(VolumeModule, self).validate()
        check_volume_request(self.params)

    def execute(self):
        params = self.params
        current = self.provider.get_volume(params["name"])
        if params["state"] == "absent":
            return self.absent(current)
        if current is None:
            return self.create()
        return self.present(current)

    def source(self):
        """The snapshot or backup the new volume is made from, and the backup's password file."""
        for field, listing, getter in (("snapshot", self.provider.list_volume_snapshots, self.provider.snapshot_source),
                                       ("backup", self.provider.list_volume_backups, self.provider.backup_source)):
            name = self.params.get(field)
            if not name:
                continue
            if not any(s["name"] == name for s in listing()):
                raise IaasError("%s %s does not exist" % (field, name), field=field,
                                fix="name an existing %s (secure_cloud.iaas.volume_%s_info lists them)" % (field, field))
            source = getter(name)
            secret = None
            if field == "backup":
                secret = default_backup_password_file(self.params["state_dir"], source["location"])
            return source, secret
        return None, None

    def create(self):
        params = self.params
        source, secret = self.source()
        desired = desired_volume(params, self.provider.name, source)
        check_location_allowed(params, desired["location"])
        key_file = None
        if desired["encrypted"]:
            key_file = params.get("encryption_key_file") or default_key_file(params["state_dir"], params["name"])
            if self.provider.capabilities().platform_keys:
                key_file = None
            elif source is not None and source.get("key_file"):
                key_file = source["key_file"]
            else:
                secret_file.read_or_create(key_file, "encryption_key_file", self.check_mode)
            desired["key_file"] = key_file
        self.prepare_schedule(desired.get("backup_schedule"))
        with self.provider.transaction():
            if desired["instance"]:
                check_attachable(desired["name"], desired["instance"], self.provider.list_instances(keys=False),
                                 desired["location"])
            if desired["follow_vip"]:
                self.check_follow(desired["name"], desired["follow_vip"], desired["location"])
            if self.check_mode:
                return self.set_resource(None, desired, True)
            after = self.provider.create_volume(desired, key_file, source, secret)
        self.set_resource(None, after, True)

    def present(self, current):
        params = self.params
        changes = volume_changes(current, params)
        following = follow_change(current, params, self.given("follow_vip"))
        changes.update(following)
        # Where a volume that follows a vip is attached is the vip's business.
        attach = None if current.get("follow_vip") or following.get("follow_vip") else \
            attachment_change(current, params, self.given("instance"))
        if attach and attach[0] and current["instance"] and current["instance"] != attach[0]:
            raise IaasError("volume %s is attached to %s; a volume is attached to one instance at a time"
                            % (current["name"], current["instance"]), field="instance",
                            fix="detach it first (instance: null), then attach it to %s" % attach[0])
        if not changes and not attach:
            return self.set_resource(current, current, False)
        if "backup_schedule" in changes:
            self.prepare_schedule(changes["backup_schedule"])
        after = dict(current, **changes)
        if attach:
            after.update(instance=attach[0], mount_path=attach[1], status="in-use" if attach[0] else "available")
        with self.provider.transaction():
            if attach and attach[0]:
                check_attachable(current["name"], attach[0], self.provider.list_instances(keys=False), current["location"])
            if following.get("follow_vip"):
                self.check_follow(current["name"], following["follow_vip"], current["location"])
            if self.check_mode:
                return self.set_resource(current, after, True)
            if changes:
                after = self.provider.update_volume(current, changes)
            if attach:
                if current["instance"]:
                    after = self.provider.detach_volume(after)
                if attach[0]:
                    after = self.provider.attach_volume(after, attach[0], attach[1])
        self.set_resource(current, after, True)

    def prepare_schedule(self, schedule):
        """A backup schedule the provider keeps, into an allowed location, with its password file."""
        if not schedule:
            return
        if "backup_schedule" not in self.provider.capabilities().enforces:
            raise IaasError("the %s provider does not take scheduled backups" % self.provider.name, field="backup_schedule",
                            fix="leave backup_schedule out and run secure_cloud.iaas.volume_backup from your scheduler")
        check_location_allowed(self.params, schedule["backup_location"], field="backup_schedule.backup_location")
        secret_file.read_or_create(schedule["password_file"], "backup_schedule.password_file", self.check_mode)

    def check_follow(self, name, vip, location):
        if "volume_follows_vip" not in self.provider.capabilities().enforces:
            raise IaasError("the %s provider cannot move a volume to whoever holds a vip" % self.provider.name,
                            field="follow_vip", fix="attach the volume with instance instead")
        check_followable(name, vip, self.provider.list_vips(), location)

    def absent(self, current):
        if current is None:
            return self.set_resource(None, None, False)
        if current.get("follow_vip"):
            raise IaasError("volume %s follows vip %s" % (current["name"], current["follow_vip"]), field="state",
                            fix="stop that first (follow_vip: null), detach it (instance: null), then delete it")
        if current["instance"]:
            raise IaasError("volume %s is attached to %s" % (current["name"], current["instance"]), field="state",
                            fix="detach it first (instance: null), then delete it")
        with self.provider.transaction():
            snapshots = sorted(s["name"] for s in self.provider.list_volume_snapshots() if s["volume"] == current["name"])
            if snapshots:
                raise IaasError("volume %s still has snapshots: %s" % (current["name"], ", ".join(snapshots)),
                                field="state", fix="delete them first (secure_cloud.iaas.volume_snapshot, state: absent)")
            if not self.check_mode:
                self.provider.delete_volume(current)
        self.set_resource(current, None, True)


def main():
    VolumeModule().run()


if __name__ == "__main__":
    main()
