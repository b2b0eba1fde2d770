#!/usr/bin/env bash
# Failover drill on a pair made by playbooks/site.yml (bench/failover_site.yml):
# TRIALS unplanned failovers and PLANNED switchovers through the vip module with
# the keepalived role's defaults and, as the baseline line in the same report,
# BASELINE unplanned failovers and as many switchovers with keepalived's stock
# 1 s adverts (fewer by default: each costs seconds, and their spread is small
# next to the difference). Those probe GET /, which needs only the vip. Then
# DATA unplanned failovers and PLANNED switchovers (role defaults again) probing
# GET /data/probe, which the demo service answers from the pair's encrypted data
# volume: it follows the vip, so that outage is the vip's move plus the
# volume's (fence the old active, mount on the new one). The report prints the
# runs side by side. Report: bench/results/failover/report.json and .svg.
# Run as root on the Docker host. KEEP=1 leaves the pair running afterwards.
#   bench/failover.sh [TRIALS [PLANNED [BASELINE [DATA]]]]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$PWD/.collections
trials=${1:-20}
planned=${2:-$trials}
baseline=${3:-6}
data=${4:-$trials}
out=bench/results/failover
site=(-i playbooks/inventory -e @bench/failover_site.yml)
mkdir -p "$out"
rm -f "$out"/run-*.json

teardown() { [ "${KEEP:-0}" = 1 ] || ansible-playbook "${site[@]}" playbooks/teardown.yml >"$out/teardown.log"; }
trap teardown EXIT

start=$SECONDS
ansible-playbook "${site[@]}" playbooks/site.yml >"$out/site.log" || { tail -n 30 "$out/site.log"; exit 1; }
echo "pair built by site.yml in $((SECONDS - start)) s (log: $out/site.log)"

# The pair's interface on the private vlan, as keepalived and the network cut need it.
iface=$(docker exec sciaas-fo-bench-app-1 ip -o -4 addr show to 10.241.1.0/24 | awk '{print $2; exit}')
cat > "$out/inventory.yml" <<INV
all:
  vars:
    ansible_connection: community.docker.docker
    failover_vip: 10.241.1.200
    failover_vip_name: fo-bench-web
  children:
    failover_pair:
      hosts:
        sciaas-fo-bench-app-1: {keepalived_unicast_src_ip: 10.241.1.11}
        sciaas-fo-bench-app-2: {keepalived_unicast_src_ip: 10.241.1.12}
      vars:
        keepalived_interface: $iface
        keepalived_vips: [10.241.1.200/24]
        keepalived_pair_group: failover_pair
        keepalived_track_process: demo-http
    failover_client:
      hosts:
        sciaas-fo-bench-client:
INV

start=$SECONDS
# The comparison first, so the pair is left on the role's defaults.
ansible-playbook -i "$out/inventory.yml" playbooks/failover_drill.yml -e failover_drill_run=stock_1s \
  -e keepalived_advert_int=1 -e failover_drill_trials="$baseline" -e failover_drill_planned="$baseline"
ansible-playbook -i "$out/inventory.yml" playbooks/failover_drill.yml -e failover_drill_run=defaults \
  -e failover_drill_trials="$trials" -e failover_drill_planned="$planned"
if [ "$data" -gt 0 ] || [ "$planned" -gt 0 ]; then
  ansible-playbook -i "$out/inventory.yml" playbooks/failover_drill.yml -e failover_drill_run=defaults_data \
    -e failover_drill_trials="$data" -e failover_drill_planned="$planned" -e failover_drill_path=/data/probe
fi
echo "drill time: $((SECONDS - start)) s"
# Without the volume, with it, then the stock adverts.
runs=("$out/run-defaults.json")
[ -f "$out/run-defaults_data.json" ] && runs+=("$out/run-defaults_data.json")
runs+=("$out/run-stock_1s.json")
python3 playbooks/files/failover_report.py "$out/report.json" "$out/report.svg" "${runs[@]}"
echo "report: $out/report.json $out/report.svg"
