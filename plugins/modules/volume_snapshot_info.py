#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_snapshot_info
short_description: List volume snapshots
version_added: 0.1.0
description:
  - Lists the volume snapshots of the provider, filtered by name, location and labels,
    in the same shape M(secure_cloud.iaas.volume_snapshot) returns.
  - Returns an empty list when nothing matches.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description: Only the one of this name.
    type: str
  location:
    description: Only those in this location.
    type: str
  labels:
    description: Only those that carry all these labels with these values.
    type: dict
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.info_attributes
seealso:
  - module: secure_cloud.iaas.volume_snapshot
"""

EXAMPLES = r"""
- name: List the volume snapshots of fra1
  secure_cloud.iaas.volume_snapshot_info:
    location: fra1
  register: found
"""

RETURN = r"""
volume_snapshots:
  description:
    - The matching volume snapshots, sorted by name; empty when none match.
    - Each has the shape of RV(secure_cloud.iaas.volume_snapshot#module:volume_snapshot).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import InfoModule


class VolumeSnapshotInfoModule(InfoModule):
    kind = "volume_snapshot"
    plural = "volume_snapshots"

    def list_resources(self):
        return self.provider.list_volume_snapshots()


def main():
    VolumeSnapshotInfoModule().run()


if __name__ == "__main__":
    main()
