#!/usr/bin/env bash
# The main job: playbooks/site.yml with the collection's progress display
# (the stdout callback secure_cloud.iaas.progress) and its audit trail (the
# callback secure_cloud.iaas.audit_log). Everything of the run stays in
# demo-output/: the Ansible log (ansible.log, every host's result), the audit
# log (audit.log, verified by site.yml at the end), the compliance report
# (compliance/report.html), the admin key pair, the summary, and one line per
# run in runs.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same environment as the Makefile gives, so the script also runs on its own.
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$PWD/.collections"
out="$PWD/demo-output"
mkdir -p "$out"
chmod 0700 "$out"

previous_runs=0
[[ -f "$out/runs.jsonl" ]] && previous_runs=$(grep -c '"label": "site"' "$out/runs.jsonl" || true)

status=0
ANSIBLE_STDOUT_CALLBACK=secure_cloud.iaas.progress \
SECURE_CLOUD_PROGRESS_RUNS="$out/runs.jsonl" SECURE_CLOUD_PROGRESS_LABEL=site \
ANSIBLE_LOG_PATH="$out/ansible.log" \
ANSIBLE_CALLBACKS_ENABLED=secure_cloud.iaas.audit_log SECURE_CLOUD_AUDIT_LOG="$out/audit.log" \
  ansible-playbook -i playbooks/inventory playbooks/site.yml -e "site_output_dir=$out" -e site_audit_required=true || status=$?
if [[ $status -ne 0 ]]; then
    echo "demo: site.yml failed; every host's result is in $out/ansible.log" >&2
    exit "$status"
fi

python - "$out" "$previous_runs" <<'PY'
import json, sys
out, previous = sys.argv[1], int(sys.argv[2])
runs = [json.loads(line) for line in open(f"{out}/runs.jsonl") if line.strip()]
# Records of ansible-runner's time carry rc, the progress callback's status.
site_runs = [r for r in runs if r["label"] == "site" and (r.get("status") == "successful" or r.get("rc") == 0)]
s = json.load(open(f"{out}/summary.json"))
client = next(i for i in s["instances"] if i["labels"].get("role") == "client")
pair = [i["name"] for i in s["instances"] if i["labels"].get("role") == "app"]
print()
print(f"Built: site '{s['site']}' in location {s['location']} ({s['provider']} provider)")
for v in s["vlans"]:
    print(f"  vlan     {v['name']:<20} {v['type']:<8} {v['cidr']}")
for i in s["instances"]:
    nets = ", ".join(f"{n['vlan']} {n['ip']} ({n['interface']})" for n in i["networks"])
    print(f"  instance {i['name']:<20} {i['state']:<8} {nets}")
vip = s["vip"]
print(f"  vip      {vip['name']:<20} {vip['address']} on {vip['vlan']}, held by {vip['holder']} (may move to {', '.join(vip['allowed_instances'])})")
vpn = s["vpn_tunnel"]
site = vpn.get("customer_site") if vpn.get("enabled") else None
if not vpn.get("enabled"):
    print("  vpn      off (site_vpn_enabled: false)")
else:
    print(f"  vpn      {vpn.get('name', '?'):<20} {vpn['status']} ({vpn.get('backend', '?')}): "
          f"{', '.join(vpn.get('peer_subnets', []))} via customer gateway {vpn.get('peer_address', '?')} <-> "
          f"{', '.join(vpn.get('local_subnets', []))} via {vpn.get('gateway_address', '?')}; key {vpn.get('psk_file')} (0600)")
if site:
    print(f"  customer {site['gateway']['name']:<20} container {site['gateway']['container']}, "
          f"{site['gateway']['public_ip']} on the public vlan, {site['gateway']['site_ip']} on {site['network']} {site['cidr']}")
    print(f"  customer {site['host']['name']:<20} container {site['host']['container']}, {site['host']['ip']}; "
          f"the service answered it through the tunnel from {site['answered_by']}")
data = s.get("data", {"enabled": False})
if not data["enabled"]:
    print("  data     off (site_data_enabled: false, or failover off)")
elif data.get("status") == "missing":
    print(f"  data     {data['name']:<20} missing")
else:
    print(f"  data     {data['name']:<20} {data['size']} GiB, {'encrypted, key ' + str(data['key_file']) + ' (0600)' if data['encrypted'] else 'not encrypted'}; "
          f"on {data['instance'] or 'no instance yet'} at {data['mount_path']}, follows vip {data['follow_vip']}")
for host, line in sorted(s["hardening_lines"].items()):
    print(f"  hardened {host:<20} {line}")
print(f"  report   {s['compliance']['report'] or 'off (site_compliance_enabled: false)'}")
audit = s["audit"]
print(f"  audit    {audit['path']}: {audit['records']} records, chain verified" if audit["enabled"] else
      "  audit    off (run with ANSIBLE_CALLBACKS_ENABLED=secure_cloud.iaas.audit_log)")
print(f"  summary  {out}/summary.json; admin key {out}/id_ed25519 (private, 0600); log {out}/ansible.log")
print()
print("Reach the service from the client:")
print(f"  docker exec sciaas-{client['name']} curl -s {vip['service']}")
if data["enabled"]:
    print("Store and read a value on the pair's data volume, through the vip:")
    print(f"  docker exec sciaas-{client['name']} curl -s -X PUT --data hello {vip['service']}data/greeting")
    print(f"  docker exec sciaas-{client['name']} curl -s {vip['service']}data/greeting")
if site:
    print("Reach the service from the customer's site host, through the VPN tunnel:")
    print(f"  docker exec {site['host']['container']} curl -s {vip['service']}")
print("Failover drill (stops the active instance, the standby answers"
      + (" the client and the site host" if site else "")
      + (" and has what the active wrote on the data volume" if data["enabled"] else "") + ", then starts it again):")
print("  .venv/bin/ansible-playbook -i playbooks/inventory playbooks/site/drill.yml")
print("Tear down (removes what site.yml made, nothing else):")
print("  .venv/bin/ansible-playbook playbooks/teardown.yml")
print()
# The run that built what stands now: the last one that changed something
# (a teardown in between starts a new series).
this = site_runs[-1]
first = next((r for r in reversed(site_runs) if r["changed"] > 0), site_runs[0])
print(f"Run times: first run {first['seconds']} s ({first['changed']} changes); "
      f"this run {this['seconds']} s ({this['changed']} changes)"
      + ("" if first is not this else "; run make demo again to see a run with nothing to change"))
PY
