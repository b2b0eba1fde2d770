"""Lab only: what the lab's real Neutron holds, read with openstacksdk, as JSON for the playbook's asserts.

usage (OS_CLIENT_CONFIG_FILE / OS_CLOUD name the lab):
  python lab_check.py vip NAME     the vip's port, its floating IP and the ports whose pairs hold its address
  python lab_check.py leftovers    every sciaas-* object still there (exit 1 when there is one)
"""
import json
import os
import sys

import openstack


def vip(net, name):
    port = next(iter(net.ports(name="sciaas-vip-" + name)), None)
    if port is None:
        return dict(port=None)
    address = port.fixed_ips[0]["ip_address"]
    fips = list(net.ips(description=port.name))
    by_id = dict((p.id, p.name) for p in net.ports(network_id=port.network_id))
    return dict(port=port.name, address=address, tags=sorted(port.tags or []),
                floating_ips=[dict(address=f.floating_ip_address, port=by_id.get(f.port_id, f.port_id),
                                   fixed_ip_address=f.fixed_ip_address) for f in fips],
                paired=sorted(p.name for p in net.ports(network_id=port.network_id)
                              if address in [a.get("ip_address") for a in p.allowed_address_pairs or []]))


def leftovers(net):
    found = []
    for kind, listing in (("network", net.networks), ("subnet", net.subnets), ("port", net.ports),
                          ("router", net.routers), ("security group", net.security_groups),
                          ("IKE policy", net.vpn_ike_policies), ("IPsec policy", net.vpn_ipsec_policies),
                          ("VPN service", net.vpn_services), ("endpoint group", net.vpn_endpoint_groups),
                          ("IPsec site connection", net.vpn_ipsec_site_connections)):
        found += ["%s %s" % (kind, o.name) for o in listing() if (o.name or "").startswith("sciaas-")]
    found += ["floating IP %s (%s)" % (f.floating_ip_address, f.description) for f in net.ips()
              if (f.description or "").startswith("sciaas-")]
    found += ["%s tagged secure_cloud.iaas.managed: %s" % (kind, o.name or o.id)
              for kind, listing in (("network", net.networks), ("port", net.ports), ("router", net.routers))
              for o in listing(tags="secure_cloud.iaas.managed") if not (o.name or "").startswith("sciaas-")]
    return found


def main(argv):
    net = openstack.connect(cloud=os.environ.get("OS_CLOUD")).network
    if argv[:1] == ["vip"] and len(argv) == 2:
        print(json.dumps(vip(net, argv[1])))
    elif argv == ["leftovers"]:
        found = leftovers(net)
        print(json.dumps(found))
        sys.exit(1 if found else 0)
    else:
        sys.exit("usage: lab_check.py vip NAME | leftovers")


if __name__ == "__main__":
    main(sys.argv[1:])
