# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest policy, and the host's half of a guest's boot, against the real engine."""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
import time
import uuid

import pytest

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import agent as host_agent
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import agent_install
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import get_provider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore

docker = pytest.importorskip("docker")

IMAGE = "secure-cloud-iaas/instance:debian12"


@pytest.mark.parametrize("kwargs, field", [
    (dict(capabilities=("NET_ADMIN", "SYS_ADMIN")), "capabilities"),
    (dict(capabilities=("SYS_MODULE",)), "capabilities"),
    (dict(devices=("/dev/fuse",)), "devices"),
])
def test_a_guest_may_not_hold_what_reaches_the_host(kwargs, field):
    with pytest.raises(IaasError) as err:
        guest.create_options(256 * 1024 * 1024, **kwargs)
    assert err.value.field == field
    assert "NET_ADMIN" in str(err.value) or "/dev/net/tun" in str(err.value)


# The recipe the provider followed before, as docker inspect shows it.
UNCONFINED = dict(
    HostConfig=dict(Privileged=False, CapAdd=["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], CgroupnsMode="host",
                    SecurityOpt=["seccomp=unconfined"], PidsLimit=None, Memory=0,
                    Devices=[dict(PathOnHost="/dev/fuse")]),
    Mounts=[dict(Source="/sys/fs/cgroup", Destination="/sys/fs/cgroup")],
)


def test_every_part_of_the_old_recipe_is_named():
    found = guest.violations(UNCONFINED)
    assert found == ["it holds SYS_ADMIN", "it shares the host's cgroup namespace", "its seccomp profile is unconfined",
                     "it mounts /sys/fs/cgroup from the host", "it has no pids limit", "it has no memory limit",
                     "it is given the device /dev/fuse"]


@pytest.fixture
def client():
    try:
        client = docker.from_env()
        client.ping()
        client.images.get(IMAGE)
    except Exception as exc:  # pylint: disable=broad-except
        pytest.skip("no Docker engine or no instance image: %s" % exc)
    made = []
    yield client, made
    for container in made:
        container.remove(force=True)


def _guest(client, made, **kwargs):
    container = client.containers.create(IMAGE, name="sciaas-ut-guest-%s" % uuid.uuid4().hex[:8],
                                         labels={"secure_cloud.iaas.managed": "true"},
                                         **guest.create_options(256 * 1024 * 1024, **kwargs))
    made.append(container)
    container.start()
    container.reload()
    return container


def _state(container, seconds=60):
    deadline = time.monotonic() + seconds
    state = ""
    while time.monotonic() < deadline:
        state = container.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
        if state in ("running", "degraded"):
            break
        time.sleep(0.25)
    return state


def test_the_engine_applies_the_policy(client):
    container = _guest(*client)
    assert guest.violations(container.attrs) == []


def test_a_guest_waits_for_the_host_then_boots_with_only_its_own_subtree_writable(client):
    container = _guest(*client)
    time.sleep(1)
    # Without the host, systemd never starts.
    assert guest.waiting(container.attrs["State"]["Pid"])
    assert container.exec_run(["cat", "/proc/1/comm"]).output.decode().strip() == "sh"
    guest.prepare(container.attrs["State"]["Pid"], container.name)
    assert not guest.waiting(container.attrs["State"]["Pid"])
    assert _state(container) == "running"
    probe = ("mkdir /sys/fs/cgroup/memory/x 2>/dev/null && echo memory=rw || echo memory=ro; "
             "ls /sys/fs/cgroup/memory/docker >/dev/null 2>&1 && echo host=visible || echo host=hidden")
    out = container.exec_run(["sh", "-c", probe]).output.decode().split()
    assert out == ["memory=ro", "host=hidden"]


@pytest.mark.skipif(not os.path.ismount("/sys/fs/cgroup/unified"), reason="not a hybrid cgroup v1 host")
def test_on_a_hybrid_host_the_guest_gets_its_own_unified_subtree(client):
    """systemd learns that a unit ran empty only through the unified hierarchy (without
    it a killed keepalived is never cleaned up: the failover scenario's keepalived_killed
    mode fails); the guest must see its own subtree there and nothing else."""
    container = _guest(*client)
    guest.prepare(container.attrs["State"]["Pid"], container.name)
    assert _state(container) == "running"
    probe = ("findmnt -n -o FSTYPE,OPTIONS /sys/fs/cgroup/unified; grep '^0::' /proc/1/cgroup; "
             "ls /sys/fs/cgroup/unified")
    out = container.exec_run(["sh", "-c", probe]).output.decode().split()
    assert out[0] == "cgroup2" and out[1].startswith("rw,")
    assert out[2] == "0::/init.scope"
    assert "init.scope" in out and "docker" not in out and "system.slice" in out


def test_two_preparers_at_once_prepare_once(client):
    """The provider and the host agent may both see a new guest waiting: the second
    waits for the first, then finds nothing to do (mounting twice fails with EBUSY)."""
    container = _guest(*client)
    pid = container.attrs["State"]["Pid"]
    second = threading.Thread(target=guest.prepare, args=(pid, container.name))
    with open(guest._LOCK, "a") as first:
        fcntl.flock(first, fcntl.LOCK_EX)
        second.start()
        second.join(0.5)
        assert second.is_alive() and guest.waiting(pid)
    second.join(10)
    assert not second.is_alive() and not guest.waiting(pid)
    guest.prepare(pid, container.name)
    assert _state(container) == "running"


def test_preparing_runs_no_program_of_the_guest(client):
    """An nsenter-and-mount recipe would run the guest's own /bin/mount as host root."""
    container = _guest(*client)
    trap = "#!/bin/sh\ntouch /trap-ran\nexec /bin/mount.real \"$@\"\n"
    container.exec_run(["sh", "-c", "mv /bin/mount /bin/mount.real && printf '%s' \"$T\" > /bin/mount && "
                        "chmod 755 /bin/mount && cp /bin/mount /usr/bin/mount 2>/dev/null; true"],
                       environment={"T": trap})
    guest.prepare(container.attrs["State"]["Pid"], container.name)
    assert _state(container) == "running"
    assert container.exec_run(["test", "-e", "/trap-ran"]).exit_code == 1


def test_a_docker_module_payload_carries_the_agent():
    # A module's payload holds what the module imports; the agent is copied
    # from it, so the provider's import closure must reach the daemon and the
    # launcher's imports.
    root = agent_install._code_root()
    available = {}
    for top, _dirs, names in os.walk(os.path.join(root, agent_install._OURS)):
        for name in names:
            path = os.path.join(top, name)
            with open(path, "rb") as handle:
                available[os.path.relpath(path, root)] = handle.read()
    reached = agent_install.closure(available, agent_install._OURS + "docker/provider.py")
    for module in (agent_install.AGENT_MODULE, agent_install.PROVIDER_MODULE):
        assert module.replace(".", "/") + ".py" in reached


def test_the_agent_code_is_the_same_closure_from_a_checkout():
    files = agent_install._code_files()
    ours = sorted(name.split("/module_utils/", 1)[1] for name in files if "/module_utils/" in name)
    for needed in ("docker/host/agent.py", "docker/provider.py", "docker/guest.py", "docker/host/bridge_guard.py",
                   "docker/host/isolation.py", "docker/__init__.py", "store.py", "provider.py"):
        assert needed in ours
    # Modules no agent code imports stay out (they would change its version for nothing).
    assert "audit_chain.py" not in ours


@pytest.fixture
def agent(tmp_path):
    """The host agent runs (any docker provider made with a command runner starts it)."""
    def run(argv, data=None):
        proc = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    try:
        get_provider(dict(provider="docker", state_dir=str(tmp_path / "state")), run_command=run)
    except IaasError as exc:
        pytest.skip("no Docker engine: %s" % exc)
    assert agent_install.running_pid()


def _labelled(client, made, **create):
    options = guest.create_options(256 * 1024 * 1024)
    options.update(create)
    container = client.containers.create(IMAGE, name="sciaas-ut-agent-%s" % uuid.uuid4().hex[:8],
                                         labels={"secure_cloud.iaas.managed": "true", guest.GUEST_LABEL: "true"},
                                         **options)
    made.append(container)
    container.start()
    container.reload()
    return container


def test_the_agent_lets_a_guest_boot(client, agent):
    container = _labelled(*client)
    assert _state(container, 30) == "running"


def test_the_agent_refuses_a_guest_that_breaks_the_policy(client, agent):
    """The old recipe, labelled as a guest: it must never boot."""
    container = _labelled(*client, cap_add=["SYS_ADMIN"], security_opt=["seccomp=unconfined"], cgroupns="host")
    time.sleep(3)
    assert guest.waiting(container.attrs["State"]["Pid"])
    with open(agent_install.LOGFILE) as handle:
        assert "refusing to boot %s: it holds SYS_ADMIN" % container.name in handle.read()


class _Engine(object):
    def waiting_guests(self):
        return []


class _Provider(object):
    """What Agent.reconcile asks of the provider, counting the full syncs."""

    def __init__(self, store):
        self.synced = self.isolated = 0
        self.engine = _Engine()
        self.store = store

    def ensure_isolation(self):
        self.isolated += 1
        return False

    def repair_host(self):
        self.synced += 1
        return []


def test_the_agent_never_syncs_while_a_module_holds_the_state_lock(tmp_path):
    store = StateStore(str(tmp_path / "engine"))
    with store.lock():
        store.put("vip", "web", dict(name="web"))
    provider = _Provider(StateStore(store.state_dir))  # the agent's own, as another process has
    agent = host_agent.Agent(provider, run=None)
    with store.lock():
        assert agent.reconcile(full=True) is False
    assert provider.synced == 0
    assert agent.reconcile(full=True) is True
    assert provider.synced == 1


def test_a_broken_engine_store_stops_the_guard_sync_but_not_the_isolation(tmp_path):
    # The guard cannot be built without the vips; the vlans' isolation needs no store.
    store = StateStore(str(tmp_path / "engine"))
    with store.lock():
        store.put("vip", "web", dict(name="web"))
    provider = _Provider(store)
    agent = host_agent.Agent(provider, run=None)
    assert agent.reconcile(full=True) is True  # the control: intact, it syncs
    with open(store.db_path, "r+b") as handle:
        handle.write(b"this is no longer sqlite" * 100)
    with pytest.raises(IaasError) as err:
        agent.reconcile(full=False)
    assert store.db_path in err.value.msg
    assert provider.isolated == 2 and provider.synced == 1


# A network namespace's /proc/PID/net/fib_trie (its Main table), as the host agent reads it to
# find a vip's holder: the instance's own address .3 and the vip .192 are local, the network
# address and the broadcast address are not.
FIB_TRIE = """Main:
  +-- 0.0.0.0/1 2 0 2
     +-- 10.240.8.0/24 2 1 2
        +-- 10.240.8.0/30 2 0 2
           |-- 10.240.8.0
              /24 link UNICAST
           |-- 10.240.8.3
              /32 host LOCAL
        +-- 10.240.8.192/26 2 0 2
           |-- 10.240.8.192
              /32 host LOCAL
           |-- 10.240.8.255
              /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.255.255.255
           /32 link BROADCAST
"""


def test_local_addresses_are_the_leaves_marked_host_local():
    assert guest.local_addresses(FIB_TRIE.splitlines()) == {"10.240.8.3", "10.240.8.192"}


def test_holds_address_reads_this_process_namespace():
    # The test's own namespace has 127.0.0.1 as a local address and no 192.0.2.77 (TEST-NET-1).
    assert guest.holds_address(os.getpid(), "127.0.0.1")
    assert not guest.holds_address(os.getpid(), "192.0.2.77")
    assert not guest.holds_address(2 ** 22 + 7, "127.0.0.1")  # no such process
