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
  while no module holds the engine's store lock (that module syncs them itself);
* moves each volume that follows a vip to the vip's holder within FOLLOW_PERIOD
  of the vip's move, fencing the old holder first (docker/volumes.py);
* takes the volumes' scheduled backups (checked every BACKUP_PERIOD, in a
  thread of their own: a backup's minutes never delay a volume's move).

It runs the same provider code as the modules (agent_install.py installs
and starts it).

The vip guard is built from every vip on the engine: the engine's store
(records.py), which every controller of the engine writes. The agent only
reads it; when it cannot (a broken file), the guests still boot and the
isolation table still holds, the error is logged once, and the guard stays as
it was loaded.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import threading
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker import guest
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.host import bridge_guard
from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

# How often the light check runs (guests waiting, isolation table, guard present).
PERIOD = 1.0
# Within this, what an engine event drifted is mended (the next pass, a waiting
# guest's preparation, the sync itself, on a loaded host): a module run that
# finds drift waits this long for the agent before it mends and reports it.
SETTLES = 3.0
# How often the holder of a vip that a volume follows is read: the volume's move
# adds at most this to a failover.
FOLLOW_PERIOD = 0.1
# How often the volumes' backup schedules are checked.
BACKUP_PERIOD = 10.0
AGENT_DIR = "/var/lib/secure-cloud-iaas/agent"
PIDFILE = "/run/secure-cloud-iaas-agent.pid"


# -- the agent itself --------------------------------------------------------------
def _log(msg):
    sys.stdout.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), msg))
    sys.stdout.flush()


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

    def follow_volumes(self):
        """Volumes that follow a vip go where it is now (the fast check: a file read per allowed
        instance). Each move takes only the volume's own lock, so a module that holds the store's
        lock (a backup, an instance's stop) does not hold up a failover's data."""
        if not self.provider.volumes.following():
            return False
        moved = self.provider.volumes.follow()
        if moved:
            _log("moved: %s" % ", ".join(moved))
        return True

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
        with self.provider.store.lock_if_free() as free:
            if free:
                drifted = self.provider.repair_host()
                if drifted:
                    _log("brought in line: %s" % ", ".join(drifted))
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


def _backups(new_provider):
    """Take the scheduled backups that are due, every BACKUP_PERIOD, with a provider of its own."""
    last_error = None
    while True:
        try:
            for line in new_provider().volumes.run_schedules(datetime.datetime.now(datetime.timezone.utc)):
                _log(line)
            last_error = None
        except Exception as exc:  # pylint: disable=broad-except
            error = str(exc) if isinstance(exc, IaasError) else repr(exc)
            if error != last_error:
                _log("error: %s" % error)
            last_error = error
        time.sleep(BACKUP_PERIOD)


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
        # No controller store: the engine's own is the one it reads.
        return provider_class(params, None, run_command=run)

    wake = threading.Event()
    wake.set()
    with open(PIDFILE, "w") as handle:
        handle.write("%d\n" % os.getpid())
    _log("agent %d started for %s" % (os.getpid(), args.docker_host))
    threading.Thread(target=_watch, args=(new_provider, wake), daemon=True).start()
    threading.Thread(target=_backups, args=(new_provider,), daemon=True).start()
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
            continue
        # Between passes, volumes that follow a vip are checked every FOLLOW_PERIOD.
        until = time.monotonic() + PERIOD
        while not wake.is_set() and time.monotonic() < until:
            try:
                fast = agent.follow_volumes()
            except Exception as exc:  # pylint: disable=broad-except
                _log("error: %s" % exc)
                fast = False
            wake.wait(FOLLOW_PERIOD if fast else max(0.0, until - time.monotonic()))
