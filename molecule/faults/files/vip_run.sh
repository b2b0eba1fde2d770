#!/usr/bin/env bash
# Runs vip.yml as a user would (ansible-playbook with the scenario's values and
# ARGS), within FAULTS_TIMEOUT seconds (default 600), and says how it ended:
#   rc=N ms=N            exit code (124: still running at the timeout) and time taken
#   changed=… failed=…   the vip task's result
#   msg=…                the module's message
#   rejoined=…           the instances it brought back into the keepalived pair
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s%N)
out=$(ANSIBLE_STDOUT_CALLBACK=ansible.posix.json timeout "${FAULTS_TIMEOUT:-600}" \
      ansible-playbook -e "@$here/../vars/site.yml" "$@" "$here/vip.yml" 2>/dev/null)
rc=$?
echo "rc=$rc ms=$(( ($(date +%s%N) - start) / 1000000 ))"
python3 -c '
import json, sys
try:
    task = json.loads(sys.stdin.read())["plays"][0]["tasks"][-1]["hosts"]["localhost"]
except (ValueError, KeyError, IndexError):
    sys.exit(0)
print("changed=%s failed=%s" % (str(task.get("changed", False)).lower(), str(task.get("failed", False)).lower()))
print("msg=%s" % " ".join(str(task.get("msg", "")).split()))
print("rejoined=%s" % ",".join(task.get("rejoined", [])))
' <<<"$out"
