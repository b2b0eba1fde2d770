#!/usr/bin/env bash
# What the engine and the host hold for a scenario, to compare before and after
# a run that must touch nothing. Only the scenario's own: whatever else runs on
# the engine meanwhile (a unit test's containers, say) is not compared.
#   snapshot.sh NAMES ADDRESSES
# NAMES: extended regex of the scenario's container and network names;
# ADDRESSES: extended regex of its addresses and MACs in the vip guard.
# Prints its containers and networks (ids, states); the guard's elements that
# hold its addresses or MACs; the isolation and DOCKER-USER rules that name its
# bridges; the addresses and routes inside each of its running containers.
set -euo pipefail
names=$1 addresses=$2
docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' | awk -v re="$names" '$2 ~ re' | sort
networks=$(docker network ls --no-trunc --format '{{.ID}} {{.Name}}' | awk -v re="$names" '$2 ~ re' | sort)
echo "$networks"
# A table that is not there (yet, or any more) is empty.
guard=$(nft list table bridge secure_cloud_iaas_guard 2>/dev/null || true)
tr ',{}' '\n' <<<"$guard" | { grep -E "$addresses" || true; } | sed 's/^[[:space:]]*//' | sort
isolation=$(nft list table inet secure_cloud_iaas_vlans 2>/dev/null || true)
docker_user=$(iptables -w -S DOCKER-USER)
awk '{print "br-" substr($1, 1, 12)}' <<<"$networks" | while read -r b; do
  { grep -F "\"$b\"" <<<"$isolation" || true; } | sed 's/^[[:space:]]*//'
  { grep -F -- " $b " <<<"$docker_user" || true; }
done
for c in $(docker ps --format '{{.Names}}' | { grep -E "$names" || true; } | sort); do
  echo "== $c"
  docker exec "$c" sh -c 'ip -o -4 addr show; ip -4 route show table all'
done
