# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an instance is made from on the openstack provider: Glance images and Nova flavors."""

from __future__ import annotations

import math

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.image import image_result
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import INSTANCE_TYPES


class Catalog(object):
    """Images (the catalog of the contract) and the flavor that fits an instance; given the Connection."""

    def __init__(self, conn):
        self.conn = conn

    def list_images(self):
        """Active Glance images; id is Glance's multihash as '<os_hash_algo>:<hex>' (sha512 by default)."""
        return self.conn.cached("images", self._read_images)

    def _read_images(self):
        out = []
        for image in self.conn.list("list images", self.conn.image.images, status="active"):
            digest = None
            if image.hash_algo and image.hash_value:
                digest = "%s:%s" % (image.hash_algo, image.hash_value)
            entry = image_result(name=image.name, reference=image.id, image_id=digest or image.id,
                                 digests=[digest] if digest else [], provider="openstack")
            entry.update(uuid=image.id, min_disk=image.min_disk or 0)
            out.append(entry)
        return sorted(out, key=lambda i: i["name"] or "")

    def resolve_image(self, image):
        catalog = self.list_images()
        found = [e for e in catalog if image in (e["name"], e["reference"])]
        if len(found) > 1:
            raise IaasError("%d images are named %r" % (len(found), image), field="image",
                            fix="give the image's id instead (one of %s)" % ", ".join(e["uuid"] for e in found))
        if not found:
            raise IaasError("%r is not in the image catalog" % (image,), field="image",
                            fix="use one of: %s" % (", ".join(sorted(set(e["name"] for e in catalog if e["name"])))
                                                    or "(no active image in this project)"))
        return found[0]

    @staticmethod
    def refuse_build(spec):
        """Glance holds images uploaded to it; this collection builds none there (yet)."""
        raise IaasError("the openstack provider does not build or remove catalog images (image %s)" % spec["name"],
                        field="provider",
                        fix="upload the image to Glance (openstack image create --disk-format qcow2 --file IMAGE NAME) "
                            "and name it in secure_cloud.iaas.instance, or build it on provider: docker")

    def pick_flavor(self, cpus, memory_mb, min_disk=0):
        """The flavor the provider option ``flavors`` names, else the smallest that fits."""
        flavors = self.conn.list("list flavors", self.conn.compute.flavors, details=True)
        wanted = None
        for name, (type_cpus, type_mem) in INSTANCE_TYPES.items():
            if (type_cpus, type_mem) == (cpus, memory_mb):
                wanted = (self.conn.params.get("flavors") or {}).get(name)
        if wanted:
            match = [f for f in flavors if wanted in (f.name, f.id)]
            if not match:
                raise IaasError("flavor %r is not offered by this cloud" % wanted, field="flavors",
                                fix="map the instance type to one of: %s" % ", ".join(sorted(f.name for f in flavors)))
            return match[0]
        fits = [f for f in flavors if f.vcpus >= math.ceil(cpus) and f.ram >= memory_mb and (f.disk or 0) >= min_disk
                and f.is_public is not False]
        if not fits:
            raise IaasError("no flavor has %s vCPU and %s MiB of memory" % (math.ceil(cpus), memory_mb),
                            field="instance_type", fix="pick a smaller instance_type, or map it with the flavors option")
        return sorted(fits, key=lambda f: (f.vcpus, f.ram, f.disk or 0, f.name))[0]
