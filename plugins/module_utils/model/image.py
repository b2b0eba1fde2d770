# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image resource: a catalog image's options, its one result shape, and its planning.

An image of the catalog is made from a Debian root filesystem (a registry's
``debian:<codename>``, debootstrap from a Debian archive, a tarball, or an
image already on the platform) and the collection's own recipe on top. A
provider says what a request would be built from (``image_inputs``): the same
inputs give the same image, and nothing is rebuilt until they change. Used by
the image and image_info modules and by every provider.
"""

from __future__ import annotations

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.common import check_labels, check_name

# Catalog releases and their Debian codenames.
RELEASES = {"debian12": "bookworm", "debian13": "trixie"}
DEFAULT_RELEASE = "debian12"
# auto: the tarball when one is given, else the registry's debian:<codename>
# when a registry answers, else debootstrap from the Debian archive.
SOURCES = ("auto", "registry", "debootstrap", "tarball", "image")

IMAGE_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    release=dict(type="str", choices=sorted(RELEASES)),
    source=dict(type="str", choices=list(SOURCES), default="auto"),
    tarball=dict(type="path"),
    base_image=dict(type="str"),
    debian_mirror=dict(type="str"),
    debian_security_mirror=dict(type="str"),
    labels=dict(type="dict"),
    force=dict(type="bool", default=False),
    image_signature=dict(type="path"),
    image_signing_key=dict(type="str", no_log=False),
    image_signing_private_key=dict(type="path", no_log=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    # A cold build (debootstrap, then the packages of the recipe) takes minutes.
    wait_timeout=dict(type="int", default=1800),
)


def image_result(name, reference, image_id, digests=None, release=None, source=None, base=None, inputs=None,
                 labels=None, provider=None):
    """The one shape of a catalog image, returned by image, image_info and list_images of every provider.

    id is the digest that an instance's image_digest pins and a signature covers.
    """
    return dict(
        name=name,
        reference=reference,
        id=image_id,
        digest=image_id,
        digests=list(digests or []),
        release=release,
        source=source,
        base=base,
        inputs=inputs,
        labels=dict(labels or {}),
        provider=provider,
    )


def desired_image(params):
    """The request, checked and complete: {name, release, codename, source, tarball, base_image, mirrors, labels}."""
    name = check_name(params["name"])
    release = params.get("release") or DEFAULT_RELEASE
    source = params.get("source") or "auto"
    tarball = params.get("tarball")
    if source == "tarball" and not tarball:
        raise IaasError("is required with source: tarball", field="tarball",
                        fix="give the path of a root filesystem tarball (docker export, debootstrap | tar) "
                            "or of a docker save archive on the host that runs the module")
    if tarball and source not in ("auto", "tarball"):
        raise IaasError("is only read with source: tarball (or auto), not source: %s" % source, field="tarball",
                        fix="drop tarball, or set source: tarball")
    if tarball:
        source = "tarball"
    if params.get("base_image") and source == "auto":
        source = "registry"
    if source == "image" and not params.get("base_image"):
        raise IaasError("is required with source: image", field="base_image",
                        fix="name the image on the platform the catalog image is built from, e.g. debian:bookworm")
    if params.get("base_image") and source not in ("registry", "image", "auto"):
        raise IaasError("is only read with source: registry, image or auto", field="base_image",
                        fix="drop base_image, or set source: registry (pull it) or image (it is already there)")
    return dict(name=name, release=release, codename=RELEASES[release], source=source, tarball=tarball,
                base_image=params.get("base_image"), debian_mirror=params.get("debian_mirror"),
                debian_security_mirror=params.get("debian_security_mirror"),
                labels=check_labels(params.get("labels")))


def planned_image(spec, inputs, current, provider):
    """What the image would be after a build with INPUTS (check mode): the digest is not known before the build."""
    after = image_result(name=spec["name"], reference=current["reference"] if current else None, image_id=None,
                         release=spec["release"], source=spec["source"], inputs=inputs, labels=spec["labels"],
                         provider=provider)
    return after


def is_current(current, inputs, force=False):
    """The image exists and was built from these inputs (and no rebuild is forced)."""
    return bool(current) and not force and current.get("inputs") == inputs
