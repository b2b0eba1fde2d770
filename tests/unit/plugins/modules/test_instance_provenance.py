# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image provenance: real ed25519 keys and ssh-keygen signatures over the pinned digest."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils import resource
from ansible_collections.secure_cloud.iaas.plugins.modules import instance

from conftest import DEBIAN12_ID, DEBIAN13_ID

NAMESPACE = "secure-cloud-iaas-image"


def keygen(directory, name):
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def sign(key, message, path, namespace=NAMESPACE):
    with open(str(path), "wb") as out:
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", namespace],
                       input=message.encode(), stdout=out, check=True)
    return str(path)


@pytest.fixture
def keys(tmp_path):
    return dict(signer=keygen(tmp_path, "signer"), other=keygen(tmp_path, "other"))


@pytest.fixture
def cloud(provider, monkeypatch):
    provider.add_vlan("back", "fra1", "10.210.2.0/24")

    # The real module runner (AnsibleModule.run_command), so ssh-keygen really runs.
    def with_runner(params, run_command=None):
        provider._run_command = run_command
        return provider

    monkeypatch.setattr(resource, "get_provider", with_runner)
    return provider


def args(keys, tmp_path, **kw):
    out = dict(name="signed-1", image="debian12", location="fra1", networks=[dict(vlan="back")],
               image_digest=DEBIAN12_ID, image_signing_key=(keys["signer"].with_suffix(".pub")).read_text().strip(),
               image_signature=sign(keys["signer"], DEBIAN12_ID, tmp_path / "good.sig"))
    out.update(kw)
    return out


def test_good_signature_creates(cloud, run_module, keys, tmp_path):
    failed, result = run_module(instance.main, args(keys, tmp_path))
    assert not failed, result
    assert result["instance"]["image_id"] == DEBIAN12_ID
    assert ("create_instance", "signed-1") in cloud.writes


def test_signing_key_as_a_file_path(cloud, run_module, keys, tmp_path):
    failed, result = run_module(instance.main, args(keys, tmp_path, image_signing_key=str(keys["signer"]) + ".pub"),
                                check=True)
    assert not failed, result
    assert result["changed"] and cloud.writes == []


@pytest.mark.parametrize("case, message", [
    ("other key", "image_signature: does not verify image digest %s against image_signing_key" % DEBIAN12_ID),
    ("other digest", "image_signature: does not verify image digest %s against image_signing_key" % DEBIAN12_ID),
    ("other namespace", "image_signature: does not verify image digest %s against image_signing_key" % DEBIAN12_ID),
    ("missing signature", "image_signature: is missing: image_signing_key requires every image to carry a signature"),
    ("no such file", "image_signature: "),
    ("not a signature", "image_signature: "),
    ("no digest", "image_digest: is required when the image must be signed"),
    ("no key", "image_signing_key: a signature is given but no key to check it against"),
    ("bad key", "image_signing_key: is not one OpenSSH public key"),
    ("digest of another image", "image_digest: image debian12 is %s, not the pinned %s" % (DEBIAN12_ID, DEBIAN13_ID)),
])
@pytest.mark.parametrize("check", [False, True])
def test_refused_and_nothing_created(cloud, run_module, keys, tmp_path, case, message, check):
    given = args(keys, tmp_path)
    if case == "other key":
        given["image_signature"] = sign(keys["other"], DEBIAN12_ID, tmp_path / "other.sig")
    elif case == "other digest":
        given["image_signature"] = sign(keys["signer"], DEBIAN13_ID, tmp_path / "d13.sig")
    elif case == "other namespace":
        given["image_signature"] = sign(keys["signer"], DEBIAN12_ID, tmp_path / "ns.sig", namespace="file")
    elif case == "missing signature":
        del given["image_signature"]
    elif case == "no such file":
        given["image_signature"] = str(tmp_path / "absent.sig")
    elif case == "not a signature":
        (tmp_path / "junk.sig").write_text("hello\n")
        given["image_signature"] = str(tmp_path / "junk.sig")
    elif case == "no digest":
        del given["image_digest"]
    elif case == "no key":
        del given["image_signing_key"]
    elif case == "bad key":
        given["image_signing_key"] = "not a key"
    elif case == "digest of another image":
        given["image_digest"] = DEBIAN13_ID
        given["image_signature"] = sign(keys["signer"], DEBIAN13_ID, tmp_path / "d13.sig")
    failed, result = run_module(instance.main, given, check=check)
    assert failed
    assert result["msg"].startswith(message), result["msg"]
    assert "Fix: " in result["msg"]
    assert cloud.writes == [] and cloud.instances == {}
