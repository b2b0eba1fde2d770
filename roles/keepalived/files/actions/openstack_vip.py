# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud action for keepalived_mode cloud_api on OpenStack (run by openstack.sh).

The same Neutron calls, in the same order, as the openstack provider's
holder change (``update_vip``) and vip read-back (plugins/module_utils/openstack/vips.py),
through openstacksdk, for vips made by the secure_cloud.iaas.vip module:

- the vip's reservation is the port tagged ``sciaas:kind=vip`` that holds the
  address; its tags name the vlan, the allowed instances and the holder;
- the address sits in ``allowed_address_pairs`` of every allowed instance's
  port on the vlan (the vip module's allow-list: a claim never takes it off
  the partner's port, it only makes sure this node's port has it);
- claim: that pair on this node's port, then the holder tag. A public vip's
  floating IP stays on the vip's own port (Neutron associates a floating IP only
  with one of a port's own fixed addresses): the router sends its traffic to the
  vip address, which the new holder answers, so a claim never touches it;
- holder: the recorded holder, public or private (Neutron cannot see which
  guest answers ARP), as ``vip_info`` reports it.

It never creates or deletes anything. Usage:

    openstack.sh transition TYPE NAME STATE PRIORITY   (nothing to do)
    openstack.sh claim VIP NODE                        (NODE: the instance name)
    openstack.sh holder VIP                            (prints the instance name or "none")

Credentials: OS_CLOUD with a clouds.yaml, or OS_* variables (an application
credential), from /etc/keepalived/cloud_action.env. Exit 0 on success, 1 when
the cloud refused or failed (the consumer retries a claim), 2 on bad usage.
"""

from __future__ import annotations

import os
import sys

MANAGED = "secure_cloud.iaas.managed"
TAG = "sciaas:"
HOLDER_TAG = TAG + "holder="


class ActionError(Exception):
    pass


def read_tags(tags):
    """{key: value or [values]} of the collection's tags (as plugins/module_utils/openstack/conn.py read_tags)."""
    values = {}
    for tag in tags or []:
        if tag.startswith(TAG) and not tag.startswith(TAG + "label:"):
            key, value = tag[len(TAG):].partition("=")[::2]
            values.setdefault(key, []).append(value)
    return dict((k, v[0] if len(v) == 1 else v) for k, v in values.items())


def tag_list(values, key):
    found = values.get(key)
    if found is None:
        return []
    return sorted(found) if isinstance(found, list) else [found]


def pair_addresses(port):
    return set(p.get("ip_address") for p in (port.allowed_address_pairs or []))


def connect():
    try:
        import openstack
    except ImportError:
        raise ActionError("openstacksdk is missing (apt-get install python3-openstacksdk)")
    try:
        return openstack.connect(cloud=os.environ.get("OS_CLOUD") or None)
    except Exception as exc:  # pylint: disable=broad-except
        raise ActionError("could not sign in to OpenStack: %s" % type(exc).__name__)


class Vip(object):
    """One vip as the collection keeps it in Neutron."""

    def __init__(self, conn, address):
        self.conn = conn
        self.address = address
        ports = list(conn.network.ports(tags=MANAGED))
        found = [p for p in ports if read_tags(p.tags).get("kind") == "vip"
                 and any(f.get("ip_address") == address for f in p.fixed_ips or [])]
        if len(found) != 1:
            raise ActionError("%d secure_cloud.iaas vip ports hold %s" % (len(found), address))
        self.port = found[0]
        self.values = read_tags(self.port.tags)
        self.allowed = tag_list(self.values, "allowed")
        self.vlan = self.values.get("vlan")
        # {instance: port} on the vip's vlan.
        self.ports = dict((read_tags(p.tags).get("instance"), p) for p in ports
                          if read_tags(p.tags).get("kind") == "port" and read_tags(p.tags).get("vlan") == self.vlan)

    def holder(self):
        holder = self.values.get("holder") or None
        return holder if holder in self.allowed else None

    def claim(self, node):
        if node not in self.allowed:
            raise ActionError("%s is not allowed to hold vip %s (allowed: %s)"
                              % (node, self.address, ", ".join(self.allowed) or "none"))
        own = self.ports.get(node)
        if own is None:
            raise ActionError("instance %s has no port on vlan %s" % (node, self.vlan))
        net = self.conn.network
        # Grant first (make before break), as update_vip does.
        if self.address not in pair_addresses(own):
            pairs = [dict(p) for p in own.allowed_address_pairs or []] + [dict(ip_address=self.address)]
            net.update_port(own, allowed_address_pairs=pairs)
        if self.values.get("holder") != node:
            tags = [t for t in self.port.tags or [] if not t.startswith(HOLDER_TAG)] + [HOLDER_TAG + node]
            net.set_tags(self.port, tags)


def main(argv, out=sys.stdout, err=sys.stderr):
    if not argv:
        err.write("usage: openstack.sh transition|claim|holder ...\n")
        return 2
    if argv[0] == "transition":
        return 0
    if argv[0] not in ("claim", "holder") or len(argv) < (3 if argv[0] == "claim" else 2):
        err.write("usage: openstack.sh claim VIP NODE | holder VIP\n")
        return 2
    try:
        vip = Vip(connect(), argv[1])
        if argv[0] == "claim":
            vip.claim(argv[2])
        else:
            out.write("%s\n" % (vip.holder() or "none"))
    except ActionError as exc:
        err.write("openstack action: %s\n" % exc)
        return 1
    except Exception as exc:  # pylint: disable=broad-except
        # The SDK's message names the call and the status, never the credentials.
        err.write("openstack action: %s: %s\n" % (type(exc).__name__, " ".join(str(exc).split())[:300]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
