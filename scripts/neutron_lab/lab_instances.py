"""Lab only: "instances" for the collection's modules in the Neutron lab, without Nova.

Makes, in the lab's REAL Neutron, the ports the openstack provider's
create_instance makes (name, fixed address, the vlan's security group, the
collection's tags), and records the matching server in the JSON file the Nova
STUB (nova_stub.py) lists. No server runs anywhere: this proves the vip and
vlan code paths that read instances, not Nova.

usage (OS_CLIENT_CONFIG_FILE / OS_CLOUD name the lab, PYTHONPATH holds the collection):
  python lab_instances.py SERVERS_JSON add NAME LOCATION VLAN IP [VLAN IP ...]
  python lab_instances.py SERVERS_JSON clear      (ports and records of every lab instance)
"""
import json
import os
import sys
import uuid

import openstack
from ansible_collections.secure_cloud.iaas.plugins.module_utils.openstack import conn as osp

PROJECT = "5ca1ab1e5ca1ab1e5ca1ab1e00000001"  # the lab's member project (neutron_lab_auth.py)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def save(path, servers):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(servers, f, indent=1)
    os.replace(tmp, path)


def add(net, path, name, location, pairs):
    servers = [s for s in load(path) if s["name"] != osp.server_name(name)]
    vlans = []
    for vlan, ip in pairs:
        network = net.find_network(osp.network_name(vlan), ignore_missing=False)
        subnet = next(iter(net.subnets(network_id=network.id)))
        group = next(iter(net.security_groups(name=osp.network_name(vlan))), None)
        port = net.create_port(name=osp.port_name(name, vlan), network_id=network.id,
                               fixed_ips=[dict(subnet_id=subnet.id, ip_address=ip)],
                               security_group_ids=[group.id] if group else [])
        net.set_tags(port, osp.make_tags(dict(kind="port", instance=name, vlan=vlan)))
        vlans.append(vlan)
    meta = {osp.META + "kind": "instance", osp.META + "name": name, osp.META + "location": location,
            osp.META + "image": "debian12", osp.META + "image_id": "sha256:" + "c" * 64, osp.META + "cpus": "1",
            osp.META + "memory": "1024", osp.META + "hostname": name, osp.META + "admin_user": "admin",
            osp.META + "networks": ",".join(vlans), osp.META + "keys_0": "", osp.MANAGED: "true"}
    servers.append(dict(id=str(uuid.uuid4()), name=osp.server_name(name), status="ACTIVE", metadata=meta,
                        addresses={}, flavor={"original_name": "m1.small"}, image={"id": "lab"},
                        tenant_id=PROJECT, user_id="lab", hostId="lab", links=[],
                        created="2026-01-01T00:00:00Z", updated="2026-01-01T00:00:00Z",
                        **{"OS-EXT-AZ:availability_zone": location}))
    save(path, servers)
    print("lab instance %s: ports on %s (the Nova stub lists it)" % (name, ", ".join("%s=%s" % p for p in pairs)))


def clear(net, path):
    names = set(s["metadata"][osp.META + "name"] for s in load(path))
    for port in net.ports(tags=osp.MANAGED):
        values = osp.read_tags(port.tags)[0]
        if values.get("kind") == "port" and values.get("instance") in names:
            net.delete_port(port)
    save(path, [])
    print("lab instances removed: %s" % (", ".join(sorted(names)) or "none"))


def main(argv):
    path, command, rest = argv[0], argv[1], argv[2:]
    net = openstack.connect(cloud=os.environ.get("OS_CLOUD")).network
    if command == "add":
        add(net, path, rest[0], rest[1], list(zip(rest[2::2], rest[3::2])))
    elif command == "clear":
        clear(net, path)
    else:
        sys.exit("usage: lab_instances.py SERVERS_JSON add NAME LOCATION VLAN IP ... | clear")


if __name__ == "__main__":
    main(sys.argv[1:])
