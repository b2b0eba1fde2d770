#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_backup
short_description: Back up volumes, encrypted and deduplicated, to a backup location
version_added: 0.1.0
description:
  - A backup is an encrypted, deduplicated copy of a volume's data in a backup
    location. Every backup of a volume after the first stores only what
    changed (RV(volume_backup.added_bytes)). M(secure_cloud.iaas.volume)
    restores one into a new volume (O(secure_cloud.iaas.volume#module:backup)).
  - The backup location is a location like any other for the data-residency
    policy, so a backup never leaves the data centres O(allowed_locations) names;
    one outside them is refused before anything is read.
  - A backup is taken once; a task that names an existing backup changes only
    its labels. Name each run's backup anew (a date in the name) for a series.
  - On the C(docker) provider a backup location is a restic repository on the
    Docker host (C(/var/lib/secure-cloud-iaas/backups/<location>)), encrypted
    with the password in O(password_file) (generated, mode 0600, when missing).
    restic reads the volume's plaintext on the host (opening a detached volume
    for the time of the backup); the guest is not involved.
  - On the C(openstack) provider it is a Cinder backup.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - Name of the backup, unique in the provider.
    type: str
    required: true
  volume:
    description:
      - The volume to back up. Required to take a backup.
    type: str
  backup_location:
    description:
      - The backup location. Defaults to the volume's own location.
      - Must be in O(allowed_locations) when that policy is set.
    type: str
  password_file:
    description:
      - The file on the host that runs the module that holds the backup
        location's repository password. When missing, a random one is written
        there (mode 0600). Every backup in one location shares it; keep it with
        the volumes' keys.
      - Defaults to C(<state_dir>/backups/<backup_location>.key).
    type: path
  labels:
    description:
      - Free-form labels (string values) to find the backup by.
    type: dict
  state:
    description:
      - V(present) takes the backup if it is missing; V(absent) deletes it
        (what later backups share with it stays).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.attributes
notes:
  - In check mode no password is generated and nothing is read.
seealso:
  - module: secure_cloud.iaas.volume_backup_info
  - module: secure_cloud.iaas.volume
"""

EXAMPLES = r"""
- name: Tonight's backup of the database volume, in the second data centre
  module_defaults:
    group/secure_cloud.iaas.iaas:
      allowed_locations: [fra1, fra2]
  secure_cloud.iaas.volume_backup:
    name: "db-data-{{ now(utc=true, fmt='%Y%m%d') }}"
    volume: db-data
    backup_location: fra2

- name: Restore it into a new volume
  secure_cloud.iaas.volume:
    name: db-data-restored
    backup: db-data-20261206
    location: fra1
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
volume_backup:
  description: The backup as it is after the task (as it would be, in check mode); empty when absent. Never holds a secret.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the backup.
      type: str
      sample: db-data-20261206
    volume:
      description: The volume it was taken of.
      type: str
      sample: db-data
    location:
      description: The backup location.
      type: str
      sample: fra2
    volume_location:
      description: The volume's location.
      type: str
      sample: fra1
    size:
      description: The volume's size when it was taken, in GiB.
      type: int
      sample: 10
    incremental:
      description: Whether an earlier backup of the volume in this location existed, so only changes were stored.
      type: bool
      sample: true
    repository:
      description:
        - Where in the backup location the provider keeps it. On the C(docker) provider the restic repository
          on the Docker host; on C(openstack) the backup store's container.
      type: str
      sample: /var/lib/secure-cloud-iaas/backups/fra2
    scheduled:
      description:
        - Whether the volume's backup schedule took it (O(secure_cloud.iaas.volume#module:backup_schedule)); the
          schedule deletes its own old backups, never one taken by hand.
      type: bool
      sample: false
    added_bytes:
      description: What this backup stored that the location did not hold yet (after deduplication and compression); null in check mode.
      type: int
      sample: 52431
    encrypted:
      description: Always true.
      type: bool
      sample: true
    created:
      description: When it was taken (UTC, ISO 8601); null in check mode.
      type: str
      sample: "2026-12-06T23:00:04Z"
    labels:
      description: The user's labels.
      type: dict
      sample: {}
    provider:
      description: The provider that holds it.
      type: str
      sample: docker
    id:
      description: The platform's identifier (null in check mode before creation).
      type: str
      sample: backup-66cec13f
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils import secret_file
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import (
    VOLUME_BACKUP_ARGUMENT_SPEC,
    backup_result,
    default_backup_password_file,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import check_location_allowed
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import TakenOnceModule


class VolumeBackupModule(TakenOnceModule):
    kind = "volume_backup"
    argument_spec = VOLUME_BACKUP_ARGUMENT_SPEC
    origin = (("volume", "volume"), ("backup_location", "location"))

    def validate(self):
        super(VolumeBackupModule, self).validate()
        if self.params.get("backup_location"):
            check_location_allowed(self.params, self.params["backup_location"], field="backup_location")

    def list_resources(self):
        return self.provider.list_volume_backups()

    def take(self, labels):
        params = self.params
        volume = self.volume_to_copy()
        location = params.get("backup_location") or volume["location"]
        check_location_allowed(params, location, field="backup_location")
        password_file = params.get("password_file") or default_backup_password_file(params["state_dir"], location)
        if self.check_mode:
            incremental = any(b["volume"] == volume["name"] and b["location"] == location
                              for b in self.provider.list_volume_backups())
            return self.set_resource(None, backup_result(params["name"], volume["name"], location, volume["location"],
                                                         volume["size"], incremental, labels=labels,
                                                         provider=self.provider.name), True)
        if self.provider.capabilities().platform_keys:
            password_file = None
        else:
            secret_file.read_or_create(password_file, "password_file", False)
        # Under the lock: the volume stays as it is (not detached or deleted) while it is read.
        with self.provider.transaction():
            after = self.provider.create_volume_backup(dict(name=params["name"], location=location, labels=labels),
                                                       volume, password_file)
        self.set_resource(None, after, True)

    def update_labels(self, current, labels):
        return self.provider.update_volume_backup(current, labels)

    def delete(self, current):
        self.provider.delete_volume_backup(current)


def main():
    VolumeBackupModule().run()


if __name__ == "__main__":
    main()
