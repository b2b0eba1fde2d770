"""Print, as JSON, what the host shows of one vip: run on the Docker host.

    python3 observe_vip.py STORE VIP_NAME VIP_ADDRESS [CONTAINER ...]

guarded: the address is in the guard's set of vips; allowed_macs: the MACs the
guard lets send from it; store: the vip's row in the state store (null when
none); for each container: whether the address is on one of its interfaces,
its keepalived state and drain marker (null without keepalived) and when the
engine last started it. Any error (no such container, nft failing for another
reason than a missing table) exits non-zero: an error is never an observation.
"""

import json
import os
import sqlite3
import subprocess
import sys

GUARD = "secure_cloud_iaas_guard"


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def guard_set(name):
    proc = run(["nft", "-j", "list", "set", "bridge", GUARD, name])
    if proc.returncode != 0:
        if "No such file or directory" in proc.stderr:
            return []
        sys.exit("nft list set %s: %s" % (name, proc.stderr.strip()))
    elements = []
    for item in json.loads(proc.stdout)["nftables"]:
        for elem in item.get("set", {}).get("elem", []):
            elements.append(elem["concat"] if isinstance(elem, dict) and "concat" in elem else elem)
    return elements


def store_row(path, name):
    if not os.path.exists(path):
        return None
    conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        row = conn.execute("SELECT data FROM records WHERE kind = 'vip' AND name = ?", (name,)).fetchone()
    finally:
        conn.close()
    return json.loads(row[0]) if row else None


def in_container(name, script):
    proc = run(["docker", "exec", name, "sh", "-c", script])
    if proc.returncode != 0:
        sys.exit("docker exec %s: rc %s %s" % (name, proc.returncode, proc.stderr.strip()))
    return proc.stdout.strip()


def main():
    store, name, address = sys.argv[1:4]
    out = dict(guarded=address in guard_set("vips"),
               allowed_macs=sorted(e[0] for e in guard_set("src_ok") if isinstance(e, list) and e[1] == address),
               store=store_row(store, name), containers={})
    for container in sys.argv[4:]:
        addresses = in_container(container, "ip -4 -o addr show").split()
        state = in_container(container, "cat /run/keepalived-notify/state 2>/dev/null || echo none")
        drain = in_container(container, "cat /run/keepalived-notify/drain 2>/dev/null || echo none")
        started = run(["docker", "inspect", "-f", "{{.State.StartedAt}}", container]).stdout.strip()
        out["containers"][container] = dict(
            holds=any(a.split("/")[0] == address for a in addresses if "/" in a),
            keepalived=None if state == "none" else state, drain=None if drain == "none" else drain,
            started=started)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
