#!/usr/bin/env bash
# The catalog images, through the collection's own module (secure_cloud.iaas.image),
# each rebuilt only when its inputs change (the module compares a hash of them):
#   secure-cloud-iaas/base:<name>      the registry's debian:<codename> when one answers, else debootstrap + import
#   secure-cloud-iaas/instance:<name>  the recipe in plugins/module_utils/docker/recipe.py FROM it
# RELEASES (default "debian12 debian13"): debian12 must build; a later one is
# kept only when it builds and boots systemd on this host. IMAGE_NAME_PREFIX
# (default empty) names the images <prefix><release>, to try a build beside the
# images everyone uses. DEBIAN_MIRROR overrides the archive the host's apt uses.
set -euo pipefail
cd "$(dirname "$0")/.."
RELEASES=${RELEASES:-debian12 debian13}
PREFIX=${IMAGE_NAME_PREFIX:-}

# debootstrap is what the module falls back to when no registry answers.
if ! command -v debootstrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# image NAME RELEASE [STATE]: one call of the module; one line of what it did.
image() {
  local args="name=$1 release=$2 state=${3:-present}" out
  [ -z "${DEBIAN_MIRROR:-}" ] || args="$args debian_mirror=$DEBIAN_MIRROR"
  out=$(ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_STDOUT_CALLBACK=json \
    ansible localhost -c local -i localhost, -m secure_cloud.iaas.image -a "$args") || true
  python3 -c '
import json, sys
name = sys.argv[1]
result = json.loads(sys.stdin.read())["plays"][0]["tasks"][0]["hosts"]["localhost"]
if result.get("failed"):
    print("images: %s failed: %s" % (name, result.get("msg")), file=sys.stderr)
    sys.exit(1)
image = result.get("image") or {}
if not image:
    print("images: %s %s" % (name, "removed" if result.get("changed") else "is absent"))
else:
    print("images: %s %s (%s, from %s)" % (image["reference"], "built" if result["changed"] else "is current",
                                           image["id"], image["source"]))
' "$1" <<<"$out"
}

# A later release counts only when systemd boots in it on this host, confined as
# every guest is (systemd 256+ refuses a cgroup v1 host, for instance).
boots() {
  PYTHONPATH="$PWD/.collections" .venv/bin/python scripts/image_boots.py "$1"
}

for release in $RELEASES; do
  name=$PREFIX$release
  if [ "$release" = debian12 ]; then
    image "$name" "$release"
  elif image "$name" "$release" && boots "secure-cloud-iaas/instance:$name"; then
    :
  else
    echo "images: $release left out: it does not build or boot systemd on this host"
    image "$name" "$release" absent >/dev/null || true
  fi
done
