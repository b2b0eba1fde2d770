#!/usr/bin/env bash
# usage: proposal_probe.sh CUSTOMER_GATEWAY LOCAL_ADDR GATEWAY_ADDR IKE_PROPOSAL
# From the customer gateway, opens an IKE_SA to the data-center gateway that
# offers only IKE_PROPOSAL, under an identity the gateway does not know (so it
# never gets further than IKE_AUTH and never replaces the real tunnel), and
# prints what came back: "refused" (NO_PROPOSAL_CHOSEN to IKE_SA_INIT),
# "accepted <the proposal the gateway selected>", or "unclear" with the log.
set -euo pipefail
cgw=$1 local=$2 remote=$3 proposal=$4
conf=/etc/swanctl/conf.d/zz-sciaas-probe.conf
cleanup() { docker exec "$cgw" sh -c "rm -f $conf; swanctl --load-conns >/dev/null 2>&1" || true; }
trap cleanup EXIT
docker exec -i "$cgw" sh -c "cat > $conf" <<CONF
connections {
    sciaasprobe {
        version = 2
        local_addrs = $local
        remote_addrs = $remote
        proposals = $proposal
        encap = yes
        local {
            auth = psk
            id = probe@unknown.example
        }
        remote {
            auth = psk
        }
        children {
            sciaasprobe {
                esp_proposals = aes256gcm16
            }
        }
    }
}
CONF
docker exec "$cgw" swanctl --load-conns >/dev/null 2>&1
log=$(docker exec "$cgw" swanctl --initiate --child sciaasprobe --timeout 15 2>&1 || true)
if grep -q 'received NO_PROPOSAL_CHOSEN notify error' <<<"$log"; then
  echo refused
elif selected=$(grep -o 'selected proposal: IKE:[^ ]*' <<<"$log"); then
  echo "accepted ${selected#selected proposal: }"
else
  printf 'unclear\n%s\n' "$log"
fi
