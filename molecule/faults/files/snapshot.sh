#!/usr/bin/env bash
# What the engine and the host hold for a scenario, to compare before and after
# a run that must touch nothing: containers and networks (ids, states), the
# guard and isolation tables, the DOCKER-USER chain, and the addresses and
# routes inside every running container whose name matches REGEX.
#   snapshot.sh REGEX
set -euo pipefail
docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' | sort
docker network ls --no-trunc --format '{{.ID}} {{.Name}}' | sort
nft list table bridge secure_cloud_iaas_guard
nft list table inet secure_cloud_iaas_vlans
iptables -w -S DOCKER-USER
for c in $(docker ps --format '{{.Names}}' | grep -E "$1" | sort); do
  echo "== $c"
  docker exec "$c" sh -c 'ip -o -4 addr show; ip -4 route show table all'
done
