#!/usr/bin/env bash
# Restarts the Docker engine the way this host runs it, and says when:
#   stopped=EPOCH   the old engine is gone (every container with it)
#   started=EPOCH   the new engine was launched (the engine's start)
#   answers=EPOCH   it answers `docker info`
# Under systemd: systemctl restart docker (untested here: these hosts do not
# boot systemd). Else the running dockerd is stopped with SIGTERM, awaited
# until it is gone, and started again with the same command line, detached,
# its output appended where the old one wrote it (scripts/ensure_docker.sh
# starts it as `dockerd >/var/log/dockerd.log`).
set -euo pipefail
now() { date +%s.%N; }
answers() {
  for _ in $(seq 1 600); do docker info >/dev/null 2>&1 && { echo "answers=$(now)"; return 0; }; sleep 0.1; done
  echo "the engine did not answer within 60 s" >&2; return 1
}
if [ -d /run/systemd/system ] && systemctl is-active --quiet docker; then
  systemctl restart docker
  echo "stopped=unknown"
  echo "started=$(date -d "$(systemctl show -p ExecMainStartTimestamp --value docker)" +%s.%N)"
  answers
  exit
fi
pid=$(cat /var/run/docker.pid)
[ "$(cat "/proc/$pid/comm")" = dockerd ] || { echo "/var/run/docker.pid names $pid, which is not dockerd" >&2; exit 1; }
mapfile -d '' argv <"/proc/$pid/cmdline"
cwd=$(readlink "/proc/$pid/cwd")
log=$(readlink "/proc/$pid/fd/1")
case $log in /*) ;; *) log=/var/log/dockerd.log ;; esac
kill -TERM "$pid"
# The engine stops every container first (each within its stop timeout).
for _ in $(seq 1 1200); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
[ ! -d "/proc/$pid" ] || { echo "dockerd $pid did not stop within 120 s" >&2; exit 1; }
echo "stopped=$(now)"
cd "$cwd"
echo "started=$(now)"
setsid nohup "${argv[@]}" >>"$log" 2>&1 </dev/null &
answers
