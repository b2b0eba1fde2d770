#!/usr/bin/env bash
# Builds the collection tarball, installs it offline into a temporary path, and
# renders every plugin's documentation from that install with ansible-doc. First,
# check_tarball.sh: a tarball built in a tree full of decoys (keys, PSKs, caches,
# venvs, results) ships none of them, with its control.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check_tarball.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ansible-galaxy collection build --force --output-path "$tmp/dist" . >/dev/null
tarball=$(ls "$tmp"/dist/secure_cloud-iaas-*.tar.gz)
echo "build: $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
# The install comes first on the path, so ansible-doc reads it, not the checkout.
export ANSIBLE_COLLECTIONS_PATH="$tmp/collections:$ANSIBLE_COLLECTIONS_PATH"
# --offline: dependencies come from the collections already installed, never Galaxy.
ansible-galaxy collection install --offline --no-deps --force -p "$tmp/collections" "$tarball" >/dev/null
installed=$tmp/collections/ansible_collections/secure_cloud/iaas
[ -f "$installed/MANIFEST.json" ] || { echo "build: install did not produce $installed" >&2; exit 1; }
count=0
for type in module inventory callback; do
  for name in $(ansible-doc -t "$type" -l secure_cloud.iaas 2>/dev/null | awk '{print $1}'); do
    # The plugin must come from the installed tarball, not the checkout.
    ansible-doc -t "$type" --json "$name" | python -c '
import json, sys
name, want = sys.argv[1], sys.argv[2]
doc = json.load(sys.stdin)[name]["doc"]
path = doc.get("filename", "")
assert path.startswith(want), f"{name} was read from {path}, not the install"
assert doc.get("short_description"), f"{name} has no short_description"
' "$name" "$installed"
    ansible-doc -t "$type" "$name" >/dev/null
    count=$((count + 1))
  done
done
for dir in roles/*/; do
  [ -d "$dir" ] || continue
  ansible-doc -t role "secure_cloud.iaas.$(basename "$dir")" >/dev/null
  count=$((count + 1))
done
echo "build: installed offline; ansible-doc rendered $count plugins and roles"
