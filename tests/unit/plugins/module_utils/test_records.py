# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One store per engine: where it is, and the records an earlier version left in a controller's state_dir."""

from __future__ import annotations

import os

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import records
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore


class _Client(object):
    @staticmethod
    def info():
        return {"ID": "ZN5T:4NIE:MLOQ"}


class _Engine(object):
    client = _Client()

    def __init__(self, docker_host):
        self.docker_host = docker_host

    @staticmethod
    def api(_what, func, *args, **kwargs):
        return func(*args, **kwargs)

    def is_local(self):
        return self.docker_host.startswith("unix://")


def _write(store, kind, name, data):
    with store.lock():
        store.put(kind, name, data)


def test_every_controller_of_a_local_engine_gets_the_same_root_owned_store(tmp_path):
    one = records.engine_store(_Engine("unix:///var/run/docker.sock"), str(tmp_path / "alice"))
    two = records.engine_store(_Engine("unix:///var/run/docker.sock"), str(tmp_path / "bob"))
    assert one.state_dir == two.state_dir == os.path.join(records.ENGINES_DIR, "ZN5T-4NIE-MLOQ")


def test_a_remote_engines_records_stay_with_the_controller(tmp_path):
    store = records.engine_store(_Engine("tcp://10.0.0.5:2376"), str(tmp_path / "alice"))
    assert store.state_dir == str(tmp_path / "alice" / "engines" / "ZN5T-4NIE-MLOQ")


def test_records_left_in_a_controllers_store_move_to_the_engines_once(tmp_path):
    engine, controller = StateStore(str(tmp_path / "engine")), StateStore(str(tmp_path / "controller"))
    _write(controller, "vip", "web", dict(address="10.0.0.200"))
    _write(controller, "vpn_tunnel", "hq", dict(peer="192.0.2.1"))
    _write(controller, "other", "kept", dict(x=1))  # not the docker provider's: it stays
    records.adopt(engine, controller)
    assert engine.list("vip") == {"web": dict(address="10.0.0.200")}
    assert engine.list("vpn_tunnel") == {"hq": dict(peer="192.0.2.1")}
    assert controller.list("vip") == {} and controller.list("vpn_tunnel") == {}
    assert controller.list("other") == {"kept": dict(x=1)}
    records.adopt(engine, controller)  # again: nothing left to move, nothing changes
    assert engine.list("vip") == {"web": dict(address="10.0.0.200")}


def test_a_record_both_stores_hold_differently_is_refused_before_anything_moves(tmp_path):
    engine, controller = StateStore(str(tmp_path / "engine")), StateStore(str(tmp_path / "controller"))
    _write(engine, "vip", "web", dict(address="10.0.0.200"))
    _write(controller, "vip", "api", dict(address="10.0.0.201"))
    _write(controller, "vip", "web", dict(address="10.0.0.99"))
    with pytest.raises(IaasError) as err:
        records.adopt(engine, controller)
    assert controller.db_path in err.value.msg and engine.db_path in err.value.msg and "vip web" in err.value.msg
    assert err.value.field == "state_dir"
    assert sorted(controller.list("vip")) == ["api", "web"] and sorted(engine.list("vip")) == ["web"]


def test_a_controller_without_a_store_costs_nothing(tmp_path):
    engine, controller = StateStore(str(tmp_path / "engine")), StateStore(str(tmp_path / "controller"))
    records.adopt(engine, controller)
    assert not os.path.exists(controller.state_dir) and not os.path.exists(engine.state_dir)
