#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection, with no ignore files.
set -euo pipefail
cd "$(dirname "$0")/.."
if ls tests/sanity/ignore-*.txt >/dev/null 2>&1; then
  echo "sanity: ignore files are not allowed here: $(ls tests/sanity/ignore-*.txt)" >&2; exit 1
fi
dest=$(scripts/copy_collection.sh)
py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$dest"
ansible-test sanity --venv --python "$py" --color no
