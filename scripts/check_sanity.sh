#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection, with no ignore files.
set -euo pipefail
cd "$(dirname "$0")/.."
if ls tests/sanity/ignore-*.txt >/dev/null 2>&1; then
  echo "sanity: ignore files are not allowed here: $(ls tests/sanity/ignore-*.txt)" >&2; exit 1
fi
# Without shellcheck ansible-test skips the shell-script test with only a warning.
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  else
    echo "sanity: install shellcheck (apt-get install shellcheck) and run again" >&2; exit 1
  fi
fi
# ansible-test bootstraps pip in its venvs with a script it downloads from a host
# outside the package registries; give it the project's stand-in instead.
pip_version=$(python -c 'import re, ansible_test._internal.python_requirements as r, inspect
print(re.search(r"pip=.([0-9.]+)", inspect.getsource(r.get_venv_packages)).group(1))')
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
[ -f "$cache" ] || { mkdir -p "$(dirname "$cache")"; cp scripts/ansible_test_get_pip.py "$cache"; }
dest=$(scripts/copy_collection.sh)
py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$dest"
ansible-test sanity --venv --python "$py" --color no
