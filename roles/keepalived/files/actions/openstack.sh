#!/bin/sh
# Cloud action for keepalived_mode cloud_api on OpenStack (openstack CLI).
# The vip is an allowed address pair on the port of the node that holds it.
#   openstack.sh transition TYPE NAME STATE PRIORITY   (nothing to do)
#   openstack.sh claim VIP NODE    add VIP to this node's port, remove it from the partner's
#   openstack.sh holder VIP        print the node id whose port carries VIP, or "none"
# Environment (cloud_action.env, root-only): OS_CLOUD or OS_* credentials,
# SCIAAS_OWN_PORT, SCIAAS_PEER_PORT, SCIAAS_NODE_ID, SCIAAS_PEER_NODE_ID.
# Not tested against a live OpenStack cloud.
set -eu
cmd=${1:?usage: openstack.sh transition|claim|holder ...}
case $cmd in
  transition) exit 0 ;;
  claim)
    vip=${2:?vip}
    # Taking it off the partner first would leave a gap; adding here first lets
    # both pass traffic for a moment, and VRRP already decided who answers.
    openstack port set --allowed-address "ip-address=$vip" "$SCIAAS_OWN_PORT"
    openstack port unset --allowed-address "ip-address=$vip" "$SCIAAS_PEER_PORT" || true
    ;;
  holder)
    vip=${2:?vip}
    has() { openstack port show "$1" -f value -c allowed_address_pairs | grep -q "'$vip'\|\"$vip\"\|=$vip\b"; }
    if has "$SCIAAS_OWN_PORT"; then echo "$SCIAAS_NODE_ID"
    elif has "$SCIAAS_PEER_PORT"; then echo "$SCIAAS_PEER_NODE_ID"
    else echo none
    fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
