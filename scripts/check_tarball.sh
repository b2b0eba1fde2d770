#!/usr/bin/env bash
# The tarball ships nothing a checkout accumulates: builds the collection in a
# copy of the tree (tracked and untracked-but-not-ignored files, as
# copy_collection.sh takes them) where decoys of everything `make demo`, the
# tests and the benchmarks leave behind EXIST (an admin private key, a PSK,
# caches, a venv, results, logs, build output), lists the tarball (tar tzf) and
# fails on any such path; then unpacks it and fails on any private key header in
# any file. The control runs every time: the same check on a galaxy.yml whose
# build_ignore lacks demo-output must fail, naming the key and the PSK there.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/tree
mkdir -p "$tree"
git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$tree" -xf -

# The header is written in two parts so that this script holds no key header itself.
header="-----BEGIN OPENSSH PRIVATE"" KEY-----"
decoy_key() { mkdir -p "$(dirname "$1")"; printf '%s\nAAAAdecoy\n-----END OPENSSH PRIVATE KEY-----\n' "$header" >"$1"; }
decoy() { mkdir -p "$(dirname "$1")"; printf '%s\n' "${2:-decoy}" >"$1"; }
decoy_key "$tree/demo-output/id_ed25519"
decoy "$tree/demo-output/id_ed25519.pub" "ssh-ed25519 AAAAdecoy"
decoy "$tree/demo-output/demo-customer.psk" "decoy-pre-shared-key-0123456789"
decoy "$tree/demo-output/summary.json" '{"decoy": true}'
decoy "$tree/demo-output/runs.jsonl" '{"decoy": true}'
decoy "$tree/demo-output/ansible.log"
decoy_key "$tree/roles/keepalived/files/id_ed25519"   # a key left in a shipped directory
decoy "$tree/playbooks/site.psk" "decoy-pre-shared-key-0123456789"
decoy_key "$tree/tests/unit/tls/server.key"
decoy "$tree/.pytest_cache/v/cache/lastfailed" "{}"
decoy "$tree/tests/unit/.pytest_cache/README.md"
decoy "$tree/tests/output/junit/python3.13-units.xml"
decoy "$tree/plugins/modules/__pycache__/vlan.cpython-313.pyc"
decoy "$tree/plugins/module_utils/stray.pyc"
decoy "$tree/.venv/pyvenv.cfg" "home = /usr/bin"
decoy "$tree/tests/.venv/bin/python"
decoy "$tree/.collections/ansible_collections/community/docker/MANIFEST.json" "{}"
decoy "$tree/.ansible/collections/ansible_collections/x/y/MANIFEST.json" "{}"
decoy "$tree/.cache/ansible-compat/x"
decoy "$tree/bench/results/vip_switchover.json" '{"decoy": true}'
decoy "$tree/build/test-logs/vip.log"
decoy "$tree/build/ansible_collections/secure_cloud/iaas/galaxy.yml"
decoy "$tree/molecule/vip/.molecule/state.yml"
decoy "$tree/secure_cloud-iaas-0.0.9.tar.gz"

# A path that must never ship (anchored at a path component).
forbidden='(^|/)(demo-output|\.pytest_cache|\.venv|\.collections|\.ansible|\.cache|__pycache__|build|bench|molecule|tests/output)(/|$)'
forbidden+='|\.(pyc|psk|log|jsonl|key|pem|tar\.gz)$|(^|/)id_(rsa|ecdsa|ed25519)'

# check TREE: build, list, unpack and grep; prints what shipped that must not, fails if anything did.
check() {
  local tree=$1 out=$tmp/out-$RANDOM
  mkdir -p "$out/x"
  ansible-galaxy collection build --force --output-path "$out" "$tree" >/dev/null
  local tarball
  tarball=$(ls "$out"/secure_cloud-iaas-*.tar.gz)
  local bad=0 shipped keys
  mapfile -t shipped < <(tar tzf "$tarball" | grep -E "$forbidden")
  if [ "${#shipped[@]}" -gt 0 ]; then
    printf 'tarball: ships %s\n' "${shipped[@]}"
    bad=1
  fi
  tar -C "$out/x" -xzf "$tarball"
  mapfile -t keys < <(cd "$out/x" && grep -rlE -e '-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----' .)
  if [ "${#keys[@]}" -gt 0 ]; then
    printf 'tarball: a private key header in %s\n' "${keys[@]#./}"
    bad=1
  fi
  [ "$bad" = 0 ] && echo "tarball: $(tar tzf "$tarball" | wc -l) entries, none of the decoys, no private key header"
  return "$bad"
}

check "$tree"

# The controls: the same check must fail when build_ignore misses an entry. Without
# demo-output the demo's results ship (its key and PSK are still caught by the
# patterns for keys and PSKs anywhere); without "*id_ed25519*" the key left in a
# role's files ships, and its header is found inside the tarball.
control() { # ENTRY EXPECTED...
  local entry=$1 found
  shift
  cp "$tree/galaxy.yml" "$tmp/galaxy.yml.orig"
  grep -qxF "  - $entry" "$tree/galaxy.yml" || { echo "tarball control: no '  - $entry' in galaxy.yml" >&2; exit 1; }
  grep -vxF "  - $entry" "$tmp/galaxy.yml.orig" >"$tree/galaxy.yml"
  if found=$(check "$tree"); then
    echo "tarball control: the check passed with $entry missing from build_ignore; it cannot see a leak" >&2
    exit 1
  fi
  for want in "$@"; do
    grep -qF "$want" <<<"$found" || { echo "tarball control: expected '$want' without $entry, got: $found" >&2; exit 1; }
  done
  cp "$tmp/galaxy.yml.orig" "$tree/galaxy.yml"
  echo "tarball control: without $entry in build_ignore the check fails: $(grep -c '^tarball: ' <<<"$found") findings"
}
control demo-output "ships demo-output/summary.json"
control '"*id_ed25519*"' "ships roles/keepalived/files/id_ed25519" "a private key header in roles/keepalived/files/id_ed25519"
