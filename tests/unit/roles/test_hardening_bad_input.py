# -*- coding: utf-8 -*-
# Copyright: secure_cloud maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the hardening roles fails early with a message naming the field.

Each case runs the real role with ansible-playbook against localhost in check
mode: the validation tasks come first and only read the host, and check mode
keeps the host untouched even if a validation were to let bad input through.
"""

from __future__ import annotations

import shutil

import pytest

_PLAYBOOK = """
- name: Run one role with the given variables
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: secure_cloud.iaas.{role}
"""
_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFUoX1D3XqAlZr6ZC5bQvXrA6M0e2UXsBoiAwVtqG2xq test@example"


def _run_role(check_playbook, role, variables):
    return check_playbook(_PLAYBOOK.format(role=role), variables)


needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None or shutil.which("ssh-keygen") is None,
                               reason="needs the OpenSSH client on the test host")


@needs_ssh
def test_password_login_off_with_admin_without_keys_is_refused(check_playbook):
    # "nobody" exists on every Debian host and has no authorized keys.
    rc, out = _run_role(check_playbook, "ssh_hardening", {
        "ssh_hardening_admin_user": "nobody",
        "ssh_hardening_password_authentication": False,
        "ssh_hardening_authorized_keys": [],
    })
    assert rc != 0
    assert "Lockout guard" in out
    assert "the admin user nobody would have no valid authorized key" in out
    assert "ssh_hardening_authorized_keys" in out
    assert "SSH-CFG-01" not in out  # stopped before the config task


@needs_ssh
def test_password_login_off_without_admin_user_is_refused(check_playbook):
    rc, out = _run_role(check_playbook, "ssh_hardening", {"ssh_hardening_password_authentication": False})
    assert rc != 0
    assert "ssh_hardening_admin_user is not set" in out


@needs_ssh
def test_malformed_public_key_is_refused(check_playbook):
    rc, out = _run_role(check_playbook, "ssh_hardening", {
        "ssh_hardening_admin_user": "nobody",
        "ssh_hardening_authorized_keys": [{"user": "nobody", "public_keys": ["ssh-ed25519 not-base64 x"]}],
    })
    assert rc != 0
    assert "ssh_hardening_authorized_keys entry nobody" in out
    assert "not OpenSSH public keys" in out


@needs_ssh
def test_keys_for_a_missing_user_are_refused(check_playbook):
    rc, out = _run_role(check_playbook, "ssh_hardening", {
        "ssh_hardening_password_authentication": True,
        "ssh_hardening_authorized_keys": [{"user": "no-such-user-x1", "public_keys": [_KEY]}],
    })
    assert rc != 0
    assert "names users that do not exist on this host: no-such-user-x1" in out


def test_malformed_cidr_in_an_opening_is_refused(check_playbook):
    rc, out = _run_role(check_playbook, "firewall", {
        "firewall_admin_cidrs": ["10.220.0.0/24"],
        "firewall_openings": [{"proto": "tcp", "port": 443, "sources": ["10.0.0.0/33"]}],
    })
    assert rc != 0
    assert "Firewall input rejected, nothing was changed" in out
    assert "source '10.0.0.0/33'" in out
    assert "firewall_openings" in out
    assert "FW-NFT-05" not in out


def test_malformed_admin_cidr_is_refused(check_playbook):
    rc, out = _run_role(check_playbook, "firewall", {"firewall_admin_cidrs": ["300.1.2.0/24"]})
    assert rc != 0
    assert "firewall_admin_cidrs: '300.1.2.0/24' is not a valid CIDR" in out


def test_empty_admin_cidrs_are_refused(check_playbook):
    rc, out = _run_role(check_playbook, "firewall", {})
    assert rc != 0
    assert "firewall_admin_cidrs is empty" in out


def test_unknown_zone_interface_is_refused(check_playbook):
    rc, out = _run_role(check_playbook, "firewall", {
        "firewall_admin_cidrs": ["10.220.0.0/24"],
        "firewall_zones": [{"name": "private", "interfaces": ["nosuch0"], "allow": []}],
    })
    assert rc != 0
    assert "firewall_zones: interface 'nosuch0' does not exist" in out


def test_opening_for_an_unknown_zone_and_bad_port_are_refused(check_playbook):
    rc, out = _run_role(check_playbook, "firewall", {
        "firewall_admin_cidrs": ["10.220.0.0/24"],
        "firewall_openings_demo": [{"proto": "udp", "port": 70000, "zone": "dmz"}, {"proto": "esp", "port": 1}],
    })
    assert rc != 0
    assert "port '70000' is not a port" in out
    assert "zone 'dmz' is not defined in firewall_zones" in out
    assert "proto esp has no ports" in out


def test_unknown_protocol_is_refused_by_the_argument_spec(check_playbook):
    rc, out = _run_role(check_playbook, "firewall", {
        "firewall_admin_cidrs": ["10.220.0.0/24"],
        "firewall_openings": [{"proto": "bogus"}],
    })
    assert rc != 0
    assert "firewall_openings" in out and "bogus" in out
