# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine holds for this scenario's VPN tunnels, as JSON, to compare
before and after a module run (check mode must leave all of it alone).

Usage: python3 engine_state.py LOCATION PRIVATE_VLAN INSTANCE PSK_FILE TUNNEL [TUNNEL...]

- store: the vpn_tunnel records of TUNNEL... in the engine's store the modules
  use, found by the collection's own records.engine_store (so a store
  elsewhere is not silently missed: the path is printed and the caller checks
  the record it expects is there);
- containers: id and state of the location's VPN gateway and of INSTANCE;
- files: sha256 of every file under /etc/swanctl and /etc/nftables.conf in the gateway;
- conns: `swanctl --list-conns` in the gateway;
- established: the ESTABLISHED IKE_SAs (name and unique id: a reload that
  restarts a tunnel gives it a new id);
- firewall: the gateway's nftables table;
- rules: the DOCKER-USER rules of this collection for PRIVATE_VLAN's bridge;
- routes: INSTANCE's routes of protocol 235 (the provider's own);
- psk_file: whether PSK_FILE exists.
Parallel scenarios change other containers, bridges and rules meanwhile: only
this scenario's are read. Any command that fails makes the script fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.engine import Engine
from ansible_collections.secure_cloud.iaas.plugins.module_utils.docker.records import engine_store


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def gateway(gw, script):
    return run("docker", "exec", gw, "sh", "-c", script)


def main():
    location, vlan, instance, psk_file = sys.argv[1:5]
    tunnels = sys.argv[5:]
    gw = "sciaas-vpngw-" + location
    store = engine_store(Engine(os.environ.get("DOCKER_HOST"), 60), os.environ.get("SECURE_CLOUD_STATE_DIR"))
    if not os.path.exists(store.db_path):
        raise SystemExit("no state store at %s" % store.db_path)
    records = dict((t, store.get("vpn_tunnel", t)) for t in tunnels)
    containers = {}
    for name in (gw, "sciaas-" + instance):
        out = subprocess.run(["docker", "inspect", "-f", "{{.Id}} {{.State.Status}}", name], check=False,
                             capture_output=True, text=True)
        containers[name] = out.stdout.strip() if out.returncode == 0 else "absent"
    state = dict(store_dir=store.state_dir, store=records, containers=containers)
    if containers[gw] != "absent":
        state["files"] = gateway(gw, "find /etc/swanctl /etc/nftables.conf -type f | sort | xargs sha256sum")
        state["conns"] = gateway(gw, "swanctl --list-conns 2>/dev/null")
        state["established"] = sorted(re.findall(r"^([\w-]+: #\d+), ESTABLISHED",
                                                 gateway(gw, "swanctl --list-sas --noblock 2>/dev/null"), re.M))
        state["firewall"] = gateway(gw, "nft list table inet sciaas_vpn")
    network = run("docker", "network", "inspect", "-f", "{{.Id}}", "sciaas-vlan-" + vlan).strip()
    bridge = "br-" + network[:12]
    state["rules"] = sorted(line for line in run("iptables", "-w", "-S", "DOCKER-USER").splitlines()
                            if "secure_cloud.iaas vpn" in line and (" %s " % bridge) in line)
    state["routes"] = sorted(run("docker", "exec", "sciaas-" + instance, "ip", "route", "show",
                                 "proto", "235").splitlines())
    state["psk_file"] = os.path.exists(psk_file)
    print(json.dumps(state, sort_keys=True))


if __name__ == "__main__":
    main()
