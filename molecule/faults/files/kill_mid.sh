#!/usr/bin/env bash
# Kills a controller mid-change: runs COMMAND in a cgroup of its own, waits
# until CONDITION (a shell test, polled every 10 ms) holds, then freezes the
# cgroup and kills every process in it with SIGKILL: ansible-playbook, its
# workers and the module. Not by process group: each worker of ansible-core
# 2.19+ is a session of its own, so a group kill leaves the module running to
# its end; and not by walking the process tree, which takes long enough for a
# module to finish what it was doing. The freezer stops them all at once.
#   kill_mid.sh CONDITION COMMAND...
# Prints: killed_after_ms=N (from the start, at the freeze), killed=N
# (processes) module_killed=yes|no (the module's python was one of them),
# left_of_the_run=none|PIDS, and the run's output before the kill.
# Fails when the run ended before the condition held (nothing was killed).
# Tested on cgroup v1 (the freezer hierarchy); the cgroup v2 branch (cgroup.freeze)
# has not run here.
set -uo pipefail
condition=$1
shift
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cg=/sys/fs/cgroup/sciaas-faults-kill-$$ freeze=cgroup.freeze frozen=1 thawed=0
else
  cg=/sys/fs/cgroup/freezer/sciaas-faults-kill-$$ freeze=freezer.state frozen=FROZEN thawed=THAWED
fi
mkdir "$cg" || exit 1
out=$(mktemp)
trap 'rm -f "$out"; rmdir "$cg" 2>/dev/null' EXIT
procs() { xargs <"$cg/cgroup.procs"; }
start=$(date +%s%N)
# shellcheck disable=SC2016  # $$ and $@ are the inner shell's
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@" >"$out" 2>&1 </dev/null &
run=$!
killed=no
for _ in $(seq 1 12000); do
  if bash -c "$condition" 2>/dev/null; then
    echo "$frozen" >"$cg/$freeze"
    echo "killed_after_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
    pids=$(procs)
    module=no
    for p in $pids; do
      # The module: a python that is not ansible-playbook (piped in, its
      # command line says no more than python3; else AnsiballZ_NAME.py).
      case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in
        *ansible-playbook*) ;;
        *python*) module=yes ;;
      esac
    done
    # shellcheck disable=SC2086  # a list of pids
    kill -KILL $pids
    echo "$thawed" >"$cg/$freeze"
    echo "killed=$(wc -w <<<"$pids") module_killed=$module"
    killed=yes
    break
  fi
  if ! kill -0 "$run" 2>/dev/null; then break; fi
  sleep 0.01
done
wait "$run" 2>/dev/null
if [ "$killed" = no ]; then
  echo "the run ended before the condition held:"; cat "$out"; exit 1
fi
for _ in $(seq 1 500); do
  [ -z "$(procs)" ] && break
  sleep 0.01
done
left=$(procs)
echo "left_of_the_run=${left:-none}"
sed 's/^/run: /' "$out" | tail -n 5
