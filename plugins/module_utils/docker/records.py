# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the docker provider keeps what the engine cannot hold: one store per engine.

A vip's reservation and a VPN tunnel's record have no Docker object, yet they
belong to the engine, not to whoever declared them: the vip guard must let
every vip on the engine through, an address handed to an instance must not be
another controller's vip, and two controllers must not plan against each other.
So every controller of a local engine uses the same root-owned store,
ENGINES_DIR/<engine ID>/ (0700), and its lock is the one ``transaction()`` of
every module run and of the host agent: syncs of the guard are serialised and
each one is built from every vip on the engine.

(The other choice, each sync touching only what its own controller made,
cannot work for the guard: a port's allowed sources are one set, and a vip
unknown to a controller is a spoof to it.)

A remote engine's host is out of reach for files: its records stay under the
controller's state_dir, keyed by the engine; the vips there need the engine
on this host anyway.

Records an earlier version kept in the controller's own state_dir move here
the first time a module of this version runs (``adopt``).
"""

from __future__ import annotations

import os

from ansible_collections.secure_cloud.iaas.plugins.module_utils.errors import IaasError
from ansible_collections.secure_cloud.iaas.plugins.module_utils.store import DEFAULT_STATE_DIR, StateStore

ENGINES_DIR = "/var/lib/secure-cloud-iaas/engines"
# The kinds of record the docker provider writes (vips.KIND, vpn.KIND).
KINDS = ("vip", "vpn_tunnel")
# An instance's create under way: written before its container is made and deleted when the
# create ends, both under the store's lock. Found under the lock, the row outlived a run that was
# killed mid-create, and the container of that name is half-made (no admin user, say): the next
# run of the instance removes it and makes it anew. Only in the engine's store (never adopted).
CREATING = "instance_creating"


def engine_store(engine, state_dir):
    """The store of ENGINE's records (STATE_DIR: the controller's, used for a remote engine only)."""
    # Older engines answer "ABCD:EFGH:...", newer ones a UUID: either names a directory.
    ident = engine.api("read the engine's identity", engine.client.info)["ID"].replace(":", "-")
    if engine.is_local():
        root = ENGINES_DIR
    else:
        root = os.path.join(os.path.expanduser(state_dir or DEFAULT_STATE_DIR), "engines")
    return StateStore(os.path.join(root, ident))


def adopt(store, controller_store):
    """Move the records CONTROLLER_STORE holds for the engine into its STORE.

    Read without a lock first: once moved, a module run pays one read of an
    empty file. A record both hold with different data is not guessed at."""
    if controller_store.state_dir == store.state_dir or not os.path.exists(controller_store.db_path):
        return
    if not any(controller_store.list(kind) for kind in KINDS):
        return
    with store.lock(), controller_store.lock():
        moving = [(kind, name, record) for kind in KINDS for name, record in controller_store.list(kind).items()]
        # Every clash is named before anything moves.
        for kind, name, record in moving:
            have = store.get(kind, name)
            if have is not None and have != record:
                raise IaasError("the %s %s is recorded both in %s and, differently, in the engine's store %s"
                                % (kind, name, controller_store.db_path, store.db_path), field="state_dir",
                                fix=_clash_fix(kind, name, controller_store.db_path))
        for kind, name, record in moving:
            store.put(kind, name, record)
            controller_store.delete(kind, name)


def _clash_fix(kind, name, path):
    return ("another controller of this engine declared a %s of that name: rename one of them, or delete the row "
            "from %s (sqlite3 %s \"DELETE FROM records WHERE kind = '%s' AND name = '%s'\")" % (kind, path, path, kind, name))
