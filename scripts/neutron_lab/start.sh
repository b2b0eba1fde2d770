#!/usr/bin/env bash
# A real Neutron API on 127.0.0.1 for the collection's openstack provider, set up
# from nothing: Neutron 29.0.0 (ML2, router (L3) and neutron-vpnaas 29.0.0 service
# plugins), no agents, no keystone (auth_strategy = noauth behind a small identity
# filter, neutron_lab_auth.py), a private MariaDB. Next to it a read-only Nova STUB
# (nova_stub.py) that only lists the servers lab_instances.py records: Nova itself
# is not run here.
#
#   scripts/neutron_lab/start.sh           install what is missing, start, seed
#   scripts/neutron_lab/start.sh --fresh   the same on an empty database and state
#   scripts/neutron_lab/stop.sh            stop what start.sh started (pids in run/)
#
# Runtime files (config, database, logs, pids, clouds.yaml) live in NEUTRON_LAB
# (default build/neutron-lab); the Neutron venv in NEUTRON_LAB_VENV (default
# .cache/neutron-lab/venv-VERSION, pinned by constraints.txt) survives a fresh
# lab. System-wide only Debian's mariadb-server (and python3-venv) is installed,
# with apt-get (root), its own service kept from starting. Everything binds to
# 127.0.0.1 only.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB=${NEUTRON_LAB:-$REPO/build/neutron-lab}
VERSION=${NEUTRON_VERSION:-29.0.0}
VENV=${NEUTRON_LAB_VENV:-$REPO/.cache/neutron-lab/venv-$VERSION}
PYTHON=${NEUTRON_PYTHON:-/usr/bin/python3}
PORT=${NEUTRON_PORT:-19696}
NOVA_PORT=${NOVA_STUB_PORT:-19697}
DB_PORT=${NEUTRON_DB_PORT:-13307}
# Availability zones Neutron offers to networks (rows of dead DHCP agents, see the seed).
AZS=${NEUTRON_LAB_AZS:-nova fra1}
RUN=$LAB/run LOG=$LAB/log ETC=$LAB/etc
SOCK=$RUN/mysqld.sock
FRESH=0
[ "${1:-}" = "--fresh" ] && FRESH=1

