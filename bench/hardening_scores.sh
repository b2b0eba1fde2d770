#!/usr/bin/env bash
# Measures what the hardening roles change, from inside a fresh instance:
# Lynis hardening index and OpenSCAP scores (SCAP Security Guide, Debian 12,
# ANSSI BP-028 intermediary and enhanced) before and after, plus the converge
# time and the no-op re-run time. Prints the figures; never fails on a figure.
#   bench/hardening_scores.sh [debian12|debian13]
# Traffic: only to the instance it starts and to the package archive (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$PWD/.collections
flavour=${1:-debian12}
name=sciaas-hardening-bench-$flavour
net=sciaas-hardening-bench
out=bench/results/hardening-$flavour
label=secure_cloud.iaas.managed=true
mkdir -p "$out"
work=$(mktemp -d)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== fetching SCAP Security Guide content (ssg-debian, from Debian 13's archive)"
docker run --rm --label "$label" --name "$name-fetch" -v "$work:/out" secure-cloud-iaas/base:debian13 \
  bash -c 'apt-get update -qq && cd /tmp && apt-get download -qq ssg-debian && cp ssg-debian_*.deb /out/' >/dev/null
dpkg-deb -x "$work"/ssg-debian_*.deb "$work/ssg"
ds=$(find "$work/ssg" -name 'ssg-debian12-ds.xml' | head -1)
echo "   content: $(basename "$work"/ssg-debian_*.deb)"

echo "== starting $name"
docker network create --label "$label" --subnet 10.220.8.0/24 "$net" >/dev/null
# Confined as every guest (guest.py); the host agent, started by any docker provider
# module run, lets it boot once it has checked the flags.
ansible localhost -c local -m secure_cloud.iaas.vlan_info >/dev/null
docker run -d --name "$name" --hostname "$name" --label "$label" --label secure_cloud.iaas.guest=true \
  --network "$net" --ip 10.220.8.10 --cap-add NET_ADMIN --cap-add NET_RAW --cap-drop MKNOD \
  --cgroupns private --pids-limit 1024 --memory 2g --memory-swap 2g \
  --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -e container=docker --entrypoint /bin/sh \
  "secure-cloud-iaas/instance:$flavour" \
  -c 'while [ ! -e /run/secure-cloud-iaas-boot ]; do sleep 0.05; done; exec /lib/systemd/systemd' >/dev/null
# systemd needs a moment before it accepts the query at all.
for _ in $(seq 60); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break ;; esac
  sleep 1
done
docker exec "$name" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lynis openscap-scanner >/dev/null'
docker cp "$ds" "$name:/root/ssg-debian12-ds.xml"

scan() {  # $1 = before|after
  docker exec "$name" bash -c 'lynis audit system --quick --no-colors --logfile /root/lynis.log --report-file /root/lynis-report.dat >/root/lynis.out 2>&1 || true'
  docker cp "$name:/root/lynis-report.dat" "$out/lynis-$1.dat"
  for p in anssi_bp28_intermediary anssi_bp28_enhanced; do
    docker exec "$name" oscap xccdf eval --profile "xccdf_org.ssgproject.content_profile_$p" \
      --results "/root/oscap-$p.xml" /root/ssg-debian12-ds.xml >/dev/null 2>&1 || true
    docker cp "$name:/root/oscap-$p.xml" "$out/oscap-$p-$1.xml"
  done
}

echo "== scanning before hardening"
scan before

echo "== applying os_hardening, ssh_hardening, firewall"
ssh-keygen -q -t ed25519 -N '' -C bench-admin -f "$work/id_ed25519"
cat > "$work/inventory.yml" <<INV
all:
  hosts:
    $name:
      ansible_connection: community.docker.docker
      ansible_pipelining: true
      bench_key_file: $work/id_ed25519.pub
INV
start=$(date +%s%N)
ansible-playbook -i "$work/inventory.yml" bench/hardening_site.yml > "$out/converge.log"
converge=$(( ($(date +%s%N) - start) / 1000000 ))
start=$(date +%s%N)
ansible-playbook -i "$work/inventory.yml" bench/hardening_site.yml > "$out/rerun.log"
rerun=$(( ($(date +%s%N) - start) / 1000000 ))
rerun_changed=$(grep -oE 'changed=[0-9]+' "$out/rerun.log" | tail -1)

echo "== scanning after hardening"
scan after

python3 bench/hardening_report.py "$out" "$converge" "$rerun" "$rerun_changed" | tee "$out/summary.txt"
