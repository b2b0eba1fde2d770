#!/bin/sh
# Cloud action for keepalived_mode cloud_api on AWS (aws CLI v2).
# The vip is a secondary private address on the ENI of the node that holds it.
#   aws.sh transition TYPE NAME STATE PRIORITY   (nothing to do)
#   aws.sh claim VIP NODE     assign VIP to this node's ENI, taking it from any other
#   aws.sh holder VIP         print the node id whose ENI carries VIP, or "eni:ID"/"none"
# Environment (cloud_action.env, root-only): AWS_REGION, credentials from the
# instance profile, SCIAAS_OWN_ENI, SCIAAS_NODE_ID, SCIAAS_PEER_ENI, SCIAAS_PEER_NODE_ID.
# Not tested against a live AWS account.
set -eu
cmd=${1:?usage: aws.sh transition|claim|holder ...}
case $cmd in
  transition) exit 0 ;;
  claim)
    vip=${2:?vip}
    aws ec2 assign-private-ip-addresses --network-interface-id "$SCIAAS_OWN_ENI" \
      --private-ip-addresses "$vip" --allow-reassignment
    ;;
  holder)
    vip=${2:?vip}
    eni=$(aws ec2 describe-network-interfaces \
      --filters "Name=addresses.private-ip-address,Values=$vip" \
      --query 'NetworkInterfaces[0].NetworkInterfaceId' --output text)
    if [ "$eni" = "$SCIAAS_OWN_ENI" ]; then echo "$SCIAAS_NODE_ID"
    elif [ "$eni" = "${SCIAAS_PEER_ENI:-}" ]; then echo "$SCIAAS_PEER_NODE_ID"
    elif [ -z "$eni" ] || [ "$eni" = None ]; then echo none
    else echo "eni:$eni"
    fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
