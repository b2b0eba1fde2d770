# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host agent: what the Docker host enforces stays on without a playbook run.

One small process per Docker host, started by the docker provider the first
time a module runs there (a systemd unit where the host runs systemd, so it
also comes back after a reboot; a detached process elsewhere). It

* prepares every guest container that waits to boot (guest.prepare), at every
  start: after ``docker restart``, an engine restart or a host reboot the
  engine restarts the guests and the agent lets them boot;
* holds the host's tables to the engine's state: the vlan isolation table
  every second, and the vip guard, the VPN bridge rules and the instances'
  VPN routes on every engine event (a container started, a network changed)
  and whenever the guard table has gone (``nft flush ruleset``), but only
  while no module holds a state lock (that module syncs them itself).

It runs the same provider code as the modules, from a copy of the
collection's module_utils under AGENT_DIR (one directory per version of that
code, so an upgraded collection restarts it).

    python /var/lib/secure-cloud-iaas/agent/<version>/secure_cloud_iaas_agent.py \\
        --docker-host unix:///var/run/docker.sock

The vip guard is built from the vips in the state store of every controller
that used the engine (their directories are listed in STATE_DIRS).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
import signal
import sys
import threading
import time
import zipfile

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import bridge_guard
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError, ProviderError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.provider import get_provider
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore

_PACKAGE = "ansible_collections.secure_cloud.iaas.plugins.module_utils"
_OURS = _PACKAGE.replace(".", "/") + "/"
MODULE = _PACKAGE + ".docker.host.agent"
LAUNCHER = "secure_cloud_iaas_agent.py"
# The agent is a program, not module code: module_utils only ever receive a
# command runner, and this launcher (written beside the code) gives the agent
# a plain subprocess one.
_LAUNCHER_TEXT = """# secure_cloud.iaas host agent (written by the docker provider; see its docker/host/agent.py)
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from %s import main  # noqa: E402


def run(argv, data=None):
    proc = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


sys.exit(main(sys.argv[1:], run))
""" % MODULE
AGENT_DIR = "/var/lib/secure-cloud-iaas/agent"
PIDFILE = "/run/secure-cloud-iaas-agent.pid"
LOGFILE = "/var/log/secure-cloud-iaas-agent.log"
UNIT = "secure-cloud-iaas-agent.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT
# The state directories of every controller that used this engine, one a line.
STATE_DIRS = os.path.join(AGENT_DIR, "state_dirs")
# How often the light check runs (guests waiting, isolation table, guard present).
PERIOD = 1.0


# -- installing and starting it (called by the provider) -----------------------
def _code_root():
    """The directory or zip (an AnsiballZ payload) that holds ansible_collections/."""
    here = os.path.abspath(__file__)
    return here[:here.rindex("/ansible_collections/")]


def _code_files():
    """{relative path: bytes}: the collection's module_utils the agent runs (this
    module and the docker provider and all they import) and, from a module's
    payload, the ansible.module_utils it carries (the agent's interpreter may
    have no ansible-core of its own)."""
    root = _code_root()
    if zipfile.is_zipfile(root):
        with zipfile.ZipFile(root) as payload:
            available = dict((n, payload.read(n)) for n in payload.namelist()
                             if n.endswith(".py") and n.startswith(("ansible/", _OURS)))
    else:
        available = {}
        for top, _dirs, names in os.walk(os.path.join(root, _OURS)):
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(top, name)
                with open(path, "rb") as handle:
                    available[os.path.relpath(path, root)] = handle.read()
    files = dict((n, data) for n, data in available.items() if n.startswith("ansible/"))
    # The same closure whichever module's payload it comes from, so every
    # module finds the same version running.
    todo = [_OURS + "docker/host/agent.py", _OURS + "docker/provider.py"]
    while todo:
        path = todo.pop()
        if path in files or path not in available:
            continue
        files[path] = available[path]
        for node in ast.walk(ast.parse(files[path])):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_PACKAGE):
                base = _OURS + node.module[len(_PACKAGE):].lstrip(".").replace(".", "/")
                # "from pkg.mod import name" or "from pkg import mod".
                todo.append(base.rstrip("/") + ".py")
                todo.extend("%s/%s.py" % (base.rstrip("/"), alias.name) for alias in node.names)
    # The packages' own __init__ files come along with their modules.
    for path in list(files):
        init = path.rsplit("/", 1)[0] + "/__init__.py"
        if init in available:
            files[init] = available[init]
    return files


