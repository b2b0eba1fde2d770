#!/usr/bin/env bash
# Removes every container, network, volume and image the project made, found by
# its label, and nothing else: a container started by hand survives.
set -euo pipefail
cd "$(dirname "$0")/.."
LABEL=secure_cloud.iaas.managed
docker info >/dev/null 2>&1 || { echo "clean: no Docker engine answers; nothing to remove there"; exit 0; }

# Runs "$@ ID…" with the IDs read from standard input, when there are any.
each() { local ids; mapfile -t ids; [ ${#ids[@]} = 0 ] || "$@" "${ids[@]}" >/dev/null; }

docker ps -aq --filter "label=$LABEL" | each docker rm -f -v
# Networks Molecule makes for a scenario carry only Molecule's label; ours are
# the ones named sciaas-*.
{ docker network ls -q --filter "label=$LABEL"
  docker network ls --filter label=owner=molecule --format '{{.ID}} {{.Name}}' | awk '$2 ~ /^sciaas-/ {print $1}'
} | sort -u | each docker network rm
docker volume ls -q --filter "label=$LABEL" | each docker volume rm
# Instance images are built FROM the base images: remove them first.
for kind in instance base; do
  docker images -q --filter "label=$LABEL" --filter "reference=secure-cloud-iaas/$kind:*" | sort -u | each docker rmi -f
done
docker images -q --filter "label=$LABEL" | sort -u | each docker rmi -f
# The host agent (a systemd unit where the host runs systemd) and its code; the
# next module run starts it again.
if [ -f /etc/systemd/system/secure-cloud-iaas-agent.service ] && [ -d /run/systemd/system ]; then
  systemctl disable --now secure-cloud-iaas-agent.service >/dev/null 2>&1 || true
  rm -f /etc/systemd/system/secure-cloud-iaas-agent.service
fi
if [ -f /run/secure-cloud-iaas-agent.pid ]; then
  pid=$(cat /run/secure-cloud-iaas-agent.pid)
  grep -qa secure_cloud_iaas_agent "/proc/$pid/cmdline" 2>/dev/null && kill "$pid"
  rm -f /run/secure-cloud-iaas-agent.pid
fi
# With it the engine's state store (engines/: vips, VPN tunnels), which means
# nothing once the containers are gone.
rm -rf /var/lib/secure-cloud-iaas
# Host-side state of the docker provider: the vip guard and the vlan isolation
# table; the controller's state store last.
if command -v nft >/dev/null 2>&1; then
  nft delete table bridge secure_cloud_iaas_guard 2>/dev/null || true
  nft delete table inet secure_cloud_iaas_vlans 2>/dev/null || true
fi
# The vpn gateways' intra-bridge accept rules (tagged with a comment).
if command -v iptables >/dev/null 2>&1; then
  iptables -S DOCKER-USER 2>/dev/null | grep -- '--comment "secure_cloud.iaas vpn"' | sed 's/^-A /-D /' |
    while read -r rule; do eval "iptables $rule"; done
fi
rm -rf "${SECURE_CLOUD_STATE_DIR:-$HOME/.local/state/secure_cloud_iaas}"
rm -rf build
echo "clean: removed the project's containers, networks, volumes and images"
