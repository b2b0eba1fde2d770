# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vip planning: every bad input gets a message that names the field and the fix."""

from __future__ import annotations

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.model.vip import (
    desired_vip,
    instance_vips,
    plan_update,
)

APP = dict(name="app", location="fra1", cidr="10.210.2.0/24", gateway="10.210.2.1", vip_range="10.210.2.192/26")
DB = dict(name="db", location="fra1", cidr="10.210.3.0/24", gateway="10.210.3.1", vip_range="10.210.3.192/26")
VLANS = [APP, DB]


def inst(name, *vlans):
    return dict(name=name, networks=[dict(vlan=v, ip=None) for v in vlans], state="running")


INSTANCES = [inst("web-1", "app"), inst("web-2", "app"), inst("db-1", "db")]
OTHER_VIP = dict(name="api", vlan="app", address="10.210.2.192", allowed_instances=[])


def params(**kw):
    base = dict(name="web", vlan="app", address=None, allowed_instances=["web-1", "web-2"], holder=None,
                labels=None, state="present")
    base.update(kw)
    return base


def fails(field, fragment, func, *args):
    with pytest.raises(IaasError) as err:
        func(*args)
    assert err.value.field == field
    assert fragment in str(err.value)
    assert "Fix:" in str(err.value)
    return str(err.value)


def test_address_is_allocated_from_the_vip_range_skipping_used_ones():
    vip = desired_vip(params(), VLANS, INSTANCES, [OTHER_VIP])
    assert vip["address"] == "10.210.2.193"
    assert vip["location"] == "fra1" and vip["prefixlen"] == 24
    assert vip["allowed_instances"] == ["web-1", "web-2"]


def test_address_outside_the_vlan():
    fails("address", "outside vlan app", desired_vip, params(address="10.210.9.200"), VLANS, INSTANCES, [])


def test_address_inside_the_vlan_but_outside_its_vip_range():
    msg = fails("address", "outside the vip_range 10.210.2.192/26", desired_vip, params(address="10.210.2.50"),
                VLANS, INSTANCES, [])
    assert "pick an address of 10.210.2.192/26" in msg


def test_address_already_used_by_another_vip():
    fails("address", "already used by vip api", desired_vip, params(address="10.210.2.192"), VLANS, INSTANCES,
          [OTHER_VIP])


def test_malformed_address():
    fails("address", "not", desired_vip, params(address="10.210.2.300"), VLANS, INSTANCES, [])


def test_unknown_instance_in_allowed_instances():
    fails("allowed_instances", "'web-9' does not exist", desired_vip, params(allowed_instances=["web-1", "web-9"]),
          VLANS, INSTANCES, [])


def test_instance_not_on_the_vips_vlan():
    fails("allowed_instances", "'db-1' has no port on vlan app", desired_vip,
          params(allowed_instances=["web-1", "db-1"]), VLANS, INSTANCES, [])


def test_holder_not_in_allowed_instances():
    fails("holder", "'web-2' is not in allowed_instances", desired_vip,
          params(allowed_instances=["web-1"], holder="web-2"), VLANS, INSTANCES, [])


def test_unknown_vlan_and_missing_vlan():
    fails("vlan", "'nope' does not exist", desired_vip, params(vlan="nope"), VLANS, INSTANCES, [])
    fails("vlan", "is required", desired_vip, params(vlan=None), VLANS, INSTANCES, [])


def current(**kw):
    base = dict(name="web", vlan="app", location="fra1", address="10.210.2.200", prefixlen=24,
                allowed_instances=["web-1", "web-2"], holder="web-1", holders=["web-1"], unauthorized_holders=[],
                stored_holder="web-1", labels={})
    base.update(kw)
    return base


def update_params(**kw):
    base = dict(vlan=None, address=None, allowed_instances=None, holder=None, labels=None)
    base.update(kw)
    return base


def test_same_request_changes_nothing_and_order_does_not_matter():
    assert plan_update(current(), update_params(allowed_instances=["web-2", "web-1"], address="10.210.2.200"),
                       APP, INSTANCES, holder_given=False) == {}


def test_address_and_vlan_cannot_change():
    fails("address", "a vip keeps its address", plan_update, current(), update_params(address="10.210.2.201"),
          APP, INSTANCES, False)
    fails("vlan", "a vip keeps its vlan", plan_update, current(), update_params(vlan="db"), APP, INSTANCES, False)


def test_removing_the_holder_from_the_allow_list_is_refused():
    fails("allowed_instances", "'web-1' holds the vip", plan_update, current(),
          update_params(allowed_instances=["web-2"]), APP, INSTANCES, False)


def test_removing_the_holder_is_fine_when_the_same_task_moves_the_vip():
    changes = plan_update(current(), update_params(allowed_instances=["web-2"], holder="web-2"), APP, INSTANCES, True)
    assert changes == {"allowed_instances": ["web-2"], "holder": "web-2"}


def test_holder_null_releases_and_omitted_holder_leaves_it():
    assert plan_update(current(), update_params(holder=None), APP, INSTANCES, holder_given=True) == {"holder": None}
    assert plan_update(current(), update_params(holder=None), APP, INSTANCES, holder_given=False) == {}


def test_a_split_vip_is_reconciled_when_its_holder_is_named():
    split = current(holders=["web-1", "web-2"], holder=None)
    assert plan_update(split, update_params(holder="web-1"), APP, INSTANCES, True) == {"holder": "web-1"}


def test_instance_vips_names_what_blocks_a_deletion():
    assert instance_vips("web-1", [current(), dict(current(), name="admin", allowed_instances=["web-2"])]) == ["web"]
