#!/usr/bin/env bash
# Copies the collection's files (tracked, and untracked but not ignored) to
# build/ansible_collections/secure_cloud/iaas and prints that path: ansible-test
# needs a real directory with that shape, a symlink is resolved away.
# The copy is a git repository of its own (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=build/ansible_collections/secure_cloud/iaas
rm -rf "$dest"
mkdir -p "$dest"
git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$dest" -xf -
# ansible-test lists files with git from the nearest .git upwards; without one
# here it would find the checkout's, where build/ is ignored, and see nothing.
git -C "$dest" init -q
git -C "$dest" add -A
echo "$PWD/$dest"
