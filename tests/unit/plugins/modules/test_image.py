# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image module against a provider in memory: idempotence on inputs, check mode, diff, removal,
bad input, and signing and verifying with real ssh-keygen keys."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils import image_signature, resource
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.image import image_result
from ansible_collections.secure_cloud.iaas.plugins.modules import image, image_info

from conftest import FakeProvider


class ImageProvider(FakeProvider):
    """Builds are records: an image's digest is a hash of its inputs and a build counter."""

    def __init__(self, store):
        super(ImageProvider, self).__init__(store)
        self.images = {}
        self.builds = 0
        self.users = {}

    def list_images(self):
        return [dict(self.images[n]) for n in sorted(self.images)]

    def image_inputs(self, spec):
        if spec["source"] == "tarball" and "missing" in spec["tarball"]:
            raise IaasError("%s does not exist on the host that runs the module" % spec["tarball"], field="tarball")
        return hashlib.sha256(repr((spec["release"], spec["source"] if spec["source"] == "tarball" else "debian",
                                    spec["tarball"], sorted(spec["labels"].items()))).encode()).hexdigest()[:16]

    def build_image(self, spec, inputs, timeout):
        self.builds += 1
        self.writes.append(("build_image", spec["name"]))
        digest = "sha256:" + hashlib.sha256(("%s%d" % (inputs, self.builds)).encode()).hexdigest()
        self.images[spec["name"]] = image_result(
            name=spec["name"], reference="secure-cloud-iaas/instance:" + spec["name"], image_id=digest,
            release=spec["release"], source="debootstrap" if spec["source"] == "auto" else spec["source"],
            base="secure-cloud-iaas/base:" + spec["name"], inputs=inputs, labels=spec["labels"], provider=self.name)
        return dict(self.images[spec["name"]])

    def delete_image(self, current):
        if self.users.get(current["name"]):
            raise IaasError("image %s is used by %s" % (current["name"], self.users[current["name"]]), field="state")
        self.writes.append(("delete_image", current["name"]))
        del self.images[current["name"]]


@pytest.fixture
def cloud(provider, monkeypatch):
    fake = ImageProvider(provider.store)

    def with_runner(params, run_command=None):
        fake._run_command = run_command
        return fake

    monkeypatch.setattr(resource, "get_provider", with_runner)
    return fake


def test_build_then_nothing_until_an_input_changes(cloud, run_module):
    failed, result = run_module(image.main, dict(name="golden"))
    assert not failed and result["changed"]
    first = result["image"]
    assert first["id"].startswith("sha256:") and first["digest"] == first["id"] and first["release"] == "debian12"
    failed, result = run_module(image.main, dict(name="golden"))
    assert not failed and not result["changed"] and result["image"]["id"] == first["id"]
    assert cloud.builds == 1
    # A label is an input: the image is rebuilt, with another digest.
    failed, result = run_module(image.main, dict(name="golden", labels=dict(tier="web")))
    assert not failed and result["changed"] and result["image"]["id"] != first["id"]
    assert result["image"]["labels"] == {"tier": "web"} and cloud.builds == 2
    # force rebuilds the same inputs.
    failed, result = run_module(image.main, dict(name="golden", labels=dict(tier="web"), force=True))
    assert result["changed"] and cloud.builds == 3


def test_check_mode_predicts_and_builds_nothing(cloud, run_module):
    failed, result = run_module(image.main, dict(name="golden", release="debian13"), check=True, diff=True)
    assert not failed and result["changed"]
    assert result["image"]["id"] is None and result["image"]["release"] == "debian13"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["name"] == "golden"
    assert cloud.builds == 0 and cloud.writes == []
    run_module(image.main, dict(name="golden"))
    failed, result = run_module(image.main, dict(name="golden"), check=True)
    assert not result["changed"] and cloud.builds == 1


def test_diff_shows_the_inputs_that_changed(cloud, run_module):
    run_module(image.main, dict(name="golden"))
    failed, result = run_module(image.main, dict(name="golden", release="debian13"), diff=True)
    assert result["changed"]
    assert result["diff"]["before"]["release"] == "debian12" and result["diff"]["after"]["release"] == "debian13"


def test_absent_removes_once_and_is_refused_while_used(cloud, run_module):
    run_module(image.main, dict(name="golden"))
    cloud.users["golden"] = "web-1"
    failed, result = run_module(image.main, dict(name="golden", state="absent"))
    assert failed and result["msg"].startswith("state: image golden is used by web-1")
    cloud.users.clear()
    failed, result = run_module(image.main, dict(name="golden", state="absent"), check=True, diff=True)
    assert result["changed"] and "golden" in cloud.images
    assert result["diff"]["after"] == {}
    failed, result = run_module(image.main, dict(name="golden", state="absent"))
    assert not failed and result["changed"] and "golden" not in cloud.images
    failed, result = run_module(image.main, dict(name="golden", state="absent"))
    assert not failed and not result["changed"]