now() { date +%s.%N; }
took() { awk -v a="$2" -v b="$(now)" -v w="$1" 'BEGIN { printf "neutron lab: %-44s %6.1f s\n", w, b - a }'; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
T0=$(now)

if [ "$FRESH" = 1 ]; then
  "$HERE/stop.sh" >/dev/null
  rm -rf "$LAB"
fi
mkdir -p "$RUN" "$LOG" "$ETC/plugins/ml2" "$LAB/state/lock"

# -- 1. packages ------------------------------------------------------------------
t=$(now)
if ! command -v mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "neutron lab: needs mariadb-server and python3-venv (apt-get install mariadb-server python3-venv, as root)" >&2
    exit 1
  fi
  # Keep the package's own MariaDB service from starting (the lab runs a private one).
  rcd=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && rcd=1
  fi
  apt-get update -qq >"$LOG/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server python3-venv \
    >>"$LOG/apt.log" 2>&1 || { [ -z "$rcd" ] || rm -f /usr/sbin/policy-rc.d; tail -20 "$LOG/apt.log" >&2; exit 1; }
  [ -z "$rcd" ] || rm -f /usr/sbin/policy-rc.d
fi
if [ ! -x "$VENV/bin/neutron-db-manage" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  if ! "$VENV/bin/pip" install -q -c "$HERE/constraints.txt" "neutron==$VERSION" "neutron-vpnaas==$VERSION" \
      "pymysql==1.2.4" >"$LOG/pip.log" 2>&1; then
    tail -20 "$LOG/pip.log" >&2
    rm -rf "$VENV"
    exit 1
  fi
fi
took "install (apt-get, pip; ~0 when done before)" "$t"

# -- 2. config --------------------------------------------------------------------------
render() { sed -e "s#@LAB@#$LAB#g" -e "s#@ETC@#$ETC#g" -e "s#@PORT@#$PORT#g" -e "s#@DB_PORT@#$DB_PORT#g" "$1" > "$2"; }
render "$HERE/neutron.conf.in" "$ETC/neutron.conf"
render "$HERE/ml2_conf.ini.in" "$ETC/plugins/ml2/ml2_conf.ini"
# Neutron's own api-paste.ini with one change: the noauth pipeline's fake_project_id
# filter (an admin context in project "fake_project_id") becomes labauth +
# keystonecontext (a member of one project, as with keystone: the policies of a real
# cloud apply).
sed -e '/^noauth = .*neutronapiapp_v2_0$/s/fake_project_id /labauth keystonecontext /' \
    -e "s#^disable_by_file_path = .*#disable_by_file_path = $LAB/state/healthcheck_disable#" \
    "$VENV/etc/neutron/api-paste.ini" > "$ETC/api-paste.ini"
printf '\n[filter:labauth]\npaste.filter_factory = neutron_lab_auth:filter_factory\n' >> "$ETC/api-paste.ini"
grep -q '^noauth = .*labauth keystonecontext' "$ETC/api-paste.ini" || {
  echo "neutron lab: the noauth pipeline of Neutron's api-paste.ini is not as expected" >&2; exit 1; }
export OS_NEUTRON_CONFIG_DIR=$ETC OS_NEUTRON_CONFIG_FILES="neutron.conf;plugins/ml2/ml2_conf.ini"

# -- 3. MariaDB, a private instance on 127.0.0.1:$DB_PORT -------------------------------------
t=$(now)
if [ ! -d "$LAB/mysql/mysql" ]; then
  mariadb-install-db --no-defaults --datadir="$LAB/mysql" --user="$(id -un)" --skip-test-db \
    --auth-root-authentication-method=socket >"$LOG/mariadb-install.log" 2>&1
fi
if ! alive "$RUN/mysqld.pid"; then
  setsid mariadbd --no-defaults --datadir="$LAB/mysql" --socket="$SOCK" --port="$DB_PORT" \
    --bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$RUN/mysqld.pid" --log-error="$LOG/mariadb.log" \
    --skip-name-resolve --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 \
    </dev/null >/dev/null 2>&1 &
  for _ in $(seq 150); do [ -S "$SOCK" ] && mariadb -S "$SOCK" -e 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
fi
mariadb -S "$SOCK" -e "CREATE DATABASE IF NOT EXISTS neutron CHARACTER SET utf8mb4;
  CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY 'neutron-lab';
  GRANT ALL PRIVILEGES ON neutron.* TO 'neutron'@'127.0.0.1';"
took "MariaDB up" "$t"

# -- 4. schema: neutron's and neutron-vpnaas's alembic branches ----------------------------------
t=$(now)
if [ ! -f "$LAB/state/db.stamp" ]; then
  "$VENV/bin/neutron-db-manage" --config-file "$ETC/neutron.conf" --config-file "$ETC/plugins/ml2/ml2_conf.ini" \
    upgrade heads >"$LOG/db-manage.log" 2>&1 || { tail -20 "$LOG/db-manage.log" >&2; exit 1; }
  touch "$LAB/state/db.stamp"
fi
took "neutron-db-manage upgrade heads" "$t"

# -- 5. the API, and the Nova stub ---------------------------------------------------------------
t=$(now)
if ! alive "$RUN/api.pid"; then
  PYTHONPATH=$HERE setsid "$VENV/bin/python" "$HERE/serve.py" "$PORT" </dev/null >>"$LOG/neutron-api.log" 2>&1 &
  echo $! > "$RUN/api.pid"
fi
for _ in $(seq 480); do
  curl -sf "http://127.0.0.1:$PORT/v2.0/extensions" >/dev/null 2>&1 && break
  alive "$RUN/api.pid" || { echo "neutron lab: the API died, see $LOG/neutron-api.log" >&2; tail -20 "$LOG/neutron-api.log" >&2; exit 1; }
  sleep 0.25
done
curl -sf "http://127.0.0.1:$PORT/v2.0/extensions" >/dev/null || { echo "neutron lab: the API does not answer" >&2; exit 1; }
[ -f "$LAB/nova-servers.json" ] || echo '[]' > "$LAB/nova-servers.json"
if ! alive "$RUN/nova-stub.pid"; then
  setsid "$VENV/bin/python" "$HERE/nova_stub.py" "$NOVA_PORT" "$LAB/nova-servers.json" \
    </dev/null >>"$LOG/nova-stub.log" 2>&1 &
  echo $! > "$RUN/nova-stub.pid"
fi
for _ in $(seq 40); do curl -s "http://127.0.0.1:$NOVA_PORT/" >/dev/null 2>&1 && break; sleep 0.25; done
took "Neutron API and Nova stub answering" "$t"

# -- 6. seed: the external network, availability zones ----------------------------------------------
t=$(now)
ADMIN=(-H "X-Roles: admin,member,reader" -H "X-Project-Id: 5ca1ab1e5ca1ab1e5ca1ab1e0000ad31" -H "Content-Type: application/json")
api() { curl -sf "${ADMIN[@]}" "$@"; }
if ! api "http://127.0.0.1:$PORT/v2.0/networks?name=public" | grep -q '"name": *"public"'; then
  net=$(api -X POST "http://127.0.0.1:$PORT/v2.0/networks" -d '{"network": {"name": "public",
    "router:external": true, "provider:network_type": "flat", "provider:physical_network": "public"}}' |
    "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["network"]["id"])')
  api -X POST "http://127.0.0.1:$PORT/v2.0/subnets" -d '{"subnet": {"name": "public-v4", "network_id": "'"$net"'",
    "ip_version": 4, "cidr": "203.0.113.0/24", "gateway_ip": "203.0.113.1", "enable_dhcp": false}}' >/dev/null