def _install_code():
    """AGENT_DIR/<version>/ with the code; the version is a hash of ours."""
    files = _code_files()
    digest = hashlib.sha256()
    for name in sorted(n for n in files if n.startswith(_OURS)):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    target = os.path.join(AGENT_DIR, digest.hexdigest()[:16])
    if not os.path.isdir(target):
        staging = target + ".new.%d" % os.getpid()
        for name, data in files.items():
            path = os.path.join(staging, name)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
        with open(os.path.join(staging, LAUNCHER), "w") as handle:
            handle.write(_LAUNCHER_TEXT)
        # Plain packages down to ours, whatever the payload held.
        parts = _OURS.rstrip("/").split("/")
        for depth in range(1, len(parts) + 1):
            init = os.path.join(staging, *parts[:depth]) + "/__init__.py"
            if not os.path.exists(init):
                open(init, "w").close()
        os.rename(staging, target)
    return target


@contextlib.contextmanager
def _locked():
    os.makedirs(AGENT_DIR, mode=0o700, exist_ok=True)
    with open(os.path.join(AGENT_DIR, ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def running_pid(code_dir=None):
    """The agent's PID, when it runs (from CODE_DIR, if given); else None."""
    try:
        with open(PIDFILE) as handle:
            pid = int(handle.read().split()[0])
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = handle.read().decode("utf-8", "replace").split("\0")
    except (OSError, ValueError, IndexError):
        return None
    launchers = [a for a in argv if a.endswith("/" + LAUNCHER)]
    if not launchers or (code_dir and launchers[0] != os.path.join(code_dir, LAUNCHER)):
        return None
    return pid


def _unit_text(argv):
    return """[Unit]
Description=secure_cloud.iaas host agent: guests boot confined, vlan isolation and vip guard stay on
After=docker.service
Wants=docker.service

[Service]
ExecStart=%s
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
""" % " ".join(shlex.quote(a) for a in argv)


def _register(state_dir):
    """Add STATE_DIR to the stores the agent reads, and forget those gone (under the agent lock)."""
    known = _state_dirs()
    kept = [d for d in known if os.path.isdir(d) or d == state_dir]
    if state_dir not in kept:
        kept.append(state_dir)
    if kept != known:
        with open(STATE_DIRS + ".new", "w") as handle:
            handle.write("".join(d + "\n" for d in kept))
        os.rename(STATE_DIRS + ".new", STATE_DIRS)


def _state_dirs():
    try:
        with open(STATE_DIRS) as handle:
            return [line.strip() for line in handle if line.strip()]
    except OSError:
        return []


def ensure_running(run, docker_host, state_dir):
    """Start the agent for this engine unless the same version already runs. True when started.

    run: the module's command runner, run(argv, data=None) -> (rc, stdout, stderr).
    """
    if os.geteuid() != 0:
        raise ProviderError("the docker provider confines its guests from the Docker host and needs root there",
                            field="docker_host", fix="run the task as root on the Docker host (become: true)")
    with _locked():
        _register(state_dir)
        code_dir = _install_code()
        if running_pid(code_dir):
            return False
        argv = [sys.executable, os.path.join(code_dir, LAUNCHER), "--docker-host", docker_host]
        if os.path.isdir("/run/systemd/system"):
            # Untested here (these hosts do not boot systemd): the unit brings
            # the agent back after a reboot and restarts it if it dies.
            with open(UNIT_PATH, "w") as handle:
                handle.write(_unit_text(argv))
            commands = [["systemctl", "daemon-reload"], ["systemctl", "enable", "--quiet", UNIT],
                        ["systemctl", "restart", UNIT]]
        else:
            old = running_pid()
            if old:
                os.kill(old, signal.SIGTERM)
            # setsid -f: detached from the module, which returns at once.
            detached = "exec %s >>%s 2>&1 </dev/null" % (" ".join(shlex.quote(a) for a in argv), LOGFILE)
            commands = [["setsid", "-f", "/bin/sh", "-c", detached]]
        for cmd in commands:
            rc, out, err = run(cmd)
            if rc != 0:
                raise ProviderError("could not start the host agent (%s): %s" % (" ".join(cmd[:2]), (err or out).strip()),
                                    field="docker_host", fix="see %s (or journalctl -u %s)" % (LOGFILE, UNIT))
        deadline = time.monotonic() + 10
        while not running_pid(code_dir):
            if time.monotonic() > deadline:
                raise ProviderError("the host agent did not start", field="docker_host",
                                    fix="see %s (or journalctl -u %s)" % (LOGFILE, UNIT))
            time.sleep(0.05)
    _prune(code_dir)
    return True


def _prune(keep):
    """Older versions of the code go once a newer one runs."""
    for name in os.listdir(AGENT_DIR):
        path = os.path.join(AGENT_DIR, name)
        if os.path.isdir(path) and path != keep and not name.startswith("."):
            shutil.rmtree(path, ignore_errors=True)


# -- the agent itself --------------------------------------------------------------
def _log(msg):
    sys.stdout.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), msg))
    sys.stdout.flush()


