#!/usr/bin/env bash
# What a Galaxy user gets: the collection's tarball, built here, installed
# (with --offline, so never from Galaxy) into an empty directory together with
# the collections galaxy.yml declares as dependencies; then, with
# ANSIBLE_COLLECTIONS_PATH holding only that install (no checkout, no
# .collections, no ansible.cfg of the repository), playbook.yml builds a catalog
# image with secure_cloud.iaas.image, a vlan, an instance from that image (its
# digest pinned and its signature checked) and a vip, checks them, tears them
# down, and this script checks that no container, network or image of it is left.
#   tests/integration/targets/galaxy_install/runme.sh   (or: scripts/run_tests.sh galaxy)
# The image's root filesystem: GALAXY_BASE_TARBALL if set, else a `docker save`
# (by ID, so loading it tags nothing) of secure-cloud-iaas/base:debian12, which
# `make images` builds; no registry answers on the project's hosts, and a
# debootstrap of Debian would add a minute (make images covers that path).
# Needs root and a Docker engine on this host.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../../.." && pwd)
VENV=${VENV:-$REPO/.venv}
DEPS=${DEPS_COLLECTIONS:-$REPO/.collections/ansible_collections}
work=$(mktemp -d /tmp/sciaas-galaxy.XXXXXX)
t0=$SECONDS
snapshot() { # what the engine holds: containers, networks, images (with parents)
  { docker ps -a --format 'container {{.Names}}'; docker network ls --format 'network {{.Name}}'
    docker images -a --no-trunc --format 'image {{.ID}} {{.Repository}}:{{.Tag}}'; } | sort
}
cleanup() {
  local rc=$?
  # After a failure, what the playbook made goes by name, and nothing else.
  if [ $rc != 0 ]; then
    docker rm -f sciaas-galaxy-1 >/dev/null 2>&1 || true
    docker network rm sciaas-vlan-galaxy-net >/dev/null 2>&1 || true
    docker rmi secure-cloud-iaas/instance:galaxy-test secure-cloud-iaas/base:galaxy-test >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
snapshot >"$work/before"

# 1. The tarball, and artifacts of the dependencies: an installed collection
#    (MANIFEST.json, FILES.json) packed as it is, is a collection artifact.
"$VENV/bin/ansible-galaxy" collection build --output-path "$work/dist" "$REPO" >/dev/null
tarball=$(ls "$work"/dist/secure_cloud-iaas-*.tar.gz)
deps=()
for dep in $("$VENV/bin/python" -c 'import sys, yaml
print(" ".join(yaml.safe_load(open(sys.argv[1]))["dependencies"]))' "$REPO/galaxy.yml"); do
  ns=${dep%%.*} name=${dep#*.}
  version=$("$VENV/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
    "$DEPS/$ns/$name/MANIFEST.json")
  tar -C "$DEPS/$ns/$name" -czf "$work/dist/$ns-$name-$version.tar.gz" .
  deps+=("$work/dist/$ns-$name-$version.tar.gz")
done
t_build=$((SECONDS - t0))

# 2. Into an empty directory, offline; the resolver checks galaxy.yml's version ranges.
export ANSIBLE_COLLECTIONS_PATH=$work/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
"$VENV/bin/ansible-galaxy" collection install --offline -p "$work/collections" "$tarball" "${deps[@]}" >/dev/null
echo "galaxy: installed $(cd "$work/collections/ansible_collections" && echo */*)"
t_install=$((SECONDS - t0 - t_build))

# 3. From the empty directory, nothing of the checkout on any path.
mkdir "$work/run"
cp "$HERE/playbook.yml" "$work/run/"
printf '[defaults]\nstdout_callback = ansible.builtin.default\nretry_files_enabled = false\n' >"$work/run/ansible.cfg"
ssh-keygen -q -t ed25519 -N '' -C galaxy-test -f "$work/image-signer"
export GALAXY_BASE_TARBALL=${GALAXY_BASE_TARBALL:-$work/base.tar} GALAXY_DIR=$work
if [ ! -f "$GALAXY_BASE_TARBALL" ]; then
  docker save "$(docker image inspect -f '{{.Id}}' secure-cloud-iaas/base:debian12)" -o "$GALAXY_BASE_TARBALL"
fi
unset PYTHONPATH
t2=$SECONDS
if ! (cd "$work/run" && ANSIBLE_CONFIG=$work/run/ansible.cfg \
  "$VENV/bin/ansible-playbook" -i localhost, -e ansible_python_interpreter="$VENV/bin/python" playbook.yml) \
  >"$work/play.log" 2>&1; then
  cat "$work/play.log"; echo "galaxy: the playbook failed" >&2; exit 1
fi
grep -A1 '^PLAY RECAP' "$work/play.log"
t_play=$((SECONDS - t2))

# 4. Nothing left: what is new on the engine and names this test (or carries its image's labels).
snapshot >"$work/after"
left=$(comm -13 "$work/before" "$work/after" | grep -i galaxy || true)
for id in $(comm -13 "$work/before" "$work/after" | awk '$1 == "image" {print $2}'); do
  if docker image inspect -f '{{json .Config.Labels}}' "$id" 2>/dev/null | grep -q galaxy; then left="$left image $id"; fi
done
others=$(comm -3 "$work/before" "$work/after" | grep -vic galaxy || true)
[ -z "$left" ] || { echo "galaxy: left behind: $left" >&2; exit 1; }
echo "galaxy: nothing left ($others other changes on the engine meanwhile, not this test's)"
echo "galaxy: ok in $((SECONDS - t0))s (build $t_build s, install $t_install s, playbook $t_play s)"
