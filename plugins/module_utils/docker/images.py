# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image catalog on the docker provider: what instances are made from, and how it is built.

- catalog image NAME -> ``secure-cloud-iaas/instance:NAME``, built with the
  collection's recipe (recipe.py) FROM ``secure-cloud-iaas/base:NAME``; any
  image labelled ``secure_cloud.iaas.catalog=true`` is in the catalog too,
  under its full reference.
- the base is a Debian root filesystem: the registry's ``debian:<codename>``
  (pulled), debootstrap from a Debian archive on the host that runs the module
  and ``docker import``, a tarball (a root filesystem is imported, a
  ``docker save`` archive loaded) or an image already on the engine.
- every instance image carries its inputs (a hash of the recipe, the base's
  origin and the user's labels) in ``secure_cloud.iaas.managed.inputs``: the
  same inputs are the same image, and nothing is rebuilt until they change.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import recipe
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import MANAGED, PREFIX, USER_LABEL, user_labels
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.image import image_result

CATALOG_LABEL = PREFIX + "catalog"
CATALOG_REPOSITORY = "secure-cloud-iaas/instance"
BASE_REPOSITORY = "secure-cloud-iaas/base"
INPUTS_LABEL = MANAGED + ".inputs"
RELEASE_LABEL = PREFIX + "image.release"
SOURCE_LABEL = PREFIX + "image.source"
BASE_LABEL = PREFIX + "image.base"
APT_SOURCES = ("/etc/apt/sources.list.d/*.sources", "/etc/apt/sources.list")
TARBALL_FIX = ("give a root filesystem tarball (docker export CONTAINER > rootfs.tar, or tar -C ROOT -c .) "
               "or a docker save archive of one image")


def host_mirrors(paths=APT_SOURCES):
    """(debian, debian-security) archive URIs the host's own apt uses (deb822 or one-line format), or None."""
    uris = []
    for pattern in paths:
        for path in sorted(glob.glob(pattern)):
            try:
                with open(path) as handle:
                    text = handle.read()
            except OSError:
                continue
            for line in text.splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] == "URIs:":
                    uris.extend(words[1:])
                elif len(words) >= 2 and words[0] == "deb":
                    uris.append(next((w for w in words[1:] if not w.startswith("[")), ""))
    main = next((u for u in uris if u.rstrip("/").endswith("/debian")), None)
    security = next((u for u in uris if u.rstrip("/").endswith("/debian-security")), None)
    return main, security


def file_sha256(path):
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def tarball_kind(path):
    """'rootfs' (docker import) or 'archive' (docker load); IaasError naming tarball for anything else."""
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                name = member.name.lstrip("./")
                if name in ("manifest.json", "repositories", "index.json", "oci-layout"):
                    return "archive"
                if name.split("/")[0] in ("etc", "usr", "bin", "lib", "sbin", "var"):
                    return "rootfs"
    except (tarfile.TarError, OSError) as exc:
        raise IaasError("%s cannot be read as a tar archive (%s)" % (path, exc), field="tarball", fix=TARBALL_FIX)
    raise IaasError("%s is neither a root filesystem nor a docker save archive" % path, field="tarball",
                    fix=TARBALL_FIX)


