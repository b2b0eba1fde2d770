#!/usr/bin/env bash
# The provisioning, vip and VPN scenarios of the openstack provider against a
# real cloud. Without a configured cloud it says so and succeeds, contacting
# nothing: the cloud is looked up in clouds.yaml only, offline.
#   OS_CLOUD=mycloud SECURE_CLOUD_EXTERNAL_NETWORK=public ./runme.sh
# Optional: OPENSTACK_IMAGE (debian12), OPENSTACK_LOCATION (nova, an
# availability zone), OPENSTACK_CIDR_BASE (10.231), OPENSTACK_VPN_PEER (an
# address of a peer gateway; without it the VPN scenario is skipped).
set -euo pipefail
cd "$(dirname "$0")"

if [ -z "${OS_CLOUD:-}" ]; then
  echo "skipped: no OpenStack cloud configured (set OS_CLOUD to a cloud named in clouds.yaml, and SECURE_CLOUD_EXTERNAL_NETWORK)"
  exit 0
fi
if ! python - <<'PY'
import os, sys
try:
    import openstack.config
    openstack.config.OpenStackConfig().get_one(cloud=os.environ["OS_CLOUD"])
except Exception as exc:  # the cloud is not in any clouds.yaml, or openstacksdk is missing
    print("skipped: no OpenStack cloud configured (OS_CLOUD=%s: %s)" % (os.environ["OS_CLOUD"], exc))
    sys.exit(1)
PY
then
  exit 0
fi
if [ -z "${SECURE_CLOUD_EXTERNAL_NETWORK:-}" ]; then
  echo "SECURE_CLOUD_EXTERNAL_NETWORK must name the cloud's external network (public vlans and vips need it)" >&2
  exit 1
fi
export SECURE_CLOUD_PROVIDER=openstack
start=$(date +%s)
ansible-playbook -i localhost, -c local scenario.yml "$@"
echo "openstack_site: scenarios took $(( $(date +%s) - start )) s"