def test_info_lists_the_catalog(cloud, run_module):
    failed, result = run_module(image_info.main, dict(name="golden"))
    assert not failed and result["images"] == []
    run_module(image.main, dict(name="golden", labels=dict(tier="web")))
    run_module(image.main, dict(name="other"))
    failed, result = run_module(image_info.main, dict(labels=dict(tier="web")))
    assert [i["name"] for i in result["images"]] == ["golden"]
    failed, result = run_module(image_info.main, dict())
    assert [i["name"] for i in result["images"]] == ["golden", "other"] and not result["changed"]


@pytest.mark.parametrize("args, msg", [
    (dict(name="Golden"), "name: 'Golden' is not a legal name"),
    (dict(name="golden", source="tarball"), "tarball: is required with source: tarball"),
    (dict(name="golden", source="debootstrap", tarball="/x.tar"), "tarball: is only read with source: tarball"),
    (dict(name="golden", source="image"), "base_image: is required with source: image"),
    (dict(name="golden", source="debootstrap", base_image="debian:bookworm"), "base_image: is only read with"),
    (dict(name="golden", tarball="/srv/missing.tar"), "tarball: /srv/missing.tar does not exist"),
    (dict(name="golden", labels={"Bad Key": "x"}), "labels: label key 'Bad Key' is not legal"),
    (dict(name="golden", image_signature="/x.sig"), "image_signing_key: a signature is given but no key"),
    (dict(name="golden", image_signing_private_key="/k"), "image_signature: is required to sign"),
])
def test_bad_input_fails_naming_the_field_and_builds_nothing(cloud, run_module, args, msg):
    failed, result = run_module(image.main, args)
    assert failed and result["msg"].startswith(msg), result["msg"]
    assert cloud.builds == 0


def keygen(directory, name):
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def test_sign_writes_a_signature_the_instance_module_accepts(cloud, run_module, tmp_path):
    signer, other = keygen(tmp_path, "signer"), keygen(tmp_path, "other")
    sig = tmp_path / "golden.sig"
    args = dict(name="golden", image_signature=str(sig), image_signing_private_key=str(signer))
    # Check mode: nothing built, nothing signed.
    failed, result = run_module(image.main, args, check=True)
    assert not failed and result["signature"]["written"] and not sig.exists()
    failed, result = run_module(image.main, args)
    assert not failed and result["changed"]
    assert result["signature"] == dict(path=str(sig), digest=result["image"]["id"], written=True)
    digest = result["image"]["id"]
    assert sig.read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    # The private key itself never appears in the result.
    assert signer.read_text().splitlines()[1] not in repr(result) and "PRIVATE KEY" not in repr(result)
    # The same image and a signature over it: nothing to do.
    failed, result = run_module(image.main, args)
    assert not failed and not result["changed"] and not result["signature"]["written"]
    # What the instance module checks (image_signature.verify: ssh-keygen -Y verify over the digest) passes.
    pub = signer.with_suffix(".pub").read_text().strip()

    def runner(argv, data=None):
        proc = subprocess.run(argv, input=data.encode() if data else None, capture_output=True, check=False)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    image_signature.verify(dict(image_digest=digest, image_signature=str(sig), image_signing_key=pub), runner)
    # Verify only, with the right key, then with another: the second fails naming the signature.
    failed, result = run_module(image.main, dict(name="golden", image_signature=str(sig), image_signing_key=pub))
    assert not failed and not result["changed"]
    failed, result = run_module(image.main, dict(name="golden", image_signature=str(sig),
                                                 image_signing_key=other.with_suffix(".pub").read_text().strip()))
    assert failed and result["msg"].startswith("image_signature: does not verify image digest %s" % digest)
    # A rebuild (new digest) is signed again.
    failed, result = run_module(image.main, dict(args, force=True))
    assert not failed and result["signature"]["written"] and result["image"]["id"] != digest


def test_a_key_with_a_passphrase_is_refused_naming_the_option(cloud, run_module, tmp_path):
    key = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret-pass", "-f", str(key)], check=True)
    failed, result = run_module(image.main, dict(name="golden", image_signature=str(tmp_path / "s.sig"),
                                                 image_signing_private_key=str(key)))
    assert failed and result["msg"].startswith("image_signing_private_key: %s is not an OpenSSH private key without" % key)
    assert "secret-pass" not in repr(result)