def sources_text(codename, mirror, security):
    """The deb822 sources of an image debootstrapped from MIRROR (and SECURITY)."""
    out = ("Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n"
           "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" % (mirror, codename, codename))
    if security:
        out += ("\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n"
                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" % (security, codename))
    return out


def _dockerfile_context(text):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


class Images(object):
    """engine: the Engine; run(argv, data=None) -> (rc, out, err): commands on the host that runs the module."""

    def __init__(self, engine, run):
        self.engine = engine
        self.run = run

    # -- the catalog -------------------------------------------------------------
    def list(self):
        """Every catalog image, as model/image.py's image_result (its id is what image_digest pins)."""
        out = []
        for image in self.engine.api("list images", self.engine.client.images.list,
                                     filters={"label": MANAGED + "=true"}):
            labels = image.labels or {}
            digests = [d.split("@", 1)[1] for d in image.attrs.get("RepoDigests") or [] if "@" in d]
            for tag in image.tags:
                repo, short = tag.rpartition(":")[0], tag.rpartition(":")[2]
                if repo == CATALOG_REPOSITORY:
                    name = short
                elif labels.get(CATALOG_LABEL) == "true":
                    name = tag
                else:
                    continue
                out.append(image_result(name=name, reference=tag, image_id=image.id, digests=digests,
                                        release=labels.get(RELEASE_LABEL), source=labels.get(SOURCE_LABEL),
                                        base=labels.get(BASE_LABEL), inputs=labels.get(INPUTS_LABEL),
                                        labels=user_labels(labels), provider="docker"))
        return sorted(out, key=lambda i: i["name"])

    def resolve(self, image):
        catalog = self.list()
        for entry in catalog:
            if image in (entry["name"], entry["reference"]):
                return entry
        raise IaasError("%r is not in the image catalog" % (image,), field="image",
                        fix="use one of: %s, or build it with the secure_cloud.iaas.image module (name: %s)"
                            % (", ".join(e["name"] for e in catalog) or "(the catalog is empty)", image))

    def get(self, name):
        return next((e for e in self.list() if e["name"] == name), None)

    # -- what a request is built from ---------------------------------------------
    def origin(self, spec):
        """What the base of SPEC is: the same origin is the same base."""
        if spec["source"] == "tarball":
            if not os.path.isfile(spec["tarball"]):
                raise IaasError("%s does not exist on the host that runs the module" % spec["tarball"],
                                field="tarball", fix=TARBALL_FIX)
            return "tarball:sha256:" + file_sha256(spec["tarball"])
        if spec["source"] == "image":
            found = self._find_image(spec["base_image"])
            if found is None:
                raise IaasError("%s is not an image on the Docker engine" % spec["base_image"], field="base_image",
                                fix="load or pull it first (docker load -i FILE), or use source: tarball")
            return "image:" + found.id
        if spec["source"] == "registry" and spec["base_image"]:
            return "registry:" + spec["base_image"]
        # The registry's debian:<codename> and debootstrap of the same release
        # are the same Debian: switching between them is no reason to rebuild.
        return "debian:" + spec["codename"]

    def inputs(self, spec):
        """The hash of everything that shapes the image SPEC asks for."""
        text = json.dumps([recipe.digest(), self.origin(spec), spec["release"], sorted(spec["labels"].items())])
        return hashlib.sha256(text.encode()).hexdigest()[:16] + "-" + spec["codename"]

    # -- building ----------------------------------------------------------------
    def build(self, spec, inputs, timeout):
        """Build (or rebuild) the catalog image SPEC names; the image result. Images it replaced go when unused."""
        deadline = time.monotonic() + timeout
        ref, base_ref = "%s:%s" % (CATALOG_REPOSITORY, spec["name"]), "%s:%s" % (BASE_REPOSITORY, spec["name"])
        old = [self._find_image(ref), self._find_image(base_ref)]
        source = self._base(spec, base_ref, deadline)
        labels = {MANAGED: "true", INPUTS_LABEL: inputs, RELEASE_LABEL: spec["release"], SOURCE_LABEL: source,
                  BASE_LABEL: base_ref}
        labels.update((USER_LABEL + k, v) for k, v in spec["labels"].items())
        self._build(recipe.context(), ref, labels, deadline, buildargs={"BASE": base_ref})
        self._drop_replaced(old)
        return self.get(spec["name"])

    def _base(self, spec, base_ref, deadline):
        """Make BASE_REF from SPEC's source; which source it was."""
        source = spec["source"]
        current = self._find_image(base_ref)
        if current is not None and source in ("auto", "debootstrap", "tarball") \
                and (current.labels or {}).get(INPUTS_LABEL) == self.origin(spec):
            # Imported before from the same origin (debootstrap of this release, this very tarball).
            return (current.labels or {}).get(SOURCE_LABEL) or source
        if source == "tarball":
            if tarball_kind(spec["tarball"]) == "archive":
                self._load(spec["tarball"], base_ref)
            else:
                self._import(spec["tarball"], base_ref, spec, "tarball")
            return "tarball"
        if source == "image":
            self._tag(self._find_image(spec["base_image"]), base_ref)
            return "image"
        if source in ("registry", "auto"):
            pulled = self._pull(spec["base_image"] or "debian:" + spec["codename"], source == "registry")
            if pulled is not None:
                self._tag(pulled, base_ref)
                return "registry"
        self._debootstrap(spec, base_ref, deadline)
        return "debootstrap"

    def _pull(self, reference, required):
        repo, _sep, tag = reference.rpartition(":") if ":" in reference.split("/")[-1] else (reference, "", "latest")
        try:
            return self.engine.client.images.pull(repo, tag=tag)
        except Exception as exc:  # pylint: disable=broad-except
            if required:
                raise ProviderError("no registry gives %s (%s)" % (reference, exc), field="source",
                                    fix="use source: debootstrap (a Debian archive) or source: tarball, "
                                        "or configure the Docker engine's registry access")
            return None

    def _tag(self, image, ref):
        repo, tag = ref.rsplit(":", 1)
        self.engine.api("tag %s" % ref, image.tag, repo, tag=tag)

    def _load(self, path, base_ref):
        with open(path, "rb") as handle:
            try:
                loaded = self.engine.client.images.load(handle)
            except Exception as exc:  # pylint: disable=broad-except
                raise IaasError("Docker could not load %s (%s)" % (path, exc), field="tarball", fix=TARBALL_FIX)
        if len(loaded) != 1:
            raise IaasError("%s holds %d images, not one" % (path, len(loaded)), field="tarball",
                            fix="docker save exactly one image (docker save IMAGE-ID > base.tar)")
        self._tag(loaded[0], base_ref)

    def _import(self, path, base_ref, spec, source):
        repo, tag = base_ref.rsplit(":", 1)
        changes = ['LABEL %s=true' % MANAGED, 'LABEL %s=%s' % (INPUTS_LABEL, self.origin(spec)),
                   'LABEL %s=%s' % (RELEASE_LABEL, spec["release"]), 'LABEL %s=%s' % (SOURCE_LABEL, source),
                   'CMD ["/bin/bash"]']
        self.engine.api("import %s" % path, self.engine.client.api.import_image, src=path, repository=repo, tag=tag,
                        changes=changes)

    def _debootstrap(self, spec, base_ref, deadline):
        """debootstrap --variant=minbase on the host that runs the module, then docker import."""
        mirror, security = spec["debian_mirror"], spec["debian_security_mirror"]
        if not mirror:
            mirror, found_security = host_mirrors()
            security = security or found_security
        if not mirror:
            raise IaasError("no registry answers and the host's apt names no Debian archive", field="debian_mirror",
                            fix="give debian_mirror (the URL of a Debian archive), or source: tarball")
        if os.geteuid() != 0:
            raise IaasError("debootstrap needs root on the host that runs the module", field="source",
                            fix="run the task with become: true, or use source: tarball")
        tool = shutil.which("debootstrap") or next((p for p in ("/usr/sbin/debootstrap", "/sbin/debootstrap")
                                                    if os.path.exists(p)), None)
        if tool is None:
            raise IaasError("no registry answers and debootstrap is not installed on the host that runs the module",
                            field="source", fix="install it there (apt-get install debootstrap), "
                                                "or use source: tarball")
        workdir = tempfile.mkdtemp(prefix="sciaas-debootstrap-")
        root = os.path.join(workdir, "root")
        try:
            seconds = max(1, int(deadline - time.monotonic()))
            rc, out, err = self.run(["timeout", str(seconds), tool, "--variant=minbase", spec["codename"], root, mirror])
            if rc != 0:
                detail = ((err or "") + (out or "")).strip().splitlines()
                raise ProviderError("debootstrap %s from %s failed (exit %s): %s"
                                    % (spec["codename"], mirror, rc, detail[-1] if detail else "no output"),
                                    field="debian_mirror",
                                    fix="check that the host reaches that Debian archive and has its keyring "
                                        "(apt-get install debian-archive-keyring), or raise wait_timeout")
            with open(os.path.join(root, "etc/apt/sources.list.d/debian.sources"), "w") as handle:
                handle.write(sources_text(spec["codename"], mirror, security))
            for leftover in ["etc/apt/sources.list"] + glob.glob(os.path.join(root, "var/cache/apt/archives/*.deb")) \
                    + glob.glob(os.path.join(root, "var/lib/apt/lists/*")):
                target = os.path.join(root, leftover)
                if os.path.isfile(target):
                    os.unlink(target)
            archive = os.path.join(workdir, "rootfs.tar")
            rc, out, err = self.run(["tar", "--numeric-owner", "-C", root, "-cf", archive, "."])
            if rc != 0:
                raise ProviderError("could not pack %s: %s" % (root, (err or out).strip()), field="source")
            self._import(archive, base_ref, spec, "debootstrap")
        finally:
            self._remove_workdir(workdir)

    def _remove_workdir(self, workdir):
        """debootstrap mounts /proc and /sys in the root it makes: nothing is deleted below a mount."""
        with open("/proc/mounts") as handle:
            mounts = [line.split()[1] for line in handle if line.split()[1].startswith(workdir + "/")]
        for mount in sorted(mounts, reverse=True):
            self.run(["umount", "-l", mount])
        with open("/proc/mounts") as handle:
            if any(line.split()[1].startswith(workdir + "/") for line in handle):
                raise ProviderError("%s still has mounts; left in place" % workdir, field="source",
                                    fix="unmount what is below %s and remove it" % workdir)
        shutil.rmtree(workdir, ignore_errors=True)

    def _build(self, context, ref, labels, deadline, buildargs=None):
        """docker build of CONTEXT (a tar in memory) as REF; the build's own error on failure."""
        seconds = max(1, int(deadline - time.monotonic()))
        api = self.engine.client.api
        log = []
        try:
            for chunk in api.build(fileobj=context, custom_context=True, tag=ref, labels=labels, buildargs=buildargs,
                                   rm=True, forcerm=True, decode=True, timeout=seconds):
                if "stream" in chunk:
                    log.extend(line for line in chunk["stream"].splitlines() if line.strip())
                if "error" in chunk:
                    raise ProviderError("building %s failed: %s" % (ref, chunk["error"].strip()), field="name",
                                        fix="see the build's last lines: %s" % " | ".join(log[-5:]))
        except ProviderError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            raise ProviderError("building %s failed or took longer than wait_timeout (%s)" % (ref, exc),
                                field="wait_timeout", fix="raise wait_timeout, or see: %s" % " | ".join(log[-5:]))

    def _find_image(self, ref):
        try:
            return self.engine.client.images.get(ref)
        except Exception:  # pylint: disable=broad-except
            return None

    def _drop_replaced(self, old):
        """Images a rebuild replaced: removed when the collection made them, nothing tags them and no container uses them."""
        for image in old:
            if image is None:
                continue
            current = self._find_image(image.id)
            if current is None or current.tags or (current.labels or {}).get(MANAGED) != "true":
                continue
            try:
                self.engine.client.images.remove(current.id)
            except Exception:  # pylint: disable=broad-except
                pass  # an instance still runs from it: it goes with that instance's image, later

    # -- removing ----------------------------------------------------------------
    def delete(self, current):
        """Untag the catalog image and its base (an image goes with its last tag); refused while instances use it."""
        users = self.engine.api("list containers", self.engine.client.containers.list, all=True, ignore_removed=True,
                                filters={"ancestor": current["id"]})
        if users:
            raise IaasError("image %s is used by %s" % (current["name"], ", ".join(sorted(c.name for c in users))),
                            field="state", fix="delete those instances (secure_cloud.iaas.instance state: absent) first")
        base = self._find_image(current.get("base") or "")
        self.engine.api("remove %s" % current["reference"], self.engine.client.images.remove, current["reference"])
        if base is not None and current.get("base", "").startswith(BASE_REPOSITORY + ":"):
            self.engine.api("remove %s" % current["base"], self.engine.client.images.remove, current["base"])
