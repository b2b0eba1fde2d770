# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instances inventory plugin hands its provider options (cloud and region too) to the provider."""

from __future__ import annotations

import os
import sys

import pytest
import yaml

from ansible.errors import AnsibleError

from ansible_collections.secure_cloud.iaas.plugins.doc_fragments.provider import ModuleDocFragment
from ansible_collections.secure_cloud.iaas.plugins.inventory import instances

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0tbV+3l9xk3n2p3ZbOa8bqL3z6r4Xc0b6Ht2m1uYkF admin@example"


def plugin_with(options):
    plugin = instances.InventoryModule()
    plugin.get_option = options.get
    return plugin


def test_every_option_handed_to_the_provider_is_documented_with_its_environment_variable():
    documented = yaml.safe_load(ModuleDocFragment.INVENTORY)["options"]
    assert set(instances.InventoryModule.PROVIDER_OPTIONS) <= set(documented)
    assert documented["cloud"]["env"] == [dict(name="OS_CLOUD")]
    assert documented["region_name"]["env"] == [dict(name="OS_REGION_NAME")]


def test_cloud_and_region_reach_the_provider(monkeypatch):
    seen = {}

    class Provider(object):
        def list_instances(self):
            return []

    def fake_get_provider(params, run_command=None):
        seen.update(params)
        return Provider()

    monkeypatch.setattr(instances, "get_provider", fake_get_provider)
    plugin_with(dict(provider="openstack", cloud="mycloud", region_name="RegionTwo", state_dir="/tmp/s"))._fetch()
    assert (seen["provider"], seen["cloud"], seen["region_name"]) == ("openstack", "mycloud", "RegionTwo")


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    pytest.importorskip("openstack")
    requests_mock = pytest.importorskip("requests_mock")
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "module_utils"))
    from openstack_fake_cloud import CLOUDS_YAML, FakeCloud  # pylint: disable=import-outside-toplevel
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(CLOUDS_YAML)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    for var in ("OS_CLOUD", "OS_REGION_NAME", "OS_AUTH_URL", "OS_PASSWORD", "OS_USERNAME"):
        monkeypatch.delenv(var, raising=False)
    with requests_mock.Mocker() as mocker:
        yield FakeCloud(mocker)


def make_instance(tmp_path):
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.instance import desired_instance
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack.provider import OpenStackProvider
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore
    from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vlan import desired_vlan
    prov = OpenStackProvider(dict(provider="openstack", cloud="unit", external_network="public"),
                             StateStore(str(tmp_path / "state")))
    prov.conn.poll_interval = 0.01
    prov.create_vlan(desired_vlan(dict(name="front", location="fra1", type="public", cidr="10.210.1.0/24"), "openstack"))
    spec = desired_instance(dict(name="web-1", location="fra1", image="debian12", networks=[dict(vlan="front")],
                                 ssh_public_keys=[KEY]), prov, dict((v["name"], v) for v in prov.list_vlans()), [])
    prov.create_instance(spec, True, True, 5)


def test_openstack_hosts_from_the_cloud_the_options_name(cloud, tmp_path):
    make_instance(tmp_path)
    hosts = plugin_with(dict(provider="openstack", cloud="unit", region_name="RegionOne",
                             state_dir=str(tmp_path / "inv")))._fetch()
    assert [h["resource"]["name"] for h in hosts] == ["web-1"]
    assert hosts[0]["connection"] == dict(ansible_connection="ssh", ansible_host="10.210.1.2", ansible_user="cloudadmin")


def test_a_region_the_cloud_lacks_is_refused_by_openstacksdk(cloud, tmp_path):
    with pytest.raises(AnsibleError) as err:
        plugin_with(dict(provider="openstack", cloud="unit", region_name="RegionTwo",
                         state_dir=str(tmp_path / "inv")))._fetch()
    # openstacksdk itself refused the region: it was handed through.
    assert str(err.value).startswith("secure_cloud.iaas.instances: cloud: could not sign in to OpenStack cloud 'unit'")
    assert "Region RegionTwo is not a valid region name for cloud unit" in str(err.value)


def test_no_cloud_named_fails_naming_the_option(cloud, tmp_path):
    with pytest.raises(AnsibleError) as err:
        plugin_with(dict(provider="openstack", state_dir=str(tmp_path / "inv")))._fetch()
    assert "cloud: no cloud is named" in str(err.value)
