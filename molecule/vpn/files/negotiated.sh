#!/usr/bin/env bash
# usage: negotiated.sh GATEWAY CONNECTION
# Prints, as JSON, the algorithms CONNECTION negotiated in GATEWAY as
# `swanctl --list-sas` shows them: its ESTABLISHED IKE_SA's, and those of a
# CHILD_SA rekeyed just now. The first CHILD_SA comes out of IKE_AUTH, where no
# key exchange runs, so its line names no DH group; a rekey runs one (PFS), so
# the new CHILD_SA's line shows the whole ESP proposal.
set -euo pipefail
gw=$1 conn=$2
sas() { docker exec "$gw" swanctl --list-sas --ike "$conn" --noblock 2>/dev/null; }
children() { sas | sed -n "s/^  $conn: #\([0-9]*\), reqid [0-9]*, INSTALLED.*/\1/p"; }
old=$(children)
[ -n "$old" ] || { echo "$conn has no INSTALLED CHILD_SA in $gw" >&2; exit 1; }
docker exec "$gw" swanctl --rekey --child "$conn" >/dev/null 2>&1
for _ in $(seq 50); do
  # grep -v finds nothing until the new CHILD_SA is there (status 1).
  new=$(children | grep -vxF -f <(printf '%s\n' "$old") | head -n 1 || true)
  [ -n "$new" ] && break
  sleep 0.2
done
[ -n "$new" ] || { echo "no new CHILD_SA of $conn 10 s after the rekey" >&2; exit 1; }
listing=$(sas)
# The IKE_SA's algorithms: the first line of its block made of NAME/NAME/... only.
ike=$(printf '%s\n' "$listing" | awk -v c="$conn" '
  $0 ~ "^" c ": #[0-9]+, ESTABLISHED" { inside = 1; next }
  inside && /^  [A-Z0-9_-]+(\/[A-Z0-9_-]+)+$/ { gsub(/ /, ""); print; exit }')
esp=$(printf '%s\n' "$listing" | sed -n "s/^  $conn: #$new, reqid [0-9]*, INSTALLED, [^,]*, ESP:\([^ ]*\).*/\1/p")
if [ -z "$ike" ] || [ -z "$esp" ]; then
  printf 'cannot read the algorithms from:\n%s\n' "$listing" >&2
  exit 1
fi
printf '{"ike": "%s", "esp": "%s", "child": "#%s"}\n' "$ike" "$esp" "$new"
