# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPsec policy, once: what the vpn_tunnel module (docker provider) and the
ipsec_gateway role (through the collection's ipsec filters) both apply.

- ``proposals``: the strong defaults, the algorithm lists and why a proposal is refused.
- ``swanctl``: a connection, its pre-shared key, the strongSwan settings (ESP backend,
  retransmits) and the kernel-ESP probe.
- ``firewall``: the gateway's nftables table (forward only between the tunnels' subnets).
- ``connection``: the two callers' inputs (a vpn_tunnel result, a role connection)
  turned into the one connection shape the renderers read; where the module and the
  role differ on purpose, it is said there.

Pure functions: no I/O, nothing but the standard library.
"""
