# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""State the platform cannot hold itself, in one SQLite file behind a file lock.

Two playbooks that run at once serialise on ``lock()`` (fcntl.flock on a lock
file beside the database), taken through ``provider.transaction()`` and only
there; a write outside it is refused: a check-then-act sequence such as "find a free
address, then create the instance with it" runs inside one lock, so they can
never pick the same address. The directory is private to its owner (0700).

The wait for the lock is long (10 min) because a play over a fleet queues its
forks on it: 40 instances created at once on a 2-core host need it for about
1.5 s each, 60 s and more in all, longer than the 60 s bound there was (under
which 9 of 40 were never made).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError

DEFAULT_STATE_DIR = "~/.local/state/secure_cloud_iaas"
DB_NAME = "state.sqlite3"
LOCK_NAME = "state.lock"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (kind, name)
)
"""


class StateStore(object):
    def __init__(self, state_dir=None, lock_timeout=600):
        self.state_dir = os.path.abspath(os.path.expanduser(state_dir or DEFAULT_STATE_DIR))
        self.lock_timeout = lock_timeout
        self._depth = 0
        self._lock_fd = None

    @property
    def db_path(self):
        return os.path.join(self.state_dir, DB_NAME)

    def _ensure_dir(self):
        try:
            os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise IaasError("cannot create the state directory %s: %s" % (self.state_dir, exc),
                            field="state_dir", fix="point state_dir at a directory you can write")

    @contextlib.contextmanager
    def lock(self, timeout=None):
        """An exclusive lock across processes; re-entrant within one process.

        TIMEOUT: seconds to wait for it (default: the store's lock_timeout); 0 fails at once."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._ensure_dir()
        fd = os.open(os.path.join(self.state_dir, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        timeout = self.lock_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError):
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise IaasError("waited %ss for the state lock in %s: other runs, or other forks of "
                                    "this one, held it all that time" % (timeout, self.state_dir),
                                    field="state_dir", fix="run again once the other playbook has finished; "
                                    "a play over many instances can use fewer forks (-f)")
                time.sleep(0.05)
        self._lock_fd = fd
        self._depth = 1
        try:
            yield self
        finally:
            self._depth = 0
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextlib.contextmanager
    def lock_if_free(self):
        """The lock if no one holds it now (yields True, held), else False at once."""
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(self.lock(timeout=0))
            except IaasError:
                yield False
                return
            yield True

    @contextlib.contextmanager
    def _db(self):
        self._ensure_dir()
        if os.path.isdir(self.db_path):
            # sqlite would say only "unable to open database file".
            raise IaasError("the state store %s is unreadable: it is a directory, not the store's file" % self.db_path,
                            field="state_dir", fix=self._move_aside())
        fresh = not os.path.exists(self.db_path)
        try:
            conn = sqlite3.connect(self.db_path, timeout=self.lock_timeout)
            try:
                if fresh:
                    os.chmod(self.db_path, 0o600)
                conn.execute(_SCHEMA)
                # One transaction: a write that fails leaves the file as it was.
                with conn:
                    yield conn
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc)

    def _error(self, exc):
        """The store's own failure, named with its file and what to do (sqlite's words kept)."""
        text = str(exc)
        if "full" in text:
            return IaasError("cannot write the state store %s: the disk is full (%s)" % (self.db_path, text),
                             field="state_dir", fix="free space on that disk (df %s) and run again; the store "
                             "holds what it held before" % self.state_dir)
        if "not a database" in text or "malformed" in text:
            return IaasError("the state store %s is unreadable (%s)" % (self.db_path, text), field="state_dir",
                             fix=self._move_aside())
        return IaasError("cannot use the state store %s: %s" % (self.db_path, text), field="state_dir",
                         fix="check that the file and %s belong to the user that runs the module" % self.state_dir)

    def _move_aside(self):
        return ("move it aside (mv %s %s.broken) and run again: the vips and VPN tunnels recorded there must then "
                "be declared again by their playbooks" % (self.db_path, self.db_path))

    def get(self, kind, name):
        with self._db() as conn:
            row = conn.execute("SELECT data FROM records WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, kind):
        with self._db() as conn:
            rows = conn.execute("SELECT name, data FROM records WHERE kind = ? ORDER BY name", (kind,)).fetchall()
        return dict((name, json.loads(data)) for name, data in rows)

    def _writing(self):
        # Writes belong to a plan made under the same lock (provider.transaction()):
        # a write outside one is a bug, never a wait.
        if not self._depth:
            raise RuntimeError("the state store is written outside provider.transaction()")

    def put(self, kind, name, data):
        self._writing()
        with self._db() as conn:
            conn.execute("INSERT OR REPLACE INTO records (kind, name, data, updated) VALUES (?, ?, ?, ?)",
                         (kind, name, json.dumps(data, sort_keys=True), time.time()))

    def delete(self, kind, name):
        self._writing()
        with self._db() as conn:
            cur = conn.execute("DELETE FROM records WHERE kind = ? AND name = ?", (kind, name))
            return cur.rowcount > 0
