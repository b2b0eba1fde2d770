#!/usr/bin/env bash
# Failover drill on the Molecule `failover` pair: TRIALS unplanned failovers
# with the keepalived role's defaults, then the same with keepalived's stock
# 1 s adverts, in one report (bench/results/failover/report.json and .svg).
# Run as root on the Docker host. KEEP=1 leaves the pair running afterwards.
#   bench/failover.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$PWD/.collections
trials=${1:-20}
out=bench/results/failover
mkdir -p "$out"
rm -f "$out"/run-*.json

molecule converge -s failover

cat > "$out/inventory.yml" <<INV
all:
  vars:
    ansible_connection: community.docker.docker
    failover_vip: 10.240.1.200
  children:
    failover_pair:
      hosts:
        sciaas-failover-a:
        sciaas-failover-b:
      vars:
        keepalived_vips: [10.240.1.200/24]
        keepalived_pair_group: failover_pair
        keepalived_track_process: demo-http
    failover_client:
      hosts:
        sciaas-failover-client:
INV

start=$SECONDS
# The comparison first, so the pair is left on the role's defaults.
ansible-playbook -i "$out/inventory.yml" playbooks/failover_drill.yml \
  -e failover_drill_run=stock_1s -e keepalived_advert_int=1 -e failover_drill_trials="$trials"
ansible-playbook -i "$out/inventory.yml" playbooks/failover_drill.yml \
  -e failover_drill_run=defaults -e failover_drill_trials="$trials"
echo "drill time: $((SECONDS - start)) s"
python3 playbooks/files/failover_report.py "$out/report.json" "$out/report.svg" \
  "$out/run-defaults.json" "$out/run-stock_1s.json"
echo "report: $out/report.json $out/report.svg"

[ "${KEEP:-0}" = 1 ] || molecule destroy -s failover
