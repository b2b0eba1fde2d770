#!/usr/bin/env bash
# Stops what scripts/neutron_lab/start.sh started, each by the pid it recorded
# (the Neutron API, the Nova stub, MariaDB); nothing else. Safe to run again.
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=${NEUTRON_LAB:-$(cd "$HERE/../.." && pwd)/build/neutron-lab}
stop() {  # name pidfile
  local pid
  [ -f "$2" ] || return 0
  pid=$(cat "$2")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "neutron lab: stopped $1 (pid $pid)"
  fi
  rm -f "$2"
}
stop "Neutron API" "$LAB/run/api.pid"
stop "Nova stub" "$LAB/run/nova-stub.pid"
stop "MariaDB" "$LAB/run/mysqld.pid"
exit 0
