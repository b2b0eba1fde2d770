#!/usr/bin/env bash
# Kills a controller mid-change: runs COMMAND in its own process group, waits
# until CONDITION (a shell test, polled every 10 ms) holds, then sends SIGKILL to
# the whole group (ansible-playbook, its workers, the module) and waits until
# none of them is left.
#   kill_mid.sh CONDITION COMMAND...
# Prints: killed_after_ms=N (from the start), and the run's output before that.
# Fails when the run ended before the condition held (nothing was killed).
set -uo pipefail
condition=$1
shift
out=$(mktemp)
start=$(date +%s%N)
setsid "$@" >"$out" 2>&1 </dev/null &
pgid=$!
for _ in $(seq 1 12000); do
  if bash -c "$condition" 2>/dev/null; then
    kill -KILL -- "-$pgid"
    echo "killed_after_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
    break
  fi
  if ! kill -0 "$pgid" 2>/dev/null; then
    echo "the run ended before the condition held:"; cat "$out"; rm -f "$out"; exit 1
  fi
  sleep 0.01
done
wait "$pgid" 2>/dev/null
for _ in $(seq 1 500); do
  pgrep -g "$pgid" >/dev/null || break
  sleep 0.01
done
left=$(pgrep -g "$pgid" | xargs -r)
echo "left_of_the_run=${left:-none}"
sed 's/^/run: /' "$out" | tail -n 5
rm -f "$out"
