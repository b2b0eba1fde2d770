#!/usr/bin/env bash
# Removes every container, network, volume and image the project made, found by
# its label, and nothing else: a container started by hand survives.
set -euo pipefail
cd "$(dirname "$0")/.."
LABEL=secure_cloud.iaas.managed
docker info >/dev/null 2>&1 || { echo "clean: no Docker engine answers; nothing to remove there"; exit 0; }
ids=$(docker ps -aq --filter "label=$LABEL")
[ -z "$ids" ] || docker rm -f -v $ids >/dev/null
# Networks Molecule makes for a scenario carry only Molecule's label; ours are
# the ones named sciaas-*.
nets=$( { docker network ls -q --filter "label=$LABEL"
          docker network ls --filter label=owner=molecule --format '{{.ID}} {{.Name}}' | awk '$2 ~ /^sciaas-/ {print $1}'; } | sort -u)
[ -z "$nets" ] || docker network rm $nets >/dev/null
vols=$(docker volume ls -q --filter "label=$LABEL")
[ -z "$vols" ] || docker volume rm $vols >/dev/null
# Instance images are built FROM the base images: remove them first.
for kind in instance base; do
  imgs=$(docker images -q --filter "label=$LABEL" --filter "reference=secure-cloud-iaas/$kind:*" | sort -u)
  [ -z "$imgs" ] || docker rmi -f $imgs >/dev/null
done
imgs=$(docker images -q --filter "label=$LABEL" | sort -u)
[ -z "$imgs" ] || docker rmi -f $imgs >/dev/null
rm -rf build .cache/molecule "${HOME}/.cache/molecule/iaas" 2>/dev/null || true
echo "clean: removed the project's containers, networks, volumes and images"
