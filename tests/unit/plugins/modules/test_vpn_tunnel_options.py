# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of vpn_tunnel that cannot go together are refused before anything is read or made."""

from __future__ import annotations

import pytest

from ansible_collections.secure_cloud.iaas.plugins.modules import vpn_tunnel

BASE = dict(name="office", location="fra1", vlans=["app"], public_vlan="front", peer_address="192.0.2.10",
            peer_subnets=["10.20.0.0/24"])
PSK = "k" * 32


@pytest.mark.parametrize("extra, pair", [
    (dict(psk=PSK, psk_file="/nonexistent/office.psk"), "psk|psk_file"),
    (dict(psk=PSK, cert="/nonexistent/gw.pem"), "psk|cert"),
    (dict(psk_file="/nonexistent/office.psk", key="/nonexistent/gw.key"), "psk_file|key"),
    (dict(psk_file="/nonexistent/office.psk", cacert="/nonexistent/ca.pem", authentication="pubkey"), "psk_file|cacert"),
])
def test_a_key_and_another_credential_are_refused_naming_both(provider, run_module, tmp_path, extra, pair):
    failed, result = run_module(vpn_tunnel.main, dict(BASE, state_dir=str(tmp_path / "state"), **extra))
    assert failed and "parameters are mutually exclusive: %s" % pair in result["msg"]
    # Refused by the argument spec: no provider call, no key file written.
    assert provider.writes == [] and not (tmp_path / "state").exists()


def test_a_key_alone_is_not_refused_by_the_spec(provider, run_module, tmp_path):
    # The control: the same options one at a time get past the spec (the fake
    # provider then refuses the tunnel itself: it has no tunnels).
    failed, result = run_module(vpn_tunnel.main, dict(BASE, state_dir=str(tmp_path / "state"), psk=PSK))
    assert "mutually exclusive" not in result["msg"]
