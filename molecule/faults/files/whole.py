"""What a person checks after a fault: nothing lost, nothing stray. Prints one line per problem; nothing when whole.

    whole.py NETWORK CONTAINERS_REGEX EXPECTED_CONTAINERS EXPECTED_ROWS < info.json

info.json: {"instances": instance_info's list, "vips": vip_info's list, "rows": the store's rows
("kind name") of the site}; EXPECTED_CONTAINERS and EXPECTED_ROWS: comma-separated. Checked:
- the containers whose names match CONTAINERS_REGEX are exactly the expected ones, all running;
- every vip's address is on exactly one container, one of its allowed instances;
- the vip guard (nft -j list table bridge secure_cloud_iaas_guard), for addresses in NETWORK, holds
  exactly what the instances and vips say: each instance's MAC with its own addresses, each allowed
  instance's MAC with the vip, the vips; and pins each running instance's MAC to a port that exists;
- the store's rows of the site are exactly the expected ones.
"""

import ipaddress
import json
import re
import subprocess
import sys


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def elements(table, name):
    for item in table["nftables"]:
        if item.get("set", {}).get("name") == name:
            return [tuple(e["concat"]) if isinstance(e, dict) else e for e in item["set"].get("elem", [])]
    return []


def main(network, regex, expected_containers, expected_rows):
    net = ipaddress.ip_network(network)

    def ours(ip):
        return ipaddress.ip_address(ip) in net
    info = json.load(sys.stdin)
    problems = []

    states = dict(line.split() for line in sh("docker", "ps", "-a", "--format", "{{.Names}} {{.State}}").splitlines())
    containers = dict((n, s) for n, s in states.items() if re.search(regex, n))
    expected = set(filter(None, expected_containers.split(",")))
    problems += ["stray container %s" % n for n in sorted(set(containers) - expected)]
    problems += ["container %s is missing" % n for n in sorted(expected - set(containers))]
    problems += ["container %s is %s" % (n, s) for n, s in sorted(containers.items()) if n in expected and s != "running"]

    running = [n for n, s in containers.items() if s == "running"]
    held = dict((n, sh("docker", "exec", n, "ip", "-o", "-4", "addr", "show")) for n in running)
    for vip in info["vips"]:
        holders = [n for n, out in held.items() if " %s/" % vip["address"] in out]
        allowed = ["sciaas-" + a for a in vip["allowed_instances"]]
        if len(holders) != 1 or holders[0] not in allowed:
            problems.append("vip %s (%s) is on %s, not on exactly one of %s"
                            % (vip["name"], vip["address"], holders or "no container", allowed))

    text = sh("nft", "-j", "list", "table", "bridge", "secure_cloud_iaas_guard")
    table = json.loads(text) if text.strip() else {"nftables": []}
    want_src = set()
    mac_of = {}
    for inst in info["instances"]:
        for n in inst["networks"]:
            mac_of[(inst["name"], n["vlan"])] = n["mac"].lower()
            if inst["state"] == "running":
                want_src.add((n["mac"].lower(), n["ip"]))
    for vip in info["vips"]:
        want_src.update((mac_of[(a, vip["vlan"])], vip["address"]) for a in vip["allowed_instances"]
                        if (a, vip["vlan"]) in mac_of)
    have_src = set((mac.lower(), ip) for mac, ip in elements(table, "src_ok") if ours(ip))
    problems += ["guard lacks %s . %s" % e for e in sorted(want_src - have_src)]
    problems += ["stray guard entry %s . %s" % e for e in sorted(have_src - want_src)]
    want_vips = set(v["address"] for v in info["vips"])
    have_vips = set(ip for ip in elements(table, "vips") if ours(ip))
    problems += ["guard lacks vip %s" % ip for ip in sorted(want_vips - have_vips)]
    problems += ["stray guard vip %s" % ip for ip in sorted(have_vips - want_vips)]
    links = set(re.findall(r"^\d+: ([^:@]+)", sh("ip", "-o", "link", "show"), re.M))
    pinned = elements(table, "port_mac")
    for mac, _ip in sorted(want_src):
        ports = [port for port, m in pinned if m.lower() == mac]
        if mac in [m for (m, ip) in want_src if ip not in want_vips] and not ports:
            problems.append("guard pins %s to no port" % mac)
        problems += ["guard pins %s to %s, which does not exist" % (mac, p) for p in ports if p not in links]

    rows = set(info["rows"])
    want_rows = set(filter(None, expected_rows.split(",")))
    problems += ["stray state row %s" % r for r in sorted(rows - want_rows)]
    problems += ["state row %s is missing" % r for r in sorted(want_rows - rows)]
    print("\n".join(sorted(set(problems))))


if __name__ == "__main__":
    main(*sys.argv[1:])
