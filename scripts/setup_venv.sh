#!/usr/bin/env bash
# Creates or refreshes the project venv (.venv) with the pinned tools.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(scripts/find_python.sh)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0)' 2>/dev/null; then
  rm -rf .venv
  "$py" -m venv .venv
fi
constraints=()
# constraints.txt was resolved on Python 3.13; older interpreters resolve on their own.
if .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  constraints=(-c constraints.txt)
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt "${constraints[@]}"
echo "venv: $(.venv/bin/python --version), $(.venv/bin/ansible --version | head -n1)"
