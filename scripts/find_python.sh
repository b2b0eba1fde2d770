#!/usr/bin/env bash
# Prints the newest usable Python (3.13, 3.12, then 3.11), pyenv-installed ones included.
set -euo pipefail
for v in 3.13 3.12 3.11; do
  if command -v pyenv >/dev/null 2>&1; then
    p=$(pyenv versions --bare 2>/dev/null | grep -E "^${v//./\\.}\.[0-9]+$" | sort -V | tail -n1 || true)
    if [ -n "$p" ] && [ -x "$(pyenv root)/versions/$p/bin/python" ]; then
      echo "$(pyenv root)/versions/$p/bin/python"; exit 0
    fi
  fi
  if command -v "python$v" >/dev/null 2>&1; then command -v "python$v"; exit 0; fi
done
echo "No Python 3.11, 3.12 or 3.13 found: install one (apt-get install python3) and run 'make setup' again." >&2
exit 1
