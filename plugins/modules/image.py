#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: image
short_description: Build, import, sign and remove images of the instance catalog
version_added: 0.1.0
description:
  - Makes an image of the catalog that M(secure_cloud.iaas.instance) creates
    instances from, with the collection alone. The build recipe (systemd as
    PID 1, python3, openssh-server, sudo, iproute2, an SSH host key service)
    travels with the module, so no checkout and no C(make) is needed.
  - The image is built on a Debian root filesystem that comes from a
    registry (V(debian:<codename>)), from a Debian archive with
    C(debootstrap) on the host that runs the module when no registry answers,
    from a tarball (a root filesystem, or a C(docker save) archive), or from
    an image already on the platform.
  - Idempotent. The image carries a hash of its inputs (the recipe, where its
    root filesystem came from, its release and labels). The same inputs are
    the same image and nothing is rebuilt (V(changed=false)); a change of any
    input rebuilds it. O(force=true) rebuilds anyway, for instance to take in
    Debian's latest updates.
  - Reports the image's digest (RV(image.id)), which
    M(secure_cloud.iaas.instance) pins with O(secure_cloud.iaas.instance#module:image_digest),
    and signs it (O(image_signing_private_key)) or verifies its signature
    (O(image_signing_key)) as the instance module's provenance options do.
  - On the C(docker) provider the catalog image O(name) is
    C(secure-cloud-iaas/instance:<name>), built FROM
    C(secure-cloud-iaas/base:<name>) (the root filesystem). Images that a
    rebuild replaced are removed when nothing uses them any more.
  - The C(openstack) provider refuses to build; upload the image to Glance
    and name it in M(secure_cloud.iaas.instance).
author:
  - secure_cloud maintainers (@secure-cloud)
options:
  name:
    description:
      - The catalog name of the image, as M(secure_cloud.iaas.instance)'s
        O(secure_cloud.iaas.instance#module:image) names it (V(debian12)).
    type: str
    required: true
  release:
    description:
      - The Debian release of the root filesystem (for C(debootstrap) and the
        registry's V(debian:<codename>)); recorded on the image.
      - Defaults to V(debian12).
    type: str
    choices: [debian12, debian13]
  source:
    description:
      - Where the root filesystem comes from.
      - V(auto) uses O(tarball) when given, else the registry's
        V(debian:<codename>) when a registry answers, else C(debootstrap).
      - V(registry) pulls O(base_image) (default V(debian:<codename>)) and fails when no registry gives it.
      - V(debootstrap) runs C(debootstrap --variant=minbase) on the host that
        runs the module (it must be root and have C(debootstrap) installed)
        from O(debian_mirror), then imports the result.
      - V(tarball) imports O(tarball).
      - V(image) builds on O(base_image), an image already on the platform.
      - A registry's V(debian:<codename>) and C(debootstrap) of the same
        release count as the same input; switching between them does not
        rebuild.
    type: str
    choices: [auto, registry, debootstrap, tarball, image]
    default: auto
  tarball:
    description:
      - Path, on the host that runs the module, of a root filesystem tarball
        (C(docker export CONTAINER > rootfs.tar), C(tar -C ROOT -c .),
        compressed or not) or of a C(docker save) archive of one image.
      - Its content (SHA-256) is an input; another tarball rebuilds the image.
      - A C(docker save) archive made from an image's name gives that name
        back to the image when it is loaded; save it by ID
        (C(docker save IMAGE-ID)) to load it without any tag.
    type: path
  base_image:
    description:
      - With O(source=registry), the image to pull instead of V(debian:<codename>).
      - With O(source=image), the image on the platform to build on (its ID is an input).
    type: str
  debian_mirror:
    description:
      - The Debian archive C(debootstrap) and the image's apt use.
      - Defaults to the archive the host's own apt uses
        (C(/etc/apt/sources.list.d/*.sources) or C(/etc/apt/sources.list)).
    type: str
  debian_security_mirror:
    description:
      - The Debian security archive the image's apt uses; defaults to the
        one the host's apt uses, if any.
    type: str
  labels:
    description:
      - Labels the image carries (an input, so changing them rebuilds the image, from the cache).
    type: dict
  force:
    description:
      - Rebuild even when the inputs are unchanged.
    type: bool
    default: false
  image_signature:
    description:
      - Path of the detached SSH signature over the image's digest.
      - With O(image_signing_private_key), where the signature is written (and
        rewritten when it does not cover the image's current digest).
      - With O(image_signing_key) alone, the signature that must verify
        against the image's digest, or the task fails.
      - The format is the one M(secure_cloud.iaas.instance) checks. The signed
        message is the digest itself, in the namespace
        C(secure-cloud-iaas-image).
    type: path
  image_signing_key:
    description:
      - The public key the signature must verify against, as an OpenSSH
        public key line or the path of a file holding one.
    type: str
  image_signing_private_key:
    description:
      - Path of an OpenSSH private key (without a passphrase) to sign the
        image's digest with; the signature goes to O(image_signature).
      - Never printed; only its public half is used to verify the signature.
    type: path
  state:
    description:
      - V(present) builds the image when it is missing or its inputs changed;
        V(absent) removes it (refused while an instance uses it).
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - The build always finishes within the task (or fails); kept for the
        common options of the collection's mutating modules.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the whole build may take (C(debootstrap) and the recipe's
        packages take minutes the first time); it fails loudly after that.
    type: int
    default: 1800
extends_documentation_fragment:
  - secure_cloud.iaas.provider
  - secure_cloud.iaas.provider.attributes
notes:
  - The recipe's packages are installed from the Debian archive inside the
    build, so the engine's build containers need a way out to that archive.
  - Tested on the C(docker) provider with Docker 20.10, the classic builder,
    on Debian 12 hosts with no reachable registry (C(debootstrap) and
    tarballs).
seealso:
  - module: secure_cloud.iaas.image_info
  - module: secure_cloud.iaas.instance
"""

EXAMPLES = r"""
- name: Build the debian12 catalog image (a registry's debian:bookworm, or debootstrap from the host's Debian archive)
  secure_cloud.iaas.image:
    name: debian12
    release: debian12
  register: debian12

- name: Build an image from a root filesystem tarball, and sign its digest
  secure_cloud.iaas.image:
    name: golden
    tarball: /srv/images/rootfs.tar.xz
    image_signature: /srv/images/golden.sig
    image_signing_private_key: /root/.ssh/image-signer
  register: golden

- name: Create an instance from exactly that image
  secure_cloud.iaas.instance:
    name: web-1
    image: golden
    image_digest: "{{ golden.image.id }}"
    image_signature: /srv/images/golden.sig
    image_signing_key: /root/.ssh/image-signer.pub
    location: fra1
    networks: [{vlan: front}]

- name: Check that the debian12 image is the one a signature covers
  secure_cloud.iaas.image:
    name: debian12
    image_signature: files/debian12.sig
    image_signing_key: "{{ lookup('ansible.builtin.file', 'files/image-signer.pub') }}"

- name: Remove an image no instance uses any more
  secure_cloud.iaas.image:
    name: golden
    state: absent
"""

RETURN = r"""
image:
  description:
    - The image after the run (empty after O(state=absent)); in check
      mode before a build, its RV(image.id) is null.
  returned: always
  type: dict
  contains:
    name:
      description: The catalog name.
      type: str
      sample: debian12
    reference:
      description: The platform's reference of the image.
      type: str
      sample: secure-cloud-iaas/instance:debian12
    id:
      description: The image's digest, what M(secure_cloud.iaas.instance)'s image_digest pins and a signature covers.
      type: str
      sample: sha256:eba1d0b4c76869d792f72bda9c85070dbd0c87c304af4b1fadc1e5b18941c4c1
    digest:
      description: The same digest as RV(image.id).
      type: str
      sample: sha256:eba1d0b4c76869d792f72bda9c85070dbd0c87c304af4b1fadc1e5b18941c4c1
    digests:
      description: Registry digests of the image (empty for an image that was never pushed).
      type: list
      elements: str
      sample: []
    release:
      description: The Debian release of its root filesystem.
      type: str
      sample: debian12
    source:
      description: Where its root filesystem came from (C(registry), C(debootstrap), C(tarball), C(image)).
      type: str
      sample: debootstrap
    base:
      description: The platform's reference of the root filesystem image it was built on.
      type: str
      sample: secure-cloud-iaas/base:debian12
    inputs:
      description: The hash of its inputs; the same inputs are the same image.
      type: str
      sample: 5f1d3c0a9b2e4d67-bookworm
    labels:
      description: The user's labels (O(labels)), an input of the image.
      type: dict
      sample: {tier: web}
    provider:
      description: The provider whose catalog holds the image.
      type: str
      sample: docker
signature:
  description: The signature over the image's digest, when one was made or checked.
  returned: when O(image_signature) is set
  type: dict
  contains:
    path:
      description: Where the signature is.
      type: str
      sample: /srv/images/golden.sig
    digest:
      description: The digest it covers.
      type: str
      sample: sha256:eba1d0b4c76869d792f72bda9c85070dbd0c87c304af4b1fadc1e5b18941c4c1
    written:
      description: Whether this run (re)wrote it.
      type: bool
      sample: true
"""

from ansible_collections.secure_cloud.iaas.plugins.module_utils import image_signature
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.image import (
    IMAGE_ARGUMENT_SPEC,
    desired_image,
    is_current,
    planned_image,
)
from ansible_collections.secure_cloud.iaas.plugins.module_utils.resource import ResourceModule


class ImageModule(ResourceModule):
    kind = "image"
    argument_spec = IMAGE_ARGUMENT_SPEC

    def __init__(self):
        super(ImageModule, self).__init__()
        # Images need no host agent (it boots guests and keeps the vlan tables): a build leaves it as it is.
        self.params["start_host_agent"] = False

    def execute(self):
        params = self.params
        self.check_provenance_options()
        spec = desired_image(params)
        current = self.provider.get_image(spec["name"])
        if params["state"] == "absent":
            if current is not None and not self.check_mode:
                self.provider.delete_image(current)
            return self.set_resource(current, None, current is not None)
        inputs = self.provider.image_inputs(spec)
        if is_current(current, inputs, params["force"]):
            after, changed = current, False
        elif self.check_mode:
            after, changed = planned_image(spec, inputs, current, self.provider.name), True
        else:
            after, changed = self.provider.build_image(spec, inputs, params["wait_timeout"]), True
        self.set_resource(current, after, changed)
        self.provenance(after)

    def check_provenance_options(self):
        params = self.params
        if params.get("image_signing_private_key") and not params.get("image_signature"):
            raise IaasError("is required to sign: it is where the signature is written", field="image_signature",
                            fix="give a path, e.g. image_signature: files/%s.sig" % params["name"])
        if params.get("image_signature") and not (params.get("image_signing_key") or params.get("image_signing_private_key")):
            raise IaasError("a signature is given but no key to make or check it with", field="image_signing_key",
                            fix="give the signer's public key (image_signing_key), or its private key to sign "
                                "(image_signing_private_key)")

    def provenance(self, image):
        """Sign the image's digest, or check the signature over it, as the options ask."""
        params = self.params
        path = params.get("image_signature")
        if not path:
            return
        digest = image.get("id")
        if digest is None:  # check mode, before a build: the digest is not known yet
            self.result["signature"] = dict(path=path, digest=None, written=bool(params.get("image_signing_private_key")))
            return
        private = params.get("image_signing_private_key")
        public = params.get("image_signing_key") or image_signature.public_key_of(private, self.run_command)
        checked = dict(image_digest=digest, image_signature=path, image_signing_key=public)
        written = False
        try:
            image_signature.verify(checked, self.run_command)
        except IaasError:
            if not private:
                raise
            written = True
            if not self.check_mode:
                image_signature.sign(digest, private, path, self.run_command)
                image_signature.verify(checked, self.run_command)
        if written:
            self.result["changed"] = True
        self.result["signature"] = dict(path=path, digest=digest, written=written)

    def repair_host(self):
        """An image is no vlan, vip or tunnel: the host's tables are the resource modules' to mend, not this one's."""


def main():
    ImageModule().run()


if __name__ == "__main__":
    main()
