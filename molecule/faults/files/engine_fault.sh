#!/usr/bin/env bash
# Fault a: the Docker engine restarted (restart_engine.sh) while the first
# asker (the client) probes the vip every 10 ms (playbooks/files/vip_probe.py);
# the others (the customer's site host, through the tunnel) are probed too.
# Probing starts again in each asker as soon as the engine lets us in. Prints,
# in ms from the engine's start (restart_engine.sh's started=):
#   before NAME ok=N of=N         one second of probes before the restart
#   last_answer_before_ms=-N      the client's last answer before the engine went
#   engine_answers_ms, exec_ms NAME, first_answer_ms NAME
#   guard_ms     the vip guard pins as many ports as before, every one of them
#                a port that exists (the engine gives the restarted containers
#                new ones: the guard's table itself outlives the engine)
#   (-1: not within LIMIT seconds)
#   engine_fault.sh VIP PORT LIMIT ASKER...
set -uo pipefail
vip=$1 port=$2 limit=$3
shift 3
askers=("$@")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ms() { python3 -c 'import sys; print(int(round((float(sys.argv[1]) - float(sys.argv[2])) * 1000)))' "$1" "$2"; }
probe=(python3 /root/vip_probe.py "$vip" --port "$port" --interval 0.01 --timeout 0.2)
# "N OK": the ports the guard pins, and whether each exists on the host.
pins() {
  nft -j list set bridge secure_cloud_iaas_guard port_mac 2>/dev/null | python3 -c '
import json, os, sys
try:
    items = json.load(sys.stdin)["nftables"]
except ValueError:
    items = []
ports = [e["concat"][0] for i in items if "set" in i for e in i["set"].get("elem", [])]
print(len(ports), "OK" if all(os.path.exists("/sys/class/net/" + p) for p in ports) else "STALE")'
}
pinned=$(pins | cut -d' ' -f1)
echo "guard_ports_before=$pinned"
for c in "${askers[@]}"; do
  docker cp "$here/../../../playbooks/files/vip_probe.py" "$c:/root/vip_probe.py"
  docker exec "$c" "${probe[@]}" --duration 1 >"$work/before"
  echo "before $c ok=$(grep -c ' OK ' "$work/before") of=$(wc -l <"$work/before")"
done
# Until the engine stops the client with everything else.
docker exec "${askers[0]}" "${probe[@]}" --duration 600 >"$work/during" 2>/dev/null &
sleep 1
"$here/restart_engine.sh" >"$work/engine"
cat "$work/engine"
started=$(sed -n 's/^started=//p' "$work/engine")
echo "engine_answers_ms=$(ms "$(sed -n 's/^answers=//p' "$work/engine")" "$started")"
last=$(awk '$2 == "OK" {t = $1} END {print t}' "$work/during")
echo "last_answer_before_ms=$(ms "${last:-$started}" "$started")"

# Each asker: in as soon as the engine lets us, then probing until stopped
# (by its pid, kept in the asker).
for c in "${askers[@]}"; do
  (
    for _ in $(seq 1 $((limit * 20))); do docker exec "$c" true 2>/dev/null && break; sleep 0.05; done
    date +%s.%N >"$work/exec-$c"
    exec docker exec "$c" sh -c 'echo $$ >/root/vip_probe.pid; exec "$@"' probe "${probe[@]}" --duration "$limit" >"$work/after-$c" 2>/dev/null
  ) &
done
guard=""
deadline=$(( $(date +%s) + limit ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -z "$guard" ] && [ "$(pins)" = "$pinned OK" ]; then
    guard=$(date +%s.%N)
  fi
  done_all=yes
  for c in "${askers[@]}"; do grep ' OK ' "$work/after-$c" >/dev/null 2>&1 || done_all=no; done
  [ -n "$guard" ] && [ "$done_all" = yes ] && break
  sleep 0.05
done
for c in "${askers[@]}"; do docker exec "$c" sh -c 'kill "$(cat /root/vip_probe.pid)"' 2>/dev/null; done
wait
for c in "${askers[@]}"; do
  [ -s "$work/exec-$c" ] && echo "exec_ms $c=$(ms "$(cat "$work/exec-$c")" "$started")"
  first=$(awk '$2 == "OK" {print $1; exit}' "$work/after-$c" 2>/dev/null)
  if [ -n "$first" ]; then echo "first_answer_ms $c=$(ms "$first" "$started")"; else echo "first_answer_ms $c=-1"; fi
done
if [ -n "$guard" ]; then echo "guard_ms=$(ms "$guard" "$started")"; else echo "guard_ms=-1"; fi
