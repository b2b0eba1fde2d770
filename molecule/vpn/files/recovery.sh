#!/usr/bin/env bash
# Restart the data-center VPN gateway and measure, from the controller, how
# long until the site host reaches the private instance through the tunnel
# again (one ping every 0.3 s). Nobody re-runs Ansible.
# Usage: recovery.sh GATEWAY_CONTAINER SITE_HOST TARGET_IP BOUND_SECONDS
set -euo pipefail
gateway=$1 site=$2 target=$3 bound=$4
start=$(date +%s.%N)
docker restart -t 5 "$gateway" >/dev/null
returned=$(date +%s.%N)
while true; do
  if docker exec "$site" ping -c1 -W1 "$target" >/dev/null 2>&1; then
    now=$(date +%s.%N)
    printf '{"restart_s": %.2f, "after_restart_returned_s": %.2f, "total_s": %.2f}\n' \
      "$(echo "$returned - $start" | bc)" "$(echo "$now - $returned" | bc)" "$(echo "$now - $start" | bc)"
    exit 0
  fi
  if (( $(echo "$(date +%s.%N) - $returned > $bound" | bc) )); then
    echo "no traffic through the tunnel within ${bound}s after the restart" >&2
    exit 1
  fi
  sleep 0.3
done
