#!/bin/sh
# usage: recovery.sh TIMEOUT CONTAINER ADDRESS[,ADDRESS...] COMMAND...
# Runs COMMAND (the disruption), then pings each ADDRESS from CONTAINER until
# all answer. Prints the seconds from the end of COMMAND to the first answer
# of the last address, then the same counted from the start of COMMAND.
# Exits 1 when TIMEOUT seconds pass first.
set -eu
timeout=$1 container=$2 addresses=$3
shift 3
begin=$(date +%s.%N)
"$@" >/dev/null
start=$(date +%s.%N)
for address in $(echo "$addresses" | tr , ' '); do
  until docker exec "$container" ping -c 1 -W 0.3 "$address" >/dev/null 2>&1; do
    if awk "BEGIN { exit !($(date +%s.%N) - $start > $timeout) }"; then
      echo "no answer from $address within $timeout s" >&2
      exit 1
    fi
  done
done
end=$(date +%s.%N)
awk "BEGIN { printf \"%.2f s after the disruption returned, %.2f s after it began\n\", $end - $start, $end - $begin }"
