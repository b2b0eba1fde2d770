# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state store: private files, and two processes that never step on each other."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import subprocess
import time

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore


def _bump(state_dir, rounds):
    store = StateStore(state_dir)
    for dummy in range(rounds):
        # Read, pause, write: without the lock, increments get lost.
        with store.lock():
            value = (store.get("counter", "c") or {"n": 0})["n"]
            os.sched_yield()
            store.put("counter", "c", {"n": value + 1})


def test_two_processes_at_once_stay_consistent(tmp_path):
    state_dir = str(tmp_path / "state")
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_bump, args=(state_dir, 40)) for dummy in range(3)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(60)
        assert proc.exitcode == 0
    assert StateStore(state_dir).get("counter", "c") == {"n": 120}


def test_files_are_private(tmp_path):
    store = StateStore(str(tmp_path / "state"))
    with store.lock():
        store.put("vip", "web", {"address": "10.210.1.192"})
    assert stat.S_IMODE(os.stat(store.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.db_path).st_mode) == 0o600


def test_records_round_trip(tmp_path):
    store = StateStore(str(tmp_path / "state"))
    with store.lock():
        store.put("vip", "b", {"x": 2})
        store.put("vip", "a", {"x": 1})
        assert store.list("vip") == {"a": {"x": 1}, "b": {"x": 2}}
        assert store.delete("vip", "a") and not store.delete("vip", "a")
    assert store.get("vip", "a") is None


def test_a_write_outside_the_lock_is_refused(tmp_path):
    # One owner of locking: a write that no transaction planned is a bug.
    store = StateStore(str(tmp_path / "state"))
    with pytest.raises(RuntimeError, match="outside provider.transaction"):
        store.put("vip", "web", {"address": "10.210.1.192"})
    with pytest.raises(RuntimeError):
        store.delete("vip", "web")
    assert store.list("vip") == {}


def test_a_held_lock_times_out_with_a_message(tmp_path):
    state_dir = str(tmp_path / "state")
    holder = StateStore(state_dir)
    waiter = StateStore(state_dir, lock_timeout=0.2)
    with holder.lock():
        with pytest.raises(IaasError) as err:
            with waiter.lock():
                pass
    assert "waited 0.2s for the state lock" in str(err.value)


def test_a_lock_whose_holder_was_killed_is_free_at_once(tmp_path):
    # flock belongs to the open file: the kernel drops it with the process, so a
    # run killed (SIGKILL) while it held the lock leaves nothing to remove.
    state_dir = str(tmp_path / "state")
    ready = multiprocessing.Event()

    def hold():
        with StateStore(state_dir).lock():
            ready.set()
            time.sleep(600)

    proc = multiprocessing.Process(target=hold)
    proc.start()
    assert ready.wait(30)
    waiter = StateStore(state_dir, lock_timeout=0.2)
    with pytest.raises(IaasError):  # held: the control
        with waiter.lock():
            pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    started = time.monotonic()
    with waiter.lock():
        pass
    assert time.monotonic() - started < 0.2


def test_a_corrupt_store_fails_naming_the_file_and_the_fix(tmp_path):
    store = StateStore(str(tmp_path / "state"))
    with store.lock():
        store.put("vip", "web", {"address": "10.210.1.192"})
    with open(store.db_path, "r+b") as handle:
        handle.write(b"this is no longer sqlite" * 100)
    for read in (lambda: store.list("vip"), lambda: store.get("vip", "web")):
        with pytest.raises(IaasError) as err:
            read()
        assert err.value.field == "state_dir" and store.db_path in err.value.msg and "unreadable" in err.value.msg
        assert "mv %s %s.broken" % (store.db_path, store.db_path) in err.value.fix


def test_a_directory_in_place_of_the_store_fails_naming_the_file_and_the_fix(tmp_path):
    # sqlite says only "unable to open database file" of a directory.
    store = StateStore(str(tmp_path / "state"))
    os.makedirs(store.db_path)
    for use in (lambda: store.list("vip"), lambda: store.get("vip", "web")):
        with pytest.raises(IaasError) as err:
            use()
        assert store.db_path in err.value.msg and "is a directory" in err.value.msg
        assert "mv %s %s.broken" % (store.db_path, store.db_path) in err.value.fix


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_fails_clearly_and_the_store_stays_readable(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        store = StateStore(str(mount / "state"))
        with store.lock():
            store.put("vip", "web", {"address": "10.210.1.192"})
        with open(str(mount / "filler"), "wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
            except OSError:
                pass  # the disk is full: the point
        with pytest.raises(IaasError) as err:
            with store.lock():
                store.put("vip", "db", {"blob": "x" * 200000})
        assert err.value.field == "state_dir" and "disk is full" in err.value.msg and store.db_path in err.value.msg
        assert store.list("vip") == {"web": {"address": "10.210.1.192"}}
    finally:
        subprocess.run(["umount", str(mount)], check=True)
