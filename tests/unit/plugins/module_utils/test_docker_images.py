# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker provider's image catalog: what counts as an input, what a tarball is, where the archive is,
and the recipe that travels with the module."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import images, recipe
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.image import desired_image


def spec(**kw):
    params = dict(name="golden", release=None, source="auto", tarball=None, base_image=None, debian_mirror=None,
                  debian_security_mirror=None, labels=None)
    params.update(kw)
    return desired_image(params)


def make_tar(path, members):
    with tarfile.open(str(path), "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_the_recipe_is_fixed_bytes_and_builds_from_the_base_argument():
    names = tarfile.open(fileobj=recipe.context()).getnames()
    assert names == ["Dockerfile", "ssh-host-keys.service"]
    assert recipe.context().getvalue() == recipe.context().getvalue()
    assert "ARG BASE\nFROM ${BASE}\n" in recipe.DOCKERFILE and "COPY ssh-host-keys.service" in recipe.DOCKERFILE
    assert len(recipe.digest()) == 16


def test_inputs_follow_what_shapes_the_image(tmp_path):
    driver = images.Images(engine=None, run=None)
    base = driver.inputs(spec())
    assert base.endswith("-bookworm")
    # A registry's debian:bookworm and debootstrap of bookworm are the same input.
    assert driver.inputs(spec(source="debootstrap")) == base == driver.inputs(spec(source="registry"))
    assert driver.inputs(spec(source="registry", base_image="example/debian:12")) != base
    assert driver.inputs(spec(release="debian13")).endswith("-trixie")
    assert driver.inputs(spec(labels=dict(tier="web"))) != base
    one = make_tar(tmp_path / "one.tar", [("./etc/os-release", b"one")])
    two = make_tar(tmp_path / "two.tar", [("./etc/os-release", b"two")])
    assert driver.inputs(spec(tarball=one)) == driver.inputs(spec(tarball=one, source="tarball"))
    assert driver.inputs(spec(tarball=one)) != driver.inputs(spec(tarball=two))
    with pytest.raises(IaasError) as err:
        driver.inputs(spec(tarball=str(tmp_path / "none.tar")))
    assert str(err.value).startswith("tarball: %s does not exist" % (tmp_path / "none.tar"))


def test_a_tarball_is_a_root_filesystem_or_a_docker_save_archive(tmp_path):
    assert images.tarball_kind(make_tar(tmp_path / "r.tar", [("./", b""), ("./etc/passwd", b"root")])) == "rootfs"
    saved = [("0123abcd/layer.tar", b"x"), ("manifest.json", json.dumps([{}]).encode())]
    assert images.tarball_kind(make_tar(tmp_path / "s.tar", saved)) == "archive"
    with pytest.raises(IaasError) as err:
        images.tarball_kind(make_tar(tmp_path / "o.tar", [("notes.txt", b"x")]))
    assert "neither a root filesystem nor a docker save archive" in str(err.value) and "Fix: give" in str(err.value)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(IaasError) as err:
        images.tarball_kind(str(junk))
    assert str(err.value).startswith("tarball: %s cannot be read as a tar archive" % junk)


def test_the_archive_is_the_one_the_hosts_apt_uses(tmp_path):
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://archive.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://archive.example/debian-security\nSuites: bookworm-security\n")
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://other.example/debian/ bookworm main\n")
    assert images.host_mirrors([str(tmp_path / "*.sources")]) == ("http://archive.example/debian",
                                                                  "http://archive.example/debian-security")
    assert images.host_mirrors([str(tmp_path / "sources.list")]) == ("http://other.example/debian/", None)
    assert images.host_mirrors([str(tmp_path / "nothing*")]) == (None, None)
    text = images.sources_text("bookworm", "http://a/debian", None)
    assert "Suites: bookworm bookworm-updates" in text and "security" not in text


class _Engine(object):
    class client(object):
        class images(object):
            @staticmethod
            def list(filters):
                return []

    @staticmethod
    def api(what, func, *args, **kwargs):
        return func(*args, **kwargs)


def test_an_unknown_image_names_the_module_that_builds_it():
    with pytest.raises(IaasError) as err:
        images.Images(_Engine(), run=None).resolve("debian12")
    assert str(err.value) == ("image: 'debian12' is not in the image catalog. Fix: use one of: (the catalog is empty), "
                              "or build it with the secure_cloud.iaas.image module (name: debian12)")
