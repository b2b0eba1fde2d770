#!/usr/bin/env bash
# The main job: playbooks/site.yml through ansible-runner with a progress
# display. Everything of the run stays in demo-output/: the full Ansible log
# (ansible.log), ansible-runner's artifacts (runner/artifacts/), the admin key
# pair, the summary, and one line per run in runs.jsonl.
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
python scripts/demo_progress.py --label site \
    --playbook playbooks/site.yml --inventory playbooks/inventory \
    --output-dir "$out" --extra-var "site_output_dir=$out" || status=$?
if [[ $status -ne 0 ]]; then
    echo "demo: site.yml failed; the full output is in $out/ansible.log" >&2
    exit "$status"
fi

python - "$out" "$previous_runs" <<'PY'
import json, sys
out, previous = sys.argv[1], int(sys.argv[2])
runs = [json.loads(line) for line in open(f"{out}/runs.jsonl") if line.strip()]
site_runs = [r for r in runs if r["label"] == "site" and r["rc"] == 0]
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
print(f"  vpn      {s['vpn_tunnel']}")
for host, h in sorted(s["hardening"].items()):
    print(f"  hardened {host:<20} " + "; ".join(f"{k}: {json.dumps(v, sort_keys=True)[:80]}" for k, v in sorted(h.items())))
print(f"  summary  {out}/summary.json; admin key {out}/id_ed25519 (private, 0600)")
print()
print("Reach the service from the client:")
print(f"  docker exec sciaas-{client['name']} curl -s {vip['service']}")
print("Failover drill (stops the active instance, the standby answers, then starts it again):")
print("  .venv/bin/ansible-playbook -i playbooks/inventory playbooks/site/drill.yml")
print("Tear down (removes what site.yml made, nothing else):")
print("  .venv/bin/ansible-playbook playbooks/teardown.yml")
print()
first = site_runs[0]
this = site_runs[-1]
print(f"Run times: first run {first['seconds']} s ({first['changed']} changes); "
      f"this run {this['seconds']} s ({this['changed']} changes)"
      + ("" if len(site_runs) > 1 else "; run make demo again to see a run with nothing to change"))
PY
