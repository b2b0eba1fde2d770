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

It runs the same provider code as the modules (agent_install.py installs
and starts it).

The vip guard is built from the vips in the state store of every controller
that used the engine (their directories are listed in STATE_DIRS).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import bridge_guard
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import StateStore

# How often the light check runs (guests waiting, isolation table, guard present).
PERIOD = 1.0
AGENT_DIR = "/var/lib/secure-cloud-iaas/agent"
PIDFILE = "/run/secure-cloud-iaas-agent.pid"
# The state directories of every controller that used this engine, one a line
# (agent_install.py adds each controller's as its modules start the agent).
STATE_DIRS = os.path.join(AGENT_DIR, "state_dirs")


def state_dirs():
    try:
        with open(STATE_DIRS) as handle:
            return [line.strip() for line in handle if line.strip()]
    except OSError:
        return []


# -- the agent itself --------------------------------------------------------------
def _log(msg):
    sys.stdout.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), msg))
    sys.stdout.flush()


class Stores(object):
    """What the agent reads of the stores of every controller that used the engine.

    Read only, and a store whose directory is gone is skipped: the agent never
    writes a controller's state. An unreadable store is skipped too (said once
    in the log), so one controller's broken file does not stop what the host
    enforces for the others; that controller's own modules fail on it, naming it.
    """

    def __init__(self):
        self.unreadable = set()

    def _stores(self, lock_timeout=600):
        for state_dir in state_dirs():
            store = StateStore(state_dir, lock_timeout=lock_timeout)
            if os.path.exists(store.db_path):
                yield store

    def list(self, kind):
        merged = {}
        for store in self._stores():
            try:
                merged.update(store.list(kind))
            except IaasError as exc:
                if store.db_path not in self.unreadable:
                    _log("skipping a state store: %s" % exc)
                    self.unreadable.add(store.db_path)
                continue
            self.unreadable.discard(store.db_path)
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
        self.refused = set()

    def prepare_waiting(self):
        """Let every waiting guest boot, unless it breaks the policy. True when one was prepared."""
        started = False
        for container in self.provider.engine.waiting_guests():
            problems = guest.violations(container.attrs)
            if problems == ["it has no pids limit"]:
                # Not every tool that makes containers can set one (Molecule's
                # docker driver cannot): the guest gets the default.
                self.provider.engine.limit_pids(container, guest.DEFAULT_PIDS_LIMIT)
                problems = []
            if problems:
                if container.id not in self.refused:
                    _log("refusing to boot %s: %s" % (container.name, "; ".join(problems)))
                    self.refused.add(container.id)
                continue
            try:
                self.provider.instances.boot(container)
            except IaasError as exc:
                # Stopped or removed since the listing: nothing to boot. Else the
                # next pass tries it again; the others boot meanwhile.
                if self.provider.engine.still_running(container):
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
            for _event in new_provider().engine.events():
                wake.set()
        except Exception:  # pylint: disable=broad-except
            pass
        wake.set()
        time.sleep(0.5)


def main(argv, run, provider_class):
    """The agent's loop; run(argv, data=None) -> (rc, stdout, stderr) runs host commands;
    provider_class: the docker provider (the launcher imports it: this module is
    imported by the provider's own package, so it cannot import it back)."""
    parser = argparse.ArgumentParser(description="secure_cloud.iaas host agent")
    parser.add_argument("--docker-host", required=True)
    args = parser.parse_args(argv)
    # start_host_agent: the agent's own provider must not start another agent.
    params = dict(provider="docker", docker_host=args.docker_host, docker_timeout=60, start_host_agent=False)

    def new_provider():
        # The stores of every controller of this engine, read only.
        return provider_class(params, Stores(), run_command=run)

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
