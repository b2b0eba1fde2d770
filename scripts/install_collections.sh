#!/usr/bin/env bash
# Installs the collections this one depends on into .collections, without Galaxy:
# they are copied out of the 'ansible' package on PyPI, which bundles them. Then
# links this checkout as ansible_collections/secure_cloud/iaas.
set -euo pipefail
cd "$(dirname "$0")/.."
ANSIBLE_BUNDLE=${ANSIBLE_BUNDLE:-ansible==14.5.0}
NEEDED=(community/docker ansible/posix ansible/utils community/general)
dest=.collections/ansible_collections
stamp=.collections/.bundle
if [ "$(cat "$stamp" 2>/dev/null)" != "$ANSIBLE_BUNDLE" ]; then
  mkdir -p .cache/bundle "$dest"
  .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps \
    -d .cache/bundle "$ANSIBLE_BUNDLE"
  archive=$(find .cache/bundle -name "ansible-${ANSIBLE_BUNDLE#ansible==}-*.whl" | head -n1)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Only the needed collections: the whole bundle is some 100,000 files.
  .venv/bin/python - "$archive" "$tmp" "${NEEDED[@]}" <<'PY'
import sys, zipfile
archive, out, *needed = sys.argv[1:]
prefixes = tuple(f"ansible_collections/{c}/" for c in needed)
with zipfile.ZipFile(archive) as z:
    z.extractall(out, [n for n in z.namelist() if n.startswith(prefixes)])
PY
  for c in "${NEEDED[@]}"; do
    rm -rf "${dest:?}/$c"
    mkdir -p "$dest/${c%/*}"
    cp -a "$tmp/ansible_collections/$c" "$dest/$c"
  done
  echo "$ANSIBLE_BUNDLE" > "$stamp"
fi
mkdir -p "$dest/secure_cloud"
ln -sfn ../../.. "$dest/secure_cloud/iaas"
echo "collections: $(cd "$dest" && echo */*)"
