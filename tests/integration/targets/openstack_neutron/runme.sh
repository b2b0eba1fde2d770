#!/usr/bin/env bash
# The collection's modules (provider: openstack) against a REAL Neutron API:
# Neutron 29.0.0 with ML2, router and neutron-vpnaas 29.0.0, no agents, MariaDB,
# on 127.0.0.1 (scripts/neutron_lab/start.sh, which installs what is missing).
# Compute is a read-only STUB that lists the lab's "instances" (real Neutron
# ports, no server): Nova, Glance, the agents and any traffic are not exercised.
#   tests/integration/targets/openstack_neutron/runme.sh     (or: make test-neutron)
# Runtime files under build/neutron-lab (a fresh lab on every run); everything
# the lab started is stopped at the end, also after a failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../../.." && pwd)
LABDIR=$REPO/scripts/neutron_lab
export NEUTRON_LAB=${NEUTRON_LAB:-$REPO/build/neutron-lab}
PY=${PYTHON:-$REPO/.venv/bin/python}
ANSIBLE_PLAYBOOK=${ANSIBLE_PLAYBOOK:-$REPO/.venv/bin/ansible-playbook}

trap '"$LABDIR/stop.sh"' EXIT
t0=$SECONDS
"$LABDIR/start.sh" --fresh
setup=$((SECONDS - t0))

export OS_CLIENT_CONFIG_FILE=$NEUTRON_LAB/clouds.yaml OS_CLOUD=neutron-lab
export SECURE_CLOUD_PROVIDER=openstack SECURE_CLOUD_EXTERNAL_NETWORK=public
export SECURE_CLOUD_STATE_DIR=$NEUTRON_LAB/sciaas-state
export ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-$REPO/ansible.cfg}
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$REPO/.collections}
# The lab helpers import the collection's module_utils (names, tags) from there.
export PYTHONPATH=${ANSIBLE_COLLECTIONS_PATH%%:*}
t1=$SECONDS
status=0
"$ANSIBLE_PLAYBOOK" -i localhost, -c local "$HERE/scenario.yml" \
  -e "lab_dir=$NEUTRON_LAB" -e "lab_helpers=$LABDIR" -e "lab_python=$PY" \
  -e "keepalived_action=$REPO/roles/keepalived/files/actions/openstack_vip.py" "$@" || status=$?
scenario=$((SECONDS - t1))
echo "openstack_neutron: setup (install, MariaDB, schema, API) ${setup} s, scenario ${scenario} s," \
  "total $((SECONDS - t0)) s: $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
