#!/usr/bin/env bash
# What a scenario left behind on the Docker host, one line each; nothing when
# nothing. Used by the destroy steps after their deletes. Every probe that
# fails for another reason than "not there" makes this exit non-zero, so an
# error is never taken for a clean host.
#   leftovers.sh NAMES ADDRESSES STORE [BRIDGE ...]
# NAMES: extended regex of the scenario's container and network names.
# ADDRESSES: extended regex of its addresses, looked for in the vip guard
#   ('' for none). STORE: a string every state-store row of the scenario holds
#   (its location, say; '' for none). BRIDGE: host bridges its networks had,
#   which the host's isolation table must no longer name.
# Only what matches counts: scenarios running alongside own the rest.
set -euo pipefail
names=$1 addresses=$2 store=$3
shift 3

docker ps -a --format '{{.Names}}' | awk -v re="$names" '$0 ~ re {print "container " $0}'
docker network ls --format '{{.Name}}' | awk -v re="$names" '$0 ~ re {print "network " $0}'
for b in "$@"; do
  ip -o link show | awk -F': ' -v b="$b" '$2 == b {print "bridge " b}'
done

table() { # family name: the table, or nothing when there is none
  if nft list tables "$1" | awk -v t="$2" '$3 == t {f = 1} END {exit !f}'; then
    nft list table "$1" "$2"
  fi
}
# The guard and the isolation table are rebuilt from the engine on every
# change and by the host agent each second: give them a few seconds.
held() {
  if [ -n "$addresses" ]; then
    table bridge secure_cloud_iaas_guard | { grep -oE "$addresses" || true; } | sort -u | sed 's/^/guard /'
  fi
  for b in "$@"; do
    table inet secure_cloud_iaas_vlans | { grep -F "\"$b\"" || true; } | sed "s/^[[:space:]]*/isolation $b: /"
  done
}
for _ in $(seq 20); do
  found=$(held "$@")
  [ -z "$found" ] && break
  sleep 0.5
done
[ -z "$found" ] || echo "$found"

if [ -n "$store" ]; then
  # The engine's store, found as the modules find it.
  db=$(PYTHONPATH=$ANSIBLE_COLLECTIONS_PATH python3 "$(dirname "$0")/../../scripts/engine_store.py")
  python3 - "$db" "$store" <<'PY'
import os, sqlite3, sys
path, needle = sys.argv[1:]
if os.path.exists(path):
    conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    for kind, name in conn.execute("SELECT kind, name FROM records WHERE instr(data, ?) > 0", (needle,)):
        print("store %s %s" % (kind, name))
PY
fi
