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

# 1. The tarball, and artifacts of its dependencies (and theirs: community.docker
#    needs community.library_inventory_filtering_v1) taken from the `ansible`
#    wheel on PyPI that scripts/install_collections.sh uses: an installed
#    collection (MANIFEST.json, FILES.json) packed as it is, is an artifact.
"$VENV/bin/ansible-galaxy" collection build --output-path "$work/dist" "$REPO" >/dev/null
tarball=$(ls "$work"/dist/secure_cloud-iaas-*.tar.gz)
bundle=$(grep -o 'ansible==[0-9.]*' "$REPO/scripts/install_collections.sh" | head -n1)
wheel=$(find -L "$REPO/.cache/bundle" -name "ansible-${bundle#ansible==}-*.whl" 2>/dev/null | head -n1)
if [ -z "$wheel" ]; then
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps -d "$REPO/.cache/bundle" "$bundle"
  wheel=$(find -L "$REPO/.cache/bundle" -name "ansible-${bundle#ansible==}-*.whl" | head -n1)
fi
[ -n "$wheel" ] || { echo "galaxy: no $bundle wheel in .cache/bundle (make setup downloads it)" >&2; exit 1; }
mapfile -t deps < <("$VENV/bin/python" - "$REPO/galaxy.yml" "$wheel" "$work/dist" <<'PY'
import hashlib, io, json, sys, tarfile, zipfile
import yaml
galaxy, wheel, out = sys.argv[1:]


def add(tar, name, data=None):
    entry = tarfile.TarInfo(name)
    if data is None:
        entry.type, entry.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(entry)
    else:
        entry.size, entry.mode = len(data), 0o644
        tar.addfile(entry, io.BytesIO(data))


todo, done = list(yaml.safe_load(open(galaxy))["dependencies"]), set()
with zipfile.ZipFile(wheel) as whl:
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        prefix = "ansible_collections/%s/" % name.replace(".", "/")
        manifest = json.loads(whl.read(prefix + "MANIFEST.json"))
        info = manifest["collection_info"]
        todo.extend(info.get("dependencies") or {})
        # The wheel leaves out files its FILES.json lists (CI configs): the
        # artifact's FILES.json lists what is there, and MANIFEST.json its hash.
        files = {}
        for member in whl.infolist():
            rel = member.filename[len(prefix):]
            if member.filename.startswith(prefix) and not member.is_dir() and rel not in ("MANIFEST.json", "FILES.json"):
                files[rel] = whl.read(member)
        dirs = sorted(set("/".join(rel.split("/")[:i]) for rel in files for i in range(1, rel.count("/") + 1)))
        entries = [dict(name=".", ftype="dir", chksum_type=None, chksum_sha256=None, format=1)]
        entries += [dict(name=d, ftype="dir", chksum_type=None, chksum_sha256=None, format=1) for d in dirs]
        entries += [dict(name=rel, ftype="file", chksum_type="sha256", chksum_sha256=hashlib.sha256(data).hexdigest(),
                         format=1) for rel, data in sorted(files.items())]
        files_json = json.dumps(dict(files=entries, format=1), indent=4).encode()
        manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
        path = "%s/%s-%s-%s.tar.gz" % (out, info["namespace"], info["name"], info["version"])
        with tarfile.open(path, "w:gz") as tar:
            add(tar, "MANIFEST.json", json.dumps(manifest, indent=4).encode())
            add(tar, "FILES.json", files_json)
            for d in dirs:
                add(tar, d)
            for rel, data in sorted(files.items()):
                add(tar, rel, data)
        print(path)
PY
)
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
# The modules come from that install and from nowhere else.
from=$(cd "$work" && ANSIBLE_CONFIG=$work/run/ansible.cfg "$VENV/bin/ansible-doc" --json secure_cloud.iaas.image |
  "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["secure_cloud.iaas.image"]["doc"]["filename"])')
case $from in "$work/collections/"*) ;; *) echo "galaxy: secure_cloud.iaas.image was read from $from" >&2; exit 1 ;; esac
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
