"""The docker provider's state store as this scenario sees it: the one place that knows where it is.

    store.py path               the store's file
    store.py lock               its lock file
    store.py rows NEEDLE        "kind name" of every row whose data holds NEEDLE (read only)
    store.py hold               take the store's lock, say "held", and keep it until killed
"""

import fcntl
import os
import sqlite3
import sys
import time

from ansible_collections.secure_cloud.iaas.plugins.module_utils import store as store_module
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import Engine
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.records import engine_store

# The engine's own store, found as the modules find it (scripts/engine_store.py).
STORE = engine_store(Engine(os.environ.get("DOCKER_HOST"), 60), os.environ.get("SECURE_CLOUD_STATE_DIR"))
LOCK = os.path.join(os.path.dirname(STORE.db_path), store_module.LOCK_NAME)


def main(what, *args):
    if what == "path":
        print(STORE.db_path)
    elif what == "lock":
        print(LOCK)
    elif what == "rows":
        conn = sqlite3.connect("file:%s?mode=ro" % STORE.db_path, uri=True)
        for kind, name in conn.execute("SELECT kind, name FROM records WHERE instr(data, ?) > 0 ORDER BY kind, name",
                                       (args[0],)):
            print("%s %s" % (kind, name))
    elif what == "hold":
        fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(3600)
    else:
        sys.exit("usage: store.py path|lock|rows NEEDLE|hold")


if __name__ == "__main__":
    main(*sys.argv[1:])
