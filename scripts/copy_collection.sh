#!/usr/bin/env bash
# Copies the collection's files (tracked, and untracked but not ignored) to
# build/ansible_collections/secure_cloud/iaas and prints that path: ansible-test
# needs a real directory with that shape, a symlink is resolved away.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=build/ansible_collections/secure_cloud/iaas
rm -rf "$dest"
mkdir -p "$dest"
git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$dest" -xf -
echo "$PWD/$dest"
