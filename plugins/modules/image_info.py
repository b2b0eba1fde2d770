#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: image_info
short_description: List the images of the instance catalog
version_added: 0.1.0
description:
  - Lists the catalog's images, filtered by name and labels, in the same
    shape M(secure_cloud.iaas.image) returns, each with its digest
    (its C(id)), what M(secure_cloud.iaas.instance) pins.
  - Returns an empty list when nothing matches.
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description: Only the image of this catalog name.
    type: str
  labels:
    description: Only images that carry all these labels with these values.
    type: dict
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.info_attributes
seealso:
  - module: secure_cloud.iaas.image
  - module: secure_cloud.iaas.instance
"""

EXAMPLES = r"""
- name: The digest of the debian12 image
  secure_cloud.iaas.image_info:
    name: debian12
  register: found

- name: Pin an instance to it
  secure_cloud.iaas.instance:
    name: web-1
    image: debian12
    image_digest: "{{ found.images[0].id }}"
    location: fra1
    networks: [{vlan: front}]
"""

RETURN = r"""
images:
  description:
    - The matching images, sorted by name; empty when none match.
    - Each has the shape of RV(secure_cloud.iaas.image#module:image).
  returned: always
  type: list
  elements: dict
  sample:
    - name: debian12
      reference: secure-cloud-iaas/instance:debian12
      id: sha256:eba1d0b4c76869d792f72bda9c85070dbd0c87c304af4b1fadc1e5b18941c4c1
      digest: sha256:eba1d0b4c76869d792f72bda9c85070dbd0c87c304af4b1fadc1e5b18941c4c1
      digests: []
      release: debian12
      source: debootstrap
      base: secure-cloud-iaas/base:debian12
      inputs: 5f1d3c0a9b2e4d67-bookworm
      labels: {}
      provider: docker
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, filter_resources
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import InfoModule


class ImageInfoModule(InfoModule):
    kind = "image"
    plural = "images"
    # Images have no location: they are the platform's, usable in every one.
    argument_spec = dict(
        name=dict(type="str"),
        labels=dict(type="dict"),
    )

    def __init__(self):
        super(ImageInfoModule, self).__init__()
        self.params["start_host_agent"] = False  # reading the catalog needs no host agent

    def execute(self):
        self.result[self.plural] = filter_resources(self.provider.list_images(), name=self.params.get("name"),
                                                    labels=check_labels(self.params.get("labels")))


def main():
    ImageInfoModule().run()


if __name__ == "__main__":
    main()
