#!/usr/bin/env bash
# Makes sure a Docker engine answers. An engine that already runs is used as it
# is and never touched. Otherwise, on Debian/Ubuntu as root, docker.io is
# installed and dockerd started in the background.
set -euo pipefail
# What the Docker provider runs on the host: nft for the vlans' bridges and the
# vip guard; gocryptfs, e2fsprogs and restic for volumes (ciphertext in an ext4
# image, backups).
missing=()
for tool in nft:nftables gocryptfs:gocryptfs mkfs.ext4:e2fsprogs restic:restic; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "docker: installing ${missing[*]} for the provider's host side"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "docker: missing on this host: ${missing[*]}; install them (the vip guard and volumes need them) and run again" >&2; exit 1
  fi
fi
# Every instance runs systemd, which holds several inotify instances; all of them
# count against root on the host, and at the kernel's default of 128 the next
# instance's systemd dies at boot ("Too many open files") once about 20 run.
inotify=/proc/sys/fs/inotify/max_user_instances
if [ -r "$inotify" ] && [ "$(cat "$inotify")" -lt 1024 ]; then
  if [ "$(id -u)" = 0 ] && echo 1024 >"$inotify" 2>/dev/null; then
    echo "docker: fs.inotify.max_user_instances raised to 1024 (systemd in every instance)"
  else
    echo "docker: fs.inotify.max_user_instances is $(cat "$inotify"); raise it to 1024 as root, or instances past about 20 fail to boot" >&2
  fi
fi
if docker info >/dev/null 2>&1; then
  echo "docker: engine $(docker version --format '{{.Server.Version}}') answers"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<'MSG'
No Docker engine answers, and this machine is not one where it can be set up
automatically (that needs root and apt-get). Start a Docker engine (for example
'sudo systemctl start docker'), make sure 'docker info' works for this user,
then run make again.
MSG
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker: installing docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
echo "docker: starting dockerd (log: /var/log/dockerd.log)"
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { echo "docker: engine started"; exit 0; }
  sleep 1
done
echo "docker: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
