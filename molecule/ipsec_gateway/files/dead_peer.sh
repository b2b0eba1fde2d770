#!/bin/sh
# usage: dead_peer.sh GATEWAY CONNECTION PEER HOST ADDRESS TIMEOUT
# Freezes the PEER container (a peer that dies without a word), times until
# GATEWAY's dead peer detection drops the IKE_SA of CONNECTION that was up,
# thaws the peer and times until HOST reaches ADDRESS through the tunnel again.
set -eu
gw=$1 conn=$2 peer=$3 host=$4 address=$5 timeout=$6
now() { date +%s.%N; }
elapsed() { awk "BEGIN { printf \"%.2f\", $(now) - $1 }"; }
over() { awk "BEGIN { exit !($(now) - $1 > $timeout) }"; }
docker exec "$host" ping -c 1 -W 1 "$address" >/dev/null
old=$(docker exec "$gw" swanctl --list-sas --ike "$conn" --noblock 2>/dev/null | grep -o "^$conn: #[0-9]*" | head -n 1)
[ -n "$old" ] || { echo "$conn has no IKE_SA to begin with" >&2; exit 1; }
docker pause "$peer" >/dev/null
trap 'docker unpause "$peer" >/dev/null 2>&1 || true' EXIT
start=$(now)
while docker exec "$gw" swanctl --list-sas --ike "$conn" --noblock 2>/dev/null | grep -q "^$old, ESTABLISHED"; do
  if over "$start"; then echo "$old was still ESTABLISHED $timeout s after the peer froze" >&2; exit 1; fi
  sleep 0.2
done
dead=$(elapsed "$start")
docker unpause "$peer" >/dev/null
back=$(now)
until docker exec "$host" ping -c 1 -W 0.3 "$address" >/dev/null 2>&1; do
  if over "$back"; then echo "no traffic $timeout s after the peer came back" >&2; exit 1; fi
done
echo "dead peer noticed ${dead} s after it froze; traffic crosses the tunnel $(elapsed "$back") s after it came back"
