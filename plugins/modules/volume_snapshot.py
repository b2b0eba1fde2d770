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

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, check_name
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.volume import VOLUME_SNAPSHOT_ARGUMENT_SPEC, snapshot_result
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import ResourceModule


class VolumeSnapshotModule(ResourceModule):
    kind = "volume_snapshot"
    argument_spec = VOLUME_SNAPSHOT_ARGUMENT_SPEC
    waits = False

    def validate(self):
        super(VolumeSnapshotModule, self).validate()
        check_name(self.params["name"])
        if self.params.get("volume") is not None:
            check_name(self.params["volume"], field="volume")
        check_labels(self.params.get("labels"))

    def execute(self):
        params = self.params
        current = next((s for s in self.provider.list_volume_snapshots() if s["name"] == params["name"]), None)
        if params["state"] == "absent":
            if current is None:
                return self.set_resource(None, None, False)
            if not self.check_mode:
                with self.provider.transaction():
                    self.provider.delete_volume_snapshot(current)
            return self.set_resource(current, None, True)
        labels = check_labels(params.get("labels"))
        if current is not None:
            if params.get("volume") and params["volume"] != current["volume"]:
                raise IaasError("snapshot %s was taken of volume %s; a snapshot is taken once"
                                % (current["name"], current["volume"]), field="volume",
                                fix="give a new snapshot name to snapshot %s" % params["volume"])
            if params.get("labels") is None or labels == current["labels"]:
                return self.set_resource(current, current, False)
            after = dict(current, labels=labels)
            if not self.check_mode:
                with self.provider.transaction():
                    after = self.provider.update_volume_snapshot(current, labels)
            return self.set_resource(current, after, True)
        if not params.get("volume"):
            raise IaasError("is required to take a snapshot", field="volume", fix="name the volume, e.g. volume: db-data")
        volume = self.provider.get_volume(params["volume"])
        if volume is None:
            raise IaasError("volume %s does not exist" % params["volume"], field="volume",
                            fix="name an existing volume (secure_cloud.iaas.volume_info lists them)")
        if self.check_mode:
            return self.set_resource(None, snapshot_result(params["name"], volume["name"], volume["location"], volume["size"],
                                                           volume["encrypted"], labels=labels,
                                                           provider=self.provider.name), True)
        with self.provider.transaction():
            after = self.provider.create_volume_snapshot(dict(name=params["name"], labels=labels), volume)
        self.set_resource(None, after, True)


def main():
    VolumeSnapshotModule().run()


if __name__ == "__main__":
    main()
