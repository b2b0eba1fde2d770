# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ipsec_gateway role changes on a gateway, as JSON, to compare before
and after a run (a check-mode run must leave all of it alone).

Run inside the gateway as root. Prints:
- files: sha256, mode and owner of every file the role writes or removes
  (/etc/swanctl, its strongswan.d files, the firewall's nft file and unit,
  the sysctl file);
- conns: `swanctl --list-conns` (what the daemon has loaded);
- established: the ESTABLISHED IKE_SAs with their unique ids (a restarted
  connection gets a new id);
- firewall: the role's nftables table;
- units: state, enablement and invocation id of strongSwan and the firewall
  unit (a restart gives a new invocation id);
- packages: the role's packages and their versions.
Any command that fails makes the script fail.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import subprocess

PATHS = ["/etc/swanctl", "/etc/strongswan.d/ipsec-gateway-*.conf", "/etc/nftables.d/ipsec-gateway.nft",
         "/etc/systemd/system/ipsec-gateway-firewall.service", "/etc/sysctl.d/60-ipsec-gateway.conf"]
UNITS = ["strongswan.service", "ipsec-gateway-firewall.service"]
PACKAGES = ["charon-systemd", "strongswan-swanctl", "libstrongswan-standard-plugins", "libcharon-extra-plugins",
            "nftables", "iproute2"]


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def files():
    out = {}
    for pattern in PATHS:
        for top in glob.glob(pattern):
            walk = [(top, [], [""])] if os.path.isfile(top) else os.walk(top)
            for root, _dirs, names in walk:
                for name in names:
                    path = os.path.join(root, name) if name else root
                    st = os.stat(path)
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                    out[path] = "%s %o %d:%d" % (digest, st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return out


def main():
    units = {}
    for unit in UNITS:
        units[unit] = run("systemctl", "show", unit, "-p", "ActiveState,UnitFileState,InvocationID").split()
    state = dict(
        files=files(),
        conns=run("swanctl", "--list-conns"),
        established=sorted(re.findall(r"^([\w-]+: #\d+), ESTABLISHED", run("swanctl", "--list-sas", "--noblock"),
                                      re.M)),
        firewall=run("nft", "list", "table", "inet", "ipsec_gateway"),
        units=units,
        packages=run("dpkg-query", "-W", *PACKAGES).split("\n"),
    )
    print(json.dumps(state, sort_keys=True))


if __name__ == "__main__":
    main()
