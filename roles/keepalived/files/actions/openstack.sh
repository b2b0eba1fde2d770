#!/bin/sh
# Cloud action for keepalived_mode cloud_api on OpenStack: openstack_vip.py makes
# the openstack provider's holder-change calls through openstacksdk (see that file).
#   openstack.sh transition TYPE NAME STATE PRIORITY   (nothing to do)
#   openstack.sh claim VIP NODE    this node's port allowed (if it lost the pair), holder recorded
#   openstack.sh holder VIP        print the instance that holds VIP, or "none"
# Environment (cloud_action.env, root-only): OS_CLOUD with a clouds.yaml, or OS_*
# credentials (an application credential). Needs python3-openstacksdk.
# Not tested against a live OpenStack cloud: contract-tested against a requests-mock cloud, and run
# against a real Neutron API without guests (tests/integration/targets/openstack_neutron).
exec python3 "$(dirname "$0")/openstack_vip.py" "$@"