class Stores(object):
    """What the agent reads of the stores of every controller that used the engine.

    Read only, and a store whose directory is gone is skipped: the agent never
    writes a controller's state.
    """

    def _stores(self, lock_timeout=600):
        for state_dir in _state_dirs():
            store = StateStore(state_dir, lock_timeout=lock_timeout)
            if os.path.exists(store.db_path):
                yield store

    def list(self, kind):
        merged = {}
        for store in self._stores():
            merged.update(store.list(kind))
        return merged

    @contextlib.contextmanager
    def free(self):
        """Every store's lock if none is held now; yields whether they were all free.

        A module that holds a lock is changing what the agent would sync (a vip's
        grants, a tunnel's rules) and syncs it itself: the agent does not wait for
        it, and tries again on its next pass."""
        with contextlib.ExitStack() as held:
            try:
                for store in self._stores(lock_timeout=0):
                    held.enter_context(store.lock())
            except IaasError:
                yield False
                return
            yield True


class Agent(object):
    """One pass of reconcile() does what a playbook run would have to repair."""

    def __init__(self, provider, run):
        self.provider = provider
        self.run = run
        provider.store = Stores()
        self.refused = set()

    def prepare_waiting(self):
        """Let every waiting guest boot, unless it breaks the policy. True when one was prepared."""
        started = False
        for container in self.provider.waiting_guests():
            problems = guest.violations(container.attrs)
            if problems == ["it has no pids limit"]:
                # Not every tool that makes containers can set one (Molecule's
                # docker driver cannot): the guest gets the default.
                self.provider.limit_pids(container, guest.DEFAULT_PIDS_LIMIT)
                problems = []
            if problems:
                if container.id not in self.refused:
                    _log("refusing to boot %s: %s" % (container.name, "; ".join(problems)))
                    self.refused.add(container.id)
                continue
            try:
                self.provider.boot_guest(container)
            except IaasError as exc:
                # Stopped or removed since the listing: nothing to boot. Else the
                # next pass tries it again; the others boot meanwhile.
                if self.provider.still_running(container):
                    _log("error: %s" % exc)
                continue
            _log("prepared %s" % container.name)
            started = True
        return started

    def reconcile(self, full):
        """One pass; False when the full sync it needed has to wait for a module."""
        if self.prepare_waiting():
            full = True
        # Rebuilt whole in one nft transaction from the engine: safe beside a module.
        if self.provider.ensure_isolation():
            _log("brought the vlan isolation table in line with the vlans")
        if not full and self.provider.store.list("vip") and not bridge_guard.present(self.run):
            _log("the vip guard table was gone")
            full = True
        if not full:
            return True
        with self.provider.store.free() as free:
            if free:
                self.provider.sync_host()
            return free


def _watch(new_provider, wake):
    """Set WAKE on every engine event that changes ports or networks, and each time
    the engine comes back (the guests it restarted need the agent)."""
    while True:
        try:
            for _event in new_provider().host_events():
                wake.set()
        except Exception:  # pylint: disable=broad-except
            pass
        wake.set()
        time.sleep(0.5)


def main(argv, run):
    """The agent's loop; run(argv, data=None) -> (rc, stdout, stderr) runs host commands."""
    parser = argparse.ArgumentParser(description="secure_cloud.iaas host agent")
    parser.add_argument("--docker-host", required=True)
    args = parser.parse_args(argv)
    # start_host_agent: the agent's own provider must not start another agent.
    params = dict(provider="docker", docker_host=args.docker_host, docker_timeout=60, start_host_agent=False)

    def new_provider():
        return get_provider(params, run_command=run)

    wake = threading.Event()
    wake.set()
    with open(PIDFILE, "w") as handle:
        handle.write("%d\n" % os.getpid())
    _log("agent %d started for %s" % (os.getpid(), args.docker_host))
    threading.Thread(target=_watch, args=(new_provider, wake), daemon=True).start()
    agent, last_error = None, None
    while True:
        full = wake.is_set()
        wake.clear()
        try:
            if agent is None:
                agent = Agent(new_provider(), run)
            # False: a module holds the state lock; the full sync waits a pass.
            retry = not agent.reconcile(full)
            last_error = None
        except Exception as exc:  # pylint: disable=broad-except
            # The engine went away, or a pass failed half-way: connect again.
            # The same error is logged once.
            error = str(exc) if isinstance(exc, IaasError) else repr(exc)
            if error != last_error:
                _log("error: %s" % error)
            agent, last_error, retry = None, error, True
        if retry:
            wake.set()  # the next pass is a full one
            time.sleep(PERIOD)
        else:
            wake.wait(PERIOD)
