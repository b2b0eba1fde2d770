#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_snapshot
short_description: Take and delete point-in-time snapshots of volumes
version_added: 0.1.0
description:
  - A snapshot is a point-in-time copy of a volume, kept in the volume's
    location; M(secure_cloud.iaas.volume) makes a new volume from it
    (O(secure_cloud.iaas.volume#module:snapshot)).
  - A snapshot is taken once; a task that names an existing snapshot changes
    only its labels, and naming another volume for it fails.
  - An encrypted volume's snapshot is encrypted with the same key.
  - On the C(docker) provider the volume's file systems are flushed and frozen
    (C(fsfreeze)) while its image is copied, so the copy is consistent even
    while the instance writes.
  - On the C(openstack) provider it is a Cinder snapshot.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - Name of the snapshot, unique in the provider.
    type: str
    required: true
  volume:
    description:
      - The volume to snapshot. Required to take one.
    type: str
  labels:
    description:
      - Free-form labels (string values) to find the snapshot by.
    type: dict
  state:
    description:
      - V(present) takes the snapshot if it is missing; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.attributes
seealso:
  - module: secure_cloud.iaas.volume_snapshot_info
  - module: secure_cloud.iaas.volume
"""

EXAMPLES = r"""
- name: Snapshot the database volume before an upgrade
  secure_cloud.iaas.volume_snapshot:
    name: db-data-before-upgrade
    volume: db-data

- name: Roll back - a new volume from the snapshot
  secure_cloud.iaas.volume:
    name: db-data-rolled-back
    snapshot: db-data-before-upgrade

- name: Delete the snapshot
  secure_cloud.iaas.volume_snapshot:
    name: db-data-before-upgrade
    state: absent
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
volume_snapshot:
  description: The snapshot as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the snapshot.
      type: str
      sample: db-data-before-upgrade
    volume:
      description: The volume it was taken of.
      type: str
      sample: db-data
    location:
      description: Its location, the volume's.
      type: str
      sample: fra1
    size:
      description: The volume's size when it was taken, in GiB.
      type: int
      sample: 10
    encrypted:
      description: Whether it is encrypted (as its volume).
      type: bool
      sample: true
    created:
      description: When it was taken (UTC, ISO 8601); null in check mode.
      type: str
      sample: "2026-12-06T16:50:02Z"
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
      sample: snap-3f6c0d9e2b1a
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import VOLUME_SNAPSHOT_ARGUMENT_SPEC, snapshot_result
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import TakenOnceModule


class VolumeSnapshotModule(TakenOnceModule):
    kind = "volume_snapshot"
    argument_spec = VOLUME_SNAPSHOT_ARGUMENT_SPEC
    origin = (("volume", "volume"),)

    def list_resources(self):
        return self.provider.list_volume_snapshots()

    def take(self, labels):
        volume = self.volume_to_copy()
        if self.check_mode:
            return self.set_resource(None, snapshot_result(self.params["name"], volume["name"], volume["location"],
                                                           volume["size"], volume["encrypted"], labels=labels,
                                                           provider=self.provider.name), True)
        with self.provider.transaction():
            after = self.provider.create_volume_snapshot(dict(name=self.params["name"], labels=labels), volume)
        self.set_resource(None, after, True)

    def update_labels(self, current, labels):
        return self.provider.update_volume_snapshot(current, labels)

    def delete(self, current):
        self.provider.delete_volume_snapshot(current)


def main():
    VolumeSnapshotModule().run()


if __name__ == "__main__":
    main()
