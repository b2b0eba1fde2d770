#!/usr/bin/env bash
# make bench: every benchmark in turn, each printing its own table and writing its
# figures under bench/results/. Benchmarks measure and print; none fails on a time.
# A benchmark that breaks is reported and the others still run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export PATH=$PWD/.venv/bin:$PATH
# bench/provisioning.py confines its plain containers with the provider's own policy.
export PYTHONPATH=$PWD/.collections
benches=(
  "provisioning:python bench/provisioning.py"
  "vip switchover:python bench/vip_switchover.py 20"
  "failover:bench/failover.sh 20"
  "hardening:bench/hardening_scores.sh debian12"
  "vpn:python bench/vpn.py"
  "load:python bench/load.py"
  "storage:python bench/storage.py 256"
)
summary=()
total=$SECONDS
# The figures mean little without the machine they came from.
machine="$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), cgroup v$([ -f /sys/fs/cgroup/cgroup.controllers ] && echo 2 || echo 1)"
echo "=== machine: $machine; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for entry in "${benches[@]}"; do
  name=${entry%%:*}
  echo "=== $name"
  start=$SECONDS
  if bash -c "${entry#*:}"; then status=ok; else status=BROKEN; fi
  summary+=("$(printf '%-16s %-7s %5ss' "$name" "$status" $((SECONDS - start)))")
done
echo
echo "=== benchmarks (figures above; JSON and charts in bench/results/)"
printf '%s\n' "${summary[@]}"
printf '%-24s %5ss\n' "all" $((SECONDS - total))
echo "machine: $machine; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
