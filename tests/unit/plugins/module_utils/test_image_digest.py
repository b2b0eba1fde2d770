# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image pins: sha256 and sha512 digests, and Glance's default sha512 multihash on the openstack provider."""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import check_image_pin

SHA256 = "sha256:" + "a" * 64
SHA512 = "sha512:" + "b" * 128


@pytest.mark.parametrize("digest", [SHA256, SHA512])
def test_sha256_and_sha512_pins_are_accepted(digest):
    # The image's id or one of its repository digests matches the pin: no error ...
    assert check_image_pin(dict(name="img", id=digest, digests=[digest]), digest) is None
    assert check_image_pin(dict(name="img", id="other", digests=["x", digest]), digest) is None
    # ... and the same well-formed pin on an image that has neither is refused,
    # so the acceptance above is a match, not a formality.
    with pytest.raises(IaasError) as err:
        check_image_pin(dict(name="img", id="other", digests=["x"]), digest)
    assert err.value.field == "image_digest" and "not the pinned" in err.value.msg


@pytest.mark.parametrize("digest", [
    "sha512:" + "b" * 64,          # a sha256 length under the sha512 name
    "sha256:" + "a" * 128,         # and the reverse
    "sha512:" + "B" * 128,         # upper case
    "sha384:" + "c" * 96,          # not offered
    "sha512:" + "b" * 127 + "g",
    SHA512 + "\n",
])
def test_malformed_pins_name_the_field_and_both_forms(digest):
    with pytest.raises(IaasError) as err:
        check_image_pin(dict(name="img", id=SHA512, digests=[SHA512]), digest)
    assert err.value.field == "image_digest" and "is not a digest" in err.value.msg
    assert "sha256:" in err.value.fix and "sha512:" in err.value.fix


def test_a_different_sha512_is_refused_naming_both():
    other = "sha512:" + "c" * 128
    with pytest.raises(IaasError) as err:
        check_image_pin(dict(name="img", id=SHA512, digests=[SHA512]), other)
    assert str(err.value).startswith("image_digest: image img is %s, not the pinned %s" % (SHA512, other))


def test_glance_sha512_image_is_pinned_on_openstack(tmp_path, monkeypatch):
    pytest.importorskip("openstack")
    requests_mock = pytest.importorskip("requests_mock")
    sys.path.insert(0, os.path.dirname(__file__))
    from openstack_fake_cloud import CLOUDS_YAML, FakeCloud  # pylint: disable=import-outside-toplevel
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import desired_instance
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import desired_vlan
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(CLOUDS_YAML)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    with requests_mock.Mocker() as mocker:
        cloud = FakeCloud(mocker)
        # Glance's default multihash algorithm is sha512.
        cloud.images[0].update(os_hash_algo="sha512", os_hash_value="e" * 128)
        prov = OpenStackProvider(dict(provider="openstack", cloud="unit", external_network="public"),
                                 StateStore(str(tmp_path / "state")))
        prov.create_vlan(desired_vlan(dict(name="app", location="fra1", type="private", cidr="10.210.2.0/24"),
                                      "openstack"))
        args = dict(name="web-1", location="fra1", image="debian12", networks=[dict(vlan="app")],
                    image_digest="sha512:" + "e" * 128)
        vlans = dict((v["name"], v) for v in prov.list_vlans())
        spec = desired_instance(args, prov, vlans, [])
        assert spec["image_id"] == "sha512:" + "e" * 128
        with pytest.raises(IaasError) as err:
            desired_instance(dict(args, image_digest="sha512:" + "f" * 128), prov, vlans, [])
        assert str(err.value).startswith("image_digest: image debian12 is sha512:" + "e" * 128)