fi
# Neutron accepts a network's availability_zone_hints only for zones some DHCP agent
# reports; there are no agents here, so each zone gets the row of a long-dead one
# (never scheduled to: its last heartbeat is from 2000).
for az in $AZS; do
  mariadb -S "$SOCK" neutron -e "INSERT INTO agents (id, agent_type, \`binary\`, topic, host, admin_state_up,
    created_at, started_at, heartbeat_timestamp, configurations, \`load\`, availability_zone)
    SELECT UUID(), 'DHCP agent', 'neutron-dhcp-agent', 'dhcp_agent', 'lab-dhcp-$az', 1,
    '2000-01-01', '2000-01-01', '2000-01-01', '{}', 0, '$az' FROM DUAL
    WHERE NOT EXISTS (SELECT 1 FROM agents WHERE host = 'lab-dhcp-$az');"
done
# neutron-lab: the modules' cloud (Neutron real, compute the stub); neutron-lab-down:
# an endpoint nothing listens on (port 9 of loopback), for the "does not answer" case.
cat > "$LAB/clouds.yaml" <<YAML
clouds:
  neutron-lab:
    auth_type: none
    network_endpoint_override: http://127.0.0.1:$PORT/
    compute_endpoint_override: http://127.0.0.1:$NOVA_PORT/v2.1/
  neutron-lab-down:
    auth_type: none
    network_endpoint_override: http://127.0.0.1:9/
    compute_endpoint_override: http://127.0.0.1:9/v2.1/
YAML
took "seed (external network, zones: $AZS)" "$t"
took "total" "$T0"
echo "neutron lab: Neutron http://127.0.0.1:$PORT/, Nova stub http://127.0.0.1:$NOVA_PORT/ (OS_CLIENT_CONFIG_FILE=$LAB/clouds.yaml OS_CLOUD=neutron-lab)"
